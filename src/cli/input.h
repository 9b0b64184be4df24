/* input.h -- what the commands share before analysis: loading .tms files
 * (errors reported here, once), putting files of one series in order, and
 * the small formatters of header fields. */
#ifndef HEADER_input
#define HEADER_input

#include <stddef.h>

#include "opts.h"
#include "output.h"
#include "tma.h"
#include "tms.h"

/* Exit code for a libtms/libtma status. */
int tm_exit_for_status(int code);
/* Report err about path in one line: "cannot read 'a.tms': ...". */
void tm_report_error(const char *verb, const char *path, const tms_error *err);

/* How files are read (the common options --read-budget and --no-verify):
 * the libtms read budget (0: libtms's default) and whether trace sections
 * a command skips are still read to check their CRC (default 1). */
void tm_set_read_budget(uint64_t budget);
void tm_set_verify_skipped(int verify);
/* As set (for a helper that reads the files itself: the parquet export). */
uint64_t tm_read_budget(void);
int tm_verify_skipped(void);

/* Load path (with a progress line when slow); on failure report it and
 * return the exit code, else 0. */
int tm_load(const char *path, unsigned flags, tms_snapshot **out);
/* Load path with every trace fed to t (initialised here for *out) and
 * none stored: enough for any grouping but by address.  On failure
 * (reported, exit code returned) *out is NULL and t empty. */
int tm_load_totals(const char *path, tms_snapshot **out, tma_tb_totals *t);
/* Read path into into (empty, from tms_snapshot_new; the caller owns
 * it, also on failure) with every trace fed to fn and none stored.  A
 * failure of fn (a negative status returned, its message in *fn_err) is
 * not reported: the caller knows what failed (a write, say); any other
 * failure is.  Returns an exit code. */
int tm_load_stream(const char *path, tms_snapshot *into, tms_trace_fn fn,
                   void *ctx, const tms_error *fn_err);
/* Whether path reads the same bytes a second time: a regular file or a
 * running process's snapshot already fetched (--pid). */
int tm_rereadable(const char *path);
/* Read only the header. */
int tm_load_header(const char *path, tms_header *out);

/* Files of one series: check that every file has the same series_id, then
 * sort paths by timestamp (stable).  Returns 0 or an exit code after
 * reporting. */
int tm_order_series(char **paths, size_t n);

/* "2024-05-01 12:00:00" in local time; "1970-..." style, never fails. */
void tm_format_time(char *buf, size_t cap, int64_t ns);
/* ISO 8601 UTC with nanoseconds, for JSON. */
void tm_format_time_iso(char *buf, size_t cap, int64_t ns);
/* 32 hex digits. */
void tm_format_series(char *buf, size_t cap, const uint8_t id[16]);

/* Parse a positive decimal count; -1 after reporting. */
int tm_parse_count(const char *opt, const char *text, long min, long *out);

#endif
