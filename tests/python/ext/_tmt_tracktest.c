/* _tmt_tracktest -- a test extension that reports blocks the way numpy
 * does, through PyTraceMalloc_Track/Untrack (called through its PLT, as
 * any extension would), without depending on numpy; and that calls the
 * RAW domain with and without the GIL, as C code may. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>

/* alloc(domain, size) -> address: a malloc'd block, tracked. */
static PyObject *t_alloc(PyObject *self, PyObject *args)
{
    unsigned int domain;
    Py_ssize_t size;
    (void)self;
    if (!PyArg_ParseTuple(args, "In", &domain, &size))
        return NULL;
    void *p = malloc(size > 0 ? (size_t)size : 1);
    if (p == NULL)
        return PyErr_NoMemory();
    PyTraceMalloc_Track(domain, (uintptr_t)p, (size_t)size);
    return PyLong_FromVoidPtr(p);
}

/* free(domain, address): untracked, then freed (numpy's order). */
static PyObject *t_free(PyObject *self, PyObject *args)
{
    unsigned int domain;
    PyObject *addr;
    (void)self;
    if (!PyArg_ParseTuple(args, "IO", &domain, &addr))
        return NULL;
    void *p = PyLong_AsVoidPtr(addr);
    if (p == NULL && PyErr_Occurred())
        return NULL;
    PyTraceMalloc_Untrack(domain, (uintptr_t)p);
    free(p);
    Py_RETURN_NONE;
}

/* track(domain, address, size) -> what PyTraceMalloc_Track returned. */
static PyObject *t_track(PyObject *self, PyObject *args)
{
    unsigned int domain;
    PyObject *addr;
    Py_ssize_t size;
    (void)self;
    if (!PyArg_ParseTuple(args, "IOn", &domain, &addr, &size))
        return NULL;
    void *p = PyLong_AsVoidPtr(addr);
    if (p == NULL && PyErr_Occurred())
        return NULL;
    return PyLong_FromLong(PyTraceMalloc_Track(domain, (uintptr_t)p, (size_t)size));
}

/* alloc_nogil(domain, size): tracked from a call that released the GIL
 * (PyTraceMalloc_Track's contract allows it). */
static PyObject *t_alloc_nogil(PyObject *self, PyObject *args)
{
    unsigned int domain;
    Py_ssize_t size;
    void *p;
    (void)self;
    if (!PyArg_ParseTuple(args, "In", &domain, &size))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    p = malloc(size > 0 ? (size_t)size : 1);
    if (p != NULL)
        PyTraceMalloc_Track(domain, (uintptr_t)p, (size_t)size);
    Py_END_ALLOW_THREADS
    if (p == NULL)
        return PyErr_NoMemory();
    return PyLong_FromVoidPtr(p);
}

/* raw_alloc(size, nogil) -> address: PyMem_RawMalloc, called without
 * the GIL when nogil is true (the RAW domain's contract allows it). */
static PyObject *t_raw_alloc(PyObject *self, PyObject *args)
{
    Py_ssize_t size;
    int nogil;
    void *p;
    (void)self;
    if (!PyArg_ParseTuple(args, "np", &size, &nogil))
        return NULL;
    if (nogil) {
        Py_BEGIN_ALLOW_THREADS
        p = PyMem_RawMalloc((size_t)size);
        Py_END_ALLOW_THREADS
    } else {
        p = PyMem_RawMalloc((size_t)size);
    }
    if (p == NULL)
        return PyErr_NoMemory();
    return PyLong_FromVoidPtr(p);
}

/* raw_free(address, nogil): PyMem_RawFree, without the GIL if nogil. */
static PyObject *t_raw_free(PyObject *self, PyObject *args)
{
    PyObject *addr;
    int nogil;
    (void)self;
    if (!PyArg_ParseTuple(args, "Op", &addr, &nogil))
        return NULL;
    void *p = PyLong_AsVoidPtr(addr);
    if (p == NULL && PyErr_Occurred())
        return NULL;
    if (nogil) {
        Py_BEGIN_ALLOW_THREADS
        PyMem_RawFree(p);
        Py_END_ALLOW_THREADS
    } else {
        PyMem_RawFree(p);
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"raw_alloc", t_raw_alloc, METH_VARARGS, NULL},
    {"raw_free", t_raw_free, METH_VARARGS, NULL},
    {"alloc", t_alloc, METH_VARARGS, NULL},
    {"alloc_nogil", t_alloc_nogil, METH_VARARGS, NULL},
    {"free", t_free, METH_VARARGS, NULL},
    {"track", t_track, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_tmt_tracktest",
                                 NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__tmt_tracktest(void);
PyMODINIT_FUNC PyInit__tmt_tracktest(void)
{
    return PyModule_Create(&mod);
}
