/* atomic.c -- create-then-rename so a crash never leaves a truncated file
 * under the final name (SPEC W10; zstd's fileio does the same dance). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* "<dir>/.<base>.XXXXXX": hidden, beside the target, on the same file
 * system, so rename(2) is atomic. */
int tms_atomic_create(const char *path, char **tmp, int *fd, tms_error *err)
{
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
    size_t n = strlen(path) + 16;
    char *t = malloc(n);
    if (t == NULL)
        return tms_fail(err, TMS_E_NOMEM, "cannot write '%s': out of memory",
                        path);
    snprintf(t, n, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
    int f = mkostemp(t, O_CLOEXEC);   /* mode 0600 */
    if (f < 0) {
        int e = errno;
        free(t);
        return tms_fail(err, TMS_E_OPEN, "cannot write '%s': cannot create "
                        "a temporary file: %s", path, strerror(e));
    }
    *tmp = t;
    *fd = f;
    return TMS_OK;
}

void tms_atomic_discard(const char *tmp, int fd)
{
    if (fd >= 0)
        close(fd);
    if (tmp != NULL)
        unlink(tmp);
}

static int fsync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL ? strdup(".")
                : slash == path ? strdup("/")
                : strndup(path, (size_t)(slash - path));
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

/* Give the file its final mode, make it durable, and rename it into
 * place.  Closes fd; removes tmp on any failure before the rename. */
int tms_atomic_commit(const char *path, const char *tmp, int fd,
                      tms_error *err)
{
    const char *what = NULL;
    if (fchmod(fd, 0644 & ~current_umask()) < 0)
        what = "chmod";
    else if (fsync(fd) < 0)
        what = "fsync";
    int e = errno;
    if (close(fd) < 0 && what == NULL) {
        what = "close";
        e = errno;
    }
    if (what == NULL && rename(tmp, path) < 0) {
        what = "rename";
        e = errno;
    }
    if (what != NULL) {
        unlink(tmp);
        return tms_fail(err, TMS_E_IO, "cannot write '%s': %s failed: %s",
                        path, what, strerror(e));
    }
    e = fsync_dir(path);
    if (e != 0)
        return tms_fail(err, TMS_E_IO, "cannot write '%s': fsync of its "
                        "directory failed: %s", path, strerror(e));
    return TMS_OK;
}
