/* watch_view.c -- see watch_view.h. */
#include "watch_view.h"

#include <curses.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "tui.h"

/* Column widths of the table; SITE takes the rest. */
#define W_SIZE 10
#define W_COUNT 9
#define W_DELTA 11

static const char *const sort_names[] = { "size", "growth", "count" };

static void size_text(char *buf, size_t cap, int64_t v, int sign)
{
    tma_size_format(buf, cap, v, sign);
}

static void uptime_text(char *buf, size_t cap, int64_t secs)
{
    if (secs < 0)
        snprintf(buf, cap, "?");
    else if (secs >= 86400)
        snprintf(buf, cap, "%" PRId64 "d %02d:%02d:%02d", secs / 86400,
                 (int)(secs % 86400 / 3600), (int)(secs % 3600 / 60), (int)(secs % 60));
    else
        snprintf(buf, cap, "%02d:%02d:%02d", (int)(secs / 3600),
                 (int)(secs % 3600 / 60), (int)(secs % 60));
}

/* label in its role, then the value; returns the new x. */
static int field(int y, int x, const char *label, const char *value)
{
    int w = COLS - x;
    if (w <= 0)
        return x;
    tui_role_on(TUI_LABEL);
    x += tui_text(y, x, w, label);
    tui_role_off(TUI_LABEL);
    w = COLS - x;
    if (w > 0)
        x += tui_text(y, x, w, value);
    return x;
}

static void draw_header(const watch_view *v, const watch_model *m)
{
    char buf[1200], a[32], b[32];
    tui_role_on(TUI_TITLE);
    if (m->pid > 0)
        snprintf(buf, sizeof buf, "tmtool watch  pid %ld  ", m->pid);
    else
        snprintf(buf, sizeof buf, "tmtool watch  %s (%zu files)  ", m->dir, m->nfiles);
    int x = tui_text(0, 0, COLS, buf);
    tui_role_off(TUI_TITLE);
    if (COLS > x)
        tui_text(0, x, COLS - x, m->cmdline);

    uptime_text(a, sizeof a, m->uptime);
    x = field(1, 0, m->pid > 0 ? "uptime " : "span ", a);
    size_text(a, sizeof a, m->traced, 0);
    x = field(1, x, "  traced ", m->traced >= 0 ? a : "?");
    size_text(a, sizeof a, m->peak, 0);
    x = field(1, x, "  peak ", m->peak >= 0 ? a : "?");
    size_text(a, sizeof a, m->rss, 0);
    x = field(1, x, "  RSS ", m->rss >= 0 ? a : "?");
    snprintf(b, sizeof b, "%gs%s", v->interval, v->paused ? " (paused)" : "");
    field(1, x, "  every ", b);

    /* Sparkline of traced memory, the most recent at the right. */
    x = field(2, 0, "history ", "");
    int w = COLS - x - 24;
    if (w > 0 && m->nhistory > 0) {
        size_t n = m->nhistory < (size_t)w ? m->nhistory : (size_t)w;
        const int64_t *h = m->history + (m->nhistory - n);
        int64_t lo = h[0], hi = h[0];
        for (size_t i = 1; i < n; i++) {
            lo = h[i] < lo ? h[i] : lo;
            hi = h[i] > hi ? h[i] : hi;
        }
        static const char *const blocks[] = { "\u2581", "\u2582", "\u2583", "\u2584",
                                              "\u2585", "\u2586", "\u2587", "\u2588" };
        static const char ascii[] = "_.-:=+*#";
        tui_role_on(TUI_SPARK);
        move(2, x);
        for (size_t i = 0; i < n; i++) {
            int level = hi == lo ? 3 : (int)((h[i] - lo) * 7 / (hi - lo));
            if (tui_utf8())
                addstr(blocks[level]);
            else
                addch((chtype)(unsigned char)ascii[level]);
        }
        tui_role_off(TUI_SPARK);
        size_text(a, sizeof a, lo, 0);
        size_text(b, sizeof b, hi, 0);
        snprintf(buf, sizeof buf, " %s..%s", a, b);
        tui_text(2, x + (int)n, COLS - x - (int)n, buf);
    }

    /* Status: a message, else the view's settings. */
    if (v->status[0]) {
        tui_role_on(v->status_error ? TUI_ERROR : TUI_INFO);
        tui_text(3, 0, COLS, v->status);
        tui_role_off(v->status_error ? TUI_ERROR : TUI_INFO);
    } else {
        snprintf(buf, sizeof buf, "group by %s%s, sort by %s%s%s, %zu sites, total ",
                 tma_group_by_name(m->display.by),
                 m->display.cumulative ? " (cumulative)" : "",
                 sort_names[m->sort], m->filter[0] ? ", filter " : "",
                 m->filter, m->nrows);
        x = tui_text(3, 0, COLS, buf);
        size_text(a, sizeof a, (int64_t)m->total_size, 0);
        tui_text(3, x, COLS - x, a);
    }
}

/* Right-aligned value in a column of width w; a change (sign) shows its
 * sign and, unless the row is selected, its colour. */
static void cell(int y, int x, int w, int64_t v, int sign, int selected)
{
    char buf[32], out[40];
    if (x + w > COLS)
        return;
    if (sign && v == 0)
        snprintf(buf, sizeof buf, "0");
    else
        size_text(buf, sizeof buf, v, sign);
    snprintf(out, sizeof out, "%*s", w - 1, buf);
    tui_role r = !sign || v == 0 || selected ? TUI_NORMAL
               : v > 0 ? TUI_GROWTH : TUI_SHRINK;
    if (r != TUI_NORMAL)
        tui_role_on(r);
    tui_text(y, x, w, out);
    if (r != TUI_NORMAL)
        tui_role_off(r);
}

static void count_cell(int y, int x, uint64_t c)
{
    char out[32];
    if (x + W_COUNT > COLS)
        return;
    snprintf(out, sizeof out, "%*" PRIu64, W_COUNT - 1, c);
    tui_text(y, x, W_COUNT, out);
}

void watch_view_draw(watch_view *v, const watch_model *m)
{
    erase();
    if (COLS < 30 || LINES < 8) {
        tui_text(0, 0, COLS, "terminal too small for tmtool watch (q quits)");
        refresh();
        return;
    }
    draw_header(v, m);
    /* Narrow terminals drop COUNT and "since previous" first. */
    int wide = COLS >= W_SIZE + W_COUNT + 2 * W_DELTA + 20;
    int head_y = 4, first_y = 5, last_y = LINES - 2;
    v->table_rows = last_y - first_y + 1;
    char head[256];
    if (wide)
        snprintf(head, sizeof head, "%*s%*s%*s%*s %s", W_SIZE - 1, "SIZE",
                 W_COUNT, "COUNT", W_DELTA, "+PREV", W_DELTA, "+START", "SITE");
    else
        snprintf(head, sizeof head, "%*s%*s %s", W_SIZE - 1, "SIZE", W_DELTA,
                 "+START", "SITE");
    tui_role_on(TUI_TABLE_HEAD);
    mvhline(head_y, 0, ' ', COLS);
    tui_text(head_y, 0, COLS, head);
    tui_role_off(TUI_TABLE_HEAD);

    if (v->sel >= m->nrows)
        v->sel = m->nrows ? m->nrows - 1 : 0;
    if (v->sel < v->top)
        v->top = v->sel;
    if (v->table_rows > 0 && v->sel >= v->top + (size_t)v->table_rows)
        v->top = v->sel - (size_t)v->table_rows + 1;
    for (int y = first_y; y <= last_y; y++) {
        size_t i = v->top + (size_t)(y - first_y);
        if (i >= m->nrows)
            break;
        const watch_row *r = &m->rows[i];
        int x = 0;
        if (i == v->sel) {
            tui_role_on(TUI_SELECTED);
            mvhline(y, 0, ' ', COLS);
        }
        int selected = i == v->sel;
        cell(y, x, W_SIZE, (int64_t)r->size, 0, selected);
        x += W_SIZE;
        if (wide) {
            count_cell(y, x, r->count);
            x += W_COUNT;
            cell(y, x, W_DELTA, r->d_prev, 1, selected);
            x += W_DELTA;
        }
        cell(y, x, W_DELTA, r->d_start, 1, selected);
        x += W_DELTA;
        if (i == v->sel)
            tui_role_on(TUI_SELECTED);
        if (COLS - x - 1 > 0)
            tui_text_tail(y, x + 1, COLS - x - 1, r->text);
        if (i == v->sel)
            tui_role_off(TUI_SELECTED);
    }
    if (m->nrows == 0)
        tui_text(first_y, 2, COLS - 2, m->cur ? "no allocation site matches"
                                               : "waiting for the first snapshot...");

    static const char *const keys[][2] = {
        { "q", "quit" }, { "space", "pause" }, { "g", "group" }, { "c", "cumul" },
        { "s", "sort" }, { "/", "filter" }, { "+-", "interval" }, { "w", "write" },
        { "enter", "traceback" }, { "?", "help" },
    };
    int x = 0;
    for (size_t k = 0; k < sizeof keys / sizeof *keys && x < COLS; k++) {
        tui_role_on(TUI_KEY);
        x += tui_text(LINES - 1, x, COLS - x, keys[k][0]);
        tui_role_off(TUI_KEY);
        if (x < COLS)
            x += tui_text(LINES - 1, x, COLS - x, ":");
        if (x < COLS)
            x += tui_text(LINES - 1, x, COLS - x, keys[k][1]);
        if (x < COLS)
            x += tui_text(LINES - 1, x, COLS - x, "  ");
    }
    refresh();
}

void watch_view_help(void)
{
    static const char *const lines[] = {
        "tmtool watch: keys",
        "",
        "  q, Esc        quit",
        "  space         pause / resume refreshing",
        "  g             group by filename, line, traceback (cycles)",
        "  c             cumulative: count every frame of a traceback",
        "  s             sort by size, growth since start, count (cycles)",
        "  Up, Down      move the selection",
        "  PgUp, PgDn    a page up or down; Home, End",
        "  Enter         the selected row's tracebacks (biggest first)",
        "  /             filter rows by a text (empty: no filter)",
        "  + -           refresh more or less often (0.5 s to 60 s)",
        "  w             write the current snapshot to a .tms file here",
        "  ?             this help",
        "",
        "Columns: SIZE and COUNT now, +PREV the change since the previous",
        "refresh, +START since the view started.",
        "",
        "Press any key to go back.",
    };
    erase();
    for (size_t i = 0; i < sizeof lines / sizeof *lines && (int)i < LINES; i++) {
        if (i == 0)
            tui_role_on(TUI_TITLE);
        tui_text((int)i, 1, COLS - 1, lines[i]);
        if (i == 0)
            tui_role_off(TUI_TITLE);
    }
    refresh();
}

void watch_view_detail(const watch_model *m, const watch_view *v,
                       const tms_snapshot *s, const uint32_t *tbs,
                       const uint64_t *sizes, int n, int offset)
{
    tm_mem mem;
    char *text = NULL;
    FILE *f = tm_mem_open(&mem);
    const watch_row *r = v->sel < m->nrows ? &m->rows[v->sel] : NULL;
    erase();
    if (f != NULL && r != NULL) {
        char a[32];
        size_text(a, sizeof a, (int64_t)r->size, 0);
        fprintf(f, "%s\nsize %s, count %" PRIu64 "; ", r->text, a, r->count);
        size_text(a, sizeof a, r->d_start, 1);
        fprintf(f, "since start %s; ", a);
        size_text(a, sizeof a, r->d_prev, 1);
        fprintf(f, "since previous %s\n\n", a);
        if (n == 0)
            fprintf(f, "no trace of this site in the current snapshot\n");
        for (int k = 0; k < n; k++) {
            size_text(a, sizeof a, (int64_t)sizes[k], 0);
            fprintf(f, "#%d: %s\n", k + 1, a);
            tm_traceback_text(f, &m->display, s, tbs[k]);
        }
        text = tm_mem_close(&mem);
    } else if (f != NULL) {
        text = tm_mem_close(&mem);
    }
    int y = 0, line = 0;
    for (char *p = text; p != NULL && *p && y < LINES - 1; line++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (line >= offset) {
            if (line == 0)
                tui_role_on(TUI_TITLE);
            tui_text_tail(y++, 0, COLS, p);
            if (line == 0)
                tui_role_off(TUI_TITLE);
        }
        p = nl ? nl + 1 : p + strlen(p);
    }
    tui_role_on(TUI_KEY);
    tui_text(LINES - 1, 0, COLS, "Up/Down scroll, any other key: back");
    tui_role_off(TUI_KEY);
    free(text);
    refresh();
}

int watch_view_prompt(const char *label, char *buf, size_t cap)
{
    size_t len = strlen(buf);
    timeout(-1);
    curs_set(1);
    for (;;) {
        move(LINES - 1, 0);
        clrtoeol();
        tui_role_on(TUI_KEY);
        int x = tui_text(LINES - 1, 0, COLS, label);
        tui_role_off(TUI_KEY);
        tui_text_tail(LINES - 1, x, COLS - x - 1, buf);
        refresh();
        int ch = getch();
        if (ch == 27) {
            curs_set(0);
            return 0;
        }
        if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
            curs_set(0);
            return 1;
        }
        if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && len > 0)
            buf[--len] = '\0';
        else if (ch >= 0x20 && ch < 0x7f && len + 1 < cap) {
            buf[len++] = (char)ch;
            buf[len] = '\0';
        } else if (ch == ERR && tui_signal()) {
            curs_set(0);
            return 0;
        }
    }
}
