"""TakeSnapshotTask: file names, files, callback, failures on the schedule."""
import os
import re
import threading

import pytest

import tmtrace
from tmtrace import TakeSnapshotTask
from tasks_util import fake_size, needs_hook, tracing  # noqa: F401


def test_defaults():
    task = TakeSnapshotTask()
    assert task.filename_template == "tracemalloc-$counter.tms"
    assert task.traces is False and task.metrics is True
    assert task.callback is None
    assert task.get_delay() is None and task.get_memory_threshold() is None
    with pytest.raises(TypeError):
        task.filename_template = 3
    with pytest.raises(TypeError):
        task.callback = "not callable"


def test_filename_template_variables():
    task = TakeSnapshotTask("snap-$pid-$counter-$timestamp-$other.tms")
    name = task.create_filename()
    m = re.fullmatch(r"snap-(\d+)-(\d{4})-(\d{8}T\d{6}\.\d{6}Z)-\$other\.tms",
                     name)
    assert m, name
    assert int(m.group(1)) == os.getpid()
    assert m.group(2) == "0001"


def test_take_snapshot_writes_numbered_files(tracing, tmp_path):
    keep = [bytearray(50_000) for _ in range(4)]  # an allocation site to find
    keep_line = test_take_snapshot_writes_numbered_files.__code__.co_firstlineno + 1
    task = TakeSnapshotTask(str(tmp_path / "s-$counter.tms"))
    snap, name = task.take_snapshot()
    assert name == str(tmp_path / "s-0001.tms")
    _, name2 = task.take_snapshot()
    assert name2 == str(tmp_path / "s-0002.tms")
    assert sorted(os.listdir(tmp_path)) == ["s-0001.tms", "s-0002.tms"]  # no temp left
    loaded = tmtrace.Snapshot.load(name)
    assert loaded.pid == os.getpid()
    stats = loaded.stats[__file__]
    assert stats[keep_line][0] >= 4 * 50_000
    assert loaded.traces is None  # traces=False by default
    assert loaded.get_metric("tracemalloc.traced.size") is not None
    del keep


def test_traces_and_metrics_options_and_callback(tracing, tmp_path):
    def add(snapshot):
        snapshot.add_metric("my.metric", 42, "int")
    task = TakeSnapshotTask(str(tmp_path / "t.tms"), traces=True,
                            metrics=False, callback=add)
    snap, name = task.take_snapshot()
    loaded = tmtrace.Snapshot.load(name)
    assert loaded.traces  # a dict of traces
    assert set(loaded.metrics) == {"my.metric"}
    assert loaded.get_metric("my.metric") == 42


def test_direct_call_raises_on_missing_directory(tracing, tmp_path):
    task = TakeSnapshotTask(str(tmp_path / "missing" / "s-$counter.tms"))
    with pytest.raises(OSError):
        task.take_snapshot()
    assert task.counter == 1


def test_scheduled_write_failure_reported_once(fake_size, tmp_path, capfd,
                                               monkeypatch):
    # A real snapshot needs tracing; the trigger stays driven by hand.
    tmtrace.enable()
    try:
        task = TakeSnapshotTask(str(tmp_path / "missing" / "s-$counter.tms"))
        task.set_memory_threshold(10)
        task.schedule()
        for size in (20_000, 30_000, 40_000):
            fake_size(size)
        assert task.is_scheduled()       # the program goes on, so does the task
        err = capfd.readouterr().err
        assert err.count("cannot write snapshot") == 1, err
        os.mkdir(tmp_path / "missing")   # room again: the next one is written
        fake_size(50_000)
        assert "s-0001.tms" in os.listdir(tmp_path / "missing")
    finally:
        tmtrace.cancel_tasks()
        tmtrace.disable()


@needs_hook
def test_snapshots_while_threads_allocate(tracing, tmp_path):
    task = TakeSnapshotTask(str(tmp_path / "s-$counter.tms"))
    task.set_memory_threshold(200_000)
    task.schedule()
    stop = threading.Event()

    def worker():
        keep = []
        while not stop.is_set():
            keep.append(bytearray(20_000))
            if len(keep) > 30:
                keep.clear()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(100):
        [bytearray(30_000) for _ in range(10)]
        if len(os.listdir(tmp_path)) >= 3:
            break
        threading.Event().wait(0.01)
    stop.set()
    for t in threads:
        t.join()
    task.cancel()
    names = sorted(os.listdir(tmp_path))
    assert len(names) >= 3, names
    for name in names:
        snap = tmtrace.Snapshot.load(str(tmp_path / name))
        assert snap.stats  # a whole, readable file
