/* tm_live.h -- the live endpoint's rendezvous and wire format, shared by
 * the tracer (server, src/tracer/endpoint.c) and tmtool (client,
 * src/cli/live.c).  docs/live-endpoint.md is the full description.
 *
 * A traced process listens on <dir>/<pid>.sock, where <dir> is
 * $XDG_RUNTIME_DIR/tmtrace when XDG_RUNTIME_DIR names a directory of
 * ours, else /tmp/tmtrace-<uid>; <dir> is mode 0700 and owned by the
 * user.  A client sends one request line, the server answers with one
 * 16-byte header and a payload, then closes. */
#ifndef TM_LIVE_H
#define TM_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define TM_LIVE_PROTO 1
#define TM_LIVE_MAGIC "TMTW"
#define TM_LIVE_HDR 16          /* magic, version, status, 2 zero, u64 LE length */
#define TM_LIVE_REQ_MAX 64      /* a request line, '\n' included */

/* Requests (one line each). */
#define TM_LIVE_REQ_STATS  "stats"   /* header, stats, metrics, meta */
#define TM_LIVE_REQ_TRACES "traces"  /* the same plus every trace */

/* Response status: the payload is a .tms file (OK) or a UTF-8 message. */
enum {
    TM_LIVE_OK = 0,
    TM_LIVE_BAD_REQUEST = 1,
    TM_LIVE_BUSY = 2,
    TM_LIVE_DENIED = 3,
    TM_LIVE_ERROR = 4,
};

/* Largest payload a client accepts (a .tms of several million traces is
 * tens of MB; this only stops a runaway length). */
#define TM_LIVE_PAYLOAD_MAX ((uint64_t)1 << 32)

/* Candidate directories, in search order: 0 the XDG one (if the variable
 * is set), 1 the /tmp one.  Writes the path of candidate `which` into buf;
 * returns 0, or -1 if that candidate does not apply or does not fit. */
int tm_live_dir(int which, char *buf, size_t cap);
/* Create dir (mode 0700) if missing and check it is safe to use: a real
 * directory (not a link), owned by the effective uid, no group or other
 * access.  0, or -1 with errno set (EPERM: unsafe owner or mode). */
int tm_live_dir_prepare(const char *dir);
/* Check without creating; 0 or -1 (errno). */
int tm_live_dir_check(const char *dir);
/* "<dir>/<pid>.sock"; 0 or -1 if it does not fit a sockaddr_un. */
int tm_live_sock_path(const char *dir, long pid, char *buf, size_t cap);
/* The pid a socket file name stands for ("123.sock" -> 123), or -1. */
long tm_live_name_pid(const char *name);
/* 1 if a process pid exists (ours or not), 0 if not. */
int tm_live_pid_exists(long pid);

/* /proc facts: a small file's text (NUL-terminated; bytes read or -1),
 * the command line with NULs as spaces ("" if gone), the resident set in
 * bytes (-1 if unknown). */
ssize_t tm_live_read_small(const char *path, char *buf, size_t cap);
void tm_live_cmdline(long pid, char *buf, size_t cap);
int64_t tm_live_rss(long pid);

void tm_live_hdr_encode(unsigned char out[TM_LIVE_HDR], int status,
                        uint64_t len);
/* 0 and *status, *len, or -1 when it is not a response of ours. */
int tm_live_hdr_decode(const unsigned char in[TM_LIVE_HDR], int *status,
                       uint64_t *len);

#endif
