/* tm_live.c -- see tm_live.h.  No allocation, no printing: used by the
 * tracer's server thread as well as by tmtool. */
#include "tm_live.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int tm_live_dir(int which, char *buf, size_t cap)
{
    int n;
    if (which == 0) {
        const char *x = getenv("XDG_RUNTIME_DIR");
        /* Only an absolute path: a relative one would follow the cwd. */
        if (x == NULL || x[0] != '/')
            return -1;
        n = snprintf(buf, cap, "%s/tmtrace", x);
    } else if (which == 1) {
        n = snprintf(buf, cap, "/tmp/tmtrace-%lu", (unsigned long)geteuid());
    } else {
        return -1;
    }
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

int tm_live_dir_check(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) < 0)
        return -1;
    /* Someone else's directory (or a link planted in /tmp) would let them
     * replace our socket with theirs and read what viewers send. */
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 077) != 0) {
        errno = EPERM;
        return -1;
    }
    return 0;
}

int tm_live_dir_prepare(const char *dir)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -1;
    return tm_live_dir_check(dir);
}

int tm_live_sock_path(const char *dir, long pid, char *buf, size_t cap)
{
    struct sockaddr_un sa;
    if (cap > sizeof sa.sun_path)
        cap = sizeof sa.sun_path;
    int n = snprintf(buf, cap, "%s/%ld.sock", dir, pid);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

long tm_live_name_pid(const char *name)
{
    char *end;
    if (name[0] < '1' || name[0] > '9')
        return -1;
    errno = 0;
    long pid = strtol(name, &end, 10);
    if (errno != 0 || pid <= 0 || strcmp(end, ".sock") != 0)
        return -1;
    return pid;
}

int tm_live_pid_exists(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

void tm_live_hdr_encode(unsigned char out[TM_LIVE_HDR], int status,
                        uint64_t len)
{
    memcpy(out, TM_LIVE_MAGIC, 4);
    out[4] = TM_LIVE_PROTO;
    out[5] = (unsigned char)status;
    out[6] = out[7] = 0;
    for (int i = 0; i < 8; i++)
        out[8 + i] = (unsigned char)(len >> (8 * i));
}

int tm_live_hdr_decode(const unsigned char in[TM_LIVE_HDR], int *status,
                       uint64_t *len)
{
    if (memcmp(in, TM_LIVE_MAGIC, 4) != 0 || in[4] != TM_LIVE_PROTO)
        return -1;
    *status = in[5];
    *len = 0;
    for (int i = 0; i < 8; i++)
        *len |= (uint64_t)in[8 + i] << (8 * i);
    return 0;
}

/* ---- /proc facts, for the server (about itself) and the client ---- */

ssize_t tm_live_read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

void tm_live_cmdline(long pid, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    ssize_t n = tm_live_read_small(path, buf, cap);
    if (n <= 0) {
        buf[0] = '\0';
        return;
    }
    while (n > 0 && buf[n - 1] == '\0')
        n--;
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[n] = '\0';
}

int64_t tm_live_rss(long pid)
{
    char path[64], buf[128];
    long pages, resident;
    snprintf(path, sizeof path, "/proc/%ld/statm", pid);
    if (tm_live_read_small(path, buf, sizeof buf) <= 0 ||
        sscanf(buf, "%ld %ld", &pages, &resident) != 2)
        return -1;
    return (int64_t)resident * sysconf(_SC_PAGESIZE);
}

