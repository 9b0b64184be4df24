"""Trace from inside a program with the PEP 454 API (shown in README.md)."""
import tmtrace


def load_records():
    return [bytes(1000) for _ in range(1000)]   # the allocation to find


tmtrace.set_traceback_limit(10)
tmtrace.enable()
records = load_records()

snapshot = tmtrace.Snapshot.create(traces=True)
snapshot.write("api-demo.tms")                   # atomic: temp file, fsync, rename

diff = snapshot.top_by("line").compare_to()
diff.sort()
size_diff, size, count_diff, count, (filename, lineno) = diff.differences[0]
print(f"biggest: {filename}:{lineno}: {size} bytes in {count} blocks")

size, traceback = tmtrace.get_object_trace(records[0])
print(f"records[0]: {size} bytes, traceback (most recent first):")
for filename, lineno in traceback:
    print(f"  {filename}:{lineno}")

display = tmtrace.DisplayTop()
display.metrics = False
display.display_snapshot(snapshot, count=3)
