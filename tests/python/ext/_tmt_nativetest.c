/* _tmt_nativetest -- a test extension that calls the C library's
 * allocator through its own PLT/GOT, as sqlite3 or a C++ library does,
 * with and without the GIL and from a thread Python never saw: what
 * native mode (src/tracer/native.c) must trace, and at which size. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <malloc.h>
#include <pthread.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

static void *thread_mmap_main(void *arg)
{
    void *p = mmap(NULL, *(size_t *)arg, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* thread_alloc(size, mmap=False) -> address malloc'd (or mapped) by a
 * thread without any Python thread state */
static PyObject *t_thread_alloc(PyObject *self, PyObject *args)
{
    Py_ssize_t size;
    pthread_t th;
    void *p = NULL;
    int map = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "n|p", &size, &map))
        return NULL;
    size_t n = (size_t)size;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = pthread_create(&th, NULL, map ? thread_mmap_main : thread_main, &n);
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

/* ---- mappings: mmap, mmap64, munmap, mremap through this object's GOT -- */

/* `mmap` under its own name: pyconfig.h's _FILE_OFFSET_BITS=64 makes the
 * plain call below a call to mmap64 (what every extension imports);
 * libraries built without it import mmap. */
extern void *plain_mmap(void *, size_t, int, int, int, off_t) __asm__("mmap");

/* mmap(size, flags, fd=-1, addr=0, nogil=False, plain=False, touch=True)
 * -> address; OSError with errno on MAP_FAILED.  prot is read/write;
 * plain: through the `mmap` symbol, else mmap64 (see plain_mmap). */
static PyObject *t_mmap(PyObject *self, PyObject *args)
{
    Py_ssize_t size;
    int flags, fd = -1, nogil = 0, plain = 0, touch = 1;
    PyObject *addr_o = NULL;
    void *addr = NULL, *p;
    (void)self;
    if (!PyArg_ParseTuple(args, "ni|iOppp", &size, &flags, &fd, &addr_o,
                          &nogil, &plain, &touch))
        return NULL;
    if (addr_o != NULL) {
        addr = PyLong_AsVoidPtr(addr_o);
        if (addr == NULL && PyErr_Occurred())
            return NULL;
    }
    int prot = PROT_READ | PROT_WRITE, err = 0;
    MAYBE_NOGIL(nogil, {
        p = plain ? plain_mmap(addr, (size_t)size, prot, flags, fd, 0)
                  : mmap64(addr, (size_t)size, prot, flags, fd, 0);
        err = errno;
        if (p != MAP_FAILED && touch)
            memset(p, 1, (size_t)size);   /* resident, as real data is */
    });
    if (p == MAP_FAILED) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromVoidPtr(p);
}

/* munmap(address, size, nogil=False) */
static PyObject *t_munmap(PyObject *self, PyObject *args)
{
    PyObject *addr_o;
    Py_ssize_t size;
    int nogil = 0, r, err = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "On|p", &addr_o, &size, &nogil))
        return NULL;
    void *p = PyLong_AsVoidPtr(addr_o);
    if (p == NULL && PyErr_Occurred())
        return NULL;
    MAYBE_NOGIL(nogil, { r = munmap(p, (size_t)size); err = errno; });
    if (r != 0) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

/* mremap(address, old_size, new_size, flags, new_address=0, nogil=False,
 * touch=True) -> address (the new size touched) */
static PyObject *t_mremap(PyObject *self, PyObject *args)
{
    PyObject *addr_o, *want_o = NULL;
    Py_ssize_t olen, len;
    int flags, nogil = 0, touch = 1, err = 0;
    void *want = NULL, *p;
    (void)self;
    if (!PyArg_ParseTuple(args, "Onni|Opp", &addr_o, &olen, &len, &flags,
                          &want_o, &nogil, &touch))
        return NULL;
    void *old = PyLong_AsVoidPtr(addr_o);
    if (old == NULL && PyErr_Occurred())
        return NULL;
    if (want_o != NULL) {
        want = PyLong_AsVoidPtr(want_o);
        if (want == NULL && PyErr_Occurred())
            return NULL;
    }
    MAYBE_NOGIL(nogil, {
        p = mremap(old, (size_t)olen, (size_t)len, flags, want);
        err = errno;
        if (p != MAP_FAILED && touch)
            memset(p, 2, (size_t)len);
    });
    if (p == MAP_FAILED) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromVoidPtr(p);
}

/* mmap_slots() -> what this object's GOT holds for mmap, mmap64, munmap
 * and mremap now */
static PyObject *t_mmap_slots(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    void *(*volatile m)(void *, size_t, int, int, int, off_t) = plain_mmap;
    void *(*volatile m64)(void *, size_t, int, int, int, off_t) = mmap64;
    int (*volatile u)(void *, size_t) = munmap;
    void *(*volatile r)(void *, size_t, size_t, int, ...) = mremap;
    return Py_BuildValue("(NNNN)", PyLong_FromVoidPtr((void *)m),
                         PyLong_FromVoidPtr((void *)m64),
                         PyLong_FromVoidPtr((void *)u),
                         PyLong_FromVoidPtr((void *)r));
}

/* raw_churn_start(nthreads) / raw_churn_stop() -> rounds: threads
 * Python never saw allocate and free with PyMem_RawMalloc/RawFree (the
 * tracer's pending map, without the GIL) as fast as they can, until
 * stopped: what a background snapshot's fork meets (test_bg_write.py). */
#define CHURN_MAX 8
static pthread_t churn_th[CHURN_MAX];
static int churn_n;
static volatile int churn_stop;
static unsigned long churn_rounds[CHURN_MAX];

static void *churn_main(void *arg)
{
    unsigned long *rounds = arg;
    void *p[50];
    while (!__atomic_load_n(&churn_stop, __ATOMIC_RELAXED)) {
        for (int k = 0; k < 50; k++)
            p[k] = PyMem_RawMalloc(64 + (size_t)k);
        for (int k = 0; k < 50; k += 2)
            PyMem_RawFree(p[k]);
        for (int k = 1; k < 50; k += 2)
            PyMem_RawFree(p[k]);
        ++*rounds;
    }
    return NULL;
}

static PyObject *t_raw_churn_start(PyObject *self, PyObject *args)
{
    int n;
    (void)self;
    if (!PyArg_ParseTuple(args, "i", &n))
        return NULL;
    if (churn_n != 0 || n < 1 || n > CHURN_MAX) {
        PyErr_SetString(PyExc_ValueError, "churn running or bad count");
        return NULL;
    }
    __atomic_store_n(&churn_stop, 0, __ATOMIC_RELAXED);
    for (; churn_n < n; churn_n++) {
        churn_rounds[churn_n] = 0;
        if (pthread_create(&churn_th[churn_n], NULL, churn_main,
                           &churn_rounds[churn_n]) != 0)
            break;
    }
    if (churn_n < n) {
        PyErr_SetString(PyExc_OSError, "cannot start a thread");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *t_raw_churn_stop(PyObject *self, PyObject *unused)
{
    unsigned long total = 0;
    (void)self;
    (void)unused;
    __atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
    Py_BEGIN_ALLOW_THREADS
    for (int i = 0; i < churn_n; i++) {
        pthread_join(churn_th[i], NULL);
        total += churn_rounds[i];
    }
    Py_END_ALLOW_THREADS
    churn_n = 0;
    return PyLong_FromUnsignedLong(total);
}

static PyMethodDef methods[] = {
    {"raw_churn_start", t_raw_churn_start, METH_VARARGS, NULL},
    {"raw_churn_stop", t_raw_churn_stop, METH_NOARGS, NULL},
    {"mmap", t_mmap, METH_VARARGS, NULL},
    {"munmap", t_munmap, METH_VARARGS, NULL},
    {"mremap", t_mremap, METH_VARARGS, NULL},
    {"mmap_slots", t_mmap_slots, METH_NOARGS, NULL},
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
    PyObject *m = PyModule_Create(&mod);
    if (m == NULL)
        return NULL;
    static const struct { const char *name; long v; } consts[] = {
        {"MAP_PRIVATE", MAP_PRIVATE}, {"MAP_SHARED", MAP_SHARED},
        {"MAP_ANONYMOUS", MAP_ANONYMOUS}, {"MAP_FIXED", MAP_FIXED},
        {"MAP_NORESERVE", MAP_NORESERVE},
        {"MREMAP_MAYMOVE", MREMAP_MAYMOVE}, {"MREMAP_FIXED", MREMAP_FIXED},
        {"MREMAP_DONTUNMAP", 4},   /* Linux 5.7; not in every libc's headers */
        {"PAGE", 0},
    };
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++) {
        long v = consts[i].v ? consts[i].v : sysconf(_SC_PAGESIZE);
        if (PyModule_AddIntConstant(m, consts[i].name, v) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
