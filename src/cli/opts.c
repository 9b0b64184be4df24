/* opts.c -- getopt_long driven by tm_opt tables, and --help generated from
 * the same tables. */
#include "opts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "output.h"

struct tm_opts {
    int argc;
    char **argv;
    struct option *longopts;   /* owned, ends with a zero entry */
    const tm_opt **byindex;    /* longopts[i] -> its tm_opt */
    char *shortopts;           /* owned: ":" then "n:h..." */
};

static size_t count_opts(const tm_opt_group *groups)
{
    size_t n = 0;
    for (const tm_opt_group *g = groups; g->title != NULL; g++)
        for (const tm_opt *o = g->opts; o->help != NULL; o++)
            n++;
    return n;
}

tm_opts *tm_opts_new(const tm_opt_group *groups, int argc, char **argv)
{
    size_t n = count_opts(groups);
    tm_opts *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->argc = argc;
    p->argv = argv;
    p->longopts = calloc(n + 1, sizeof *p->longopts);
    p->byindex = calloc(n + 1, sizeof *p->byindex);
    p->shortopts = malloc(3 * n + 2);
    if (p->longopts == NULL || p->byindex == NULL || p->shortopts == NULL) {
        tm_opts_free(p);
        return NULL;
    }
    size_t i = 0, k = 0;
    /* Leading ':' makes a missing value distinguishable from an unknown
     * option, so each gets its own message. */
    p->shortopts[k++] = ':';
    for (const tm_opt_group *g = groups; g->title != NULL; g++) {
        for (const tm_opt *o = g->opts; o->help != NULL; o++, i++) {
            p->longopts[i].name = o->long_name;
            p->longopts[i].has_arg = o->arg ? required_argument : no_argument;
            p->longopts[i].flag = NULL;
            p->longopts[i].val = o->id;
            p->byindex[i] = o;
            if (o->short_name) {
                p->shortopts[k++] = o->short_name;
                if (o->arg)
                    p->shortopts[k++] = ':';
            }
        }
    }
    p->shortopts[k] = '\0';
    opterr = 0;
    optind = 0; /* GNU: full re-initialisation */
    return p;
}

void tm_opts_free(tm_opts *p)
{
    if (p == NULL)
        return;
    free(p->longopts);
    free(p->byindex);
    free(p->shortopts);
    free(p);
}

int tm_opts_next(tm_opts *p, const char **arg)
{
    int longindex = -1;
    int c = getopt_long(p->argc, p->argv, p->shortopts, p->longopts,
                        &longindex);
    *arg = optarg;
    if (c == -1)
        return -1;
    if (c == '?') {
        if (optopt && optopt < TM_OPT_LONG)
            tm_error("unknown option '-%c'", optopt);
        else
            tm_error("unknown option '%s'", p->argv[optind - 1]);
        return '?';
    }
    if (c == ':') {
        if (optopt && optopt < TM_OPT_LONG &&
            strncmp(p->argv[optind - 1], "--", 2) != 0)
            tm_error("option '-%c' needs a value", optopt);
        else
            tm_error("option '%s' needs a value", p->argv[optind - 1]);
        return '?';
    }
    return c;
}

int tm_opts_index(const tm_opts *p)
{
    (void)p;
    return optind;
}

void tm_opts_exit_codes(FILE *f)
{
    fprintf(f, "Exit status:\n"
               "  %d  success\n"
               "  %d  a --fail-if-growth/--fail-if-site-growth threshold was breached\n"
               "  %d  usage error (unknown option, bad value, unknown address)\n"
               "  %d  missing, unreadable, corrupt or unwritable file\n"
               "  %d  file written by a newer major format version\n",
            TM_EXIT_OK, TM_EXIT_BREACHED, TM_EXIT_USAGE, TM_EXIT_BADFILE,
            TM_EXIT_VERSION);
}

void tm_opts_usage(FILE *f, const char *usage, const char *description,
                   const tm_opt_group *groups)
{
    fprintf(f, "usage: %s\n", usage);
    if (description)
        fprintf(f, "\n%s\n", description);
    for (const tm_opt_group *g = groups; g->title != NULL; g++) {
        fprintf(f, "\n%s:\n", g->title);
        for (const tm_opt *o = g->opts; o->help != NULL; o++) {
            char left[80];
            int n = snprintf(left, sizeof left, "  %c%c%s--%s%s%s",
                             o->short_name ? '-' : ' ',
                             o->short_name ? o->short_name : ' ',
                             o->short_name ? ", " : "  ", o->long_name,
                             o->arg ? " " : "", o->arg ? o->arg : "");
            if (n >= 30)
                fprintf(f, "%s\n%30s%s\n", left, "", o->help);
            else
                fprintf(f, "%-30s%s\n", left, o->help);
        }
    }
    fputc('\n', f);
    tm_opts_exit_codes(f);
}
