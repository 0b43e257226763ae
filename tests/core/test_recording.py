"""The on-disk record of a run: complete, readable back, and what a crash leaves is recoverable."""

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
    # (no close: the window crashed)
    [(path, meta)] = unfinished_recordings(tmp_path)
    assert path == rec.path and Experiment.from_toml(meta["experiment"]) == exp
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
