/* opts.h -- options as data (git's parse-options): a command declares its
 * options as tables of tm_opt, each option saying what it does with its
 * value (set a field, or call a function), and one call,
 * tm_parse_command(), runs the loop every command needs: getopt_long
 * underneath, each option handed to its own setter, --help printed from
 * the same tables, the number of FILE operands checked, colours decided.
 * The tables and the help text therefore cannot drift apart, and no
 * command writes an option loop.
 *
 * Adding an option to a command is one line in its table:
 *
 *     TM_OPT_FLAG(0, "merge", top_ctx, merge, "add up files of one moment"),
 *     TM_OPT_CALLBACK(0, "address", "ADDR", opt_address, 0, "show one block"),
 *
 * A callback gets the group's ctx (see tm_opt_group), the option (its
 * long_name for messages, its value to tell options sharing a callback
 * apart) and the value; it returns 0, or -1 after reporting a bad value
 * with tm_error() (the command then exits with TM_EXIT_USAGE). */
#ifndef HEADER_opts
#define HEADER_opts

#include <stddef.h>
#include <stdio.h>

#include "output.h"

typedef struct tm_opt tm_opt;

/* Take the value of option o (arg is NULL when o takes none) into ctx.
 * 0, or -1 after reporting. */
typedef int (*tm_opt_fn)(void *ctx, const tm_opt *o, const char *arg);

struct tm_opt {
    char short_name;       /* 0: long only */
    const char *long_name;
    const char *arg;       /* metavar ("N", "FILE"); NULL: takes no value */
    const char *help;      /* one line; NULL ends the table */
    tm_opt_fn fn;          /* what the option does */
    size_t offset;         /* the int or string field of ctx, for setters */
    long value;            /* TM_OPT_SET_INT's value; free for callbacks */
};

/* The two setters the macros use. */
int tm_opt_set_int(void *ctx, const tm_opt *o, const char *arg);
int tm_opt_set_string(void *ctx, const tm_opt *o, const char *arg);

/* Set the int field of ctx (a `type`) to v. */
#define TM_OPT_SET_INT(s, l, type, field, v, h) \
    { (s), (l), NULL, (h), tm_opt_set_int, offsetof(type, field), (v) }
/* Set the int field to 1. */
#define TM_OPT_FLAG(s, l, type, field, h) \
    TM_OPT_SET_INT(s, l, type, field, 1, h)
/* Point the `const char *` field at the value (borrowed from argv). */
#define TM_OPT_STRING(s, l, meta, type, field, h) \
    { (s), (l), (meta), (h), tm_opt_set_string, offsetof(type, field), 0 }
/* Call fn(ctx, option, value); meta NULL for an option without a value. */
#define TM_OPT_CALLBACK(s, l, meta, fn, v, h) \
    { (s), (l), (meta), (h), (fn), 0, (v) }
#define TM_OPT_END { 0, NULL, NULL, NULL, NULL, 0, 0 }

/* A command's options: tables shown in this order in --help, each under
 * its title; ctx is what the table's setters and callbacks write to. */
typedef struct tm_opt_group {
    const char *title;     /* "Filter options"; NULL ends the list */
    const tm_opt *opts;
    void *ctx;
} tm_opt_group;

/* The options every command has (shown last, as "Common options"):
 * --format, --color, -q, -h.  A command option with the same long name
 * replaces the common one (flame's --format html|collapsed). */
typedef struct tm_common {
    tm_format format;
    tm_color_mode color;
    int help;
} tm_common;
extern const tm_opt tm_common_opts[];

/* What a command is, for the parser: its help text and how many FILE
 * operands it takes. */
typedef struct tm_command {
    const char *name;          /* "top" */
    const char *usage;         /* "tmtool top [<options>] FILE..." */
    const char *description;
    int min_files;
    int max_files;             /* -1: no limit */
    const char *files_needed;  /* "at least one FILE", for the message */
} tm_command;

/* The outcome of parsing: the common options and the operands. */
typedef struct tm_args {
    tm_common common;
    char **files;              /* into argv (getopt moves operands last) */
    size_t nfiles;
} tm_args;

/* Parse argv (argv[0] is the command name) with groups, then the common
 * options.  Returns TM_EXIT_OK with a filled in, or TM_EXIT_USAGE after
 * reporting a bad option or value or a wrong number of files, or
 * TM_EXIT_BADFILE on OOM.  With -h the help is printed on stdout, the
 * files are not checked and a->common.help is set: the command returns
 * TM_EXIT_OK at once.  Colours are set up from --color before returning. */
int tm_parse_command(const tm_command *cmd, const tm_opt_group *groups,
                     int argc, char **argv, tm_args *a);

/* Print "usage: ...", the description, every group's options, the common
 * options and the exit status table. */
void tm_opts_usage(FILE *f, const tm_command *cmd, const tm_opt_group *groups);
/* The exit status table, shared by every help text. */
void tm_opts_exit_codes(FILE *f);

#endif
