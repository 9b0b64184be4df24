/* tasks.h -- the task trigger: how the allocator hook tells the scheduled
 * tasks (tmtrace._task) that one of them is due.
 *
 * The Python side keeps the tasks.  Whenever they change or run it arms
 * this trigger with one band [low, high] of traced size (the tightest of
 * all memory thresholds) and one deadline (the earliest of all timers).
 * The hook then only compares: it never allocates, never takes the GIL,
 * never calls Python, and may run in any thread, with or without the GIL.
 * When the traced size leaves the band or the deadline has passed, it
 * disarms and asks CPython, once, to run the due tasks at its next safe
 * point (Py_AddPendingCall), so task code never runs inside an allocator.
 */
#ifndef TMT_TASKS_H
#define TMT_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "tracer.h"

/* Nonzero while at least one task is scheduled and no run is pending.
 * Relaxed loads: a stale value costs one extra or one late check. */
extern int tmt_tasks_armed;

/* The slow half of tmt_tasks_check: compare against band and deadline. */
void tmt_tasks_check_armed(size_t traced_size);

/* Call after every change of the traced size.  Costs one load and a
 * branch while no task is scheduled. */
static inline void tmt_tasks_check(size_t traced_size)
{
    if (__atomic_load_n(&tmt_tasks_armed, __ATOMIC_RELAXED))
        tmt_tasks_check_armed(traced_size);
}

/* disable(): cancel every scheduled task.  Only atomic stores: safe with
 * or without the GIL, and in a fork child before Python is reinitialised.
 * The Python side sees the new generation and forgets its tasks. */
void tmt_tasks_cancel_all(void);

/* Register _tasks_* functions (and the size/filename bindings used by the
 * display) on the module. */
int tmt_tasks_init(PyObject *module);

#endif
