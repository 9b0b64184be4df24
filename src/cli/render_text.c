/* render_text.c -- reports as text through libtma's one renderer
 * (tma_text_report, the layout DisplayTop prints too); here only what is
 * tmtool's own: titles with the file name and time, colours decided by
 * --color, and strings made from the renderer's pieces. */
#include "render.h"

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

tma_text_opts tm_text_opts(const tm_display *d)
{
    tma_text_opts o = {
        .by = d->by,
        .count = (size_t)d->count,
        .filename_parts = (int)d->filename_parts,
        .show_size = d->show_size,
        .show_count = d->show_count,
        .show_average = d->show_average,
        .show_metrics = d->show_metrics > 0,
        .color = tm_color_enabled(),
        .peak = d->peak,
    };
    return o;
}

void tm_key_write(FILE *f, const tm_display *d, const tma_key *key)
{
    tma_text_opts o = tm_text_opts(d);
    tma_text_key(f, &o, key);
}

char *tm_key_text(const tm_display *d, const tma_key *key)
{
    tm_mem m;
    if (tm_mem_open(&m) == NULL)
        return NULL;
    tm_key_write(m.f, d, key);
    return tm_mem_close(&m);
}

void tm_item_write(FILE *f, const tm_display *d, const tma_diff_item *it,
                   int compared)
{
    tma_text_opts o = tm_text_opts(d);
    tma_text_item(f, &o, it, compared);
}

void tm_traceback_text(FILE *f, const tm_display *d, const tms_snapshot *s,
                       uint32_t tb)
{
    tma_text_opts o = tm_text_opts(d);
    tma_text_traceback(f, &o, s, tb);
}

void tm_side_title(FILE *f, const tm_side *side)
{
    tma_text_escaped(f, side->name);
    if (side->snap) {
        char when[64];
        tm_format_time(when, sizeof when, side->snap->header.timestamp_ns);
        fprintf(f, ", %s", when);
    }
}

static char *side_title_text(const tm_side *side)
{
    tm_mem m;
    if (tm_mem_open(&m) == NULL)
        return NULL;
    tm_side_title(m.f, side);
    return tm_mem_close(&m);
}

int tm_report_text(FILE *f, const tm_report *r, const tm_display *d)
{
    tma_text_opts o = tm_text_opts(d);
    char *cur_title = side_title_text(&r->cur);
    char *old_title = r->old.groups ? side_title_text(&r->old) : NULL;
    int rc = -1;
    if (cur_title != NULL && (old_title != NULL || r->old.groups == NULL)) {
        tma_text_side cur = { cur_title, r->cur.groups, r->cur.snap };
        tma_text_side old = { old_title, r->old.groups, r->old.snap };
        rc = tma_text_report(f, &o, &cur, &old, &r->diff);
    }
    free(cur_title);
    free(old_title);
    return rc;
}
