/* module.c -- the _tmtrace module: creation, then each part registers. */
#include "tracer.h"

static struct PyModuleDef tmt_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_tmtrace",
    .m_doc = "C core of tmtrace: allocator hooks, trace tables, snapshots.",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__tmtrace(void);

PyMODINIT_FUNC PyInit__tmtrace(void)
{
    PyObject *m = PyModule_Create(&tmt_module);
    if (m == NULL)
        return NULL;
    if (tmt_core_init(m) < 0 || tmt_snapshot_init(m) < 0 ||
        tmt_tasks_init(m) < 0 || tmt_endpoint_init(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
