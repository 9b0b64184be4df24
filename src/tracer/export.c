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
#include <string.h>

#include "core.h"


#include "snapapi.h"
#include "tmt_alloc.h"

#define NOT_YET UINT32_MAX

/* Set in a background writer's child (bgwrite.c) only: the fork handler
 * turned tracing off there, so that no hook of ours records anything in
 * the child, but the tables hold the parent's live state at the fork,
 * and the header was filled in the parent (the child has a series id of
 * its own). */
static int frozen;

/* Whether the tables hold a live state to export. */
static int tables_live(void)
{
    return tmt_S.tracing || frozen;
}

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

/* Whether string id cand names a shared line rather than cur: the
 * shorter qualified name (the enclosing function, "f" before
 * "f.<locals>.<lambda>"), then the bytewise smaller. */
static int name_wins(const tms_snapshot *s, uint32_t cand, uint32_t cur)
{
    if (cand == TMS_NONE || cand == cur)
        return 0;
    if (cur == TMS_NONE)
        return 1;
    const tms_string *a = &s->strings[cand], *b = &s->strings[cur];
    if (a->len != b->len)
        return a->len < b->len;
    return memcmp(a->data, b->data, a->len) < 0;
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
     * lambda or a genexpr on its caller's line), one name is kept, chosen
     * by the names alone so that it does not depend on which trace is
     * exported first (table order follows addresses). */
    if (name_wins(x->s, name, tms_frame_function(x->s, *out)))
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

/* One live trace into the sums per traceback, and (with_traces) its
 * traceback into the snapshot (*tb: its id there) and the trace too
 * unless TMT_EXPORT_DICT. */
static int export_one(exporter *x, tma_tb_total *per_tb, const tmt_trace *e,
                      uint32_t domain, int with_traces, uint32_t *tb)
{
    if (tmt_S.sample_interval == 0) {
        per_tb[e->tb].size += e->size;
        per_tb[e->tb].count++;
    } else {   /* STAT of a sampled snapshot: estimates (libtma's rule) */
        uint64_t es, ec;
        tma_sample_estimate(tmt_S.sample_interval, e->size, e->addr, &es,
                            &ec);
        per_tb[e->tb].size += es;
        per_tb[e->tb].count += ec;
    }
    if (!with_traces)
        return 0;
    int r = export_tb(x, e->tb, tb);
    x->ntraces++;
    if (r < 0 || with_traces == TMT_EXPORT_DICT)
        return r;
    return tms_snapshot_add_trace_in(x->s, e->addr, e->size, *tb, domain);
}

/* Every live trace, in the one order both the whole and the streamed
 * write use (so their ids agree): the allocators' table, then each
 * extension domain without the addresses already traced.  A snapshot
 * holds one trace per address (SPEC §4.5): a block an extension tracks
 * at an address already traced (by the allocators or another domain) is
 * left out (get_traced_memory still counts it).  The table walk lives
 * here only: a new table layout changes this function alone. */
typedef int (*live_trace_fn)(void *ctx, const tmt_trace *e, uint32_t domain);
static int ext_shadowed(const tmt_tables *t, uint32_t d, uintptr_t addr);

static int each_live_trace(live_trace_fn fn, void *ctx)
{
    const tmt_tables *t = &tmt_S.tables;
    int r = 0;
    if (!tables_live())
        return 0;
    tmt_tt_iter it = {0, 0, 0};   /* tables.c/tracetab.c's walk */
    tmt_trace e;
    while (r == 0 && tmt_tt_next(&t->tt, &it, &e))
        r = fn(ctx, &e, e.domain);
    for (uint32_t d = 0; r == 0 && d < t->next; d++) {
        const tmt_ext_map *m = &t->ext[d];
        for (size_t i = 0; r == 0 && i < m->cap; i++)
            if (m->tab[i].addr != 0 && !ext_shadowed(t, d, m->tab[i].addr))
                r = fn(ctx, &m->tab[i], m->domain);
    }
    return r;
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
    tmt_reftrace_sync(); /* CPython's tracemalloc may have taken it */
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

/* What one export holds while it walks the tables. */
typedef struct export_run {
    exporter x;
    tma_tb_total *per_tb;
    int with_traces;
} export_run;

static void export_free(export_run *e)
{
    tmt_free(e->x.code_str);
    tmt_free(e->x.code_name);
    tmt_free(e->x.frame_id);
    tmt_free(e->x.tb_id);
    tmt_free(e->x.scratch);
    tmt_free(e->per_tb);
    memset(e, 0, sizeof *e);
}

/* The tables as one instant: the pending map applied.  A state higher
 * than the recorded peak is a better picture of the peak; when the peak
 * is now, the picture is exact. */
static void settle_tables(void)
{
    const tmt_tables *t = &tmt_S.tables;
    tmt_drain_if_needed();
    if (tables_live() && t->traced > t->pk_recorded)
        tmt_peak_record();
}

int tmt_core_write_prepare(struct tms_snapshot *s)
{
    if (!tmt_S.tracing) {
        PyErr_SetString(PyExc_RuntimeError, "the tmtrace module must be "
                        "enabled to take a snapshot");
        return -1;
    }
    fill_header(&s->header);
    settle_tables();
    return 0;
}

/* The header, the drained tables and the maps of an export into s. */
static int export_open(export_run *e, tms_snapshot *s, int with_traces)
{
    if (!frozen)
        fill_header(&s->header);
    settle_tables();
    const tmt_tables *t = &tmt_S.tables;
    memset(e, 0, sizeof *e);
    e->x.s = s;
    e->with_traces = with_traces;
    e->x.code_str = tmt_malloc((t->ncodes + 1) * sizeof(uint32_t));
    e->x.code_name = tmt_malloc((t->ncodes + 1) * sizeof(uint32_t));
    e->x.frame_id = tmt_malloc((t->nframes + 1) * sizeof(uint32_t));
    e->x.tb_id = tmt_malloc((t->ntbs + 1) * sizeof(uint32_t));
    e->x.scratch = tmt_malloc(((size_t)TMT_MAX_LIMIT + 1) * sizeof(uint32_t));
    e->per_tb = tmt_calloc((size_t)t->ntbs + 1, sizeof *e->per_tb);
    if (!e->x.code_str || !e->x.code_name || !e->x.frame_id || !e->x.tb_id ||
        !e->x.scratch || !e->per_tb) {
        export_free(e);
        return TMS_E_NOMEM;
    }
    memset(e->x.code_str, 0xff, (t->ncodes + 1) * sizeof(uint32_t));
    memset(e->x.code_name, 0xff, (t->ncodes + 1) * sizeof(uint32_t));
    memset(e->x.frame_id, 0xff, (t->nframes + 1) * sizeof(uint32_t));
    memset(e->x.tb_id, 0xff, (t->ntbs + 1) * sizeof(uint32_t));
    return 0;
}

static int export_trace_cb(void *ctx, const tmt_trace *t, uint32_t domain)
{
    export_run *e = ctx;
    uint32_t tb;
    return export_one(&e->x, e->per_tb, t, domain, e->with_traces, &tb);
}

/* After the walk: the peak and the stats per most recent frame, by
 * libtma's rule.  x.tb_id is reused as "snapshot frame of this
 * traceback's most recent frame" (traceback ids are no longer needed);
 * several of our frames can share one snapshot frame (other offsets on
 * the same line). */
static int export_finish(export_run *e)
{
    const tmt_tables *t = &tmt_S.tables;
    int r = 0;
    if (e->with_traces)
        e->x.s->has_traces = 1;
    if (tables_live() && (r = export_peak(&e->x)) < 0)
        return r;
    for (uint32_t tb = 0; r == 0 && tb < t->ntbs; tb++) {
        e->x.tb_id[tb] = TMS_NONE;
        if (e->per_tb[tb].count && t->tbs[tb].nframes > 0)
            r = export_frame(&e->x, t->tb_frames[t->tbs[tb].start],
                             &e->x.tb_id[tb]);
    }
    if (r == 0)
        r = tma_snapshot_stats_from_sums(e->x.s, e->x.tb_id, e->per_tb,
                                         t->ntbs, NULL);
    return r;
}

static int export_tables(tms_snapshot *s, int with_traces,
                         uint64_t *ntraces)
{
    export_run e;
    int r = export_open(&e, s, with_traces);
    if (r == 0)
        r = each_live_trace(export_trace_cb, &e);
    if (r == 0)
        r = export_finish(&e);
    if (r == 0 && ntraces != NULL)
        *ntraces = e.x.ntraces;
    export_free(&e);
    return r;
}

int tmt_core_export_trace(struct tms_snapshot *s, uintptr_t addr)
{
    tmt_reftrace_sync(); /* CPython's tracemalloc may have taken it */
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
/* One walk of the live tables: each trace's traceback is interned into s
 * (in export_tables' order, so the ids are the whole path's), its sums
 * kept for STAT, and the trace goes to libtms's writer STREAM_CHUNK at a
 * time, behind the dictionary entries interned so far (the writer sorts
 * and compresses per TMS_TRACE_CHUNK).  The peak, stats, function names,
 * metrics and meta follow the traces in the file (SPEC §3: any order,
 * ids defined before use).  The tables cannot change meanwhile: the GIL
 * is held from the walk to the rename, and nothing here runs Python or
 * allocates through it. */
#define STREAM_CHUNK 4096u
#define FORWARD(call)             \
    do {                          \
        int r_ = (call);          \
        if (r_ < 0)               \
            return r_;            \
    } while (0)

typedef struct streamer {
    export_run e;
    tms_writer *w;
    tms_dict_pos given;
    tms_error *err;
    tms_trace chunk[STREAM_CHUNK];
    size_t n;
} streamer;

static int stream_flush(streamer *st)
{
    size_t n = st->n;
    st->n = 0;
    FORWARD(tms_writer_add_dicts_of(st->w, st->e.x.s, &st->given,
                                        st->err));
    return tms_writer_add_traces(st->w, st->chunk, n, st->err);
}

static int stream_trace_cb(void *ctx, const tmt_trace *e, uint32_t domain)
{
    streamer *st = ctx;
    tms_trace *out = &st->chunk[st->n];
    int r = export_one(&st->e.x, st->e.per_tb, e, domain, TMT_EXPORT_DICT,
                       &out->traceback);
    if (r < 0)
        return tms_fail(st->err, r, "cannot export a traceback: %s",
                        tms_strerror(r));
    out->address = e->addr;
    out->size = e->size;
    out->domain = domain;
    return ++st->n < STREAM_CHUNK ? 0 : stream_flush(st);
}

/* The walk and everything after it, into the open writer. */
static int stream_all(streamer *st, const char *count_metric)
{
    tms_snapshot *s = st->e.x.s;
    tms_writer_trust_unique_addresses(st->w);   /* keyed by address */
    FORWARD(tms_writer_begin_traces(st->w, st->err));
    FORWARD(each_live_trace(stream_trace_cb, st));
    if (st->n)
        FORWARD(stream_flush(st));
    int r = export_finish(&st->e);
    if (r == 0 && count_metric != NULL &&
        (r = tms_snapshot_add_metric(s, count_metric, TMS_FORMAT_INT,
                                     TMS_VALUE_INT,
                                     (int64_t)st->e.x.ntraces, 0.0)) < 0)
        return tms_fail(st->err, r, "metric '%s' already exists",
                        count_metric);
    if (r < 0)
        return tms_fail(st->err, r, "cannot export: %s", tms_strerror(r));
    FORWARD(tms_writer_add_dicts_of(st->w, s, &st->given, st->err));
    FORWARD(tms_writer_add_functions_of(st->w, s, st->err));
    if (s->has_peak)
        FORWARD(tms_writer_add_peak(st->w, &s->peak, s->peak_entries,
                                        (size_t)s->npeak, st->err));
    FORWARD(tms_writer_add_stats(st->w, s->stats, (size_t)s->nstats,
                                     st->err));
    FORWARD(tms_writer_add_metrics(st->w, s->metrics, s->nmetrics,
                                       st->err));
    return tms_writer_add_meta(st->w, s->meta, s->nmeta, st->err);
}

/* The streamed write without Python: 0, or a TMS_E_* code with err
 * filled (err->sys_errno: the errno of a failed system call).  opened
 * (or NULL) is called once the file is created. */
static int write_streamed(tms_snapshot *s, const char *path,
                          const char *count_metric, tmt_opened_fn opened,
                          void *ctx, tms_error *err)
{
    int rc;
    streamer *st = tmt_calloc(1, sizeof *st);
    if (st == NULL)
        return tms_fail(err, TMS_E_NOMEM, "out of memory");
    st->err = err;
    if (!frozen)
        fill_header(&s->header);
    errno = 0;
    rc = tms_writer_open_path(&st->w, path, &s->header, err);
    if (rc == 0 && opened != NULL)
        opened(ctx, tms_writer_temp_name(st->w));
    if (rc == 0 && (rc = export_open(&st->e, s, TMT_EXPORT_DICT)) < 0)
        tms_fail(err, rc, "out of memory");
    if (rc == 0)
        rc = stream_all(st, count_metric);
    if (rc == 0) {
        rc = tms_writer_close(st->w, err);
        st->w = NULL;
    }
    if (rc < 0 && err->sys_errno == 0)
        err->sys_errno = errno;
    tms_writer_abort(st->w);
    export_free(&st->e);
    tmt_free(st);
    return rc;
}

int tmt_core_write_live(struct tms_snapshot *s, const char *path,
                        PyObject *path_obj, const char *count_metric)
{
    tms_error err = {0, "", 0};
    int rc = write_streamed(s, path, count_metric, NULL, NULL, &err);
    if (rc == 0)
        return 0;
    if (rc == TMS_E_ARG && count_metric != NULL &&
        strstr(err.msg, "already exists") != NULL)
        PyErr_SetString(PyExc_ValueError, err.msg);
    else
        tmt_raise_tms(rc, &err, err.sys_errno, path_obj);
    return -1;
}

/* The stats-only write (tmt_core_export(s, 0) + tms_snapshot_save),
 * through an open writer so that opened sees the file. */
static int write_stats(tms_snapshot *s, const char *path,
                       tmt_opened_fn opened, void *ctx, tms_error *err)
{
    tms_writer *w = NULL;
    int rc = export_tables(s, 0, NULL);
    if (rc < 0)
        return tms_fail(err, rc, "cannot export: %s", tms_strerror(rc));
    errno = 0;
    rc = tms_writer_open_path(&w, path, &s->header, err);
    if (rc == 0 && opened != NULL)
        opened(ctx, tms_writer_temp_name(w));
    if (rc == 0)
        rc = tms_writer_add_snapshot(w, s, err);
    if (rc == 0) {
        rc = tms_writer_close(w, err);
        w = NULL;
    }
    if (rc < 0 && err->sys_errno == 0)
        err->sys_errno = errno;
    tms_writer_abort(w);
    return rc;
}

int tmt_core_write_frozen(struct tms_snapshot *s, const char *path,
                          int traces, const char *count_metric,
                          tmt_opened_fn opened, void *ctx,
                          struct tms_error *err)
{
    frozen = 1;
    if (traces)
        return write_streamed(s, path, count_metric, opened, ctx, err);
    return write_stats(s, path, opened, ctx, err);
}
