/* fuzz_cli_read.c -- libFuzzer target over tmtool's whole read path: the
 * input is a .tms file that tmtool's own commands load, group, compare and
 * render (text, JSON, CSV), exactly as from the command line.  Any input
 * must end in an exit status tmtool documents (0-4), without crashing,
 * leaking, over-allocating or hanging.
 *
 * Built by meson with -Dfuzz=true and clang (tests/fuzz/run.sh does it and
 * runs a short pass; `make check` calls that).  The build defines
 * FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, so libtms ignores CRC
 * mismatches and mutations reach the parsers and renderers. */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "commands.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*cmd_fn)(int, char **);

/* The file is always the last argument ("@" is replaced by its path).
 * A small read budget: a 64 KB input may not cost gigabytes here either. */
static const struct run {
    cmd_fn fn;
    const char *args[12];
} runs[] = {
    { cmd_top, { "top", "-q", "--read-budget", "64MiB", "@" } },
    { cmd_top, { "top", "-q", "--read-budget", "64MiB", "--group-by",
                 "traceback", "--cumulative", "--format", "json", "@" } },
    { cmd_top, { "top", "-q", "--read-budget", "64MiB", "--group-by",
                 "address", "-n", "5", "--format", "csv", "@" } },
    { cmd_top, { "top", "-q", "--read-budget", "64MiB", "--group-by",
                 "filename", "-I", "*a*", "-x", "*.py:3", "@" } },
    { cmd_diff, { "diff", "-q", "--read-budget", "64MiB", "--group-by",
                  "traceback", "--fail-if-growth", "1", "@", "@" } },
    { cmd_metrics, { "metrics", "-q", "--read-budget", "64MiB", "--format",
                     "csv", "@", "@" } },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    /* Reports and tmtool's messages go nowhere (writing them is still
     * exercised).  stderr the FILE is replaced, not descriptor 2: libFuzzer
     * took its own pointer at start and ASan writes to the descriptor, so
     * their reports still show. */
    FILE *null = fopen("/dev/null", "w");
    if (null == NULL || freopen("/dev/null", "w", stdout) == NULL)
        abort();
    stderr = null;
    setenv("TZ", "UTC", 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.tms", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 ||
        (size && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        char *argv[13];
        int argc = 0;
        for (; runs[r].args[argc] != NULL; argc++)
            argv[argc] = (char *)(strcmp(runs[r].args[argc], "@") == 0
                                      ? path : runs[r].args[argc]);
        argv[argc] = NULL;
        optind = 0;   /* getopt starts over for each command */
        int rc = runs[r].fn(argc, argv);
        fflush(stdout);
        if (rc < 0 || rc > 4)
            abort();
    }
    return 0;
}
