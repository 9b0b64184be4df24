/* flame_out.c -- render a libtma flame tree: the self-contained HTML page
 * (template flame.html, built in by embed.py) and the folded-stack text
 * that flamegraph.pl, inferno and speedscope read.
 *
 * Everything that comes from the snapshot is hostile: in the page it is
 * only ever JSON string data inside a <script type="application/json">,
 * with '<', '>' and '&' escaped as \u003c... so no name can close the
 * script element, and the page shows names through textContent; the
 * title goes through HTML escaping.  Bytes that are not UTF-8 become
 * U+FFFD, so the page is always valid UTF-8. */
#include "flame_out.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* flame_html.c, generated at build time from flame.html */
extern const char tm_flame_template[];
extern const size_t tm_flame_template_len;

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; min = 0x10000; }
    else return 0;
    if (len > n)
        return 0;
    unsigned cp = c & (0xff >> (len + 1));
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A JSON string safe inside a <script> element. */
static void json_str(FILE *f, const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s);
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = utf8_len(s + i, n - i);
        if (len == 0) {
            fputs("\\ufffd", f);
            i++;
            continue;
        }
        if (len == 3 && c == 0xe2 && s[i + 1] == 0x80 &&
            (s[i + 2] == 0xa8 || s[i + 2] == 0xa9)) {
            /* U+2028/2029 end a line in older JavaScript */
            fprintf(f, "\\u%04x", s[i + 2] == 0xa8 ? 0x2028u : 0x2029u);
        } else if (c == '"' || c == '\\') {
            fputc('\\', f);
            fputc((int)c, f);
        } else if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
            fprintf(f, "\\u%04x", c);
        } else {
            fwrite(s + i, 1, len, f);
        }
        i += len;
    }
    fputc('"', f);
}

/* Text for an HTML element's content. */
static void html_text(FILE *f, const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(s + i, n - i);
        unsigned c = s[i];
        if (len == 0 || c < 0x20 || c == 0x7f) {
            fputs(len == 0 ? "\xef\xbf\xbd" : " ", f);
            i += len == 0 ? 1 : len;
            continue;
        }
        switch (c) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fwrite(s + i, 1, len, f);
        }
        i += len;
    }
}

/* The label of a frame per the display's rules (tm_key_text): a new
 * string, NULL on OOM. */
static char *frame_label(const tma_flame *fl, uint32_t frame, long parts)
{
    tm_display d;
    tm_display_init(&d);
    d.by = TMA_BY_LINE;
    d.filename_parts = parts;
    tma_key k = { .snap = fl->snap, .filename = TMS_NONE,
                  .lineno = TMS_LINENO_NONE, .function = TMS_NONE };
    if (frame != TMS_NONE) {
        k.filename = fl->snap->frames[frame].filename;
        k.lineno = fl->snap->frames[frame].lineno;
        k.function = tms_frame_function(fl->snap, frame);
    }
    return tm_key_text(&d, &k);
}

/* Frames used by the tree, numbered in first-use order: ids[frame] =
 * index + 1, 0 unused.  Returns the count, or -1 on OOM. */
static long number_frames(const tma_flame *fl, uint32_t **ids_out,
                          uint32_t **order_out)
{
    uint32_t nf = fl->snap->nframes;
    uint32_t *ids = calloc((size_t)nf + 1, sizeof *ids);
    uint32_t *order = malloc(((size_t)nf + 1) * sizeof *order);
    if (ids == NULL || order == NULL) {
        free(ids);
        free(order);
        return -1;
    }
    long n = 0;
    for (size_t i = 1; i < fl->n; i++) {
        uint32_t fr = fl->nodes[i].frame;
        uint32_t slot = fr == TMS_NONE ? nf : fr;   /* nf: the unknown frame */
        if (ids[slot] == 0) {
            ids[slot] = (uint32_t)++n;
            order[n - 1] = fr;
        }
    }
    *ids_out = ids;
    *order_out = order;
    return n;
}

static int data_json(FILE *f, const tma_flame *fl, const tm_flame_opts *o,
                     const uint32_t *ids, const uint32_t *order, long nused)
{
    char buf[64], tot[64];
    tma_size_format(tot, sizeof tot, (int64_t)fl->nodes[0].size, 0);
    fputs("{\"title\":", f);
    json_str(f, o->title);
    fputs(",\"file\":", f);
    json_str(f, o->file);
    fprintf(f, ",\"total_size\":%" PRIu64 ",\"total_count\":%" PRIu64
            ",\"total_text\":", fl->nodes[0].size, fl->nodes[0].count);
    json_str(f, tot);
    /* frames: [short label, full label, file name (for colour)] */
    fputs(",\n\"frames\":[", f);
    for (long k = 0; k < nused; k++) {
        uint32_t fr = order[k];
        fputs(k ? ",\n[" : "[", f);
        char *brief = frame_label(fl, fr, o->filename_parts);
        char *full = frame_label(fl, fr, 0);
        if (brief == NULL || full == NULL) {
            free(brief);
            free(full);
            return -1;
        }
        json_str(f, brief);
        fputc(',', f);
        json_str(f, full);
        fputc(',', f);
        free(brief);
        free(full);
        uint32_t name = fr == TMS_NONE ? TMS_NONE : fl->snap->frames[fr].filename;
        json_str(f, name == TMS_NONE || name >= fl->snap->nstrings
                    ? "" : fl->snap->strings[name].data);
        fputc(']', f);
    }
    /* nodes: parent, frame index (-1: the root), size, count,
     * self size, self count */
    fputs("],\n\"nodes\":[", f);
    for (size_t i = 0; i < fl->n; i++) {
        const tma_flame_node *nd = &fl->nodes[i];
        long parent = nd->parent == TMA_FLAME_NO_PARENT ? -1 : (long)nd->parent;
        long frame = i == 0 ? -1
                     : (long)ids[nd->frame == TMS_NONE ? fl->snap->nframes
                                                       : nd->frame] - 1;
        fprintf(f, "%s%ld,%ld,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64,
                i ? (i % 8 == 0 ? ",\n" : ",") : "", parent, frame, nd->size,
                nd->count, nd->self_size, nd->self_count);
    }
    /* sizes as text, by the one formatter (tma_size_format) */
    fputs("],\n\"sizes\":[", f);
    for (size_t i = 0; i < fl->n; i++) {
        tma_size_format(buf, sizeof buf, (int64_t)fl->nodes[i].size, 0);
        fputs(i ? (i % 16 == 0 ? ",\n" : ",") : "", f);
        json_str(f, buf);
    }
    fputs("],\n\"self_sizes\":[", f);
    for (size_t i = 0; i < fl->n; i++) {
        buf[0] = '\0';
        if (fl->nodes[i].self_size > 0)
            tma_size_format(buf, sizeof buf, (int64_t)fl->nodes[i].self_size, 0);
        fputs(i ? (i % 16 == 0 ? ",\n" : ",") : "", f);
        json_str(f, buf);
    }
    fputs("]}", f);
    return 0;
}

int tm_flame_html(FILE *f, const tma_flame *fl, const tm_flame_opts *o)
{
    uint32_t *ids = NULL, *order = NULL;
    long nused = number_frames(fl, &ids, &order);
    if (nused < 0)
        return -1;
    const char *t = tm_flame_template, *end = t + tm_flame_template_len;
    static const char title_mark[] = "@TMTOOL_TITLE@";
    static const char data_mark[] = "@TMTOOL_DATA@";
    while (t < end) {
        const char *at = strchr(t, '@');
        if (at == NULL) {
            fwrite(t, 1, (size_t)(end - t), f);
            break;
        }
        fwrite(t, 1, (size_t)(at - t), f);
        if (strncmp(at, title_mark, sizeof title_mark - 1) == 0) {
            html_text(f, o->title);
            t = at + sizeof title_mark - 1;
        } else if (strncmp(at, data_mark, sizeof data_mark - 1) == 0) {
            if (data_json(f, fl, o, ids, order, nused) < 0) {
                free(ids);
                free(order);
                return -1;
            }
            t = at + sizeof data_mark - 1;
        } else {
            fputc('@', f);
            t = at + 1;
        }
    }
    free(ids);
    free(order);
    return 0;
}

/* A frame in folded stacks: ';' separates frames and the last ' ' the
 * count, and a line ends at '\n', so those are replaced (';' by ',',
 * control characters by '?'); spaces are fine (the count is the last
 * field). */
static void folded_frame(FILE *f, const char *label)
{
    for (const unsigned char *p = (const unsigned char *)label; *p; p++)
        fputc(*p == ';' ? ',' : (*p < 0x20 || *p == 0x7f) ? '?' : *p, f);
}

int tm_flame_collapsed(FILE *f, const tma_flame *fl, long filename_parts)
{
    /* path of the current node, by depth; labels made once per frame
     * (slot nframes: the unknown frame) */
    size_t depth_cap = (size_t)fl->max_depth + 2;
    uint32_t nf = fl->snap->nframes;
    uint32_t *path = malloc(depth_cap * sizeof *path);
    char **labels = calloc((size_t)nf + 1, sizeof *labels);
    int rc = 0;
    if (path == NULL || labels == NULL) {
        rc = -1;
        goto out;
    }
    for (size_t i = 1; i < fl->n; i++) {
        const tma_flame_node *nd = &fl->nodes[i];
        path[nd->depth] = (uint32_t)i;
        if (nd->self_count == 0)
            continue;
        for (uint32_t d = 1; d <= nd->depth; d++) {
            uint32_t fr = fl->nodes[path[d]].frame;
            uint32_t slot = fr == TMS_NONE ? nf : fr;
            if (labels[slot] == NULL &&
                (labels[slot] = frame_label(fl, fr, filename_parts)) == NULL) {
                rc = -1;
                goto out;
            }
            if (d > 1)
                fputc(';', f);
            folded_frame(f, labels[slot]);
        }
        fprintf(f, " %" PRIu64 "\n", nd->self_size);
    }
out:
    for (size_t k = 0; labels != NULL && k <= nf; k++)
        free(labels[k]);
    free(labels);
    free(path);
    return rc;
}
