/* tracemod.c -- the trace and filter functions of PEP 454 on _tmtrace.
 *
 * Queries (GIL held) apply the pending map, copy what they need from the
 * tables, then build Python objects ("quiet": the query's own blocks are not
 * traced, so nothing is interned while ids are being read).  Table arrays
 * may still move if Python code runs (a finalizer): entries are always
 * reached by index, and a reset is detected by the generation. */
#include "core.h"

#include "tmt_alloc.h"

static PyObject *filter_records; /* list of (include, pattern, lineno, traceback) */

static PyObject *cleared_error(void)
{
    PyErr_SetString(PyExc_RuntimeError, "traces were cleared during the query");
    return NULL;
}

/* ---- building tracebacks ------------------------------------------------ */

typedef struct query {
    uint32_t gen;
    uint32_t nframes;
    PyObject **frame_objs; /* cache: (filename, lineno) per frame id */
} query;

static int query_begin(query *q)
{
    q->gen = tmt_generation;
    q->nframes = tmt_T.nframes;
    q->frame_objs = NULL;
    if (q->nframes) {
        q->frame_objs = tmt_calloc(q->nframes, sizeof(PyObject *));
        if (q->frame_objs == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    return 0;
}

static void query_end(query *q)
{
    for (uint32_t i = 0; i < q->nframes; i++)
        Py_XDECREF(q->frame_objs[i]);
    tmt_free(q->frame_objs);
}

static PyObject *frame_obj(query *q, uint32_t fid)
{
    if (fid < q->nframes && q->frame_objs[fid]) {
        Py_INCREF(q->frame_objs[fid]);
        return q->frame_objs[fid];
    }
    tmt_frame *fr = &tmt_T.frames[fid];
    int32_t line = tmt_frame_line(fr);
    PyObject *fn = tmt_code_filename(tmt_T.codes[fr->code].code);
    if (fn == NULL || !PyUnicode_Check(fn))
        fn = Py_None;
    PyObject *t = line >= 0 ? Py_BuildValue("(Oi)", fn, (int)line)
                            : Py_BuildValue("(OO)", fn, Py_None);
    if (t != NULL && fid < q->nframes) {
        Py_INCREF(t);
        q->frame_objs[fid] = t;
    }
    return t;
}

/* Traceback tb as a tuple or a list of (filename, lineno). */
static PyObject *tb_obj(query *q, uint32_t tb, int as_list)
{
    if (q->gen != tmt_generation)
        return cleared_error();
    uint32_t n = tmt_T.tbs[tb].nframes;
    PyObject *r = as_list ? PyList_New(n) : PyTuple_New(n);
    if (r == NULL)
        return NULL;
    for (uint32_t k = 0; k < n; k++) {
        if (q->gen != tmt_generation) {
            Py_DECREF(r);
            return cleared_error();
        }
        uint32_t fid = tmt_T.tb_frames[tmt_T.tbs[tb].start + k];
        PyObject *f = frame_obj(q, fid);
        if (f == NULL) {
            Py_DECREF(r);
            return NULL;
        }
        if (as_list)
            PyList_SET_ITEM(r, k, f);
        else
            PyTuple_SET_ITEM(r, k, f);
    }
    return r;
}

/* ---- functions ---------------------------------------------------------- */

static PyObject *f_enable(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (tmt_hooks_enable() < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *f_disable(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tmt_hooks_disable();
    Py_RETURN_NONE;
}

static PyObject *f_is_enabled(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(tmt_tracing);
}

static PyObject *f_clear_traces(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tmt_clear_traces();
    Py_RETURN_NONE;
}

static PyObject *f_get_traced_memory(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tmt_drain_if_needed();
    size_t size = tmt_T.traced, peak = tmt_T.peak;
    return Py_BuildValue("(nn)", (Py_ssize_t)size, (Py_ssize_t)peak);
}

static PyObject *f_get_traceback_limit(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromLong(tmt_limit);
}

static PyObject *f_set_traceback_limit(PyObject *self, PyObject *arg)
{
    (void)self;
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (n < 1 || n > TMT_MAX_LIMIT) {
        PyErr_Format(PyExc_ValueError,
                     "the traceback limit must be in the range [1; %d]",
                     TMT_MAX_LIMIT);
        return NULL;
    }
    __atomic_store_n(&tmt_limit, (int)n, __ATOMIC_RELAXED);
    tmt_filter_gen++; /* the filters' traceback flag depends on the limit */
    Py_RETURN_NONE;
}

static PyObject *trace_of(uintptr_t addr)
{
    if (!tmt_tracing)
        Py_RETURN_NONE;
    tmt_drain_if_needed();
    tmt_trace *e = tmt_trace_find(addr);
    tmt_trace t = e ? *e : (tmt_trace){0, 0, 0};
    if (e == NULL)
        Py_RETURN_NONE;
    int was = tmt_quiet(1);
    query q;
    PyObject *r = NULL;
    if (query_begin(&q) == 0) {
        PyObject *tb = tb_obj(&q, t.tb, 0);
        if (tb != NULL)
            r = Py_BuildValue("(nN)", (Py_ssize_t)t.size, tb);
        query_end(&q);
    }
    tmt_quiet(was);
    return r;
}

static PyObject *f_get_trace(PyObject *self, PyObject *arg)
{
    (void)self;
    uintptr_t addr = (uintptr_t)PyLong_AsVoidPtr(arg);
    if (addr == 0 && PyErr_Occurred())
        return NULL;
    return trace_of(addr);
}

static PyObject *f_get_object_address(PyObject *self, PyObject *obj)
{
    (void)self;
    return PyLong_FromVoidPtr((void *)tmt_object_address(obj));
}

static PyObject *f_get_object_trace(PyObject *self, PyObject *obj)
{
    (void)self;
    return trace_of(tmt_object_address(obj));
}

/* Copy the live traces (the query then builds objects from the copy). */
static tmt_trace *copy_traces(size_t *n)
{
    tmt_drain_if_needed();
    size_t cap = tmt_T.tcount ? tmt_T.tcount : 1;
    tmt_trace *arr = tmt_malloc(cap * sizeof *arr);
    size_t k = 0;
    if (arr != NULL)
        for (size_t i = 0; i < tmt_T.tcap; i++)
            if (tmt_T.traces[i].addr)
                arr[k++] = tmt_T.traces[i];
    *n = k;
    return arr;
}

static PyObject *f_get_traces(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!tmt_tracing)
        return PyDict_New();
    int was = tmt_quiet(1);
    size_t n;
    query q;
    PyObject *d = NULL;
    tmt_trace *arr = copy_traces(&n);
    if (arr == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (query_begin(&q) < 0)
        goto done;
    d = PyDict_New();
    for (size_t i = 0; d != NULL && i < n; i++) {
        PyObject *key = PyLong_FromVoidPtr((void *)arr[i].addr);
        PyObject *tb = tb_obj(&q, arr[i].tb, 1);
        PyObject *v = tb ? Py_BuildValue("(nN)", (Py_ssize_t)arr[i].size, tb)
                         : NULL;
        if (key == NULL || v == NULL || PyDict_SetItem(d, key, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(key);
        Py_XDECREF(v);
    }
    query_end(&q);
done:
    tmt_free(arr);
    tmt_quiet(was);
    return d;
}

/* Add (size, count) into stats[filename][lineno]. */
static int stats_add(PyObject *stats, PyObject *fn, PyObject *line,
                     uint64_t size, uint64_t count)
{
    PyObject *inner = PyDict_GetItemWithError(stats, fn);
    if (inner == NULL) {
        if (PyErr_Occurred())
            return -1;
        inner = PyDict_New();
        if (inner == NULL || PyDict_SetItem(stats, fn, inner) < 0) {
            Py_XDECREF(inner);
            return -1;
        }
        Py_DECREF(inner);
    }
    PyObject *old = PyDict_GetItemWithError(inner, line);
    if (old == NULL && PyErr_Occurred())
        return -1;
    if (old != NULL) {
        size += PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(old, 0));
        count += PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(old, 1));
    }
    PyObject *v = Py_BuildValue("(KK)", (unsigned long long)size,
                                (unsigned long long)count);
    if (v == NULL)
        return -1;
    int r = PyDict_SetItem(inner, line, v);
    Py_DECREF(v);
    return r;
}

static PyObject *f_get_stats(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!tmt_tracing)
        return PyDict_New();
    int was = tmt_quiet(1);
    PyObject *stats = NULL;
    uint64_t *per_tb = NULL;
    query q = {0, 0, NULL};
    size_t n;
    tmt_trace *arr = copy_traces(&n);
    uint32_t ntbs = tmt_T.ntbs;
    if (arr == NULL || query_begin(&q) < 0 ||
        (per_tb = tmt_calloc(2 * (size_t)ntbs, sizeof *per_tb)) == NULL) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        per_tb[2 * arr[i].tb] += arr[i].size;
        per_tb[2 * arr[i].tb + 1]++;
    }
    stats = PyDict_New();
    for (uint32_t tb = 0; stats != NULL && tb < ntbs; tb++) {
        if (per_tb[2 * tb + 1] == 0)
            continue;
        if (q.gen != tmt_generation) {
            Py_CLEAR(stats);
            cleared_error();
            break;
        }
        PyObject *fn = Py_None, *line = Py_None, *fr = NULL;
        if (tmt_T.tbs[tb].nframes > 0) {
            fr = frame_obj(&q, tmt_T.tb_frames[tmt_T.tbs[tb].start]);
            if (fr == NULL) {
                Py_CLEAR(stats);
                break;
            }
            fn = PyTuple_GET_ITEM(fr, 0);
            line = PyTuple_GET_ITEM(fr, 1);
        }
        if (stats_add(stats, fn, line, per_tb[2 * tb], per_tb[2 * tb + 1]) < 0)
            Py_CLEAR(stats);
        Py_XDECREF(fr);
    }
done:
    query_end(&q);
    tmt_free(per_tb);
    tmt_free(arr);
    tmt_quiet(was);
    return stats;
}

/* ---- filters ------------------------------------------------------------ */

static PyObject *f_add_filter(PyObject *self, PyObject *filter)
{
    (void)self;
    PyObject *inc = PyObject_GetAttrString(filter, "include");
    PyObject *pat = inc ? PyObject_GetAttrString(filter, "pattern") : NULL;
    PyObject *lin = pat ? PyObject_GetAttrString(filter, "lineno") : NULL;
    PyObject *trb = lin ? PyObject_GetAttrString(filter, "traceback") : NULL;
    PyObject *rec = NULL, *res = NULL;
    if (trb == NULL)
        goto done;
    if (!PyUnicode_Check(pat)) {
        PyErr_SetString(PyExc_TypeError, "filter pattern must be a str");
        goto done;
    }
    long lineno = TMS_LINENO_NONE;
    if (lin != Py_None) {
        lineno = PyLong_AsLong(lin);
        if (lineno == -1 && PyErr_Occurred())
            goto done;
        if (lineno < 1 || lineno > INT32_MAX)
            lineno = TMS_LINENO_NONE; /* "None or less than 1: any line" */
    }
    int include = PyObject_IsTrue(inc), traceback = PyObject_IsTrue(trb);
    Py_ssize_t plen;
    const char *p = PyUnicode_AsUTF8AndSize(pat, &plen);
    if (include < 0 || traceback < 0 || p == NULL)
        goto done;
    rec = Py_BuildValue("(OOOO)", include ? Py_True : Py_False, pat, lin,
                        traceback ? Py_True : Py_False);
    if (rec == NULL || PyList_Append(filter_records, rec) < 0)
        goto done;
    if (tmt_filters_append(include, p, (size_t)plen, (int32_t)lineno,
                           traceback) < 0) {
        PyList_SetSlice(filter_records, PyList_GET_SIZE(filter_records) - 1,
                        PyList_GET_SIZE(filter_records), NULL);
        PyErr_NoMemory();
        goto done;
    }
    res = Py_None;
    Py_INCREF(res);
done:
    Py_XDECREF(inc);
    Py_XDECREF(pat);
    Py_XDECREF(lin);
    Py_XDECREF(trb);
    Py_XDECREF(rec);
    return res;
}

static PyObject *f_clear_filters(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tmt_filters_clear();
    if (PyList_SetSlice(filter_records, 0, PyList_GET_SIZE(filter_records),
                        NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *f_get_filter_records(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyList_GetSlice(filter_records, 0, PyList_GET_SIZE(filter_records));
}

/* The default exclusive filter on the module's own files, added once per
 * process (the package calls this at import; clear_filters removes it
 * for good, as the PEP says). */
static PyObject *f_init_default_filter(PyObject *self, PyObject *filter)
{
    static int done;
    if (done)
        Py_RETURN_NONE;
    done = 1;
    return f_add_filter(self, filter);
}

/* ---- memory of the module, fork ---------------------------------------- */

static PyObject *f_get_tracemalloc_memory(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tmt_drain_if_needed();
    tmt_lock();
    size_t size = __atomic_load_n(&tmt_alloc_bytes, __ATOMIC_RELAXED);
    size_t free_bytes = tmt_tables_free_bytes();
    tmt_unlock();
    return Py_BuildValue("(nn)", (Py_ssize_t)size, (Py_ssize_t)free_bytes);
}

static PyObject *f_get_arena_size(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tmt_lock();
    size_t n = tmt_arena_size;
    tmt_unlock();
    return PyLong_FromSize_t(n);
}

static PyObject *f_get_series_id(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBytes_FromStringAndSize((const char *)tmt_series_id(), 16);
}

static PyObject *f_after_fork_child(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tmt_hooks_disable();
    tmt_tstates_free_others();
    Py_RETURN_NONE;
}

static PyMethodDef core_methods[] = {
    {"enable", f_enable, METH_NOARGS, "Start tracing Python memory allocations."},
    {"disable", f_disable, METH_NOARGS, "Stop tracing and clear the traces."},
    {"is_enabled", f_is_enabled, METH_NOARGS, "True if tracing."},
    {"clear_traces", f_clear_traces, METH_NOARGS,
     "Clear traces, the traced-memory peak and the arena counter."},
    {"get_traced_memory", f_get_traced_memory, METH_NOARGS,
     "(size, max_size) of traced blocks."},
    {"get_traceback_limit", f_get_traceback_limit, METH_NOARGS, NULL},
    {"set_traceback_limit", f_set_traceback_limit, METH_O, NULL},
    {"get_trace", f_get_trace, METH_O,
     "(size, traceback tuple) of the block at address, or None."},
    {"get_traces", f_get_traces, METH_NOARGS,
     "{address: (size, traceback list)}; {} when disabled."},
    {"get_object_address", f_get_object_address, METH_O, NULL},
    {"get_object_trace", f_get_object_trace, METH_O, NULL},
    {"get_stats", f_get_stats, METH_NOARGS,
     "{filename: {lineno: (size, count)}}; {} when disabled."},
    {"add_filter", f_add_filter, METH_O, NULL},
    {"clear_filters", f_clear_filters, METH_NOARGS, NULL},
    {"_get_filter_records", f_get_filter_records, METH_NOARGS,
     "[(include, pattern, lineno, traceback)] as added."},
    {"_init_default_filter", f_init_default_filter, METH_O, NULL},
    {"get_tracemalloc_memory", f_get_tracemalloc_memory, METH_NOARGS,
     "(size, free) bytes of the module's own memory."},
    {"get_arena_size", f_get_arena_size, METH_NOARGS, NULL},
    {"get_series_id", f_get_series_id, METH_NOARGS,
     "16 random bytes shared by this process's snapshots."},
    {"_after_fork_child", f_after_fork_child, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

int tmt_core_init(PyObject *module)
{
    if (tmt_fork_init() < 0) {
        PyErr_SetString(PyExc_OSError, "_tmtrace: cannot set up fork handling");
        return -1;
    }
    filter_records = PyList_New(0);
    if (filter_records == NULL ||
        PyModule_AddFunctions(module, core_methods) < 0 ||
        tmt_metrics_init(module) < 0)
        return -1;
    /* The PEP's fork rule: the child releases everything, with its GIL. */
    PyObject *os = PyImport_ImportModule("os");
    PyObject *reg = os ? PyObject_GetAttrString(os, "register_at_fork") : NULL;
    PyObject *fn = reg ? PyObject_GetAttrString(module, "_after_fork_child") : NULL;
    PyObject *kw = fn ? Py_BuildValue("{sO}", "after_in_child", fn) : NULL;
    PyObject *args = kw ? PyTuple_New(0) : NULL;
    PyObject *r = args ? PyObject_Call(reg, args, kw) : NULL;
    Py_XDECREF(os);
    Py_XDECREF(reg);
    Py_XDECREF(fn);
    Py_XDECREF(kw);
    Py_XDECREF(args);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}
