/* addrcheck.h -- that a filtered copy repeats no trace address across
 * chunks (SPEC §4.5, W8) without keeping 8 bytes per trace.
 *
 * The reader has checked each chunk's addresses strictly ascending, so
 * only repeats across chunks are left.  Three steps, each needed only
 * when the one before cannot decide:
 *   1. chunk ranges: no two chunks' [lo, hi] overlap (files written in
 *      address order, as tms_snapshot_save writes them): unique;
 *   2. a bitset of hashed addresses and one of bits hit twice: no bit
 *      hit twice: unique (a repeated address always hits its bit twice);
 *   3. the input is read again and only the addresses of bits hit twice
 *      are collected, sorted and compared, at most TM_ADDR_SLICE at a
 *      time (a pass per slice).
 * Input that cannot be read again (a pipe) keeps every kept address
 * instead: 8 bytes a trace. */
#ifndef HEADER_addrcheck
#define HEADER_addrcheck

#include <stddef.h>
#include <stdint.h>

#include "tma.h"
#include "tms.h"

#define TM_ADDR_BITS_LOG2 26          /* 2 bitsets of 8 MB */
#define TM_ADDR_SLICE (2u << 20)      /* addresses a pass holds: 16 MB */
#define TM_ADDR_MAX_RANGES 65536u     /* past this many, use the bits */

typedef struct tm_addr_range {
    uint64_t lo, hi;
} tm_addr_range;

typedef struct tm_addr_check {
    int rereadable;     /* step 3 may read the input again */
    tm_addr_range *r;   /* step 1: disjoint, sorted by lo, until overlap */
    uint64_t n, cap;
    int overlap;
    uint64_t *seen, *twice;   /* step 2 */
    uint64_t ntwice;          /* addresses that hit a bit already set */
    uint64_t *all;            /* not rereadable: every address */
    uint64_t nall, cap_all;
    uint64_t count;           /* addresses added */
} tm_addr_check;

int tm_addr_check_init(tm_addr_check *a, int rereadable);
/* t: one chunk's kept traces, strictly ascending (as the reader checked).
 * TMS_OK or TMS_E_NOMEM. */
int tm_addr_check_add(tm_addr_check *a, const tms_trace *t, size_t n);
/* After the last chunk: TMS_OK if no address repeats, else an error in
 * err (a repeat is TMS_E_CORRUPT; a file that changed since is TMS_E_IO).
 * path and f (the filter that kept the traces) are for step 3; a read
 * that fails is reported there, and err->msg is left empty. */
int tm_addr_check_finish(tm_addr_check *a, const char *path,
                         const tma_trace_filter *f, tms_error *err);
void tm_addr_check_free(tm_addr_check *a);

#endif
