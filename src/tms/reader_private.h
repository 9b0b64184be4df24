/* reader_private.h -- the reader's state, shared by reader.c (framing) and
 * parse.c (payloads). */
#ifndef TMS_READER_PRIVATE_H
#define TMS_READER_PRIVATE_H

#include "source.h"

typedef struct tms_index_entry {
    uint8_t tag[4];
    uint64_t offset;
} tms_index_entry;

/* Names already seen (metric names, meta keys): hashes plus pointers to
 * the snapshot's own NUL-terminated copies, so duplicates are found in
 * O(1) however many a hostile file holds. */
typedef struct tms_nameset {
    uint64_t *hash;
    const char **name;
    uint64_t mask, used;
} tms_nameset;

struct tms_reader {
    char *name;
    int own_fd, done;
    tms_source src;
    tms_header header;
    tms_buf stored, raw;       /* payload as stored / decompressed */
    void *dctx;
    tms_index_entry *index;    /* every section passed, for END */
    uint64_t nindex, cap_index;
    int in_section;            /* messages name the current section */
    uint8_t tag[4];
    uint64_t sec_offset;
    /* read budget (tms.h "Read budget"): the cap and what was spent */
    uint64_t budget;
    uint64_t spent[3];         /* indexed by tms_cost */
    /* parse.c state */
    uint32_t *tb_tmp;          /* one traceback's frames */
    tms_trace *chunk;          /* traces for the callback */
    uint8_t *stat_seen;        /* per frame: already in a STAT entry */
    uint64_t cap_stat_seen, nstat_seen;   /* bytes allocated, bytes zeroed */
    uint8_t *fnam_seen;        /* per frame: already named (FNAM) */
    uint64_t cap_fnam_seen, nfnam_seen;
    uint8_t *peak_seen;        /* per traceback: already in a PEAK entry */
    uint64_t cap_peak_seen, npeak_seen;
    tms_nameset metric_names, meta_keys;
    int sizes_seen;            /* a TRCS, STAT or PEAK was passed */
    int smpl_seen;             /* the SMPL section was read */
    /* DOMS (1.3): the domains of the next TRCS, positions ascending */
    uint32_t *doms_idx, *doms_dom;
    uint64_t ndoms;            /* > 0: a DOMS waits for its TRCS */
    int doms_skipped;          /* a skipped DOMS waits for its TRCS */
};

int tms_rfail(tms_reader *r, tms_error *err, int code, const char *fmt, ...)
    TMS_PRINTF(4, 5);

/* What a read spends, each against its own cap derived from the budget. */
typedef enum {
    TMS_COST_DECODED = 0,   /* payload bytes decoded + 24 per trace */
    TMS_COST_TEXT = 1,      /* STRS, MTRC, META payload bytes: budget / 32 */
    TMS_COST_TB_WORK = 2,   /* per traceback frame: 1 + file name length */
} tms_cost;
/* Add n to the cost; TMS_E_BUDGET (reported) if that passes its cap.
 * Called before the allocation or the work it pays for. */
int tms_charge(tms_reader *r, tms_error *err, tms_cost cost, uint64_t n);
/* Parse one known payload (not HEAD, not END) into s.  Returns 0, a
 * negative code, or the callback's non-zero value. */
int tms_parse_section(tms_reader *r, tms_snapshot *s, const uint8_t *p,
                      size_t len, tms_trace_fn fn, void *ctx, tms_error *err);
void tms_parse_state_free(tms_reader *r);

#endif
