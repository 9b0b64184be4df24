/* extblocks.c -- blocks extensions report through PyTraceMalloc_Track and
 * PyTraceMalloc_Untrack (numpy's array data, for one), traced without
 * CPython's tracemalloc.
 *
 * Those two functions reach only CPython's tracer (and return -2 while it
 * is off), so the calls are interposed where they leave each extension,
 * in its GOT (got.c: every loaded object but CPython's and ours, and the
 * objects CPython's importer loads later).  A patched call reaches a
 * wrapper that first calls CPython's function (so CPython's tracer, when
 * on, sees every block as before, in either start order, and the caller
 * gets CPython's answer unchanged) and then records the block in our
 * tables.  After fork() the patches stay and the wrappers only call
 * through while tracing is off.
 *
 * Not covered: calls through dlsym or ctypes.pythonapi (no GOT slot), a
 * library loaded by ctypes after start (until the next import or start())
 * -- and architectures other than x86-64 and AArch64 (no interposition:
 * only CPython's tracer sees these blocks there). */

#include "core.h"


typedef int (*track_fn)(unsigned int, uintptr_t, size_t);
typedef int (*untrack_fn)(unsigned int, uintptr_t);

static track_fn real_track;
static untrack_fn real_untrack;

/* ---- the wrappers --------------------------------------------------------- */

/* PyTraceMalloc_Track's contract allows a caller without the GIL: CPython
 * takes it with PyGILState_Ensure, and so do we, only while tracing. */
static void note(unsigned int domain, uintptr_t ptr, size_t size, int add)
{
    if (!tmt_is_tracing())
        return;
    int taken = 0;
    PyGILState_STATE g = PyGILState_UNLOCKED;
    if (!tmt_holds_gil()) {
#if PY_VERSION_HEX >= 0x030D0000
        if (Py_IsFinalizing())
            return;
#else
        if (_Py_IsFinalizing())
            return;
#endif
        g = PyGILState_Ensure();
        taken = 1;
    }
    /* Since 3.12 another interpreter may have a GIL of its own: its
     * threads may not touch our tables, and their blocks are not traced. */
    if (TMT_ONE_GIL || tmt_holds_main()) {
        if (add)
            tmt_ext_trace_new(domain, ptr, size);
        else
            tmt_ext_trace_del(domain, ptr);
    }
    if (taken)
        PyGILState_Release(g);
}

static int w_track(unsigned int domain, uintptr_t ptr, size_t size)
{
    int r = real_track(domain, ptr, size);
    note(domain, ptr, size, 1);
    return r;
}

static int w_untrack(unsigned int domain, uintptr_t ptr)
{
    int r = real_untrack(domain, ptr);
    note(domain, ptr, 0, 0);
    return r;
}

/* ---- install / uninstall ------------------------------------------------- */

int tmt_extblocks_install(void)
{
    static int once;
    if (!once) {
        real_track = PyTraceMalloc_Track;
        real_untrack = PyTraceMalloc_Untrack;
        tmt_got_target t[2] = {
            {"PyTraceMalloc_Track", (void *)w_track, NULL, TMT_GOT_TRACK},
            {"PyTraceMalloc_Untrack", (void *)w_untrack, NULL, TMT_GOT_TRACK},
        };
        if (tmt_got_register(t, 2) != 0)
            return -1;
        once = 1;
    }
    tmt_got_patch(TMT_GOT_TRACK);
    return 0;
}

void tmt_extblocks_uninstall(void)
{
    tmt_got_restore(TMT_GOT_TRACK);
}
