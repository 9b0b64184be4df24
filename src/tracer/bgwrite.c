/* bgwrite.c -- Snapshot.write_live(background=True): the program pauses
 * for a fork() only, and a child writes the file from its copy-on-write
 * image of the tables (redis's BGSAVE design).
 *
 * The instant is the call's.  With the GIL held, the parent applies the
 * pending map and takes the peak picture (tmt_core_write_prepare, as an
 * export does) and forks.  Threads without the GIL may allocate until the
 * fork: hooks.c's atfork prepare handler holds tmt_lock across it, so the
 * child's pending map is whole, and the child applies it to its own copy
 * (export.c) -- for them the instant is the fork's.  glibc's fork() keeps
 * the C library's own locks (malloc, stdio) consistent in the child,
 * which a raw clone() would not: that is why this is fork(), and why the
 * pthread_atfork child handlers run in the child too.  They are harmless
 * here: hooks.c's turns tracing off (no hook of ours records anything in
 * the child, whatever calls malloc through a patched GOT) and gives the
 * child a series id of its own (the header was filled in the parent),
 * endpoint.c's closes the server's descriptors, got.c's re-initialises
 * its mutex.  Python's own fork hooks (os.register_at_fork) do not run:
 * this is not os.fork(), and the child runs no Python.
 *
 * The child never touches the interpreter: no PyMem_*, no object made, no
 * exception.  It reads code objects' names from its copy of the parent's
 * memory with names.c's non-allocating encoder, allocates from the C
 * library (tmt_alloc.h), writes the file atomically as the foreground path
 * does (libtms: an unnamed O_TMPFILE file given its name when complete, so
 * a killed child leaves nothing), sends one fixed-size report on a pipe
 * and leaves with _exit().  The report tells the parent the outcome even
 * when the program's own SIGCHLD handler reaped the child.
 *
 * Signals: all are blocked across the fork, so that no handler of the
 * program (Python's writes to the wakeup fd of an event loop) runs in the
 * child; the child then sets every caught asynchronous signal back to
 * its default (a Ctrl-C to the process group kills it, as SIGTERM does)
 * and ignores SIGPIPE (a parent gone must not stop the rename).  Fault
 * signals keep their handlers: what runs then is a crash report
 * (faulthandler's, a sanitizer's) of a process that is dying anyway.
 *
 * Descriptors: the child keeps stderr and its report pipe; stdin and
 * stdout become /dev/null and every other descriptor is closed, so it
 * holds no socket of the program's (the live endpoint's listener, a
 * client's connection) and no pipe end a subprocess waits to see closed.
 *
 * Memory: the child's own is the streamed write's (a few MB, export.c);
 * the pages the parent writes to while the child runs are copied by the
 * kernel.  The fork's pause grows with the parent's mapped memory (page
 * tables), not with the traces. */
#include "snapapi.h"   /* Python.h first: it sets _GNU_SOURCE (pipe2) */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REPORT_MAGIC "TMBG"
#define REPORT_TEMP 1   /* msg: the temporary file's name */
#define REPORT_DONE 2   /* rc, sys_errno, msg: how the write ended */

/* What the child sends, each in one write(): shorter than PIPE_BUF, so a
 * report arrives whole or not at all. */
typedef struct bg_report {
    char magic[4];
    int32_t kind;
    int32_t rc;          /* 0: written, else a TMS_E_* code */
    int32_t sys_errno;   /* of a failed system call, else 0 */
    char msg[sizeof(((tms_error *)0)->msg)];
} bg_report;

_Static_assert(sizeof(bg_report) <= PIPE_BUF, "a report is one write");

/* The child's side of the pipe. */
typedef struct bg_child {
    int fd;
    int stop;   /* tests: stop (SIGSTOP) once the file exists */
} bg_child;

static int is_fault_signal(int sig)
{
    return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
           sig == SIGFPE || sig == SIGTRAP || sig == SIGSYS ||
           sig == SIGABRT;
}

/* Caught asynchronous signals back to their defaults, SIGPIPE ignored,
 * then the mask the thread had before the fork. */
static void child_signals(const sigset_t *before)
{
    struct sigaction dfl, cur;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || is_fault_signal(sig) ||
            sigaction(sig, NULL, &cur) != 0)
            continue;   /* also the C library's own (sigaction refuses) */
        if ((cur.sa_flags & SA_SIGINFO) ||
            (cur.sa_handler != SIG_DFL && cur.sa_handler != SIG_IGN))
            sigaction(sig, &dfl, NULL);
    }
    signal(SIGPIPE, SIG_IGN);
    pthread_sigmask(SIG_SETMASK, before, NULL);
}

/* Close every descriptor from `from` up, but keep. */
static void close_from(int from, int keep)
{
#ifdef SYS_close_range
    if (keep <= from || syscall(SYS_close_range, from, keep - 1, 0) == 0) {
        if (syscall(SYS_close_range, keep < from ? from : keep + 1, ~0U,
                    0) == 0)
            return;
    }
#endif
    /* Kernels before 5.9: one call per possible descriptor. */
    struct rlimit rl;
    int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536
                  ? (int)rl.rlim_cur : 65536;
    for (int fd = from; fd < max; fd++)
        if (fd != keep)
            close(fd);
}

/* stdin/stdout to /dev/null, every descriptor but stderr and the report
 * pipe closed.  Returns the report pipe's descriptor (moved above 2). */
static int child_descriptors(int report)
{
    if (report <= 2) {
        int moved = fcntl(report, F_DUPFD_CLOEXEC, 3);
        if (moved >= 0)
            report = moved;
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; null >= 0 && fd < 2; fd++)
        if (fd != report)   /* it could not be moved: keep it */
            dup2(null, fd);
    close_from(3, report);
    return report;
}

static void send_report(int fd, int kind, int rc, int sys_errno,
                        const char *msg)
{
    bg_report rep;
    memset(&rep, 0, sizeof rep);
    memcpy(rep.magic, REPORT_MAGIC, 4);
    rep.kind = kind;
    rep.rc = rc;
    rep.sys_errno = sys_errno;
    if (msg != NULL) {
        strncpy(rep.msg, msg, sizeof rep.msg - 1);
        if (strlen(msg) >= sizeof rep.msg)
            return;   /* a name cut short would name another file */
    }
    const char *p = (const char *)&rep;
    size_t left = sizeof rep;
    while (left > 0) {
        ssize_t k = write(fd, p, left);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;   /* the parent is gone: nobody to tell */
        p += k;
        left -= (size_t)k;
    }
}

/* The file exists: a named temporary is reported, so that the parent
 * can remove it if this process is killed before the rename. */
static void child_opened(void *ctx, const char *temp_name)
{
    bg_child *c = ctx;
    if (temp_name != NULL)
        send_report(c->fd, REPORT_TEMP, 0, 0, temp_name);
    if (c->stop)
        raise(SIGSTOP);
}

static __attribute__((noreturn)) void child_main(
    tms_snapshot *s, const char *path, int traces, const char *count_metric,
    bg_child *c, const sigset_t *before)
{
    tms_error err = {0, "", 0};
    child_signals(before);
    c->fd = child_descriptors(c->fd);
    int rc = tmt_core_write_frozen(s, path, traces, count_metric,
                                   child_opened, c, &err);
    if (rc != 0 && err.msg[0] == '\0')
        tms_fail(&err, rc, "cannot write '%s': %s", path, tms_strerror(rc));
    send_report(c->fd, REPORT_DONE, rc, rc ? err.sys_errno : 0,
                rc ? err.msg : NULL);
    /* No exit handlers, no flush of the parent's stdio buffers, no
     * interpreter finalisation: they are the parent's. */
    _exit(rc == 0 ? 0 : 1);
}

int tmt_bg_write_start(tms_snapshot *s, const char *path, int traces,
                       const char *count_metric, int stop, long *pid,
                       int *fd)
{
    int p[2];
    sigset_t all, before;
    if (tmt_core_write_prepare(s) < 0)
        return -1;
    if (pipe2(p, O_CLOEXEC) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &before);
    pid_t child = fork();
    if (child == 0) {
        bg_child c = {p[1], stop};
        close(p[0]);
        child_main(s, path, traces, count_metric, &c, &before);
    }
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    close(p[1]);
    if (child < 0) {
        close(p[0]);
        errno = e;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    *pid = (long)child;
    *fd = p[0];
    return 0;
}

int tmt_bg_report_decode(const void *data, size_t len, tms_error *err,
                         char *temp, size_t temp_cap)
{
    int rc = TMT_BG_NO_REPORT;
    const char *p = data;
    bg_report rep;
    if (temp_cap > 0)
        temp[0] = '\0';
    for (; len >= sizeof rep; p += sizeof rep, len -= sizeof rep) {
        memcpy(&rep, p, sizeof rep);
        rep.msg[sizeof rep.msg - 1] = '\0';
        if (memcmp(rep.magic, REPORT_MAGIC, 4) != 0)
            return TMT_BG_NO_REPORT;
        if (rep.kind == REPORT_TEMP && strlen(rep.msg) < temp_cap)
            memcpy(temp, rep.msg, strlen(rep.msg) + 1);
        if (rep.kind != REPORT_DONE)
            continue;
        rc = rep.rc == 0 ? 0 : rep.rc < 0 ? rep.rc : TMS_E_IO;
        if (rc != 0) {
            err->code = rc;
            err->sys_errno = rep.sys_errno;
            memcpy(err->msg, rep.msg, sizeof err->msg);
        }
    }
    return rc;
}
