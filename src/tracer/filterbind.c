/* filterbind.c -- Filter's matching, done by libtma.
 *
 * tmtrace.Filter keeps its attributes in Python; its match* methods come
 * here so the rules (jokers, .pyc/.pyo, lineno < 1, the traceback flag)
 * have one implementation, shared with Snapshot.apply_filters and
 * tmtool filter. */
#include "snapapi.h"

#include <string.h>

static int bool_attr(PyObject *obj, const char *name, int *out)
{
    PyObject *v = PyObject_GetAttrString(obj, name);
    if (v == NULL)
        return -1;
    int r = PyObject_IsTrue(v);
    Py_DECREF(v);
    if (r < 0)
        return -1;
    *out = r;
    return 0;
}

int tmt_filter_from_py(PyObject *obj, tma_filter *out, PyObject **keep)
{
    PyObject *pattern = NULL, *lineno = NULL, *bytes = NULL;
    *keep = NULL;
    memset(out, 0, sizeof *out);
    if (bool_attr(obj, "include", &out->include) < 0 ||
        bool_attr(obj, "traceback", &out->traceback) < 0)
        return -1;
    lineno = PyObject_GetAttrString(obj, "lineno");
    if (lineno == NULL)
        return -1;
    /* The spec: None or < 1 matches any line. */
    if (lineno == Py_None) {
        out->lineno = TMS_LINENO_NONE;
    }
    else if (PyLong_Check(lineno)) {
        int overflow;
        long v = PyLong_AsLongAndOverflow(lineno, &overflow);
        if (v == -1 && PyErr_Occurred())
            goto fail;
        if (overflow)
            v = overflow < 0 ? -1 : INT32_MAX;
        out->lineno = v < 1 ? TMS_LINENO_NONE
                            : (int32_t)(v > INT32_MAX ? INT32_MAX : v);
    }
    else {
        PyErr_SetString(PyExc_TypeError, "Filter.lineno must be int or None");
        goto fail;
    }
    Py_CLEAR(lineno);
    pattern = PyObject_GetAttrString(obj, "pattern");
    if (pattern == NULL)
        goto fail;
    if (!PyUnicode_Check(pattern)) {
        PyErr_SetString(PyExc_TypeError, "Filter.pattern must be str");
        goto fail;
    }
    if (tmt_utf8_view(pattern, &out->pattern, &out->pattern_len, &bytes) < 0)
        goto fail;
    /* Keep whichever object owns the bytes the filter points to. */
    if (bytes != NULL) {
        Py_DECREF(pattern);
        *keep = bytes;
    }
    else {
        *keep = pattern;
    }
    return 0;
fail:
    Py_XDECREF(lineno);
    Py_XDECREF(pattern);
    return -1;
}

int tmt_frames_from_py(PyObject *traceback, tma_frame_view **out, size_t *n,
                       PyObject **keep)
{
    *out = NULL;
    *n = 0;
    *keep = NULL;
    PyObject *fast = PySequence_Fast(traceback,
                                     "traceback must be a tuple of frames");
    if (fast == NULL)
        return -1;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    tma_frame_view *views = PyMem_Calloc(len ? (size_t)len : 1, sizeof *views);
    /* The list owns the sequence and any re-encoded filename bytes. */
    PyObject *hold = PyList_New(0);
    if (views == NULL || hold == NULL || PyList_Append(hold, fast) < 0) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t k = 0; k < len; k++) {
        PyObject *frame = PySequence_Fast_GET_ITEM(fast, k), *bytes;
        if (!PyTuple_Check(frame) || PyTuple_GET_SIZE(frame) != 2) {
            PyErr_SetString(PyExc_TypeError,
                            "a frame must be a (filename, lineno) tuple");
            goto fail;
        }
        if (tmt_utf8_view(PyTuple_GET_ITEM(frame, 0), &views[k].filename,
                      &views[k].len, &bytes) < 0)
            goto fail;
        if (bytes != NULL) {
            int r = PyList_Append(hold, bytes);
            Py_DECREF(bytes);
            if (r < 0)
                goto fail;
        }
        if (tmt_lineno_from_py(PyTuple_GET_ITEM(frame, 1),
                               &views[k].lineno) < 0)
            goto fail;
    }
    Py_DECREF(fast);
    *out = views;
    *n = (size_t)len;
    *keep = hold;
    return 0;
fail:
    PyMem_Free(views);
    Py_XDECREF(hold);
    Py_DECREF(fast);
    return -1;
}

/* ---- module functions: _tmtrace.filter_match* ---------------------------- */

/* libtma answers 0/1, or a negative code while a stub stands in. */
static PyObject *answer(int r)
{
    if (r < 0)
        return tmt_raise_tms(r, NULL, 0, NULL);
    return PyBool_FromLong(r);
}

static PyObject *filter_match(PyObject *mod, PyObject *args)
{
    PyObject *f, *filename, *lineno, *keep, *bytes;
    tma_filter cf;
    const char *name;
    size_t len;
    int32_t line;
    (void)mod;
    if (!PyArg_ParseTuple(args, "OOO:filter_match", &f, &filename, &lineno))
        return NULL;
    if (tmt_filter_from_py(f, &cf, &keep) < 0)
        return NULL;
    if (tmt_utf8_view(filename, &name, &len, &bytes) < 0 ||
        tmt_lineno_from_py(lineno, &line) < 0) {
        Py_XDECREF(bytes);
        Py_DECREF(keep);
        return NULL;
    }
    int r = tma_filter_match(&cf, name, len, line);
    Py_XDECREF(bytes);
    Py_DECREF(keep);
    return answer(r);
}

static PyObject *filter_match_filename(PyObject *mod, PyObject *args)
{
    PyObject *f, *filename, *keep, *bytes;
    tma_filter cf;
    const char *name;
    size_t len;
    (void)mod;
    if (!PyArg_ParseTuple(args, "OO:filter_match_filename", &f, &filename))
        return NULL;
    if (tmt_filter_from_py(f, &cf, &keep) < 0)
        return NULL;
    if (tmt_utf8_view(filename, &name, &len, &bytes) < 0) {
        Py_DECREF(keep);
        return NULL;
    }
    int r = tma_match_filename(cf.pattern, cf.pattern_len, name, len);
    Py_XDECREF(bytes);
    Py_DECREF(keep);
    return answer(r);
}

static PyObject *filter_match_lineno(PyObject *mod, PyObject *args)
{
    PyObject *f, *lineno, *keep;
    tma_filter cf;
    int32_t line;
    (void)mod;
    if (!PyArg_ParseTuple(args, "OO:filter_match_lineno", &f, &lineno))
        return NULL;
    if (tmt_filter_from_py(f, &cf, &keep) < 0)
        return NULL;
    if (tmt_lineno_from_py(lineno, &line) < 0) {
        Py_DECREF(keep);
        return NULL;
    }
    int r = tma_filter_match_lineno(&cf, line);
    Py_DECREF(keep);
    return answer(r);
}

static PyObject *filter_match_traceback(PyObject *mod, PyObject *args)
{
    PyObject *f, *tb, *keep, *hold;
    tma_filter cf;
    tma_frame_view *frames;
    size_t n;
    (void)mod;
    if (!PyArg_ParseTuple(args, "OO:filter_match_traceback", &f, &tb))
        return NULL;
    if (tmt_filter_from_py(f, &cf, &keep) < 0)
        return NULL;
    if (tmt_frames_from_py(tb, &frames, &n, &hold) < 0) {
        Py_DECREF(keep);
        return NULL;
    }
    int r = tma_filter_match_traceback(&cf, frames, n);
    PyMem_Free(frames);
    Py_DECREF(hold);
    Py_DECREF(keep);
    return answer(r);
}

PyMethodDef tmt_filter_methods[] = {
    {"filter_match", filter_match, METH_VARARGS,
     "filter_match(filter, filename, lineno) -> bool (libtma)"},
    {"filter_match_filename", filter_match_filename, METH_VARARGS,
     "filter_match_filename(filter, filename) -> bool (libtma)"},
    {"filter_match_lineno", filter_match_lineno, METH_VARARGS,
     "filter_match_lineno(filter, lineno) -> bool (libtma)"},
    {"filter_match_traceback", filter_match_traceback, METH_VARARGS,
     "filter_match_traceback(filter, traceback) -> bool (libtma)"},
    {NULL, NULL, 0, NULL},
};
