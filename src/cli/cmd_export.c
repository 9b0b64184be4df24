/* cmd_export.c -- `tmtool export`: snapshots into the formats fleet-scale
 * engines already read.
 *
 *   --format pprof    a gzipped profile.proto (pprof.c, protobuf-c): for
 *                     go tool pprof, Pyroscope, Parca, Cloud Profiler...
 *   --format parquet  a Parquet table for DuckDB, Spark, Trino, BigQuery:
 *                     written by `python -m tmtrace export` through
 *                     pyarrow, since Debian has no C Parquet writer (see
 *                     format/EXPORT.md); this command checks the options
 *                     and runs it.
 *
 * Either way the numbers come from libtma: each file is grouped by
 * traceback (by line when it holds only statistics), filters applied by
 * the same rules as `tmtool top`. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "exitcodes.h"
#include "filters.h"
#include "input.h"
#include "opts.h"
#include "outfile.h"
#ifdef TM_HAVE_PPROF
#include "pprof.h"
#endif

extern char **environ;

typedef enum { EXPORT_NONE = 0, EXPORT_PPROF, EXPORT_PARQUET } export_format;

typedef struct export_ctx {
    export_format format;
    const char *output;
    const char *rows;
    int merge;
    tm_filters filters;
} export_ctx;

static int opt_format(void *ctx, const tm_opt *o, const char *arg)
{
    (void)o;
    export_format *out = &((export_ctx *)ctx)->format;
    if (strcmp(arg, "pprof") == 0)
        *out = EXPORT_PPROF;
    else if (strcmp(arg, "parquet") == 0)
        *out = EXPORT_PARQUET;
    else {
        tm_error("unknown export format '%s' (expected pprof or parquet)", arg);
        return -1;
    }
    return 0;
}

static const tm_opt export_opts[] = {
    TM_OPT_CALLBACK(0, "format", "FMT", opt_format, 0,
                    "pprof or parquet (default: from the name given to -o)"),
    TM_OPT_STRING('o', "output", "PATH", export_ctx, output,
                  "file to write (required); '-' is stdout (pprof only)"),
    TM_OPT_FLAG(0, "merge", export_ctx, merge,
                "pprof: sum the files by stack; keep labels all files share"),
    TM_OPT_STRING(0, "rows", "KIND", export_ctx, rows,
                  "parquet: a row per 'site' (traceback, default) or 'trace'"),
    TM_OPT_END,
};

static const tm_command export_command = {
    .name = "export",
    .usage = "tmtool export --format pprof|parquet -o PATH [<options>] FILE...",
    .description =
    "Write snapshots as a pprof profile (gzipped profile.proto: sample types\n"
    "inuse_space/bytes and inuse_objects/count, one location per function,\n"
    "file and line, labels pid, host and the snapshot's meta; peak_space and\n"
    "peak_objects when snapshots recorded their peak) or as a Parquet\n"
    "table (one row per site or per trace; schema in format/EXPORT.md).\n"
    "Several files give one profile, one sample set per file; --merge sums\n"
    "them.  Parquet is written through Python and pyarrow: install with\n"
    "pip install 'tmtrace[parquet]'; TMTOOL_PYTHON names the interpreter.",
    .min_files = 1,
    .max_files = -1,
    .files_needed = "at least one FILE",
};

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* ---- pprof ---------------------------------------------------------------- */

#ifdef TM_HAVE_PPROF
/* Load one file, filters applied, traces summed per traceback as they
 * stream (stored only when a filter needs them). */
static int load_one(const tm_filters *f, const char *path, tms_snapshot **s,
                    tma_tb_totals *t)
{
    int rc = !tm_filters_active(f) ? tm_load_totals(path, s, t)
                                   : tm_load(path, 0, s);
    if (rc == TM_EXIT_OK)
        rc = tm_filters_apply(f, *s, path);
    return rc;
}

/* The labels of one snapshot: pid, host (meta "host"), every other meta
 * pair.  Strings are borrowed from s. */
static tm_pprof_label *snapshot_labels(const tms_snapshot *s, size_t *n)
{
    tm_pprof_label *l = calloc((size_t)s->nmeta + 1, sizeof *l);
    if (l == NULL)
        return NULL;
    size_t k = 0;
    l[k++] = (tm_pprof_label){ "pid", NULL, s->header.pid };
    for (uint32_t i = 0; i < s->nmeta; i++)
        if (strcmp(s->meta[i].key, "pid") != 0)
            l[k++] = (tm_pprof_label){ s->meta[i].key, s->meta[i].value, 0 };
    *n = k;
    return l;
}

static int same_label(const tm_pprof_label *a, const tm_pprof_label *b)
{
    return strcmp(a->key, b->key) == 0 &&
           (a->str == NULL ? b->str == NULL && a->num == b->num
                           : b->str != NULL && strcmp(a->str, b->str) == 0);
}

/* --merge: keep the labels of the first file every other file shares. */
static size_t common_labels(tm_pprof_label *l, size_t n, tms_snapshot **snaps,
                            size_t nsnaps)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        int everywhere = 1;
        for (size_t j = 1; everywhere && j < nsnaps; j++) {
            size_t m;
            tm_pprof_label *o = snapshot_labels(snaps[j], &m);
            int found = 0;
            for (size_t x = 0; o != NULL && x < m && !found; x++)
                found = same_label(&l[i], &o[x]);
            free(o);
            everywhere = found;
        }
        if (everywhere)
            l[kept++] = l[i];
    }
    return kept;
}

#define MAX_FILE_COMMENTS 5

static int add_comments(tm_pprof *p, char **paths, tms_snapshot **snaps,
                        size_t n, tms_error *err)
{
    char line[PATH_MAX + 128], when[64];
    snprintf(line, sizeof line, "tmtool export of %zu tmtrace snapshot%s", n,
             n == 1 ? "" : "s");
    int rc = tm_pprof_add_comment(p, line, err);
    /* pprof prints every comment at the top of its reports: name a few
     * files, not a fleet's worth */
    size_t shown = n <= MAX_FILE_COMMENTS ? n : MAX_FILE_COMMENTS - 1;
    for (size_t i = 0; rc == 0 && i < shown; i++) {
        tm_format_time_iso(when, sizeof when, snaps[i]->header.timestamp_ns);
        snprintf(line, sizeof line, "%s: pid %" PRId64 " at %s", paths[i],
                 snaps[i]->header.pid, when);
        rc = tm_pprof_add_comment(p, line, err);
    }
    if (rc == 0 && shown < n) {
        snprintf(line, sizeof line, "... and %zu more files", n - shown);
        rc = tm_pprof_add_comment(p, line, err);
    }
    return rc;
}

/* The recorded state at a snapshot's peak (format 1.1) as a traceback
 * grouping: the entries are already one per traceback, so this only
 * changes their shape.  An empty grouping without a peak. */
static int peak_groups(const tms_snapshot *s, tma_groups *g)
{
    memset(g, 0, sizeof *g);
    g->by = TMA_BY_TRACEBACK;
    if (!s->has_peak || s->npeak == 0)
        return 0;
    if ((g->items = calloc(s->npeak, sizeof *g->items)) == NULL)
        return TMS_E_NOMEM;
    for (uint64_t i = 0; i < s->npeak; i++) {
        const tms_peak_entry *e = &s->peak_entries[i];
        g->items[i].key.snap = s;
        g->items[i].key.traceback = e->traceback;
        g->items[i].size = e->size;
        g->items[i].count = e->count;
        g->total_size += e->size;
        g->total_count += e->count;
    }
    g->n = s->npeak;
    return 0;
}

/* Peak samples of every file that has a peak: per file with its labels,
 * or (--merge) summed by stack with the shared labels. */
static int add_peaks(const export_ctx *c, tms_snapshot **snaps, size_t n,
                     tm_pprof *p, tms_error *err)
{
    tma_groups *peaks = calloc(n, sizeof *peaks), merged = { 0 };
    tm_pprof_label *labels = NULL;
    int st = peaks == NULL ? TMS_E_NOMEM : 0, any = 0;
    for (size_t i = 0; st == 0 && i < n; i++) {
        st = peak_groups(snaps[i], &peaks[i]);
        any |= snaps[i]->has_peak;
    }
    for (size_t i = 0; st == 0 && any && i < (c->merge ? 1 : n); i++) {
        size_t nl;
        if ((labels = snapshot_labels(snaps[i], &nl)) == NULL) {
            st = TMS_E_NOMEM;
            break;
        }
        if (c->merge) {
            nl = common_labels(labels, nl, snaps, n);
            st = tma_groups_merge(peaks, n, &merged, err);
            if (st == 0)
                st = tm_pprof_add_groups(p, &merged, TM_PPROF_PEAK, labels,
                                         nl, err);
        } else if (snaps[i]->has_peak) {
            st = tm_pprof_add_groups(p, &peaks[i], TM_PPROF_PEAK, labels, nl,
                                     err);
        }
        free(labels);
        labels = NULL;
    }
    tma_groups_free(&merged);
    for (size_t i = 0; peaks != NULL && i < n; i++)
        tma_groups_free(&peaks[i]);
    free(peaks);
    if (st == TMS_E_NOMEM && err->code == 0) {
        err->code = st;
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    return st;
}

/* Group every file the same way (by traceback, or by line as soon as one
 * file has only statistics, so that --merge can add them), then add the
 * samples. */
static int build_pprof(const export_ctx *c, char **paths, size_t n,
                       tms_snapshot **snaps, tma_tb_totals *tots,
                       tma_groups *parts, tm_pprof *p)
{
    tms_error err = { 0 };
    tma_groups merged = { 0 };
    tm_pprof_label *labels = NULL;
    int rc = TM_EXIT_OK, st = 0;
    int all_traces = 1;
    int64_t first = INT64_MAX, last = INT64_MIN;
    for (size_t i = 0; rc == TM_EXIT_OK && i < n; i++) {
        rc = load_one(&c->filters, paths[i], &snaps[i], &tots[i]);
        if (rc != TM_EXIT_OK)
            return rc;
        all_traces &= snaps[i]->has_traces;
        if (snaps[i]->header.timestamp_ns < first)
            first = snaps[i]->header.timestamp_ns;
        if (snaps[i]->header.timestamp_ns > last)
            last = snaps[i]->header.timestamp_ns;
    }
    tma_group_by by = all_traces ? TMA_BY_TRACEBACK : TMA_BY_LINE;
    if (!all_traces && !tm_is_quiet())
        for (size_t i = 0; i < n; i++)
            if (!snaps[i]->has_traces) {
                tm_warning("'%s' has no traces: stacks are one line deep", paths[i]);
                break;
            }
    /* With filters, traces were stored rather than summed: group those. */
    for (size_t i = 0; st == 0 && i < n; i++)
        st = tots[i].snap != NULL
                 ? tma_group_totals(snaps[i], &tots[i], by, 0, &parts[i], &err)
                 : tma_group(snaps[i], by, 0, &parts[i], &err);
    if (st < 0) {
        tm_report_error("group", paths[0], &err);
        return tm_exit_for_status(st);
    }
    tm_pprof_set_time(p, first, last);
    if (add_comments(p, paths, snaps, n, &err) < 0)
        goto fail;
    if (c->merge) {
        size_t nl;
        if ((st = tma_groups_merge(parts, n, &merged, &err)) < 0 ||
            (labels = snapshot_labels(snaps[0], &nl)) == NULL)
            goto fail;
        nl = common_labels(labels, nl, snaps, n);
        st = tm_pprof_add_groups(p, &merged, TM_PPROF_INUSE, labels, nl,
                                 &err);
        free(labels);
        labels = NULL;
    } else {
        for (size_t i = 0; st == 0 && i < n; i++) {
            size_t nl;
            if ((labels = snapshot_labels(snaps[i], &nl)) == NULL)
                goto fail;
            st = tm_pprof_add_groups(p, &parts[i], TM_PPROF_INUSE, labels,
                                     nl, &err);
            free(labels);
            labels = NULL;
        }
    }
    if (st == 0)
        st = add_peaks(c, snaps, n, p, &err);
    if (st < 0)
        goto fail;
    tma_groups_free(&merged);
    return TM_EXIT_OK;
fail:
    free(labels);
    tma_groups_free(&merged);
    if (st == 0 && err.code == 0) {
        err.code = TMS_E_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
    }
    tm_report_error("export", c->output, &err);
    return TM_EXIT_BADFILE;
}

static int export_pprof(const export_ctx *c, char **paths, size_t n)
{
    tms_snapshot **snaps = calloc(n, sizeof *snaps);
    tma_tb_totals *tots = calloc(n, sizeof *tots);
    tma_groups *parts = calloc(n, sizeof *parts);
    tm_pprof *p = tm_pprof_new();
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc;
    if (snaps == NULL || tots == NULL || parts == NULL || p == NULL) {
        tm_error("out of memory");
        rc = TM_EXIT_BADFILE;
        goto out;
    }
    rc = build_pprof(c, paths, n, snaps, tots, parts, p);
    if (rc != TM_EXIT_OK)
        goto out;
    tms_error err = { 0 };
    if (tm_pprof_encode(p, &buf, &len, &err) < 0) {
        tm_report_error("export", c->output, &err);
        rc = TM_EXIT_BADFILE;
        goto out;
    }
    rc = tm_outfile_write(c->output, buf, len);
    if (rc == TM_EXIT_OK && !tm_is_quiet() && strcmp(c->output, "-") != 0)
        fprintf(stderr, "tmtool: wrote '%s': %zu samples, %zu locations from "
                "%zu file%s, %zu bytes\n", c->output, tm_pprof_nsamples(p),
                tm_pprof_nlocations(p), n, n == 1 ? "" : "s", len);
out:
    free(buf);
    tm_pprof_free(p);
    for (size_t i = 0; snaps && tots && parts && i < n; i++) {
        tma_groups_free(&parts[i]);
        tma_tb_totals_free(&tots[i]);
        tms_snapshot_free(snaps[i]);
    }
    free(parts);
    free(tots);
    free(snaps);
    return rc;
}
#else
static int export_pprof(const export_ctx *c, char **paths, size_t n)
{
    (void)c, (void)paths, (void)n;
    tm_error("this tmtool was built without pprof export (meson option "
             "-Dpprof=enabled needs protobuf-c and zlib)");
    return TM_EXIT_USAGE;
}
#endif

/* ---- parquet -------------------------------------------------------------- */

/* The interpreter that has tmtrace and pyarrow: $TMTOOL_PYTHON, else the
 * python3 beside this tmtool (a venv's bin/), else python3 from PATH. */
static const char *find_python(char *buf, size_t cap)
{
    const char *env = getenv("TMTOOL_PYTHON");
    if (env != NULL && env[0] != '\0')
        return env;
    ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
    if (n > 0) {
        buf[n] = '\0';
        char *slash = strrchr(buf, '/');
        if (slash != NULL && (size_t)(slash - buf) + sizeof "/python3" <= cap) {
            strcpy(slash, "/python3");
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return "python3";
}

/* Run `python -m tmtrace export ...` with the options already checked
 * here, and return its exit status (the same codes as ours). */
static int export_parquet(const export_ctx *c, char **paths, size_t n)
{
    char pybuf[PATH_MAX];
    const char *python = find_python(pybuf, sizeof pybuf);
    size_t cap = 14 + 2 * c->filters.n + n;
    char **av = calloc(cap, sizeof *av);
    char **owned = calloc(c->filters.n + 1, sizeof *owned);
    int rc = TM_EXIT_BADFILE;
    if (av == NULL || owned == NULL) {
        tm_error("out of memory");
        goto out;
    }
    size_t k = 0;
    av[k++] = (char *)python;
    av[k++] = "-m";
    av[k++] = "tmtrace";
    av[k++] = "export";
    av[k++] = "--format=parquet";
    av[k++] = "--output";
    av[k++] = (char *)c->output;
    av[k++] = "--rows";
    av[k++] = (char *)(c->rows ? c->rows : "site");
    if (tm_is_quiet())
        av[k++] = "--quiet";
    /* the common reading options, as every other subcommand honours them */
    char budget[48];
    snprintf(budget, sizeof budget, "--read-budget=%" PRIu64, tm_read_budget());
    av[k++] = budget;
    if (!tm_verify_skipped())
        av[k++] = "--no-verify";
    for (size_t i = 0; i < c->filters.n; i++) {
        const tma_filter *f = &c->filters.items[i];
        const char *opt = f->traceback ? (f->include ? "--include-traceback"
                                                     : "--exclude-traceback")
                                       : (f->include ? "--include" : "--exclude");
        size_t len = f->pattern_len + 32;
        if ((owned[i] = malloc(len)) == NULL) {
            tm_error("out of memory");
            goto out;
        }
        if (f->lineno >= 1)
            snprintf(owned[i], len, "%.*s:%" PRId32, (int)f->pattern_len,
                     f->pattern, f->lineno);
        else
            snprintf(owned[i], len, "%.*s", (int)f->pattern_len, f->pattern);
        av[k++] = (char *)opt;
        av[k++] = owned[i];
    }
    av[k++] = "--";
    for (size_t i = 0; i < n; i++)
        av[k++] = paths[i];
    av[k] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid;
    int err = posix_spawnp(&pid, python, NULL, NULL, av, environ);
    if (err != 0) {
        tm_error("cannot run '%s' for the parquet export: %s (set TMTOOL_PYTHON "
                 "to a Python with tmtrace and pyarrow)", python, strerror(err));
        goto out;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            tm_error("cannot wait for '%s': %s", python, strerror(errno));
            goto out;
        }
    if (!WIFEXITED(status)) {
        tm_error("'%s' ended by signal %d during the parquet export", python,
                 WTERMSIG(status));
    } else if ((rc = WEXITSTATUS(status)) != TM_EXIT_OK &&
               rc != TM_EXIT_USAGE && rc != TM_EXIT_BADFILE &&
               rc != TM_EXIT_VERSION) {
        /* not one of ours (Python says 1 for a missing module or an
         * uncaught exception, which would read as a threshold breach) */
        tm_error("the parquet export through '%s' failed (exit %d): does "
                 "it have tmtrace? (set TMTOOL_PYTHON)", python, rc);
        rc = TM_EXIT_BADFILE;
    }
out:
    for (size_t i = 0; owned && i < c->filters.n; i++)
        free(owned[i]);
    free(owned);
    free(av);
    return rc;
}

/* ---- the command ---------------------------------------------------------- */

static int check_args(export_ctx *c, char **files, size_t nfiles)
{
    if (c->output == NULL) {
        tm_error("export needs -o PATH (see 'tmtool export --help')");
        return TM_EXIT_USAGE;
    }
    if (c->format == EXPORT_NONE) {
        if (ends_with(c->output, ".parquet"))
            c->format = EXPORT_PARQUET;
        else if (ends_with(c->output, ".pb.gz") || ends_with(c->output, ".pprof"))
            c->format = EXPORT_PPROF;
        else {
            tm_error("cannot tell the format from '%s': give --format pprof "
                     "or --format parquet", c->output);
            return TM_EXIT_USAGE;
        }
    }
    if (c->format == EXPORT_PPROF && c->rows != NULL) {
        tm_error("--rows is for --format parquet");
        return TM_EXIT_USAGE;
    }
    if (c->format == EXPORT_PARQUET && c->merge) {
        tm_error("--merge is for --format pprof (a parquet table keeps every "
                 "file's rows: sum them in the query)");
        return TM_EXIT_USAGE;
    }
    if (c->format == EXPORT_PARQUET && strcmp(c->output, "-") == 0) {
        tm_error("parquet cannot be written to standard output: give a file "
                 "or directory to -o");
        return TM_EXIT_USAGE;
    }
    if (c->rows != NULL && strcmp(c->rows, "site") != 0 &&
        strcmp(c->rows, "trace") != 0) {
        tm_error("unknown --rows '%s' (expected site or trace)", c->rows);
        return TM_EXIT_USAGE;
    }
    if (tm_outfile_is_input(c->output, files, nfiles)) {
        tm_error("refusing to overwrite input file '%s' with the export",
                 c->output);
        return TM_EXIT_USAGE;
    }
    return TM_EXIT_OK;
}

int cmd_export(int argc, char **argv)
{
    export_ctx c = { 0 };
    tm_args a;
    const tm_opt_group groups[] = {
        { "Options", export_opts, &c },
        { "Filter options", tm_filter_opts, &c.filters },
        { NULL, NULL, NULL },
    };
    int rc = tm_parse_command(&export_command, groups, argc, argv, &a);
    if (rc != TM_EXIT_OK || a.common.help)
        goto out;
    rc = check_args(&c, a.files, a.nfiles);
    if (rc != TM_EXIT_OK)
        goto out;
    if (c.format == EXPORT_PPROF) {
        rc = export_pprof(&c, a.files, a.nfiles);
    } else {
        /* (the parquet side filters in Python: tm_filters_finish does not
         * know what matched there, and says nothing) */
        if (c.filters.has_domain) {
            tm_error("--domain is not supported with --format=parquet (its "
                     "rows carry no domain yet)");
            rc = TM_EXIT_USAGE;
        } else {
            rc = export_parquet(&c, a.files, a.nfiles);
        }
    }
out:
    return tm_filters_finish(&c.filters, rc);
}
