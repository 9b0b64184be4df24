/* test_tms_atomic.c -- writing to a path never leaves a partial file under
 * the final name nor a temporary file behind (SPEC W10). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "tms_testutil.h"

static char dir[] = "/tmp/tms_atomic_XXXXXX";

static int entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") &&
                                     strcmp(e->d_name, ".."));
    closedir(d);
    return n;
}

static int file_is(const char *path, const char *text)
{
    char buf[64] = { 0 };
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(text) && memcmp(buf, text, n) == 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_directory_target(void)
{
    tms_snapshot *s = tms_snapshot_new();
    tms_error err;
    CHECK("saving onto a directory is OPEN",
          tms_snapshot_save(s, dir, &err) == TMS_E_OPEN &&
          strstr(err.msg, "directory") != NULL);
    CHECK("and creates nothing", entries() == 0);
    tms_snapshot_free(s);
}

static void test_abort(void)
{
    char path[256];
    tms_writer *w = NULL;
    tms_header h = { 0 };
    snprintf(path, sizeof path, "%s/keep.tms", dir);
    write_text(path, "old");
    CHECK("open over an existing file",
          tms_writer_open_path(&w, path, &h, NULL) == 0);
    /* the temporary has no name (O_TMPFILE) on Linux file systems that
     * have it, /tmp among them: nothing to see, nothing to leave */
    CHECK("while writing, only the old target is visible", entries() == 1);
    tms_writer_abort(w);
    CHECK("abort keeps the old target", file_is(path, "old"));
    CHECK("abort removes the temporary file", entries() == 1);
    tms_writer_abort(NULL);
    unlink(path);
}

/* A write that fails midway: the child's file size limit makes write(2)
 * fail with EFBIG after 64 KiB. */
static void test_failed_write(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/big.tms", dir);
    write_text(path, "old");
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = { 65536, 65536 };
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &rl);
        tms_snapshot *s = tms_snapshot_new();
        uint32_t tb;
        uint64_t seed = 7;
        tms_snapshot_intern_traceback(s, NULL, 0, &tb);
        for (int i = 0; i < 200000; i++)   /* ~1 MB even compressed */
            tms_snapshot_add_trace(s, (uint64_t)i * 4096 + (tu_rand(&seed) & 0xff0),
                                   tu_rand(&seed), tb);
        tms_error err;
        int rc = tms_snapshot_save(s, path, &err);
        tms_snapshot_free(s);
        _exit(rc == TMS_E_IO ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK("a write failing midway reports IO",
          WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("the target is unchanged", file_is(path, "old"));
    CHECK("no temporary file is left", entries() == 1);
    unlink(path);
}

static void test_fd_write_error(void)
{
    int fd = open("/dev/full", O_WRONLY);
    tms_writer *w = NULL;
    tms_header h = { 0 };
    tms_error err;
    if (fd < 0)
        return;
    int rc = tms_writer_open_fd(&w, fd, "/dev/full", &h, &err);
    if (rc == 0)
        rc = tms_writer_close(w, &err);
    CHECK("writing to /dev/full is IO", rc == TMS_E_IO &&
          strstr(err.msg, "/dev/full") != NULL);
    close(fd);
}

static void test_success(void)
{
    char path[256];
    struct stat st;
    tms_snapshot *s = tu_sample(), *t = NULL;
    snprintf(path, sizeof path, "%s/new.tms", dir);
    write_text(path, "old");
    umask(077);
    CHECK("save replaces the target", tms_snapshot_save(s, path, NULL) == 0);
    CHECK("mode is 0600", stat(path, &st) == 0 &&
          (st.st_mode & 0777) == 0600);
    umask(022);
    CHECK("only the target remains", entries() == 1);
    CHECK("and it loads", tms_snapshot_load(path, 0, &t, NULL) == 0 &&
          tu_same(s, t));
    tms_snapshot_free(t);
    tms_snapshot_free(s);
    unlink(path);
    tms_writer *w = NULL;
    tms_header h = { 0 };
    tms_string str = { "x", 1 };
    tms_frame bad = { 5, 1 };
    tms_error err;
    tms_writer_open_path(&w, path, &h, NULL);
    tms_writer_add_strings(w, &str, 1, NULL);
    CHECK("a frame naming an undefined string is ARG",
          tms_writer_add_frames(w, &bad, 1, &err) == TMS_E_ARG);
    CHECK("the writer stays usable after a caller error",
          tms_writer_close(w, &err) == 0 && access(path, F_OK) == 0);
    unlink(path);
}

/* tms_writer_add_snapshot writes what tms_snapshot_save writes, byte for
 * byte, and tms_writer_temp_name names the temporary file while it is
 * written: none on a file system with O_TMPFILE (nothing to remove if
 * the writer is killed), else a ".tms-" name beside the target that
 * exists until the close renames it. */
static void test_add_snapshot_and_temp_name(void)
{
    char a[256], b[256];
    tms_snapshot *s = tu_sample();
    tms_writer *w = NULL;
    tms_error err;
    snprintf(a, sizeof a, "%s/save.tms", dir);
    snprintf(b, sizeof b, "%s/add.tms", dir);
    CHECK("save", tms_snapshot_save(s, a, NULL) == 0);
    CHECK("open", tms_writer_open_path(&w, b, &s->header, &err) == 0);
    const char *t = tms_writer_temp_name(w);
    CHECK("the temporary is unnamed or a .tms- name that exists",
          t == NULL || (strstr(t, "/.tms-") != NULL && access(t, F_OK) == 0));
    CHECK("add_snapshot", tms_writer_add_snapshot(w, s, &err) == 0);
    CHECK("close", tms_writer_close(w, &err) == 0);
    CHECK("no temporary is left", t == NULL || access(t, F_OK) != 0);
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa != NULL && fb != NULL;
    while (same) {
        int ca = fgetc(fa), cb = fgetc(fb);
        same = ca == cb;
        if (ca == EOF)
            break;
    }
    CHECK("the same bytes as tms_snapshot_save", same);
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    CHECK("a buffer writer has no temporary file",
          tms_writer_open_buffer(&w, &s->header, NULL) == 0 &&
          tms_writer_temp_name(w) == NULL);
    tms_writer_abort(w);
    CHECK("no snapshot is ARG",
          tms_writer_open_buffer(&w, &s->header, NULL) == 0 &&
          tms_writer_add_snapshot(w, NULL, &err) == TMS_E_ARG);
    tms_writer_abort(w);
    CHECK("and NULL has no name", tms_writer_temp_name(NULL) == NULL);
    unlink(a);
    unlink(b);
    tms_snapshot_free(s);
}

/* Valid names of NAME_MAX bytes: the temporary name must not be longer
 * than the file system allows (it used to be the name plus 8). */
static void test_long_names(void)
{
    for (int len = 248; len <= 255; len++) {
        char name[256], path[512];
        memset(name, 'n', (size_t)len);
        memcpy(name + len - 4, ".tms", 4);
        name[len] = '\0';
        snprintf(path, sizeof path, "%s/%s", dir, name);
        tms_snapshot *s = tu_sample(), *t = NULL;
        tms_error err = { 0 };
        int ok = tms_snapshot_save(s, path, &err) == 0 &&
                 tms_snapshot_save(s, path, &err) == 0 &&   /* replace */
                 tms_snapshot_load(path, 0, &t, &err) == 0 && tu_same(s, t);
        CHECK("a name of 248-255 bytes is written, replaced and read", ok);
        if (!ok)
            fprintf(stderr, "  %d bytes: %s\n", len, err.msg);
        CHECK("and nothing else is left", entries() == 1);
        unlink(path);
        tms_snapshot_free(s);
        tms_snapshot_free(t);
    }
}

/* Snapshots hold heap addresses and program paths: owner-only, whatever
 * the umask. */
static void test_mode(void)
{
    static const mode_t masks[] = { 0, 022, 077 };
    for (size_t i = 0; i < 3; i++) {
        char path[256];
        struct stat st;
        snprintf(path, sizeof path, "%s/mode.tms", dir);
        mode_t old = umask(masks[i]);
        tms_snapshot *s = tu_sample();
        int ok = tms_snapshot_save(s, path, NULL) == 0 &&
                 stat(path, &st) == 0 && (st.st_mode & 0777) == 0600;
        ok = ok && tms_snapshot_save(s, path, NULL) == 0 &&
             stat(path, &st) == 0 && (st.st_mode & 0777) == 0600;
        umask(old);
        CHECK("a snapshot is written (and replaced) 0600", ok);
        tms_snapshot_free(s);
        unlink(path);
    }
}

/* A refused rename keeps its errno (EPERM) in err.sys_errno: a sticky
 * directory where the target belongs to someone else.  Needs root to make
 * the other user; skipped (and said) otherwise. */
static void test_errno_kept(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "  (not root: EPERM test skipped)\n");
        return;
    }
    char sticky[256], path[300];
    snprintf(sticky, sizeof sticky, "%s/sticky", dir);
    chmod(dir, 0711);   /* the other user must reach the sticky directory */
    mkdir(sticky, 01777);
    chmod(sticky, 01777);
    snprintf(path, sizeof path, "%s/root.tms", sticky);
    write_text(path, "old");
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(2);
        tms_snapshot *s = tu_sample();
        tms_error err = { 0 };
        errno = 0;
        int rc = tms_snapshot_save(s, path, &err);
        int ok = rc == TMS_E_IO && err.sys_errno == EPERM && errno == EPERM &&
                 strstr(err.msg, "Operation not permitted") != NULL;
        if (!ok)
            fprintf(stderr, "  rc %d errno %d: %s\n", rc, err.sys_errno,
                    err.msg);
        _exit(ok ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK("a rename refused with EPERM reports EPERM",
          WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK("the target is unchanged", file_is(path, "old"));
    DIR *d = opendir(sticky);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    CHECK("and no temporary is left", n == 1);
    unlink(path);
    rmdir(sticky);
    chmod(dir, 0700);
}

/* SIGKILL at random moments of a writer saving ~1 MB snapshots under new
 * names: whatever is left is whole snapshots, never a temporary. */
static void test_kill(void)
{
    tms_snapshot *s = tms_snapshot_new();
    uint32_t tb;
    uint64_t seed = 11;
    tms_snapshot_intern_traceback(s, NULL, 0, &tb);
    for (int i = 0; i < 60000; i++)
        tms_snapshot_add_trace(s, (uint64_t)i * 4096 + (tu_rand(&seed) & 0xff0),
                               tu_rand(&seed), tb);
    int kills = 0, debris = 0, whole = 0;
    for (int round = 0; round < 40; round++) {
        pid_t pid = fork();
        if (pid == 0) {
            for (int k = 0;; k++) {
                char path[256];
                snprintf(path, sizeof path, "%s/k%d-%d.tms", dir, round, k);
                tms_snapshot_save(s, path, NULL);
            }
        }
        usleep((useconds_t)(1000 + tu_rand(&seed) % 40000));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        kills++;
        DIR *d = opendir(dir);
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            tms_snapshot *t = NULL;
            if (e->d_name[0] == 'k' &&
                tms_snapshot_load(path, TMS_LOAD_SKIP_TRACES, &t, NULL) == 0)
                whole++;
            else
                debris++;
            tms_snapshot_free(t);
            unlink(path);
        }
        closedir(d);
    }
    fprintf(stderr, "  %d kills: %d whole snapshots, %d debris\n", kills,
            whole, debris);
    CHECK("SIGKILL during writes leaves no temporary file", debris == 0);
    tms_snapshot_free(s);
}

int main(void)
{
    umask(022);
    if (mkdtemp(dir) == NULL)
        return 2;
    test_directory_target();
    test_abort();
    test_failed_write();
    test_fd_write_error();
    test_success();
    test_add_snapshot_and_temp_name();
    test_long_names();
    test_mode();
    test_errno_kept();
    test_kill();
    rmdir(dir);
    return check_report("tms_atomic");
}
