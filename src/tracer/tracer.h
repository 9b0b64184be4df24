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
/* tasks.c: the task trigger (tasks.h) and its bindings. */
int tmt_tasks_init(PyObject *module);

/* The snapshot API (snapobj.c) and the core meet here.  struct, not the
 * typedef, so this header needs no tms.h. */
struct tms_snapshot;
/* core: fill an empty snapshot (from tms_snapshot_new) from the live
 * tables: stats always, traces when with_traces.  0, or -1 with a Python
 * exception set. */
int tmt_core_export(struct tms_snapshot *s, int with_traces);
/* tmt_core_export, and *ntraces (if not NULL) the traces it exported. */
int tmt_core_export_counted(struct tms_snapshot *s, int with_traces,
                            uint64_t *ntraces);
/* with_traces for the streamed write (export.c): every traced block's
 * traceback is interned into the snapshot (has_traces set), but no
 * trace is added. */
#define TMT_EXPORT_DICT 2
/* core: what tmt_core_export(s, 1) then tms_snapshot_save(s, path) would
 * write, in one walk of the live tables: dictionaries, stats and peak go
 * into s (a snapshot holding the header, metrics and meta so far), the
 * traces straight from the tables into the file, a small chunk at a
 * time; extra memory is that chunk and the dictionaries, not the traces.
 * count_metric (may be NULL) is added to s as an int metric holding the
 * number of traces written.  Holds the GIL throughout.  0, or -1 with a
 * Python exception (path_obj is the name in messages). */
int tmt_core_write_live(struct tms_snapshot *s, const char *path,
                        PyObject *path_obj, const char *count_metric);
/* core: what a snapshot of this instant needs before the tables are
 * read elsewhere (a background writer's fork): s's header (traceback
 * limit, sampling, series) filled, the pending map applied and the peak
 * picture taken, as the export does.  GIL held.  0, or -1 with
 * RuntimeError when tracing is off. */
int tmt_core_write_prepare(struct tms_snapshot *s);
/* core, in a background writer's child only (bgwrite.c): what
 * tmt_core_write_live (traces) or tmt_core_export + tms_snapshot_save
 * (no traces) would write, from the tables as they were at the fork,
 * with s prepared by tmt_core_write_prepare in the parent.  Runs no
 * Python.  opened (or NULL) is called with ctx once the file exists.  0, or a TMS_E_* code with err filled (sys_errno: the errno of
 * a failed system call). */
struct tms_error;
/* Told the file was created: its temporary name while written (NULL for
 * an unnamed file, which nobody needs to remove). */
typedef void (*tmt_opened_fn)(void *ctx, const char *temp_name);
int tmt_core_write_frozen(struct tms_snapshot *s, const char *path,
                          int traces, const char *count_metric,
                          tmt_opened_fn opened, void *ctx,
                          struct tms_error *err);
/* core: add the trace of the block at addr (with its traceback) to an
 * empty snapshot.  1 found, 0 not traced, -1 with a Python exception. */
int tmt_core_export_trace(struct tms_snapshot *s, uintptr_t addr);
/* snapobj.c: a new _tmtrace.SnapshotData owning s (freed with it, also
 * when this fails). */
PyObject *tmt_snapshotdata_wrap(struct tms_snapshot *s);
/* snapobj.c: the header fields every snapshot of ours carries (Python
 * version, writer name and version). */
struct tms_header;
void tmt_snapshot_stamp(struct tms_header *h);
/* core: traced memory now and its peak.  GIL held. */
void tmt_core_traced_memory(size_t *current, size_t *peak);
/* core: stop tracing this thread's blocks; returns the previous setting. */
int tmt_quiet(int on);

/* tracemod.c: os.register_at_fork with the module's functions of these
 * names (NULL: none for that moment).  0, or -1 with an exception. */
int tmt_register_at_fork(PyObject *module, const char *before,
                         const char *after_in_parent, const char *after_in_child);

/* endpoint.c: the live endpoint (_endpoint_start/_stop/_path). */
int tmt_endpoint_init(PyObject *module);

/* names.c: str <-> the bytes of a .tms string, one rule for every name
 * (UTF-8; lone surrogates as os.fsencode/fsdecode treat them; see there).
 * Encode: bytes needed for str, of which at most cap are written to dst
 * (dst may be NULL), cut on a character boundary; SIZE_MAX if str is not
 * a str that can be read without allocating.  Allocates nothing, raises
 * nothing, runs no Python: safe inside the allocator hooks. */
size_t tmt_name_encode(PyObject *str, char *dst, size_t cap);
/* The same into module memory (tmt_alloc.h), NUL-terminated, at most max
 * bytes; NULL if not a readable str or out of memory.  Hook-safe. */
char *tmt_name_copy(PyObject *str, size_t max, uint32_t *len);
/* The same as a new bytes object (GIL, outside the hooks). */
PyObject *tmt_name_bytes(PyObject *str);
/* A new str from stored bytes; never fails on content. */
PyObject *tmt_name_decode(const char *data, size_t len);

#endif
