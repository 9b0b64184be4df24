"""python -m tmtrace export --format parquet -o PATH FILE...

Write .tms snapshots as a Parquet table (schema: format/EXPORT.md); this is
what `tmtool export --format parquet` runs.  Debian ships no C Parquet
writer, so the table is built with pyarrow (the optional extra
``tmtrace[parquet]``).  This module only lays columns out: each snapshot is
read by libtms, filtered and summed per site by libtma (through
``_tmtrace``), so the numbers are those of ``tmtool top``.

Exit statuses are tmtool's: 0 success, 2 bad command line or no pyarrow,
3 unreadable input or unwritable output, 4 newer format version.
"""
import argparse
import os
import re
import sys
import tempfile

import _tmtrace

from ._filter import Filter

EXIT_OK, EXIT_USAGE, EXIT_BADFILE, EXIT_VERSION = 0, 2, 3, 4
SCHEMA_VERSION = "1"
DOMAIN = "python"   # where the memory was allocated; native domains later


class ExportError(Exception):
    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def schema(pa):
    """The table's schema, version SCHEMA_VERSION (format/EXPORT.md)."""
    frame = pa.struct([("function", pa.string()), ("file", pa.string()),
                       ("line", pa.int32())])
    return pa.schema([
        ("snapshot_id", pa.string()),
        ("series_id", pa.string()),
        ("file", pa.string()),
        ("pid", pa.int64()),
        ("host", pa.string()),
        ("timestamp", pa.timestamp("ns", tz="UTC")),
        ("domain", pa.string()),
        ("address", pa.uint64()),
        ("size", pa.int64()),
        ("count", pa.int64()),
        ("traceback", pa.list_(frame)),
        ("meta", pa.map_(pa.string(), pa.string())),
    ], metadata={b"tmtrace.export.schema": SCHEMA_VERSION.encode()})


def _packed(pa, typ, buf):
    """A pyarrow array over a packed native array, without a copy."""
    return pa.Array.from_buffers(typ, len(buf) * 8 // typ.bit_width,
                                 [None, pa.py_buffer(buf)])


def _negative_to_null(pa, arr):
    return pa.compute.if_else(pa.compute.less(arr, 0), None, arr)


def _repeat(pa, value, typ, n):
    """value n times (a one-item array taken n times: no Python loop)."""
    zeros = _packed(pa, pa.int32(), bytes(4 * n))
    return pa.array([value], typ).take(zeros)


def _frames(pa, tables, frame_type):
    """Every frame of the snapshot as a struct, indexed by frame id, from
    tables = _tmtrace.export_frames(data)."""
    strings, ffile, fline, _, _, ffunc = tables
    strings = pa.array(strings, pa.string())
    file_idx = _negative_to_null(pa, _packed(pa, pa.int32(), ffile))
    func_idx = _negative_to_null(pa, _packed(pa, pa.int32(), ffunc))
    line = _negative_to_null(pa, _packed(pa, pa.int32(), fline))
    # a function is null when unknown (.tms 1.0 files)
    return pa.StructArray.from_arrays(
        [strings.take(func_idx), strings.take(file_idx), line],
        fields=list(frame_type))


def _stacks(pa, tables, list_type):
    """Every traceback, as list_type, indexed by traceback id."""
    frames = _frames(pa, tables, list_type.value_type)
    _, _, _, tb_start, tb_frames, _ = tables
    values = frames.take(_packed(pa, pa.uint32(), tb_frames))
    offsets = _packed(pa, pa.int64(), tb_start)
    return pa.LargeListArray.from_arrays(offsets, values).cast(list_type)


def snapshot_table(pa, data, path, rows):
    """The rows of one loaded snapshot (a _tmtrace.SnapshotData): one per
    site (traceback; line for a stats-only file) or one per trace."""
    sch = schema(pa)
    list_type = sch.field("traceback").type
    tables = _tmtrace.export_frames(data)
    addresses = None
    if rows == "trace":
        cols = _tmtrace.export_traces(data)
        if cols is None:
            raise ExportError("'%s' has no traces: export it with --rows site"
                              % path, EXIT_USAGE)
        addr, size, tb = cols
        addresses = _packed(pa, pa.uint64(), addr)
        sizes = _packed(pa, pa.uint64(), size)
        counts = _repeat(pa, 1, pa.int64(), len(sizes))
        traceback = _stacks(pa, tables, list_type).take(
            _packed(pa, pa.uint32(), tb))
    elif data.has_traces:
        tb, size, count = _tmtrace.export_sites(data)
        sizes = _packed(pa, pa.uint64(), size)
        counts = _packed(pa, pa.uint64(), count)
        traceback = _stacks(pa, tables, list_type).take(
            _packed(pa, pa.uint32(), tb))
    else:
        # Statistics only: a site is a line, its stack that one frame.
        frame, size, count = _tmtrace.export_stats(data)
        sizes = _packed(pa, pa.uint64(), size)
        counts = _packed(pa, pa.uint64(), count)
        frames = _frames(pa, tables, list_type.value_type)
        offsets = pa.array(range(len(sizes) + 1), pa.int32())
        traceback = pa.ListArray.from_arrays(
            offsets, frames.take(_packed(pa, pa.uint32(), frame)))
        traceback = traceback.cast(list_type)
    n = len(sizes)
    meta = data.meta()
    series = _tmtrace.export_series_id(data)
    ts = data.timestamp_ns
    const = {
        "snapshot_id": "%s-%d" % (series, ts),
        "series_id": series,
        "file": path,
        "pid": data.pid,
        "host": meta.get("host"),
        "timestamp": ts,
        "domain": DOMAIN,
        "meta": sorted(meta.items()),
    }
    cols = {
        "address": addresses if addresses is not None
        else pa.nulls(n, pa.uint64()),
        "size": sizes.cast(pa.int64()),
        "count": counts.cast(pa.int64()),
        "traceback": traceback,
    }
    arrays = [cols[f.name] if f.name in cols
              else _repeat(pa, const[f.name], f.type, n) for f in sch]
    return pa.Table.from_arrays(arrays, schema=sch)


# ---- files ---------------------------------------------------------------

def _load(path, traces=True):
    try:
        return _tmtrace.SnapshotData.load(path, traces)
    except OSError as e:
        raise ExportError("cannot read '%s': %s" % (path, e.strerror or e),
                          EXIT_BADFILE)
    except (ValueError, MemoryError) as e:
        msg = str(e)
        code = EXIT_VERSION if "version" in msg and "newer" in msg \
            else EXIT_BADFILE
        raise ExportError(msg if path in msg
                          else "cannot read '%s': %s" % (path, msg), code)


def _write_atomic(pq, path, tables_of, sch):
    """Write the tables tables_of() yields into path through a temporary
    file in the same directory; nothing is left behind on failure."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path),
                                   suffix=".tmp", dir=directory)
    except OSError as e:
        raise ExportError("cannot create '%s': %s" % (path, e.strerror),
                          EXIT_BADFILE)
    rows = 0
    try:
        with os.fdopen(fd, "wb") as f:
            with pq.ParquetWriter(f, sch, compression="zstd") as w:
                for table in tables_of():
                    w.write_table(table, row_group_size=1 << 20)
                    rows += table.num_rows
            f.flush()
            os.fsync(f.fileno())
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o644 & ~mask)
        os.rename(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ExportError("cannot write '%s': %s" % (path, e.strerror or e),
                              EXIT_BADFILE)
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return rows


def _parse_filter(include, traceback, text):
    m = re.match(r"^(.*):(\d+)$", text)
    pattern, lineno = (m.group(1), int(m.group(2))) if m else (text, None)
    return Filter(include, pattern, lineno, traceback)


def _parser():
    p = argparse.ArgumentParser(
        prog="python -m tmtrace export",
        description="Write .tms snapshots as a Parquet table "
                    "(format/EXPORT.md); tmtool export --format parquet "
                    "runs this.")
    p.add_argument("--format", default="parquet", choices=["parquet"])
    p.add_argument("-o", "--output", required=True, metavar="PATH",
                   help="a .parquet file for all rows, or an existing "
                        "directory for one FILE.parquet per input")
    p.add_argument("--rows", choices=["site", "trace"], default="site",
                   help="one row per site (traceback; default) or per trace")
    p.add_argument("-q", "--quiet", action="store_true")
    for flags, include, tb in ((("-i", "--include"), True, False),
                               (("-x", "--exclude"), False, False),
                               (("-I", "--include-traceback"), True, True),
                               (("-X", "--exclude-traceback"), False, True)):
        p.add_argument(*flags, dest="filters", action="append", default=[],
                       metavar="PATTERN[:LINENO]",
                       type=lambda t, i=include, b=tb: _parse_filter(i, b, t))
    p.add_argument("files", nargs="+", metavar="FILE")
    return p


def export(files, output, rows="site", filters=(), quiet=True):
    """Export files; returns the number of rows written.  Raises
    ExportError."""
    try:
        import pyarrow as pa
        import pyarrow.compute  # noqa: F401  (pa.compute)
        import pyarrow.parquet as pq
    except ImportError:
        raise ExportError("parquet export needs pyarrow: "
                          "pip install 'tmtrace[parquet]'", EXIT_USAGE)
    sch = schema(pa)
    outs = {os.path.realpath(f) for f in files}
    if os.path.isdir(output):
        targets = [(os.path.join(output, re.sub(r"\.tms$", "", os.path.basename(f))
                                 + ".parquet"), [f]) for f in files]
    else:
        targets = [(output, list(files))]
    for target, _ in targets:
        if os.path.realpath(target) in outs:
            raise ExportError("refusing to overwrite input file '%s' with "
                              "the export" % target, EXIT_USAGE)

    def tables(paths):
        for path in paths:
            data = _load(path)
            if filters:
                data.apply_filters(list(filters))
            yield snapshot_table(pa, data, path, rows)

    total = 0
    for target, paths in targets:
        n = _write_atomic(pq, target, lambda p=paths: tables(p), sch)
        total += n
        if not quiet:
            sys.stderr.write("tmtool: wrote '%s': %d rows from %d file%s\n"
                             % (target, n, len(paths),
                                "" if len(paths) == 1 else "s"))
    return total


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        export(args.files, args.output, args.rows, args.filters, args.quiet)
    except ExportError as e:
        sys.stderr.write("tmtool: %s\n" % e)
        return e.code
    return EXIT_OK
