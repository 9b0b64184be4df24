/* export.c -- tmt_core_export: the live tables into a tms_snapshot, the
 * one way out of them.  Snapshot.create, the live endpoint and the
 * queries (get_traces, get_stats, get_trace) all copy the tables here and
 * then use the same builders (libtma's stats rule, snapconv.c's Python
 * objects).
 *
 * Runs with the GIL held throughout, after applying the pending map, and
 * nothing here allocates through Python: the snapshot is one instant.
 * Cost is linear in traces with one hash probe per trace into the
 * snapshot's traceback map: each code object's filename and function name
 * are interned once and each distinct frame's line resolved once (the maps
 * below; a single trace goes without them).
 *
 * Function names are read here, never in the hook (names.c's encoder:
 * nothing allocated through Python). */
#include <errno.h>

#include "core.h"


#include "snapapi.h"
#include "tmt_alloc.h"

#define NOT_YET UINT32_MAX

typedef struct exporter {
    tms_snapshot *s;
    uint32_t *code_str;  /* code id -> string id (TMS_NONE: unknown) */
    uint32_t *code_name; /* code id -> function name string id */
    uint32_t *frame_id;  /* our frame id -> snapshot frame id */
    uint32_t *tb_id;     /* our traceback id -> snapshot traceback id */
    uint32_t *scratch;
    uint64_t ntraces;    /* traces exported (or interned, TMT_EXPORT_DICT) */
} exporter;

/* The qualified name of code id `code` as a snapshot string (TMS_NONE
 * if it has none), by names.c's rule: nothing is allocated through
 * Python and no exception is raised. */
static int intern_code_name(exporter *x, uint32_t code, uint32_t *out)
{
    uint32_t len = 0;
    char *name = tmt_name_copy(tmt_code_qualname(tmt_S.tables.codes[code].code),
                               TMS_MAX_STRING_LEN, &len);
    *out = TMS_NONE;
    if (name == NULL)
        return 0;   /* no name, or no memory for it: the name is unknown */
    int r = tms_snapshot_intern_string(x->s, name, len, out);
    tmt_free(name);
    return r;
}

static int export_frame(exporter *x, uint32_t fid, uint32_t *out)
{
    if (x->frame_id && x->frame_id[fid] != NOT_YET) {
        *out = x->frame_id[fid];
        return 0;
    }
    tmt_frame *fr = &tmt_S.tables.frames[fid];
    uint32_t cs = x->code_str ? x->code_str[fr->code] : NOT_YET;
    if (cs == NOT_YET) {
        const tmt_code *c = &tmt_S.tables.codes[fr->code];
        cs = TMS_NONE;
        if (c->filename != NULL) {
            int r = tms_snapshot_intern_string(x->s, c->filename, c->flen, &cs);
            if (r < 0)
                return r;
        }
        if (x->code_str)
            x->code_str[fr->code] = cs;
    }
    uint32_t name = x->code_name ? x->code_name[fr->code] : NOT_YET;
    if (name == NOT_YET) {
        int r = intern_code_name(x, fr->code, &name);
        if (r < 0)
            return r;
        if (x->code_name)
            x->code_name[fr->code] = name;
    }
    int32_t line = tmt_frame_line(fr);
    int r = tms_snapshot_intern_frame(x->s, cs, line < 0 ? TMS_LINENO_NONE : line,
                                      out);
    if (r < 0)
        return r;
    if (x->frame_id)
        x->frame_id[fid] = *out;
    /* Frames are (filename, lineno): when two functions share a line (a
     * lambda on its caller's line), the first one exported names it. */
    if (tms_frame_function(x->s, *out) == TMS_NONE && name != TMS_NONE)
        r = tms_snapshot_set_function(x->s, *out, name);
    return r;
}

static int export_tb(exporter *x, uint32_t tb, uint32_t *out)
{
    if (x->tb_id && x->tb_id[tb] != NOT_YET) {
        *out = x->tb_id[tb];
        return 0;
    }
    const tmt_tb *t = &tmt_S.tables.tbs[tb];
    for (uint32_t k = 0; k < t->nframes; k++) {
        int r = export_frame(x, tmt_S.tables.tb_frames[t->start + k], &x->scratch[k]);
        if (r < 0)
            return r;
    }
    int r = tms_snapshot_intern_traceback(x->s, x->scratch, t->nframes, out);
    if (r == 0 && x->tb_id)
        x->tb_id[tb] = *out;
    return r;
}

/* The caller (snapobj.c) stamps time, pid, writer and Python version;
 * the core knows the limit and the series. */
static void fill_header(tms_header *h)
{
    h->traceback_limit = (uint32_t)tmt_S.limit;
    h->sample_interval = tmt_S.sample_interval;
    memcpy(h->series_id, tmt_series_id(), sizeof h->series_id);
}

static int export_tables(tms_snapshot *s, int with_traces,
                         uint64_t *ntraces);

/* One live trace into the sums per traceback (and the snapshot). */
static int export_one(exporter *x, tma_tb_total *per_tb, const tmt_trace *e,
                      uint32_t domain, int with_traces)
{
    /* STAT of a sampled snapshot: estimates (libtma's rule) */
    uint64_t es, ec;
    tma_sample_estimate(tmt_S.sample_interval, e->size, e->addr, &es, &ec);
    per_tb[e->tb].size += es;
    per_tb[e->tb].count += ec;
    if (!with_traces)
        return 0;
    uint32_t tb;
    int r = export_tb(x, e->tb, &tb);
    x->ntraces++;
    if (r < 0 || with_traces == TMT_EXPORT_DICT)
        return r;
    return tms_snapshot_add_trace_in(x->s, e->addr, e->size, tb, domain);
}

/* Is addr also traced in the allocators' table or an earlier domain? */
static int ext_shadowed(const tmt_tables *t, uint32_t d, uintptr_t addr)
{
    if (tmt_tt_get((tmt_tracetab *)&t->tt, addr, NULL))
        return 1;
    for (uint32_t k = 0; k < d; k++)
        if (tmt_map_find(t->ext[k].tab, t->ext[k].cap, addr))
            return 1;
    return 0;
}

void tmt_core_traced_memory(size_t *current, size_t *peak)
{
    tmt_drain_if_needed();
    *current = tmt_S.tables.traced;
    *peak = tmt_S.tables.peak;
}

/* The recorded peak state (peak.c) as PEAK entries.  Several of our
 * tracebacks can be one snapshot traceback (other offsets on the same
 * lines), so entries are summed per snapshot traceback first. */
static int export_peak(exporter *x)
{
    const tmt_tables *t = &tmt_S.tables;
    tms_peak_info p = { t->peak, t->pk_recorded, t->pk_ns };
    if (p.recorded_size > p.size)   /* cannot happen; keep the file valid */
        p.recorded_size = p.size;
    int r = tms_snapshot_set_peak(x->s, &p);
    uint32_t *ids = tmt_malloc((t->npk + 1) * sizeof *ids);
    if (r < 0 || ids == NULL) {
        tmt_free(ids);
        return r < 0 ? r : TMS_E_NOMEM;
    }
    for (size_t i = 0; r == 0 && i < t->npk; i++)
        r = export_tb(x, t->pk[i].tb, &ids[i]);
    tma_tb_total *acc = r == 0 ? tmt_calloc((size_t)x->s->ntracebacks + 1,
                                            sizeof *acc) : NULL;
    if (r == 0 && acc == NULL)
        r = TMS_E_NOMEM;
    for (size_t i = 0; r == 0 && i < t->npk; i++) {
        acc[ids[i]].size += t->pk[i].size;
        acc[ids[i]].count += t->pk[i].count;
    }
    for (uint32_t tb = 0; r == 0 && acc && tb < x->s->ntracebacks; tb++)
        if (acc[tb].count)
            r = tms_snapshot_add_peak_entry(x->s, tb, acc[tb].size,
                                            acc[tb].count);
    tmt_free(acc);
    tmt_free(ids);
    return r;
}

/* tracer.h's contract: 0, or -1 with a Python exception set.  Besides
 * traces and stats, the header's traceback limit and series id are set. */
int tmt_core_export(struct tms_snapshot *s, int with_traces)
{
    return tmt_core_export_counted(s, with_traces, NULL);
}

int tmt_core_export_counted(struct tms_snapshot *s, int with_traces,
                            uint64_t *ntraces)
{
    if (s == NULL) {
        PyErr_SetString(PyExc_ValueError, "tmt_core_export: no snapshot");
        return -1;
    }
    int r = export_tables(s, with_traces, ntraces);
    if (r == TMS_E_NOMEM) {
        PyErr_NoMemory();
        return -1;
    }
    if (r < 0) {
        PyErr_Format(PyExc_RuntimeError, "cannot export traces: %s",
                     tms_strerror(r));
        return -1;
    }
    return 0;
}

static int export_tables(tms_snapshot *s, int with_traces,
                         uint64_t *ntraces)
{
    fill_header(&s->header);
    tmt_drain_if_needed();
    const tmt_tables *t = &tmt_S.tables;
    exporter x = {s, NULL, NULL, NULL, NULL, NULL, 0};
    tma_tb_total *per_tb = NULL;
    int r = TMS_E_NOMEM;
    /* A state higher than the recorded one is a better picture of the
     * peak; when the peak is now, the picture is exact. */
    if (tmt_S.tracing && t->traced > t->pk_recorded)
        tmt_peak_record();
    x.code_str = tmt_malloc((t->ncodes + 1) * sizeof(uint32_t));
    x.code_name = tmt_malloc((t->ncodes + 1) * sizeof(uint32_t));
    x.frame_id = tmt_malloc((t->nframes + 1) * sizeof(uint32_t));
    x.tb_id = tmt_malloc((t->ntbs + 1) * sizeof(uint32_t));
    x.scratch = tmt_malloc(((size_t)TMT_MAX_LIMIT + 1) * sizeof(uint32_t));
    per_tb = tmt_calloc((size_t)t->ntbs + 1, sizeof *per_tb);
    if (!x.code_str || !x.code_name || !x.frame_id || !x.tb_id || !x.scratch ||
        !per_tb)
        goto done;
    memset(x.code_str, 0xff, (t->ncodes + 1) * sizeof(uint32_t));
    memset(x.code_name, 0xff, (t->ncodes + 1) * sizeof(uint32_t));
    memset(x.frame_id, 0xff, (t->nframes + 1) * sizeof(uint32_t));
    memset(x.tb_id, 0xff, (t->ntbs + 1) * sizeof(uint32_t));

    if (tmt_S.tracing) {
        tmt_tt_iter it = {0, 0, 0};
        tmt_trace e;
        while (tmt_tt_next(&t->tt, &it, &e))
            if ((r = export_one(&x, per_tb, &e, e.domain, with_traces)) < 0)
                goto done;
    }
    /* Extension-tracked blocks, each with its domain (format 1.3 DOMS).
     * A snapshot holds one trace per address (SPEC §4.5): a block an
     * extension tracks at an address already traced (by the allocators or
     * another domain) is left out of the snapshot (get_traced_memory
     * still counts it). */
    for (uint32_t d = 0; tmt_S.tracing && d < t->next; d++) {
        const tmt_ext_map *m = &t->ext[d];
        for (size_t i = 0; i < m->cap; i++) {
            const tmt_trace *e = &m->tab[i];
            if (e->addr != 0 && !ext_shadowed(t, d, e->addr) &&
                (r = export_one(&x, per_tb, e, m->domain, with_traces)) < 0)
                goto done;
        }
    }
    if (with_traces)
        s->has_traces = 1;
    if (tmt_S.tracing && (r = export_peak(&x)) < 0)
        goto done;
    /* Stats per most recent frame, by libtma's rule.  x.tb_id is reused
     * as "snapshot frame of this traceback's most recent frame"
     * (traceback ids are no longer needed); several of our frames can
     * share one snapshot frame (other offsets on the same line). */
    r = 0;
    for (uint32_t tb = 0; r == 0 && tb < t->ntbs; tb++) {
        x.tb_id[tb] = TMS_NONE;
        if (per_tb[tb].count && t->tbs[tb].nframes > 0)
            r = export_frame(&x, t->tb_frames[t->tbs[tb].start], &x.tb_id[tb]);
    }
    if (r == 0)
        r = tma_snapshot_stats_from_sums(s, x.tb_id, per_tb, t->ntbs, NULL);
    if (ntraces != NULL)
        *ntraces = x.ntraces;
done:
    tmt_free(x.code_str);
    tmt_free(x.code_name);
    tmt_free(x.frame_id);
    tmt_free(x.tb_id);
    tmt_free(x.scratch);
    tmt_free(per_tb);
    return r;
}

int tmt_core_export_trace(struct tms_snapshot *s, uintptr_t addr)
{
    tmt_drain_if_needed();
    tmt_trace copy;
    if (!tmt_S.tracing || !tmt_trace_get(addr, &copy))
        return 0;
    /* One traceback: no maps, the snapshot's own interning dedups. */
    exporter x = {s, NULL, NULL, NULL, NULL, NULL, 0};
    x.scratch = tmt_malloc(((size_t)TMT_MAX_LIMIT + 1) * sizeof(uint32_t));
    uint32_t tb;
    int r = x.scratch == NULL ? TMS_E_NOMEM : export_tb(&x, copy.tb, &tb);
    if (r == 0)
        r = tms_snapshot_add_trace(s, copy.addr, copy.size, tb);
    tmt_free(x.scratch);
    if (r < 0) {
        if (r == TMS_E_NOMEM)
            PyErr_NoMemory();
        else
            PyErr_Format(PyExc_RuntimeError, "cannot export a trace: %s",
                         tms_strerror(r));
        return -1;
    }
    s->has_traces = 1;
    return 1;
}

/* --- streamed write ------------------------------------------------------ */
/* The traces go from the live tables to libtms's writer STREAM_CHUNK at a
 * time (the writer sorts and compresses them per TMS_TRACE_CHUNK), in the
 * order and with the exclusions of export_tables, so the file holds what
 * tmt_core_export(s, 1) would have.  The tables cannot change meanwhile:
 * the GIL is held from the export to the end, and nothing here runs
 * Python or allocates through it. */
#define STREAM_CHUNK 4096u

typedef struct streamer {
    exporter x;
    tms_trace chunk[STREAM_CHUNK];
    size_t n;
} streamer;

static int stream_one(streamer *st, tms_writer *w, const tmt_trace *e,
                      uint32_t domain, tms_error *err)
{
    uint32_t tb;
    int r = export_tb(&st->x, e->tb, &tb);
    if (r < 0)
        return tms_fail(err, r, "cannot export a traceback: %s",
                        tms_strerror(r));
    st->chunk[st->n].address = e->addr;
    st->chunk[st->n].size = e->size;
    st->chunk[st->n].traceback = tb;
    st->chunk[st->n].domain = domain;
    if (++st->n < STREAM_CHUNK)
        return 0;
    st->n = 0;
    return tms_writer_add_traces(w, st->chunk, STREAM_CHUNK, err);
}

static int stream_traces(void *ctx, tms_writer *w, tms_error *err)
{
    streamer *st = ctx;
    const tmt_tables *t = &tmt_S.tables;
    int r = 0;
    tmt_tt_iter it = {0, 0, 0};
    tmt_trace e;
    while (r == 0 && tmt_S.tracing && tmt_tt_next(&t->tt, &it, &e))
        r = stream_one(st, w, &e, e.domain, err);
    for (uint32_t d = 0; r == 0 && tmt_S.tracing && d < t->next; d++) {
        const tmt_ext_map *m = &t->ext[d];
        for (size_t i = 0; r == 0 && i < m->cap; i++)
            if (m->tab[i].addr != 0 && !ext_shadowed(t, d, m->tab[i].addr))
                r = stream_one(st, w, &m->tab[i], m->domain, err);
    }
    if (r == 0 && st->n)
        r = tms_writer_add_traces(w, st->chunk, st->n, err);
    st->n = 0;
    return r;
}

int tmt_core_write_streamed(const struct tms_snapshot *s, const char *path,
                            PyObject *path_obj)
{
    const tmt_tables *t = &tmt_S.tables;
    tms_error err = {0, ""};
    int rc = TMS_E_NOMEM, saved = 0;
    /* export_tb interns into s: every traceback is there already (the
     * export), so these lookups find and never add. */
    streamer *st = tmt_calloc(1, sizeof *st);
    if (st != NULL) {
        st->x.s = (tms_snapshot *)s;
        st->x.code_str = tmt_malloc((t->ncodes + 1) * sizeof(uint32_t));
        st->x.code_name = tmt_malloc((t->ncodes + 1) * sizeof(uint32_t));
        st->x.frame_id = tmt_malloc((t->nframes + 1) * sizeof(uint32_t));
        st->x.tb_id = tmt_malloc((t->ntbs + 1) * sizeof(uint32_t));
        st->x.scratch = tmt_malloc(((size_t)TMT_MAX_LIMIT + 1) *
                                   sizeof(uint32_t));
    }
    if (st && st->x.code_str && st->x.code_name && st->x.frame_id &&
        st->x.tb_id && st->x.scratch) {
        memset(st->x.code_str, 0xff, (t->ncodes + 1) * sizeof(uint32_t));
        memset(st->x.code_name, 0xff, (t->ncodes + 1) * sizeof(uint32_t));
        memset(st->x.frame_id, 0xff, (t->nframes + 1) * sizeof(uint32_t));
        memset(st->x.tb_id, 0xff, (t->ntbs + 1) * sizeof(uint32_t));
        errno = 0;
        rc = tms_snapshot_save_streamed(s, path, stream_traces, st, &err);
        saved = err.sys_errno ? err.sys_errno : errno;
    } else {
        tms_fail(&err, rc, "out of memory");
    }
    if (st != NULL) {
        tmt_free(st->x.code_str);
        tmt_free(st->x.code_name);
        tmt_free(st->x.frame_id);
        tmt_free(st->x.tb_id);
        tmt_free(st->x.scratch);
        tmt_free(st);
    }
    if (rc < 0) {
        tmt_raise_tms(rc, &err, saved, path_obj);
        return -1;
    }
    return 0;
}
