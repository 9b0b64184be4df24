/* cmd_top.c -- `tmtool top`: the biggest allocation sites of snapshots.
 * One file: its top.  Files of one series: each against the previous, in
 * time order.  Files of one moment (one per process) with --merge: their
 * sum.  --address: one block across the files. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "exitcodes.h"
#include "live.h"
#include "report.h"

typedef struct top_ctx {
    tm_display display;
    tm_filters filters;
    tm_pid live;
    tm_format format;
    int merge;
    int peak;
    int has_address;
    uint64_t address;
} top_ctx;

static int opt_address(void *ctx, const tm_opt *o, const char *arg)
{
    top_ctx *c = ctx;
    char *end;
    (void)o;
    c->has_address = 1;
    if (arg[0] == '-' || arg[0] == '\0')
        goto bad;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 0);
    if (errno != 0 || *end != '\0')
        goto bad;
    c->address = v;
    return 0;
bad:
    tm_error("bad address '%s' (expected 0x1234abcd or a decimal number)", arg);
    return -1;
}

static const tm_opt top_opts[] = {
    TM_OPT_FLAG(0, "merge", top_ctx, merge,
                "add up files of one moment (one per process) into one top"),
    TM_OPT_CALLBACK(0, "address", "ADDR", opt_address, 0,
                    "show one memory block (size and traceback) in each file"),
    TM_OPT_FLAG(0, "peak", top_ctx, peak,
                "show memory at its peak (the state the tracer recorded at "
                "the high-water mark) instead of when the snapshot was taken"),
    TM_OPT_END,
};

static const tm_command top_command = {
    .name = "top",
    .usage = "tmtool top [<options>] FILE...\n"
             "   or: tmtool top [<options>] --pid PID",
    .description =
        "Show the biggest allocation sites of a snapshot.  Several files of one\n"
        "series are shown in time order, each compared with the previous one;\n"
        "files of one moment from several processes are added up with --merge.\n"
        "With --pid, a running traced process is read as it is now.\n"
        "With --peak, the sites that held memory when it was at its highest.",
    .min_files = 0,
    .max_files = -1,
    .files_needed = "at least one FILE",
};

/* One file, or a series: each against the previous one. */
static int top_series(const top_ctx *c, char **paths, size_t n, tm_sink *k)
{
    tms_snapshot *prev = NULL, *cur = NULL;
    tma_groups gprev = { 0 }, gcur = { 0 };
    int rc = n > 1 ? tm_order_series(paths, n) : TM_EXIT_OK;
    for (size_t i = 0; rc == TM_EXIT_OK && i < n; i++) {
        rc = tm_load_grouped(&c->display, &c->filters, paths[i], &cur, &gcur);
        if (rc != TM_EXIT_OK)
            break;
        tm_report r = {
            .cur = { paths[i], cur, &gcur },
            .old = { i ? paths[i - 1] : NULL, prev, i ? &gprev : NULL },
        };
        rc = tm_report_build(&r);
        if (rc == TM_EXIT_OK)
            rc = tm_sink_emit(k, &r, &c->display, NULL);
        tm_report_free(&r);
        tma_groups_free(&gprev);
        tms_snapshot_free(prev);
        prev = cur;
        gprev = gcur;
        cur = NULL;
        memset(&gcur, 0, sizeof gcur);
    }
    tma_groups_free(&gprev);
    tms_snapshot_free(prev);
    return rc;
}

/* Files of one moment: sum the groupings by key.  The merged keys point
 * into the snapshots, so all stay loaded until the report is out. */
static int top_merge(const top_ctx *c, char **paths, size_t n, tm_sink *k)
{
    tms_snapshot **snaps = calloc(n, sizeof *snaps);
    tma_groups *parts = calloc(n, sizeof *parts), merged = { 0 };
    int rc = TM_EXIT_OK;
    char name[64];
    if (snaps == NULL || parts == NULL) {
        tm_error("out of memory");
        rc = TM_EXIT_BADFILE;
        goto out;
    }
    for (size_t i = 0; rc == TM_EXIT_OK && i < n; i++)
        rc = tm_load_grouped(&c->display, &c->filters, paths[i], &snaps[i], &parts[i]);
    if (rc != TM_EXIT_OK)
        goto out;
    tms_error err = { 0 };
    int st = tma_groups_merge(parts, n, &merged, &err);
    if (st < 0) {
        tm_report_error("merge", paths[0], &err);
        rc = tm_exit_for_status(st);
        goto out;
    }
    snprintf(name, sizeof name, "%zu files merged", n);
    tm_report r = { .cur = { name, n == 1 ? snaps[0] : NULL, &merged } };
    rc = tm_report_build(&r);
    if (rc == TM_EXIT_OK)
        rc = tm_sink_emit(k, &r, &c->display, NULL);
    tm_report_free(&r);
out:
    tma_groups_free(&merged);
    for (size_t i = 0; parts && snaps && i < n; i++) {
        tma_groups_free(&parts[i]);
        tms_snapshot_free(snaps[i]);
    }
    free(parts);
    free(snaps);
    return rc;
}

static const tms_trace *find_trace(const tms_snapshot *s, uint64_t address)
{
    for (uint64_t i = 0; i < s->ntraces; i++)
        if (s->traces[i].address == address)
            return &s->traces[i];
    return NULL;
}

static int address_json(cJSON *blocks, const char *path,
                        const tms_snapshot *s, const tms_trace *t)
{
    cJSON *o = cJSON_CreateObject();
    tm_side side = { path, s, NULL };
    if (o == NULL || !cJSON_AddItemToArray(blocks, o) ||
        tm_side_json(o, &side) < 0 ||
        cJSON_AddBoolToObject(o, "found", t != NULL) == NULL)
        return -1;
    if (t == NULL)
        return 0;
    cJSON *tb = tm_traceback_json(s, t->traceback);
    if (tm_json_add_u64(o, "size", t->size) < 0 || tb == NULL ||
        !cJSON_AddItemToObject(o, "traceback", tb)) {
        cJSON_Delete(tb);
        return -1;
    }
    return 0;
}

/* "a.tms, <time>: memory block 0x…: size=64 B" and its traceback: the
 * line of `top --group-by address`, from the same renderer. */
static void address_text(const top_ctx *c, const char *path,
                         const tms_snapshot *s, const tms_trace *t)
{
    tm_side side = { path, s, NULL };
    tm_display d = c->display;
    tma_diff_item it = { .size = t ? t->size : 0, .count = 1 };
    it.key.snap = s;
    it.key.address = c->address;
    d.by = TMA_BY_ADDRESS;
    fputs(tm_color_on(TMA_ROLE_NAME), stdout);
    tm_side_title(stdout, &side);
    printf("%s: ", tm_color_off());
    tm_key_write(stdout, &d, &it.key);
    fputs(": ", stdout);
    if (t == NULL) {
        printf("not present\n");
        return;
    }
    tm_item_write(stdout, &d, &it, 0);
    putchar('\n');
    tm_traceback_text(stdout, &c->display, s, t->traceback);
}

/* file,address,found,size,traceback; the traceback as in top's CSV. */
static int address_csv(const char *path, const tms_snapshot *s,
                       uint64_t address, const tms_trace *t)
{
    char buf[64];
    tm_csv_field(stdout, path, 0);
    snprintf(buf, sizeof buf, "0x%" PRIx64, address);
    tm_csv_field(stdout, buf, 0);
    tm_csv_field(stdout, t ? "1" : "0", 0);
    snprintf(buf, sizeof buf, "%" PRIu64, t ? t->size : 0);
    tm_csv_field(stdout, t ? buf : "", 0);
    if (t == NULL) {
        tm_csv_field(stdout, "", 1);
        return 0;
    }
    char *tb = tm_traceback_csv_text(s, t->traceback);
    int rc = tb == NULL ? -1 : 0;
    tm_csv_field(stdout, tb, 1);
    free(tb);
    return rc;
}

/* --address: every file is loaded with its traces and searched; the block
 * must be in at least one of them. */
static int top_address(const top_ctx *c, char **paths, size_t n)
{
    tms_snapshot **snaps = calloc(n, sizeof *snaps);
    const tms_trace **found = calloc(n, sizeof *found);
    int rc = TM_EXIT_OK, any = 0;
    cJSON *doc = NULL, *blocks = NULL;
    char hex[32];
    snprintf(hex, sizeof hex, "0x%" PRIx64, c->address);
    if (snaps == NULL || found == NULL) {
        tm_error("out of memory");
        rc = TM_EXIT_BADFILE;
        goto out;
    }
    for (size_t i = 0; rc == TM_EXIT_OK && i < n; i++) {
        rc = tm_load(paths[i], 0, &snaps[i]);
        if (rc != TM_EXIT_OK)
            goto out;
        if (!snaps[i]->has_traces) {
            tm_error("'%s' has no traces: cannot look up address %s (%s)",
                     paths[i], hex, TMA_HINT_TRACES);
            rc = TM_EXIT_USAGE;
            goto out;
        }
        found[i] = find_trace(snaps[i], c->address);
        any |= found[i] != NULL;
    }
    if (!any) {
        if (n == 1)
            tm_error("address %s not found in '%s'", hex, paths[0]);
        else
            tm_error("address %s not found in any of the %zu files", hex, n);
        rc = TM_EXIT_USAGE;
        goto out;
    }
    if (c->format == TM_FORMAT_JSON) {
        doc = tm_json_doc("top");
        if (doc == NULL || tm_json_add_str(doc, "address", hex) < 0 ||
            (blocks = cJSON_AddArrayToObject(doc, "blocks")) == NULL)
            goto oom;
    } else if (c->format == TM_FORMAT_CSV) {
        printf("file,address,found,size,traceback\n");
    }
    for (size_t i = 0; i < n; i++) {
        if (c->format == TM_FORMAT_TEXT)
            address_text(c, paths[i], snaps[i], found[i]);
        else if (c->format == TM_FORMAT_CSV) {
            if (address_csv(paths[i], snaps[i], c->address, found[i]) < 0)
                goto oom;
        } else if (address_json(blocks, paths[i], snaps[i], found[i]) < 0)
            goto oom;
    }
    if (doc != NULL) {
        rc = tm_json_print(doc) < 0 ? TM_EXIT_BADFILE : TM_EXIT_OK;
        doc = NULL;
    }
    goto out;
oom:
    tm_error("out of memory");
    rc = TM_EXIT_BADFILE;
out:
    cJSON_Delete(doc);
    for (size_t i = 0; snaps && i < n; i++)
        tms_snapshot_free(snaps[i]);
    free(snaps);
    free(found);
    return rc;
}

int cmd_top(int argc, char **argv)
{
    top_ctx c = { 0 };
    tm_args a;
    tm_sink k = { 0 };
    tm_display_init(&c.display);
    const tm_opt_group groups[] = {
        { "Options", top_opts, &c },
        { "Display options", tm_display_opts, &c.display },
        { "Filter options", tm_filter_opts, &c.filters },
        { "Live options", tm_pid_opts, &c.live },
        { NULL, NULL, NULL },
    };
    const char *live_name = NULL;
    int rc = tm_parse_command(&top_command, groups, argc, argv, &a);
    if (rc != TM_EXIT_OK || a.common.help)
        goto out;
    if (c.live.pid != 0 && a.nfiles > 0) {
        tm_error("--pid reads a running process: give no FILE with it");
        rc = TM_EXIT_USAGE;
        goto out;
    }
    if (c.live.pid == 0 && a.nfiles == 0) {
        tm_error("top needs at least one FILE, or --pid PID");
        rc = TM_EXIT_USAGE;
        goto out;
    }
    if (c.live.pid != 0) {
        int traces = c.has_address ||
            !(tm_display_load_flags(&c.display, &c.filters) & TMS_LOAD_SKIP_TRACES);
        rc = tm_live_source(c.live.pid, traces, tm_pid_timeout(&c.live), &live_name);
        if (rc != TM_EXIT_OK)
            goto out;
        a.files = (char **)&live_name;
        a.nfiles = 1;
    }
    c.format = a.common.format;
    if (c.merge && c.has_address) {
        tm_error("--merge and --address cannot be used together");
        rc = TM_EXIT_USAGE;
        goto out;
    }
    if (c.peak && (c.has_address || c.display.by == TMA_BY_ADDRESS)) {
        tm_error("--peak cannot show addresses: the peak is kept per "
                 "traceback");
        rc = TM_EXIT_USAGE;
        goto out;
    }
    c.display.peak = c.peak;
    if (c.has_address) {
        rc = top_address(&c, a.files, a.nfiles);
        goto out;
    }
    rc = tm_sink_open(&k, c.format, "top", &c.display);
    if (rc != TM_EXIT_OK)
        goto out;
    if (c.merge)
        rc = top_merge(&c, a.files, a.nfiles, &k);
    else
        rc = top_series(&c, a.files, a.nfiles, &k);
    if (rc == TM_EXIT_OK)
        rc = tm_sink_close(&k);
out:
    tm_sink_discard(&k);
    rc = tm_filters_finish(&c.filters, rc);
    tm_live_release_all();
    return rc;
}
