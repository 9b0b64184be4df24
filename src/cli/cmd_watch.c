/* cmd_watch.c -- `tmtool watch`: a live full-screen view of a running
 * traced process (--pid), or of a directory where snapshots appear (DIR);
 * with neither, the list of this user's traced processes.
 *
 * The loop follows htop's ScreenManager: a key read with a timeout gives
 * the periodic refresh without threads; refreshing the data is apart from
 * drawing; each key's handler returns flags acted on in one place.  The
 * terminal is taken and given back by tui_init/tui_done (tui.h), on every
 * way out. */
#include <curses.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "commands.h"
#include "exitcodes.h"
#include "input.h"
#include "live.h"
#include "tui.h"
#include "watch_view.h"

typedef struct watch_ctx {
    tm_pid live;
    double interval;
    const char *group_by;
    int cumulative;
    const char *sort;
} watch_ctx;

static int opt_interval(void *ctx, const tm_opt *o, const char *arg)
{
    char *end;
    double v = strtod(arg, &end);
    (void)o;
    if (end == arg || *end != '\0' || !(v >= 0.5 && v <= 3600)) {
        tm_error("bad value '%s' for --interval (expected seconds, 0.5 to 3600)", arg);
        return -1;
    }
    ((watch_ctx *)ctx)->interval = v;
    return 0;
}

static const tm_opt watch_opts[] = {
    TM_OPT_CALLBACK('n', "interval", "SECONDS", opt_interval, 0,
                    "seconds between refreshes (default 1; keys + and - change it)"),
    TM_OPT_STRING(0, "group-by", "KEY", watch_ctx, group_by,
                  "filename, line (default) or traceback (key g cycles)"),
    TM_OPT_FLAG(0, "cumulative", watch_ctx, cumulative,
                "count every frame of a traceback, not only the most recent (key c)"),
    TM_OPT_STRING(0, "sort", "KEY", watch_ctx, sort,
                  "size (default), growth or count (key s cycles)"),
    TM_OPT_END,
};

static const tm_command watch_command = {
    .name = "watch",
    .usage = "tmtool watch [<options>] --pid PID\n"
             "   or: tmtool watch [<options>] DIR\n"
             "   or: tmtool watch",
    .description =
        "A live full-screen view of the memory of a running traced process\n"
        "(--pid): traced memory, its peak, RSS, a sparkline, and the top sites\n"
        "with their change since the previous refresh and since the view\n"
        "started.  With DIR, the same over the snapshots written there (the\n"
        "newest against the first and the previous), refreshed as files appear.\n"
        "With no argument, list this user's traced processes.  Press ? in the\n"
        "view for the keys.",
    .min_files = 0,
    .max_files = 1,
    .files_needed = "at most one DIR",
};

/* ---- the list of traced processes ----------------------------------------- */

static void safe_print(const char *s)
{
    char *e = tm_escaped(s);
    fputs(e ? e : "?", stdout);
    free(e);
}

static int list_processes(const tm_args *a)
{
    tm_live_proc *p;
    size_t n;
    int rc = tm_live_list(&p, &n);
    if (rc != TM_EXIT_OK)
        return rc;
    if (a->common.format == TM_FORMAT_JSON) {
        cJSON *doc = tm_json_doc("watch"), *arr = NULL;
        if (doc != NULL)
            arr = cJSON_AddArrayToObject(doc, "processes");
        for (size_t i = 0; arr != NULL && i < n; i++) {
            cJSON *o = cJSON_CreateObject();
            if (o == NULL || !cJSON_AddItemToArray(arr, o) ||
                tm_json_add_i64(o, "pid", p[i].pid) < 0 ||
                tm_json_add_str(o, "cmdline", p[i].cmdline) < 0 ||
                tm_json_add_i64(o, "traced_size", p[i].traced) < 0 ||
                tm_json_add_i64(o, "peak_size", p[i].peak) < 0)
                arr = NULL;
        }
        rc = tm_json_finish(doc, arr != NULL);
    } else if (a->common.format == TM_FORMAT_CSV) {
        printf("pid,traced_size,peak_size,cmdline\n");
        for (size_t i = 0; i < n; i++) {
            printf("%ld,%" PRId64 ",%" PRId64 ",", p[i].pid, p[i].traced, p[i].peak);
            tm_csv_field(stdout, p[i].cmdline, 1);
        }
    } else if (n == 0) {
        tm_error("no traced process of this user (start one with "
                 "'python -m tmtrace run script.py')");
    } else {
        printf("%8s %11s %11s  %s\n", "PID", "TRACED", "PEAK", "COMMAND");
        for (size_t i = 0; i < n; i++) {
            char t[32] = "?", k[32] = "?";
            if (p[i].traced >= 0)
                tma_size_format(t, sizeof t, p[i].traced, 0);
            if (p[i].peak >= 0)
                tma_size_format(k, sizeof k, p[i].peak, 0);
            printf("%8ld %11s %11s  ", p[i].pid, t, k);
            safe_print(p[i].cmdline);
            putchar('\n');
        }
        printf("\nwatch one with: tmtool watch --pid PID\n");
    }
    tm_live_procs_free(p, n);
    return rc;
}

/* ---- keys ---------------------------------------------------------------- */

enum {
    W_HANDLED = 1 << 0,
    W_REDRAW = 1 << 1,
    W_REBUILD = 1 << 2,   /* grouping/sort/filter changed */
    W_REFRESH = 1 << 3,   /* fetch now */
    W_QUIT = 1 << 4,
};

typedef struct watch_state {
    watch_model m;
    watch_view v;
} watch_state;

static const double intervals[] = { 0.5, 1, 2, 5, 10, 30, 60 };
#define NINTERVALS (sizeof intervals / sizeof *intervals)

static int64_t now_ms(void);

/* A message on the status line: errors stay until the next good refresh,
 * information for three seconds. */
static void say(watch_state *w, int error, const char *msg)
{
    snprintf(w->v.status, sizeof w->v.status, "%s", msg);
    w->v.status_error = error;
    w->v.status_until = now_ms() + 3000;
}

static int key_interval(watch_state *w, int ch)
{
    size_t k = 0;
    while (k + 1 < NINTERVALS && intervals[k] < w->v.interval)
        k++;
    if (ch == '+' && k + 1 < NINTERVALS && intervals[k] <= w->v.interval)
        k++;
    else if (ch == '-' && k > 0 && intervals[k] >= w->v.interval)
        k--;
    w->v.interval = intervals[k];
    char msg[64];
    snprintf(msg, sizeof msg, "refresh every %g s", w->v.interval);
    say(w, 0, msg);
    return W_REDRAW;
}

static int key_detail(watch_state *w)
{
    uint32_t tbs[32];
    uint64_t sizes[32];
    const tms_snapshot *s = NULL;
    char msg[512];
    int n = watch_model_tracebacks(&w->m, w->v.sel, &s, tbs, sizes, 32, msg,
                                   sizeof msg);
    if (w->v.sel >= w->m.nrows)
        return W_HANDLED;
    if (n < 0) {
        say(w, 1, msg);
        return W_REDRAW;
    }
    int offset = 0;
    timeout(-1);
    for (;;) {
        watch_view_detail(&w->m, &w->v, s, tbs, sizes, n, offset);
        int ch = getch();
        if (tui_signal())
            return W_QUIT;
        if (ch == KEY_DOWN || ch == 'j')
            offset++;
        else if (ch == KEY_UP || ch == 'k')
            offset = offset > 0 ? offset - 1 : 0;
        else if (ch == KEY_NPAGE)
            offset += LINES - 2;
        else if (ch == KEY_PPAGE)
            offset = offset > LINES - 2 ? offset - (LINES - 2) : 0;
        else if (ch != KEY_RESIZE)
            break;
    }
    return W_REDRAW;
}

static int key_write(watch_state *w)
{
    char path[256], msg[400];
    if (watch_model_write(&w->m, path, sizeof path, msg, sizeof msg) < 0) {
        say(w, 1, msg);
    } else {
        snprintf(msg, sizeof msg, "wrote %s", path);
        say(w, 0, msg);
    }
    return W_REDRAW;
}

static int handle_key(watch_state *w, int ch)
{
    size_t page = w->v.table_rows > 1 ? (size_t)w->v.table_rows - 1 : 1;
    switch (ch) {
    case 'q': case 'Q': case 27:
        return W_QUIT;
    case ' ':
        w->v.paused = !w->v.paused;
        say(w, 0, w->v.paused ? "paused (space resumes)" : "");
        return W_REDRAW | (w->v.paused ? 0 : W_REFRESH);
    case 'g':
        w->m.display.by = w->m.display.by == TMA_BY_FILENAME ? TMA_BY_LINE
                        : w->m.display.by == TMA_BY_LINE ? TMA_BY_TRACEBACK
                        : TMA_BY_FILENAME;
        return W_REBUILD;
    case 'c':
        w->m.display.cumulative = !w->m.display.cumulative;
        return W_REBUILD;
    case 's':
        w->m.sort = (watch_sort)((w->m.sort + 1) % WATCH_NSORTS);
        return W_REBUILD;
    case KEY_UP: case 'k':
        w->v.sel = w->v.sel > 0 ? w->v.sel - 1 : 0;
        return W_REDRAW;
    case KEY_DOWN: case 'j':
        w->v.sel++;
        return W_REDRAW;
    case KEY_PPAGE:
        w->v.sel = w->v.sel > page ? w->v.sel - page : 0;
        return W_REDRAW;
    case KEY_NPAGE:
        w->v.sel += page;
        return W_REDRAW;
    case KEY_HOME:
        w->v.sel = 0;
        return W_REDRAW;
    case KEY_END:
        w->v.sel = w->m.nrows ? w->m.nrows - 1 : 0;
        return W_REDRAW;
    case '\n': case '\r': case KEY_ENTER:
        return key_detail(w);
    case '/':
        if (watch_view_prompt("filter: ", w->m.filter, sizeof w->m.filter)) {
            w->v.sel = w->v.top = 0;
            return W_REBUILD;
        }
        return W_REDRAW;
    case '+': case '-':
        return key_interval(w, ch);
    case 'w':
        return key_write(w);
    case '?': case 'h':
        watch_view_help();
        timeout(-1);
        getch();
        return W_REDRAW;
    case KEY_RESIZE:
        return W_REDRAW;
    default:
        return W_HANDLED;
    }
}

/* ---- the loop ------------------------------------------------------------ */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs until q, a signal or the source is gone and the user quits.
 * *gone_msg receives the message to repeat on stderr. */
static int run_view(watch_state *w, char *gone_msg, size_t cap)
{
    int64_t next = now_ms();   /* the first refresh happened before */
    int flags = W_REDRAW;
    next += (int64_t)(w->v.interval * 1000);
    for (;;) {
        if (tui_signal())
            return 0;
        int64_t now = now_ms();
        if ((flags & W_REFRESH) || (!w->v.paused && !w->m.gone && now >= next)) {
            char msg[512] = "";
            int r = watch_model_refresh(&w->m, msg, sizeof msg);
            if (r < 0) {
                say(w, 1, msg);
                if (w->m.gone) {
                    snprintf(gone_msg, cap, "%s", msg);
                    say(w, 1, msg);
                    strncat(w->v.status, " (q quits)",
                            sizeof w->v.status - strlen(w->v.status) - 1);
                }
            } else if (r > 0 && w->v.status_error) {
                say(w, 0, "");
            } else if (r > 0 && msg[0] && strncmp(msg, "baseline", 8) == 0) {
                say(w, 0, msg);
            }
            next = now_ms() + (int64_t)(w->v.interval * 1000);
            flags |= W_REDRAW;
        }
        if (flags & W_REBUILD) {
            char msg[512] = "";
            if (!w->v.paused && (w->m.display.by == TMA_BY_TRACEBACK ||
                                 w->m.display.cumulative) && w->m.cur &&
                !w->m.cur->has_traces && w->m.pid > 0) {
                /* The new grouping needs traces: fetch them now. */
                int r = watch_model_refresh(&w->m, msg, sizeof msg);
                if (r < 0)
                    say(w, 1, msg);
                else
                    say(w, 0, msg);
            } else if (watch_model_rebuild(&w->m, msg, sizeof msg) < 0) {
                say(w, 1, msg);
            } else {
                say(w, 0, msg);
            }
            flags |= W_REDRAW;
        }
        if (w->v.status[0] && !w->v.status_error && !w->v.paused &&
            now_ms() > w->v.status_until) {
            w->v.status[0] = '\0';
            flags |= W_REDRAW;
        }
        if (flags & W_REDRAW)
            watch_view_draw(&w->v, &w->m);
        if (flags & W_QUIT)
            return 0;
        int64_t wait = next - now_ms();
        if (w->v.paused || w->m.gone)
            wait = 1000;
        timeout(wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait);
        int ch = getch();
        flags = ch == ERR ? 0 : handle_key(w, ch);
    }
}

static int parse_settings(const watch_ctx *c, watch_model *m)
{
    if (c->group_by != NULL) {
        if (tma_group_by_parse(c->group_by, &m->display.by) < 0 ||
            m->display.by == TMA_BY_ADDRESS ||
            m->display.by == TMA_BY_DOMAIN) {
            tm_error("bad value '%s' for --group-by (expected filename, line "
                     "or traceback)", c->group_by);
            return -1;
        }
    }
    m->display.cumulative = c->cumulative;
    if (c->sort != NULL) {
        static const char *const names[] = { "size", "growth", "count" };
        int found = 0;
        for (int k = 0; k < WATCH_NSORTS; k++)
            if (strcmp(c->sort, names[k]) == 0) {
                m->sort = (watch_sort)k;
                found = 1;
            }
        if (!found) {
            tm_error("bad value '%s' for --sort (expected size, growth or count)",
                     c->sort);
            return -1;
        }
    }
    return 0;
}

int cmd_watch(int argc, char **argv)
{
    watch_ctx c = { .interval = 1.0 };
    watch_state w;
    tm_args a;
    char msg[512] = "", gone[512] = "";
    const tm_opt_group groups[] = {
        { "Options", watch_opts, &c },
        { "Live options", tm_pid_opts, &c.live },
        { NULL, NULL, NULL },
    };
    watch_model_init(&w.m);
    memset(&w.v, 0, sizeof w.v);
    int rc = tm_parse_command(&watch_command, groups, argc, argv, &a);
    if (rc != TM_EXIT_OK || a.common.help)
        goto out;
    if (c.live.pid == 0 && a.nfiles == 0) {
        rc = list_processes(&a);
        goto out;
    }
    if (c.live.pid != 0 && a.nfiles > 0) {
        tm_error("give either --pid PID or a DIR, not both");
        rc = TM_EXIT_USAGE;
        goto out;
    }
    if (parse_settings(&c, &w.m) < 0) {
        rc = TM_EXIT_USAGE;
        goto out;
    }
    w.v.interval = c.interval;
    if (c.live.pid != 0) {
        w.m.pid = c.live.pid;
        if (c.live.timeout_ms > 0)
            w.m.timeout_ms = c.live.timeout_ms;
    } else {
        struct stat st;
        w.m.dir = a.files[0];
        if (stat(w.m.dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
            tm_error("'%s' is not a directory (watch takes a DIR of snapshots "
                     "or --pid PID)", w.m.dir);
            rc = TM_EXIT_BADFILE;
            goto out;
        }
    }
    /* The first look before the screen is taken: a source that cannot
     * be read is one line on stderr, no flash of a screen. */
    if (watch_model_refresh(&w.m, msg, sizeof msg) < 0 &&
        (w.m.pid > 0 || w.m.gone)) {
        tm_error("%s", msg);
        rc = TM_EXIT_BADFILE;
        goto out;
    }
    if (msg[0])
        say(&w, w.m.cur == NULL, msg);
    if (tui_init(a.common.color) < 0) {
        rc = TM_EXIT_USAGE;
        goto out;
    }
    run_view(&w, gone, sizeof gone);
    tui_done();
    int sig = tui_signal();
    if (sig == SIGTERM || sig == SIGHUP) {
        /* Die of it, as the sender expects, with the terminal restored. */
        watch_model_free(&w.m);
        signal(sig, SIG_DFL);
        raise(sig);
        return TM_EXIT_OK;
    }
    if (gone[0]) {
        tm_error("%s", gone);
        rc = TM_EXIT_BADFILE;
    }
out:
    watch_model_free(&w.m);
    return rc;
}
