/* frames.c -- the one file that reads CPython's internals: frame walking,
 * the object preheader, the interned-strings dict.  Everything that
 * changes between 3.9 and 3.13 is here, behind the functions of core.h.
 *
 * 3.9/3.10: PyFrameObject chain (tstate->frame, f_back); f_lasti is a byte
 *           offset in 3.9 and a code-unit index in 3.10.
 * 3.11/3.12: _PyInterpreterFrame chain from tstate->cframe->current_frame,
 *           prev_instr; incomplete frames (and 3.12's C-stack shims) are
 *           not Python frames yet and are skipped, as CPython's own
 *           tracemalloc skips them.
 * 3.13:     tstate->current_frame, f_executable, instr_ptr. */
#include <patchlevel.h>
#if PY_VERSION_HEX >= 0x030B0000
#  define Py_BUILD_CORE 1 /* the internal frame headers demand it */
#endif
#include "core.h"

#if PY_VERSION_HEX < 0x030B0000
#  include <frameobject.h>
#else
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wunused-parameter"
#  pragma GCC diagnostic ignored "-Wsign-compare"
#  pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#  include <internal/pycore_frame.h>
#  if PY_VERSION_HEX >= 0x030C0000
#    include <internal/pycore_interp.h>
#  else
#    include <internal/pycore_pystate.h>
#  endif
#  pragma GCC diagnostic pop
#endif

#if PY_VERSION_HEX >= 0x030D0000
#  define TMT_TSTATE() PyThreadState_GetUnchecked()
#elif PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
/* 3.11's current thread state is one field of _PyRuntime (exported):
 * read inline, as CPython does, not through a call per traced block. */
#  define TMT_TSTATE() _PyThreadState_GET()
#else
#  define TMT_TSTATE() _PyThreadState_UncheckedGet()
#endif

#if PY_VERSION_HEX >= 0x030B0000
static inline PyObject *iframe_code(_PyInterpreterFrame *f)
{
#  if PY_VERSION_HEX >= 0x030D0000
    return f->f_executable;
#  else
    return (PyObject *)f->f_code;
#  endif
}

static inline int iframe_skip(_PyInterpreterFrame *f)
{
#  if PY_VERSION_HEX >= 0x030C0000
    if (f->owner == FRAME_OWNED_BY_CSTACK)
        return 1;
#  endif
#  if PY_VERSION_HEX >= 0x030D0000
    if (!PyCode_Check(f->f_executable))
        return 1;
#  endif
    return _PyFrame_IsIncomplete(f);
}
#endif

/* A frame of the runner's (or runpy's) code: it and every older frame are
 * not the program's.  Code compiled from one file shares one co_filename
 * object, so a pointer compare per file suffices. */
static inline int is_root(PyObject *code)
{
    PyObject *fn = ((PyCodeObject *)code)->co_filename;
    for (int i = 0; i < tmt_S.nroot_files; i++)
        if (fn == tmt_S.root_files[i])
            return 1;
    return 0;
}

static inline __attribute__((always_inline)) int
capture(PyThreadState *ts, tmt_rawframe *out, int limit);

int tmt_frames_capture(tmt_rawframe *out, int limit)
{
    return capture(TMT_TSTATE(), out, limit);
}

/* Without the GIL, a thread's own frames cannot change (running Python
 * needs the GIL) and hold their code objects alive, so reading them is
 * safe; the thread state is this thread's own (a TLS read), not the GIL
 * holder's, which is what TMT_TSTATE gives through 3.11. */
int tmt_frames_capture_own(tmt_rawframe *out, int limit)
{
    return capture(PyGILState_GetThisThreadState(), out, limit);
}

/* Inline in both callers: the hooks' tmt_frames_capture is a call
 * already, and a second one costs more than the walk of one frame. */
static inline __attribute__((always_inline)) int
capture(PyThreadState *ts, tmt_rawframe *out, int limit)
{
    int n = 0;
    if (ts == NULL || ts->interp != tmt_S.main_interp)
        return -1;
#if PY_VERSION_HEX < 0x030B0000
    for (PyFrameObject *f = ts->frame; f != NULL && n < limit; f = f->f_back) {
        if (tmt_S.nroot_files && is_root((PyObject *)f->f_code))
            break;
        out[n].code = (PyObject *)f->f_code;
#  if PY_VERSION_HEX >= 0x030A0000
        out[n].offset = f->f_lasti * (int)sizeof(_Py_CODEUNIT);
#  else
        out[n].offset = f->f_lasti;
#  endif
        out[n].unused = 0;
        n++;
    }
#else
#  if PY_VERSION_HEX >= 0x030D0000
    _PyInterpreterFrame *f = ts->current_frame;
#  else
    _PyInterpreterFrame *f = ts->cframe ? ts->cframe->current_frame : NULL;
#  endif
    for (; f != NULL && n < limit; f = f->previous) {
        if (iframe_skip(f))
            continue;
        if (tmt_S.nroot_files && is_root(iframe_code(f)))
            break;
        out[n].code = iframe_code(f);
        out[n].offset = _PyInterpreterFrame_LASTI(f) * (int)sizeof(_Py_CODEUNIT);
        out[n].unused = 0;
        n++;
    }
#endif
    return n;
}

int tmt_holds_gil(void)
{
    /* Through 3.11 the current thread state is one global (whoever holds
     * the GIL); from 3.12 it is per thread and NULL while detached.  Both
     * ways, this thread holds a GIL iff the current state is its own. */
    PyThreadState *ts = TMT_TSTATE();
    return ts != NULL && ts->thread_id == PyThread_get_thread_ident();
}

int tmt_holds_main(void)
{
    PyThreadState *ts = TMT_TSTATE();
    return ts != NULL && ts->interp == tmt_S.main_interp;
}

int32_t tmt_frame_lineno(PyObject *code, int32_t offset)
{
    int line = PyCode_Addr2Line((PyCodeObject *)code, offset);
    return line < 0 ? -1 : line;
}

PyObject *tmt_code_filename(PyObject *code)
{
    return ((PyCodeObject *)code)->co_filename;
}

PyObject *tmt_code_qualname(PyObject *code)
{
#if PY_VERSION_HEX >= 0x030B0000
    return ((PyCodeObject *)code)->co_qualname;
#else
    return ((PyCodeObject *)code)->co_name; /* no qualified name before 3.11 */
#endif
}

/* What the allocator returned for obj: objects tracked by the GC carry a
 * PyGC_Head before them, and since 3.11 managed dict/weakref pointers sit
 * before that ("preheader"). */
uintptr_t tmt_object_address(PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    uintptr_t pre = 0;
    if (PyType_IS_GC(tp))
        pre += 2 * sizeof(uintptr_t); /* sizeof(PyGC_Head) */
#if PY_VERSION_HEX >= 0x030C0000
    if (PyType_HasFeature(tp, Py_TPFLAGS_PREHEADER))
        pre += 2 * sizeof(PyObject *);
#elif PY_VERSION_HEX >= 0x030B0000
    if (PyType_HasFeature(tp, Py_TPFLAGS_MANAGED_DICT))
        pre += 2 * sizeof(PyObject *);
#endif
    return (uintptr_t)obj - pre;
}

int tmt_unicode_interned(Py_ssize_t *size, Py_ssize_t *length)
{
#if PY_VERSION_HEX >= 0x030C0000
    /* Since 3.12 the dictionary belongs to the interpreter (statically
     * allocated strings are interned elsewhere and not counted here). */
    PyInterpreterState *interp = PyInterpreterState_Get();
    PyObject *d = interp->cached_objects.interned_strings;
    if (d == NULL || !PyDict_Check(d))
        return -1;
    PyObject *r = PyObject_CallMethod(d, "__sizeof__", NULL);
    if (r == NULL) {
        PyErr_Clear();
        return -1;
    }
    *size = PyLong_AsSsize_t(r);
    Py_DECREF(r);
    *length = PyDict_GET_SIZE(d);
    return 0;
#else
    /* Before 3.12 the dictionary is a static variable of unicodeobject.c
     * with no accessor: not readable from an extension. */
    (void)size;
    (void)length;
    return -1;
#endif
}
