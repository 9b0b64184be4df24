/* render_text.c -- a report as text, DisplayTop's layout:
 *
 *   a.tms, 2024-05-01 12:00:00: Top 3 allocations per filename and line number
 *   #1: .../pkg/mod.py:12: size=1.5 KiB, count=3, average=512 B
 *   2 more: size=100 B, count=2, average=50 B
 *   Total: size=1.6 KiB, count=5, average=327 B
 *
 * then the metrics, then a blank line.  Colours by role (output.h). */
#include "render.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *tm_string_of(const tms_snapshot *s, uint32_t id)
{
    return id == TMS_NONE || id >= s->nstrings ? NULL : s->strings[id].data;
}

FILE *tm_mem_open(tm_mem *m)
{
    memset(m, 0, sizeof *m);
    m->f = open_memstream(&m->data, &m->len);
    return m->f;
}

char *tm_mem_close(tm_mem *m)
{
    if (m->f == NULL)
        return NULL;
    int bad = ferror(m->f);
    if (fclose(m->f) != 0 || bad) {
        free(m->data);
        m->data = NULL;
    }
    m->f = NULL;
    return m->data;
}

/* A file name shortened to d's parts; sized, never cut. */
static void put_filename(FILE *f, const tm_display *d, const char *name)
{
    char small[256];
    int parts = (int)d->filename_parts;
    int n = tma_filename_format(small, sizeof small, name, parts);
    if (n >= 0 && (size_t)n < sizeof small) {
        fputs(small, f);
        return;
    }
    char *big = n < 0 ? NULL : malloc((size_t)n + 1);
    if (big == NULL) {
        /* Out of memory for a long name: better whole than cut. */
        fputs(name ? name : "???", f);
        return;
    }
    tma_filename_format(big, (size_t)n + 1, name, parts);
    fputs(big, f);
    free(big);
}

static void put_frame(FILE *f, const tm_display *d, const tms_snapshot *s,
                      uint32_t filename, int32_t lineno)
{
    put_filename(f, d, tm_string_of(s, filename));
    if (lineno == TMS_LINENO_NONE)
        fputs(":?", f);
    else
        fprintf(f, ":%" PRId32, lineno);
}

void tm_key_write(FILE *f, const tm_display *d, const tma_key *key)
{
    const tms_snapshot *s = key->snap;
    switch (d->by) {
    case TMA_BY_FILENAME:
        put_filename(f, d, tm_string_of(s, key->filename));
        break;
    case TMA_BY_LINE:
        put_frame(f, d, s, key->filename, key->lineno);
        break;
    case TMA_BY_TRACEBACK:
        if (tms_traceback_len(s, key->traceback) == 0) {
            put_frame(f, d, s, TMS_NONE, TMS_LINENO_NONE);
        } else {
            const tms_frame *fr =
                &s->frames[tms_traceback_frames(s, key->traceback)[0]];
            put_frame(f, d, s, fr->filename, fr->lineno);
        }
        break;
    case TMA_BY_ADDRESS:
        fprintf(f, "memory block 0x%" PRIx64, key->address);
        break;
    }
}

char *tm_key_text(const tm_display *d, const tma_key *key)
{
    tm_mem m;
    if (tm_mem_open(&m) == NULL)
        return NULL;
    tm_key_write(m.f, d, key);
    return tm_mem_close(&m);
}

static const char *per_text(tma_group_by by)
{
    switch (by) {
    case TMA_BY_FILENAME: return "filename";
    case TMA_BY_LINE: return "filename and line number";
    case TMA_BY_TRACEBACK: return "traceback";
    case TMA_BY_ADDRESS: return "address";
    }
    return "?";
}

static void put_size(FILE *f, uint64_t size, int64_t diff, int compared)
{
    char a[64], b[64];
    tma_size_format(a, sizeof a, (int64_t)size, 0);
    fputs(a, f);
    if (compared) {
        tma_size_format(b, sizeof b, diff, 1);
        const char *on = diff > 0   ? tm_color_on(TM_ROLE_GROW)
                         : diff < 0 ? tm_color_on(TM_ROLE_SHRINK)
                                    : "";
        fprintf(f, " (%s%s%s)", on, b, diff ? tm_color_off() : "");
    }
}

static void put_item(FILE *f, const tm_display *d, const tma_diff_item *it,
                     int compared, int show_count)
{
    /* DisplayTop: with neither count nor average, the size stands alone. */
    if (!show_count && !d->show_average) {
        put_size(f, it->size, it->size_diff, compared);
        return;
    }
    const char *sep = "";
    if (d->show_size) {
        fputs("size=", f);
        put_size(f, it->size, it->size_diff, compared);
        sep = ", ";
    }
    if (show_count && (it->count || it->count_diff)) {
        fprintf(f, "%scount=%" PRIu64, sep, it->count);
        if (compared)
            fprintf(f, " (%+" PRId64 ")", it->count_diff);
        sep = ", ";
    }
    if (d->show_average && it->count > 1) {
        char a[64];
        tma_size_format(a, sizeof a, (int64_t)(it->size / it->count), 0);
        fprintf(f, "%saverage=%s", sep, a);
    }
}

void tm_item_write(FILE *f, const tm_display *d, const tma_diff_item *it,
                   int compared)
{
    put_item(f, d, it, compared, d->show_count && d->by != TMA_BY_ADDRESS);
}

void tm_traceback_text(FILE *f, const tm_display *d, const tms_snapshot *s,
                       uint32_t tb)
{
    uint32_t n = tms_traceback_len(s, tb);
    const uint32_t *frames = tms_traceback_frames(s, tb);
    fprintf(f, "  Traceback (most recent call first):\n");
    if (n == 0)
        fprintf(f, "    File \"???\", line ?\n");
    for (uint32_t i = 0; i < n; i++) {
        const tms_frame *fr = &s->frames[frames[i]];
        fputs("    File \"", f);
        put_filename(f, d, tm_string_of(s, fr->filename));
        if (fr->lineno == TMS_LINENO_NONE)
            fputs("\", line ?\n", f);
        else
            fprintf(f, "\", line %" PRId32 "\n", fr->lineno);
    }
}

void tm_side_title(FILE *f, const tm_side *side)
{
    fputs(side->name, f);
    if (side->snap) {
        char when[64];
        tm_format_time(when, sizeof when, side->snap->header.timestamp_ns);
        fprintf(f, ", %s", when);
    }
}

static int metric_cmp(const void *a, const void *b)
{
    return strcmp((*(const tms_metric *const *)a)->name,
                  (*(const tms_metric *const *)b)->name);
}

static const tms_metric *find_metric(const tms_snapshot *s, const char *name)
{
    for (uint32_t i = 0; s && i < s->nmetrics; i++)
        if (strcmp(s->metrics[i].name, name) == 0)
            return &s->metrics[i];
    return NULL;
}

void tm_metric_value_text(char *buf, size_t cap, tms_metric_format fmt,
                          int is_float, int64_t i, double f, int sign)
{
    if (fmt == TMS_FORMAT_PERCENT)
        snprintf(buf, cap, sign ? "%+.1f%%" : "%.1f%%",
                 (is_float ? f : (double)i) * 100.0);
    else if (fmt == TMS_FORMAT_SIZE)
        tma_size_format(buf, cap, is_float ? (int64_t)f : i, sign);
    else if (is_float)
        snprintf(buf, cap, sign ? "%+g" : "%g", f);
    else
        snprintf(buf, cap, sign ? "%+" PRId64 : "%" PRId64, i);
}

/* Every metric of either side, by name: value, and the change when both
 * sides have it. */
static void metrics_text(FILE *f, const tm_report *r)
{
    const tms_snapshot *cur = r->cur.snap, *old = r->old.snap;
    size_t n = (cur ? cur->nmetrics : 0) + (old ? old->nmetrics : 0);
    if (n == 0)
        return;
    const tms_metric **all = malloc(n * sizeof *all);
    if (all == NULL)
        return;
    size_t k = 0;
    for (uint32_t i = 0; cur && i < cur->nmetrics; i++)
        all[k++] = &cur->metrics[i];
    for (uint32_t i = 0; old && i < old->nmetrics; i++)
        if (find_metric(cur, old->metrics[i].name) == NULL)
            all[k++] = &old->metrics[i];
    qsort(all, k, sizeof *all, metric_cmp);
    fputc('\n', f);
    for (size_t j = 0; j < k; j++) {
        const tms_metric *m = find_metric(cur, all[j]->name);
        const tms_metric *o = old ? find_metric(old, all[j]->name) : NULL;
        char v[64], dv[64];
        if (m)
            tm_metric_value_text(v, sizeof v, m->format,
                                 m->kind == TMS_VALUE_FLOAT, m->i, m->f, 0);
        else
            snprintf(v, sizeof v, "-");
        fprintf(f, "%s: %s%s%s", all[j]->name, tm_color_on(TM_ROLE_NAME), v,
                tm_color_off());
        if (m && o) {
            int fl = m->kind == TMS_VALUE_FLOAT || o->kind == TMS_VALUE_FLOAT;
            double fm = m->kind == TMS_VALUE_FLOAT ? m->f : (double)m->i;
            double fo = o->kind == TMS_VALUE_FLOAT ? o->f : (double)o->i;
            tm_metric_value_text(dv, sizeof dv, m->format, fl, m->i - o->i,
                                 fm - fo, 1);
            fprintf(f, " (%s)", dv);
        }
        fputc('\n', f);
    }
    free(all);
}

void tm_report_text(FILE *f, const tm_report *r, const tm_display *d)
{
    int compared = r->old.groups != NULL;
    size_t shown = tm_report_shown(r, d);
    fputs(tm_color_on(TM_ROLE_NAME), f);
    tm_side_title(f, &r->cur);
    fprintf(f, "%s: %s%s %zu allocations per %s%s", tm_color_off(),
            tm_color_on(TM_ROLE_TITLE),
            r->cur.groups->cumulative ? "Cumulative top" : "Top", shown,
            per_text(d->by), tm_color_off());
    if (compared) {
        fputs(" (compared to ", f);
        tm_side_title(f, &r->old);
        fputc(')', f);
    }
    fputc('\n', f);
    for (size_t i = 0; i < shown; i++) {
        const tma_diff_item *it = &r->diff.items[i];
        fprintf(f, "%s#%zu%s: ", tm_color_on(TM_ROLE_RANK), i + 1,
                tm_color_off());
        if (d->by != TMA_BY_TRACEBACK) {
            tm_key_write(f, d, &it->key);
            fputs(": ", f);
        }
        tm_item_write(f, d, it, compared);
        fputc('\n', f);
        if (d->by == TMA_BY_TRACEBACK)
            tm_traceback_text(f, d, it->key.snap, it->key.traceback);
    }
    tma_diff_item sum;
    if (shown < r->diff.n) {
        tm_report_rest(r, shown, &sum);
        fprintf(f, "%s%zu more%s: ", tm_color_on(TM_ROLE_TITLE),
                r->diff.n - shown, tm_color_off());
        tm_item_write(f, d, &sum, compared);
        fputc('\n', f);
    }
    tm_report_total(r, &sum);
    fputs("Total: ", f);
    put_item(f, d, &sum, compared, d->show_count);
    fputc('\n', f);
    if (d->show_metrics)
        metrics_text(f, r);
    fputc('\n', f);
}
