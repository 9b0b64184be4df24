/* snapobj.c -- placeholder until the snapshot object lands. */
#include "tracer.h"

int tmt_snapshot_init(PyObject *module)
{
    (void)module;
    return 0;
}
