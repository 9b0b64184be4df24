/* reftrace.c -- an object made from reused memory takes the line that
 * made it (CPython 3.13+).
 *
 * CPython keeps some freed objects (floats, tuples, lists, dicts, ...) on
 * free lists and hands their memory out again for a new object without
 * asking the allocator: hooks on the allocators alone see the block once,
 * at its first allocation, and keep that line for every object that
 * later lives in it.  CPython's own tracer moves such a block's trace to
 * the current traceback whenever an object is created in it
 * (_Py_NewReference); from 3.13 the reference tracer API
 * (PyRefTracer_SetTracer) lets an extension see that moment too, and so
 * do we: on PyRefTracer_CREATE, if the object's block is traced, its
 * trace takes the current traceback.  Before 3.13 there is no such hook
 * for an extension and the first allocation's line stays
 * (docs/tracer-core.md, "Objects from free lists").
 *
 * There is one reference tracer per process.  We chain to the one we
 * found and put it back when we leave; CPython's tracemalloc (3.13) does
 * not chain: its start() replaces whatever is there and its stop()
 * leaves none.  So when the current tracer is none or CPython's own, we
 * are not in the chain any more and take it again, chaining to
 * CPython's, at enable() and at every query (tmt_reftrace_sync).
 *
 * The callback runs in _Py_NewReference, under the GIL of the thread
 * that creates the object, for every object: it touches the tables only
 * for the traced interpreter, captures frames only when the block is
 * traced, allocates only module memory (interning a new traceback), runs
 * no Python and sets no exception. */
#include "core.h"

#include <dlfcn.h>

#if PY_VERSION_HEX >= 0x030D0000 && !defined(Py_GIL_DISABLED)
#  define TMT_REFTRACE 1
#else
#  define TMT_REFTRACE 0
#endif

/* tmt_reftrace_set (GIL; read atomically by the callback): 1 on, 0 off,
 * -1 (the default) on while every block is traced and off while
 * sampling.  Sampled, the trace table is sparse and few reused blocks
 * are traced, but every object made would still pay the lookup: about
 * as much again as sampling itself costs (docs/tracer-core.md). */
static int wanted = -1;

static inline int is_wanted(void)
{
    int w = __atomic_load_n(&wanted, __ATOMIC_RELAXED);
    return w >= 0 ? w
                  : __atomic_load_n(&tmt_S.sample_interval, __ATOMIC_RELAXED) == 0;
}

#if TMT_REFTRACE
/* GIL: the tracer we chain to, and whether we are in the chain (on top,
 * or below one that calls us). */
static PyRefTracer prev_fn;
static void *prev_data;
static int in_chain;
/* Set while this thread is in the tracer we chain to: a chain that loops
 * back to us, or an object made down the chain, ends here. */
static __thread __attribute__((tls_model("initial-exec"))) int tls_in_ref;

/* The block of a new object is traced: give it the current traceback
 * (tables owned: GIL of the traced interpreter). */
static void retag(uintptr_t addr)
{
    tmt_trace was;
    tmt_drain_if_needed();
    if (!tmt_trace_get(addr, &was))
        return;       /* not traced (sampled out, filtered, before start) */
    /* Interning touches no trace (module memory only, the hooks' guard
     * set, no drain), so `was` still holds. */
    uint32_t tb = tmt_current_tb();
    if (tb == TMT_TB_NONE || !tmt_S.tracing || was.tb == tb)
        return;       /* inside a hook or a query, out of memory, or here */
    if (!tmt_tb_keep(tb)) {
        /* A block is traced only where the filters keep its traceback:
         * a new object at a filtered-out line is not traced. */
        tmt_trace_remove(addr, NULL);
        return;
    }
    /* Same size and domain, the new traceback; on failure (no memory to
     * grow the table) the old trace stays. */
    tmt_trace_add_in(addr, was.size, tb, was.domain);
}

/* An object was made: if in a block traced elsewhere, move the trace. */
static void created(PyObject *op)
{
    uintptr_t addr = tmt_object_address(op);
    if (addr == tmt_tls_fresh)
        tmt_tls_fresh = 0;  /* just traced, here: nothing to move; once */
    else if (tmt_holds_main())
        retag(addr);
}

/* Called for every object made and destroyed: DESTROY and an untraced
 * CREATE cost a few loads.  Nothing here makes an object, so the guard
 * only matters down the chain (a tracer that loops back to us). */
static int on_ref(PyObject *op, PyRefTracerEvent event, void *data)
{
    (void)data;
    if (tls_in_ref)
        return 0;
    if (event == PyRefTracer_CREATE && tmt_is_tracing() && is_wanted())
        created(op);
    PyRefTracer fn = prev_fn;
    if (fn == NULL)
        return 0;
    tls_in_ref = 1;
    int r = fn(op, event, prev_data);
    tls_in_ref = 0;
    return r;
}

/* Is fn CPython's own reference tracer (tracemalloc's, the only one
 * CPython installs)?  It lives in the object that defines the API. */
static int is_cpythons(PyRefTracer fn)
{
    Dl_info a, b;
    return dladdr((void *)(uintptr_t)fn, &a) != 0 &&
           dladdr((void *)(uintptr_t)PyRefTracer_SetTracer, &b) != 0 &&
           a.dli_fbase == b.dli_fbase;
}

static void take(PyRefTracer cur, void *cur_data)
{
    PyRefTracer was_fn = prev_fn;
    void *was_data = prev_data;
    prev_fn = cur;
    prev_data = cur_data;
    if (PyRefTracer_SetTracer(on_ref, NULL) < 0) {
        prev_fn = was_fn;   /* 3.13 never fails; keep what was */
        prev_data = was_data;
        PyErr_Clear();
        return;
    }
    in_chain = 1;
}
#endif

void tmt_reftrace_sync(void)
{
#if TMT_REFTRACE
    if (!tmt_is_tracing())
        return;
    if (!is_wanted()) {     /* switched off, or sampling since enable() */
        tmt_reftrace_leave();
        return;
    }
    void *data;
    PyRefTracer cur = PyRefTracer_GetTracer(&data);
    if (cur == on_ref)
        return;
    /* Not in the chain, or dropped from it: none is installed, or
     * CPython's, which calls no other.  Anything else above us may call
     * us: left alone. */
    if (!in_chain || cur == NULL || is_cpythons(cur))
        take(cur, data);
#endif
}

void tmt_reftrace_leave(void)
{
#if TMT_REFTRACE
    if (!in_chain)
        return;
    void *data;
    PyRefTracer cur = PyRefTracer_GetTracer(&data);
    if (cur == on_ref) {
        if (PyRefTracer_SetTracer(prev_fn, prev_data) < 0)
            PyErr_Clear();
        else
            in_chain = 0;
    } else if (cur == NULL || is_cpythons(cur)) {
        in_chain = 0;  /* dropped by CPython's tracer: nothing to restore */
    }
    /* Else one above us may call us: we stay in the chain and pass every
     * event on (on_ref does nothing while not tracing). */
#endif
}

int tmt_reftrace_set(int on)
{
    int was = wanted;
    __atomic_store_n(&wanted, on, __ATOMIC_RELAXED);
    if (is_wanted())
        tmt_reftrace_sync();
    else
        tmt_reftrace_leave();
    return was;
}

int tmt_reftrace_active(void)
{
#if TMT_REFTRACE
    void *data;
    if (!tmt_is_tracing() || !is_wanted())
        return 0;
    PyRefTracer cur = PyRefTracer_GetTracer(&data);
    if (cur == on_ref)
        return 1;
    return in_chain && cur != NULL && !is_cpythons(cur);
#else
    return 0;
#endif
}

/* ---- bindings ------------------------------------------------------------ */
/* True, False or None (the default: on unless sampling); returns the
 * previous setting, in the same terms. */
static PyObject *f_set_reuse(PyObject *self, PyObject *arg)
{
    (void)self;
    int on = arg == Py_None ? -1 : PyObject_IsTrue(arg);
    if (on < 0 && arg != Py_None)
        return NULL;
    int was = tmt_reftrace_set(on);
    if (was < 0)
        Py_RETURN_NONE;
    return PyBool_FromLong(was);
}

static PyObject *f_reuse_active(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    tmt_reftrace_sync();
    return PyBool_FromLong(tmt_reftrace_active());
}

static PyMethodDef reftrace_methods[] = {
    {"_set_reuse_tracking", f_set_reuse, METH_O,
     "Re-attribute objects made in reused memory (3.13+): True, False or "
     "None (on unless sampling); returns the previous setting."},
    {"_reuse_tracking_active", f_reuse_active, METH_NOARGS,
     "True if objects made from reused memory get the current traceback."},
    {NULL, NULL, 0, NULL},
};

int tmt_reftrace_init(PyObject *module)
{
    return PyModule_AddFunctions(module, reftrace_methods);
}
