/* live.c -- the client of the tracer's live endpoint (live.h). */
#include "live.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "exitcodes.h"
#include "output.h"
#include "tm_live.h"
#include "tms.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Keep what a hostile or broken server says printable (tms_escape, as
 * every text from outside that tmtool shows). */
static void copy_message(char *dst, size_t cap, const char *src, size_t n)
{
    tms_escape(dst, cap, src, n);
}

/* The socket of pid: 0 and its path, or an exit code and msg saying why
 * there is none. */
static int find_socket(long pid, char *path, size_t cap, char *msg, size_t mcap)
{
    char dir[PATH_MAX], tried[PATH_MAX] = "";
    for (int which = 0; which < 2; which++) {
        struct stat st;
        if (tm_live_dir(which, dir, sizeof dir) < 0)
            continue;
        if (tried[0] == '\0')
            snprintf(tried, sizeof tried, "%s", dir);
        if (tm_live_dir_check(dir) < 0)
            continue;
        if (tm_live_sock_path(dir, pid, path, cap) == 0 &&
            lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            return 0;
    }
    struct stat pst;
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%ld", pid);
    if (!tm_live_pid_exists(pid))
        snprintf(msg, mcap, "no process %ld", pid);
    else if (stat(proc, &pst) == 0 && pst.st_uid != geteuid())
        snprintf(msg, mcap, "process %ld belongs to another user (uid %lu); "
                 "run tmtool as that user", pid, (unsigned long)pst.st_uid);
    else
        snprintf(msg, mcap, "process %ld is not traced by tmtrace (no live "
                 "endpoint in '%s'); start it with 'python -m tmtrace run', "
                 "TMTRACE=1 TMTRACE_LIVE=1 or tmtrace.start_endpoint()", pid, tried);
    return TM_EXIT_BADFILE;
}

int tm_live_endpoint_exists(long pid)
{
    char path[PATH_MAX], msg[8];
    return find_socket(pid, path, sizeof path, msg, sizeof msg) == 0;
}

/* Wait until fd is ready for events or the deadline passes: 1, 0 on
 * timeout, -1 on error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd pf = { .fd = fd, .events = events };
        int r = poll(&pf, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 ? -1 : r > 0;
    }
}

/* Read exactly n bytes by the deadline: 0, 1 on EOF/reset before, -2 on
 * timeout. */
static int read_full(int fd, void *buf, size_t n, int64_t deadline)
{
    size_t got = 0;
    while (got < n) {
        int w = wait_fd(fd, POLLIN, deadline);
        if (w == 0)
            return -2;
        if (w < 0)
            return 1;
        ssize_t r = recv(fd, (char *)buf + got, n - got, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            return 1;
        if (r > 0)
            got += (size_t)r;
    }
    return 0;
}

static int fetch_once(long pid, int traces, int64_t deadline, int timeout_ms,
                      void **buf, size_t *len, char *msg, size_t cap, int *busy);

int tm_live_fetch(long pid, int traces, int timeout_ms, void **buf,
                  size_t *len, char *msg, size_t cap)
{
    /* BUSY (every slot taken) is transient: ask again until the deadline. */
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int busy = 0;
        int rc = fetch_once(pid, traces, deadline, timeout_ms, buf, len, msg,
                            cap, &busy);
        if (!busy || now_ms() + 100 >= deadline)
            return rc;
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

static int fetch_once(long pid, int traces, int64_t deadline, int timeout_ms,
                      void **buf, size_t *len, char *msg, size_t cap, int *busy)
{
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    unsigned char hdr[TM_LIVE_HDR];
    int rc = find_socket(pid, path, sizeof path, msg, cap);
    *buf = NULL;
    *len = 0;
    if (rc != 0)
        return rc;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(msg, cap, "cannot create a socket: %s", strerror(errno));
        return TM_EXIT_BADFILE;
    }
    int cr;
    /* A full listen queue (EAGAIN) clears as the server accepts: retry
     * until the deadline. */
    while ((cr = connect(fd, (struct sockaddr *)&sa, sizeof sa)) < 0 &&
           errno == EAGAIN && now_ms() + 50 < deadline) {
        struct timespec ts = { 0, 50 * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (cr < 0) {
        int e = errno;
        if (e == EAGAIN) {
            snprintf(msg, cap, "process %ld is busy (too many viewers)", pid);
        } else if (e == ECONNREFUSED) {
            /* Nobody listens: the process died without removing it, or
             * its pid was reused.  The directory is ours: tidy it. */
            unlink(path);
            if (tm_live_pid_exists(pid))
                snprintf(msg, cap, "process %ld is not traced by tmtrace "
                         "(stale endpoint removed)", pid);
            else
                snprintf(msg, cap, "no process %ld", pid);
        } else {
            snprintf(msg, cap, "cannot connect to process %ld: %s", pid,
                     strerror(e));
        }
        close(fd);
        return TM_EXIT_BADFILE;
    }
    const char *req = traces ? TM_LIVE_REQ_TRACES "\n" : TM_LIVE_REQ_STATS "\n";
    /* A refused client may find the socket closed before it writes: the
     * answer saying why is still there to read. */
    (void)!send(fd, req, strlen(req), MSG_NOSIGNAL);
    int r = read_full(fd, hdr, sizeof hdr, deadline);
    int status = 0;
    uint64_t plen = 0;
    if (r == 0 && tm_live_hdr_decode(hdr, &status, &plen) < 0)
        r = 3;
    if (r == 0 && plen > TM_LIVE_PAYLOAD_MAX)
        r = 3;
    if (r == 0 && (*buf = malloc(plen ? (size_t)plen : 1)) == NULL)
        r = 4;
    if (r == 0)
        r = read_full(fd, *buf, (size_t)plen, deadline);
    close(fd);
    if (r == -2)
        snprintf(msg, cap, "process %ld did not answer within %g s", pid,
                 timeout_ms / 1000.0);
    else if (r == 1)
        snprintf(msg, cap, "process %ld closed the connection (it may have "
                 "exited)", pid);
    else if (r == 3)
        snprintf(msg, cap, "process %ld answered something that is not a "
                 "tmtrace live snapshot", pid);
    else if (r == 4)
        snprintf(msg, cap, "out of memory");
    if (r == 0 && status == TM_LIVE_BUSY)
        *busy = 1;
    if (r == 0 && status != TM_LIVE_OK) {
        char text[256];
        copy_message(text, sizeof text, *buf, (size_t)plen);
        snprintf(msg, cap, "process %ld refused: %s", pid, text);
        r = 5;
    }
    if (r != 0) {
        free(*buf);
        *buf = NULL;
        return TM_EXIT_BADFILE;
    }
    *len = (size_t)plen;
    return TM_EXIT_OK;
}

/* ---- sources ------------------------------------------------------------ */

typedef struct live_src {
    char name[32];
    void *buf;
    size_t len;
} live_src;

static live_src *sources;
static size_t nsources;

int tm_live_source(long pid, int traces, int timeout_ms, const char **name)
{
    char msg[512];
    void *buf;
    size_t len;
    int rc = tm_live_fetch(pid, traces, timeout_ms, &buf, &len, msg, sizeof msg);
    if (rc != TM_EXIT_OK) {
        tm_error("%s", msg);
        return rc;
    }
    live_src *grown = realloc(sources, (nsources + 1) * sizeof *sources);
    if (grown == NULL) {
        free(buf);
        tm_error("out of memory");
        return TM_EXIT_BADFILE;
    }
    sources = grown;
    live_src *s = &sources[nsources++];
    snprintf(s->name, sizeof s->name, "pid %ld", pid);
    s->buf = buf;
    s->len = len;
    *name = s->name;
    return TM_EXIT_OK;
}

int tm_live_lookup(const char *name, const void **buf, size_t *len)
{
    for (size_t i = 0; i < nsources; i++)
        if (strcmp(sources[i].name, name) == 0) {
            *buf = sources[i].buf;
            *len = sources[i].len;
            return 1;
        }
    return 0;
}

void tm_live_release_all(void)
{
    for (size_t i = 0; i < nsources; i++)
        free(sources[i].buf);
    free(sources);
    sources = NULL;
    nsources = 0;
}

/* ---- facts ------------------------------------------------------------- */

int64_t tm_live_metric(const struct tms_snapshot *s, const char *name)
{
    for (uint32_t i = 0; s != NULL && i < s->nmetrics; i++)
        if (strcmp(s->metrics[i].name, name) == 0)
            return s->metrics[i].kind == TMS_VALUE_INT ? s->metrics[i].i
                                                       : (int64_t)s->metrics[i].f;
    return -1;
}

int64_t tm_live_uptime(long pid)
{
    char path[64], buf[1024], up[128];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (tm_live_read_small(path, buf, sizeof buf) <= 0 ||
        tm_live_read_small("/proc/uptime", up, sizeof up) <= 0)
        return -1;
    /* Field 22 (starttime, clock ticks after boot), counted after the
     * command name's closing parenthesis (the name may hold spaces). */
    char *p = strrchr(buf, ')');
    unsigned long long start = 0;
    int field = 2;
    for (; p != NULL && *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (p == NULL || sscanf(p, "%llu", &start) != 1)
        return -1;
    double boot_up = strtod(up, NULL);
    long hz = sysconf(_SC_CLK_TCK);
    double age = boot_up - (double)start / (double)(hz > 0 ? hz : 100);
    return age < 0 ? 0 : (int64_t)age;
}

int tm_live_parse_pid(const char *opt, const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 1) {
        tm_error("bad value '%s' for %s (expected a process id)", text, opt);
        return -1;
    }
    *out = v;
    return 0;
}

static int opt_pid(void *ctx, const tm_opt *o, const char *arg)
{
    (void)o;
    return tm_live_parse_pid("--pid", arg, &((tm_pid *)ctx)->pid);
}

static int opt_timeout(void *ctx, const tm_opt *o, const char *arg)
{
    char *end;
    double v = strtod(arg, &end);
    (void)o;
    if (end == arg || *end != '\0' || !(v >= 0.1 && v <= 3600)) {
        tm_error("bad value '%s' for --timeout (expected seconds, 0.1 to 3600)", arg);
        return -1;
    }
    ((tm_pid *)ctx)->timeout_ms = (int)(v * 1000);
    return 0;
}

int tm_pid_timeout(const tm_pid *p)
{
    return p->timeout_ms > 0 ? p->timeout_ms : TM_LIVE_TIMEOUT_MS;
}

const tm_opt tm_pid_opts[] = {
    TM_OPT_CALLBACK(0, "pid", "PID", opt_pid, 0,
                    "read a running traced process (see tmtool watch) instead of a FILE"),
    TM_OPT_CALLBACK(0, "timeout", "SECONDS", opt_timeout, 0,
                    "how long to wait for the process's answer (default 10)"),
    TM_OPT_END,
};

/* ---- listing ------------------------------------------------------------- */

static int cmp_proc(const void *a, const void *b)
{
    const tm_live_proc *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

int tm_live_list(tm_live_proc **out, size_t *n)
{
    tm_live_proc *v = NULL;
    size_t count = 0, cap = 0;
    char dir[PATH_MAX];
    *out = NULL;
    *n = 0;
    for (int which = 0; which < 2; which++) {
        if (tm_live_dir(which, dir, sizeof dir) < 0 || tm_live_dir_check(dir) < 0)
            continue;
        DIR *d = opendir(dir);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            long pid = tm_live_name_pid(e->d_name);
            int dup = 0;
            if (pid <= 0)
                continue;
            for (size_t i = 0; i < count; i++)
                dup |= v[i].pid == pid;
            if (dup)
                continue;
            if (!tm_live_pid_exists(pid)) {
                unlinkat(dirfd(d), e->d_name, 0);
                continue;
            }
            char msg[512], cmd[4096];
            void *buf;
            size_t len;
            int64_t traced = -1, peak = -1;
            if (tm_live_fetch(pid, 0, 2000, &buf, &len, msg, sizeof msg) == 0) {
                tms_snapshot *s = NULL;
                if (tms_snapshot_load_buffer(buf, len, "live", TMS_LOAD_SKIP_TRACES,
                                             &s, NULL) == 0) {
                    traced = tm_live_metric(s, "tracemalloc.traced.size");
                    peak = tm_live_metric(s, "tracemalloc.traced.max_size");
                }
                tms_snapshot_free(s);
                free(buf);
            } else if (strstr(msg, "stale") != NULL || strstr(msg, "no process")) {
                continue;
            }
            if (count == cap) {
                size_t nc = cap ? 2 * cap : 8;
                tm_live_proc *g = realloc(v, nc * sizeof *v);
                if (g == NULL)
                    goto oom;
                v = g;
                cap = nc;
            }
            tm_live_cmdline(pid, cmd, sizeof cmd);
            v[count] = (tm_live_proc){ pid, strdup(cmd), traced, peak };
            if (v[count].cmdline == NULL)
                goto oom;
            count++;
            continue;
oom:
            closedir(d);
            tm_live_procs_free(v, count);
            tm_error("out of memory");
            return TM_EXIT_BADFILE;
        }
        if (d != NULL)
            closedir(d);
    }
    if (count > 1)
        qsort(v, count, sizeof *v, cmp_proc);
    *out = v;
    *n = count;
    return TM_EXIT_OK;
}

void tm_live_procs_free(tm_live_proc *p, size_t n)
{
    for (size_t i = 0; p != NULL && i < n; i++)
        free(p[i].cmdline);
    free(p);
}
