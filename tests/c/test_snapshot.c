/* test_snapshot.c -- the in-memory model: interning keeps tables unique,
 * builders validate ids and leave the snapshot unchanged on failure. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tms.h"

static void test_strings(void)
{
    tms_snapshot *s = tms_snapshot_new();
    uint32_t a, b, c, e;
    CHECK("new snapshot is empty", s && s->nstrings == 0 && s->ntracebacks == 0);
    CHECK("intern a", tms_snapshot_intern_string(s, "a.py", 4, &a) == 0);
    CHECK("intern b", tms_snapshot_intern_string(s, "b.py", 4, &b) == 0);
    CHECK("intern a again", tms_snapshot_intern_string(s, "a.py", 4, &c) == 0);
    CHECK("equal strings share an id", a == c && a != b && s->nstrings == 2);
    CHECK("embedded NUL is part of the value",
          tms_snapshot_intern_string(s, "a.py\0x", 6, &e) == 0 && e != a);
    CHECK("empty string interns", tms_snapshot_intern_string(s, "", 0, &e) == 0);
    CHECK("find by value", tms_snapshot_find_string(s, "b.py", 4) == b);
    CHECK("find missing", tms_snapshot_find_string(s, "zz", 2) == TMS_NONE);
    CHECK("strings are NUL-terminated copies",
          strcmp(s->strings[b].data, "b.py") == 0 && s->strings[b].len == 4);
    tms_snapshot_free(s);
}

static void test_many_strings_rehash(void)
{
    tms_snapshot *s = tms_snapshot_new();
    char buf[32];
    int ok = 1;
    for (int i = 0; i < 5000 && ok; i++) {
        uint32_t id;
        int n = snprintf(buf, sizeof buf, "file%d.py", i);
        ok = tms_snapshot_intern_string(s, buf, (size_t)n, &id) == 0 &&
             id == (uint32_t)i;
    }
    CHECK("5000 distinct strings get ids 0..4999", ok && s->nstrings == 5000);
    ok = 1;
    for (int i = 0; i < 5000 && ok; i++) {
        int n = snprintf(buf, sizeof buf, "file%d.py", i);
        ok = tms_snapshot_find_string(s, buf, (size_t)n) == (uint32_t)i;
    }
    CHECK("all still found after the index grew", ok);
    tms_snapshot_free(s);
}

static void test_frames_tracebacks(void)
{
    tms_snapshot *s = tms_snapshot_new();
    uint32_t f, f0, f1, f2, fn, t0, t1, t2, te, te2, tmp;
    tms_snapshot_intern_string(s, "x.py", 4, &f);
    CHECK("frame", tms_snapshot_intern_frame(s, f, 10, &f0) == 0);
    CHECK("other line", tms_snapshot_intern_frame(s, f, 11, &f1) == 0);
    CHECK("same frame again", tms_snapshot_intern_frame(s, f, 10, &f2) == 0 && f2 == f0);
    CHECK("unknown frame", tms_snapshot_intern_frame(s, TMS_NONE, TMS_LINENO_NONE, &fn) == 0);
    CHECK("line 0 differs from unknown line",
          tms_snapshot_intern_frame(s, f, 0, &tmp) == 0 && tmp != fn && tmp != f0);
    CHECK("bad filename id refused", tms_snapshot_intern_frame(s, 99, 1, &tmp) == TMS_E_ARG);
    CHECK("negative lineno refused", tms_snapshot_intern_frame(s, f, -5, &tmp) == TMS_E_ARG);
    uint32_t a[] = {f0, f1}, b[] = {f1, f0};
    CHECK("traceback", tms_snapshot_intern_traceback(s, a, 2, &t0) == 0);
    CHECK("order matters", tms_snapshot_intern_traceback(s, b, 2, &t1) == 0 && t1 != t0);
    CHECK("same traceback again", tms_snapshot_intern_traceback(s, a, 2, &t2) == 0 && t2 == t0);
    CHECK("empty traceback", tms_snapshot_intern_traceback(s, NULL, 0, &te) == 0);
    CHECK("empty traceback is unique", tms_snapshot_intern_traceback(s, NULL, 0, &te2) == 0 && te2 == te);
    CHECK("traceback frames in order",
          tms_traceback_len(s, t1) == 2 && tms_traceback_frames(s, t1)[0] == f1);
    CHECK("empty has length 0", tms_traceback_len(s, te) == 0);
    uint32_t bad[] = {f0, 77};
    uint32_t before = s->ntracebacks;
    CHECK("unknown frame id refused", tms_snapshot_intern_traceback(s, bad, 2, &tmp) == TMS_E_ARG);
    CHECK("refusal leaves table unchanged", s->ntracebacks == before);
    CHECK("trace", tms_snapshot_add_trace(s, 0x1000, 64, t0) == 0 && s->has_traces);
    CHECK("trace with unknown traceback refused", tms_snapshot_add_trace(s, 0x2000, 1, 999) == TMS_E_ARG);
    CHECK("stat", tms_snapshot_add_stat(s, f0, 64, 1) == 0 && s->nstats == 1);
    CHECK("stat with unknown frame refused", tms_snapshot_add_stat(s, 999, 1, 1) == TMS_E_ARG);
    tms_snapshot_free(s);
}

static void test_metrics_meta(void)
{
    tms_snapshot *s = tms_snapshot_new();
    CHECK("int metric", tms_snapshot_add_metric(s, "gc.objects", TMS_FORMAT_INT, TMS_VALUE_INT, 42, 0) == 0);
    CHECK("float metric", tms_snapshot_add_metric(s, "frag", TMS_FORMAT_PERCENT, TMS_VALUE_FLOAT, 0, 0.25) == 0);
    CHECK("duplicate name refused", tms_snapshot_add_metric(s, "gc.objects", TMS_FORMAT_SIZE, TMS_VALUE_INT, 1, 0) == TMS_E_ARG);
    CHECK("bad format refused", tms_snapshot_add_metric(s, "x", (tms_metric_format)7, TMS_VALUE_INT, 1, 0) == TMS_E_ARG);
    CHECK("values kept", s->nmetrics == 2 && s->metrics[0].i == 42 && s->metrics[1].f == 0.25);
    CHECK("meta set", tms_snapshot_set_meta(s, "cmd", "a") == 0);
    CHECK("meta replace", tms_snapshot_set_meta(s, "cmd", "b") == 0 && s->nmeta == 1 &&
          strcmp(s->meta[0].value, "b") == 0);
    tms_snapshot_free(s);
    tms_snapshot_free(NULL); /* NULL-safe */
    CHECK("strerror covers codes", strcmp(tms_strerror(TMS_E_TRUNCATED), "truncated file") == 0 &&
          strcmp(tms_strerror(12345), "unknown error") == 0);
}

int main(void)
{
    test_strings();
    test_many_strings_rehash();
    test_frames_tracebacks();
    test_metrics_meta();
    return check_report("snapshot");
}
