/* text.c -- the one text renderer (tma.h, "Text"): DisplayTop's layout,
 * used by the tracer's DisplayTop and by tmtool top/diff.
 *
 * Writes go straight to the caller's FILE, so nothing is cut to a buffer
 * size; file names are shortened by tma_filename_format into a buffer
 * of their own size. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tma_internal.h"

const char *tma_color_on(int color, tma_role role)
{
    static const char *const seq[] = {
        [TMA_ROLE_TITLE] = "\033[36m",   /* cyan */
        [TMA_ROLE_NAME] = "\033[1m",     /* bold */
        [TMA_ROLE_GROW] = "\033[31m",    /* red: memory went up */
        [TMA_ROLE_SHRINK] = "\033[32m",  /* green */
        [TMA_ROLE_RANK] = "\033[1m",
        [TMA_ROLE_BAD] = "\033[1;31m",
    };
    return color && (unsigned)role <= TMA_ROLE_BAD ? seq[role] : "";
}

const char *tma_color_off(int color)
{
    return color ? "\033[0m" : "";
}

static const char *string_of(const tms_snapshot *s, uint32_t id)
{
    return id == TMS_NONE || id >= s->nstrings ? NULL : s->strings[id].data;
}

void tma_text_escaped(FILE *f, const char *s)
{
    char small[512];
    size_t n = strlen(s), need = tms_escape(small, sizeof small, s, n);
    if (need < sizeof small) {
        fputs(small, f);
        return;
    }
    char *big = malloc(need + 1);
    if (big != NULL) {
        tms_escape(big, need + 1, s, n);
        fputs(big, f);
        free(big);
        return;
    }
    for (; *s; s++)   /* out of memory: still nothing raw */
        fputc(*s >= 0x20 && *s < 0x7f ? *s : '?', f);
}

void tma_text_filename(FILE *f, const char *filename, int parts)
{
    /* shortened, then escaped: a name from a file must not drive the
     * terminal or forge a line (tma_filename_format itself stays raw for
     * outputs with their own quoting: JSON, HTML, folded stacks) */
    char small[256];
    int n = tma_filename_format(small, sizeof small, filename, parts);
    if (n >= 0 && (size_t)n < sizeof small) {
        tma_text_escaped(f, small);
        return;
    }
    char *big = n < 0 ? NULL : malloc((size_t)n + 1);
    if (big == NULL) {
        /* Out of memory for a long name: better whole than cut. */
        tma_text_escaped(f, filename ? filename : "???");
        return;
    }
    tma_filename_format(big, (size_t)n + 1, filename, parts);
    tma_text_escaped(f, big);
    free(big);
}

/* "file:line (function)"; the function only when the file names it
 * (format 1.1). */
static void put_frame(FILE *f, const tma_text_opts *o, const tms_snapshot *s,
                      uint32_t filename, int32_t lineno, uint32_t function)
{
    tma_text_filename(f, string_of(s, filename), o->filename_parts);
    if (lineno == TMS_LINENO_NONE)
        fputs(":?", f);
    else
        fprintf(f, ":%" PRId32, lineno);
    if (string_of(s, function) != NULL) {   /* file text: escaped */
        fputs(" (", f);
        tma_text_escaped(f, string_of(s, function));
        fputc(')', f);
    }
}

void tma_text_key(FILE *f, const tma_text_opts *o, const tma_key *key)
{
    const tms_snapshot *s = key->snap;
    switch (o->by) {
    case TMA_BY_FILENAME:
        tma_text_filename(f, string_of(s, key->filename), o->filename_parts);
        break;
    case TMA_BY_LINE:
        put_frame(f, o, s, key->filename, key->lineno, key->function);
        break;
    case TMA_BY_FUNCTION: {
        const char *name = string_of(s, key->function);
        tma_text_filename(f, string_of(s, key->filename), o->filename_parts);
        fputs(" (", f);
        tma_text_escaped(f, name ? name : "?");
        fputc(')', f);
        break;
    }
    case TMA_BY_TRACEBACK:
        if (key->traceback >= s->ntracebacks ||
            tms_traceback_len(s, key->traceback) == 0) {
            put_frame(f, o, s, TMS_NONE, TMS_LINENO_NONE, TMS_NONE);
        } else {
            uint32_t fid = tms_traceback_frames(s, key->traceback)[0];
            const tms_frame *fr = &s->frames[fid];
            put_frame(f, o, s, fr->filename, fr->lineno,
                      tms_frame_function(s, fid));
        }
        break;
    case TMA_BY_ADDRESS:
        fprintf(f, "memory block 0x%" PRIx64, key->address);
        break;
    case TMA_BY_DOMAIN: {
        const char *name = tma_domain_name(key->domain);
        fprintf(f, "domain %" PRIu32, key->domain);
        if (name != NULL)
            fprintf(f, " (%s)", name);
        break;
    }
    }
}

static const char *per_text(tma_group_by by)
{
    switch (by) {
    case TMA_BY_FILENAME: return "filename";
    case TMA_BY_LINE: return "filename and line number";
    case TMA_BY_TRACEBACK: return "traceback";
    case TMA_BY_ADDRESS: return "address";
    case TMA_BY_FUNCTION: return "function";
    case TMA_BY_DOMAIN: return "allocator domain";
    }
    return "?";
}

static void put_size(FILE *f, const tma_text_opts *o, uint64_t size,
                     int64_t diff, int compared)
{
    char a[64], b[64];
    tma_size_format(a, sizeof a, (int64_t)size, 0);
    fputs(a, f);
    if (compared) {
        tma_size_format(b, sizeof b, diff, 1);
        const char *on = diff > 0   ? tma_color_on(o->color, TMA_ROLE_GROW)
                         : diff < 0 ? tma_color_on(o->color, TMA_ROLE_SHRINK)
                                    : "";
        fprintf(f, " (%s%s%s)", on, b, diff ? tma_color_off(o->color) : "");
    }
}

static void put_item(FILE *f, const tma_text_opts *o, const tma_diff_item *it,
                     int compared, int show_count)
{
    /* DisplayTop: with neither count nor average, the size stands alone. */
    if (!show_count && !o->show_average) {
        put_size(f, o, it->size, it->size_diff, compared);
        return;
    }
    const char *sep = "";
    if (o->show_size) {
        fputs("size=", f);
        put_size(f, o, it->size, it->size_diff, compared);
        sep = ", ";
    }
    if (show_count && (it->count || it->count_diff)) {
        fprintf(f, "%scount=%" PRIu64, sep, it->count);
        if (compared)
            fprintf(f, " (%+" PRId64 ")", it->count_diff);
        sep = ", ";
    }
    if (o->show_average && it->count > 1) {
        char a[64];
        tma_size_format(a, sizeof a, (int64_t)(it->size / it->count), 0);
        fprintf(f, "%saverage=%s", sep, a);
    }
}

void tma_text_item(FILE *f, const tma_text_opts *o, const tma_diff_item *it,
                   int compared)
{
    /* A block is one block: no count column when grouped by address. */
    put_item(f, o, it, compared, o->show_count && o->by != TMA_BY_ADDRESS);
}

void tma_text_traceback(FILE *f, const tma_text_opts *o,
                        const tms_snapshot *s, uint32_t tb)
{
    uint32_t n = tb < s->ntracebacks ? tms_traceback_len(s, tb) : 0;
    fprintf(f, "  Traceback (most recent call first):\n");
    if (n == 0)
        fprintf(f, "    File \"???\", line ?\n");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t fid = tms_traceback_frames(s, tb)[i];
        const tms_frame *fr = &s->frames[fid];
        const char *name = string_of(s, tms_frame_function(s, fid));
        fputs("    File \"", f);
        tma_text_filename(f, string_of(s, fr->filename), o->filename_parts);
        if (fr->lineno == TMS_LINENO_NONE)
            fputs("\", line ?", f);
        else
            fprintf(f, "\", line %" PRId32, fr->lineno);
        if (name != NULL) {   /* as Python prints a traceback */
            fputs(", in ", f);
            tma_text_escaped(f, name);
        }
        fputc('\n', f);
    }
}

void tma_metric_value_text(char *buf, size_t cap, tms_metric_format fmt,
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

/* Every metric of either side, by name: the value (or '-'), and the
 * change when both sides have it. */
static int put_metrics(FILE *f, const tma_text_opts *o, const tms_snapshot *cur,
                       const tms_snapshot *old)
{
    size_t n = (cur ? cur->nmetrics : 0) + (old ? old->nmetrics : 0);
    if (n == 0)
        return 0;
    const tms_metric **all = malloc(n * sizeof *all);
    if (all == NULL)
        return -1;
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
        const tms_metric *p = old ? find_metric(old, all[j]->name) : NULL;
        char v[64], dv[64];
        if (m)
            tma_metric_value_text(v, sizeof v, m->format,
                                  m->kind == TMS_VALUE_FLOAT, m->i, m->f, 0);
        else
            snprintf(v, sizeof v, "-");
        tma_text_escaped(f, all[j]->name);
        fprintf(f, ": %s%s%s", tma_color_on(o->color, TMA_ROLE_NAME), v,
                tma_color_off(o->color));
        if (m && p) {
            int fl = m->kind == TMS_VALUE_FLOAT || p->kind == TMS_VALUE_FLOAT;
            double fm = m->kind == TMS_VALUE_FLOAT ? m->f : (double)m->i;
            double fp = p->kind == TMS_VALUE_FLOAT ? p->f : (double)p->i;
            tma_metric_value_text(dv, sizeof dv, m->format, fl, m->i - p->i,
                                  fm - fp, 1);
            fprintf(f, " (%s)", dv);
        }
        fputc('\n', f);
    }
    free(all);
    return 0;
}

int tma_text_report(FILE *f, const tma_text_opts *o, const tma_text_side *cur,
                    const tma_text_side *old, const tma_diff *d)
{
    const tma_groups *oldg = old ? old->groups : NULL;
    int compared = oldg != NULL, rc = 0;
    size_t shown = o->count > 0 && o->count < d->n ? o->count : d->n;
    /* titles name files: escaped like every name */
    fputs(tma_color_on(o->color, TMA_ROLE_NAME), f);
    tma_text_escaped(f, cur->title);
    fprintf(f, "%s: %s%s %zu allocations per %s%s%s", tma_color_off(o->color),
            tma_color_on(o->color, TMA_ROLE_TITLE),
            cur->groups->cumulative ? "Cumulative top" : "Top", shown,
            per_text(o->by), o->peak ? " at the peak" : "",
            tma_color_off(o->color));
    if (compared) {
        fputs(" (compared to ", f);
        tma_text_escaped(f, old->title);
        fputc(')', f);
    }
    fputc('\n', f);
    if (cur->groups->sample_interval) {
        /* a sampled snapshot: the figures are weighted (SPEC §4.12) */
        char a[64];
        tma_size_format(a, sizeof a, (int64_t)cur->groups->sample_interval, 0);
        fprintf(f, "Estimated: sizes and counts from sampled blocks "
                "(every %s on average)\n", a);
    }
    if (o->peak && cur->metrics != NULL && cur->metrics->has_peak) {
        /* how close the state shown is to the true peak (SPEC §4.11) */
        char a[64], b[64];
        tma_size_format(a, sizeof a, (int64_t)cur->metrics->peak.size, 0);
        tma_size_format(b, sizeof b,
                        (int64_t)cur->metrics->peak.recorded_size, 0);
        fprintf(f, "Peak: %s%s%s; the state shown: %s\n",
                tma_color_on(o->color, TMA_ROLE_NAME), a,
                tma_color_off(o->color), b);
    }
    for (size_t i = 0; i < shown; i++) {
        const tma_diff_item *it = &d->items[i];
        fprintf(f, "%s#%zu%s: ", tma_color_on(o->color, TMA_ROLE_RANK), i + 1,
                tma_color_off(o->color));
        if (o->by != TMA_BY_TRACEBACK) {
            tma_text_key(f, o, &it->key);
            fputs(": ", f);
        }
        tma_text_item(f, o, it, compared);
        fputc('\n', f);
        if (o->by == TMA_BY_TRACEBACK)
            tma_text_traceback(f, o, it->key.snap, it->key.traceback);
    }
    tma_diff_item sum;
    if (shown < d->n) {
        tma_diff_sum(d, shown, d->n, &sum);
        fprintf(f, "%s%zu more%s: ", tma_color_on(o->color, TMA_ROLE_TITLE),
                d->n - shown, tma_color_off(o->color));
        tma_text_item(f, o, &sum, compared);
        fputc('\n', f);
    }
    tma_groups_total(cur->groups, oldg, &sum);
    fputs("Total: ", f);
    put_item(f, o, &sum, compared, o->show_count);
    fputc('\n', f);
    if (o->show_metrics)
        rc = put_metrics(f, o, cur->metrics, compared ? old->metrics : NULL);
    fputc('\n', f);
    return rc < 0 || ferror(f) ? -1 : 0;
}
