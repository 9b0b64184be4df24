/* tracemod.c -- the trace and filter functions of PEP 454 on _tmtrace.
 *
 * Queries (GIL held) copy the tables into a snapshot with
 * tmt_core_export, the path Snapshot.create takes, then build Python
 * objects with snapconv.c's builders, the ones Snapshot's dicts use: one
 * way from the tables to Python.  They run "quiet": the query's own
 * blocks are not traced.  A Python Filter becomes a C filter through
 * filterbind.c's converter, the one Filter.match uses. */
#include "core.h"
#include "snapapi.h"
#include "tmt_alloc.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static PyObject *filter_records; /* list of (include, pattern, lineno, traceback) */

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
    return PyBool_FromLong(tmt_is_tracing());
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
    size_t size, peak;
    tmt_core_traced_memory(&size, &peak);
    return Py_BuildValue("(nn)", (Py_ssize_t)size, (Py_ssize_t)peak);
}

/* CPython's tracemalloc.reset_peak(): the peak becomes the current size;
 * here the recorded peak state (peak.c) becomes the current state too. */
static PyObject *f_reset_peak(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (tmt_S.tracing)
        tmt_peak_reset();
    Py_RETURN_NONE;
}

/* _set_root_codes(codes): frames of code from the same files as these code
 * objects, and every older frame, are left out of tracebacks (the
 * runner's, see frames.c); () keeps all.  The per-thread caches compare
 * frames, so tracebacks interned before stay valid. */
static PyObject *f_set_root_codes(PyObject *self, PyObject *codes)
{
    (void)self;
    PyObject *files[TMT_ROOT_FILES];
    int n = 0;
    if (!PyTuple_Check(codes)) {
        PyErr_SetString(PyExc_TypeError, "_set_root_codes needs a tuple");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(codes); i++) {
        PyObject *c = PyTuple_GET_ITEM(codes, i);
        if (!PyCode_Check(c)) {
            PyErr_SetString(PyExc_TypeError, "_set_root_codes needs code "
                            "objects");
            return NULL;
        }
        PyObject *fn = ((PyCodeObject *)c)->co_filename;
        int seen = 0;
        for (int k = 0; k < n; k++)
            seen |= files[k] == fn;
        if (seen)
            continue;
        if (n == TMT_ROOT_FILES) {
            PyErr_SetString(PyExc_ValueError, "too many root files");
            return NULL;
        }
        files[n++] = fn;
    }
    PyObject *old[TMT_ROOT_FILES];
    int nold = tmt_S.nroot_files;
    memcpy(old, tmt_S.root_files, sizeof old);
    tmt_S.nroot_files = 0;   /* the hook reads these under the GIL we hold */
    for (int k = 0; k < n; k++) {
        Py_INCREF(files[k]);
        tmt_S.root_files[k] = files[k];
    }
    tmt_S.nroot_files = n;
    for (int k = 0; k < nold; k++)
        Py_DECREF(old[k]);
    Py_RETURN_NONE;
}

static PyObject *f_get_traceback_limit(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromLong(tmt_traceback_limit());
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
    tmt_set_traceback_limit((int)n);
    Py_RETURN_NONE;
}

/* set_sampling(interval, seed=None): mean bytes between sampled blocks
 * (0: every block, the PEP's exact semantics).  Not a PEP 454 function. */
static PyObject *f_set_sampling(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *iv_obj, *seed_obj = Py_None;
    if (!PyArg_ParseTuple(args, "O|O:set_sampling", &iv_obj, &seed_obj))
        return NULL;
    /* OverflowError for a negative interval, TypeError for a non-int */
    unsigned long long interval = PyLong_AsUnsignedLongLong(iv_obj);
    if (interval == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (interval > ((unsigned long long)1 << 50)) {
        PyErr_SetString(PyExc_ValueError,
                        "the sampling interval must be at most 1 PiB");
        return NULL;
    }
    uint64_t seed;
    if (seed_obj == Py_None) {
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed)
            seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    } else {
        seed = PyLong_AsUnsignedLongLongMask(seed_obj);
        if (seed == (uint64_t)-1 && PyErr_Occurred())
            return NULL;
    }
    tmt_set_sampling((size_t)interval, seed);
    Py_RETURN_NONE;
}

static PyObject *f_get_sampling(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromSize_t(tmt_S.sample_interval);
}

/* set_native(on): trace native allocations (native.c).  Not PEP 454. */
static PyObject *f_set_native(PyObject *self, PyObject *on)
{
    (void)self;
    int v = PyObject_IsTrue(on);
    if (v < 0)
        return NULL;
    if (tmt_native_set(v) < 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "native allocations cannot be traced on this platform");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *f_is_native(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyBool_FromLong(tmt_S.native);
}

/* The live tables copied (all traces, or the one at addr) and made into
 * Python objects by the builders Snapshot uses.  NULL with an exception. */
static tms_snapshot *query_snapshot(int what, uintptr_t addr, int *found)
{
    tms_snapshot *s = tms_snapshot_new();
    if (s == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    int rc = what == 2 ? tmt_core_export_trace(s, addr)
                       : tmt_core_export(s, what);
    if (rc < 0) {
        tms_snapshot_free(s);
        return NULL;
    }
    if (found)
        *found = rc;
    return s;
}

static PyObject *trace_of(uintptr_t addr)
{
    if (!tmt_is_tracing())
        Py_RETURN_NONE;
    int was = tmt_quiet(1), found = 0;
    PyObject *r = NULL, *traces = NULL;
    tms_snapshot *s = query_snapshot(2, addr, &found);
    if (s != NULL && !found) {
        r = Py_None;
        Py_INCREF(r);
    } else if (s != NULL && (traces = tmt_build_traces(s, 0)) != NULL) {
        /* {addr: (size, traceback)} with one entry: its value */
        Py_ssize_t pos = 0;
        PyObject *key;
        if (PyDict_Next(traces, &pos, &key, &r))
            Py_INCREF(r);
        else
            r = PyErr_Format(PyExc_RuntimeError, "trace not exported");
    }
    Py_XDECREF(traces);
    tms_snapshot_free(s);
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

static PyObject *f_get_traces(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!tmt_is_tracing())
        return PyDict_New();
    int was = tmt_quiet(1);
    tms_snapshot *s = query_snapshot(1, 0, NULL);
    PyObject *d = s ? tmt_build_traces(s, 1) : NULL;
    tms_snapshot_free(s);
    tmt_quiet(was);
    return d;
}

static PyObject *f_get_stats(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    if (!tmt_is_tracing())
        return PyDict_New();
    int was = tmt_quiet(1);
    tms_snapshot *s = query_snapshot(0, 0, NULL);
    PyObject *d = s ? tmt_build_stats(s) : NULL;
    tms_snapshot_free(s);
    tmt_quiet(was);
    return d;
}

/* ---- filters ------------------------------------------------------------ */

static PyObject *f_add_filter(PyObject *self, PyObject *filter)
{
    (void)self;
    tma_filter f;
    PyObject *keep = NULL, *rec = NULL, *res = NULL, *pat = NULL, *lin = NULL;
    if (tmt_filter_from_py(filter, &f, &keep) < 0)
        return NULL;
    /* What get_filters gives back: the attributes as they were given. */
    pat = PyObject_GetAttrString(filter, "pattern");
    lin = pat ? PyObject_GetAttrString(filter, "lineno") : NULL;
    if (lin == NULL)
        goto done;
    rec = Py_BuildValue("(OOOO)", f.include ? Py_True : Py_False, pat, lin,
                        f.traceback ? Py_True : Py_False);
    if (rec == NULL || PyList_Append(filter_records, rec) < 0)
        goto done;
    if (tmt_filters_append(f.include, f.pattern, f.pattern_len, f.lineno,
                           f.traceback) < 0) {
        PyList_SetSlice(filter_records, PyList_GET_SIZE(filter_records) - 1,
                        PyList_GET_SIZE(filter_records), NULL);
        PyErr_NoMemory();
        goto done;
    }
    res = Py_None;
    Py_INCREF(res);
done:
    Py_XDECREF(keep);
    Py_XDECREF(pat);
    Py_XDECREF(lin);
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
    size_t size = tmt_module_bytes();
    size_t free_bytes = tmt_tables_free_bytes();
    tmt_unlock();
    return Py_BuildValue("(nn)", (Py_ssize_t)size, (Py_ssize_t)free_bytes);
}

static PyObject *f_get_arena_size(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromSize_t(tmt_arena_bytes());
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
    {"reset_peak", f_reset_peak, METH_NOARGS,
     "Set the peak of traced memory to its current size (as CPython's "
     "tracemalloc.reset_peak); the peak picture restarts from now."},
    {"get_traceback_limit", f_get_traceback_limit, METH_NOARGS, NULL},
    {"_set_root_codes", f_set_root_codes, METH_O,
     "Leave frames of code from these code objects' files, and older ones, "
     "out of tracebacks (the runner's; (): keep all)."},
    {"set_traceback_limit", f_set_traceback_limit, METH_O, NULL},
    {"set_sampling", f_set_sampling, METH_VARARGS,
     "set_sampling(interval, seed=None): trace blocks sampled by bytes, one "
     "per interval bytes on average (0: every block); clears the traces"},
    {"get_sampling", f_get_sampling, METH_NOARGS,
     "The sampling interval in bytes (0: every block is traced)."},
    {"set_native", f_set_native, METH_O,
     "set_native(on): also trace what shared libraries and extensions take "
     "from malloc and its family (docs/native.md)."},
    {"is_native", f_is_native, METH_NOARGS,
     "True if native allocations are traced (set_native)."},
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

int tmt_register_at_fork(PyObject *module, const char *before,
                         const char *after_in_parent, const char *after_in_child)
{
    const char *kinds[3] = { "before", "after_in_parent", "after_in_child" };
    const char *names[3] = { before, after_in_parent, after_in_child };
    PyObject *os = PyImport_ImportModule("os");
    PyObject *reg = os ? PyObject_GetAttrString(os, "register_at_fork") : NULL;
    PyObject *kw = reg ? PyDict_New() : NULL;
    PyObject *args = kw ? PyTuple_New(0) : NULL;
    PyObject *r = NULL;
    int ok = args != NULL;
    for (int i = 0; ok && i < 3; i++) {
        if (names[i] == NULL)
            continue;
        PyObject *fn = PyObject_GetAttrString(module, names[i]);
        ok = fn != NULL && PyDict_SetItemString(kw, kinds[i], fn) == 0;
        Py_XDECREF(fn);
    }
    if (ok)
        r = PyObject_Call(reg, args, kw);
    Py_XDECREF(os);
    Py_XDECREF(reg);
    Py_XDECREF(kw);
    Py_XDECREF(args);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

int tmt_core_init(PyObject *module)
{
    if (tmt_fork_init() < 0) {
        PyErr_SetString(PyExc_OSError, "_tmtrace: cannot set up fork handling");
        return -1;
    }
    filter_records = PyList_New(0);
    if (filter_records == NULL ||
        PyModule_AddFunctions(module, core_methods) < 0 ||
        tmt_reftrace_init(module) < 0 ||
        tmt_metrics_init(module) < 0)
        return -1;
    /* The PEP's fork rule: the child releases everything, with its GIL. */
    return tmt_register_at_fork(module, NULL, NULL, "_after_fork_child");
}
