"""The tests' one reading of PEP 454's grouping rules, in plain Python.

Independent of the code under test (no tmtrace, no libtma): written from
the PEP's words and tma.h's documented decisions.  Used by the tracer's
tests (tests/python), tmtool's (tests/cli) and libtma's cross-check
(tests/c/tma_crosscheck.py); each adds this directory to sys.path.
Stdlib only."""


def cumulative_applies(group_by, cumulative, limit=None):
    """cumulative is ignored for 'address' and 'traceback' and when the
    traceback limit is below 2 (None: no limit given)."""
    return bool(cumulative) and group_by not in ("address", "traceback") \
        and (limit is None or limit >= 2)


def group_traces(traces, group_by, cumulative=False, limit=None):
    """{key: (size, count)} of traces, an iterable of (address, size,
    traceback) with traceback a sequence of (filename, lineno), most recent
    first.  Keys: the address; the traceback as a tuple of frame tuples;
    the frame (filename, lineno); the filename.  Non-cumulative: the most
    recent frame; cumulative: each distinct key of the traceback once (a
    recursive line counts once).  An empty traceback is the unknown frame
    (None, None)."""
    cumulative = cumulative_applies(group_by, cumulative, limit)
    out = {}
    for address, size, traceback in traces:
        frames = [tuple(f) for f in traceback]
        if group_by == "address":
            keys = [address]
        elif group_by == "traceback":
            keys = [tuple(frames)]
        else:
            frames = frames or [(None, None)]
            if not cumulative:
                frames = frames[:1]
            keys = [f if group_by == "line" else f[0] for f in frames]
        for key in dict.fromkeys(keys):   # distinct, in order
            old_size, old_count = out.get(key, (0, 0))
            out[key] = (old_size + size, old_count + 1)
    return out
