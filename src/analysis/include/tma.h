/*
 * tma.h -- libtma: the analysis rules of tmtrace, in one place.
 *
 * Grouping (filename, line, traceback, address; cumulative), comparison of
 * two groupings, the sort order of PEP 454's StatsDiff.sort, filter
 * matching, and size parsing/formatting.  The tracer's Python API
 * (Snapshot.top_by, GroupedStats.compare_to, StatsDiff.sort, Filter.match,
 * Snapshot.apply_filters, DisplayTop) and tmtool (top, diff, filter) call
 * these same functions, so they cannot disagree on the same file.
 *
 * Conventions are libtms's (tms.h): 0 or a negative tms_status, a tms_error
 * message, no printing, NULL-safe frees.  On failure outputs are left empty
 * and inputs untouched.
 *
 * Decisions the comments below leave open (details in each .c file):
 *   - sizes: blanks around and between number and unit are accepted; a
 *     fraction needs a unit above B and is rounded down ("0.1k" = 102);
 *   - filters: case-sensitive, '/' only, '*' the only joker;
 *   - top_by: "cumulative ignored" is decided before "needs traces"; a
 *     TRACEBACK key is the stored traceback (an empty one stays empty);
 *     totals are summed over the source grouped (traces or stats);
 *   - keys equal by value ((None, None) and ("", 0) included) are one row
 *     in a diff or merge; diff and merge refuse a different `by` but accept
 *     mixed cumulative (a merge is cumulative only if every part is);
 *   - apply_filters with no filters changes nothing.
 */
#ifndef TMA_H
#define TMA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tms.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===========================================================================
 * Sizes
 * ======================================================================== */
/* Parse "123", "512k", "10MiB", "1.5G", "2 GiB" into bytes.  Suffixes are
 * binary whatever their spelling: k K KB KiB = 1024, M MB MiB = 1024^2,
 * G GB GiB, T TB TiB; B or none = 1.  Rejects negatives, empty input,
 * trailing junk and overflow (TMS_E_ARG with a message). */
int tma_size_parse(const char *text, uint64_t *out, tms_error *err);

/* A CI threshold: a size ("10MiB") or a percentage ("5%", "2.5%"). */
typedef struct tma_threshold {
    int is_percent;
    uint64_t bytes;    /* when !is_percent */
    double percent;    /* when is_percent: 5.0 for "5%" */
} tma_threshold;
int tma_threshold_parse(const char *text, tma_threshold *out, tms_error *err);
/* 1 if growth from old_size to new_size breaches t (strictly more than). */
int tma_threshold_breached(const tma_threshold *t, uint64_t old_size,
                           uint64_t new_size);

/* Human size, CPython tracemalloc's rule: B, KiB, MiB, GiB, TiB; one
 * decimal below 100 of a unit above B, else none ("12.3 KiB", "512 B",
 * "1234 MiB"); with_sign adds '+' to non-negative values.  Returns the
 * length written (snprintf semantics). */
int tma_size_format(char *buf, size_t cap, int64_t bytes, int with_sign);

/* Shorten a filename to its last `parts` path components, prefixed with
 * ".../" when some were dropped; parts <= 0 keeps it whole.  NULL filename
 * (unknown) gives "???".  Returns the length written (snprintf semantics). */
int tma_filename_format(char *buf, size_t cap, const char *filename,
                        int parts);

/* ===========================================================================
 * Filters (PEP 454 Filter)
 * ======================================================================== */
/* A frame as the filter rules see it: filename NULL means unknown; lineno
 * TMS_LINENO_NONE means unknown. */
typedef struct tma_frame_view {
    const char *filename;
    size_t len;
    int32_t lineno;
} tma_frame_view;

typedef struct tma_filter {
    int include;          /* 1: inclusive, 0: exclusive */
    const char *pattern;  /* borrowed; '*' matches any substring */
    size_t pattern_len;
    int32_t lineno;       /* < 1 (or TMS_LINENO_NONE): any line */
    int traceback;        /* 1: every frame is checked (see keep) */
} tma_filter;

/* '*' jokers match any substring (also empty); ".pyc" and ".pyo" endings
 * of pattern and filename compare as ".py".  An unknown (NULL) filename
 * is matched as the empty string, so only patterns made of '*' match it. */
int tma_match_filename(const char *pattern, size_t plen,
                       const char *filename, size_t flen);
int tma_filter_match_lineno(const tma_filter *f, int32_t lineno);
int tma_filter_match(const tma_filter *f, const char *filename, size_t flen,
                     int32_t lineno);
/* Filter.match_traceback: with f->traceback, true if any frame matches;
 * without, true if the most recent frame (frames[0]) matches.  An empty
 * traceback is one unknown frame. */
int tma_filter_match_traceback(const tma_filter *f,
                               const tma_frame_view *frames, size_t n);

/* The combined rule.  Returns 1 if a trace with this traceback is kept:
 * no exclusive filter matches it, and, if there are inclusive filters, at
 * least one of them matches it.  When traceback_limit < 2 the filters'
 * `traceback` flag is ignored (only the most recent frame is checked). */
int tma_filters_keep(const tma_filter *filters, size_t nfilters,
                     const tma_frame_view *frames, size_t nframes,
                     uint32_t traceback_limit);

/* Set matched[i] to 1 for each filter that matches this traceback by the
 * rule tma_filters_keep applies to it (matched[i] already 1 is left). */
void tma_filters_mark(const tma_filter *filters, size_t nfilters,
                      const tma_frame_view *frames, size_t nframes,
                      uint32_t traceback_limit, uint8_t *matched);
/* Which filters match at least one block of s: its traces, or each stat
 * as a one-frame traceback when s has none (what apply_filters would look
 * at).  Sets matched[i] to 1 for those; never clears one, so a caller can
 * accumulate over several files.  A filter that matches nothing is most
 * often a pattern written for a short name: patterns match the whole file
 * name.  0, or TMS_E_NOMEM / TMS_E_CORRUPT with a message. */
int tma_snapshot_filters_matched(const tms_snapshot *s,
                                 const tma_filter *filters, size_t nfilters,
                                 uint8_t *matched, tms_error *err);

/* Snapshot.apply_filters: drop the traces the rule does not keep, using
 * s->header.traceback_limit.  With traces, stats are recomputed from the
 * kept traces; without traces, each stat is kept or dropped by its own
 * (filename, lineno) as a one-frame traceback.  The peak's entries are
 * kept or dropped by their traceback, like traces (its summary stays).
 * Dictionaries are kept. */
int tma_snapshot_apply_filters(tms_snapshot *s, const tma_filter *filters,
                               size_t nfilters, tms_error *err);

/* Keep only the traces in allocator domain `domain` (format 1.3; a file
 * without DOMS has every trace in domain 0) and recompute the stats from
 * them.  Needs the traces (TMS_E_ARG with a hint otherwise).  The peak is
 * dropped: its picture is kept per traceback, without domains, so it
 * cannot be split by domain.  domain.c */
int tma_snapshot_keep_domain(tms_snapshot *s, uint32_t domain,
                             tms_error *err);
/* The filters above (tma_snapshot_apply_filters' rules, and
 * tma_snapshot_keep_domain's when has_domain) applied to traces as a
 * reader streams them (tracefilter.c), for a filtered copy that never
 * holds the traces.  s is the snapshot tms_reader_read fills: its
 * dictionaries may grow between calls.  Each traceback is decided once;
 * matched (may be NULL) is marked as tma_snapshot_filters_matched marks
 * it.  filters are borrowed. */
typedef struct tma_trace_filter tma_trace_filter;
int tma_trace_filter_new(tma_trace_filter **out, const tms_snapshot *s,
                         const tma_filter *filters, size_t nfilters,
                         int has_domain, uint32_t domain, uint8_t *matched,
                         tms_error *err);
/* The kept traces of in[0..n) into out (room for n), in order. */
int tma_trace_filter_apply(tma_trace_filter *f, const tms_trace *in,
                           size_t n, tms_trace *out, size_t *nout,
                           tms_error *err);
/* Whether trace t was kept (its traceback was decided by an apply). */
int tma_trace_filter_keeps(const tma_trace_filter *f, const tms_trace *t);
/* Traces and bytes (as recorded, unweighted) seen and kept so far. */
void tma_trace_filter_counts(const tma_trace_filter *f, uint64_t *traces_in,
                             uint64_t *size_in, uint64_t *traces_kept,
                             uint64_t *size_kept);
/* After the last trace: s (the same snapshot) gets the stats of the kept
 * traces and its peak filtered, as the whole path leaves them; nothing
 * changes without filters or domain. */
int tma_trace_filter_finish(tma_trace_filter *f, tms_snapshot *s,
                            tms_error *err);
void tma_trace_filter_free(tma_trace_filter *f);

/* What a domain is, for people: "Python" (0), "native"
 * (TMS_DOMAIN_NATIVE), "numpy" (389047), else NULL. */
const char *tma_domain_name(uint32_t domain);

/* Recompute s->stats from s->traces (the most recent frame of each trace,
 * an empty traceback counted under the unknown frame).  Interns that
 * frame if missing. */
int tma_snapshot_stats_from_traces(tms_snapshot *s, tms_error *err);

/* The rule above from memory already summed per traceback, for callers
 * that do not hold the traces (the tracer sums its live tables): sums[t]
 * is counted under frame id frame[t], TMS_NONE standing for an empty
 * traceback (the unknown frame, interned if missing), t in [0, n).  One
 * stat per frame with memory, in frame-id order; s->stats is replaced
 * only on success.  (tma_tb_total is defined under Grouping.) */
struct tma_tb_total;
int tma_snapshot_stats_from_sums(tms_snapshot *s, const uint32_t *frame,
                                 const struct tma_tb_total *sums, size_t n,
                                 tms_error *err);

/* ===========================================================================
 * Sampled snapshots (format 1.2 SMPL, sample.c)
 * ======================================================================== */
/* A snapshot sampled with mean interval I bytes (header.sample_interval,
 * 0: exact) kept a block of s bytes with probability p = 1 - exp(-s/I);
 * each kept block stands for w = 1/p blocks (1 when I is 0).  Every
 * grouping, total and flame graph of libtma weights traces this way, so
 * its sizes and counts are unbiased estimates; STAT and PEAK entries of
 * such a file are already estimates (the writer weighted them). */
double tma_sample_weight(uint64_t size, uint64_t interval);
/* The estimate one kept block of `size` bytes at `address` stands for:
 * size * w and w, each rounded down or up at random (up with the
 * probability of its fraction, drawn from a hash of the address: the same
 * trace rounds the same way in every reader), so sums stay unbiased
 * (exact values when interval is 0). */
void tma_sample_estimate(uint64_t interval, uint64_t size, uint64_t address,
                         uint64_t *est_size, uint64_t *est_count);

/* ===========================================================================
 * Grouping (Snapshot.top_by / GroupedStats)
 * ======================================================================== */
typedef enum {
    TMA_BY_FILENAME = 0,
    TMA_BY_LINE = 1,
    TMA_BY_TRACEBACK = 2,
    TMA_BY_ADDRESS = 3,
    /* (filename, function name) of a frame (format 1.1 names frames;
     * unnamed frames of one file form one group, function unknown) */
    TMA_BY_FUNCTION = 4,
    /* the allocator domain of each trace (format 1.3): 0 Python, an
     * extension's PyTraceMalloc_Track domain, TMS_DOMAIN_NATIVE; needs the
     * traces, like ADDRESS */
    TMA_BY_DOMAIN = 5,
} tma_group_by;
#define TMA_BY_LAST TMA_BY_DOMAIN

/* "filename", "line", "traceback", "address", "function", "domain" <->
 * enum; parse
 * returns TMS_E_ARG for anything else. */
int tma_group_by_parse(const char *name, tma_group_by *out);
const char *tma_group_by_name(tma_group_by by);

/* A group key; which fields matter depends on the grouping.  Ids are
 * those of `snap`, so keys from different snapshots compare by value. */
typedef struct tma_key {
    const tms_snapshot *snap;
    uint32_t filename;   /* FILENAME, LINE, FUNCTION: string id or TMS_NONE */
    int32_t lineno;      /* LINE */
    uint32_t traceback;  /* TRACEBACK: traceback id */
    uint64_t address;    /* ADDRESS */
    uint32_t domain;     /* DOMAIN */
    uint32_t function;   /* FUNCTION: string id or TMS_NONE; LINE: the
                            frame's function, for display only (a LINE key
                            compares by filename and line) */
} tma_key;

typedef struct tma_stat {
    tma_key key;
    uint64_t size;
    uint64_t count;
} tma_stat;

typedef struct tma_groups {
    tma_group_by by;
    int cumulative;       /* after the rules below: what was really done */
    tma_stat *items;      /* owned; unordered */
    size_t n;
    uint64_t total_size;  /* sum over traces (not over cumulative items) */
    uint64_t total_count;
    uint64_t sample_interval; /* the snapshot's (SMPL): non-zero, the
                                 sizes and counts are estimates */
} tma_groups;

/* How to get a snapshot with traces: the hint in every "snapshot has no
 * traces" message of libtma and tmtool. */
#define TMA_HINT_TRACES "take it with traces: python -m tmtrace run " \
    "--traces, TMTRACE_TRACES=1 or Snapshot.create(traces=True)"

/* Group s.  Rules (PEP 454 top_by):
 *   - cumulative is ignored for ADDRESS and TRACEBACK and when
 *     s->header.traceback_limit < 2;
 *   - non-cumulative FILENAME and LINE use s->stats (so they work on a
 *     snapshot loaded without traces);
 *   - ADDRESS, TRACEBACK and cumulative need traces: TMS_E_ARG
 *     ("snapshot has no traces") otherwise;
 *   - cumulative counts a block once per distinct key in its traceback
 *     (a recursive function's line is not counted twice);
 *   - an empty traceback counts under the unknown frame (None, None). */
int tma_group(const tms_snapshot *s, tma_group_by by, int cumulative,
              tma_groups *out, tms_error *err);

/* Per-traceback totals: the memory of every traceback id, summed while
 * traces stream past, so that every grouping but ADDRESS can be made
 * without holding the traces (16 bytes per traceback instead of 24 per
 * trace).  tma_group itself sums s->traces this way and expands the
 * totals with tma_group_totals: one implementation of the rules.
 *
 * The accumulator borrows snap: ids are checked against snap's traceback
 * table as it is at each add, and the table may grow between adds (as it
 * does under tms_reader_read, which appends tracebacks to the snapshot
 * between trace chunks). */
typedef struct tma_tb_total {
    uint64_t size;
    uint64_t count;
} tma_tb_total;

typedef struct tma_tb_totals {
    const tms_snapshot *snap;  /* borrowed */
    tma_tb_total *tb;          /* owned; by traceback id, [0, n) */
    uint32_t n, cap;
    uint64_t total_size;       /* sum over every trace added */
    uint64_t total_count;      /* traces added */
    tms_error err;             /* failure of tma_tb_totals_trace_fn */
} tma_tb_totals;

/* Start empty totals for traces of snap (TMS_E_ARG if t or snap is
 * NULL). */
int tma_tb_totals_init(tma_tb_totals *t, const tms_snapshot *snap);
/* Add n traces.  A traceback id snap does not define is TMS_E_CORRUPT
 * and the whole batch is refused (t unchanged). */
int tma_tb_totals_add(tma_tb_totals *t, const tms_trace *traces, size_t n,
                      tms_error *err);
/* Totals of the state recorded at s's peak (format 1.1 PEAK entries, one
 * per traceback) instead of traces: t is initialised here; TMS_E_ARG if s
 * has no peak, TMS_E_CORRUPT for an entry naming no traceback. */
int tma_tb_totals_peak(tma_tb_totals *t, const tms_snapshot *s, tms_error *err);
/* tma_tb_totals_add as a tms_trace_fn for tms_reader_read: ctx is the
 * tma_tb_totals; on failure the status is returned (so the read stops
 * with it) and the message is left in t->err. */
int tma_tb_totals_trace_fn(void *ctx, const tms_trace *traces, size_t n);
void tma_tb_totals_free(tma_tb_totals *t);

/* tma_group from per-traceback totals instead of s->traces: the same
 * rules and the same result (items, total_size, total_count, cumulative)
 * as tma_group on the snapshot holding those traces.  t must have been
 * accumulated for s (else TMS_E_ARG); it may be NULL when no traces are
 * needed (non-cumulative FILENAME/LINE read s->stats).  "Needs traces"
 * still looks at s->has_traces, which tms_reader_read sets even when the
 * traces go to a callback.  ADDRESS cannot be made from totals:
 * TMS_E_ARG. */
int tma_group_totals(const tms_snapshot *s, const tma_tb_totals *t,
                     tma_group_by by, int cumulative, tma_groups *out,
                     tms_error *err);

/* tma_group on the snapshot's peak (format 1.1 PEAK: the blocks alive,
 * per traceback, in the state recorded at the high-water mark) instead of
 * its live traces: the same rules and keys; non-cumulative FILENAME, LINE
 * and FUNCTION use each traceback's most recent frame.  total_size and
 * total_count are the recorded state's.  TMS_E_ARG if s has no peak, or
 * for ADDRESS (the peak is kept per traceback, without addresses). */
int tma_group_peak(const tms_snapshot *s, tma_group_by by, int cumulative,
                   tma_groups *out, tms_error *err);
/* Sum several groupings of the same kind by key value (tmtool --merge).
 * Keys of the result point into the snapshot where the key was first
 * seen, so all inputs' snapshots must outlive it. */
int tma_groups_merge(const tma_groups *parts, size_t nparts, tma_groups *out,
                     tms_error *err);
void tma_groups_free(tma_groups *g);

/* Key order by value: filename (unknown as ""), then lineno (unknown as 0)
 * or function name (unknown as ""); tracebacks as sequences of
 * (filename, lineno) frames, most recent first; addresses as integers.
 * Returns <0, 0, >0. */
int tma_key_cmp(tma_group_by by, const tma_key *a, const tma_key *b);

/* The same key with its strings, frames (and their function names) and
 * traceback interned into dst, so it outlives key->snap: *out points into
 * dst and compares equal to *key (tma_key_cmp). */
int tma_key_copy(tma_group_by by, const tma_key *key, tms_snapshot *dst,
                 tma_key *out, tms_error *err);

/* ===========================================================================
 * Comparison (GroupedStats.compare_to / StatsDiff)
 * ======================================================================== */
typedef struct tma_diff_item {
    int64_t size_diff;
    uint64_t size;
    int64_t count_diff;
    uint64_t count;
    tma_key key;
} tma_diff_item;

typedef struct tma_diff {
    tma_group_by by;
    tma_diff_item *items;  /* owned; unordered until tma_diff_sort */
    size_t n;
} tma_diff;

/* new_ against old, matched by key value.  A key only in new_ has diff =
 * its size/count; a key only in old has size 0, count 0 and negative
 * diffs.  old == NULL: every diff is 0 (compare_to(None)).  TMS_E_ARG if
 * the two were grouped differently. */
int tma_diff_compute(const tma_groups *old, const tma_groups *new_,
                     tma_diff *out, tms_error *err);
/* StatsDiff.sort: biggest first by abs(size_diff), size, abs(count_diff),
 * count, then key (tma_key_cmp), all descending. */
void tma_diff_sort(tma_diff *d);
void tma_diff_free(tma_diff *d);


/* ===========================================================================
 * Flame graphs (memory by call path)
 * ======================================================================== */
#define TMA_FLAME_NO_PARENT UINT32_MAX

/* One node: a frame reached by one call path.  The root (nodes[0]) stands
 * for the whole snapshot (frame TMS_NONE, no parent); any other node with
 * frame TMS_NONE is the unknown frame (empty tracebacks, one per path). */
typedef struct tma_flame_node {
    uint32_t frame;        /* frame id of snap, or TMS_NONE (see above) */
    uint32_t parent;       /* node index; TMA_FLAME_NO_PARENT for the root */
    uint32_t depth;        /* root 0, oldest frames 1 */
    uint64_t size, count;  /* every trace whose path passes here */
    uint64_t self_size, self_count; /* traces whose traceback ends here */
} tma_flame_node;

typedef struct tma_flame {
    const tms_snapshot *snap; /* borrowed */
    tma_flame_node *nodes;    /* owned; depth first, children biggest
                               * first (ties by frame value): a parent
                               * comes before its children, whose subtrees
                               * follow each other in that order */
    size_t n;                 /* >= 1 (the root) */
    uint32_t max_depth;
} tma_flame;

/* Build the call-path tree of s from per-traceback totals t (accumulated
 * for s: from its traces, e.g. while the file streamed, or from its peak,
 * tma_tb_totals_peak).  Paths run from the oldest captured frame
 * (tracebacks cut at the traceback limit start where the cut is).
 * nodes[0].size == t->total_size. */
int tma_flame_build(const tms_snapshot *s, const tma_tb_totals *t,
                    tma_flame *out, tms_error *err);
void tma_flame_free(tma_flame *f);

/* ===========================================================================
 * Trends (growth across a series of snapshots)
 * ======================================================================== */
typedef struct tma_trend_row {
    tma_key key;             /* copied into the trend's own snapshot */
    uint32_t index;          /* creation order: the row's sizes (below) */
    uint64_t first_size, last_size;   /* 0 where absent */
    uint64_t first_count, last_count;
    int64_t change;          /* last_size - first_size */
    uint64_t peak_size;      /* biggest size in any file */
    uint32_t intervals;      /* files - 1 */
    uint32_t grew, shrank;   /* intervals in which it grew / shrank */
    double steadiness;       /* grew / intervals, 0..1 */
    double slope;            /* least squares: bytes per second, or per
                              * file when !slope_per_second */
    double r2;               /* fit of that line, 0..1 (1: a flat site) */
} tma_trend_row;

typedef struct tma_trend {
    tma_group_by by;
    tma_trend_row *rows;     /* owned */
    size_t n;
    size_t nfiles;           /* added so far */
    int slope_per_second;    /* 0: timestamps did not increase */
    uint64_t *file_total;    /* owned: total_size of each file */
    int64_t *file_time;      /* owned: timestamp_ns of each file */
    tms_snapshot *keys_snap; /* owned: what the rows' keys point into */
    /* private */
    size_t nfiles_max, cap;
    uint64_t *sizes, *counts;
    struct tma_acc *keys;    /* key value -> row (tma_internal.h) */
} tma_trend;

/* Start a trend over nfiles (>= 2) groupings of kind by (not ADDRESS).
 * Then add each file's grouping in time order, finish, and sort.  Keys
 * are copied (tma_key_copy) into t->keys_snap, so each file's snapshot
 * may be freed once added: memory is that of the sites, not of the
 * files.  Adding after sort is not allowed; after a failed add, only
 * free. */
int tma_trend_init(tma_trend *t, tma_group_by by, size_t nfiles,
                   tms_error *err);
int tma_trend_add(tma_trend *t, const tma_groups *g, int64_t timestamp_ns,
                  tms_error *err);
/* Compute every row's statistics (TMS_E_ARG with fewer than 2 files). */
int tma_trend_finish(tma_trend *t, tms_error *err);
/* Likely leaks first: sites that grew from first to last before the
 * others, steadiest (most intervals grown) first, then by change, last
 * size and key value, descending (trend.c says why). */
void tma_trend_sort(tma_trend *t);
/* The size of row r in each of the t->nfiles files. */
const uint64_t *tma_trend_sizes(const tma_trend *t, const tma_trend_row *r);
void tma_trend_free(tma_trend *t);

/* The rest sum and the totals of a report: items [from, to) of d summed
 * (key left zero), and the totals over traces of cur compared with old
 * (NULL: diffs 0), as DisplayTop's "N more" and "Total" lines show them. */
void tma_diff_sum(const tma_diff *d, size_t from, size_t to,
                  tma_diff_item *out);
void tma_groups_total(const tma_groups *cur, const tma_groups *old,
                      tma_diff_item *out);

/* ===========================================================================
 * Text (DisplayTop's layout; tmtool top and diff print the same)
 * ======================================================================== */
/* The one text renderer: DisplayTop (through _tmtrace) and tmtool call
 * it, so the two print the same text for every grouping, cumulative or
 * not, compared or not.  It writes to a FILE (stdout, or a memory stream
 * for a string) and never cuts a file name short.  Layout:
 *
 *   TITLE: Top 3 allocations per filename and line number (compared to OLD)
 *   #1: .../pkg/mod.py:12: size=1.5 KiB (+512 B), count=3 (+1), average=512 B
 *   2 more: size=100 B (+0 B), count=2 (+0), average=50 B
 *   Total: size=1.6 KiB (+512 B), count=5 (+1), average=327 B
 *   (blank line, metrics by name "rss: 16.0 MiB (+6144 KiB)", blank line)
 *
 * Grouped by traceback, an entry has no key on its line but the whole
 * traceback under it; an unknown line number is '?'. */

/* Colour roles; escapes come from one table (ANSI). */
typedef enum {
    TMA_ROLE_TITLE,    /* section headers */
    TMA_ROLE_NAME,     /* titles, metric values */
    TMA_ROLE_GROW,     /* positive differences */
    TMA_ROLE_SHRINK,   /* negative differences */
    TMA_ROLE_RANK,     /* "#1" */
    TMA_ROLE_BAD,      /* threshold breaches */
} tma_role;
/* The escape for a role, "" when color is 0. */
const char *tma_color_on(int color, tma_role role);
const char *tma_color_off(int color);

typedef struct tma_text_opts {
    tma_group_by by;
    size_t count;          /* entries shown; 0: all */
    int filename_parts;    /* as tma_filename_format */
    int show_size, show_count, show_average, show_metrics;
    int color;             /* 1: ANSI colours by role */
    int peak;              /* the report shows the peak: title and a
                              "Peak:" line from the side's snapshot */
} tma_text_opts;

/* One side of a report: its title, its grouping (totals, cumulative) and
 * the snapshot whose metrics are shown (NULL: none). */
typedef struct tma_text_side {
    const char *title;
    const tma_groups *groups;
    const tms_snapshot *metrics;
} tma_text_side;

/* The report of d (sorted) for cur compared with old (old NULL or
 * old->groups NULL: not compared).  Returns 0, or -1 when f reports an
 * error or memory ran out. */
int tma_text_report(FILE *f, const tma_text_opts *o, const tma_text_side *cur,
                    const tma_text_side *old, const tma_diff *d);
/* Its parts, for other layouts (tmtool's breach lines, --address):
 * a key ("…/a.py:12", "memory block 0x…"; a traceback's most recent
 * frame), an entry's numbers, a whole traceback, a file name. */
void tma_text_key(FILE *f, const tma_text_opts *o, const tma_key *key);
void tma_text_item(FILE *f, const tma_text_opts *o, const tma_diff_item *it,
                   int compared);
void tma_text_traceback(FILE *f, const tma_text_opts *o,
                        const tms_snapshot *s, uint32_t tb);
/* A file name shortened by tma_filename_format and escaped (tms_escape). */
void tma_text_filename(FILE *f, const char *filename, int parts);
/* Any text from a file (a metric name, a title naming a file) as
 * tms_escape shows it: never a control sequence, never a second line. */
void tma_text_escaped(FILE *f, const char *s);
/* A metric value per its format (size: binary units, percent: 1.0 =
 * 100.0%); sign adds '+'.  64 bytes are always enough. */
void tma_metric_value_text(char *buf, size_t cap, tms_metric_format fmt,
                           int is_float, int64_t i, double f, int sign);

#ifdef __cplusplus
}
#endif
#endif /* TMA_H */
