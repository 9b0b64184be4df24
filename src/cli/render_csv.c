/* render_csv.c -- a report as CSV rows under one header:
 * file,previous,kind,rank,key,filename,lineno,address,traceback,
 * size,size_diff,count,count_diff,average,function,domain; kind is entry,
 * rest or total.  function (format 1.1) and domain (1.3) came last so that
 * the columns before them keep their places. */
#include "render.h"

#include <inttypes.h>
#include <stdlib.h>

void tm_report_csv_header(FILE *f)
{
    fputs("file,previous,kind,rank,key,filename,lineno,address,traceback,"
          "size,size_diff,count,count_diff,average,function,domain\n", f);
}

char *tm_traceback_csv_text(const tms_snapshot *s, uint32_t tb)
{
    uint32_t n = tms_traceback_len(s, tb);
    const uint32_t *fr = tms_traceback_frames(s, tb);
    tm_mem m;
    if (tm_mem_open(&m) == NULL)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        const char *fn = tm_string_of(s, s->frames[fr[i]].filename);
        int32_t ln = s->frames[fr[i]].lineno;
        fprintf(m.f, "%s%s:", i ? ";" : "", fn ? fn : "");
        if (ln != TMS_LINENO_NONE)
            fprintf(m.f, "%" PRId32, ln);
    }
    return tm_mem_close(&m);
}

static void csv_row(FILE *f, const tm_report *r, const tm_display *d,
                    const char *kind, size_t rank, const tma_diff_item *it,
                    int has_key)
{
    char num[24] = "", line[24] = "", addr[32] = "";
    char *key = NULL, *tb = NULL;
    const char *filename = "", *lineno = "", *address = "", *function = NULL;
    char dom[16] = "";
    const tms_snapshot *s = it->key.snap;
    tm_csv_field(f, r->cur.name, 0);
    tm_csv_field(f, r->old.groups ? r->old.name : "", 0);
    tm_csv_field(f, kind, 0);
    if (rank)
        snprintf(num, sizeof num, "%zu", rank);
    tm_csv_field(f, num, 0);
    if (has_key) {
        key = tm_key_text(d, &it->key);
        if (d->by == TMA_BY_FILENAME || d->by == TMA_BY_LINE ||
            d->by == TMA_BY_FUNCTION)
            filename = tm_string_of(s, it->key.filename);
        if (d->by == TMA_BY_LINE || d->by == TMA_BY_FUNCTION)
            function = tm_string_of(s, it->key.function);
        if (d->by == TMA_BY_TRACEBACK &&
            tms_traceback_len(s, it->key.traceback) > 0)
            function = tm_string_of(s, tms_frame_function(
                s, tms_traceback_frames(s, it->key.traceback)[0]));
        if (d->by == TMA_BY_LINE && it->key.lineno != TMS_LINENO_NONE) {
            snprintf(line, sizeof line, "%" PRId32, it->key.lineno);
            lineno = line;
        }
        if (d->by == TMA_BY_ADDRESS) {
            snprintf(addr, sizeof addr, "0x%" PRIx64, it->key.address);
            address = addr;
        }
        if (d->by == TMA_BY_TRACEBACK)
            tb = tm_traceback_csv_text(s, it->key.traceback);
        if (d->by == TMA_BY_DOMAIN)
            snprintf(dom, sizeof dom, "%" PRIu32, it->key.domain);
    }
    tm_csv_field(f, key ? key : "", 0);
    tm_csv_field(f, filename, 0);
    tm_csv_field(f, lineno, 0);
    tm_csv_field(f, address, 0);
    tm_csv_field(f, tb, 0);
    free(key);
    free(tb);
    fprintf(f, "%" PRIu64 ",%" PRId64 ",%" PRIu64 ",%" PRId64 ",", it->size,
            it->size_diff, it->count, it->count_diff);
    if (it->count)
        fprintf(f, "%" PRIu64, it->size / it->count);
    fputc(',', f);
    tm_csv_field(f, function ? function : "", 0);
    tm_csv_field(f, dom, 1);
}

void tm_report_csv(FILE *f, const tm_report *r, const tm_display *d)
{
    size_t shown = tm_report_shown(r, d);
    tma_diff_item sum;
    for (size_t i = 0; i < shown; i++)
        csv_row(f, r, d, "entry", i + 1, &r->diff.items[i], 1);
    if (shown < r->diff.n) {
        tma_diff_sum(&r->diff, shown, r->diff.n, &sum);
        csv_row(f, r, d, "rest", 0, &sum, 0);
    }
    tma_groups_total(r->cur.groups, r->old.groups, &sum);
    csv_row(f, r, d, "total", 0, &sum, 0);
}
