/* snapapi.h -- what the snapshot-API files of _tmtrace share (snapobj.c,
 * snapconv.c, snapgroup.c, filterbind.c).  Private to those files; the
 * rest of the extension uses tracer.h. */
#ifndef TMT_SNAPAPI_H
#define TMT_SNAPAPI_H

#include "tracer.h"
#include "tma.h"
#include "tms.h"

/* _tmtrace.SnapshotData: owns one tms_snapshot.  Python containers are
 * built only on request (build_traces/build_stats). */
typedef struct {
    PyObject_HEAD
    tms_snapshot *snap;
    int writers;   /* write() calls running without the GIL */
} tmt_SnapshotData;

extern PyTypeObject tmt_SnapshotData_Type;

/* Raise the Python exception for a failed libtms/libtma call: OSError
 * (with errno when the I/O layer left one) for I/O, MemoryError for
 * NOMEM, RuntimeError for STATE, ValueError for the rest.  Returns NULL. */
PyObject *tmt_raise_tms(int rc, const tms_error *err, int saved_errno,
                        PyObject *path);

/* --- snapconv.c: Python <-> tms_snapshot ----------------------------- */

/* Python objects made once per string/frame/traceback id, so a dict of a
 * million traces shares its traceback tuples like the live tables do. */
typedef struct tmt_pycache {
    const tms_snapshot *snap;
    PyObject **strs;
    PyObject **frames;
    PyObject **tbs;
} tmt_pycache;

int tmt_pycache_init(tmt_pycache *c, const tms_snapshot *s);
void tmt_pycache_done(tmt_pycache *c);
/* New references.  str/frame tuple (filename-or-None, lineno-or-None)/
 * traceback tuple. */
PyObject *tmt_pycache_str(tmt_pycache *c, uint32_t id);
PyObject *tmt_pycache_frame(tmt_pycache *c, uint32_t id);
PyObject *tmt_pycache_traceback(tmt_pycache *c, uint32_t id);

/* {address: (size, traceback)} and {filename: {lineno: (size, count)}}:
 * the one way from tables to Python objects (Snapshot's dicts, and
 * get_traces/get_stats/get_trace after tmt_core_export).  lists: each
 * traceback a new list (get_traces, as the PEP says), else shared tuples. */
PyObject *tmt_build_traces(const tms_snapshot *s, int lists);
PyObject *tmt_build_stats(const tms_snapshot *s);
/* {address: domain} for the traces outside domain 0 (format 1.3), or None
 * without traces. */
PyObject *tmt_build_domains(const tms_snapshot *s);

/* Fill an empty snapshot from the spec's dict shapes; either may be
 * Py_None.  Stats None with traces given: derived from the traces. */
int tmt_fill_from_dicts(tms_snapshot *s, PyObject *traces, PyObject *stats);

/* Stored bytes of a str (names.c's rule), or (NULL, 0) for None; *keep
 * (or NULL) owns re-encoded bytes and must be released after use. */
int tmt_utf8_view(PyObject *str, const char **data, size_t *len,
                  PyObject **keep);
/* Encode a str (or None -> TMS_NONE) into the snapshot's strings. */
int tmt_intern_pystr(tms_snapshot *s, PyObject *str, uint32_t *out);
/* An int in [0, 2**64) (TypeError/ValueError naming `what`). */
int tmt_u64_from_py(PyObject *obj, const char *what, uint64_t *out);
/* A (filename, lineno) pair as a frame id of s. */
int tmt_intern_pyframe(tms_snapshot *s, PyObject *frame, uint32_t *out);
/* A tuple of frames as a traceback id of s; buf and cap are scratch space
 * the caller frees with PyMem_Free. */
int tmt_intern_pytraceback(tms_snapshot *s, PyObject *tb, uint32_t **buf,
                           Py_ssize_t *cap, uint32_t *out);
/* lineno: None -> TMS_LINENO_NONE, else an int in [0, INT32_MAX]. */
int tmt_lineno_from_py(PyObject *obj, int32_t *out);
PyObject *tmt_lineno_to_py(int32_t lineno);

/* --- snapobj.c --------------------------------------------------------- */
/* A new snapshot holding only the metrics of a sequence of (name, value,
 * format) tuples; NULL with an exception set. */
tms_snapshot *tmt_metrics_snapshot(PyObject *seq);

/* --- filterbind.c ------------------------------------------------------ */
/* A tma_filter borrowed from a Python Filter-like object (attributes
 * include, pattern, lineno, traceback).  *keep holds the pattern string
 * alive; release it with Py_XDECREF once the filter is no longer used. */
int tmt_filter_from_py(PyObject *obj, tma_filter *out, PyObject **keep);
/* The frames of a traceback tuple as tma_frame_view (PyMem_Free *out);
 * *keep (a list) holds their strings alive. */
int tmt_frames_from_py(PyObject *traceback, tma_frame_view **out,
                       size_t *n, PyObject **keep);
extern PyMethodDef tmt_filter_methods[];
/* snapcols.c: a snapshot as packed columns, for the Parquet export. */
extern PyMethodDef tmt_export_methods[];

/* --- livewrite.c: Snapshot.write_live's bindings ---------------------- */
/* The "host" meta entry every snapshot of ours carries.  0 or TMS_E_*. */
int tmt_snapshot_set_host(tms_snapshot *s);
/* write_live_snapshot, write_live_background, background_write_result. */
extern PyMethodDef tmt_live_write_methods[];

/* --- bgwrite.c: the background writer's fork and report ---------------- */
/* Fork a child that writes s (prepared with the caller's metrics, time,
 * pid and meta) and the live tables of this instant into path, as
 * tmt_core_write_frozen says.  stop (tests): the child stops itself
 * (SIGSTOP) once the file exists.  0 with *pid and *fd (the read end of the
 * child's report pipe, close-on-exec), or -1 with an exception (tracing
 * off, no pipe, no fork). */
int tmt_bg_write_start(tms_snapshot *s, const char *path, int traces,
                       const char *count_metric, int stop, long *pid,
                       int *fd);
/* What the child reported, read to EOF: 0 written, a TMS_E_* code with
 * err filled, or TMT_BG_NO_REPORT (the child died before reporting).
 * temp: the name of the temporary file it reported ("" if none). */
#define TMT_BG_NO_REPORT 1
int tmt_bg_report_decode(const void *rep, size_t len, tms_error *err,
                         char *temp, size_t temp_cap);

/* --- snapgroup.c ------------------------------------------------------- */
extern PyTypeObject tmt_Groups_Type;
extern PyTypeObject tmt_Diff_Type;
/* groups_from_dict, diff_from_list, render_top. */
extern PyMethodDef tmt_group_functions[];
/* SnapshotData.top_by: a Groups object keeping data alive; peak: group
 * the recorded peak state (tma_group_peak) instead of the traces. */
PyObject *tmt_groups_new(tmt_SnapshotData *data, const char *group_by,
                         int cumulative, int peak);

#endif
