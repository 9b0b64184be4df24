/* snapobj.c -- _tmtrace.SnapshotData: one tms_snapshot behind a Python
 * object, and the module functions that make one.
 *
 * A snapshot of millions of traces stays C arrays: taking, writing,
 * loading, grouping and filtering never build Python objects.  The spec's
 * dicts are built only by build_traces()/build_stats(), when the Python
 * Snapshot's attributes are touched. */
#include "snapapi.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TMT_WRITER_NAME "tmtrace"
#define TMT_WRITER_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------ */

PyObject *tmt_raise_tms(int rc, const tms_error *err, int saved_errno,
                        PyObject *path)
{
    const char *msg = (err != NULL && err->msg[0]) ? err->msg
                                                   : tms_strerror(rc);
    switch (rc) {
    case TMS_E_NOMEM:
        PyErr_SetString(PyExc_MemoryError, msg);
        break;
    case TMS_E_IO:
    case TMS_E_OPEN:
        if (saved_errno != 0) {
            /* OSError(errno, ...) picks the subclass (FileNotFoundError). */
            PyObject *exc = PyObject_CallFunction(
                PyExc_OSError, "isO", saved_errno, msg,
                path != NULL ? path : Py_None);
            if (exc != NULL) {
                PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
                Py_DECREF(exc);
            }
        }
        else {
            PyErr_SetString(PyExc_OSError, msg);
        }
        break;
    case TMS_E_STATE:
        PyErr_SetString(PyExc_RuntimeError, msg);
        break;
    default:
        PyErr_SetString(PyExc_ValueError, msg);
        break;
    }
    return NULL;
}

/* ---- the type ---------------------------------------------------------- */

/* Mutators call this first: write() reads the tables without the GIL. */
static int check_idle(tmt_SnapshotData *self)
{
    if (self->writers == 0)
        return 0;
    PyErr_SetString(PyExc_RuntimeError,
                    "snapshot is being written by another thread");
    return -1;
}

void tmt_snapshot_stamp(struct tms_header *h)
{
    /* "3.11.7 (main, ...)" -> "3.11.7" */
    const char *v = Py_GetVersion();
    size_t n = strcspn(v, " ");
    if (n > TMS_MAX_TEXT_FIELD)
        n = TMS_MAX_TEXT_FIELD;
    memcpy(h->python_version, v, n);
    h->python_version[n] = '\0';
    snprintf(h->writer_name, sizeof h->writer_name, "%s", TMT_WRITER_NAME);
    snprintf(h->writer_version, sizeof h->writer_version, "%s",
             TMT_WRITER_VERSION);
}

PyObject *tmt_snapshotdata_wrap(struct tms_snapshot *s)
{
    tmt_SnapshotData *self =
        PyObject_New(tmt_SnapshotData, &tmt_SnapshotData_Type);
    if (self == NULL) {
        tms_snapshot_free(s);
        return NULL;
    }
    self->snap = s;
    self->writers = 0;
    return (PyObject *)self;
}

static void sd_dealloc(tmt_SnapshotData *self)
{
    tms_snapshot_free(self->snap);
    PyObject_Free(self);
}

static PyObject *new_empty(int64_t timestamp_ns, int64_t pid)
{
    tms_snapshot *s = tms_snapshot_new();
    if (s == NULL)
        return PyErr_NoMemory();
    s->header.timestamp_ns = timestamp_ns;
    s->header.pid = pid;
    tmt_snapshot_stamp(&s->header);
    return tmt_snapshotdata_wrap(s);
}

/* SnapshotData.from_dicts(timestamp_ns, pid, traces, stats,
 *                         traceback_limit) */
static PyObject *sd_from_dicts(PyObject *cls, PyObject *args)
{
    long long ts, pid;
    unsigned int limit;
    PyObject *traces, *stats;
    (void)cls;
    if (!PyArg_ParseTuple(args, "LLOOI:from_dicts", &ts, &pid, &traces,
                          &stats, &limit))
        return NULL;
    tmt_SnapshotData *self = (tmt_SnapshotData *)new_empty(ts, pid);
    if (self == NULL)
        return NULL;
    self->snap->header.traceback_limit = limit;
    if (tmt_fill_from_dicts(self->snap, traces, stats) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* ---- files --------------------------------------------------------------- */

static PyObject *sd_write(tmt_SnapshotData *self, PyObject *arg)
{
    PyObject *path = NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    tms_error err = {0, ""};
    int rc, saved;
    /* Compressing millions of traces takes a while: other threads run
     * meanwhile, and `writers` makes the mutators refuse until done. */
    self->writers++;
    Py_BEGIN_ALLOW_THREADS
    errno = 0;
    rc = tms_snapshot_save(self->snap, PyBytes_AS_STRING(path), &err);
    /* libtms keeps the failed call's errno: cleanup after a refused
     * rename must not turn EPERM into ENOENT */
    saved = err.sys_errno ? err.sys_errno : errno;
    Py_END_ALLOW_THREADS
    self->writers--;
    if (rc < 0) {
        tmt_raise_tms(rc, &err, saved, arg);
        Py_DECREF(path);
        return NULL;
    }
    Py_DECREF(path);
    Py_RETURN_NONE;
}

/* tms_snapshot_load with a read budget (0: libtms's default). */
static int load_budgeted(const char *path, unsigned flags,
                         unsigned long long budget, tms_snapshot **out,
                         tms_error *err)
{
    tms_reader *r = NULL;
    int rc = tms_reader_open_path(&r, path, err);
    if (rc < 0)
        return rc;
    *out = tms_snapshot_new();
    if (*out == NULL)
        rc = tms_fail(err, TMS_E_NOMEM, "out of memory");
    if (rc == TMS_OK)
        rc = tms_reader_set_budget(r, budget);
    if (rc == TMS_OK)
        rc = tms_reader_read(r, *out, flags, NULL, NULL, err);
    tms_reader_close(r);
    return rc;
}

static PyObject *sd_load(PyObject *cls, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"path", "traces", "budget", "verify", NULL};
    PyObject *arg, *path = NULL;
    int traces = 1, verify = 1;
    unsigned long long budget = 0;
    tms_snapshot *s = NULL;
    tms_error err = {0, ""};
    int rc, saved;
    (void)cls;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|pKp:load", kwlist, &arg,
                                     &traces, &budget, &verify))
        return NULL;
    if (!PyUnicode_FSConverter(arg, &path))
        return NULL;
    unsigned flags = (traces ? 0 : TMS_LOAD_SKIP_TRACES) |
                     (verify ? 0 : TMS_LOAD_NO_VERIFY_SKIPPED);
    Py_BEGIN_ALLOW_THREADS
    errno = 0;
    rc = load_budgeted(PyBytes_AS_STRING(path), flags, budget, &s, &err);
    saved = err.sys_errno ? err.sys_errno
            : rc == TMS_E_IO || rc == TMS_E_OPEN ? errno : 0;
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (rc < 0) {
        tms_snapshot_free(s);
        return tmt_raise_tms(rc, &err, saved, arg);
    }
    if (!traces)
        s->has_traces = 0;
    return tmt_snapshotdata_wrap(s);
}

/* ---- metrics and metadata ------------------------------------------------ */

static const char *const format_names[] = {"int", "percent", "size"};

static int format_parse(PyObject *obj, tms_metric_format *out)
{
    const char *name = PyUnicode_Check(obj) ? PyUnicode_AsUTF8(obj) : NULL;
    for (int i = 0; name != NULL && i < 3; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *out = (tms_metric_format)i;
            return 0;
        }
    }
    if (!PyErr_Occurred())
        PyErr_Format(PyExc_ValueError,
                     "metric format must be 'int', 'percent' or 'size', "
                     "not %R", obj);
    return -1;
}

static int add_metric(tms_snapshot *s, PyObject *name, PyObject *value,
                      PyObject *format)
{
    tms_metric_format fmt;
    tms_value_kind kind = TMS_VALUE_INT;
    long long i = 0;
    double f = 0.0;
    if (!PyUnicode_Check(name)) {
        PyErr_SetString(PyExc_TypeError, "metric name must be str");
        return -1;
    }
    if (format_parse(format, &fmt))
        return -1;
    if (PyFloat_Check(value)) {
        kind = TMS_VALUE_FLOAT;
        f = PyFloat_AS_DOUBLE(value);
    }
    else if (PyLong_Check(value)) {
        i = PyLong_AsLongLong(value);
        if (i == -1 && PyErr_Occurred())
            return -1;
    }
    else {
        PyErr_Format(PyExc_TypeError, "metric value must be int or float, "
                     "not %.100s", Py_TYPE(value)->tp_name);
        return -1;
    }
    /* A name read from a file need not be UTF-8: stored back as it was. */
    PyObject *keep;
    const char *cname;
    size_t clen;
    if (tmt_utf8_view(name, &cname, &clen, &keep) < 0)
        return -1;
    if (strlen(cname) != clen) { /* both kinds of view end with a NUL */
        Py_XDECREF(keep);
        PyErr_SetString(PyExc_ValueError, "metric name contains a NUL");
        return -1;
    }
    int rc = tms_snapshot_add_metric(s, cname, fmt, kind, i, f);
    Py_XDECREF(keep);
    if (rc == TMS_E_ARG) {
        PyErr_Format(PyExc_ValueError, "metric %R already exists", name);
        return -1;
    }
    if (rc < 0) {
        tmt_raise_tms(rc, NULL, 0, NULL);
        return -1;
    }
    return 0;
}

static PyObject *sd_add_metric(tmt_SnapshotData *self, PyObject *args)
{
    PyObject *name, *value, *format;
    if (!PyArg_ParseTuple(args, "OOO:add_metric", &name, &value, &format) ||
        check_idle(self) < 0)
        return NULL;
    if (add_metric(self->snap, name, value, format) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* [(name, value, format)] in file order. */
static PyObject *sd_metrics(tmt_SnapshotData *self, PyObject *unused)
{
    const tms_snapshot *s = self->snap;
    (void)unused;
    PyObject *list = PyList_New(s->nmetrics);
    for (uint32_t k = 0; list != NULL && k < s->nmetrics; k++) {
        const tms_metric *m = &s->metrics[k];
        const char *fmt = (unsigned)m->format < 3 ? format_names[m->format]
                                                  : "int";
        PyObject *name = tmt_name_decode(m->name, strlen(m->name));
        PyObject *item = name == NULL ? NULL
            : m->kind == TMS_VALUE_FLOAT
            ? Py_BuildValue("(Nds)", name, m->f, fmt)
            : Py_BuildValue("(NLs)", name, (long long)m->i, fmt);
        if (item == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, k, item);
    }
    return list;
}

tms_snapshot *tmt_metrics_snapshot(PyObject *seq)
{
    PyObject *fast = PySequence_Fast(seq, "metrics must be a sequence");
    if (fast == NULL)
        return NULL;
    tms_snapshot *tmp = tms_snapshot_new();
    if (tmp == NULL) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(fast); k++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, k);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 3) {
            PyErr_SetString(PyExc_TypeError,
                            "a metric must be a (name, value, format) tuple");
            goto fail;
        }
        if (add_metric(tmp, PyTuple_GET_ITEM(item, 0), PyTuple_GET_ITEM(item, 1),
                       PyTuple_GET_ITEM(item, 2)) < 0)
            goto fail;
    }
    Py_DECREF(fast);
    return tmp;
fail:
    Py_DECREF(fast);
    tms_snapshot_free(tmp);
    return NULL;
}

/* Replace every metric with those of the sequence; all or nothing. */
static PyObject *sd_set_metrics(tmt_SnapshotData *self, PyObject *seq)
{
    if (check_idle(self) < 0)
        return NULL;
    tms_snapshot *tmp = tmt_metrics_snapshot(seq);
    if (tmp == NULL)
        return NULL;
    /* Metrics are not interned (tms_intern_find_metric scans), so moving
     * the array between snapshots keeps both consistent. */
    tms_snapshot *s = self->snap;
    tms_metric *old = s->metrics;
    uint32_t nold = s->nmetrics, capold = s->cap_metrics;
    s->metrics = tmp->metrics;
    s->nmetrics = tmp->nmetrics;
    s->cap_metrics = tmp->cap_metrics;
    tmp->metrics = old;
    tmp->nmetrics = nold;
    tmp->cap_metrics = capold;
    tms_snapshot_free(tmp);
    Py_RETURN_NONE;
}

static PyObject *sd_meta(tmt_SnapshotData *self, PyObject *unused)
{
    (void)unused;
    PyObject *d = PyDict_New();
    for (uint32_t k = 0; d != NULL && k < self->snap->nmeta; k++) {
        const tms_meta *m = &self->snap->meta[k];
        PyObject *key = tmt_name_decode(m->key, strlen(m->key));
        PyObject *v = key ? tmt_name_decode(m->value, strlen(m->value)) : NULL;
        if (v == NULL || PyDict_SetItem(d, key, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(key);
        Py_XDECREF(v);
    }
    return d;
}

static PyObject *sd_set_meta(tmt_SnapshotData *self, PyObject *args)
{
    PyObject *k, *v, *kkeep = NULL, *vkeep = NULL, *res = NULL;
    const char *key, *value;
    size_t klen, vlen;
    if (!PyArg_ParseTuple(args, "UU:set_meta", &k, &v) ||
        check_idle(self) < 0 ||
        tmt_utf8_view(k, &key, &klen, &kkeep) < 0 ||
        tmt_utf8_view(v, &value, &vlen, &vkeep) < 0)
        goto done;
    if (strlen(key) != klen || strlen(value) != vlen) {
        PyErr_SetString(PyExc_ValueError, "meta key or value contains a NUL");
        goto done;
    }
    int rc = tms_snapshot_set_meta(self->snap, key, value);
    if (rc < 0) {
        tmt_raise_tms(rc, NULL, 0, NULL);
        goto done;
    }
    res = Py_None;
    Py_INCREF(res);
done:
    Py_XDECREF(kkeep);
    Py_XDECREF(vkeep);
    return res;
}

/* ---- views, grouping, filters -------------------------------------------- */

static PyObject *sd_build_traces(tmt_SnapshotData *self, PyObject *unused)
{
    (void)unused;
    return tmt_build_traces(self->snap, 0);
}

static PyObject *sd_build_domains(tmt_SnapshotData *self, PyObject *unused)
{
    (void)unused;
    return tmt_build_domains(self->snap);
}

static PyObject *sd_build_stats(tmt_SnapshotData *self, PyObject *unused)
{
    (void)unused;
    return tmt_build_stats(self->snap);
}

static PyObject *sd_top_by(tmt_SnapshotData *self, PyObject *args)
{
    const char *group_by;
    int cumulative = 0, peak = 0;
    if (!PyArg_ParseTuple(args, "s|pp:top_by", &group_by, &cumulative, &peak))
        return NULL;
    return tmt_groups_new(self, group_by, cumulative, peak);
}

/* (size, recorded_size, recorded_ns) of the peak, or None (SPEC §4.11). */
static PyObject *sd_get_peak(tmt_SnapshotData *self, void *unused)
{
    (void)unused;
    const tms_snapshot *s = self->snap;
    if (!s->has_peak)
        Py_RETURN_NONE;
    return Py_BuildValue("(KKL)", (unsigned long long)s->peak.size,
                         (unsigned long long)s->peak.recorded_size,
                         (long long)s->peak.recorded_ns);
}

/* {(filename, lineno): qualified function name} of the named frames. */
static PyObject *sd_functions(tmt_SnapshotData *self, PyObject *unused)
{
    (void)unused;
    const tms_snapshot *s = self->snap;
    tmt_pycache c;
    if (tmt_pycache_init(&c, s) < 0)
        return NULL;
    PyObject *d = PyDict_New();
    for (uint32_t f = 0; d != NULL && f < s->nframes; f++) {
        uint32_t name = tms_frame_function(s, f);
        if (name == TMS_NONE)
            continue;
        PyObject *key = tmt_pycache_frame(&c, f);
        PyObject *val = key ? tmt_pycache_str(&c, name) : NULL;
        if (val == NULL || PyDict_SetItem(d, key, val) < 0)
            Py_CLEAR(d);
        Py_XDECREF(key);
        Py_XDECREF(val);
    }
    tmt_pycache_done(&c);
    return d;
}

/* keep_domain(domain): only the traces of one allocator domain (1.3). */
static PyObject *sd_keep_domain(tmt_SnapshotData *self, PyObject *arg)
{
    if (check_idle(self) < 0)
        return NULL;
    unsigned long d = PyLong_AsUnsignedLong(arg);
    if (d == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    if (d > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "a domain is 32 bits");
        return NULL;
    }
    tms_error err = {0, ""};
    int rc = tma_snapshot_keep_domain(self->snap, (uint32_t)d, &err);
    if (rc < 0) {
        tmt_raise_tms(rc, &err, 0, NULL);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *sd_apply_filters(tmt_SnapshotData *self, PyObject *filters)
{
    if (check_idle(self) < 0)
        return NULL;
    PyObject *fast = PySequence_Fast(filters, "filters must be a sequence");
    if (fast == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    tma_filter *cf = PyMem_Calloc(n ? (size_t)n : 1, sizeof *cf);
    PyObject **keep = PyMem_Calloc(n ? (size_t)n : 1, sizeof *keep);
    PyObject *ret = NULL;
    if (cf == NULL || keep == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < n; k++)
        if (tmt_filter_from_py(PySequence_Fast_GET_ITEM(fast, k), &cf[k],
                               &keep[k]) < 0)
            goto done;
    tms_error err = {0, ""};
    int rc = tma_snapshot_apply_filters(self->snap, cf, (size_t)n, &err);
    if (rc < 0) {
        tmt_raise_tms(rc, &err, 0, NULL);
    }
    else {
        Py_INCREF(Py_None);
        ret = Py_None;
    }
done:
    for (Py_ssize_t k = 0; keep != NULL && k < n; k++)
        Py_XDECREF(keep[k]);
    PyMem_Free(keep);
    PyMem_Free(cf);
    Py_DECREF(fast);
    return ret;
}

/* ---- header attributes ----------------------------------------------------- */

static PyObject *get_i64(tmt_SnapshotData *self, void *field)
{
    return PyLong_FromLongLong(
        *(int64_t *)((char *)&self->snap->header + (size_t)field));
}

static int set_i64(tmt_SnapshotData *self, PyObject *v, void *field)
{
    if (check_idle(self) < 0)
        return -1;
    if (v == NULL || !PyLong_Check(v)) {
        PyErr_SetString(PyExc_TypeError, "an int is required");
        return -1;
    }
    long long x = PyLong_AsLongLong(v);
    if (x == -1 && PyErr_Occurred())
        return -1;
    *(int64_t *)((char *)&self->snap->header + (size_t)field) = x;
    return 0;
}

static PyObject *get_limit(tmt_SnapshotData *self, void *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLong(self->snap->header.traceback_limit);
}

static int set_limit(tmt_SnapshotData *self, PyObject *v, void *unused)
{
    (void)unused;
    if (check_idle(self) < 0)
        return -1;
    unsigned long x = v != NULL && PyLong_Check(v) ? PyLong_AsUnsignedLong(v)
                                                   : (unsigned long)-1;
    if (x > UINT32_MAX) {
        if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError,
                            "traceback_limit must be an int in [0, 2**32)");
        }
        return -1;
    }
    self->snap->header.traceback_limit = (uint32_t)x;
    return 0;
}

static PyObject *get_has_traces(tmt_SnapshotData *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(self->snap->has_traces);
}

static PyObject *get_ntraces(tmt_SnapshotData *self, void *unused)
{
    (void)unused;
    return PyLong_FromUnsignedLongLong(self->snap->ntraces);
}

static PyObject *get_header_text(tmt_SnapshotData *self, void *field)
{
    const char *text = (char *)&self->snap->header + (size_t)field;
    return tmt_name_decode(text, strlen(text));
}

#define HDR(f) ((void *)offsetof(tms_header, f))
static PyGetSetDef sd_getset[] = {
    {"peak", (getter)sd_get_peak, NULL,
     "(size, recorded_size, recorded_ns) of the peak, or None", NULL},
    {"timestamp_ns", (getter)get_i64, (setter)set_i64,
     "creation time, ns since the Unix epoch", HDR(timestamp_ns)},
    {"pid", (getter)get_i64, (setter)set_i64, "process id", HDR(pid)},
    {"traceback_limit", (getter)get_limit, (setter)set_limit,
     "frames kept per traceback", NULL},
    {"has_traces", (getter)get_has_traces, NULL,
     "False when taken or loaded without traces", NULL},
    {"ntraces", (getter)get_ntraces, NULL, "number of traces", NULL},
    {"python_version", (getter)get_header_text, NULL,
     "Python version of the traced process", HDR(python_version)},
    {"writer_name", (getter)get_header_text, NULL, "writing program",
     HDR(writer_name)},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef sd_methods[] = {
    {"from_dicts", (PyCFunction)sd_from_dicts, METH_VARARGS | METH_CLASS,
     "from_dicts(timestamp_ns, pid, traces, stats, traceback_limit)"},
    {"load", (PyCFunction)(void (*)(void))sd_load,
     METH_VARARGS | METH_KEYWORDS | METH_CLASS,
     "load(path, traces=True, budget=0, verify=True): read a .tms file "
     "(budget: the read budget in bytes, 0 the default; verify=False "
     "skips the checksums of trace sections not read)"},
    {"write", (PyCFunction)sd_write, METH_O,
     "write(path): save atomically as a .tms file"},
    {"metrics", (PyCFunction)sd_metrics, METH_NOARGS,
     "[(name, value, format)]"},
    {"add_metric", (PyCFunction)sd_add_metric, METH_VARARGS,
     "add_metric(name, value, format); ValueError if the name exists"},
    {"set_metrics", (PyCFunction)sd_set_metrics, METH_O,
     "set_metrics([(name, value, format)]): replace all metrics"},
    {"meta", (PyCFunction)sd_meta, METH_NOARGS, "user metadata as a dict"},
    {"set_meta", (PyCFunction)sd_set_meta, METH_VARARGS,
     "set_meta(key, value)"},
    {"build_traces", (PyCFunction)sd_build_traces, METH_NOARGS,
     "{address: (size, traceback)}, or None without traces"},
    {"build_domains", (PyCFunction)sd_build_domains, METH_NOARGS,
     "{address: domain} of the traces outside domain 0"},
    {"build_stats", (PyCFunction)sd_build_stats, METH_NOARGS,
     "{filename: {lineno: (size, count)}}"},
    {"top_by", (PyCFunction)sd_top_by, METH_VARARGS,
     "top_by(group_by, cumulative=False, peak=False) -> Groups"},
    {"functions", (PyCFunction)sd_functions, METH_NOARGS,
     "{(filename, lineno): function name} of the named frames"},
    {"keep_domain", (PyCFunction)sd_keep_domain, METH_O,
     "keep_domain(domain): drop the traces of other domains, in place"},
    {"apply_filters", (PyCFunction)sd_apply_filters, METH_O,
     "apply_filters([Filter]): drop traces and stats in place"},
    {NULL, NULL, 0, NULL},
};

PyTypeObject tmt_SnapshotData_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_tmtrace.SnapshotData",
    .tp_basicsize = sizeof(tmt_SnapshotData),
    .tp_dealloc = (destructor)sd_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A snapshot's tables, kept in C (a tms_snapshot).",
    .tp_methods = sd_methods,
    .tp_getset = sd_getset,
};

/* ---- taking a snapshot -------------------------------------------------------- */

static PyObject *take_snapshot_data(PyObject *mod, PyObject *args)
{
    int traces = 0;
    struct timespec ts;
    (void)mod;
    if (!PyArg_ParseTuple(args, "|p:take_snapshot_data", &traces))
        return NULL;
    clock_gettime(CLOCK_REALTIME, &ts);
    tmt_SnapshotData *self = (tmt_SnapshotData *)new_empty(
        (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, (int64_t)getpid());
    if (self == NULL)
        return NULL;
    int rc = tmt_core_export(self->snap, traces);
    if (rc == 0)
        rc = tmt_snapshot_set_host(self->snap);
    if (rc < 0) {
        if (!PyErr_Occurred())
            tmt_raise_tms(rc, NULL, 0, NULL);
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static PyMethodDef snap_functions[] = {
    {"take_snapshot_data", take_snapshot_data, METH_VARARGS,
     "take_snapshot_data(traces=False) -> SnapshotData copied from the "
     "live tables"},
    {NULL, NULL, 0, NULL},
};

int tmt_snapshot_init(PyObject *module)
{
    PyTypeObject *types[] = {&tmt_SnapshotData_Type, &tmt_Groups_Type,
                             &tmt_Diff_Type};
    for (size_t k = 0; k < sizeof types / sizeof *types; k++) {
        if (PyType_Ready(types[k]) < 0)
            return -1;
        Py_INCREF(types[k]);
        if (PyModule_AddObject(module, strrchr(types[k]->tp_name, '.') + 1,
                               (PyObject *)types[k]) < 0) {
            Py_DECREF(types[k]);
            return -1;
        }
    }
    if (PyModule_AddFunctions(module, snap_functions) < 0 ||
        PyModule_AddFunctions(module, tmt_filter_methods) < 0 ||
        PyModule_AddFunctions(module, tmt_export_methods) < 0 ||
        PyModule_AddFunctions(module, tmt_group_functions) < 0 ||
        PyModule_AddFunctions(module, tmt_live_write_methods) < 0)
        return -1;
    return 0;
}
