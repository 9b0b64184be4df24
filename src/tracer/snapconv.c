/* snapconv.c -- between the spec's Python shapes and tms_snapshot.
 *
 * Snapshot.traces is {address: (size, traceback)}, traceback a tuple of
 * (filename, lineno) with None for unknown; Snapshot.stats is
 * {filename: {lineno: (size, count)}}.  These are built only when a user
 * touches them, and built once per id so equal tracebacks share one
 * tuple, as they share one row in the snapshot. */
#include "snapapi.h"

#include <errno.h>

/* ---- strings and line numbers ---------------------------------------- */

static int tms_to_py_error(int rc)
{
    tmt_raise_tms(rc, NULL, 0, NULL);
    return -1;
}

/* The stored bytes of a str (names.c's rule) or None (NULL, 0); *keep
 * owns the bytes if they are not the str's own UTF-8 cache. */
int tmt_utf8_view(PyObject *str, const char **data, size_t *len,
                     PyObject **keep)
{
    *keep = NULL;
    if (str == Py_None) {
        *data = NULL;
        *len = 0;
        return 0;
    }
    if (!PyUnicode_Check(str)) {
        PyErr_Format(PyExc_TypeError, "filename must be str or None, not %.100s",
                     Py_TYPE(str)->tp_name);
        return -1;
    }
    Py_ssize_t n;
    *data = PyUnicode_AsUTF8AndSize(str, &n);
    if (*data == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return -1;
        PyErr_Clear(); /* lone surrogates: not UTF-8 text, still a name */
        *keep = tmt_name_bytes(str);
        if (*keep == NULL)
            return -1;
        *data = PyBytes_AS_STRING(*keep);
        n = PyBytes_GET_SIZE(*keep);
    }
    *len = (size_t)n;
    return 0;
}

int tmt_intern_pystr(tms_snapshot *s, PyObject *str, uint32_t *out)
{
    const char *data;
    size_t len;
    PyObject *keep;
    if (str == Py_None) {
        *out = TMS_NONE;
        return 0;
    }
    if (tmt_utf8_view(str, &data, &len, &keep) < 0)
        return -1;
    int rc = tms_snapshot_intern_string(s, data, len, out);
    Py_XDECREF(keep);
    return rc < 0 ? tms_to_py_error(rc) : 0;
}

int tmt_lineno_from_py(PyObject *obj, int32_t *out)
{
    if (obj == Py_None) {
        *out = TMS_LINENO_NONE;
        return 0;
    }
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "lineno must be int or None, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    long v = PyLong_AsLong(obj);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v < 0 || v > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "lineno out of range: %ld", v);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

PyObject *tmt_lineno_to_py(int32_t lineno)
{
    if (lineno < 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(lineno);
}

/* ---- the per-id object cache ----------------------------------------- */

int tmt_pycache_init(tmt_pycache *c, const tms_snapshot *s)
{
    c->snap = s;
    c->strs = PyMem_Calloc(s->nstrings ? s->nstrings : 1, sizeof(PyObject *));
    c->frames = PyMem_Calloc(s->nframes ? s->nframes : 1, sizeof(PyObject *));
    c->tbs = PyMem_Calloc(s->ntracebacks ? s->ntracebacks : 1,
                          sizeof(PyObject *));
    if (c->strs == NULL || c->frames == NULL || c->tbs == NULL) {
        tmt_pycache_done(c);
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void release_all(PyObject **objs, uint32_t n)
{
    if (objs == NULL)
        return;
    for (uint32_t i = 0; i < n; i++)
        Py_XDECREF(objs[i]);
    PyMem_Free(objs);
}

void tmt_pycache_done(tmt_pycache *c)
{
    release_all(c->strs, c->snap->nstrings);
    release_all(c->frames, c->snap->nframes);
    release_all(c->tbs, c->snap->ntracebacks);
    c->strs = c->frames = c->tbs = NULL;
}

PyObject *tmt_pycache_str(tmt_pycache *c, uint32_t id)
{
    if (id == TMS_NONE || id >= c->snap->nstrings)
        Py_RETURN_NONE;
    if (c->strs[id] == NULL) {
        const tms_string *str = &c->snap->strings[id];
        c->strs[id] = tmt_name_decode(str->data, str->len);
        if (c->strs[id] == NULL)
            return NULL;
    }
    Py_INCREF(c->strs[id]);
    return c->strs[id];
}

PyObject *tmt_pycache_frame(tmt_pycache *c, uint32_t id)
{
    if (id >= c->snap->nframes) {
        PyErr_Format(PyExc_ValueError, "frame id %u out of range", id);
        return NULL;
    }
    if (c->frames[id] == NULL) {
        const tms_frame *f = &c->snap->frames[id];
        PyObject *name = tmt_pycache_str(c, f->filename);
        PyObject *line = name ? tmt_lineno_to_py(f->lineno) : NULL;
        if (line == NULL) {
            Py_XDECREF(name);
            return NULL;
        }
        c->frames[id] = PyTuple_Pack(2, name, line);
        Py_DECREF(name);
        Py_DECREF(line);
        if (c->frames[id] == NULL)
            return NULL;
    }
    Py_INCREF(c->frames[id]);
    return c->frames[id];
}

PyObject *tmt_pycache_traceback(tmt_pycache *c, uint32_t id)
{
    if (id >= c->snap->ntracebacks) {
        PyErr_Format(PyExc_ValueError, "traceback id %u out of range", id);
        return NULL;
    }
    if (c->tbs[id] == NULL) {
        uint32_t n = tms_traceback_len(c->snap, id);
        const uint32_t *frames = tms_traceback_frames(c->snap, id);
        PyObject *tb = PyTuple_New(n);
        if (tb == NULL)
            return NULL;
        for (uint32_t i = 0; i < n; i++) {
            PyObject *f = tmt_pycache_frame(c, frames[i]);
            if (f == NULL) {
                Py_DECREF(tb);
                return NULL;
            }
            PyTuple_SET_ITEM(tb, i, f);
        }
        c->tbs[id] = tb;
    }
    Py_INCREF(c->tbs[id]);
    return c->tbs[id];
}

/* ---- C -> Python dicts ------------------------------------------------- */

static PyObject *pair_u64(uint64_t a, uint64_t b)
{
    return Py_BuildValue("(KK)", (unsigned long long)a, (unsigned long long)b);
}

PyObject *tmt_build_traces(const tms_snapshot *s, int lists)
{
    if (!s->has_traces)
        Py_RETURN_NONE;
    tmt_pycache c;
    if (tmt_pycache_init(&c, s) < 0)
        return NULL;
    PyObject *d = PyDict_New();
    for (uint64_t i = 0; d != NULL && i < s->ntraces; i++) {
        const tms_trace *t = &s->traces[i];
        PyObject *addr = PyLong_FromUnsignedLongLong(t->address);
        PyObject *size = PyLong_FromUnsignedLongLong(t->size);
        PyObject *tb = tmt_pycache_traceback(&c, t->traceback);
        if (lists && tb != NULL)
            Py_SETREF(tb, PySequence_List(tb));
        PyObject *val = (size && tb) ? PyTuple_Pack(2, size, tb) : NULL;
        if (addr == NULL || val == NULL || PyDict_SetItem(d, addr, val) < 0)
            Py_CLEAR(d);
        Py_XDECREF(addr);
        Py_XDECREF(size);
        Py_XDECREF(tb);
        Py_XDECREF(val);
    }
    tmt_pycache_done(&c);
    return d;
}

PyObject *tmt_build_domains(const tms_snapshot *s)
{
    if (!s->has_traces)
        Py_RETURN_NONE;
    PyObject *d = PyDict_New();
    for (uint64_t i = 0; d != NULL && i < s->ntraces; i++) {
        const tms_trace *t = &s->traces[i];
        if (t->domain == TMS_DOMAIN_PYTHON)
            continue;
        PyObject *addr = PyLong_FromUnsignedLongLong(t->address);
        PyObject *dom = PyLong_FromUnsignedLong(t->domain);
        if (addr == NULL || dom == NULL || PyDict_SetItem(d, addr, dom) < 0)
            Py_CLEAR(d);
        Py_XDECREF(addr);
        Py_XDECREF(dom);
    }
    return d;
}

PyObject *tmt_build_stats(const tms_snapshot *s)
{
    tmt_pycache c;
    if (tmt_pycache_init(&c, s) < 0)
        return NULL;
    PyObject *d = PyDict_New();
    for (uint64_t i = 0; d != NULL && i < s->nstats; i++) {
        const tms_stat *st = &s->stats[i];
        if (st->frame >= s->nframes) {
            PyErr_Format(PyExc_ValueError, "stat frame id %u out of range",
                         st->frame);
            Py_CLEAR(d);
            break;
        }
        const tms_frame *f = &s->frames[st->frame];
        PyObject *name = tmt_pycache_str(&c, f->filename);
        PyObject *line = tmt_lineno_to_py(f->lineno);
        PyObject *val = pair_u64(st->size, st->count);
        PyObject *inner = name ? PyDict_GetItemWithError(d, name) : NULL;
        int ok = name && line && val && !PyErr_Occurred();
        if (ok && inner == NULL) {
            inner = PyDict_New();
            ok = inner != NULL && PyDict_SetItem(d, name, inner) == 0;
            Py_XDECREF(inner);   /* d holds it */
        }
        /* Two stats of one frame (a foreign writer) add up. */
        if (ok) {
            PyObject *old = PyDict_GetItemWithError(inner, line);
            if (old != NULL) {
                unsigned long long os = PyLong_AsUnsignedLongLong(
                    PyTuple_GET_ITEM(old, 0));
                unsigned long long oc = PyLong_AsUnsignedLongLong(
                    PyTuple_GET_ITEM(old, 1));
                Py_DECREF(val);
                val = pair_u64(st->size + os, st->count + oc);
            }
            ok = val != NULL && !PyErr_Occurred() &&
                 PyDict_SetItem(inner, line, val) == 0;
        }
        if (!ok)
            Py_CLEAR(d);
        Py_XDECREF(name);
        Py_XDECREF(line);
        Py_XDECREF(val);
    }
    tmt_pycache_done(&c);
    return d;
}

/* ---- Python dicts -> C ------------------------------------------------- */

int tmt_u64_from_py(PyObject *obj, const char *what, uint64_t *out)
{
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be int, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Format(PyExc_ValueError, "%s must be a non-negative 64-bit int",
                     what);
        return -1;
    }
    *out = v;
    return 0;
}

/* A (filename, lineno) pair as a frame id. */
int tmt_intern_pyframe(tms_snapshot *s, PyObject *frame, uint32_t *out)
{
    if (!PyTuple_Check(frame) && !PyList_Check(frame)) {
        PyErr_Format(PyExc_TypeError,
                     "frame must be a (filename, lineno) tuple, not %.100s",
                     Py_TYPE(frame)->tp_name);
        return -1;
    }
    if (PySequence_Fast_GET_SIZE(frame) != 2) {
        PyErr_SetString(PyExc_ValueError,
                        "frame must be a (filename, lineno) pair");
        return -1;
    }
    uint32_t name;
    int32_t lineno;
    if (tmt_intern_pystr(s, PySequence_Fast_GET_ITEM(frame, 0), &name) < 0 ||
        tmt_lineno_from_py(PySequence_Fast_GET_ITEM(frame, 1), &lineno) < 0)
        return -1;
    int rc = tms_snapshot_intern_frame(s, name, lineno, out);
    return rc < 0 ? tms_to_py_error(rc) : 0;
}

int tmt_intern_pytraceback(tms_snapshot *s, PyObject *tb, uint32_t **buf,
                              Py_ssize_t *cap, uint32_t *out)
{
    if (!PyTuple_Check(tb) && !PyList_Check(tb)) {
        PyErr_Format(PyExc_TypeError,
                     "traceback must be a tuple of frames, not %.100s",
                     Py_TYPE(tb)->tp_name);
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(tb);
    if (n > (Py_ssize_t)TMS_MAX_TRACEBACK_LEN) {
        PyErr_Format(PyExc_ValueError, "traceback of %zd frames is too long", n);
        return -1;
    }
    if (n > *cap) {
        uint32_t *nb = PyMem_Realloc(*buf, (size_t)n * sizeof **buf);
        if (nb == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        *buf = nb;
        *cap = n;
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (tmt_intern_pyframe(s, PySequence_Fast_GET_ITEM(tb, i), &(*buf)[i]) < 0)
            return -1;
    int rc = tms_snapshot_intern_traceback(s, *buf, (uint32_t)n, out);
    return rc < 0 ? tms_to_py_error(rc) : 0;
}

static int fill_traces(tms_snapshot *s, PyObject *traces)
{
    if (!PyDict_Check(traces)) {
        PyErr_SetString(PyExc_TypeError, "traces must be a dict or None");
        return -1;
    }
    uint32_t *buf = NULL;
    Py_ssize_t cap = 0, pos = 0;
    PyObject *key, *val;
    int ret = 0;
    s->has_traces = 1;   /* an empty dict still means "taken with traces" */
    while (ret == 0 && PyDict_Next(traces, &pos, &key, &val)) {
        uint64_t addr, size;
        uint32_t tb;
        if ((!PyTuple_Check(val) && !PyList_Check(val)) ||
            PySequence_Fast_GET_SIZE(val) != 2) {
            PyErr_SetString(PyExc_TypeError,
                            "a trace must be a (size, traceback) tuple");
            ret = -1;
            break;
        }
        if (tmt_u64_from_py(key, "address", &addr) < 0 ||
            tmt_u64_from_py(PySequence_Fast_GET_ITEM(val, 0), "size", &size) < 0 ||
            tmt_intern_pytraceback(s, PySequence_Fast_GET_ITEM(val, 1), &buf, &cap,
                               &tb) < 0) {
            ret = -1;
            break;
        }
        int rc = tms_snapshot_add_trace(s, addr, size, tb);
        if (rc < 0)
            ret = tms_to_py_error(rc);
    }
    PyMem_Free(buf);
    return ret;
}

static int fill_stats(tms_snapshot *s, PyObject *stats)
{
    if (!PyDict_Check(stats)) {
        PyErr_SetString(PyExc_TypeError, "stats must be a dict or None");
        return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *name, *lines;
    while (PyDict_Next(stats, &pos, &name, &lines)) {
        uint32_t nid;
        if (tmt_intern_pystr(s, name, &nid) < 0)
            return -1;
        if (!PyDict_Check(lines)) {
            PyErr_SetString(PyExc_TypeError,
                            "stats must be {filename: {lineno: (size, count)}}");
            return -1;
        }
        Py_ssize_t lpos = 0;
        PyObject *line, *val;
        while (PyDict_Next(lines, &lpos, &line, &val)) {
            int32_t lineno;
            uint64_t size, count;
            uint32_t frame;
            if (tmt_lineno_from_py(line, &lineno) < 0)
                return -1;
            if (!PyTuple_Check(val) || PyTuple_GET_SIZE(val) != 2) {
                PyErr_SetString(PyExc_TypeError,
                                "a stat must be a (size, count) tuple");
                return -1;
            }
            if (tmt_u64_from_py(PyTuple_GET_ITEM(val, 0), "size", &size) < 0 ||
                tmt_u64_from_py(PyTuple_GET_ITEM(val, 1), "count", &count) < 0)
                return -1;
            int rc = tms_snapshot_intern_frame(s, nid, lineno, &frame);
            if (rc == 0)
                rc = tms_snapshot_add_stat(s, frame, size, count);
            if (rc < 0)
                return tms_to_py_error(rc);
        }
    }
    return 0;
}

int tmt_fill_from_dicts(tms_snapshot *s, PyObject *traces, PyObject *stats)
{
    if (traces != Py_None && fill_traces(s, traces) < 0)
        return -1;
    if (stats != Py_None)
        return fill_stats(s, stats);
    if (traces == Py_None)
        return 0;
    tms_error err = {0, ""};
    int rc = tma_snapshot_stats_from_traces(s, &err);
    if (rc < 0) {
        tmt_raise_tms(rc, &err, 0, NULL);
        return -1;
    }
    return 0;
}
