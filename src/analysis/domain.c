/* domain.c -- allocator domains (format 1.3, SPEC §4.13): the filter
 * that keeps one domain, and the names people know domains by.
 *
 * A trace's domain says which allocator reported it: 0 is Python's
 * (PEP 445 hooks), a PyTraceMalloc_Track domain is an extension's (numpy
 * reports its array data in 389047), TMS_DOMAIN_NATIVE is reserved for
 * native allocations.  Grouping by domain lives with the other groupings
 * (group.c). */
#include <stdlib.h>

#include "tma_internal.h"

/* numpy's NPY_TRACE_DOMAIN (numpy/core/include/numpy/ndarraytypes.h) */
#define NUMPY_DOMAIN 389047u

const char *tma_domain_name(uint32_t domain)
{
    switch (domain) {
    case TMS_DOMAIN_PYTHON: return "Python";
    case TMS_DOMAIN_NATIVE: return "native";
    case NUMPY_DOMAIN: return "numpy";
    default: return NULL;
    }
}

int tma_snapshot_keep_domain(tms_snapshot *s, uint32_t domain,
                             tms_error *err)
{
    if (s == NULL)
        return tma_fail(err, TMS_E_ARG, "cannot filter by domain: no "
                        "snapshot");
    if (!s->has_traces)
        return tma_fail(err, TMS_E_ARG, "cannot filter by domain: snapshot "
                        "has no traces (" TMA_HINT_TRACES ")");
    uint64_t j = 0;
    for (uint64_t i = 0; i < s->ntraces; i++)
        if (s->traces[i].domain == domain)
            s->traces[j++] = s->traces[i];
    s->ntraces = j;
    s->has_peak = 0;
    s->npeak = 0;
    return tma_snapshot_stats_from_traces(s, err);
}
