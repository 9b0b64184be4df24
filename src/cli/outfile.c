/* outfile.c -- whole-file writes for exports (see outfile.h), atomic
 * through libtms's tms_outfile (one rule for every file tmtool writes). */
#include "outfile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exitcodes.h"
#include "input.h"
#include "output.h"
#include "tms.h"

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

int tm_outfile_write(const char *path, const void *buf, size_t len)
{
    if (strcmp(path, "-") == 0)
        return to_stdout(buf, len);
    tms_error err = { 0 };
    tms_outfile *o = NULL;
    int st = tms_outfile_open(&o, path, &err);
    if (st < 0) {
        tm_report_error("create", path, &err);
        return TM_EXIT_BADFILE;
    }
    if (write_all(tms_outfile_fd(o), buf, len) < 0) {
        tm_error("cannot write '%s': %s", path, strerror(errno));
        tms_outfile_abort(o);
        return TM_EXIT_BADFILE;
    }
    if (tms_outfile_commit(o, &err) < 0) {
        tm_report_error("write", path, &err);
        return TM_EXIT_BADFILE;
    }
    return TM_EXIT_OK;
}

int tm_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int tm_outfile_is_input(const char *path, char *const *inputs, size_t n)
{
    if (strcmp(path, "-") == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (tm_same_file(path, inputs[i]))
            return 1;
    return 0;
}
