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
SCHEMA_VERSION = "2"   # 2: sampled files' trace rows hold estimates
DOMAIN = "python"   # where the memory was allocated; native domains later


class ExportError(Exception):
    def __init__(self, message, code):
        super().__init__(message)
        self.code = code


def schema(pa):
    """The table's schema, version SCHEMA_VERSION (format/EXPORT.md).
    Strings that repeat (per snapshot, per frame) are dictionary-encoded:
    Parquet stores them as such and readers see plain strings."""
    text = pa.dictionary(pa.int32(), pa.string())
    frame = pa.struct([("function", text), ("file", text),
                       ("line", pa.int32())])
    return pa.schema([
        ("snapshot_id", text),
        ("series_id", text),
        ("file", text),
        ("pid", pa.int64()),
        ("host", text),
        # microseconds: what Spark, Trino and BigQuery read as a timestamp
        # (Spark refuses Parquet's nanosecond one); exact in timestamp_ns
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("timestamp_ns", pa.int64()),
        ("domain", text),
        # int64, not uint64: engines without unsigned types read it as a
        # number, and user-space addresses stay below 2^63
        ("address", pa.int64()),
        ("size", pa.int64()),
        ("count", pa.int64()),
        ("traceback", pa.large_list(frame)),
        ("meta", pa.map_(pa.string(), pa.string())),
        # format 1.1 snapshots with a peak; null without one
        ("peak_size", pa.int64()),
        ("peak_count", pa.int64()),
        ("snapshot_peak_size", pa.int64()),
        # schema 2: a sampled file (format 1.2 SMPL) holds estimates
        ("sample_interval", pa.int64()),
        ("weight", pa.float64()),
        ("block_size", pa.int64()),
    ], metadata={b"tmtrace.export.schema": SCHEMA_VERSION.encode()})


# Rows per table written (and per row group): bounds the memory of a
# per-trace export (25-frame tracebacks: 1.5 GB at 2^20 rows, 0.6 GB here).
CHUNK_ROWS = 1 << 18


def _packed(pa, typ, buf):
    """A pyarrow array over a packed native array, without a copy."""
    return pa.Array.from_buffers(typ, len(buf) * 8 // typ.bit_width,
                                 [None, pa.py_buffer(buf)])


def _ids(pa, buf):
    """Packed int32 string ids, -1 (unknown) as null."""
    arr = _packed(pa, pa.int32(), buf)
    return pa.compute.if_else(pa.compute.less(arr, 0), None, arr)


def _constant(pa, value, typ, n):
    """value n times: dictionary columns get n zero indices into a
    one-entry dictionary; others a one-item array taken n times."""
    zeros = _packed(pa, pa.int32(), bytes(4 * n))
    if pa.types.is_dictionary(typ):
        if value is None:
            return pa.nulls(n, typ)
        return pa.DictionaryArray.from_arrays(zeros, pa.array([value],
                                                              typ.value_type))
    return pa.array([value], typ).take(zeros)


def _frame_struct(pa, strings, func, file, line, frame_type):
    """Frames as a struct array from packed int32 string ids (-1: unknown)
    and lines (-1: unknown): function and file dictionary-encoded on the
    snapshot's strings, so nothing is copied per frame."""
    line = _packed(pa, pa.int32(), line)
    line = pa.compute.if_else(pa.compute.less(line, 0), None, line)
    return pa.StructArray.from_arrays(
        [pa.DictionaryArray.from_arrays(_ids(pa, func), strings),
         pa.DictionaryArray.from_arrays(_ids(pa, file), strings), line],
        fields=list(frame_type))


def _stack_column(pa, data, strings, frame_type, tb_ids):
    """The traceback column of rows whose traceback ids are the packed
    uint32 tb_ids (expanded per row in C)."""
    offsets, func, file, line = _tmtrace.export_stack_rows(data, tb_ids)
    return pa.LargeListArray.from_arrays(
        _packed(pa, pa.int64(), offsets),
        _frame_struct(pa, strings, func, file, line, frame_type))


def _one_frame_column(pa, data, strings, frame_type, frame_ids):
    """One-frame tracebacks (stats-only snapshots)."""
    _, ffile, fline, _, _, ffunc = _tmtrace.export_frames(data)
    frames = _frame_struct(pa, strings, ffunc, ffile, fline, frame_type)
    n = len(frame_ids) // 4
    offsets = pa.array(range(n + 1), pa.int64())
    return pa.LargeListArray.from_arrays(
        offsets, frames.take(_packed(pa, pa.uint32(), frame_ids)))


def _u32_bytes(column):
    """The packed uint32 values of a (chunked) array without nulls."""
    arr = column.combine_chunks()
    return arr.buffers()[1].to_pybytes()[4 * arr.offset:4 * (arr.offset + len(arr))]


def snapshot_tables(pa, data, path, rows):
    """The rows of one loaded snapshot (a _tmtrace.SnapshotData), as
    tables of at most CHUNK_ROWS rows: one row per site (traceback; line
    for a stats-only file) or one per trace."""
    sch = schema(pa)
    frame_type = sch.field("traceback").type.value_type
    strings = pa.array(_tmtrace.export_frames(data)[0], pa.string())
    meta = data.meta()
    peak = _tmtrace.export_peak(data)
    series = _tmtrace.export_series_id(data)
    ts = data.timestamp_ns
    const = {
        "snapshot_id": "%s-%d" % (series, ts),
        "series_id": series,
        "file": path,
        "pid": data.pid,
        "host": meta.get("host"),
        "timestamp": ts // 1000,
        "timestamp_ns": ts,
        "domain": DOMAIN,
        "meta": sorted(meta.items()),
        "snapshot_peak_size": peak[0] if peak else None,
        "peak_size": None,
        "peak_count": None,
        "sample_interval": _tmtrace.export_sample_interval(data),
        "weight": None,
        "block_size": None,
    }

    def table(cols, n):
        arrays = [cols[f.name] if f.name in cols
                  else _constant(pa, const[f.name], f.type, n) for f in sch]
        return pa.Table.from_arrays(arrays, schema=sch)

    if rows == "trace":
        cols = _tmtrace.export_traces(data)
        if cols is None:
            raise ExportError("'%s' has no traces: export it with --rows site"
                              % path, EXIT_USAGE)
        addr, size, tb = (memoryview(c) for c in cols)
        # what each block stands for (libtma's rule: its recorded size and
        # 1 in an exact file), so size and count sum to tmtool top's
        est_size, est_count, weight = (
            memoryview(c) for c in _tmtrace.export_trace_estimates(data))
        total = len(size) // 8
        for start in range(0, total, CHUNK_ROWS):
            end = min(total, start + CHUNK_ROWS)
            n = end - start
            rng = slice(8 * start, 8 * end)
            yield table({
                "address": _packed(pa, pa.int64(), addr[rng]),
                "size": _packed(pa, pa.uint64(), est_size[rng])
                .cast(pa.int64()),
                "count": _packed(pa, pa.uint64(), est_count[rng])
                .cast(pa.int64()),
                "traceback": _stack_column(pa, data, strings, frame_type,
                                           tb[4 * start:4 * end]),
                "weight": _packed(pa, pa.float64(), weight[rng]),
                "block_size": _packed(pa, pa.uint64(), size[rng])
                .cast(pa.int64()),
            }, n)
        return
    def u64(buf):
        return _packed(pa, pa.uint64(), buf).cast(pa.int64())

    if data.has_traces:
        ids, size, count = _tmtrace.export_sites(data)
        sites = pa.table({"tb": _packed(pa, pa.uint32(), ids),
                          "size": u64(size), "count": u64(count)})
        if peak:
            # a site's row carries its memory now and at the peak; sites
            # present at only one of the two get 0 at the other
            at_peak = pa.table({"tb": _packed(pa, pa.uint32(), peak[2]),
                                "peak_size": u64(peak[3]),
                                "peak_count": u64(peak[4])})
            sites = sites.join(at_peak, "tb", join_type="full outer")
            sites = sites.sort_by("tb")
        n = sites.num_rows
        cols = {
            "address": pa.nulls(n, pa.int64()),
            "traceback": _stack_column(pa, data, strings, frame_type,
                                       _u32_bytes(sites["tb"])),
        }
        for name in ("size", "count", "peak_size", "peak_count"):
            if name in sites.column_names:
                cols[name] = pa.compute.fill_null(
                    sites[name].combine_chunks(), 0)
        yield table(cols, n)
        return
    # Statistics only: a site is a line, its stack that one frame; the
    # peak's state (by traceback) follows as rows of its own, size 0.
    ids, size, count = _tmtrace.export_stats(data)
    n = len(ids) // 4
    yield table({
        "address": pa.nulls(n, pa.int64()),
        "size": u64(size),
        "count": u64(count),
        "traceback": _one_frame_column(pa, data, strings, frame_type, ids),
        "peak_size": _constant(pa, 0 if peak else None, pa.int64(), n),
        "peak_count": _constant(pa, 0 if peak else None, pa.int64(), n),
    }, n)
    if peak:
        n = len(peak[2]) // 4
        yield table({
            "address": pa.nulls(n, pa.int64()),
            "size": _constant(pa, 0, pa.int64(), n),
            "count": _constant(pa, 0, pa.int64(), n),
            "traceback": _stack_column(pa, data, strings, frame_type,
                                       peak[2]),
            "peak_size": u64(peak[3]),
            "peak_count": u64(peak[4]),
        }, n)


# ---- files ---------------------------------------------------------------

def _load(path, budget=0, verify=True):
    try:
        return _tmtrace.SnapshotData.load(path, True, budget, verify)
    except OSError as e:
        raise ExportError("cannot read '%s': %s" % (path, e.strerror or e),
                          EXIT_BADFILE)
    except (ValueError, MemoryError) as e:
        msg = str(e)
        code = EXIT_VERSION if "version" in msg and "newer" in msg \
            else EXIT_BADFILE
        if "budget" in msg:
            msg += "; raise the budget with --read-budget SIZE"
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
            # statistics for the flat columns (readers skip row groups by
            # pid, time, size); none for the traceback's frames, whose
            # min/max would cost a third of the write and help no filter
            flat = [c.name for c in sch if c.name not in ("traceback", "meta")]
            with pq.ParquetWriter(f, sch, compression="zstd",
                                  write_statistics=flat) as w:
                for table in tables_of():
                    w.write_table(table, row_group_size=CHUNK_ROWS)
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
    p.add_argument("--read-budget", type=int, default=0, metavar="BYTES",
                   help="what reading one file may cost (0: libtms's "
                        "default; format/SPEC.md 5.1)")
    p.add_argument("--no-verify", dest="verify", action="store_false",
                   help="skip checksums of trace sections not read")
    for flags, include, tb in ((("-i", "--include"), True, False),
                               (("-x", "--exclude"), False, False),
                               (("-I", "--include-traceback"), True, True),
                               (("-X", "--exclude-traceback"), False, True)):
        p.add_argument(*flags, dest="filters", action="append", default=[],
                       metavar="PATTERN[:LINENO]",
                       type=lambda t, i=include, b=tb: _parse_filter(i, b, t))
    p.add_argument("files", nargs="+", metavar="FILE")
    return p


def export(files, output, rows="site", filters=(), quiet=True, budget=0,
           verify=True):
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
            data = _load(path, budget, verify)
            if filters:
                data.apply_filters(list(filters))
            for table in snapshot_tables(pa, data, path, rows):
                yield table

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
        export(args.files, args.output, args.rows, args.filters, args.quiet,
               args.read_budget, args.verify)
    except ExportError as e:
        sys.stderr.write("tmtool: %s\n" % e)
        return e.code
    return EXIT_OK
