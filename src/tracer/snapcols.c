/* snapcols.c -- a snapshot as columns, for table writers (the Parquet
 * export, tmtrace/_export.py).
 *
 * Millions of traces cannot go through a Python object each: these
 * functions hand out packed little arrays (bytes of native uint64/uint32/
 * int32) that pyarrow wraps without copying, plus the frame and traceback
 * tables once.  The sums per site come from libtma (tma_group by
 * traceback), the same rule `tmtool top` uses; nothing is added up here. */
#include "snapapi.h"

#include <stdio.h>
#include <string.h>

/* A bytes object of n items of size elem, filled by the caller through
 * *data.  NULL (exception set) on overflow or OOM. */
static PyObject *packed(size_t n, size_t elem, void **data)
{
    if (n > (size_t)PY_SSIZE_T_MAX / elem)
        return PyErr_NoMemory();
    PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(n * elem));
    if (b != NULL)
        *data = PyBytes_AS_STRING(b);
    return b;
}

static tms_snapshot *snap_of(PyObject *obj)
{
    if (!PyObject_TypeCheck(obj, &tmt_SnapshotData_Type)) {
        PyErr_SetString(PyExc_TypeError, "expected a SnapshotData");
        return NULL;
    }
    return ((tmt_SnapshotData *)obj)->snap;
}

/* export_frames(data) -> (strings, frame_file, frame_line, tb_start,
 * tb_frames, frame_function): strings a list of str; frame_file and
 * frame_function int32 string ids (-1: unknown); frame_line int32 (-1:
 * unknown); tb_start int64 with
 * ntracebacks + 1 offsets into tb_frames (uint32 frame ids, most recent
 * first). */
static PyObject *export_frames(PyObject *mod, PyObject *arg)
{
    (void)mod;
    tms_snapshot *s = snap_of(arg);
    if (s == NULL)
        return NULL;
    PyObject *strs = PyList_New(s->nstrings), *ff = NULL, *fl = NULL;
    PyObject *ts = NULL, *tf = NULL, *fn = NULL, *out = NULL;
    if (strs == NULL)
        return NULL;
    for (uint32_t i = 0; i < s->nstrings; i++) {
        PyObject *u = PyUnicode_DecodeUTF8(s->strings[i].data,
                                           s->strings[i].len, "replace");
        if (u == NULL)
            goto out;
        PyList_SET_ITEM(strs, i, u);
    }
    int32_t *file = NULL, *line = NULL, *func = NULL;
    int64_t *start = NULL;
    uint32_t *frames = NULL;
    uint64_t nframes = s->tb_start != NULL ? s->tb_start[s->ntracebacks] : 0;
    if ((ff = packed(s->nframes, sizeof *file, (void **)&file)) == NULL ||
        (fl = packed(s->nframes, sizeof *line, (void **)&line)) == NULL ||
        (ts = packed((size_t)s->ntracebacks + 1, sizeof *start,
                     (void **)&start)) == NULL ||
        (tf = packed(nframes, sizeof *frames, (void **)&frames)) == NULL ||
        (fn = packed(s->nframes, sizeof *func, (void **)&func)) == NULL)
        goto out;
    for (uint32_t i = 0; i < s->nframes; i++) {
        file[i] = s->frames[i].filename == TMS_NONE ? -1
                                                    : (int32_t)s->frames[i].filename;
        line[i] = s->frames[i].lineno;
        uint32_t name = tms_frame_function(s, i);
        func[i] = name == TMS_NONE ? -1 : (int32_t)name;
    }
    for (uint32_t i = 0; i <= s->ntracebacks; i++)
        start[i] = s->tb_start != NULL ? (int64_t)s->tb_start[i] : 0;
    if (nframes)
        memcpy(frames, s->tb_frames, nframes * sizeof *frames);
    out = PyTuple_Pack(6, strs, ff, fl, ts, tf, fn);
out:
    Py_DECREF(strs);
    Py_XDECREF(ff);
    Py_XDECREF(fl);
    Py_XDECREF(ts);
    Py_XDECREF(tf);
    Py_XDECREF(fn);
    return out;
}

/* A tuple of three new packed arrays of n items each, element sizes e0..e2;
 * *p0..*p2 point at their bytes, which the caller fills before the tuple
 * is seen by anyone.  NULL (exception set) on failure. */
static PyObject *columns3(size_t n, size_t e0, void **p0, size_t e1, void **p1,
                          size_t e2, void **p2)
{
    PyObject *a = packed(n, e0, p0), *b = NULL, *c = NULL, *out = NULL;
    if (a != NULL && (b = packed(n, e1, p1)) != NULL &&
        (c = packed(n, e2, p2)) != NULL)
        out = PyTuple_Pack(3, a, b, c);
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(c);
    return out;
}

/* export_sites(data) -> (traceback, size, count): one entry per traceback
 * holding memory, from libtma's traceback grouping (uint32, uint64,
 * uint64).  The snapshot must have traces. */
static PyObject *export_sites(PyObject *mod, PyObject *arg)
{
    (void)mod;
    tms_snapshot *s = snap_of(arg);
    if (s == NULL)
        return NULL;
    tma_groups g = { 0 };
    tms_error err = { 0, "" };
    int rc = tma_group(s, TMA_BY_TRACEBACK, 0, &g, &err);
    if (rc < 0)
        return tmt_raise_tms(rc, &err, 0, NULL);
    uint32_t *tb = NULL;
    uint64_t *size = NULL, *count = NULL;
    PyObject *out = columns3(g.n, sizeof *tb, (void **)&tb, sizeof *size,
                             (void **)&size, sizeof *count, (void **)&count);
    for (size_t i = 0; out != NULL && i < g.n; i++) {
        tb[i] = g.items[i].key.traceback;
        size[i] = g.items[i].size;
        count[i] = g.items[i].count;
    }
    tma_groups_free(&g);
    return out;
}

/* export_stats(data) -> (frame, size, count): the per-line statistics
 * (uint32 frame ids, uint64, uint64), for snapshots without traces. */
static PyObject *export_stats(PyObject *mod, PyObject *arg)
{
    (void)mod;
    tms_snapshot *s = snap_of(arg);
    if (s == NULL)
        return NULL;
    uint32_t *fr = NULL;
    uint64_t *size = NULL, *count = NULL;
    PyObject *out = columns3(s->nstats, sizeof *fr, (void **)&fr, sizeof *size,
                             (void **)&size, sizeof *count, (void **)&count);
    for (uint64_t i = 0; out != NULL && i < s->nstats; i++) {
        fr[i] = s->stats[i].frame;
        size[i] = s->stats[i].size;
        count[i] = s->stats[i].count;
    }
    return out;
}

/* export_traces(data) -> (address, size, traceback): uint64, uint64,
 * uint32, one entry per trace; None without traces. */
static PyObject *export_traces(PyObject *mod, PyObject *arg)
{
    (void)mod;
    tms_snapshot *s = snap_of(arg);
    if (s == NULL)
        return NULL;
    if (!s->has_traces)
        Py_RETURN_NONE;
    uint64_t *addr = NULL, *size = NULL;
    uint32_t *tb = NULL;
    PyObject *out = columns3(s->ntraces, sizeof *addr, (void **)&addr,
                             sizeof *size, (void **)&size, sizeof *tb,
                             (void **)&tb);
    for (uint64_t i = 0; out != NULL && i < s->ntraces; i++) {
        addr[i] = s->traces[i].address;
        size[i] = s->traces[i].size;
        tb[i] = s->traces[i].traceback;
    }
    return out;
}

/* export_trace_estimates(data) -> (size, count, weight): per trace (in
 * export_traces' order) what the block stands for by libtma's rule
 * (tma_sample_estimate: uint64 bytes and blocks, which sum to tmtool
 * top's figures) and its weight 1/p (float64; 1 in an exact file).  None
 * without traces. */
static PyObject *export_trace_estimates(PyObject *mod, PyObject *arg)
{
    (void)mod;
    tms_snapshot *s = snap_of(arg);
    if (s == NULL)
        return NULL;
    if (!s->has_traces)
        Py_RETURN_NONE;
    uint64_t iv = s->header.sample_interval, *size = NULL, *count = NULL;
    double *weight = NULL;
    PyObject *cols = columns3(s->ntraces, sizeof *size, (void **)&size,
                              sizeof *count, (void **)&count,
                              sizeof *weight, (void **)&weight);
    for (uint64_t i = 0; cols != NULL && i < s->ntraces; i++) {
        const tms_trace *t = &s->traces[i];
        tma_sample_estimate(iv, t->size, t->address, &size[i], &count[i]);
        weight[i] = tma_sample_weight(t->size, iv);
    }
    return cols;
}

/* export_sample_interval(data) -> the mean sampling interval in bytes
 * the file's traces were sampled with (SPEC §4.12), 0 if exact. */
static PyObject *export_sample_interval(PyObject *mod, PyObject *arg)
{
    (void)mod;
    tms_snapshot *s = snap_of(arg);
    if (s == NULL)
        return NULL;
    return PyLong_FromUnsignedLongLong(s->header.sample_interval);
}

/* export_stack_rows(data, tracebacks) -> (offsets, function, file, line):
 * for n rows given as packed uint32 traceback ids, the rows' tracebacks
 * laid out as a list column of frames: offsets int64[n + 1]; then, per
 * frame (most recent first), int32 function and file string ids (-1:
 * unknown) and int32 line (-1: unknown).  Done here because repeating a
 * traceback per row in Python, or through pyarrow's take on a struct of
 * dictionaries, is 10 to 50 times slower. */
static PyObject *export_stack_rows(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *obj, *cols[4] = { NULL, NULL, NULL, NULL }, *out = NULL;
    Py_buffer ids;
    if (!PyArg_ParseTuple(args, "Oy*:export_stack_rows", &obj, &ids))
        return NULL;
    tms_snapshot *s = snap_of(obj);
    size_t n = (size_t)ids.len / sizeof(uint32_t), total = 0;
    const uint32_t *tb = ids.buf;
    if (s == NULL)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (tb[i] >= s->ntracebacks) {
            PyErr_Format(PyExc_ValueError, "traceback id %u out of range",
                         (unsigned)tb[i]);
            goto done;
        }
        total += tms_traceback_len(s, tb[i]);
    }
    /* set by packed(); NULL first so that gcc -O3 sees them set */
    int64_t *off = NULL;
    int32_t *func = NULL, *file = NULL, *line = NULL;
    if ((cols[0] = packed(n + 1, sizeof *off, (void **)&off)) == NULL ||
        (cols[1] = packed(total, sizeof *func, (void **)&func)) == NULL ||
        (cols[2] = packed(total, sizeof *file, (void **)&file)) == NULL ||
        (cols[3] = packed(total, sizeof *line, (void **)&line)) == NULL)
        goto done;
    size_t k = 0;
    off[0] = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t len = tms_traceback_len(s, tb[i]);
        const uint32_t *fr = tms_traceback_frames(s, tb[i]);
        for (uint32_t j = 0; j < len; j++, k++) {
            uint32_t name = tms_frame_function(s, fr[j]);
            const tms_frame *f = &s->frames[fr[j]];
            func[k] = name == TMS_NONE ? -1 : (int32_t)name;
            file[k] = f->filename == TMS_NONE ? -1 : (int32_t)f->filename;
            line[k] = f->lineno;
        }
        off[i + 1] = (int64_t)k;
    }
    out = PyTuple_Pack(4, cols[0], cols[1], cols[2], cols[3]);
done:
    for (int c = 0; c < 4; c++)
        Py_XDECREF(cols[c]);
    PyBuffer_Release(&ids);
    return out;
}

/* export_peak(data) -> None without a peak (format 1.1), else
 * (peak_size, recorded_size, traceback, size, count): the high-water mark,
 * the traced size when the state was recorded, and that state, one entry
 * per traceback (uint32, uint64, uint64). */
static PyObject *export_peak(PyObject *mod, PyObject *arg)
{
    (void)mod;
    tms_snapshot *s = snap_of(arg);
    if (s == NULL)
        return NULL;
    if (!s->has_peak)
        Py_RETURN_NONE;
    uint32_t *tb = NULL;
    uint64_t *size = NULL, *count = NULL;
    PyObject *cols = columns3(s->npeak, sizeof *tb, (void **)&tb, sizeof *size,
                              (void **)&size, sizeof *count, (void **)&count);
    if (cols == NULL)
        return NULL;
    for (uint64_t i = 0; i < s->npeak; i++) {
        tb[i] = s->peak_entries[i].traceback;
        size[i] = s->peak_entries[i].size;
        count[i] = s->peak_entries[i].count;
    }
    PyObject *out = Py_BuildValue("KKOOO", (unsigned long long)s->peak.size,
                                  (unsigned long long)s->peak.recorded_size,
                                  PyTuple_GET_ITEM(cols, 0),
                                  PyTuple_GET_ITEM(cols, 1),
                                  PyTuple_GET_ITEM(cols, 2));
    Py_DECREF(cols);
    return out;
}

/* export_series_id(data) -> the 16-byte series id as 32 hex digits. */
static PyObject *export_series_id(PyObject *mod, PyObject *arg)
{
    (void)mod;
    tms_snapshot *s = snap_of(arg);
    if (s == NULL)
        return NULL;
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", s->header.series_id[i]);
    return PyUnicode_FromStringAndSize(hex, 32);
}

PyMethodDef tmt_export_methods[] = {
    {"export_stack_rows", export_stack_rows, METH_VARARGS,
     "export_stack_rows(data, tracebacks) -> (offsets, function, file, "
     "line) of a list column"},
    {"export_peak", export_peak, METH_O,
     "export_peak(data) -> None, or (peak_size, recorded_size, traceback, "
     "size, count) of the state recorded at the peak"},
    {"export_series_id", export_series_id, METH_O,
     "export_series_id(data) -> the series id, 32 hex digits"},
    {"export_frames", export_frames, METH_O,
     "export_frames(data) -> (strings, frame_file, frame_line, tb_start, "
     "tb_frames) as packed arrays"},
    {"export_sites", export_sites, METH_O,
     "export_sites(data) -> (traceback, size, count) per traceback (libtma)"},
    {"export_stats", export_stats, METH_O,
     "export_stats(data) -> (frame, size, count) per line statistic"},
    {"export_traces", export_traces, METH_O,
     "export_traces(data) -> (address, size, traceback) per trace, or None"},
    {"export_trace_estimates", export_trace_estimates, METH_O,
     "export_trace_estimates(data) -> (size, count, weight): "
     "what each trace stands for (libtma's sampling rule), or None"},
    {"export_sample_interval", export_sample_interval, METH_O,
     "export_sample_interval(data) -> mean sampling interval, 0 if exact"},
    {NULL, NULL, 0, NULL},
};
