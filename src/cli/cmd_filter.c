/* cmd_filter.c -- `tmtool filter IN -o OUT`: keep or drop blocks with the
 * tracer's filter rules, optionally drop the traces, and write a new .tms
 * atomically with libtms's path writer.
 *
 * The traces stream: the reader hands each chunk to on_traces, libtma's
 * tma_trace_filter keeps the blocks (deciding once per traceback and
 * summing the kept ones per traceback), and the kept ones go straight to
 * the writer, behind the dictionary entries read so far.  The stats and
 * the peak, which depend on every kept trace, follow them in the file
 * (SPEC §3: sections in any order, ids defined before use).  Memory is
 * the dictionaries plus a few chunks, whatever the number of traces.
 * A file without traces (stats only) takes the whole-snapshot path. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrcheck.h"
#include "commands.h"
#include "exitcodes.h"
#include "filters.h"
#include "input.h"
#include "outfile.h"

typedef struct filter_ctx {
    tm_filters filters;
    const char *out;
    int drop_traces;
} filter_ctx;

static const tm_opt filter_opts[] = {
    TM_OPT_STRING('o', "output", "OUT", filter_ctx, out,
                  "write the filtered snapshot to OUT (required)"),
    TM_OPT_FLAG(0, "drop-traces", filter_ctx, drop_traces,
                "keep only the per-line statistics, not the traces"),
    TM_OPT_END,
};

static const tm_command filter_command = {
    .name = "filter",
    .usage = "tmtool filter [<options>] IN -o OUT",
    .description =
        "Write a copy of the snapshot IN to OUT keeping only the blocks the\n"
        "filters keep (the tracer's rules: no exclusive filter matches, and one\n"
        "inclusive filter matches if there are any).  OUT is replaced atomically;\n"
        "it may not be IN.",
    .min_files = 1,
    .max_files = 1,
    .files_needed = "exactly one input FILE",
};

/* A file whose traces stream.  The writer is opened at the first chunk
 * (the header, SMPL included, is known by then: SMPL precedes TRCS). */
typedef struct stream {
    tms_snapshot *s;              /* what the reader has read so far */
    tma_trace_filter *tf;
    tms_writer *w;
    const char *out;
    int drop_traces;
    tms_dict_pos given;           /* dictionaries given to the writer */
    tms_trace *kept;              /* one chunk */
    tm_addr_check addrs;          /* no kept address twice */
    int writing;                  /* 1 while a writer call is made */
    tms_error err;
} stream;

static int open_writer(stream *st)
{
    tms_header h = st->s->header;
    snprintf(h.writer_name, sizeof h.writer_name, "tmtool");
    snprintf(h.writer_version, sizeof h.writer_version, "%s", TMTOOL_VERSION);
    st->writing = 1;
    int rc = tms_writer_open_path(&st->w, st->out, &h, &st->err);
    if (rc < 0)
        return rc;
    /* addresses are unique within each input chunk (the reader checks
     * their order); across chunks tm_addr_check proves it before the
     * file is committed (finish_traces), without the writer's 8 bytes a
     * trace and quadratic merge on overlapping chunks */
    tms_writer_trust_unique_addresses(st->w);
    if (!st->drop_traces)
        rc = tms_writer_begin_traces(st->w, &st->err);
    return rc;
}

static int on_traces(void *ctx, const tms_trace *t, size_t n)
{
    stream *st = ctx;
    size_t k = 0;
    int rc = TMS_OK;
    if (st->w == NULL && (rc = open_writer(st)) < 0)
        return rc;
    st->writing = 0;
    rc = tma_trace_filter_apply(st->tf, t, n, st->kept, &k, &st->err);
    if (rc < 0 || k == 0 || st->drop_traces)
        return rc;
    if ((rc = tm_addr_check_add(&st->addrs, st->kept, k)) < 0)
        return tms_fail(&st->err, rc, "out of memory");
    st->writing = 1;
    if ((rc = tms_writer_add_dicts_of(st->w, st->s, &st->given,
                                      &st->err)) < 0)
        return rc;
    return tms_writer_add_traces(st->w, st->kept, k, &st->err);
}

/* After the read: the stats and peak of the kept traces, every section
 * that follows them, the address check, and the commit. */
static int finish_traces(stream *st, const char *in)
{
    const tms_snapshot *s = st->s;
    st->writing = 0;
    int rc = tma_trace_filter_finish(st->tf, st->s, &st->err);
    if (rc < 0)
        return rc;
    st->writing = 1;
    if ((rc = tms_writer_add_dicts_of(st->w, s, &st->given, &st->err)) < 0 ||
        (rc = tms_writer_add_functions_of(st->w, s, &st->err)) < 0)
        return rc;
    if (s->has_peak &&
        (rc = tms_writer_add_peak(st->w, &s->peak, s->peak_entries,
                                  (size_t)s->npeak, &st->err)) < 0)
        return rc;
    if ((rc = tms_writer_add_stats(st->w, s->stats, (size_t)s->nstats,
                                   &st->err)) < 0 ||
        (rc = tms_writer_add_metrics(st->w, s->metrics, s->nmetrics,
                                     &st->err)) < 0 ||
        (rc = tms_writer_add_meta(st->w, s->meta, s->nmeta, &st->err)) < 0)
        return rc;
    st->writing = 0;
    if ((rc = tm_addr_check_finish(&st->addrs, in, st->tf, &st->err)) < 0)
        return rc;
    st->writing = 1;
    rc = tms_writer_close(st->w, &st->err);
    st->w = NULL;
    return rc;
}

static int report(stream *st, int rc, const char *in, const char *out)
{
    if (rc >= 0)
        return TM_EXIT_OK;
    if (st->err.code == 0)
        st->err.code = rc;
    else if (st->err.msg[0] == '\0')   /* reported where it happened */
        return tm_exit_for_status(rc);
    if (st->writing) {
        tm_report_error("write", out, &st->err);
        return tm_exit_for_status(rc) == TM_EXIT_USAGE ? TM_EXIT_BADFILE
                                                        : tm_exit_for_status(rc);
    }
    tm_report_error("filter", in, &st->err);
    return tm_exit_for_status(rc);
}

/* The whole-snapshot path, for a file without traces (stats only). */
static int filter_loaded(const tm_filters *filters, tms_snapshot *s,
                         const char *in, const char *out)
{
    int rc = tm_filters_apply(filters, s, in);
    if (rc != TM_EXIT_OK)
        return rc;
    tms_error err = { 0 };
    snprintf(s->header.writer_name, sizeof s->header.writer_name, "tmtool");
    snprintf(s->header.writer_version, sizeof s->header.writer_version, "%s",
             TMTOOL_VERSION);
    if (tms_snapshot_save(s, out, &err) < 0) {
        tm_report_error("write", out, &err);
        return tm_exit_for_status(err.code) == TM_EXIT_USAGE
                   ? TM_EXIT_BADFILE : tm_exit_for_status(err.code);
    }
    return TM_EXIT_OK;
}

static uint64_t sum_stats(const tms_snapshot *s)
{
    uint64_t total = 0;
    for (uint64_t i = 0; i < s->nstats; i++)
        total += s->stats[i].size;
    return total;
}

typedef struct counts {
    uint64_t traces_before, traces_after, size_before, size_after;
    int traces_written;
} counts;

static int summary(tm_format format, const char *in, const char *out,
                   const counts *c, int drop_traces)
{
    char a[64], b[64];
    switch (format) {
    case TM_FORMAT_TEXT:
        tma_size_format(a, sizeof a, (int64_t)c->size_after, 0);
        tma_size_format(b, sizeof b, (int64_t)c->size_before, 0);
        tma_text_escaped(stdout, in);
        fputs(" -> ", stdout);
        tma_text_escaped(stdout, out);
        printf(": kept %" PRIu64 " of %" PRIu64 " traces (%s of %s)%s\n",
               c->traces_after, c->traces_before, a, b,
               drop_traces ? ", traces dropped" : "");
        return TM_EXIT_OK;
    case TM_FORMAT_CSV:
        printf("input,output,traces_before,traces_after,size_before,size_after,traces_written\n");
        tm_csv_field(stdout, in, 0);
        tm_csv_field(stdout, out, 0);
        printf("%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%d\n",
               c->traces_before, c->traces_after, c->size_before,
               c->size_after, c->traces_written);
        return TM_EXIT_OK;
    case TM_FORMAT_JSON: {
        cJSON *doc = tm_json_doc("filter");
        return tm_json_finish(doc, doc != NULL &&
            tm_json_add_str(doc, "input", in) == 0 &&
            tm_json_add_str(doc, "output", out) == 0 &&
            tm_json_add_u64(doc, "traces_before", c->traces_before) == 0 &&
            tm_json_add_u64(doc, "traces_after", c->traces_after) == 0 &&
            tm_json_add_u64(doc, "size_before", c->size_before) == 0 &&
            tm_json_add_u64(doc, "size_after", c->size_after) == 0 &&
            cJSON_AddBoolToObject(doc, "traces_written",
                                  c->traces_written) != NULL);
    }
    }
    return TM_EXIT_OK;
}

/* Read in, filtering its traces into out as they come; *c filled. */
static int filter_file(const tm_filters *filters, const char *in,
                       const char *out, int drop_traces, counts *c)
{
    stream st = { 0 };
    int rc;
    st.out = out;
    st.drop_traces = drop_traces;
    st.s = tms_snapshot_new();
    st.kept = malloc(TMS_TRACE_CHUNK * sizeof *st.kept);
    if (st.s == NULL || st.kept == NULL ||
        tma_trace_filter_new(&st.tf, st.s, filters->items, filters->n,
                             filters->has_domain, filters->domain,
                             filters->use ? filters->use->matched : NULL,
                             &st.err) < 0) {
        tm_error("out of memory");
        rc = TM_EXIT_BADFILE;
        goto out;
    }
    if (tm_addr_check_init(&st.addrs, tm_rereadable(in)) < 0) {
        tm_error("out of memory");
        rc = TM_EXIT_BADFILE;
        goto out;
    }
    rc = tm_load_stream(in, st.s, on_traces, &st, &st.err);
    if (rc != TM_EXIT_OK) {
        if (st.err.code < 0)
            rc = report(&st, st.err.code, in, out);
        goto out;
    }
    if (st.w == NULL) {            /* no traces: the whole path */
        c->traces_written = 0;
        c->size_before = c->size_after = sum_stats(st.s);
        rc = filter_loaded(filters, st.s, in, out);
        c->size_after = sum_stats(st.s);
        goto out;
    }
    rc = report(&st, finish_traces(&st, in), in, out);
    tma_trace_filter_counts(st.tf, &c->traces_before, &c->size_before,
                            &c->traces_after, &c->size_after);
    c->traces_written = !drop_traces;
    if (rc == TM_EXIT_OK && filters->use != NULL &&
        tm_filters_active(filters))
        filters->use->applied++;
out:
    tms_writer_abort(st.w);
    tm_addr_check_free(&st.addrs);
    tma_trace_filter_free(st.tf);
    tms_snapshot_free(st.s);
    free(st.kept);
    return rc;
}

int cmd_filter(int argc, char **argv)
{
    filter_ctx c = { 0 };
    tm_args a;
    counts n = { 0 };
    const tm_opt_group groups[] = {
        { "Options", filter_opts, &c },
        { "Filter options", tm_filter_opts, &c.filters },
        { NULL, NULL, NULL },
    };
    int rc = tm_parse_command(&filter_command, groups, argc, argv, &a);
    if (rc != TM_EXIT_OK || a.common.help)
        goto done;
    const char *in = a.files[0];
    if (c.out == NULL) {
        tm_error("filter needs an output file: -o OUT");
        rc = TM_EXIT_USAGE;
        goto done;
    }
    if (strcmp(in, c.out) == 0 || tm_same_file(in, c.out)) {
        tm_error("refusing to overwrite the input '%s' (-o names the same file)",
                 in);
        rc = TM_EXIT_USAGE;
        goto done;
    }
    rc = filter_file(&c.filters, in, c.out, c.drop_traces, &n);
    if (rc == TM_EXIT_OK)
        rc = summary(a.common.format, in, c.out, &n, c.drop_traces);
done:
    return tm_filters_finish(&c.filters, rc);
}
