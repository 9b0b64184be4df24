/* _tmt_nativetest -- a test extension that calls the C library's
 * allocator through its own PLT/GOT, as sqlite3 or a C++ library does,
 * with and without the GIL and from a thread Python never saw: what
 * native mode (src/tracer/native.c) must trace, and at which size. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One allocation of `size` bytes by the named function; NULL if the kind
 * is unknown or the allocation failed. */
static void *do_alloc(const char *kind, size_t size)
{
    void *p = NULL;
    if (strcmp(kind, "malloc") == 0)
        p = malloc(size);
    else if (strcmp(kind, "calloc") == 0)
        p = calloc(size, 1);
    else if (strcmp(kind, "realloc") == 0)
        p = realloc(NULL, size);
    else if (strcmp(kind, "posix_memalign") == 0) {
        if (posix_memalign(&p, 64, size) != 0)
            p = NULL;
    } else if (strcmp(kind, "aligned_alloc") == 0)
        p = aligned_alloc(64, size);   /* size: a multiple of 64 */
    else if (strcmp(kind, "memalign") == 0)
        p = memalign(64, size);
    else if (strcmp(kind, "valloc") == 0)
        p = valloc(size);
    if (p != NULL)
        memset(p, 1, size);   /* touched: resident, as real data is */
    return p;
}

/* stmt, with the GIL released around it when nogil is set */
#define MAYBE_NOGIL(nogil, stmt)                                           \
    do {                                                                   \
        if (nogil) {                                                       \
            Py_BEGIN_ALLOW_THREADS stmt; Py_END_ALLOW_THREADS              \
        } else {                                                           \
            stmt;                                                          \
        }                                                                  \
    } while (0)

/* alloc(kind, size, nogil=False) -> address */
static PyObject *t_alloc(PyObject *self, PyObject *args)
{
    const char *kind;
    Py_ssize_t size;
    int nogil = 0;
    void *p;
    (void)self;
    if (!PyArg_ParseTuple(args, "sn|p", &kind, &size, &nogil))
        return NULL;
    if (size < 1) {
        PyErr_SetString(PyExc_ValueError, "size < 1");
        return NULL;
    }
    MAYBE_NOGIL(nogil, p = do_alloc(kind, (size_t)size));
    if (p == NULL)
        return PyErr_NoMemory();
    return PyLong_FromVoidPtr(p);
}

/* realloc(address, size, nogil=False) -> address */
static PyObject *t_realloc(PyObject *self, PyObject *args)
{
    PyObject *addr;
    Py_ssize_t size;
    int nogil = 0;
    void *p, *q;
    (void)self;
    if (!PyArg_ParseTuple(args, "On|p", &addr, &size, &nogil))
        return NULL;
    p = PyLong_AsVoidPtr(addr);
    if (p == NULL && PyErr_Occurred())
        return NULL;
    MAYBE_NOGIL(nogil, q = realloc(p, (size_t)size));
    if (q == NULL)
        return PyErr_NoMemory();
    return PyLong_FromVoidPtr(q);
}

/* free(address, nogil=False) */
static PyObject *t_free(PyObject *self, PyObject *args)
{
    PyObject *addr;
    int nogil = 0;
    void *p;
    (void)self;
    if (!PyArg_ParseTuple(args, "O|p", &addr, &nogil))
        return NULL;
    p = PyLong_AsVoidPtr(addr);
    if (p == NULL && PyErr_Occurred())
        return NULL;
    MAYBE_NOGIL(nogil, free(p));
    Py_RETURN_NONE;
}

static void *thread_main(void *arg)
{
    return malloc(*(size_t *)arg);
}

/* thread_alloc(size) -> address malloc'd by a thread without any Python
 * thread state */
static PyObject *t_thread_alloc(PyObject *self, PyObject *args)
{
    Py_ssize_t size;
    pthread_t th;
    void *p = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "n", &size))
        return NULL;
    size_t n = (size_t)size;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = pthread_create(&th, NULL, thread_main, &n);
    if (r == 0)
        pthread_join(th, &p);
    Py_END_ALLOW_THREADS
    if (r != 0 || p == NULL)
        return PyErr_NoMemory();
    return PyLong_FromVoidPtr(p);
}

/* raw_malloc(size) -> address: PyMem_RawMalloc, which calls malloc
 * inside CPython (one block, not two) */
static PyObject *t_raw_malloc(PyObject *self, PyObject *args)
{
    Py_ssize_t size;
    (void)self;
    if (!PyArg_ParseTuple(args, "n", &size))
        return NULL;
    void *p = PyMem_RawMalloc((size_t)size);
    if (p == NULL)
        return PyErr_NoMemory();
    return PyLong_FromVoidPtr(p);
}

static PyObject *t_raw_free(PyObject *self, PyObject *addr)
{
    (void)self;
    void *p = PyLong_AsVoidPtr(addr);
    if (p == NULL && PyErr_Occurred())
        return NULL;
    PyMem_RawFree(p);
    Py_RETURN_NONE;
}

/* malloc_slot() -> what this object's GOT holds for malloc now (taking
 * the address of an external function in PIC code loads it from there) */
static PyObject *t_malloc_slot(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    void *(*volatile fn)(size_t) = malloc;
    return PyLong_FromVoidPtr((void *)fn);
}

static PyMethodDef methods[] = {
    {"alloc", t_alloc, METH_VARARGS, NULL},
    {"realloc", t_realloc, METH_VARARGS, NULL},
    {"free", t_free, METH_VARARGS, NULL},
    {"thread_alloc", t_thread_alloc, METH_VARARGS, NULL},
    {"raw_malloc", t_raw_malloc, METH_VARARGS, NULL},
    {"raw_free", t_raw_free, METH_O, NULL},
    {"malloc_slot", t_malloc_slot, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef mod = {PyModuleDef_HEAD_INIT, "_tmt_nativetest",
                                 NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__tmt_nativetest(void);
PyMODINIT_FUNC PyInit__tmt_nativetest(void)
{
    return PyModule_Create(&mod);
}
