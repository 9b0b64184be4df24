/* opts.h -- options as data: a command declares a table of tm_opt, the
 * parser (getopt_long underneath) and the --help text are both generated
 * from it, so the two cannot drift apart. */
#ifndef HEADER_opts
#define HEADER_opts

#include <stdio.h>

/* Ids of long-only options start here; short options use their letter. */
enum { TM_OPT_LONG = 256 };

typedef struct tm_opt {
    int id;                /* returned by tm_opts_next: letter or >= TM_OPT_LONG */
    char short_name;       /* 0: long only */
    const char *long_name;
    const char *arg;       /* metavar ("N", "FILE"); NULL: takes no value */
    const char *help;      /* one line; NULL ends the table */
} tm_opt;

/* A command's options: tables shown in this order, each under its title. */
typedef struct tm_opt_group {
    const char *title;     /* "Filter options"; NULL ends the list */
    const tm_opt *opts;
} tm_opt_group;

typedef struct tm_opts tm_opts;

/* Build the parser for argv (argv[0] is the command name).  NULL on OOM. */
tm_opts *tm_opts_new(const tm_opt_group *groups, int argc, char **argv);
void tm_opts_free(tm_opts *p);

/* Next option: its id and *arg (NULL when it takes none); -1 when options
 * end; '?' after an unknown option or a missing value (already reported
 * on stderr in tmtool's style).  Operands are left in argv[tm_opts_index()
 * .. argc) (getopt permutes them to the end). */
int tm_opts_next(tm_opts *p, const char **arg);
int tm_opts_index(const tm_opts *p);

/* Print "usage: ...", the description, every group's options and the
 * exit status table. */
void tm_opts_usage(FILE *f, const char *usage, const char *description,
                   const tm_opt_group *groups);
/* The exit status table, shared by every help text. */
void tm_opts_exit_codes(FILE *f);

#endif
