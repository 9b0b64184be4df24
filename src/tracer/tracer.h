/* tracer.h -- what the parts of _tmtrace say to each other.  Each part
 * registers its functions and types on the module at import. */
#ifndef TMT_TRACER_H
#define TMT_TRACER_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* core.c and friends: hooks, tables, trace/filter/metric functions. */
int tmt_core_init(PyObject *module);
/* snapobj.c and friends: the SnapshotData type and analysis bindings. */
int tmt_snapshot_init(PyObject *module);

#endif
