/* outfile.c -- atomic whole-file writes for exports (see outfile.h). */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcodes.h"
#include "output.h"

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len > (1u << 30) ? (1u << 30) : len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int to_stdout(const void *buf, size_t len)
{
    fflush(stdout);
    if (write_all(STDOUT_FILENO, buf, len) < 0) {
        if (errno != EPIPE)
            tm_error("cannot write to standard output: %s", strerror(errno));
        return TM_EXIT_BADFILE;
    }
    return TM_EXIT_OK;
}

/* The directory part of path ("." when there is none), in buf. */
static void dir_of(char *buf, size_t cap, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(buf, cap, ".");
    else if (slash == path)
        snprintf(buf, cap, "/");
    else
        snprintf(buf, cap, "%.*s", (int)(slash - path), path);
}

int tm_outfile_write(const char *path, const void *buf, size_t len)
{
    if (strcmp(path, "-") == 0)
        return to_stdout(buf, len);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (tmp == NULL) {
        tm_error("out of memory");
        return TM_EXIT_BADFILE;
    }
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);  /* 0600 */
    if (fd < 0) {
        tm_error("cannot create '%s': %s", path, strerror(errno));
        free(tmp);
        return TM_EXIT_BADFILE;
    }
    mode_t mask = umask(0);
    umask(mask);
    int ok = write_all(fd, buf, len) == 0 && fsync(fd) == 0 &&
             fchmod(fd, 0644 & ~mask) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(tmp, path) != 0) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        tm_error("cannot write '%s': %s", path, strerror(saved));
        free(tmp);
        return TM_EXIT_BADFILE;
    }
    free(tmp);
    /* the rename is durable once the directory is */
    char dir[PATH_MAX];
    dir_of(dir, sizeof dir, path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return TM_EXIT_OK;
}

int tm_outfile_is_input(const char *path, char *const *inputs, size_t n)
{
    struct stat out, in;
    if (strcmp(path, "-") == 0 || stat(path, &out) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (stat(inputs[i], &in) == 0 && in.st_dev == out.st_dev &&
            in.st_ino == out.st_ino)
            return 1;
    return 0;
}
