/* snapgroup.c -- _tmtrace.Groups and _tmtrace.Diff: libtma's grouping
 * and comparison behind GroupedStats and StatsDiff.
 *
 * A Groups keeps its SnapshotData alive because its keys are ids into
 * that snapshot; a Diff keeps both Groups alive for the same reason.
 * Python keys are made only by to_dict()/to_list(). */
#include "snapapi.h"

typedef struct {
    PyObject_HEAD
    tma_groups g;
    PyObject *data;   /* the SnapshotData the keys point into */
} tmt_Groups;

typedef struct {
    PyObject_HEAD
    tma_diff d;
    PyObject *new_groups;
    PyObject *old_groups;   /* may be NULL: compare_to(None) */
} tmt_Diff;

/* ---- keys ---------------------------------------------------------------- */

/* Caches for the (at most two) snapshots a diff's keys point into. */
typedef struct {
    tmt_pycache c[2];
    int n;
} key_caches;

static tmt_pycache *cache_for(key_caches *kc, const tms_snapshot *s)
{
    for (int i = 0; i < kc->n; i++)
        if (kc->c[i].snap == s)
            return &kc->c[i];
    if (kc->n == 2 || tmt_pycache_init(&kc->c[kc->n], s) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "keys of a third snapshot");
        return NULL;
    }
    return &kc->c[kc->n++];
}

static void caches_done(key_caches *kc)
{
    for (int i = 0; i < kc->n; i++)
        tmt_pycache_done(&kc->c[i]);
}

/* (filename, lineno) with the spec's compare_to replacement when asked:
 * None becomes '' for a filename and 0 for a line number. */
static PyObject *frame_obj(tmt_pycache *c, uint32_t filename, int32_t lineno,
                           int replace)
{
    PyObject *name = (replace && filename == TMS_NONE)
        ? PyUnicode_FromString("") : tmt_pycache_str(c, filename);
    PyObject *line = (replace && lineno < 0) ? PyLong_FromLong(0)
                                             : tmt_lineno_to_py(lineno);
    PyObject *t = (name && line) ? PyTuple_Pack(2, name, line) : NULL;
    Py_XDECREF(name);
    Py_XDECREF(line);
    return t;
}

static PyObject *key_obj(key_caches *kc, tma_group_by by, const tma_key *k,
                         int replace)
{
    tmt_pycache *c = cache_for(kc, k->snap);
    if (c == NULL)
        return NULL;
    switch (by) {
    case TMA_BY_FILENAME:
        if (replace && k->filename == TMS_NONE)
            return PyUnicode_FromString("");
        return tmt_pycache_str(c, k->filename);
    case TMA_BY_LINE:
        return frame_obj(c, k->filename, k->lineno, replace);
    case TMA_BY_ADDRESS:
        return PyLong_FromUnsignedLongLong(k->address);
    case TMA_BY_TRACEBACK:
        break;
    }
    if (!replace)
        return tmt_pycache_traceback(c, k->traceback);
    const tms_snapshot *s = k->snap;
    if (k->traceback >= s->ntracebacks) {
        PyErr_SetString(PyExc_ValueError, "traceback id out of range");
        return NULL;
    }
    uint32_t n = tms_traceback_len(s, k->traceback);
    const uint32_t *ids = tms_traceback_frames(s, k->traceback);
    PyObject *tb = PyTuple_New(n);
    for (uint32_t i = 0; tb != NULL && i < n; i++) {
        const tms_frame *f = &s->frames[ids[i]];
        PyObject *fo = frame_obj(c, f->filename, f->lineno, 1);
        if (fo == NULL)
            Py_CLEAR(tb);
        else
            PyTuple_SET_ITEM(tb, i, fo);
    }
    return tb;
}

/* ---- Groups -------------------------------------------------------------- */

PyObject *tmt_groups_new(tmt_SnapshotData *data, const char *group_by,
                         int cumulative)
{
    tma_group_by by;
    if (tma_group_by_parse(group_by, &by) < 0) {
        PyErr_Format(PyExc_ValueError,
                     "group_by must be 'filename', 'line', 'address' or "
                     "'traceback', not '%s'", group_by);
        return NULL;
    }
    tmt_Groups *self = PyObject_New(tmt_Groups, &tmt_Groups_Type);
    if (self == NULL)
        return NULL;
    memset(&self->g, 0, sizeof self->g);
    Py_INCREF(data);
    self->data = (PyObject *)data;
    tms_error err = {0, ""};
    int rc = tma_group(data->snap, by, cumulative, &self->g, &err);
    if (rc < 0) {
        Py_DECREF(self);
        return tmt_raise_tms(rc, &err, 0, NULL);
    }
    return (PyObject *)self;
}

static void groups_dealloc(tmt_Groups *self)
{
    tma_groups_free(&self->g);
    Py_XDECREF(self->data);
    PyObject_Free(self);
}

static PyObject *groups_to_dict(tmt_Groups *self, PyObject *unused)
{
    key_caches kc = {.n = 0};
    (void)unused;
    PyObject *d = PyDict_New();
    for (size_t i = 0; d != NULL && i < self->g.n; i++) {
        const tma_stat *st = &self->g.items[i];
        PyObject *key = key_obj(&kc, self->g.by, &st->key, 0);
        PyObject *val = Py_BuildValue("(KK)", (unsigned long long)st->size,
                                      (unsigned long long)st->count);
        if (key == NULL || val == NULL || PyDict_SetItem(d, key, val) < 0)
            Py_CLEAR(d);
        Py_XDECREF(key);
        Py_XDECREF(val);
    }
    caches_done(&kc);
    return d;
}

static PyObject *diff_new(tmt_Groups *new_, tmt_Groups *old);

static PyObject *groups_compare(tmt_Groups *self, PyObject *old)
{
    if (old != Py_None && !PyObject_TypeCheck(old, &tmt_Groups_Type)) {
        PyErr_SetString(PyExc_TypeError, "compare() needs a Groups or None");
        return NULL;
    }
    return diff_new(self, old == Py_None ? NULL : (tmt_Groups *)old);
}

static PyObject *groups_get_by(tmt_Groups *self, void *unused)
{
    (void)unused;
    return PyUnicode_FromString(tma_group_by_name(self->g.by));
}

static PyObject *groups_get_cumulative(tmt_Groups *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(self->g.cumulative);
}

static PyObject *groups_get_total(tmt_Groups *self, void *which)
{
    return PyLong_FromUnsignedLongLong(which ? self->g.total_count
                                             : self->g.total_size);
}

static Py_ssize_t groups_len(tmt_Groups *self)
{
    return (Py_ssize_t)self->g.n;
}

static PyGetSetDef groups_getset[] = {
    {"group_by", (getter)groups_get_by, NULL, "how keys were made", NULL},
    {"cumulative", (getter)groups_get_cumulative, NULL,
     "whether cumulative grouping was really done (spec rules applied)",
     NULL},
    {"total_size", (getter)groups_get_total, NULL, "sum of trace sizes", NULL},
    {"total_count", (getter)groups_get_total, NULL, "number of blocks",
     (void *)1},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMethodDef groups_methods[] = {
    {"to_dict", (PyCFunction)groups_to_dict, METH_NOARGS,
     "{key: (size, count)}; None kept in keys"},
    {"compare", (PyCFunction)groups_compare, METH_O,
     "compare(old_or_None) -> Diff (unsorted)"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods groups_seq = {.sq_length = (lenfunc)groups_len};

PyTypeObject tmt_Groups_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_tmtrace.Groups",
    .tp_basicsize = sizeof(tmt_Groups),
    .tp_dealloc = (destructor)groups_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A snapshot grouped by libtma (made by SnapshotData.top_by).",
    .tp_methods = groups_methods,
    .tp_getset = groups_getset,
    .tp_as_sequence = &groups_seq,
};

/* ---- Diff ---------------------------------------------------------------- */

static PyObject *diff_new(tmt_Groups *new_, tmt_Groups *old)
{
    tmt_Diff *self = PyObject_New(tmt_Diff, &tmt_Diff_Type);
    if (self == NULL)
        return NULL;
    memset(&self->d, 0, sizeof self->d);
    Py_INCREF(new_);
    self->new_groups = (PyObject *)new_;
    Py_XINCREF(old);
    self->old_groups = (PyObject *)old;
    tms_error err = {0, ""};
    int rc = tma_diff_compute(old ? &old->g : NULL, &new_->g, &self->d, &err);
    if (rc < 0) {
        Py_DECREF(self);
        return tmt_raise_tms(rc, &err, 0, NULL);
    }
    return (PyObject *)self;
}

static void diff_dealloc(tmt_Diff *self)
{
    tma_diff_free(&self->d);
    Py_XDECREF(self->new_groups);
    Py_XDECREF(self->old_groups);
    PyObject_Free(self);
}

static PyObject *diff_sort(tmt_Diff *self, PyObject *unused)
{
    (void)unused;
    tma_diff_sort(&self->d);
    Py_RETURN_NONE;
}

/* [(size_diff, size, count_diff, count, key)], None replaced in keys. */
static PyObject *diff_to_list(tmt_Diff *self, PyObject *unused)
{
    key_caches kc = {.n = 0};
    (void)unused;
    PyObject *list = PyList_New((Py_ssize_t)self->d.n);
    for (size_t i = 0; list != NULL && i < self->d.n; i++) {
        const tma_diff_item *it = &self->d.items[i];
        PyObject *key = key_obj(&kc, self->d.by, &it->key, 1);
        PyObject *t = key ? Py_BuildValue("(LKLKN)", (long long)it->size_diff,
                                          (unsigned long long)it->size,
                                          (long long)it->count_diff,
                                          (unsigned long long)it->count, key)
                          : NULL;
        if (t == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, t);
    }
    caches_done(&kc);
    return list;
}

static Py_ssize_t diff_len(tmt_Diff *self)
{
    return (Py_ssize_t)self->d.n;
}

static PyMethodDef diff_methods[] = {
    {"sort", (PyCFunction)diff_sort, METH_NOARGS,
     "sort in StatsDiff.sort's order (libtma)"},
    {"to_list", (PyCFunction)diff_to_list, METH_NOARGS,
     "[(size_diff, size, count_diff, count, key)]"},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods diff_seq = {.sq_length = (lenfunc)diff_len};

PyTypeObject tmt_Diff_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_tmtrace.Diff",
    .tp_basicsize = sizeof(tmt_Diff),
    .tp_dealloc = (destructor)diff_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Two groupings compared by libtma (made by Groups.compare).",
    .tp_methods = diff_methods,
    .tp_as_sequence = &diff_seq,
};
