/* main.c -- tmtool's dispatcher (git.c's shape): a table of commands,
 * linear lookup, and after the command a checked flush/close of stdout. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "exitcodes.h"
#include "opts.h"
#include "output.h"
#include "tms.h"

static const struct cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    { "top", cmd_top, "show the biggest allocation sites of snapshots" },
    { "diff", cmd_diff, "show what grew or shrank between snapshots" },
    { "filter", cmd_filter, "write a filtered copy of a snapshot" },
    { "metrics", cmd_metrics, "show the metrics of a snapshot or a series" },
    { "flame", cmd_flame, "draw live memory by call path (HTML or folded stacks)" },
    { "trend", cmd_trend, "rank sites by how steadily they grew across a series" },
    { "export", cmd_export, "write snapshots as pprof or Parquet for fleet tools" },
    { "watch", cmd_watch, "live view of a running traced process or a directory" },
    { "save", cmd_save, "write a snapshot of a running traced process to a file" },
    { "completion", cmd_completion, "print the bash, zsh or fish completion script" },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct cmd *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tmtool [--version] [--help] <command> [<options>] FILE...\n\n"
               "Analyse .tms memory snapshots written by tmtrace.\n\n"
               "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-9s %s\n\n", "help", "show the help of a command");
    fprintf(f, "Run 'tmtool <command> --help' for a command's options.\n\n");
    tm_opts_exit_codes(f);
}

static void version(void)
{
    printf("tmtool %s (libtms %s, format %d.%d, json schema %d)\n",
           TMTOOL_VERSION, tms_version(), TMS_FORMAT_MAJOR, TMS_FORMAT_MINOR,
           TM_JSON_SCHEMA_VERSION);
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return TM_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        version();
        return TM_EXIT_OK;
    }
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        usage(stdout);
        return TM_EXIT_OK;
    }
    if (strcmp(name, "help") == 0) {
        /* "tmtool help -h" asks for help on help: the command list. */
        if (argc < 3 || strcmp(argv[2], "-h") == 0 ||
            strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "help") == 0) {
            usage(stdout);
            return TM_EXIT_OK;
        }
        const struct cmd *c = find_command(argv[2]);
        if (c == NULL) {
            tm_error("'%s' is not a tmtool command (see 'tmtool --help')", argv[2]);
            return TM_EXIT_USAGE;
        }
        char *help_argv[] = { argv[2], "--help", NULL };
        return c->fn(2, help_argv);
    }
    const struct cmd *c = find_command(name);
    if (c == NULL) {
        if (name[0] == '-')
            tm_error("unknown option '%s' (see 'tmtool --help')", name);
        else
            tm_error("'%s' is not a tmtool command (see 'tmtool --help')", name);
        return TM_EXIT_USAGE;
    }
    return c->fn(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    /* A reader that goes away (`| head`) ends us quietly by SIGPIPE, even
     * if our parent ignored it; a write error is still checked below. */
    signal(SIGPIPE, SIG_DFL);
    int rc = run(argc, argv);
    if (tm_finish_stdout() < 0 && rc == TM_EXIT_OK)
        rc = TM_EXIT_BADFILE;
    return rc;
}
