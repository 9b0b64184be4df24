/* opts.c -- getopt_long driven by tm_opt tables, the one option loop of
 * every command, and --help generated from the same tables. */
#include "opts.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "exitcodes.h"
#include "input.h"

/* getopt_long's val for long options: above any letter, so a missing
 * value of a long option is told apart from one of a short option. */
enum { LONG_BASE = 256 };

static int opt_format(void *ctx, const tm_opt *o, const char *arg)
{
    (void)o;
    return tm_format_parse(arg, &((tm_common *)ctx)->format);
}

static int opt_color(void *ctx, const tm_opt *o, const char *arg)
{
    (void)o;
    return tm_color_parse(arg, &((tm_common *)ctx)->color);
}

static int opt_quiet(void *ctx, const tm_opt *o, const char *arg)
{
    (void)ctx, (void)o, (void)arg;
    tm_set_quiet(1);
    return 0;
}

static int opt_read_budget(void *ctx, const tm_opt *o, const char *arg)
{
    uint64_t v;
    tms_error err = { 0 };
    (void)ctx;
    if (tma_size_parse(arg, &v, &err) < 0 || v == 0) {
        tm_error("bad value '%s' for --%s (expected a size such as 8GiB)",
                 arg, o->long_name);
        return -1;
    }
    tm_set_read_budget(v);
    return 0;
}

static int opt_no_verify(void *ctx, const tm_opt *o, const char *arg)
{
    (void)ctx, (void)o, (void)arg;
    tm_set_verify_skipped(0);
    return 0;
}

const tm_opt tm_common_opts[] = {
    TM_OPT_CALLBACK(0, "format", "FMT", opt_format, 0,
                    "output format: text (default), json or csv"),
    TM_OPT_CALLBACK(0, "color", "WHEN", opt_color, 0,
                    "colour text output: auto (default), always or never"),
    TM_OPT_CALLBACK('q', "quiet", NULL, opt_quiet, 0,
                    "no progress line on stderr"),
    TM_OPT_CALLBACK(0, "read-budget", "SIZE", opt_read_budget, 0,
                    "what reading one file may cost (default 2GiB; "
                    "format/SPEC.md 5.1)"),
    TM_OPT_CALLBACK(0, "no-verify", NULL, opt_no_verify, 0,
                    "skip checksums of trace sections a command does not "
                    "read"),
    TM_OPT_FLAG('h', "help", tm_common, help, "show this help and exit"),
    TM_OPT_END,
};

int tm_opt_set_int(void *ctx, const tm_opt *o, const char *arg)
{
    (void)arg;
    *(int *)((char *)ctx + o->offset) = (int)o->value;
    return 0;
}

int tm_opt_set_string(void *ctx, const tm_opt *o, const char *arg)
{
    *(const char **)((char *)ctx + o->offset) = arg;
    return 0;
}

/* A common option is shadowed by a command option of the same long name
 * (flame's --format takes html|collapsed, not text|json|csv): the
 * command's is parsed and shown, the common one is left out. */
static int shadowed(const tm_opt_group *groups, const tm_opt *common)
{
    for (const tm_opt_group *g = groups; g->title != NULL; g++)
        for (const tm_opt *o = g->opts; o->help != NULL; o++)
            if (strcmp(o->long_name, common->long_name) == 0)
                return 1;
    return 0;
}

/* The common options a command keeps (not shadowed), as a new table. */
static tm_opt *common_opts_for(const tm_opt_group *groups)
{
    size_t n = 0;
    for (const tm_opt *o = tm_common_opts; o->help != NULL; o++)
        n++;
    tm_opt *t = calloc(n + 1, sizeof *t);
    if (t == NULL)
        return NULL;
    size_t k = 0;
    for (const tm_opt *o = tm_common_opts; o->help != NULL; o++)
        if (!shadowed(groups, o))
            t[k++] = *o;
    return t;                 /* t[k] is zero: TM_OPT_END */
}

/* The command's groups followed by the common options, as one list. */
typedef struct parser {
    tm_opt_group *groups;     /* owned, ends with a NULL title */
    const tm_opt **opt;       /* flat: option i */
    void **ctx;               /* its group's ctx */
    size_t n;
    struct option *longopts;  /* owned, ends with a zero entry */
    char *shortopts;          /* owned: ":" then "n:h..." */
    tm_opt *common;           /* owned: the common options not shadowed */
} parser;

static void parser_free(parser *p)
{
    free(p->groups);
    free(p->opt);
    free(p->ctx);
    free(p->longopts);
    free(p->shortopts);
    free(p->common);
}

static int parser_init(parser *p, const tm_opt_group *groups, tm_common *common)
{
    size_t ngroups = 0, n = 0;
    memset(p, 0, sizeof *p);
    for (const tm_opt_group *g = groups; g->title != NULL; g++, ngroups++)
        for (const tm_opt *o = g->opts; o->help != NULL; o++)
            n++;
    for (const tm_opt *o = tm_common_opts; o->help != NULL; o++)
        n++;
    p->common = common_opts_for(groups);
    p->groups = calloc(ngroups + 2, sizeof *p->groups);
    p->opt = calloc(n + 1, sizeof *p->opt);
    p->ctx = calloc(n + 1, sizeof *p->ctx);
    p->longopts = calloc(n + 1, sizeof *p->longopts);
    p->shortopts = malloc(3 * n + 2);
    if (p->groups == NULL || p->opt == NULL || p->ctx == NULL ||
        p->longopts == NULL || p->shortopts == NULL || p->common == NULL) {
        parser_free(p);
        return -1;
    }
    memcpy(p->groups, groups, ngroups * sizeof *groups);
    p->groups[ngroups] = (tm_opt_group){ "Common options", p->common, common };
    size_t k = 0;
    /* Leading ':' makes a missing value distinguishable from an unknown
     * option, so each gets its own message. */
    p->shortopts[k++] = ':';
    for (const tm_opt_group *g = p->groups; g->title != NULL; g++) {
        for (const tm_opt *o = g->opts; o->help != NULL; o++, p->n++) {
            struct option *lo = &p->longopts[p->n];
            lo->name = o->long_name;
            lo->has_arg = o->arg ? required_argument : no_argument;
            lo->val = LONG_BASE + (int)p->n;
            p->opt[p->n] = o;
            p->ctx[p->n] = g->ctx;
            if (o->short_name) {
                p->shortopts[k++] = o->short_name;
                if (o->arg)
                    p->shortopts[k++] = ':';
            }
        }
    }
    p->shortopts[k] = '\0';
    return 0;
}

/* Index of the option getopt returned as c, or -1. */
static long find_opt(const parser *p, int c)
{
    if (c >= LONG_BASE)
        return c - LONG_BASE;
    for (size_t i = 0; i < p->n; i++)
        if (p->opt[i]->short_name == c)
            return (long)i;
    return -1;
}

static void bad_option(int c, char **argv)
{
    const char *word = argv[optind - 1];
    int is_short = optopt && optopt < LONG_BASE && strncmp(word, "--", 2) != 0;
    if (c == '?' && is_short)
        tm_error("unknown option '-%c'", optopt);
    else if (c == '?')
        tm_error("unknown option '%s'", word);
    else if (is_short)
        tm_error("option '-%c' needs a value", optopt);
    else
        tm_error("option '%s' needs a value", word);
}

int tm_parse_command(const tm_command *cmd, const tm_opt_group *groups,
                     int argc, char **argv, tm_args *a)
{
    parser p;
    int rc = TM_EXIT_OK, c;
    memset(a, 0, sizeof *a);
    if (parser_init(&p, groups, &a->common) < 0) {
        tm_error("out of memory");
        return TM_EXIT_BADFILE;
    }
    opterr = 0;
    optind = 0; /* GNU: full re-initialisation */
    while ((c = getopt_long(argc, argv, p.shortopts, p.longopts, NULL)) != -1) {
        long i = c == '?' || c == ':' ? -1 : find_opt(&p, c);
        if (i < 0) {
            bad_option(c, argv);
            rc = TM_EXIT_USAGE;
            goto out;
        }
        if (p.opt[i]->fn(p.ctx[i], p.opt[i], optarg) < 0) {
            rc = TM_EXIT_USAGE;
            goto out;
        }
    }
    if (a->common.help) {
        tm_opts_usage(stdout, cmd, groups);
        goto out;
    }
    a->files = argv + optind;
    a->nfiles = (size_t)(argc - optind);
    if ((int)a->nfiles < cmd->min_files ||
        (cmd->max_files >= 0 && (int)a->nfiles > cmd->max_files)) {
        tm_error("%s needs %s (see 'tmtool %s --help')", cmd->name,
                 cmd->files_needed, cmd->name);
        rc = TM_EXIT_USAGE;
        goto out;
    }
    tm_color_setup(a->common.color);
out:
    parser_free(&p);
    return rc;
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

static void usage_group(FILE *f, const char *title, const tm_opt *opts)
{
    fprintf(f, "\n%s:\n", title);
    for (const tm_opt *o = opts; o->help != NULL; o++) {
        /* "  -n, --count N" or "      --group-by KEY"; the help starts at
         * column 30, or on the next line after a long left part. */
        int n = fprintf(f, "  %c%c%s--%s%s%s", o->short_name ? '-' : ' ',
                        o->short_name ? o->short_name : ' ',
                        o->short_name ? ", " : "  ", o->long_name,
                        o->arg ? " " : "", o->arg ? o->arg : "");
        if (n >= 30)
            fprintf(f, "\n%30s%s\n", "", o->help);
        else
            fprintf(f, "%*s%s\n", 30 - (n < 0 ? 0 : n), "", o->help);
    }
}

void tm_opts_usage(FILE *f, const tm_command *cmd, const tm_opt_group *groups)
{
    fprintf(f, "usage: %s\n", cmd->usage);
    if (cmd->description)
        fprintf(f, "\n%s\n", cmd->description);
    for (const tm_opt_group *g = groups; g->title != NULL; g++)
        usage_group(f, g->title, g->opts);
    tm_opt *common = common_opts_for(groups);
    usage_group(f, "Common options", common != NULL ? common : tm_common_opts);
    free(common);
    fputc('\n', f);
    tm_opts_exit_codes(f);
}
