/* endpoint.c -- the live endpoint: a thread of ours serves snapshots of the
 * live tables to `tmtool watch|top|diff --pid` on a Unix socket.  The wire
 * format and the rendezvous are in tm_live.h; docs/live-endpoint.md says
 * why it is built this way.
 *
 * Who runs what:
 *  - start/stop: a Python thread holding the GIL (tmtrace.start_endpoint,
 *    the runner, the atexit handler registered at the first start).
 *  - the server thread: poll() over the listening socket, a wake pipe and
 *    at most EP_MAX_CONN clients.  It never runs Python code.  To copy the
 *    tables it takes the GIL with a thread state of its own for exactly as
 *    long as tmt_core_export takes (no Python object is made, nothing can
 *    run a finalizer), then encodes the copy with libtms without the GIL.
 *  - fork: the child has no server thread; the atfork child handler closes
 *    the inherited descriptors and forgets the socket (the parent owns it).
 *
 * Bounds whatever clients do: EP_MAX_CONN connections (more are told BUSY
 * and closed), a request line of TM_LIVE_REQ_MAX bytes within
 * EP_REQ_TIMEOUT_MS, a response drained within EP_SEND_TIMEOUT_MS, and at
 * most one table copy per max(EP_MIN_INTERVAL_MS, EP_DUTY x the last
 * copy's duration): requests in between get the cached encoding.  So
 * viewers take at most 1/EP_DUTY of the program's GIL time. */
#include "tracer.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "tm_live.h"
#include "tmt_alloc.h"
#include "tms.h"

#define EP_MAX_CONN 8
#define EP_REQ_TIMEOUT_MS 2000
#define EP_SEND_TIMEOUT_MS 10000
#define EP_MIN_INTERVAL_MS 100
#define EP_DUTY 20
#define EP_CMDLINE_MAX 4096

#if PY_VERSION_HEX >= 0x030D0000
#define ep_finalizing() Py_IsFinalizing()
#else
#define ep_finalizing() _Py_IsFinalizing()
#endif

/* An encoded response, shared by the cache and the connections sending it. */
typedef struct ep_buf {
    int refs;
    int status;
    void *data;       /* from libtms (free()) or tmt_malloc for messages */
    int data_libc;
    size_t len;
} ep_buf;

enum { CONN_FREE, CONN_READ, CONN_WRITE };

typedef struct ep_conn {
    int fd;
    int state;
    char req[TM_LIVE_REQ_MAX];
    size_t rlen;
    unsigned char hdr[TM_LIVE_HDR];
    ep_buf *out;
    size_t off;          /* bytes of hdr + payload sent */
    int64_t deadline;    /* monotonic ms */
} ep_conn;

/* FORKING: the thread is stopped around os.fork() (everything else kept),
 * so the interpreter does not count it: since 3.12 os.fork() warns when
 * the process has other threads, and the program must not see a warning
 * of ours. */
enum { EP_IDLE, EP_RUNNING, EP_STOPPING, EP_FORKING };

/* One endpoint per process.  Fields below `stop` belong to the server
 * thread while it runs; start/stop touch them only when it is not. */
static struct {
    int state;                 /* GIL */
    int atexit_done;           /* GIL */
    pthread_t thread;
    PyThreadState *ts;         /* the server thread's, made at start */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    int lfd, wake[2];
    int stop;                  /* __atomic: set by stop, read by the thread */
    char *cmdline;             /* tmt_malloc */
    ep_conn conns[EP_MAX_CONN];
    ep_buf *cache[2];          /* [0] stats, [1] traces */
    int64_t cache_at[2];
    int64_t interval_ms;
} ep = { .lfd = -1, .wake = { -1, -1 } };

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
    return mono_ns() / 1000000;
}

static void buf_unref(ep_buf *b)
{
    if (b == NULL || --b->refs > 0)
        return;
    if (b->data_libc)
        free(b->data);
    else
        tmt_free(b->data);
    tmt_free(b);
}

static ep_buf *buf_message(int status, const char *msg)
{
    ep_buf *b = tmt_calloc(1, sizeof *b);
    size_t n = strlen(msg);
    if (b == NULL || (b->data = tmt_strndup(msg, n)) == NULL) {
        tmt_free(b);
        return NULL;
    }
    b->refs = 1;
    b->status = status;
    b->len = n;
    return b;
}

/* ---- taking a snapshot ---------------------------------------------------- */

static void read_cmdline(void)
{
    char buf[EP_CMDLINE_MAX];
    tm_live_cmdline((long)getpid(), buf, sizeof buf);
    tmt_free(ep.cmdline);
    ep.cmdline = buf[0] ? tmt_strndup(buf, strlen(buf)) : NULL;
}

/* Copy the tables under the GIL, then describe and encode without it.
 * Returns a new buffer (OK or an ERROR message), NULL on OOM. */
static ep_buf *take_snapshot(int traces)
{
    tms_snapshot *s = tms_snapshot_new();
    size_t traced = 0, peak = 0;
    int rc = -1;
    if (s == NULL)
        return NULL;
    int64_t waited = mono_ns();
    PyEval_RestoreThread(ep.ts);
    int64_t t0 = mono_ns();
    waited = t0 - waited;
    rc = tmt_core_export(s, traces);
    if (rc < 0)
        PyErr_Clear();   /* only ever a MemoryError or RuntimeError */
    else
        tmt_core_traced_memory(&traced, &peak);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    PyEval_SaveThread();
    /* The program was held for this long (the wait for the GIL is the
     * ordinary switch interval, not a pause of ours). */
    int64_t took_ns = mono_ns() - t0, took = took_ns / 1000000;
    ep.interval_ms = took * EP_DUTY > EP_MIN_INTERVAL_MS ? took * EP_DUTY
                                                         : EP_MIN_INTERVAL_MS;
    if (rc < 0) {
        tms_snapshot_free(s);
        return buf_message(TM_LIVE_ERROR, "cannot copy the traces (out of memory)");
    }
    s->header.pid = (int64_t)getpid();
    s->header.timestamp_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    tmt_snapshot_stamp(&s->header);
    int64_t rss = tm_live_rss((long)getpid());
    void *data = NULL;
    size_t len = 0;
    tms_error err = { 0 };
    rc = tms_snapshot_add_metric(s, "tracemalloc.traced.size", TMS_FORMAT_SIZE,
                                 TMS_VALUE_INT, (int64_t)traced, 0);
    if (rc == 0)
        rc = tms_snapshot_add_metric(s, "tracemalloc.traced.max_size",
                                     TMS_FORMAT_SIZE, TMS_VALUE_INT,
                                     (int64_t)peak, 0);
    if (rc == 0 && rss >= 0)
        rc = tms_snapshot_add_metric(s, "process_memory.rss", TMS_FORMAT_SIZE,
                                     TMS_VALUE_INT, rss, 0);
    if (rc == 0)
        rc = tms_snapshot_add_metric(s, "tmtrace.live.copy_ns", TMS_FORMAT_INT,
                                     TMS_VALUE_INT, took_ns, 0);
    if (rc == 0)
        rc = tms_snapshot_add_metric(s, "tmtrace.live.gil_wait_ns", TMS_FORMAT_INT,
                                     TMS_VALUE_INT, waited, 0);
    if (rc == 0 && ep.cmdline != NULL)
        rc = tms_snapshot_set_meta(s, "process.cmdline", ep.cmdline);
    if (rc == 0)
        rc = tms_snapshot_save_buffer(s, &data, &len, &err);
    tms_snapshot_free(s);
    if (rc < 0)
        return buf_message(TM_LIVE_ERROR, "cannot encode the snapshot");
    ep_buf *b = tmt_calloc(1, sizeof *b);
    if (b == NULL) {
        free(data);
        return NULL;
    }
    *b = (ep_buf){ .refs = 1, .status = TM_LIVE_OK, .data = data,
                   .data_libc = 1, .len = len };
    return b;
}

/* The cached answer for this kind if it is recent enough, else a new one. */
static ep_buf *snapshot_for(int traces)
{
    int64_t now = mono_ms();
    /* A thread taking the GIL while the interpreter finalizes would hang
     * (the atexit handler normally stops us before that). */
    if (ep_finalizing())
        return buf_message(TM_LIVE_ERROR, "the process is exiting");
    if (ep.cache[traces] == NULL || now - ep.cache_at[traces] >= ep.interval_ms) {
        ep_buf *b = take_snapshot(traces);
        if (b == NULL)
            return NULL;
        buf_unref(ep.cache[traces]);
        ep.cache[traces] = b;
        ep.cache_at[traces] = mono_ms();
    }
    ep.cache[traces]->refs++;
    return ep.cache[traces];
}

/* ---- connections ---------------------------------------------------------- */

static void conn_close(ep_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    buf_unref(c->out);
    *c = (ep_conn){ .fd = -1, .state = CONN_FREE };
}

static void conn_respond(ep_conn *c, ep_buf *b)
{
    if (b == NULL) {
        conn_close(c);
        return;
    }
    c->out = b;
    c->off = 0;
    tm_live_hdr_encode(c->hdr, b->status, b->len);
    c->state = CONN_WRITE;
    c->deadline = mono_ms() + EP_SEND_TIMEOUT_MS;
}

/* Closing a socket with unread input resets the connection, which can
 * destroy our answer before the client reads it.  Shutting the read side
 * makes the client's further sends fail (EPIPE); then what it had already
 * sent is dropped, a bounded amount, never waiting. */
static void discard_input(int fd)
{
    char sink[4096];
    shutdown(fd, SHUT_RD);
    for (int k = 0; k < 64 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; k++)
        ;
}

/* A short answer to a client we will not serve; best effort, never waits. */
static void refuse(int fd, int status, const char *msg)
{
    discard_input(fd);
    unsigned char hdr[TM_LIVE_HDR];
    size_t n = strlen(msg);
    tm_live_hdr_encode(hdr, status, n);
    if (send(fd, hdr, sizeof hdr, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)sizeof hdr)
        (void)!send(fd, msg, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    close(fd);
}

static void handle_request(ep_conn *c)
{
    size_t n = c->rlen;
    while (n > 0 && (c->req[n - 1] == '\n' || c->req[n - 1] == '\r'))
        n--;
    int traces = -1;
    if (n == strlen(TM_LIVE_REQ_STATS) && memcmp(c->req, TM_LIVE_REQ_STATS, n) == 0)
        traces = 0;
    else if (n == strlen(TM_LIVE_REQ_TRACES) &&
             memcmp(c->req, TM_LIVE_REQ_TRACES, n) == 0)
        traces = 1;
    /* A client that asked and left at once (a closed socket reads as
     * end-of-file) is not worth a copy of the tables. */
    char b;
    if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
        conn_close(c);
        return;
    }
    if (traces < 0)
        conn_respond(c, buf_message(TM_LIVE_BAD_REQUEST,
                                    "unknown request (expected 'stats' or 'traces')"));
    else
        conn_respond(c, snapshot_for(traces));
}

static void conn_read(ep_conn *c)
{
    ssize_t n = recv(c->fd, c->req + c->rlen, sizeof c->req - c->rlen, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_close(c);
        return;
    }
    if (n < 0)
        return;
    size_t old = c->rlen;
    c->rlen += (size_t)n;
    if (memchr(c->req + old, '\n', (size_t)n) != NULL)
        handle_request(c);
    else if (c->rlen == sizeof c->req)
        conn_respond(c, buf_message(TM_LIVE_BAD_REQUEST, "request too long"));
}

static void conn_write(ep_conn *c)
{
    while (c->off < TM_LIVE_HDR + c->out->len) {
        const void *p;
        size_t left;
        if (c->off < TM_LIVE_HDR) {
            p = c->hdr + c->off;
            left = TM_LIVE_HDR - c->off;
        } else {
            p = (const char *)c->out->data + (c->off - TM_LIVE_HDR);
            left = c->out->len - (c->off - TM_LIVE_HDR);
        }
        ssize_t n = send(c->fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                conn_close(c);
            return;
        }
        c->off += (size_t)n;
    }
    discard_input(c->fd);
    conn_close(c);
}

static void accept_all(void)
{
    for (;;) {
        int fd = accept4(ep.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct ucred cr;
        socklen_t len = sizeof cr;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
            cr.uid != geteuid()) {
            refuse(fd, TM_LIVE_DENIED, "permission denied: not the same user");
            continue;
        }
        ep_conn *c = NULL;
        for (int i = 0; i < EP_MAX_CONN && c == NULL; i++)
            if (ep.conns[i].state == CONN_FREE)
                c = &ep.conns[i];
        if (c == NULL) {
            refuse(fd, TM_LIVE_BUSY, "too many viewers, try again later");
            continue;
        }
        *c = (ep_conn){ .fd = fd, .state = CONN_READ,
                        .deadline = mono_ms() + EP_REQ_TIMEOUT_MS };
    }
}

static void *serve(void *arg)
{
    (void)arg;
    /* Blocks this thread makes without the GIL (none expected) are ours,
     * not the program's. */
    tmt_quiet(1);
    while (!__atomic_load_n(&ep.stop, __ATOMIC_ACQUIRE)) {
        struct pollfd pf[2 + EP_MAX_CONN];
        int idx[EP_MAX_CONN];
        nfds_t n = 0;
        int64_t now = mono_ms(), next = -1;
        pf[n++] = (struct pollfd){ .fd = ep.wake[0], .events = POLLIN };
        pf[n++] = (struct pollfd){ .fd = ep.lfd, .events = POLLIN };
        for (int i = 0; i < EP_MAX_CONN; i++) {
            ep_conn *c = &ep.conns[i];
            if (c->state == CONN_FREE)
                continue;
            if (c->deadline <= now) {
                conn_close(c);
                continue;
            }
            if (next < 0 || c->deadline < next)
                next = c->deadline;
            idx[n - 2] = i;
            pf[n++] = (struct pollfd){
                .fd = c->fd, .events = c->state == CONN_READ ? POLLIN : POLLOUT };
        }
        int r = poll(pf, n, next < 0 ? -1 : (int)(next - now + 1));
        if (r < 0 && errno != EINTR)
            break;
        if (r <= 0 || __atomic_load_n(&ep.stop, __ATOMIC_ACQUIRE))
            continue;
        for (nfds_t k = 2; k < n; k++) {
            ep_conn *c = &ep.conns[idx[k - 2]];
            if (pf[k].revents == 0)
                continue;
            if (c->state == CONN_READ)
                conn_read(c);
            else if (c->state == CONN_WRITE)
                conn_write(c);
        }
        if (pf[1].revents & POLLIN)
            accept_all();
    }
    /* The thread state dies on the thread that used it.  Attaching it
     * here bound it to this thread's PyGILState slot (3.12+); deleted
     * from the program's thread, CPython would clear *that* thread's
     * slot instead, and the program's next PyGILState_Ensure (tracemalloc
     * among others) aborts with "non-NULL old thread state".  Not while
     * the interpreter finalizes: taking the GIL then would never return. */
    if (ep.ts != NULL && !ep_finalizing()) {
        PyEval_RestoreThread(ep.ts);
        PyThreadState_Clear(ep.ts);
        ep.ts = NULL;
        PyThreadState_DeleteCurrent();
    }
    return NULL;
}

/* ---- start, stop, fork ---------------------------------------------------- */

/* Remove sockets of processes that no longer exist (killed, os._exit). */
static void clean_stale(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        long pid = tm_live_name_pid(e->d_name);
        if (pid > 0 && !tm_live_pid_exists(pid))
            unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

static void close_fds(void)
{
    for (int i = 0; i < EP_MAX_CONN; i++)
        if (ep.conns[i].fd >= 0) {
            close(ep.conns[i].fd);
            ep.conns[i].fd = -1;
        }
    if (ep.lfd >= 0)
        close(ep.lfd);
    if (ep.wake[0] >= 0)
        close(ep.wake[0]);
    if (ep.wake[1] >= 0)
        close(ep.wake[1]);
    ep.lfd = ep.wake[0] = ep.wake[1] = -1;
}

/* Listen on <dir>/<pid>.sock: bound under a temporary name, made 0600,
 * then renamed, so a client never meets a socket nobody listens on yet
 * (it would take it for a stale one). 0, or -1 with errno. */
static int listen_at(const char *dir)
{
    char tmp[sizeof ep.path];
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    long pid = (long)getpid();
    int n = snprintf(tmp, sizeof tmp, "%s/.%ld.tmp", dir, pid);
    if (n < 0 || (size_t)n >= sizeof tmp ||
        tm_live_sock_path(dir, pid, ep.path, sizeof ep.path) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, tmp, (size_t)n + 1);
    ep.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ep.lfd < 0)
        return -1;
    unlink(tmp);
    if (bind(ep.lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        chmod(tmp, 0600) < 0 || listen(ep.lfd, 64) < 0 ||
        rename(tmp, ep.path) < 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

static void release_all(void)
{
    close_fds();
    for (int i = 0; i < EP_MAX_CONN; i++) {
        buf_unref(ep.conns[i].out);
        ep.conns[i] = (ep_conn){ .fd = -1, .state = CONN_FREE };
    }
    for (int k = 0; k < 2; k++) {
        buf_unref(ep.cache[k]);
        ep.cache[k] = NULL;
    }
}

/* Start the server thread with every signal blocked (signals stay with
 * the program's threads).  0 or an errno value. */
static int spawn(void)
{
    sigset_t all, old;
    /* A new thread state for each thread: the last one deleted its own. */
    if (ep.ts == NULL && (ep.ts = PyThreadState_New(PyInterpreterState_Main())) == NULL)
        return ENOMEM;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&ep.thread, NULL, serve, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {   /* never attached: deleting it here is safe */
        PyThreadState_Clear(ep.ts);
        PyThreadState_Delete(ep.ts);
        ep.ts = NULL;
    }
    /* PyThreadState_New stamped the thread state with the ident of the
     * thread that created it, the program's.  PyThreadState_SetAsyncExc
     * (threading's tests, ctypes users) stops at the first state with the
     * target's ident, which was then ours: the program never saw its
     * exception and looped forever.  The state is the serving thread's
     * (set while we hold the GIL, before the thread can use it; again for
     * the thread started after a fork). */
    if (rc == 0)
        ep.ts->thread_id = (unsigned long)ep.thread;
    return rc;
}

/* Join the server thread; the GIL is released meanwhile (the thread may
 * be waiting for it to copy the tables). */
static void join_server(void)
{
    __atomic_store_n(&ep.stop, 1, __ATOMIC_RELEASE);
    (void)!write(ep.wake[1], "x", 1);
    Py_BEGIN_ALLOW_THREADS
    pthread_join(ep.thread, NULL);
    Py_END_ALLOW_THREADS
    char drain[16];
    while (read(ep.wake[0], drain, sizeof drain) > 0)
        ;
}

/* With no server thread (joined, or never restarted after a fork): remove
 * the socket, free the connections and the thread state, and go idle. */
static void shut_down(void)
{
    unlink(ep.path);
    release_all();
    /* Still set only if the thread ended while the interpreter finalized:
     * the runtime deletes every thread state then, so it is not ours to. */
    ep.ts = NULL;
    ep.state = EP_IDLE;
}

static PyObject *ep_stop(PyObject *mod, PyObject *noargs);

static int register_atexit(PyObject *mod)
{
    if (ep.atexit_done)
        return 0;
    PyObject *atexit = PyImport_ImportModule("atexit");
    PyObject *fn = mod ? PyObject_GetAttrString(mod, "_endpoint_stop") : NULL;
    PyObject *r = atexit && fn ? PyObject_CallMethod(atexit, "register", "O", fn) : NULL;
    Py_XDECREF(atexit);
    Py_XDECREF(fn);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    ep.atexit_done = 1;
    return 0;
}

/* _endpoint_start() -> the socket's path (also when already running). */
static PyObject *ep_start(PyObject *mod, PyObject *noargs)
{
    (void)noargs;
    char dir[sizeof ep.path];
    int e = 0;
    if (ep.state == EP_RUNNING)
        return PyUnicode_DecodeFSDefault(ep.path);
    if (ep.state == EP_STOPPING) {
        PyErr_SetString(PyExc_RuntimeError, "the live endpoint is stopping");
        return NULL;
    }
    /* The tables belong to the main interpreter's GIL (tracer-core.md);
     * our thread state must take that one. */
    if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the live endpoint can only be started from the main interpreter");
        return NULL;
    }
    if (register_atexit(mod) < 0)
        return NULL;
    /* The XDG directory when usable, else the one under /tmp. */
    int ok = 0;
    for (int which = 0; which < 2 && !ok; which++) {
        if (tm_live_dir(which, dir, sizeof dir) < 0)
            continue;
        if (tm_live_dir_prepare(dir) < 0) {
            e = errno;
            continue;
        }
        ok = 1;
    }
    if (!ok) {
        errno = e ? e : ENOENT;
        PyErr_Format(PyExc_OSError, "no safe directory for the live endpoint "
                     "(%s: %s)", dir, e == EPERM ? "not owned by us or open to "
                     "others" : strerror(errno));
        return NULL;
    }
    clean_stale(dir);
    read_cmdline();
    if (pipe2(ep.wake, O_CLOEXEC | O_NONBLOCK) < 0 || listen_at(dir) < 0) {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, dir);
        close_fds();
        return NULL;
    }
    for (int i = 0; i < EP_MAX_CONN; i++)
        ep.conns[i] = (ep_conn){ .fd = -1, .state = CONN_FREE };
    ep.interval_ms = EP_MIN_INTERVAL_MS;
    __atomic_store_n(&ep.stop, 0, __ATOMIC_RELEASE);
    int rc = spawn();
    if (rc != 0) {
        unlink(ep.path);
        close_fds();
        errno = rc;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    ep.state = EP_RUNNING;
    return PyUnicode_DecodeFSDefault(ep.path);
}

/* _endpoint_stop(): join the thread, remove the socket.  Idempotent. */
static PyObject *ep_stop(PyObject *mod, PyObject *noargs)
{
    (void)mod;
    (void)noargs;
    if (ep.state != EP_RUNNING)
        Py_RETURN_NONE;
    ep.state = EP_STOPPING;
    join_server();
    shut_down();
    Py_RETURN_NONE;
}

static PyObject *ep_path(PyObject *mod, PyObject *noargs)
{
    (void)mod;
    (void)noargs;
    if (ep.state != EP_RUNNING)
        Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(ep.path);
}

/* os.register_at_fork(before=...): stop the thread, keep the rest.  Only
 * where os.fork() counts threads (3.12+); before, the thread stays. */
static PyObject *ep_before_fork(PyObject *mod, PyObject *noargs)
{
    (void)mod;
    (void)noargs;
#if PY_VERSION_HEX >= 0x030C0000
    if (ep.state == EP_RUNNING) {
        ep.state = EP_STOPPING;
        join_server();
        ep.state = EP_FORKING;
    }
#endif
    Py_RETURN_NONE;
}

/* Serve again (connections that came meanwhile wait in the listen queue
 * or in their slots). */
static int resume(void *arg)
{
    (void)arg;
    if (ep.state != EP_FORKING)
        return 0;
    __atomic_store_n(&ep.stop, 0, __ATOMIC_RELEASE);
    if (spawn() == 0) {
        ep.state = EP_RUNNING;
        return 0;
    }
    /* No thread: stop serving for good, tidily. */
    shut_down();
    return 0;
}

/* after_in_parent: os.fork() counts threads after these hooks (3.13), so
 * the thread comes back from a pending call, which the main thread runs
 * once os.fork() has returned. */
static PyObject *ep_after_fork_parent(PyObject *mod, PyObject *noargs)
{
    (void)mod;
    (void)noargs;
    if (ep.state == EP_FORKING && Py_AddPendingCall(resume, NULL) < 0)
        resume(NULL);
    Py_RETURN_NONE;
}

/* The child of a fork has no server thread: close what it inherited and
 * forget the socket (the parent's).  After os.fork() the thread was
 * stopped first (EP_FORKING), so the state is whole and freed; after a
 * bare fork() from C it may have been changing it, so buffers are left
 * allocated.  The thread state was dropped by CPython's after-fork
 * cleanup. */
static void ep_fork_child(void)
{
    if (ep.state == EP_IDLE)
        return;
    if (ep.state == EP_FORKING) {
        release_all();
    } else {
        close_fds();
        for (int i = 0; i < EP_MAX_CONN; i++)
            ep.conns[i] = (ep_conn){ .fd = -1, .state = CONN_FREE };
        ep.cache[0] = ep.cache[1] = NULL;
    }
    ep.ts = NULL;
    ep.path[0] = '\0';
    ep.state = EP_IDLE;
}

static PyMethodDef ep_methods[] = {
    {"_endpoint_start", ep_start, METH_NOARGS,
     "Serve live snapshots on a Unix socket; returns its path."},
    {"_endpoint_stop", ep_stop, METH_NOARGS,
     "Stop serving and remove the socket (idempotent)."},
    {"_endpoint_path", ep_path, METH_NOARGS,
     "The live endpoint's socket path, or None."},
    {"_endpoint_before_fork", ep_before_fork, METH_NOARGS,
     "os.register_at_fork(before=): stop the server thread."},
    {"_endpoint_after_fork_parent", ep_after_fork_parent, METH_NOARGS,
     "os.register_at_fork(after_in_parent=): serve again."},
    {NULL, NULL, 0, NULL},
};

int tmt_endpoint_init(PyObject *module)
{
    static int atfork_done;
    if (!atfork_done) {
        if (pthread_atfork(NULL, NULL, ep_fork_child) != 0) {
            PyErr_SetString(PyExc_OSError, "_tmtrace: cannot set up fork handling");
            return -1;
        }
        atfork_done = 1;
    }
    if (PyModule_AddFunctions(module, ep_methods) < 0)
        return -1;
    /* Python-level fork hooks: they run in os.fork() around the
     * interpreter's own bookkeeping, where the thread count is taken. */
    return tmt_register_at_fork(module, "_endpoint_before_fork",
                                "_endpoint_after_fork_parent", NULL);
}
