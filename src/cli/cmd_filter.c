/* cmd_filter.c -- `tmtool filter IN -o OUT`: keep or drop blocks with the
 * tracer's filter rules (tma_snapshot_apply_filters), optionally drop the
 * traces, and write a new .tms atomically with libtms's path writer. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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

static uint64_t sum_sizes(const tms_snapshot *s)
{
    uint64_t total = 0;
    if (s->has_traces)
        for (uint64_t i = 0; i < s->ntraces; i++)
            total += s->traces[i].size;
    else
        for (uint64_t i = 0; i < s->nstats; i++)
            total += s->stats[i].size;
    return total;
}

/* libtms's tms_snapshot_save writes every section it knows (function
 * names, the peak, ...): a second list of sections here fell behind the
 * format.  s is ours: tmtool becomes the writer, and --drop-traces leaves
 * the traces out of the file (the summary still counts them). */
static int write_snapshot(tms_snapshot *s, const char *out, int drop_traces)
{
    tms_error err = { 0 };
    snprintf(s->header.writer_name, sizeof s->header.writer_name, "tmtool");
    snprintf(s->header.writer_version, sizeof s->header.writer_version, "%s",
             TMTOOL_VERSION);
    int had_traces = s->has_traces;
    if (drop_traces)
        s->has_traces = 0;
    int rc = tms_snapshot_save(s, out, &err);
    s->has_traces = had_traces;
    if (rc < 0) {
        tm_report_error("write", out, &err);
        return tm_exit_for_status(rc) == TM_EXIT_USAGE ? TM_EXIT_BADFILE
                                                        : tm_exit_for_status(rc);
    }
    return TM_EXIT_OK;
}

static int summary(tm_format format, const char *in, const char *out,
                   const tms_snapshot *s, uint64_t traces_before,
                   uint64_t size_before, int drop_traces)
{
    uint64_t size_after = sum_sizes(s);
    char a[64], b[64];
    switch (format) {
    case TM_FORMAT_TEXT:
        tma_size_format(a, sizeof a, (int64_t)size_after, 0);
        tma_size_format(b, sizeof b, (int64_t)size_before, 0);
        tma_text_escaped(stdout, in);
        fputs(" -> ", stdout);
        tma_text_escaped(stdout, out);
        printf(": kept %" PRIu64 " of %" PRIu64 " traces (%s of %s)%s\n",
               s->ntraces, traces_before, a, b,
               drop_traces ? ", traces dropped" : "");
        return TM_EXIT_OK;
    case TM_FORMAT_CSV:
        printf("input,output,traces_before,traces_after,size_before,size_after,traces_written\n");
        tm_csv_field(stdout, in, 0);
        tm_csv_field(stdout, out, 0);
        printf("%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%d\n",
               traces_before, s->ntraces, size_before, size_after,
               s->has_traces && !drop_traces);
        return TM_EXIT_OK;
    case TM_FORMAT_JSON: {
        cJSON *doc = tm_json_doc("filter");
        return tm_json_finish(doc, doc != NULL &&
            tm_json_add_str(doc, "input", in) == 0 &&
            tm_json_add_str(doc, "output", out) == 0 &&
            tm_json_add_u64(doc, "traces_before", traces_before) == 0 &&
            tm_json_add_u64(doc, "traces_after", s->ntraces) == 0 &&
            tm_json_add_u64(doc, "size_before", size_before) == 0 &&
            tm_json_add_u64(doc, "size_after", size_after) == 0 &&
            cJSON_AddBoolToObject(doc, "traces_written",
                                  s->has_traces && !drop_traces) != NULL);
    }
    }
    return TM_EXIT_OK;
}

int cmd_filter(int argc, char **argv)
{
    filter_ctx c = { 0 };
    tm_args a;
    tms_snapshot *s = NULL;
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
    rc = tm_load(in, 0, &s);
    if (rc != TM_EXIT_OK)
        goto done;
    uint64_t traces_before = s->ntraces, size_before = sum_sizes(s);
    rc = tm_filters_apply(&c.filters, s, in);
    if (rc == TM_EXIT_OK)
        rc = write_snapshot(s, c.out, c.drop_traces);
    if (rc == TM_EXIT_OK)
        rc = summary(a.common.format, in, c.out, s, traces_before, size_before,
                     c.drop_traces);
done:
    tms_snapshot_free(s);
    return tm_filters_finish(&c.filters, rc);
}
