/* state.c -- the one instance of the tracer's state (core.h, tmt_state)
 * and the queries that need more than a load. */
#include "core.h"

tmt_state tmt_S = {
    .generation = 1,   /* 0 never matches a per-thread cache */
    .limit = 1,        /* the PEP's default traceback limit */
    .filter_gen = 1,   /* 0 is "not decided yet" in tmt_tb */
};

void tmt_set_traceback_limit(int limit)
{
    __atomic_store_n(&tmt_S.limit, limit, __ATOMIC_RELAXED);
    tmt_S.filter_gen++; /* the filters' traceback flag depends on the limit */
}

size_t tmt_arena_bytes(void)
{
    tmt_lock();
    size_t n = tmt_S.arena_size;
    tmt_unlock();
    return n;
}
