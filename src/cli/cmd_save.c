/* cmd_save.c -- `tmtool save --pid PID -o OUT`: what the live view of a
 * running process sees, written to a .tms file, for scripts and for later
 * `tmtool top|diff`.  The snapshot is checked by reading it before it is
 * written (atomically, by libtms). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "exitcodes.h"
#include "input.h"
#include "live.h"

typedef struct save_ctx {
    tm_pid live;
    const char *out;
    int stats_only;
} save_ctx;

static const tm_opt save_opts[] = {
    TM_OPT_STRING('o', "output", "OUT", save_ctx, out,
                  "write the snapshot to OUT (required; replaced atomically)"),
    TM_OPT_FLAG(0, "stats-only", save_ctx, stats_only,
                "only the per-line statistics, not every trace (smaller, faster)"),
    TM_OPT_END,
};

static const tm_command save_command = {
    .name = "save",
    .usage = "tmtool save [<options>] --pid PID -o OUT",
    .description =
        "Write a snapshot of a running traced process, as it is now, to OUT:\n"
        "every trace (unless --stats-only), the traced memory, its peak, the\n"
        "RSS and the command line.  Read it later with tmtool top or diff.",
    .min_files = 0,
    .max_files = 0,
    .files_needed = "no FILE",
};

static int report(const tm_args *a, long pid, const char *out,
                  const tms_snapshot *s)
{
    int64_t traced = tm_live_metric(s, "tracemalloc.traced.size");
    if (a->common.format == TM_FORMAT_JSON) {
        cJSON *doc = tm_json_doc("save");
        return tm_json_finish(doc, doc != NULL &&
            tm_json_add_i64(doc, "pid", pid) == 0 &&
            tm_json_add_str(doc, "output", out) == 0 &&
            tm_json_add_i64(doc, "traced_size", traced) == 0 &&
            tm_json_add_u64(doc, "traces", s->has_traces ? s->ntraces : 0) == 0);
    }
    if (a->common.format == TM_FORMAT_CSV) {
        printf("pid,output,traced_size,traces\n%ld,", pid);
        tm_csv_field(stdout, out, 0);
        printf("%" PRId64 ",%" PRIu64 "\n", traced,
               s->has_traces ? s->ntraces : 0);
        return TM_EXIT_OK;
    }
    char size[32];
    tma_size_format(size, sizeof size, traced, 0);
    char *shown = tm_escaped(out);
    printf("pid %ld: wrote '%s' (traced memory %s, %" PRIu64 " traces)\n", pid,
           shown ? shown : "?", size, s->has_traces ? s->ntraces : 0);
    free(shown);
    return TM_EXIT_OK;
}

int cmd_save(int argc, char **argv)
{
    save_ctx c = { 0 };
    tm_args a;
    tms_snapshot *s = NULL;
    const char *name;
    const tm_opt_group groups[] = {
        { "Options", save_opts, &c },
        { "Live options", tm_pid_opts, &c.live },
        { NULL, NULL, NULL },
    };
    int rc = tm_parse_command(&save_command, groups, argc, argv, &a);
    if (rc != TM_EXIT_OK || a.common.help)
        goto out;
    if (c.live.pid == 0 || c.out == NULL) {
        tm_error("save needs a process and an output file: --pid PID -o OUT");
        rc = TM_EXIT_USAGE;
        goto out;
    }
    rc = tm_live_source(c.live.pid, !c.stats_only, tm_pid_timeout(&c.live), &name);
    if (rc == TM_EXIT_OK)
        rc = tm_load(name, 0, &s);
    if (rc != TM_EXIT_OK)
        goto out;
    tms_error err = { 0 };
    int st = tms_snapshot_save(s, c.out, &err);
    if (st < 0) {
        tm_report_error("write", c.out, &err);
        rc = TM_EXIT_BADFILE;
        goto out;
    }
    rc = report(&a, c.live.pid, c.out, s);
out:
    tms_snapshot_free(s);
    tm_live_release_all();
    return rc;
}
