/* live.h -- a running traced process as a snapshot source (the client of
 * the tracer's live endpoint, docs/live-endpoint.md).
 *
 * `--pid N` fetches one snapshot and registers it under a source name
 * ("pid N"); the loaders in input.c read a registered name from memory
 * instead of a file, so every command that reads files reads a live
 * process the same way. */
#ifndef HEADER_live
#define HEADER_live

#include <stddef.h>
#include <stdint.h>

/* How long a client waits for an answer, unless --timeout says. */
#define TM_LIVE_TIMEOUT_MS 10000

/* Fetch a snapshot of pid (with every trace when traces): 0 and the .tms
 * bytes in *buf (malloc, caller frees), or a tm_exit code with a
 * one-line message in msg (not printed). */
int tm_live_fetch(long pid, int traces, int timeout_ms, void **buf,
                  size_t *len, char *msg, size_t cap);

/* 1 if pid has a live endpoint socket (nothing is asked of it). */
int tm_live_endpoint_exists(long pid);

/* Fetch and register: *name is "pid N" (owned by the registry, valid
 * until tm_live_release_all()).  Reports the failure and returns its exit
 * code. */
int tm_live_source(long pid, int traces, int timeout_ms, const char **name);
/* The bytes registered under name: 1 and the buffer and its length, or 0 if name is not a
 * live source. */
int tm_live_lookup(const char *name, const void **buf, size_t *len);
void tm_live_release_all(void);

/* This user's traced processes (stale endpoints are removed on the way). */
typedef struct tm_live_proc {
    long pid;
    char *cmdline;        /* owned; "" when unknown */
    int64_t traced;       /* -1: did not answer */
    int64_t peak;
} tm_live_proc;
/* 0 and a malloc'd array (tm_live_procs_free), or an exit code after
 * reporting. */
int tm_live_list(tm_live_proc **out, size_t *n);
void tm_live_procs_free(tm_live_proc *p, size_t n);

/* The value of a metric of a snapshot, or -1. */
struct tms_snapshot;
int64_t tm_live_metric(const struct tms_snapshot *s, const char *name);
/* Seconds since pid started (-1 when unknown); its command line and RSS
 * are tm_live.h's tm_live_cmdline and tm_live_rss. */
int64_t tm_live_uptime(long pid);

/* Parse a --pid value; -1 after reporting. */
int tm_live_parse_pid(const char *opt, const char *text, long *out);

/* The --pid option shared by top, diff and save: a group whose ctx is a
 * tm_pid. */
typedef struct tm_pid {
    long pid;         /* 0: not given */
    int timeout_ms;   /* --timeout; 0: TM_LIVE_TIMEOUT_MS */
} tm_pid;
/* The timeout p asks for. */
int tm_pid_timeout(const tm_pid *p);
#include "opts.h"
extern const tm_opt tm_pid_opts[];

#endif
