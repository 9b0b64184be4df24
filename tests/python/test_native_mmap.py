"""Native mode: anonymous mmap/munmap/mremap made by extensions and
shared libraries are traced at the Python line that made them, in the
native domain, and the traced bytes follow partial unmaps, remaps and
MAP_FIXED replacements exactly (src/tracer/native.c, nativemap.c).

Each scenario runs in a fresh interpreter (test_native.run).  The test
extension maps and unmaps through its own GOT, with and without the GIL.
Oracles: the page counts the test asks for (a mapping's pieces computed
by hand), the process's resident memory, the extension's GOT slots.
"""
import math
import textwrap

import pytest

from test_native import NATIVE, run

MiB = 1 << 20


PROLOGUE = """
tmtrace.set_native(True)
tmtrace.enable()
import _tmt_nativetest as ext
P = ext.PAGE
ANON = ext.MAP_PRIVATE | ext.MAP_ANONYMOUS
def tr(a):
    t = tmtrace.get_trace(a)
    return None if t is None else [t[0], [list(f) for f in t[1]]]
def at(line=None):   # the native bytes traced (at a line of the program)
    snap = tmtrace.Snapshot.create(traces=True)
    doms = snap.domains
    return sum(s for a, (s, tb) in snap.traces.items()
               if (line is None or tb and tuple(tb[0]) == ("<string>", line))
               and doms.get(a) == %d)
""" % NATIVE


def runm(body):
    """body (indented as in the test) after PROLOGUE, in a fresh process."""
    return run(PROLOGUE + textwrap.dedent(body))


# "plain": through the `mmap` symbol; the others through mmap64, which
# pyconfig.h's _FILE_OFFSET_BITS=64 makes every extension call.
@pytest.mark.parametrize("how", ["private", "shared", "plain", "nogil"])
def test_mapping_at_its_line_with_its_size_and_munmap_removes_it(how):
    code = """
    how = %r
    flags = ext.MAP_SHARED | ext.MAP_ANONYMOUS if how == "shared" else ANON
    before = tmtrace.get_traced_memory()[0]
    # not a multiple of the page: the kernel maps (and counts) whole pages
    p = ext.mmap(37 * P - 100, flags, -1, 0, how == "nogil", how == "plain"); line = here()
    x = [0] * 10    # a traced allocation with the GIL (resolves GIL-less frames)
    got = [tr(p), line, domain_of(p), tmtrace.get_traced_memory()[0] - before]
    ext.munmap(p, 37 * P - 100, how == "nogil")
    x = [0] * 10
    got += [tr(p), at(line)]
    print(json.dumps(got + [P]))
    """ % how
    trace, line, domain, grew, after, at_line, page = runm(code)
    assert trace == [37 * page, [["<string>", line]]]
    assert domain == NATIVE
    assert 37 * page <= grew < 37 * page + 4096   # + the list's few bytes
    assert after is None and at_line == 0


@pytest.mark.parametrize("nogil", [False, True])
def test_partial_unmaps_leave_exactly_the_rest_at_the_same_line(nogil):
    # 20 pages: cut the head (2), the tail (3) and the middle (4..8):
    # [2, 4) and [8, 17) remain, 11 pages, at the mmap's line.
    code = """
    ng = %r
    p = ext.mmap(20 * P, ANON, -1, 0, ng); line = here()
    x = [0] * 10
    steps = []
    ext.munmap(p, 2 * P, ng)
    x = [0] * 10
    steps.append([tr(p), tr(p + 2 * P), at(line)])
    ext.munmap(p + 17 * P, 3 * P, ng)
    x = [0] * 10
    steps.append([tr(p + 2 * P), at(line)])
    ext.munmap(p + 4 * P, 4 * P, ng)
    x = [0] * 10
    steps.append([tr(p + 2 * P), tr(p + 4 * P), tr(p + 8 * P), at(line),
                  domain_of(p + 8 * P)])
    ext.munmap(p, 20 * P, ng)    # the whole range, holes included
    x = [0] * 10
    steps.append([tr(p + 2 * P), tr(p + 8 * P), at(line)])
    print(json.dumps([line, P, steps]))
    """ % nogil
    line, page, (head, tail, middle, whole) = runm(code)
    at_line = [["<string>", line]]
    assert head == [None, [18 * page, at_line], 18 * page]
    assert tail == [[15 * page, at_line], 15 * page]
    assert middle == [[2 * page, at_line], None, [9 * page, at_line],
                      11 * page, NATIVE]
    assert whole == [None, None, 0]


def test_map_fixed_replaces_a_traced_mapping():
    code = """
    import tempfile
    p = ext.mmap(10 * P, ANON); l1 = here()
    q = ext.mmap(2 * P, ANON | ext.MAP_FIXED, -1, p + 2 * P); l2 = here()
    x = [0] * 10
    got = [q == p + 2 * P, tr(p), tr(q), tr(p + 4 * P), at(l1), at(l2)]
    with tempfile.TemporaryFile() as f:
        f.write(b"y" * (3 * P)); f.flush()
        r = ext.mmap(3 * P, ext.MAP_SHARED | ext.MAP_FIXED, f.fileno(), p + 5 * P); l3 = here()
        x = [0] * 10
        got += [r == p + 5 * P, tr(p + 4 * P), tr(r), tr(p + 8 * P),
                at(l1), at(l3)]
    ext.munmap(p, 10 * P)
    x = [0] * 10
    got += [at(l1), at(l2)]
    print(json.dumps([l1, l2, P, got]))
    """
    l1, l2, page, got = runm(code)
    s1, s2 = [["<string>", l1]], [["<string>", l2]]
    assert got[:6] == [True, [2 * page, s1], [2 * page, s2], [6 * page, s1],
                       8 * page, 2 * page]
    # a file mapping over [5, 8): pages 0..1, 4 and 8..9 of the first stay
    assert got[6:12] == [True, [page, s1], None, [2 * page, s1], 5 * page, 0]
    assert got[12:] == [0, 0]


def test_spanning_two_traced_mappings():
    code = """
    base = ext.mmap(12 * P, ANON, -1, 0, False, False, False)
    a = ext.mmap(6 * P, ANON | ext.MAP_FIXED, -1, base); la = here()
    b = ext.mmap(6 * P, ANON | ext.MAP_FIXED, -1, base + 6 * P); lb = here()
    x = [0] * 10
    before = [at(la), at(lb)]
    ext.munmap(base + 4 * P, 4 * P)      # a's last 2 pages, b's first 2
    x = [0] * 10
    got = [tr(base), tr(base + 4 * P), tr(base + 6 * P), tr(base + 8 * P),
           at(la), at(lb)]
    ext.munmap(base, 12 * P)
    x = [0] * 10
    print(json.dumps([la, lb, P, before, got, at(la), at(lb)]))
    """
    la, lb, page, before, got, a_after, b_after = runm(code)
    sa, sb = [["<string>", la]], [["<string>", lb]]
    assert before == [6 * page, 6 * page]
    assert got == [[4 * page, sa], None, None, [4 * page, sb],
                   4 * page, 4 * page]
    assert a_after == 0 and b_after == 0


def test_untraced_mappings_and_empty_ranges_change_nothing():
    code = """
    tmtrace.disable()
    u = ext.mmap(8 * P, ANON)            # made while not tracing
    tmtrace.enable()
    t = ext.mmap(4 * P, ANON); lt = here()
    x = [0] * 10
    ext.munmap(u + 2 * P, 2 * P)         # part of an untraced mapping
    u2 = ext.mremap(u, 2 * P, 5 * P, ext.MREMAP_MAYMOVE)  # its head, moved
    hole = ext.mmap(4 * P, ANON, -1, 0, False, False, False)
    tmtrace.disable(); tmtrace.enable()
    t2 = ext.mmap(4 * P, ANON); l2 = here()
    ext.munmap(hole, 4 * P)              # a range nothing traced is in
    x = [0] * 10
    # (t2 may be placed where u's head was: addresses are reused)
    got = [tr(u2), tr(u + 4 * P), tr(t2), at(l2), at()]
    print(json.dumps([l2, P, got]))
    """
    l2, page, got = runm(code)
    assert got == [None, None, [4 * page, [["<string>", l2]]], 4 * page,
                   4 * page]


def test_mremap_grow_shrink_move():
    code = """
    p = ext.mmap(8 * P, ANON); l0 = here()
    q = ext.mremap(p, 8 * P, 40 * P, ext.MREMAP_MAYMOVE); l1 = here()
    x = [0] * 10
    got = [tr(q), tr(p) if q != p else "same", at(l0)]
    r = ext.mremap(q, 40 * P, 10 * P, 0); l2 = here()     # shrink in place
    x = [0] * 10
    got += [r == q, tr(r), at(l1)]
    dest = ext.mmap(10 * P, ANON, -1, 0, False, False, False)
    tmtrace.disable(); tmtrace.enable()   # dest: not traced
    p = ext.mmap(6 * P, ANON); l3 = here()
    s = ext.mremap(p, 6 * P, 10 * P, ext.MREMAP_MAYMOVE | ext.MREMAP_FIXED, dest); l4 = here()
    x = [0] * 10
    got += [s == dest, tr(s), tr(p), at(l3)]
    # a remap of part of a mapping: its head is moved, the rest stays
    t = ext.mmap(8 * P, ANON); l5 = here()
    t2 = ext.mremap(t + 6 * P, 2 * P, 20 * P, ext.MREMAP_MAYMOVE); l6 = here()
    x = [0] * 10
    got += [tr(t), tr(t2), at(l5), at(l6)]
    # MREMAP_DONTUNMAP (Linux 5.7+): the old range stays mapped, and traced
    u = ext.mmap(4 * P, ANON); l7 = here()
    try:
        u2 = ext.mremap(u, 4 * P, 4 * P, ext.MREMAP_MAYMOVE | ext.MREMAP_DONTUNMAP); l8 = here()
    except OSError:
        u2 = None                      # an older kernel: nothing changed
    x = [0] * 10
    got += [tr(u), tr(u2) if u2 else None, l7, l8 if u2 else None]
    ext.munmap(u, 4 * P)
    if u2:
        ext.munmap(u2, 4 * P)
    ext.munmap(s, 10 * P); ext.munmap(t, 6 * P); ext.munmap(t2, 20 * P)
    x = [0] * 10
    got += [at() == 0]
    print(json.dumps([[l0, l1, l2, l3, l4, l5, l6], P, got]))
    """
    (l0, l1, l2, l3, l4, l5, l6), page, got = runm(code)
    s = lambda line: [["<string>", line]]   # noqa: E731
    # grown: a realloc of the mapping, at the line of the call
    assert got[0] == [40 * page, s(l1)]
    assert got[1] in (None, "same") and got[2] == 0
    # shrunk in place
    assert got[3:6] == [True, [10 * page, s(l2)], 0]
    # moved onto another mapping with MREMAP_FIXED: it replaces it
    assert got[6:10] == [True, [10 * page, s(l4)], None, 0]
    assert got[10:14] == [[6 * page, s(l5)], [20 * page, s(l6)],
                          6 * page, 20 * page]
    u, u2, l7, l8 = got[14:18]
    assert u == [4 * page, s(l7)]
    assert u2 is None and l8 is None or u2 == [4 * page, s(l8)]
    assert got[18] is True


def test_file_mappings_are_not_traced():
    code = """
    import tempfile
    with tempfile.TemporaryFile() as f:
        f.write(b"z" * (64 * P)); f.flush()
        a = ext.mmap(64 * P, ext.MAP_SHARED, f.fileno())
        b = ext.mmap(64 * P, ext.MAP_PRIVATE, f.fileno())
        x = [0] * 10
        got = [tr(a), tr(b), at()]
        ext.munmap(a, 64 * P); ext.munmap(b, 64 * P)
    print(json.dumps(got))
    """
    assert runm(code) == [None, None, 0]


def test_failed_calls_trace_nothing():
    code = """
    import errno
    p = ext.mmap(4 * P, ANON); line = here()
    x = [0] * 10
    before = at()
    errs = []
    for call in (lambda: ext.mmap(0, ANON),                     # EINVAL
                 lambda: ext.mmap(1 << 62, ANON | ext.MAP_NORESERVE),  # ENOMEM
                 lambda: ext.munmap(p + 1, P),                  # unaligned
                 lambda: ext.mremap(p + 1, P, 2 * P, 0),        # unaligned
                 lambda: ext.mremap(p, 4 * P, 1 << 62, 0)):     # no room
        try:
            call()
            errs.append(None)
        except OSError as e:
            errs.append(e.errno)
    x = [0] * 10
    got = [errs, at() - before, tr(p), line]
    ext.munmap(p, 4 * P)
    print(json.dumps(got + [P]))
    """
    errs, grew, trace, line, page = runm(code)
    assert all(e is not None for e in errs), errs
    assert grew == 0
    assert trace == [4 * page, [["<string>", line]]]


def test_threads_with_and_without_the_gil_and_without_python():
    # Four Python threads map, cut and unmap concurrently, three of them
    # without the GIL; a thread Python never saw gets the empty traceback.
    code = """
    tmtrace.set_traceback_limit(2)
    start = threading.Barrier(4)
    res = {}
    def worker(k):
        ng = k != 3
        start.wait()
        ps = []
        for i in range(100):
            p = ext.mmap((k + 3) * P, ANON, -1, 0, ng); line = here()
            ext.munmap(p, P, ng)                 # the head page
            ps.append(p + P)
        x = [0] * 10
        tr_ = [tr(p) for p in ps]
        res[k] = [line, sum(1 for t in tr_ if t and t[0] == (k + 2) * P
                            and t[1][0] == ["<string>", line])]
        res[k].append(tr_[:2])
        for p in ps:
            ext.munmap(p, (k + 2) * P, ng)
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ts: t.start()
    for t in ts: t.join()
    x = [0] * 10
    left = at()
    q = ext.thread_alloc(5 * P, True)
    got = [res, left, tr(q), domain_of(q)]
    ext.munmap(q, 5 * P)
    print(json.dumps(got + [P]))
    """
    res, left, tq, dq, page = runm(code)
    for k in "0123":
        assert res[k][1] == 100, res
    assert left == 0, left
    assert tq == [5 * page, []] and dq == NATIVE


def test_fork_under_native_mode():
    code = """
    keep = ext.mmap(6 * P, ANON)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        p = ext.mmap(3 * P, ANON)
        a = [tmtrace.is_enabled(), tr(p)]
        ext.munmap(keep, P)             # the child's copy: not traced there
        tmtrace.enable()
        q = ext.mmap(7 * P, ANON, -1, 0, True); line = here()
        ext.munmap(q, 2 * P, True)
        ext.munmap(keep + 2 * P, 2 * P)  # the parent's mapping: not ours here
        x = [0] * 10
        a += [tr(q + 2 * P), line, tr(keep + 4 * P), at()]
        os.write(w, json.dumps(a).encode())
        os._exit(0)
    os.close(w)
    child = json.loads(os.read(r, 65536).decode())
    os.waitpid(pid, 0)
    parent = tr(keep)[0]
    print(json.dumps([child, parent, P]))
    """
    (enabled, untraced, traced, line, keep_tail, total), parent, page = runm(code)
    assert enabled is False and untraced is None
    assert traced == [5 * page, [["<string>", line]]]
    assert keep_tail is None and total == 5 * page
    assert parent == 6 * page


def test_disable_and_set_native_false_restore_the_slots():
    code = """
    import _tmt_nativetest as ext
    before = ext.mmap_slots()
    tmtrace.enable()
    plain = ext.mmap_slots() == before
    tmtrace.set_native(True)
    patched = [a != b for a, b in zip(ext.mmap_slots(), before)]
    tmtrace.disable()
    restored = ext.mmap_slots() == before
    tmtrace.enable()
    again = [a != b for a, b in zip(ext.mmap_slots(), before)]
    tmtrace.set_native(False)
    restored2 = ext.mmap_slots() == before
    print(json.dumps([plain, patched, restored, again, restored2]))
    """
    plain, patched, restored, again, restored2 = run(code)
    assert plain
    assert patched == [True] * 4
    assert restored
    assert again == [True] * 4
    assert restored2


def test_traced_within_5_percent_of_rss_growth():
    # ~150 MiB of touched anonymous pages, some of it cut away again; the
    # oracle is the kernel's count of resident pages.  It holds under ASan
    # too: mappings get no redzones and no quarantine (unlike malloc's
    # blocks, see test_native).
    code = """
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    gc.collect()
    r0, t0 = rss(), tmtrace.get_traced_memory()[0]
    keep = []
    for i in range(6):
        p = ext.mmap(25 << 20, ANON)
        ext.munmap(p + (5 << 20), 5 << 20)       # a hole in the middle
        keep.append(p)
    q = ext.mmap(8 << 20, ANON)
    q = ext.mremap(q, 8 << 20, 20 << 20, ext.MREMAP_MAYMOVE)
    gc.collect()
    r1, t1 = rss(), tmtrace.get_traced_memory()[0]
    print(json.dumps([r1 - r0, t1 - t0]))
    """
    grew, traced = runm(code)
    assert grew > 130 * MiB
    print("RSS growth %d, traced %d (%+.2f%%)" % (grew, traced,
                                                 100.0 * (traced - grew) / grew))
    assert abs(traced - grew) <= 0.05 * grew, (traced, grew)


def test_sampling_a_mapping_is_a_block_of_its_length():
    # Sampled (1 MiB, fixed seed): each 256 KiB mapping is traced with
    # probability 1 - exp(-1/4); the second halves are then unmapped, and a
    # piece of a traced mapping stays traced with probability
    # p(piece) / p(mapping), so the estimate of the remaining halves,
    # weighted by 1 / p(size), is near the 2000 x 128 KiB that remain.
    code = """
    tmtrace.disable()
    tmtrace.set_sampling(1 << 20, 12345)
    tmtrace.enable()
    H = 128 << 10
    ps = [ext.mmap(2 * H, ANON | ext.MAP_NORESERVE, -1, 0, False, False, False)
          for i in range(2000)]
    x = [0] * 10
    whole = [tr(p) for p in ps]
    for p in ps:
        ext.munmap(p + H, H)
    x = [0] * 10
    half = [tr(p) for p in ps]
    for p in ps:
        ext.munmap(p, H)
    x = [0] * 10
    gone = sum(1 for p in ps if tr(p) is not None)
    print(json.dumps([[t and t[0] for t in whole], [t and t[0] for t in half], gone]))
    """
    whole, half, gone = runm(code)
    iv, H = 1 << 20, 128 << 10
    p = lambda s: -math.expm1(-s / iv)   # noqa: E731
    assert all(s in (None, 2 * H) for s in whole)
    assert all(s in (None, H) for s in half)
    # a half is traced only where its mapping was
    assert all(w is not None for w, h in zip(whole, half) if h is not None)
    est_whole = sum(s / p(s) for s in whole if s)
    est_half = sum(s / p(s) for s in half if s)
    assert 0.75 * 2000 * 2 * H < est_whole < 1.25 * 2000 * 2 * H
    assert 0.7 * 2000 * H < est_half < 1.3 * 2000 * H
    assert gone == 0


def test_nothing_counted_twice():
    # glibc serves a large malloc with mmap from inside the C library (not
    # patched): one malloc block of the size asked for, no mapping beside
    # it.  CPython's arenas come from CPython's own object (not patched):
    # no native trace at all for Python objects.
    code = """
    before = at()
    p = ext.alloc("malloc", 10 << 20); line = here()
    grew = at() - before
    t = tr(p)
    ext.free(p)
    objs = [object() for i in range(300000)]
    d = {i: str(i) for i in range(100000)}
    print(json.dumps([grew, t, line, at(), len(objs) + len(d)]))
    """
    grew, t, line, left, _ = runm(code)
    assert grew == 10 << 20
    assert t == [10 << 20, [["<string>", line]]]
    assert left == 0


def test_toggling_while_threads_map_and_unmap():
    # Tracing and native mode are switched 40 times while four threads
    # (two without the GIL) map, cut and unmap; once they stop, no native
    # trace is left, and nothing crashed.
    code = """
    stop = threading.Event()
    errors = []
    def worker(k):
        ng = k % 2 == 0
        n = 0
        try:
            while not stop.is_set() or n < 50:
                p = ext.mmap(5 * P, ANON, -1, 0, ng)
                ext.munmap(p + 2 * P, P, ng)
                q = ext.mremap(p + 3 * P, 2 * P, 4 * P, ext.MREMAP_MAYMOVE, 0, ng)
                ext.munmap(p, 2 * P, ng)
                ext.munmap(q, 4 * P, ng)
                n += 1
        except Exception as e:
            errors.append(repr(e))
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ts: t.start()
    for i in range(40):
        if i % 3 == 0:
            tmtrace.disable(); tmtrace.enable()
        elif i % 3 == 1:
            tmtrace.set_native(False); tmtrace.set_native(True)
        else:
            tmtrace.clear_traces()
        x = [0] * 100
    stop.set()
    for t in ts: t.join()
    x = [0] * 10
    print(json.dumps([errors, at(), tmtrace.is_enabled()]))
    """
    errors, left, enabled = runm(code)
    assert errors == []
    assert left == 0 and enabled


def test_python_mmap_module():
    # Python's own mmap module is an extension like any other (a shared
    # object in lib-dynload where the interpreter is built with shared
    # modules): an anonymous mmap.mmap is traced at its line, closing it
    # removes it, a file-backed one is not traced.
    code = """
    import mmap, tempfile
    if not getattr(mmap, "__file__", None):
        print(json.dumps(None)); sys.exit(0)   # built into the interpreter
    m = mmap.mmap(-1, 300 * P); line = here()
    m[:] = b"x" * (300 * P)
    got = [at(line)]
    m.close()
    got.append(at(line))
    with tempfile.TemporaryFile() as f:
        f.write(b"y" * (50 * P)); f.flush()
        fm = mmap.mmap(f.fileno(), 50 * P); fline = here()
        got.append(at(fline))
        fm.close()
    print(json.dumps(got + [P]))
    """
    got = runm(code)
    if got is None:
        pytest.skip("this interpreter has mmap built in (CPython's own "
                    "object is not patched)")
    made, closed, filemap, page = got
    assert made == 300 * page and closed == 0 and filemap == 0
