/* cmd_flame.c -- `tmtool flame FILE`: live memory by call path, as one
 * self-contained interactive HTML page (default) or as folded stacks for
 * flamegraph.pl, inferno and speedscope (--format collapsed).  The tree
 * is libtma's (tma_flame_build, from the same per-traceback totals as
 * `top --group-by traceback`); flame_out.c renders it.  With -o the file
 * is written atomically (libtms's tms_outfile). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "exitcodes.h"
#include "flame_out.h"

typedef struct flame_ctx {
    tm_filters filters;
    int collapsed;
    const char *output;
    const char *title;
    long parts;
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

/* Load path into per-traceback totals: streamed when there is no filter,
 * else loaded whole, filtered, then summed. */
static int load(const flame_ctx *c, const char *path, tms_snapshot **s,
                tma_tb_totals *t)
{
    if (c->filters.n == 0)
        return tm_load_totals(path, s, t);
    int rc = tm_load(path, 0, s);
    if (rc == TM_EXIT_OK)
        rc = tm_filters_apply(&c->filters, *s, path);
    if (rc == TM_EXIT_OK) {
        tms_error err = { 0 };
        tma_tb_totals_init(t, *s);
        int st = tma_tb_totals_add(t, (*s)->traces, (size_t)(*s)->ntraces, &err);
        if (st < 0) {
            tm_report_error("read", path, &err);
            rc = tm_exit_for_status(st);
        }
    }
    return rc;
}

/* Refuse to replace the snapshot by its own report. */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static int render(const flame_ctx *c, FILE *f, const tma_flame *fl,
                  const char *path)
{
    char title[1024];
    tm_flame_opts o = { c->title, path, c->parts };
    if (o.title == NULL) {
        snprintf(title, sizeof title, "Live memory by call path: %s", path);
        o.title = title;
    }
    return c->collapsed ? tm_flame_collapsed(f, fl, c->parts)
                        : tm_flame_html(f, fl, &o);
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
    if (c.output != NULL && same_file(c.output, path)) {
        tm_error("refusing to write the report over its snapshot '%s'", path);
        rc = TM_EXIT_USAGE;
        goto out;
    }
    rc = run_flame(&c, path);
out:
    if (rc == TM_EXIT_OK || rc == TM_EXIT_BREACHED)
        tm_filters_warn_unmatched(&c.filters);
    tm_filters_free(&c.filters);
    return rc;
}
