/* cmd_flame.c -- `tmtool flame FILE`: live memory by call path, as one
 * self-contained interactive HTML page (default) or as folded stacks for
 * flamegraph.pl, inferno and speedscope (--format collapsed).  The tree
 * is libtma's (tma_flame_build, from the same per-traceback totals as
 * `top --group-by traceback`); flame_out.c renders it.  With -o the file
 * is written atomically (libtms's tms_outfile). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "exitcodes.h"
#include "flame_out.h"
#include "outfile.h"

typedef struct flame_ctx {
    tm_filters filters;
    int collapsed;
    const char *output;
    const char *title;
    long parts;
    int peak;
} flame_ctx;

static int opt_format(void *ctx, const tm_opt *o, const char *arg)
{
    (void)o;
    if (strcmp(arg, "html") == 0 || strcmp(arg, "collapsed") == 0) {
        ((flame_ctx *)ctx)->collapsed = arg[0] == 'c';
        return 0;
    }
    tm_error("unknown format '%s' for flame (expected html or collapsed)", arg);
    return -1;
}

static int opt_parts(void *ctx, const tm_opt *o, const char *arg)
{
    (void)o;
    return tm_parse_count("--filename-parts", arg, 0, &((flame_ctx *)ctx)->parts);
}

static const tm_opt flame_opts[] = {
    TM_OPT_STRING('o', "output", "FILE", flame_ctx, output,
                  "write to FILE (atomically) instead of standard output"),
    TM_OPT_CALLBACK(0, "format", "FMT", opt_format, 0,
                    "html (default: an interactive page) or collapsed (folded stacks)"),
    TM_OPT_FLAG(0, "peak", flame_ctx, peak,
                "draw the memory recorded at the peak (format 1.1), not at the end"),
    TM_OPT_STRING(0, "title", "TEXT", flame_ctx, title, "the page's title (html)"),
    TM_OPT_CALLBACK(0, "filename-parts", "N", opt_parts, 0,
                    "label frames with the last N parts of file names (default 3, 0: whole)"),
    TM_OPT_END,
};

static const tm_command flame_command = {
    .name = "flame",
    .usage = "tmtool flame [<options>] FILE",
    .description =
        "Show where live memory was allocated, by call path: a flame graph.\n"
        "The HTML page needs nothing else (no network): hover a frame for its\n"
        "size, click to zoom, search to highlight.  --format collapsed prints\n"
        "one line per call path ('outer;inner SIZE') for other flame graph\n"
        "tools.  Frames are the captured ones: a path starts at the oldest\n"
        "frame the traceback limit kept.",
    .min_files = 1,
    .max_files = 1,
    .files_needed = "one FILE",
};

/* Why a snapshot cannot be drawn, reported; exit code. */
static int cannot_draw(const char *path, int code, const tms_error *err)
{
    tm_report_error("draw", path, err);
    return tm_exit_for_status(code);
}

/* Load path into per-traceback totals: of the peak (--peak: the PEAK
 * section, traces skipped), streamed from the traces when there is no
 * filter, else from the traces loaded whole and filtered. */
static int load(const flame_ctx *c, const char *path, tms_snapshot **s,
                tma_tb_totals *t)
{
    tms_error err = { 0 };
    int rc, st;
    if (c->peak) {
        /* filters drop peak entries by the rule they apply to traces */
        rc = tm_load(path, TMS_LOAD_SKIP_TRACES, s);
        if (rc == TM_EXIT_OK)
            rc = tm_filters_apply(&c->filters, *s, path);
        if (rc == TM_EXIT_OK && (st = tma_tb_totals_peak(t, *s, &err)) < 0)
            rc = cannot_draw(path, st, &err);
        return rc;
    }
    if (!tm_filters_active(&c->filters))
        rc = tm_load_totals(path, s, t);
    else
        rc = tm_load(path, 0, s);
    if (rc == TM_EXIT_OK && !(*s)->has_traces) {
        err.code = TMS_E_ARG;
        snprintf(err.msg, sizeof err.msg, "snapshot has no traces (it was "
                 "taken without them; --peak draws a recorded peak)");
        return cannot_draw(path, TMS_E_ARG, &err);
    }
    if (rc != TM_EXIT_OK || !tm_filters_active(&c->filters))
        return rc;
    rc = tm_filters_apply(&c->filters, *s, path);
    if (rc == TM_EXIT_OK) {
        tma_tb_totals_init(t, *s);
        st = tma_tb_totals_add(t, (*s)->traces, (size_t)(*s)->ntraces, &err);
        if (st < 0)
            rc = cannot_draw(path, st, &err);
    }
    return rc;
}

/* The page's default title, a new string (NULL on OOM). */
static char *default_title(const flame_ctx *c, const tms_snapshot *s,
                           const char *path)
{
    char peak[64] = "", recorded[64] = "";
    if (c->peak) {
        tma_size_format(peak, sizeof peak, (int64_t)s->peak.size, 0);
        tma_size_format(recorded, sizeof recorded,
                        (int64_t)s->peak.recorded_size, 0);
    }
    const char *fmt = c->peak ? "Memory at the peak (%s of %s recorded): %s"
                              : "Live memory by call path: %s%s%s";
    int n = c->peak ? snprintf(NULL, 0, fmt, recorded, peak, path)
                    : snprintf(NULL, 0, fmt, "", "", path);
    char *t = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (t != NULL && c->peak)
        snprintf(t, (size_t)n + 1, fmt, recorded, peak, path);
    else if (t != NULL)
        snprintf(t, (size_t)n + 1, fmt, "", "", path);
    return t;
}

static int render(const flame_ctx *c, FILE *f, const tma_flame *fl,
                  const char *path)
{
    if (c->collapsed)
        return tm_flame_collapsed(f, fl, c->parts);
    char *title = c->title ? NULL : default_title(c, fl->snap, path);
    if (c->title == NULL && title == NULL)
        return -1;
    tm_flame_opts o = { c->title ? c->title : title, path, c->parts };
    int rc = tm_flame_html(f, fl, &o);
    free(title);
    return rc;
}

/* Write to the output file atomically; nothing is left on failure. */
static int write_file(const flame_ctx *c, const tma_flame *fl,
                      const char *path)
{
    tms_error err = { 0 };
    tms_outfile *o = NULL;
    int st = tms_outfile_open(&o, c->output, &err);
    if (st < 0) {
        tm_report_error("write", c->output, &err);
        return TM_EXIT_BADFILE;
    }
    int fd = dup(tms_outfile_fd(o));
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0)
            close(fd);
        tm_error("cannot write '%s': %s", c->output, strerror(errno));
        tms_outfile_abort(o);
        return TM_EXIT_BADFILE;
    }
    int bad = render(c, f, fl, path) < 0;
    int ioerr = ferror(f);
    errno = 0;
    if (fclose(f) != 0)
        ioerr = 1;
    if (bad || ioerr) {
        if (bad)
            tm_error("out of memory");
        else
            tm_error("cannot write '%s': %s", c->output,
                     errno ? strerror(errno) : "write error");
        tms_outfile_abort(o);
        return TM_EXIT_BADFILE;
    }
    if (tms_outfile_commit(o, &err) < 0) {
        tm_report_error("write", c->output, &err);
        return TM_EXIT_BADFILE;
    }
    return TM_EXIT_OK;
}

static int run_flame(const flame_ctx *c, const char *path)
{
    tms_snapshot *s = NULL;
    tma_tb_totals t = { 0 };
    tma_flame fl = { 0 };
    tms_error err = { 0 };
    int rc = load(c, path, &s, &t);
    if (rc == TM_EXIT_OK) {
        int st = tma_flame_build(s, &t, &fl, &err);
        if (st < 0) {
            tm_report_error("draw", path, &err);
            rc = tm_exit_for_status(st);
        }
    }
    if (rc == TM_EXIT_OK && c->output != NULL)
        rc = write_file(c, &fl, path);
    else if (rc == TM_EXIT_OK && render(c, stdout, &fl, path) < 0) {
        tm_error("out of memory");
        rc = TM_EXIT_BADFILE;
    }
    tma_flame_free(&fl);
    tma_tb_totals_free(&t);
    tms_snapshot_free(s);
    return rc;
}

int cmd_flame(int argc, char **argv)
{
    flame_ctx c = { 0 };
    tm_args a;
    c.parts = 3;
    const tm_opt_group groups[] = {
        { "Options", flame_opts, &c },
        { "Filter options", tm_filter_opts, &c.filters },
        { NULL, NULL, NULL },
    };
    int rc = tm_parse_command(&flame_command, groups, argc, argv, &a);
    if (rc != TM_EXIT_OK || a.common.help)
        goto out;
    const char *path = a.files[0];
    /* refuse to replace the snapshot by its own report */
    if (c.output != NULL && tm_same_file(c.output, path)) {
        tm_error("refusing to write the report over its snapshot '%s'", path);
        rc = TM_EXIT_USAGE;
        goto out;
    }
    rc = run_flame(&c, path);
out:
    return tm_filters_finish(&c.filters, rc);
}
