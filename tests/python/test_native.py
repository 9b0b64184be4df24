"""Native mode: what shared libraries and extensions take from malloc and
its family is traced at the Python line that caused it, in the native
domain (src/tracer/native.c, nogiltb.c, got.c).

Each scenario runs in a fresh interpreter, native mode set before the
libraries are imported (so they are patched as they load, as a program
run with `--native` sees them).  Oracles: the sizes the test extension
asks for, the sizes zlib and xz document for their (de)compressors, the
process's resident memory, and CPython's own tracemalloc.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

EXT_DIR = os.environ.get("TMTRACE_TEST_EXT_DIR")
NATIVE = 2**32 - 1
MiB = 1 << 20
# Under ASan every block has redzones and freed memory sits in a
# quarantine: the process's RSS is no oracle for the traced size there.
SANITIZED = "libasan" in os.environ.get("LD_PRELOAD", "")

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="native mode is Linux-only")


def run(code, *, env_extra=None, args=()):
    env = dict(os.environ)
    env.pop("TMTRACE", None)
    env.pop("TMTRACE_NATIVE", None)
    if EXT_DIR:
        env["PYTHONPATH"] = EXT_DIR + os.pathsep + env.get("PYTHONPATH", "")
    env.update(env_extra or {})
    prog = PRELUDE + textwrap.dedent(code)
    r = subprocess.run([sys.executable, *args, "-c", prog], env=env,
                       text=True, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


PRELUDE = """\
import gc, json, os, sys, threading, tmtrace
def at(line):
    return tmtrace.get_stats().get("<string>", {}).get(line, (0, 0))[0]
def here():
    return sys._getframe(1).f_lineno
def domain_of(addr):
    return tmtrace.Snapshot.create(traces=True).domains.get(addr, 0)
"""


def line_of(code, marker):
    for i, text in enumerate((PRELUDE + textwrap.dedent(code)).splitlines(), 1):
        if marker in text:
            return i
    raise AssertionError(marker)


# ---- each function, with and without the GIL -------------------------------

KINDS = ["malloc", "calloc", "realloc", "posix_memalign", "aligned_alloc",
         "memalign", "valloc"]


@pytest.mark.parametrize("nogil", [False, True])
def test_each_function_at_its_line_with_its_size(nogil):
    code = """
    tmtrace.set_native(True)
    tmtrace.enable()
    import _tmt_nativetest as ext
    out = {}
    for i, kind in enumerate(%r):
        size = 64 * (1000 + i)                      # aligned_alloc: x64
        p = ext.alloc(kind, size, %r); line = here()
        out[kind] = [tmtrace.get_trace(p), line, domain_of(p)]
        ext.free(p, %r)
        out[kind].append(tmtrace.get_trace(p))
    p = ext.alloc("malloc", 5000, %r)
    q = ext.realloc(p, 90000, %r); line = here()
    out["grown"] = [tmtrace.get_trace(q), line, tmtrace.get_trace(p) if q != p else None]
    ext.free(q)
    print(json.dumps(out))
    """ % (KINDS, nogil, nogil, nogil, nogil)
    out = run(code)
    for i, kind in enumerate(KINDS):
        trace, line, domain, after = out[kind]
        assert trace == [64 * (1000 + i), [["<string>", line]]], kind
        assert domain == NATIVE, kind
        assert after is None, kind   # free() removed it
    trace, line, old = out["grown"]
    assert trace == [90000, [["<string>", line]]]
    assert old is None


def test_off_by_default_and_after_disable():
    # The oracle for "patched": what the extension's own GOT holds for
    # malloc (PIC code loads a function's address from there).
    code = """
    import _tmt_nativetest as ext
    before = ext.malloc_slot()
    tmtrace.enable()
    p = ext.alloc("malloc", 300000)
    off = tmtrace.get_trace(p); ext.free(p)
    unpatched_while_off = ext.malloc_slot() == before
    tmtrace.set_native(True)
    patched = ext.malloc_slot() != before
    p = ext.alloc("malloc", 300000)
    on = tmtrace.get_trace(p)[0]; ext.free(p)
    tmtrace.disable()
    restored = ext.malloc_slot() == before
    p = ext.alloc("malloc", 300000); ext.free(p)
    tmtrace.enable()                     # native mode is remembered
    again = ext.malloc_slot() != before
    p = ext.alloc("malloc", 300001)
    again_size = tmtrace.get_trace(p)[0]; ext.free(p)
    tmtrace.set_native(False)
    restored2 = ext.malloc_slot() == before
    p = ext.alloc("malloc", 300002)
    off2 = tmtrace.get_trace(p); ext.free(p)
    print(json.dumps([off, unpatched_while_off, patched, on, restored,
                      again, again_size, restored2, off2,
                      tmtrace.is_native()]))
    """
    (off, unpatched, patched, on, restored, again, again_size, restored2,
     off2, is_native) = run(code)
    assert off is None and unpatched
    assert patched and on == 300000
    assert restored
    assert again and again_size == 300001
    assert restored2 and off2 is None and is_native is False


def test_thread_without_python_frames_gets_empty_traceback():
    code = """
    tmtrace.set_native(True)
    tmtrace.enable()
    import _tmt_nativetest as ext
    p = ext.thread_alloc(123457)
    t = tmtrace.get_trace(p)
    d = domain_of(p)
    ext.free(p)
    print(json.dumps([t, d]))
    """
    t, d = run(code)
    assert t == [123457, []]
    assert d == NATIVE


def test_python_threads_each_at_their_line():
    # Four threads allocate without the GIL at the same time, each at its
    # own line; every block is at the line of the thread that made it.
    code = """
    tmtrace.set_traceback_limit(2)
    tmtrace.set_native(True)
    tmtrace.enable()
    import _tmt_nativetest as ext
    got = {}
    lines = {}
    start = threading.Barrier(4)
    def worker(k):
        start.wait()
        ps = []
        for i in range(200):
            if k == 0: ps.append(ext.alloc("malloc", 1000 + k, True)); lines[k] = here()
            elif k == 1: ps.append(ext.alloc("calloc", 1000 + k, True)); lines[k] = here()
            elif k == 2: ps.append(ext.alloc("posix_memalign", 1000 + k, True)); lines[k] = here()
            else: ps.append(ext.alloc("malloc", 1000 + k, False)); lines[k] = here()
        got[k] = ps
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()
    gc.collect()
    res = {}
    for k, ps in got.items():
        tr = [tmtrace.get_trace(p) for p in ps]
        res[k] = [lines[k], sum(1 for t in tr if t and t[0] == 1000 + k
                                and t[1] and t[1][0] == ("<string>", lines[k]))]
        for p in ps: ext.free(p, True)
    print(json.dumps(res))
    """
    res = run(code)
    for k in "0123":
        line, n_at_line = res[k]
        assert n_at_line == 200, (k, res)


def test_fork_under_native_mode():
    code = """
    tmtrace.set_native(True)
    tmtrace.enable()
    import _tmt_nativetest as ext
    keep = ext.alloc("malloc", 400000)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        # The child is not tracing (PEP 454); its malloc works, untraced;
        # it can trace again, natively.
        p = ext.alloc("malloc", 200000)
        a = [tmtrace.is_enabled(), tmtrace.get_trace(p)]
        ext.free(p)
        tmtrace.enable()
        p = ext.alloc("malloc", 200001, True); line = here()
        q = ext.alloc("malloc", 200002)
        a += [tmtrace.get_trace(p), line, tmtrace.get_trace(q)[0]]
        ext.free(p); ext.free(q)
        os.write(w, json.dumps(a).encode())
        os._exit(0)
    os.close(w)
    child = json.loads(os.read(r, 65536).decode())
    os.waitpid(pid, 0)
    p = ext.alloc("malloc", 300000)
    parent = [tmtrace.get_trace(keep)[0], tmtrace.get_trace(p)[0]]
    print(json.dumps([child, parent]))
    """
    child, parent = run(code)
    enabled, untraced, traced, line, q = child
    assert enabled is False and untraced is None
    assert traced == [200001, [["<string>", line]]]
    assert q == 200002
    assert parent == [400000, 300000]


# ---- nothing counted twice ---------------------------------------------------

def test_pymem_raw_is_one_block():
    # PyMem_RawMalloc calls malloc inside CPython, which is not patched:
    # one block, in the Python allocators' domain, not a second native one.
    code = """
    tmtrace.set_native(True)
    tmtrace.enable()
    import _tmt_nativetest as ext
    before = tmtrace.get_traced_memory()[0]
    p = ext.raw_malloc(7000000); line = here()
    grew = tmtrace.get_traced_memory()[0] - before
    t = tmtrace.get_trace(p)
    d = domain_of(p)
    ext.raw_free(p)
    print(json.dumps([grew, t, line, d]))
    """
    grew, t, line, d = run(code)
    assert t == [7000000, [["<string>", line]]]
    assert d == 0
    assert 7000000 <= grew < 7000000 + 64 * 1024  # + the snapshot's own bits


def test_numpy_data_is_one_block_in_numpys_domain():
    # numpy takes its data from malloc inside its own (patched) object and
    # reports it through PyTraceMalloc_Track: one block, of nbytes, in
    # numpy's domain -- not a native one beside it.
    code = """
    tmtrace.set_native(True)
    tmtrace.enable()
    import numpy as np
    m0 = tmtrace.get_traced_memory()[0]
    a = np.empty(25_000_000); line = here()  # a C function: limit 1 shows this line
    grew = tmtrace.get_traced_memory()[0] - m0
    snap = tmtrace.Snapshot.create(traces=True)
    addr = a.ctypes.data
    out = [a.nbytes, grew, snap.traces.get(addr), line, snap.domains.get(addr)]
    del a
    out.append(tmtrace.get_traced_memory()[0] - m0)
    print(json.dumps(out))
    """
    nbytes, grew, trace, line, domain, left = run(code)
    assert nbytes == 200_000_000
    assert nbytes <= grew < nbytes + 64 * 1024
    assert trace[0] == nbytes and trace[1][0] == ["<string>", line]
    assert domain == 389047   # numpy's tracemalloc domain
    assert left < 64 * 1024


def test_zlib_equals_cpython_tracemalloc():
    # zlib's state comes from PyMem_RawMalloc (CPython's zalloc): with
    # CPython's tracer on too (no deadlock), both see the same bytes per
    # line -- tmtrace once, not twice -- and zlib.h's documented sizes:
    # deflate (1 << (windowBits+2)) + (1 << (memLevel+9)) plus a few KB,
    # inflate's window (1 << windowBits) plus about 7 KB.
    code = """
    import tracemalloc, zlib
    tracemalloc.start()
    tmtrace.set_native(True)
    tmtrace.enable()
    comp = [zlib.compressobj(9, zlib.DEFLATED, 15, 8) for i in range(40)]  # COMP
    data = zlib.compress(os.urandom(200000))
    decomp = [zlib.decompressobj() for i in range(40)]
    out = [d.decompress(data) for d in decomp]  # DECOMP
    snap = tracemalloc.take_snapshot()
    cp = {s.traceback[0].lineno: s.size for s in snap.statistics("lineno")
          if s.traceback[0].filename == "<string>"}
    print(json.dumps([at(%d), cp.get(%d, 0), at(%d), cp.get(%d, 0)]))
    """
    code = code % ((line_of(code, "# COMP"),) * 2 +
                   (line_of(code, "# DECOMP"),) * 2)
    comp, cp_comp, decomp, cp_decomp = run(code)
    deflate = (1 << 17) + (1 << 17)
    assert 40 * deflate <= comp <= 40 * (deflate + 16 * 1024)
    assert comp == cp_comp
    # The inflate window is allocated inside inflate(), without the GIL:
    # native mode still puts it at this line.  The line also holds the
    # 200 kB outputs, which tracemalloc sees the same way.
    assert decomp >= 40 * ((1 << 15) + 200000)
    assert abs(decomp - cp_decomp) <= 40 * 1024


def test_lzma_documented_sizes():
    # xz(1)'s preset table: -6 uses an 8 MiB dictionary; the compressor
    # needs 94 MiB, the decompressor 9 MiB (rounded figures).
    code = """
    import lzma
    tmtrace.set_native(True)
    tmtrace.enable()
    data = lzma.compress(b"tmtrace" * 100000, preset=6)
    c = lzma.LZMACompressor(preset=6)  # COMP
    d = lzma.LZMADecompressor(); out = d.decompress(data)  # DECOMP
    print(json.dumps([at(%d), at(%d), len(out)]))
    """
    code = code % (line_of(code, "# COMP"), line_of(code, "# DECOMP"))
    comp, decomp, n = run(code)
    assert n == 700000
    assert 90 * MiB <= comp <= 95 * MiB
    assert 8 * MiB + n <= decomp <= 9 * MiB + n + 64 * 1024


# ---- sqlite3: page cache at the line that filled it; RSS as the oracle -----

def test_sqlite_at_its_line_and_domain():
    code = """
    tmtrace.set_native(True)
    tmtrace.enable()
    import sqlite3
    con = sqlite3.connect(":memory:")
    con.execute("create table t(a integer, b text)")
    con.executemany("insert into t values (?, ?)", ((i, "x" * 1000) for i in range(20000)))  # FILL
    snap = tmtrace.Snapshot.create(traces=True)
    doms = snap.domains
    native_at_fill = sum(s for a, (s, tb) in snap.traces.items()
                         if tb and tb[0][1] == %d and doms.get(a) == %d)
    before = tmtrace.get_traced_memory()[0]
    con.close(); del con; gc.collect()
    freed = before - tmtrace.get_traced_memory()[0]
    print(json.dumps([native_at_fill, freed]))
    """
    code = code % (line_of(code, "# FILL"), NATIVE)
    native_at_fill, freed = run(code)
    data = 20000 * 1000        # the text alone, before pages and indexes
    print("sqlite at its line: %d for %d bytes of text" % (native_at_fill, data))
    assert data <= native_at_fill <= 1.5 * data
    assert freed >= native_at_fill  # close() gave it all back


@pytest.mark.skipif(SANITIZED, reason="RSS is no oracle under ASan")
@pytest.mark.parametrize("how", ["api", "env", "runner"])
def test_traced_within_5_percent_of_rss_growth(how, tmp_path):
    # A workload dominated by sqlite3's memory: about 110 MB of pages.
    # The oracle is the kernel's count of resident pages.  Native mode is
    # switched on by the API, by TMTRACE_NATIVE=1 (started as the .pth
    # line starts it) or by the runner's --native, which also hands it to
    # child processes.
    code = """
    if "MODE" == "env":
        import tmtrace._startup as startup; startup.run()
    started = tmtrace.is_enabled()
    if "MODE" == "api":
        tmtrace.set_native(True)
        tmtrace.enable()
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    import sqlite3
    native = tmtrace.is_native()
    child = None
    if "MODE" == "runner":
        import subprocess
        child = subprocess.run([sys.executable, "-c",
            "import tmtrace._startup as s; s.run(); import tmtrace; "
            "print(tmtrace.is_enabled() and tmtrace.is_native())"],
            capture_output=True, text=True).stdout.strip()
    gc.collect()
    r0, t0 = rss(), tmtrace.get_traced_memory()[0]
    con = sqlite3.connect(":memory:")
    con.execute("create table t(a integer, b text)")
    con.executemany("insert into t values (?, ?)",
                    ((i, "x" * 1000) for i in range(100000)))
    con.commit()
    gc.collect()
    r1, t1 = rss(), tmtrace.get_traced_memory()[0]
    print(json.dumps([started, native, child, r1 - r0, t1 - t0]))
    """.replace("MODE", how)
    if how == "api":
        started, native, child, grew, traced = run(code)
    elif how == "env":
        started, native, child, grew, traced = run(code, env_extra={
            "TMTRACE": "1", "TMTRACE_NATIVE": "1",
            "TMTRACE_OUTPUT": str(tmp_path)})
    else:
        script = tmp_path / "w.py"
        script.write_text(PRELUDE + textwrap.dedent(code))
        env = dict(os.environ)
        env.pop("TMTRACE", None)
        env.pop("TMTRACE_NATIVE", None)
        env["TMTRACE_LIVE"] = "0"
        r = subprocess.run([sys.executable, "-m", "tmtrace", "run", "--native",
                            "-o", str(tmp_path), str(script)], env=env,
                           text=True, capture_output=True, timeout=300)
        assert r.returncode == 0, r.stderr
        started, native, child, grew, traced = json.loads(
            r.stdout.strip().splitlines()[-1])
        assert child == "True"   # TMTRACE_NATIVE=1 exported to children
    assert started is (how != "api")
    assert native is True
    assert grew > 100_000_000
    print("RSS growth %d, traced %d (%+.2f%%)" % (grew, traced,
                                                 100.0 * (traced - grew) / grew))
    assert abs(traced - grew) <= 0.05 * grew, (traced, grew)


def test_sampled_native_mode_estimates_sqlite():
    # Sampling applies to native blocks by the same rule (hooks.c): the
    # weighted estimate at the line is near the ~110 MB of pages that the
    # unsampled runs above trace (100 MB of text, plus pages' overhead).
    code = """
    tmtrace.set_sampling(65536, 7)
    tmtrace.set_native(True)
    tmtrace.enable()
    import sqlite3
    con = sqlite3.connect(":memory:")
    con.execute("create table t(a integer, b text)")
    con.executemany("insert into t values (?, ?)", ((i, "x" * 1000) for i in range(100000)))  # FILL
    stats = tmtrace.Snapshot.create(traces=True).top_by("line").stats
    print(json.dumps(stats.get(("<string>", %d), (0, 0))[0]))
    """
    code = code % line_of(code, "# FILL")
    estimate = run(code)
    assert 100_000_000 <= estimate <= 130_000_000, estimate


def test_toggling_while_threads_allocate():
    # Threads keep calling malloc/realloc/free (half of them without the
    # GIL) while the main thread turns tracing and native mode on and off:
    # the slots change under running calls.  Nothing may crash or leak a
    # trace, and every block freed after the last enable() is gone.
    code = """
    import _tmt_nativetest as ext
    stop = threading.Event()
    def churn(nogil):
        while not stop.is_set():
            ps = [ext.alloc("malloc", 100 + i, nogil) for i in range(50)]
            ps = [ext.realloc(p, 300, nogil) for p in ps]
            for p in ps:
                ext.free(p, nogil)
    ts = [threading.Thread(target=churn, args=(k % 2 == 0,)) for k in range(4)]
    for t in ts: t.start()
    for i in range(60):
        tmtrace.set_native(i % 3 != 0)
        tmtrace.enable()
        ext.free(ext.alloc("calloc", 1000))
        if i % 2:
            tmtrace.disable()
    tmtrace.set_native(True)
    tmtrace.enable()
    def churned():
        snap = tmtrace.Snapshot.create(traces=True)
        doms = snap.domains
        return [s for a, (s, tb) in snap.traces.items()
                if doms.get(a) == NATIVE and (s == 300 or 100 <= s < 150)]
    seen = 0
    for _ in range(200):          # the churn is traced meanwhile
        seen = len(churned())
        if seen:
            break
    stop.set()
    for t in ts: t.join()
    gc.collect()
    print(json.dumps([seen, len(churned()), tmtrace.is_native()]))
    """
    seen, left, native = run(code.replace("NATIVE", str(NATIVE)))
    assert native is True
    assert seen > 0
    assert left == 0
