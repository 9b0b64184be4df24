/* tma_internal.h -- helpers shared by libtma's own files; not installed. */
#ifndef TMA_INTERNAL_H
#define TMA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "tma.h"

#if defined(__GNUC__)
#  define TMA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#  define TMA_PRINTF(f, a)
#endif

/* libtma reports errors with libtms's tms_fail (tms.h): one
 * implementation; the short name reads as libtma's own. */
#define tma_fail tms_fail

/* The frame `id` of s as the filter rules see it. */
tma_frame_view tma_view_frame(const tms_snapshot *s, uint32_t id);

/* Scratch space for one traceback's frame views. */
typedef struct tma_views {
    tma_frame_view *v;
    size_t cap;
} tma_views;
void tma_views_free(tma_views *buf);

/* The filters' keep rule for traceback t of s (1 keep, 0 drop, or
 * TMS_E_NOMEM); with matched, also marks the filters that match it
 * (tma_filters_mark).  buf is reused across calls. */
int tma_keep_traceback(const tms_snapshot *s, uint32_t t,
                       const tma_filter *filters, size_t nfilters,
                       tma_views *buf, uint8_t *matched);

/* Keep the peak entries of s whose traceback the filters keep;
 * known[t] (t < nknown; 0 or 1, anything else: undecided) is a decision
 * already taken for traceback t. */
int tma_filter_peak(tms_snapshot *s, const tma_filter *filters,
                    size_t nfilters, const uint8_t *known, uint64_t nknown,
                    tma_views *buf, tms_error *err);

/* Id of the unknown frame (TMS_NONE, TMS_LINENO_NONE) in s, or TMS_NONE
 * if s has none.  Linear: call once per operation, not per trace. */
uint32_t tma_find_unknown_frame(const tms_snapshot *s);

/* Hash of a key's value, consistent with tma_key_cmp: keys that compare
 * equal hash equal, whatever snapshot their ids belong to. */
uint64_t tma_key_hash(tma_group_by by, const tma_key *k);

/* Accumulate (size, count) pairs into two slots per key value, for merge
 * (slot 0 only) and diff (slot 0 = old, slot 1 = new).  The first key seen
 * for a value is the one kept. */
typedef struct tma_acc_entry {
    tma_key key;
    uint64_t size[2];
    uint64_t count[2];
    uint8_t seen[2];
} tma_acc_entry;

typedef struct tma_acc {
    tma_group_by by;
    tma_acc_entry *entries;
    size_t n, cap;
    uint32_t *slots;       /* entry index + 1; 0 = empty */
    size_t mask;
} tma_acc;

int tma_acc_init(tma_acc *a, tma_group_by by, size_t expect);
/* Index of the entry for key's value, appended (zeroed) if missing; the
 * entries array may move.  On failure nothing was added. */
int tma_acc_index(tma_acc *a, const tma_key *key, size_t *index);
int tma_acc_add(tma_acc *a, const tma_key *key, int slot, uint64_t size,
                uint64_t count);
void tma_acc_free(tma_acc *a);

#endif
