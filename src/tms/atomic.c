/* atomic.c -- files appear whole under their final name or not at all
 * (SPEC W10), and a writer killed at any moment leaves nothing behind.
 *
 * Linux: the data goes into an unnamed file (open(dir, O_TMPFILE)), which
 * the kernel frees if the process dies, and gets its name only when
 * complete (linkat from /proc/self/fd).  A name that already exists cannot
 * be linked over, so then the file is linked under a short temporary name
 * and renamed over it: a kill can leave debris only in that window of two
 * system calls.  Where O_TMPFILE is missing (old kernels, some file
 * systems, no /proc), a named temporary ".tms-XXXXXX" beside the target
 * is written and renamed, as zstd's fileio does.  Temporary names are
 * short and fixed in length, so a target name of up to NAME_MAX bytes
 * works either way. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tms_private.h"

/* The process umask without the umask(2) set-and-restore race: Linux
 * reports it in /proc/self/status since 4.7; fall back to the race only
 * when that is unavailable. */
static mode_t current_umask(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (f != NULL) {
        char line[256];
        unsigned m;
        while (fgets(line, sizeof line, f) != NULL) {
            if (sscanf(line, "Umask: %o", &m) == 1) {
                fclose(f);
                return (mode_t)m;
            }
        }
        fclose(f);
    }
    mode_t m = umask(022);
    umask(m);
    return m;
}

mode_t tms_atomic_shared_mode(void)
{
    return 0644 & ~current_umask();
}

/* Record a failed system call: message, code and its errno (kept in err
 * and in errno, whatever cleanup ran since). */
static int sys_fail(tms_error *err, int code, int e, const char *path,
                    const char *what)
{
    tms_fail(err, code, "cannot write '%s': %s: %s", path, what, strerror(e));
    if (err != NULL)
        err->sys_errno = e;
    errno = e;
    return code;
}

/* "dir/" of path (with its slash), or "" for a bare name. */
static size_t dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) + 1 : 0;
}

/* "<dir>/.tms-XXXXXX" with a fresh random-ish suffix. */
static char *temp_name(const char *path)
{
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static unsigned counter;
    size_t d = dir_len(path);
    char *t = malloc(d + 12);
    if (t == NULL)
        return NULL;
    memcpy(t, path, d);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid() ^
                 ((uint64_t)++counter << 40);
    memcpy(t + d, ".tms-", 5);
    for (int i = 0; i < 6; i++) {
        t[d + 5 + i] = digits[x % 36];
        x = x / 36 + 0x9e3779b9u * (uint64_t)(i + 1);
    }
    t[d + 11] = '\0';
    return t;
}

static int open_unnamed(const char *path)
{
#ifdef O_TMPFILE
    /* linkat from /proc/self/fd is how an unnamed file gets its name
     * without privileges; without /proc use a named temporary. */
    if (access("/proc/self/fd", X_OK) != 0)
        return -1;
    size_t d = dir_len(path);
    char *dir = d ? strndup(path, d) : strdup(".");
    if (dir == NULL)
        return -1;
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    free(dir);
    return fd;
#else
    (void)path;
    return -1;
#endif
}

int tms_atomic_create(const char *path, char **tmp, int *fd, tms_error *err)
{
    *tmp = NULL;
    *fd = open_unnamed(path);
    if (*fd >= 0)
        return TMS_OK;
    for (int tries = 0;; tries++) {
        char *t = temp_name(path);
        if (t == NULL)
            return tms_fail(err, TMS_E_NOMEM, "cannot write '%s': out of "
                            "memory", path);
        int f = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (f >= 0) {
            *tmp = t;
            *fd = f;
            return TMS_OK;
        }
        int e = errno;
        free(t);
        if (e != EEXIST || tries == 100)
            return sys_fail(err, TMS_E_OPEN, e, path,
                            "cannot create a temporary file");
    }
}

void tms_atomic_discard(const char *tmp, int fd)
{
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (tmp != NULL)
        unlink(tmp);
    errno = e;
}

static int fsync_dir(const char *path)
{
    size_t d = dir_len(path);
    char *dir = d == 0 ? strdup(".") : d == 1 ? strdup("/")
                                     : strndup(path, d - 1);
    if (dir == NULL)
        return ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0)
        return errno;
    int e = fsync(fd) < 0 && errno != EINVAL ? errno : 0;
    close(fd);
    return e;
}

/* Give the unnamed file fd the name path: link it there, or, when path
 * exists, link it under a temporary name and rename that over path. */
static int name_unnamed(int fd, const char *path, int *e, const char **what)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
        return 0;
    if (errno != EEXIST) {
        *e = errno;
        *what = "link";
        return -1;
    }
    for (int tries = 0;; tries++) {
        char *t = temp_name(path);
        if (t == NULL) {
            *e = ENOMEM;
            *what = "link";
            return -1;
        }
        if (linkat(AT_FDCWD, proc, AT_FDCWD, t, AT_SYMLINK_FOLLOW) == 0) {
            int rc = rename(t, path);
            if (rc < 0) {
                *e = errno;
                *what = "rename";
                unlink(t);
            }
            free(t);
            return rc;
        }
        *e = errno;
        free(t);
        if (*e != EEXIST || tries == 100) {
            *what = "link";
            return -1;
        }
    }
}

int tms_atomic_commit(const char *path, const char *tmp, int fd, mode_t mode,
                      tms_error *err)
{
    const char *what = NULL;
    int e = 0;
    if (fchmod(fd, mode) < 0)
        what = "chmod";
    else if (fsync(fd) < 0)
        what = "fsync";
    if (what != NULL)
        e = errno;
    if (what == NULL && tmp == NULL)
        name_unnamed(fd, path, &e, &what);
    if (close(fd) < 0 && what == NULL) {
        what = "close";
        e = errno;
    }
    if (what == NULL && tmp != NULL && rename(tmp, path) < 0) {
        what = "rename";
        e = errno;
    }
    if (what != NULL) {
        if (tmp != NULL)
            unlink(tmp);
        char w[32];
        snprintf(w, sizeof w, "%s failed", what);
        return sys_fail(err, TMS_E_IO, e, path, w);
    }
    e = fsync_dir(path);
    if (e != 0)
        return sys_fail(err, TMS_E_IO, e, path, "fsync of its directory "
                        "failed");
    return TMS_OK;
}
