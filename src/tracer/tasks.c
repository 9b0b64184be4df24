/* tasks.c -- the task trigger (see tasks.h) and its private bindings.
 *
 * State shared with the hook is a handful of words read with relaxed
 * atomics.  They are written under the GIL by tmtrace._task through
 * _tasks_arm/_tasks_disarm, and by the hook itself when it fires.  A torn
 * view (new low, old high) can only cause a spurious or a late run; the
 * Python side decides again which tasks are really due, so neither is
 * visible to the user.
 *
 * Also here: a tiny binding to libtma's size parser, so thresholds read
 * the same units as tmtool's. */
#include "tasks.h"

#include <stdint.h>
#include <time.h>

#include "core.h"
#include "tma.h"

int tmt_tasks_armed;
static int tasks_pending;          /* a pending call is queued, not yet run */
static size_t tasks_low;           /* due when size < low */
static size_t tasks_high = SIZE_MAX;  /* due when size > high */
static int64_t tasks_deadline = INT64_MAX;  /* due when now_ns >= deadline */
static size_t tasks_trigger_size;  /* size the hook saw when it fired */
static unsigned long tasks_generation;  /* bumped by tmt_tasks_cancel_all */
static unsigned long tasks_fired;  /* pending calls queued (for tests) */
/* tmtrace._task._run_pending, registered when that module is imported.
 * Held here rather than imported at run time: an import looks up
 * __import__ in the builtins of whatever frame happens to be running,
 * which may have none. */
static PyObject *tasks_runner;

#define LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* The coarse clock is a vDSO read of a word the kernel updates each tick
 * (1-4 ms): ample for a timer whose resolution is one second. */
static int64_t now_ns(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0)
#endif
        clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int run_pending(void *arg);

void tmt_tasks_check_armed(size_t traced_size)
{
    int due = traced_size > LOAD(&tasks_high) || traced_size < LOAD(&tasks_low);
    if (!due) {
        int64_t deadline = LOAD(&tasks_deadline);
        due = deadline != INT64_MAX && now_ns() >= deadline;
    }
    if (!due)
        return;
    /* Through 3.11 a pending call goes to the interpreter of the thread
     * that queues it: an allocation in a subinterpreter
     * (test.support.run_in_subinterp, mod_wsgi) would run our
     * main-interpreter code there and break its import machinery (a fatal
     * error in CPython's test_threading under TMTRACE_THRESHOLD).  Stay
     * armed: the next crossing in the main interpreter queues the call. */
    if (tmt_holds_gil() && !tmt_holds_main())
        return;
    /* Only the thread that wins this exchange queues the call: many
     * threads may see the same crossing at once. */
    int expected = 0;
    if (!__atomic_compare_exchange_n(&tasks_pending, &expected, 1, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    STORE(&tasks_trigger_size, traced_size);
    /* Disarm before queueing, so an arm made by the run itself is never
     * overwritten by this thread afterwards. */
    STORE(&tmt_tasks_armed, 0);
    /* Py_AddPendingCall needs neither the GIL nor a thread state, and it
     * does not allocate: the queue is a fixed array. */
    if (Py_AddPendingCall(run_pending, NULL) < 0) {
        /* Queue full: let a later allocation try again. */
        STORE(&tasks_pending, 0);
        STORE(&tmt_tasks_armed, 1);
        return;
    }
    __atomic_add_fetch(&tasks_fired, 1, __ATOMIC_RELAXED);
}

void tmt_tasks_cancel_all(void)
{
    STORE(&tmt_tasks_armed, 0);
    STORE(&tasks_low, 0);
    STORE(&tasks_high, SIZE_MAX);
    STORE(&tasks_deadline, INT64_MAX);
    __atomic_add_fetch(&tasks_generation, 1, __ATOMIC_RELAXED);
}

/* Runs in the main thread at a safe point, with the GIL.  The Python side
 * calls the due tasks, prints and cancels any that raise, and re-arms.
 * Returning -1 raises the pending exception in whatever code runs now, so
 * that is kept for what must not be lost: KeyboardInterrupt and SystemExit
 * raised while a task ran belong to the program. */
static int run_pending(void *arg)
{
    (void)arg;
    size_t trigger = LOAD(&tasks_trigger_size);
    STORE(&tasks_pending, 0);
    if (tasks_runner == NULL)
        return 0;
    if (PyInterpreterState_Get() != tmt_S.main_interp) {
        /* Queued from a thread without a GIL whose state is a
         * subinterpreter's: re-arm for a crossing in ours. */
        STORE(&tmt_tasks_armed, 1);
        return 0;
    }
    PyObject *res = PyObject_CallFunction(tasks_runner, "n", (Py_ssize_t)trigger);
    if (res != NULL) {
        Py_DECREF(res);
        return 0;
    }
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return -1;
    PyErr_WriteUnraisable(NULL);
    return 0;
}

/* ---- bindings used by tmtrace._task --------------------------------- */

static int size_arg(PyObject *o, size_t *out, size_t none_value)
{
    if (o == Py_None) {
        *out = none_value;
        return 0;
    }
    *out = PyLong_AsSize_t(o);
    return (*out == (size_t)-1 && PyErr_Occurred()) ? -1 : 0;
}

static PyObject *tasks_arm(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *low_o, *high_o, *deadline_o;
    if (!PyArg_ParseTuple(args, "OOO:_tasks_arm", &low_o, &high_o, &deadline_o))
        return NULL;
    size_t low, high;
    int64_t deadline = INT64_MAX;
    if (size_arg(low_o, &low, 0) < 0 || size_arg(high_o, &high, SIZE_MAX) < 0)
        return NULL;
    if (deadline_o != Py_None) {
        long long d = PyLong_AsLongLong(deadline_o);
        if (d == -1 && PyErr_Occurred())
            return NULL;
        deadline = d;
    }
    STORE(&tasks_low, low);
    STORE(&tasks_high, high);
    STORE(&tasks_deadline, deadline);
    __atomic_store_n(&tmt_tasks_armed, 1, __ATOMIC_RELEASE);
    Py_RETURN_NONE;
}

static PyObject *tasks_set_runner(PyObject *self, PyObject *runner)
{
    (void)self;
    if (!PyCallable_Check(runner)) {
        PyErr_SetString(PyExc_TypeError, "the runner must be callable");
        return NULL;
    }
    Py_INCREF(runner);
    Py_XSETREF(tasks_runner, runner);
    Py_RETURN_NONE;
}

static PyObject *tasks_disarm(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    STORE(&tmt_tasks_armed, 0);
    STORE(&tasks_deadline, INT64_MAX);
    Py_RETURN_NONE;
}

static PyObject *tasks_cancel_all(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    tmt_tasks_cancel_all();
    Py_RETURN_NONE;
}

static PyObject *tasks_generation_get(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return PyLong_FromUnsignedLong(LOAD(&tasks_generation));
}

static PyObject *tasks_now(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return PyLong_FromLongLong(now_ns());
}

/* What the allocator hook does, for tests and until the hook calls it. */
static PyObject *tasks_poke(PyObject *self, PyObject *arg)
{
    (void)self;
    size_t size = PyLong_AsSize_t(arg);
    if (size == (size_t)-1 && PyErr_Occurred())
        return NULL;
    tmt_tasks_check(size);
    Py_RETURN_NONE;
}

static PyObject *tasks_state(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    int64_t deadline = LOAD(&tasks_deadline);
    size_t high = LOAD(&tasks_high);
    PyObject *high_o, *dl_o;
    if (high == SIZE_MAX) {
        Py_INCREF(Py_None);
        high_o = Py_None;
    } else {
        high_o = PyLong_FromSize_t(high);
    }
    if (deadline == INT64_MAX) {
        Py_INCREF(Py_None);
        dl_o = Py_None;
    } else {
        dl_o = PyLong_FromLongLong(deadline);
    }
    if (high_o == NULL || dl_o == NULL) {
        Py_XDECREF(high_o);
        Py_XDECREF(dl_o);
        return NULL;
    }
    return Py_BuildValue("{s:O,s:O,s:n,s:N,s:N,s:k,s:k}",
                         "armed", LOAD(&tmt_tasks_armed) ? Py_True : Py_False,
                         "pending", LOAD(&tasks_pending) ? Py_True : Py_False,
                         "low", (Py_ssize_t)LOAD(&tasks_low),
                         "high", high_o, "deadline", dl_o,
                         "fired", LOAD(&tasks_fired),
                         "generation", LOAD(&tasks_generation));
}

/* ---- libtma's size parser and formatter, shared with tmtool --------- */

static PyObject *size_parse(PyObject *self, PyObject *arg)
{
    (void)self;
    const char *text = PyUnicode_AsUTF8(arg);
    if (text == NULL)
        return NULL;
    uint64_t out = 0;
    tms_error err = {0, {0}};
    if (tma_size_parse(text, &out, &err) < 0) {
        PyErr_SetString(PyExc_ValueError, err.msg[0] ? err.msg : "invalid size");
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(out);
}

/* libtma's size formatter (CPython's rule), for the pytest plugin's
 * messages: the text tmtool and DisplayTop print for the same number. */
static PyObject *size_format(PyObject *self, PyObject *args)
{
    (void)self;
    long long bytes;
    int with_sign = 0;
    if (!PyArg_ParseTuple(args, "L|p:_size_format", &bytes, &with_sign))
        return NULL;
    char buf[64];
    int n = tma_size_format(buf, sizeof buf, (int64_t)bytes, with_sign);
    if (n < 0 || (size_t)n >= sizeof buf) {
        PyErr_Format(PyExc_RuntimeError, "tma_size_format failed (%d)", n);
        return NULL;
    }
    return PyUnicode_FromStringAndSize(buf, n);
}

static PyMethodDef tasks_methods[] = {
    {"_tasks_arm", tasks_arm, METH_VARARGS,
     "_tasks_arm(low, high, deadline_ns): due when size < low, size > high "
     "(None: no bound) or the coarse monotonic clock reaches deadline_ns."},
    {"_tasks_set_runner", tasks_set_runner, METH_O,
     "_tasks_set_runner(f): f(trigger_size) runs the due tasks."},
    {"_tasks_disarm", tasks_disarm, METH_NOARGS, "No task is scheduled."},
    {"_tasks_cancel_all", tasks_cancel_all, METH_NOARGS,
     "What disable() does: disarm and start a new generation."},
    {"_tasks_generation", tasks_generation_get, METH_NOARGS,
     "Incremented by every cancel-all (disable, fork)."},
    {"_tasks_now", tasks_now, METH_NOARGS,
     "The trigger's clock, in nanoseconds."},
    {"_tasks_poke", tasks_poke, METH_O,
     "Run the hook's check with this traced size."},
    {"_tasks_state", tasks_state, METH_NOARGS, "The trigger's state (tests)."},
    {"_size_parse", size_parse, METH_O,
     "_size_parse(text): bytes, by libtma's size parser; ValueError if bad."},
    {"_size_format", size_format, METH_VARARGS,
     "_size_format(bytes, sign=False): '12.3 KiB', by libtma's formatter."},
    {NULL, NULL, 0, NULL},
};

int tmt_tasks_init(PyObject *module)
{
    return PyModule_AddFunctions(module, tasks_methods);
}
