/* core.c -- placeholder until the allocator hooks land. */
#include "tracer.h"

int tmt_core_init(PyObject *module)
{
    (void)module;
    return 0;
}
