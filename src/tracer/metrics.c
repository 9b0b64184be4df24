/* metrics.c -- metric functions that need C: the interned-strings dict
 * and pymalloc's own statistics text.  Only what the interpreter lets us
 * read is reported; the Python layer parses and documents the rest. */
#include "core.h"

#include <stdio.h>

/* Exported by libpython on 3.9-3.13 (declared in internal headers only
 * since 3.11); returns 0 when pymalloc is not the object allocator. */
PyAPI_FUNC(int) _PyObject_DebugMallocStats(FILE *out);

static PyObject *f_get_unicode_interned(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    Py_ssize_t size, length;
    if (tmt_unicode_interned(&size, &length) < 0)
        Py_RETURN_NONE;
    return Py_BuildValue("(nn)", size, length);
}

static int debug_stats(void *f)
{
    return _PyObject_DebugMallocStats((FILE *)f);
}

/* pymalloc's statistics as printed by sys._debugmallocstats(), or None if
 * pymalloc is not in use. */
static PyObject *f_pymalloc_stats_text(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    FILE *f = tmpfile();
    if (f == NULL)
        return PyErr_SetFromErrno(PyExc_OSError);
    int used = tmt_call_with_obj_unhooked(debug_stats, f);
    PyObject *r = NULL;
    long len = ftell(f);
    if (!used || len < 0) {
        fclose(f);
        Py_RETURN_NONE;
    }
    rewind(f);
    r = PyBytes_FromStringAndSize(NULL, len);
    if (r != NULL && fread(PyBytes_AS_STRING(r), 1, (size_t)len, f) != (size_t)len) {
        Py_CLEAR(r);
        PyErr_SetString(PyExc_OSError, "cannot read pymalloc statistics back");
    }
    fclose(f);
    return r;
}

static PyMethodDef metric_methods[] = {
    {"get_unicode_interned", f_get_unicode_interned, METH_NOARGS,
     "(size, length) of the interned-strings dict, or None if unreadable."},
    {"_pymalloc_stats_text", f_pymalloc_stats_text, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

int tmt_metrics_init(PyObject *module)
{
    return PyModule_AddFunctions(module, metric_methods);
}
