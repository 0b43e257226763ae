"""The on-disk record of a run: complete, readable back, and what a crash leaves is recoverable."""

import gc
from pathlib import Path

import pytest

from odeprop.core.config import Experiment
from odeprop.core.recording import (
    SnapshotRecorder,
    forget,
    read_recording,
    recovery_dir,
    unfinished_recordings,
)
from odeprop.core.run import Run
from odeprop.core.snapshot import Snapshot


@pytest.fixture
def snapshots():
    exp = Experiment().with_changes(dataset={"n_samples": 60}, network={"hidden": (4,)},
                                    solver={"method": "BDF"}, stop={"max_steps": 25},
                                    probe={"stiffness_every": 5, "stiffness_budget": 0})
    snaps = []
    Run(exp).run_to_end(snaps.append)
    return exp, snaps


def test_recording_reads_back_every_snapshot_exactly(tmp_path, snapshots):
    exp, snaps = snapshots
    rec = SnapshotRecorder(tmp_path, "run1", exp.to_toml(), label="BDF")
    rec.append(snaps[:10])
    rec.append(snaps[10:])
    rec.close()
    assert read_recording(rec.path) == snaps  # floats round-trip exactly (repr), None as empty
    assert unfinished_recordings(tmp_path) == []


def test_a_crash_leaves_an_unfinished_record_minus_a_torn_line(tmp_path, snapshots):
    exp, snaps = snapshots
    rec = SnapshotRecorder(tmp_path, "run2", exp.to_toml())
    rec.append(snaps)
    with open(rec.path, "a", encoding="utf-8") as fh:
        fh.write("26,1.5,0.3")  # the process died mid-line
    assert unfinished_recordings(tmp_path) == []  # in use by a live recorder: not offered
    del rec  # (no close: the window crashed)
    gc.collect()
    [(path, meta)] = unfinished_recordings(tmp_path)
    assert path.name == "run2.csv" and Experiment.from_toml(meta["experiment"]) == exp
    assert read_recording(path) == snaps
    forget(path)
    assert unfinished_recordings(tmp_path) == [] and not path.exists()


def test_not_a_record_is_refused(tmp_path):
    bad = tmp_path / "x.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not an odeprop snapshot record"):
        read_recording(bad)


def test_recovery_dir_honours_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ODEPROP_RECOVERY_DIR", str(tmp_path / "r"))
    assert recovery_dir() == tmp_path / "r"
    monkeypatch.delenv("ODEPROP_RECOVERY_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert recovery_dir() == tmp_path / "data" / "odeprop" / "recovery"


# -- faults: a full disk, an unwritable folder, a process killed mid-run ------------------------
def test_a_full_disk_mid_batch_leaves_whole_rows_and_says_why(tmp_path, snapshots, monkeypatch):
    import errno
    import os

    from odeprop.core import recording

    exp, snaps = snapshots
    rec = SnapshotRecorder(tmp_path, "full", exp.to_toml())
    rec.append(snaps[:10])
    real_write = os.write

    def half_then_full(fd, data):  # the disk fills halfway through the batch
        real_write(fd, bytes(data[: len(data) // 2]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(recording.os, "write", half_then_full)
    with pytest.raises(OSError, match="No space left"):
        rec.append(snaps[10:])
    monkeypatch.undo()
    assert rec.error == "No space left on device" and rec.count == 10
    assert read_recording(rec.path) == snaps[:10]  # the torn half-batch was cut off
    assert rec.path.stat().st_size == rec.size
    with pytest.raises(OSError, match="recording stopped earlier: No space left"):
        rec.append(snaps[10:])
    rec.close()


def test_copy_to_is_atomic_and_appends_a_tail(tmp_path, snapshots, monkeypatch):
    import errno
    import os

    from odeprop.core import io as core_io
    from odeprop.core.recording import rows_csv
    from odeprop.core.snapshot import snapshots_to_csv

    exp, snaps = snapshots
    rec = SnapshotRecorder(tmp_path / "rec", "copy", exp.to_toml())
    rec.append(snaps[:20])
    out = tmp_path / "out.csv"
    rec.copy_to(out, tail=rows_csv(snaps[20:]))
    assert out.read_text() == snapshots_to_csv(snaps)  # the same text the CLI writes
    out.write_text("the user's older export\n")

    def full(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(core_io.os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        rec.copy_to(out)
    monkeypatch.undo()
    assert out.read_text() == "the user's older export\n"  # untouched, not half-replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "rec"]  # no temp file
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # running as root: a read-only folder is writable
            locked = Path("/sys") if os.path.isdir("/sys") else pytest.skip("no unwritable dir")
        with pytest.raises(PermissionError):
            rec.copy_to(locked / "run.csv")
        assert not (locked / "run.csv").exists()
    finally:
        (tmp_path / "locked").chmod(0o700)
    rec.discard()
    assert list((tmp_path / "rec").iterdir()) == []


def test_write_text_atomic_keeps_the_old_file_when_the_disk_is_full(tmp_path, monkeypatch):
    import errno

    from odeprop.core import io as core_io

    path = tmp_path / "exp.toml"
    core_io.write_text_atomic(path, "old = 1\n")

    def full(fd, *_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(core_io.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        core_io.write_text_atomic(path, "new = 2\n" * 1000)
    monkeypatch.undo()
    assert path.read_text() == "old = 1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["exp.toml"]


CRASHING_RECORDER = """
import os, signal, sys
from odeprop.core.config import Experiment
from odeprop.core.recording import SnapshotRecorder
from odeprop.core.run import Run
from odeprop.core.snapshot import Snapshot
exp = Experiment().with_changes(dataset={"n_samples": 60}, network={"hidden": (4,)},
                                solver={"method": "RK45"}, stop={"max_steps": 40})
rec = SnapshotRecorder(sys.argv[1], "crashed", exp.to_toml(), label="RK45")
run = Run(exp)
snaps = [run.start()]
while not run.done:
    snaps.append(run.step())
    if len(snaps) % 7 == 0:
        rec.append(snaps[-7:])
print(rec.count, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # no close, no flush of anything: the power cut
"""


def test_a_process_killed_mid_run_leaves_a_record_to_reopen(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", CRASHING_RECORDER, str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == -9, done.stderr
    written = int(done.stdout)
    [(path, meta)] = unfinished_recordings(tmp_path)
    assert meta["label"] == "RK45" and not meta["finished"]
    snaps = read_recording(path)
    assert len(snaps) == written and [s.step for s in snaps] == list(range(written))


def test_records_of_a_running_process_are_not_offered(tmp_path):
    import json
    import os

    for name, pid in (("other", os.getppid()), ("dead", 2**22 + 12345)):
        (tmp_path / f"{name}.csv").write_text(",".join(Snapshot.field_names()) + "\n")
        (tmp_path / f"{name}.meta.json").write_text(json.dumps(
            {"label": name, "started": 1.0, "finished": False, "experiment": "", "pid": pid}))
    (tmp_path / "junk.meta.json").write_text("{not json")
    assert [p.name for p, _ in unfinished_recordings(tmp_path)] == ["dead.csv"]


def test_a_long_record_streams_back_without_loading_it_whole(tmp_path, snapshots):
    from odeprop.core.recording import iter_recording

    exp, snaps = snapshots
    rec = SnapshotRecorder(tmp_path, "long", exp.to_toml())
    for _ in range(40):
        rec.append(snaps)
    rec.close()
    stream = iter_recording(rec.path)
    assert next(stream) == snaps[0]
    assert sum(1 for _ in stream) == 40 * len(snaps) - 1


def test_reading_in_chunks_stops_at_a_damaged_row_and_knows_the_sound_size(tmp_path,
                                                                            snapshots):
    from odeprop.core.recording import RecordReader

    exp, snaps = snapshots
    rec = SnapshotRecorder(tmp_path, "chunks", exp.to_toml())
    rec.append(snaps)
    sound = rec.size
    rec.close()
    with open(rec.path, "a", encoding="utf-8") as fh:
        width = len(Snapshot.field_names())  # a damaged row (one cell too many), then a torn one
        fh.write("26,not-a-time," + ",".join([""] * (width - 1)) + "\n27,1.0")
    for chunk in (1, 7, 26, 1000):
        reader = RecordReader(rec.path, chunk=chunk)
        assert [s for part in reader for s in part] == snaps, chunk
        assert (reader.rows, reader.size) == (len(snaps), sound)
    for every in (2, 3, 5, 25, 26, 100):  # a thinned read: every k-th row, and the last
        reader = RecordReader(rec.path, chunk=4, every=every)
        thinned = snaps[::every] + ([snaps[-1]] if (len(snaps) - 1) % every else [])
        assert [s for part in reader for s in part] == thinned, every
        assert (reader.rows, reader.size) == (len(snaps), sound)


def test_an_adopted_record_is_owned_settled_and_exported_clean(tmp_path, snapshots):
    from odeprop.core.recording import RecordReader, read_meta
    from odeprop.core.snapshot import snapshots_to_csv

    exp, snaps = snapshots
    rec = SnapshotRecorder(tmp_path, "crashed", exp.to_toml(), label="BDF")
    rec.append(snaps)
    with open(rec.path, "a", encoding="utf-8") as fh:
        fh.write("26,1.5,0.3")  # torn by the crash
    del rec
    gc.collect()
    [(path, _)] = unfinished_recordings(tmp_path)
    adopted = SnapshotRecorder.adopt(path)
    assert unfinished_recordings(tmp_path) == []  # this process owns it now
    reader = RecordReader(path)
    assert sum(len(part) for part in reader) == len(snaps)
    adopted.settle(reader.size, reader.rows)
    out = tmp_path / "out.csv"
    adopted.copy_to(out)
    assert out.read_text() == snapshots_to_csv(snaps)
    assert path.read_text() == snapshots_to_csv(snaps)  # the torn tail was cut off
    adopted.append(snaps[:2])  # and it records on after its sound part
    assert read_recording(path) == snaps + snaps[:2]
    adopted.close(finished=True)
    assert read_meta(path)["finished"] and read_meta(path)["label"] == "BDF"
