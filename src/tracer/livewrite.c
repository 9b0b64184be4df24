/* livewrite.c -- Snapshot.write_live's bindings: the live tables into a
 * .tms file with the traces streamed (export.c), in the foreground
 * (write_live_snapshot) or by a forked child (write_live_background,
 * bgwrite.c says how), and the test oracle both share. */
#include "snapapi.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

int tmt_snapshot_set_host(tms_snapshot *s)
{
    /* The host, so that files from many machines can be told apart once
     * exported (tmtool export labels samples and rows with it). */
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        return 0;
    host[sizeof host - 1] = '\0';
    return tms_snapshot_set_meta(s, "host", host);
}

/* A snapshot holding what a live write puts beside the tables: the
 * caller's metrics (name, value, format), the time, pid, writer and host.
 * NULL with an exception. */
static tms_snapshot *live_snapshot(PyObject *metrics)
{
    struct timespec ts;
    tms_snapshot *s = tmt_metrics_snapshot(metrics);
    if (s == NULL)
        return NULL;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->header.timestamp_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    s->header.pid = (int64_t)getpid();
    tmt_snapshot_stamp(&s->header);
    int rc = tmt_snapshot_set_host(s);
    if (rc < 0) {
        tmt_raise_tms(rc, NULL, 0, NULL);
        tms_snapshot_free(s);
        return NULL;
    }
    return s;
}

/* The tests' oracle (tests/python/test_stream_write.py,
 * test_bg_write.py): the same instant through the whole-snapshot path,
 * s's header, metrics and meta copied, into path.  Called with the GIL
 * held and nothing allocated through Python since (or before) the write
 * it checks, so the tables are the same.  count_metric (or NULL): added
 * with the number of traces, when s does not hold it yet.  0, or -1 with
 * an exception. */
static int write_whole_too(const tms_snapshot *s, PyObject *arg,
                           const char *count_metric)
{
    PyObject *path = NULL;
    tms_snapshot *w = NULL;
    uint64_t ntraces = 0;
    int rc = -1;
    if (!PyUnicode_FSConverter(arg, &path))
        return -1;
    if ((w = tms_snapshot_new()) == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    w->header = s->header;
    if (tmt_core_export_counted(w, 1, &ntraces) < 0)
        goto done;
    rc = 0;
    for (uint32_t k = 0; rc == 0 && k < s->nmetrics; k++)
        rc = tms_snapshot_add_metric(w, s->metrics[k].name,
                                     s->metrics[k].format, s->metrics[k].kind,
                                     s->metrics[k].i, s->metrics[k].f);
    if (rc == 0 && count_metric != NULL)
        rc = tms_snapshot_add_metric(w, count_metric, TMS_FORMAT_INT,
                                     TMS_VALUE_INT, (int64_t)ntraces, 0.0);
    for (uint32_t k = 0; rc == 0 && k < s->nmeta; k++)
        rc = tms_snapshot_set_meta(w, s->meta[k].key, s->meta[k].value);
    tms_error err = {0, "", 0};
    if (rc == 0)
        rc = tms_snapshot_save(w, PyBytes_AS_STRING(path), &err);
    if (rc < 0) {
        tmt_raise_tms(rc, &err, err.sys_errno, arg);
        rc = -1;
    }
done:
    tms_snapshot_free(w);
    Py_DECREF(path);
    return rc;
}

/* write_live_snapshot(path, traces, metrics, count_metric=None,
 * whole=None): what take_snapshot_data(traces) then
 * SnapshotData.write(path) would write, with the traces streamed from the
 * live tables into the file instead of copied into a snapshot first
 * (export.c): the extra memory is the dictionaries and a chunk, whatever
 * the number of traces.  metrics: a sequence of (name, value, format)
 * computed by the caller; count_metric, when given, is added as an int
 * metric holding the number of traces written (known only once the
 * tables are exported).  The GIL is held from the export to the rename:
 * the pause of the program is the whole write, as no copy of the traces
 * outlives it.  whole: see write_whole_too (written after). */
static PyObject *write_live_snapshot(PyObject *mod, PyObject *args)
{
    PyObject *arg, *metrics, *path = NULL, *whole = NULL;
    const char *count_metric = NULL;
    int traces = 1;
    (void)mod;
    if (!PyArg_ParseTuple(args, "OpO|zO:write_live_snapshot", &arg, &traces,
                          &metrics, &count_metric, &whole))
        return NULL;
    tms_snapshot *s = live_snapshot(metrics);
    if (s == NULL)
        return NULL;
    if (!PyUnicode_FSConverter(arg, &path)) {
        tms_snapshot_free(s);
        return NULL;
    }
    int rc;
    if (traces)
        rc = tmt_core_write_live(s, PyBytes_AS_STRING(path), arg,
                                 count_metric);
    else
        rc = tmt_core_export(s, 0);
    if (rc == 0 && !traces) {
        tms_error err = {0, "", 0};
        errno = 0;
        rc = tms_snapshot_save(s, PyBytes_AS_STRING(path), &err);
        if (rc < 0)
            tmt_raise_tms(rc, &err, err.sys_errno ? err.sys_errno : errno,
                          arg);
    }
    if (rc == 0 && whole != NULL && whole != Py_None)
        rc = write_whole_too(s, whole, NULL);
    tms_snapshot_free(s);
    Py_DECREF(path);
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* write_live_background(path, traces, metrics, count_metric=None,
 * whole=None, stop=False) -> (pid, fd): what write_live_snapshot writes,
 * written by a forked child from its copy-on-write image of the tables
 * at this instant (bgwrite.c).  fd: the read end of the child's report
 * pipe (tmtrace._bgwrite reads it, background_write_result decodes it).
 * whole: see write_whole_too (written before the fork, with the count
 * metric).  stop: tests only, the child stops itself once its file
 * exists, so that a test can kill it in the middle of the write. */
static PyObject *write_live_background(PyObject *mod, PyObject *args)
{
    PyObject *arg, *metrics, *path = NULL, *whole = NULL;
    const char *count_metric = NULL;
    int traces = 1, stop = 0, fd = -1;
    long pid = 0;
    (void)mod;
    if (!PyArg_ParseTuple(args, "OpO|zOp:write_live_background", &arg,
                          &traces, &metrics, &count_metric, &whole, &stop))
        return NULL;
    tms_snapshot *s = live_snapshot(metrics);
    if (s == NULL)
        return NULL;
    int rc = PyUnicode_FSConverter(arg, &path) ? 0 : -1;
    if (rc == 0 && whole != NULL && whole != Py_None)
        rc = write_whole_too(s, whole, traces ? count_metric : NULL);
    if (rc == 0)
        rc = tmt_bg_write_start(s, PyBytes_AS_STRING(path), traces,
                                count_metric, stop, &pid, &fd);
    tms_snapshot_free(s);   /* the child has its own copy */
    Py_XDECREF(path);
    if (rc < 0)
        return NULL;
    return Py_BuildValue("(li)", pid, fd);
}

/* background_write_result(report, filename): None when report (what the
 * child sent, read to EOF once the child has ended) says the file was
 * written; otherwise the temporary file it reported (if any) is removed,
 * and this raises the exception the foreground write would have raised,
 * or returns False when there is no final report (the child died). */
static PyObject *background_write_result(PyObject *mod, PyObject *args)
{
    Py_buffer rep;
    PyObject *name;
    tms_error err = {0, "", 0};
    char temp[sizeof err.msg];
    (void)mod;
    if (!PyArg_ParseTuple(args, "y*O:background_write_result", &rep, &name))
        return NULL;
    int rc = tmt_bg_report_decode(rep.buf, (size_t)rep.len, &err, temp,
                                  sizeof temp);
    PyBuffer_Release(&rep);
    if (rc == 0)
        Py_RETURN_NONE;
    if (temp[0] != '\0')
        unlink(temp);   /* gone already if the rename happened */
    if (rc == TMT_BG_NO_REPORT)
        Py_RETURN_FALSE;
    if (rc == TMS_E_ARG && strstr(err.msg, "already exists") != NULL) {
        PyErr_SetString(PyExc_ValueError, err.msg);
        return NULL;
    }
    return tmt_raise_tms(rc, &err, err.sys_errno, name);
}

PyMethodDef tmt_live_write_methods[] = {
    {"write_live_snapshot", write_live_snapshot, METH_VARARGS,
     "write_live_snapshot(path, traces, metrics, count_metric=None, "
     "whole=None): the live tables into a .tms file, traces streamed "
     "(whole: tests only, the same instant also written through the "
     "whole-snapshot path)"},
    {"write_live_background", write_live_background, METH_VARARGS,
     "write_live_background(path, traces, metrics, count_metric=None, "
     "whole=None, stop=False) -> (pid, fd): write_live_snapshot's file, written by a "
     "forked child from the tables at this instant; fd reports how it "
     "went (background_write_result)"},
    {"background_write_result", background_write_result, METH_VARARGS,
     "background_write_result(report, filename): None if the background "
     "write succeeded, False if the child sent no report, else raises "
     "its error"},
    {NULL, NULL, 0, NULL},
};
