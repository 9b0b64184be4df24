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
    PyObject *data;         /* made from a list: its keys' SnapshotData */
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
    case TMA_BY_FUNCTION: {
        /* (filename, function name); None for unknown ('' when asked) */
        PyObject *name = (replace && k->filename == TMS_NONE)
            ? PyUnicode_FromString("") : tmt_pycache_str(c, k->filename);
        PyObject *fn = (replace && k->function == TMS_NONE)
            ? PyUnicode_FromString("") : tmt_pycache_str(c, k->function);
        PyObject *t = (name && fn) ? PyTuple_Pack(2, name, fn) : NULL;
        Py_XDECREF(name);
        Py_XDECREF(fn);
        return t;
    }
    case TMA_BY_ADDRESS:
        return PyLong_FromUnsignedLongLong(k->address);
    case TMA_BY_DOMAIN:
        return PyLong_FromUnsignedLong(k->domain);
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

/* A Python key as a tma_key whose ids are interned into s: the reverse of
 * key_obj, for groupings and differences made by hand. */
static int key_from_py(tms_snapshot *s, tma_group_by by, PyObject *obj,
                       tma_key *k, uint32_t **buf, Py_ssize_t *cap)
{
    uint32_t frame;
    memset(k, 0, sizeof *k);
    k->snap = s;
    k->filename = TMS_NONE;
    k->lineno = TMS_LINENO_NONE;
    k->function = TMS_NONE;
    switch (by) {
    case TMA_BY_FILENAME:
        return tmt_intern_pystr(s, obj, &k->filename);
    case TMA_BY_FUNCTION:   /* (filename, function name), None unknown */
        if (!PyTuple_Check(obj) || PyTuple_GET_SIZE(obj) != 2) {
            PyErr_SetString(PyExc_TypeError, "a function key must be a "
                            "(filename, function name) tuple");
            return -1;
        }
        if (tmt_intern_pystr(s, PyTuple_GET_ITEM(obj, 0), &k->filename) < 0)
            return -1;
        return tmt_intern_pystr(s, PyTuple_GET_ITEM(obj, 1), &k->function);
    case TMA_BY_LINE:
        if (tmt_intern_pyframe(s, obj, &frame) < 0)
            return -1;
        k->filename = s->frames[frame].filename;
        k->lineno = s->frames[frame].lineno;
        return 0;
    case TMA_BY_TRACEBACK:
        return tmt_intern_pytraceback(s, obj, buf, cap, &k->traceback);
    case TMA_BY_ADDRESS:
        return tmt_u64_from_py(obj, "address", &k->address);
    case TMA_BY_DOMAIN: {
        uint64_t d;
        if (tmt_u64_from_py(obj, "domain", &d) < 0)
            return -1;
        if (d > UINT32_MAX) {
            PyErr_SetString(PyExc_ValueError, "a domain is 32 bits");
            return -1;
        }
        k->domain = (uint32_t)d;
        return 0;
    }
    }
    return 0;
}

/* group_by as a name, or None: then read from the key's shape (a
 * StatsDiff built without its GroupedStats): int address, str or None
 * filename, a tuple of frames traceback, else line. */
static int by_from_py(PyObject *name, PyObject *key, tma_group_by *by)
{
    if (name == Py_None) {
        if (key == NULL || PyLong_Check(key))
            *by = key == NULL ? TMA_BY_LINE : TMA_BY_ADDRESS;
        else if (key == Py_None || PyUnicode_Check(key))
            *by = TMA_BY_FILENAME;
        else if (PyTuple_Check(key) && (PyTuple_GET_SIZE(key) == 0 ||
                                        PyTuple_Check(PyTuple_GET_ITEM(key, 0))))
            *by = TMA_BY_TRACEBACK;
        else
            *by = TMA_BY_LINE;
        return 0;
    }
    const char *text = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
    if (text != NULL && tma_group_by_parse(text, by) == 0)
        return 0;
    if (!PyErr_Occurred())
        PyErr_Format(PyExc_ValueError,
                     "group_by must be 'filename', 'line', 'address', "
                     "'traceback', 'function' or 'domain', not %R", name);
    return -1;
}

/* A SnapshotData of its own for keys made from Python (*s is its
 * snapshot, owned by it); NULL with an exception set. */
static PyObject *key_store(tms_snapshot **s)
{
    *s = tms_snapshot_new();
    return *s ? tmt_snapshotdata_wrap(*s) : PyErr_NoMemory();
}

/* A (size, count) or (size_diff, size, count_diff, count, key) entry. */
static PyObject *entry_fast(PyObject *obj, Py_ssize_t n, const char *what)
{
    PyObject *fast = (PyTuple_Check(obj) || PyList_Check(obj))
        ? PySequence_Fast(obj, what) : NULL;
    if (fast != NULL && PySequence_Fast_GET_SIZE(fast) == n)
        return fast;
    Py_XDECREF(fast);
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, what);
    return NULL;
}

static int i64_from_py(PyObject *obj, int64_t *out)
{
    long long v = PyLong_Check(obj) ? PyLong_AsLongLong(obj) : -1;
    if (!PyLong_Check(obj))
        PyErr_Format(PyExc_TypeError, "a difference must be int, not %.100s",
                     Py_TYPE(obj)->tp_name);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = v;
    return 0;
}

/* ---- Groups -------------------------------------------------------------- */

PyObject *tmt_groups_new(tmt_SnapshotData *data, const char *group_by,
                         int cumulative, int peak)
{
    tma_group_by by;
    if (tma_group_by_parse(group_by, &by) < 0) {
        PyErr_Format(PyExc_ValueError,
                     "group_by must be 'filename', 'line', 'address', "
                     "'traceback' or 'function', not '%s'", group_by);
        return NULL;
    }
    tmt_Groups *self = PyObject_New(tmt_Groups, &tmt_Groups_Type);
    if (self == NULL)
        return NULL;
    memset(&self->g, 0, sizeof self->g);
    Py_INCREF(data);
    self->data = (PyObject *)data;
    tms_error err = {0, ""};
    int rc = peak ? tma_group_peak(data->snap, by, cumulative, &self->g, &err)
                  : tma_group(data->snap, by, cumulative, &self->g, &err);
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

/* _tmtrace.groups_from_dict(stats, group_by, cumulative): a GroupedStats
 * built by hand ({key: (size, count)}) as a Groups, so it is compared,
 * sorted and rendered by libtma like one made by top_by.  Totals are the
 * sums of its entries. */
static PyObject *groups_from_dict(PyObject *mod, PyObject *args)
{
    PyObject *stats, *name, *key, *val;
    int cumulative = 0;
    (void)mod;
    if (!PyArg_ParseTuple(args, "OO|p:groups_from_dict", &stats, &name,
                          &cumulative))
        return NULL;
    if (!PyDict_Check(stats)) {
        PyErr_SetString(PyExc_TypeError, "stats must be a dict");
        return NULL;
    }
    tma_group_by by;
    if (by_from_py(name, NULL, &by) < 0)
        return NULL;
    tms_snapshot *s;
    PyObject *data = key_store(&s);
    if (data == NULL)
        return NULL;
    tmt_Groups *self = PyObject_New(tmt_Groups, &tmt_Groups_Type);
    if (self == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    memset(&self->g, 0, sizeof self->g);
    self->data = data;
    self->g.by = by;
    self->g.cumulative = cumulative;
    Py_ssize_t n = PyDict_GET_SIZE(stats), pos = 0, cap = 0;
    uint32_t *buf = NULL;
    self->g.items = malloc((size_t)(n ? n : 1) * sizeof *self->g.items);
    if (self->g.items == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    while (PyDict_Next(stats, &pos, &key, &val)) {
        tma_stat *st = &self->g.items[self->g.n];
        PyObject *fast = entry_fast(val, 2, "a stat must be a (size, count) tuple");
        int bad = fast == NULL ||
            tmt_u64_from_py(PySequence_Fast_GET_ITEM(fast, 0), "size", &st->size) < 0 ||
            tmt_u64_from_py(PySequence_Fast_GET_ITEM(fast, 1), "count", &st->count) < 0 ||
            key_from_py(s, by, key, &st->key, &buf, &cap) < 0;
        Py_XDECREF(fast);
        if (bad)
            goto fail;
        self->g.total_size += st->size;
        self->g.total_count += st->count;
        self->g.n++;
    }
    PyMem_Free(buf);
    return (PyObject *)self;
fail:
    PyMem_Free(buf);
    Py_DECREF(self);
    return NULL;
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
    self->data = NULL;
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
    Py_XDECREF(self->data);
    PyObject_Free(self);
}

/* _tmtrace.diff_from_list(differences, group_by_or_None): a StatsDiff's
 * list set by hand, as a Diff (in the list's order), so it is sorted and
 * rendered by libtma. */
static PyObject *diff_from_list(PyObject *mod, PyObject *args)
{
    PyObject *list, *name;
    (void)mod;
    if (!PyArg_ParseTuple(args, "OO:diff_from_list", &list, &name))
        return NULL;
    PyObject *items = PySequence_Fast(list, "differences must be a list");
    if (items == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items), cap = 0;
    uint32_t *buf = NULL;
    tmt_Diff *self = NULL;
    tma_group_by by;
    PyObject *first = NULL;
    if (n > 0 && PyTuple_Check(PySequence_Fast_GET_ITEM(items, 0)) &&
        PyTuple_GET_SIZE(PySequence_Fast_GET_ITEM(items, 0)) == 5)
        first = PyTuple_GET_ITEM(PySequence_Fast_GET_ITEM(items, 0), 4);
    if (by_from_py(name, first, &by) < 0)
        goto fail;
    tms_snapshot *s;
    PyObject *data = key_store(&s);
    if (data == NULL)
        goto fail;
    self = PyObject_New(tmt_Diff, &tmt_Diff_Type);
    if (self == NULL) {
        Py_DECREF(data);
        goto fail;
    }
    memset(&self->d, 0, sizeof self->d);
    self->new_groups = self->old_groups = NULL;
    self->data = data;
    self->d.by = by;
    self->d.items = malloc((size_t)(n ? n : 1) * sizeof *self->d.items);
    if (self->d.items == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        tma_diff_item *it = &self->d.items[i];
        PyObject *fast = entry_fast(PySequence_Fast_GET_ITEM(items, i), 5,
            "a difference must be a (size_diff, size, count_diff, count, key) tuple");
        int bad = fast == NULL ||
            i64_from_py(PySequence_Fast_GET_ITEM(fast, 0), &it->size_diff) < 0 ||
            tmt_u64_from_py(PySequence_Fast_GET_ITEM(fast, 1), "size", &it->size) < 0 ||
            i64_from_py(PySequence_Fast_GET_ITEM(fast, 2), &it->count_diff) < 0 ||
            tmt_u64_from_py(PySequence_Fast_GET_ITEM(fast, 3), "count", &it->count) < 0 ||
            key_from_py(s, by, PySequence_Fast_GET_ITEM(fast, 4), &it->key, &buf,
                        &cap) < 0;
        Py_XDECREF(fast);
        if (bad)
            goto fail;
        self->d.n++;
    }
    PyMem_Free(buf);
    Py_DECREF(items);
    return (PyObject *)self;
fail:
    PyMem_Free(buf);
    Py_DECREF(items);
    Py_XDECREF(self);
    return NULL;
}

static PyObject *diff_sort(tmt_Diff *self, PyObject *unused)
{
    (void)unused;
    tma_diff_sort(&self->d);
    Py_RETURN_NONE;
}

/* [(size_diff, size, count_diff, count, key)]; None replaced in keys
 * (compare_to's rule) unless replace is false. */
static PyObject *diff_to_list(tmt_Diff *self, PyObject *args)
{
    key_caches kc = {.n = 0};
    int replace = 1;
    if (!PyArg_ParseTuple(args, "|p:to_list", &replace))
        return NULL;
    PyObject *list = PyList_New((Py_ssize_t)self->d.n);
    for (size_t i = 0; list != NULL && i < self->d.n; i++) {
        const tma_diff_item *it = &self->d.items[i];
        PyObject *key = key_obj(&kc, self->d.by, &it->key, replace);
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
    {"to_list", (PyCFunction)diff_to_list, METH_VARARGS,
     "to_list(replace=True) -> [(size_diff, size, count_diff, count, key)]"},
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

/* ---- text ---------------------------------------------------------------- */

/* _tmtrace.render_top(diff, new_groups, old_groups, new_title, old_title,
 *                     new_metrics, old_metrics, count, filename_parts,
 *                     show_size, show_count, show_average, show_metrics,
 *                     color) -> str
 * DisplayTop's text from libtma's renderer (tma_text_report), the one
 * tmtool prints.  old_groups None: not compared.  Metrics are sequences
 * of (name, value, format). */
static PyObject *render_top(PyObject *mod, PyObject *args)
{
    tmt_Diff *diff;
    tmt_Groups *cur;
    PyObject *old, *cur_metrics, *old_metrics, *old_title_obj;
    const char *cur_title;
    Py_ssize_t count;
    int parts, size, cnt, average, metrics, color;
    (void)mod;
    if (!PyArg_ParseTuple(args, "O!O!OsOOOnippppp:render_top",
                          &tmt_Diff_Type, &diff, &tmt_Groups_Type, &cur, &old,
                          &cur_title, &old_title_obj, &cur_metrics,
                          &old_metrics, &count, &parts, &size, &cnt, &average,
                          &metrics, &color))
        return NULL;
    if (old != Py_None && !PyObject_TypeCheck(old, &tmt_Groups_Type)) {
        PyErr_SetString(PyExc_TypeError, "old_groups must be a Groups or None");
        return NULL;
    }
    const char *old_title = "";
    if (old_title_obj != Py_None &&
        (old_title = PyUnicode_AsUTF8(old_title_obj)) == NULL)
        return NULL;
    if (count < 0) {
        PyErr_SetString(PyExc_ValueError, "count must be >= 0");
        return NULL;
    }
    tms_snapshot *cm = tmt_metrics_snapshot(cur_metrics), *om = NULL;
    if (cm == NULL)
        return NULL;
    if (old_metrics != Py_None && (om = tmt_metrics_snapshot(old_metrics)) == NULL) {
        tms_snapshot_free(cm);
        return NULL;
    }
    tma_text_opts o = {
        .by = diff->d.by, .count = (size_t)count, .filename_parts = parts,
        .show_size = size, .show_count = cnt, .show_average = average,
        .show_metrics = metrics, .color = color,
    };
    tma_text_side cs = { cur_title, &cur->g, cm };
    tma_text_side os = { old_title, old == Py_None ? NULL : &((tmt_Groups *)old)->g, om };
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int rc = f == NULL ? -1 : tma_text_report(f, &o, &cs, &os, &diff->d);
    if (f != NULL && fclose(f) != 0)
        rc = -1;
    tms_snapshot_free(cm);
    tms_snapshot_free(om);
    PyObject *res = rc < 0 ? PyErr_NoMemory() : tmt_name_decode(text, len);
    free(text);
    return res;
}

PyMethodDef tmt_group_functions[] = {
    {"groups_from_dict", groups_from_dict, METH_VARARGS,
     "groups_from_dict(stats, group_by, cumulative=False) -> Groups"},
    {"diff_from_list", diff_from_list, METH_VARARGS,
     "diff_from_list(differences, group_by_or_None) -> Diff (list order)"},
    {"render_top", render_top, METH_VARARGS,
     "render_top(diff, new_groups, old_groups, new_title, old_title, "
     "new_metrics, old_metrics, count, filename_parts, show_size, "
     "show_count, show_average, show_metrics, color) -> str"},
    {NULL, NULL, 0, NULL},
};
