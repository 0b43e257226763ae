"""Comparisons keep O(targets) snapshots per run in memory and every row on disk: the summary
from the kept snapshots equals the old scan of every snapshot, exports copy the records, the
records go when the comparison does, and a full disk costs no run."""

import errno
import gc
import math
import os
import tempfile
from dataclasses import fields

import numpy as np
import pytest

from odeprop.core import recording
from odeprop.core.cli import main
from odeprop.core.comparison import Comparison, RunSpec, Target
from odeprop.core.comparison_runner import ComparisonRunner, RunResult
from odeprop.core.config import DatasetConfig, NetworkConfig, SolverConfig, StopConfig
from odeprop.core.recording import SnapshotRecorder, read_recording
from odeprop.core.snapshot import Snapshot, snapshots_to_csv
from odeprop.core.summary import first_hit, summarize

TARGETS = (Target("loss", 0.2), Target("accuracy", 0.9), Target("loss", 1e-9))  # last: never
ONE = Comparison(
    name="one", dataset=DatasetConfig(n_samples=40), network=NetworkConfig(hidden=(3,)),
    stop=StopConfig(t_end=1e9, max_steps=3000), targets=TARGETS,
    runs=(RunSpec("GD", SolverConfig(method="gd", learning_rate=0.05)),))


def fake(start: int, n: int) -> list[Snapshot]:
    """Snapshots whose loss and accuracy wander (not monotone), so the *first* hit matters."""
    values = dict.fromkeys((f.name for f in fields(Snapshot)), None)
    values.update(h=0.5, wall=0.0, n_hvp=0, n_hess=0, probe_hvp=0, probe_hess=0,
                  status="running", message="a, \"quoted\" message")
    return [Snapshot(**{**values, "step": i, "t": 0.5 * i, "solver_wall": 1e-3 * i,
                        "n_grad": 2 * i, "loss_train": 50 / (1 + i) * (1 + 0.5 * math.sin(i)),
                        "accuracy_train": 0.5 + 0.45 * math.sin(i / 300) ** 2})
            for i in range(start, start + n)]


def old_row(comparison: Comparison, snapshots: list[Snapshot]) -> dict:
    """The table's target and last-snapshot cells the old way: a scan of every snapshot."""
    row = {}
    for j, target in enumerate(comparison.targets):
        hit = first_hit(snapshots, target)
        row[f"t{j}_wall"] = hit.wall if hit else None
        row[f"t{j}_grads"] = hit.grads if hit else None
    last = snapshots[-1]
    row.update(steps=last.step, grads=last.n_grad, wall=last.solver_wall,
               loss_train=last.loss_train, accuracy_train=last.accuracy_train)
    return row


def batches(total: int, sizes=(1, 7, 50, 3, 200)):
    start, k = 0, 0
    while start < total:
        n = min(sizes[k % len(sizes)], total - start)
        yield fake(start, n)
        start, k = start + n, k + 1


def snapshot_objects() -> int:
    gc.collect()
    return sum(isinstance(o, Snapshot) for o in gc.get_objects())


def test_kept_snapshots_give_the_table_the_full_scan_gave(tmp_path):
    result = RunResult(0, "GD", TARGETS)
    result.recorder = SnapshotRecorder(tmp_path, "r", ONE.to_toml(), "GD")
    everything = []
    for batch in batches(2000):
        assert result.add(batch) is None
        everything += batch
    hits = [next((s for s in everything if t.reached(s)), None) for t in TARGETS]
    assert hits[0] is not None and hits[1] is not None and hits[2] is None
    assert 100 < hits[0].step < 300 < hits[1].step < 1000  # mid-run, inside batches
    assert result.hits == hits and result.last == everything[-1] and result.count == 2000
    assert result.kept == sorted({s.step: s for s in [*hits[:2], everything[-1]]}.values(),
                                 key=lambda s: s.step)
    row = summarize(ONE, [result]).rows[0]
    expected = old_row(ONE, everything)
    assert {k: row[k] for k in expected} == expected
    assert row["t0_grads"] == 2 * hits[0].step and row["t2_wall"] is None
    result.discard_record()


def test_a_run_of_thousands_of_steps_keeps_o_targets_snapshots(tmp_path):
    result = RunResult(0, "GD", TARGETS)
    result.recorder = SnapshotRecorder(tmp_path, "r", ONE.to_toml(), "GD")
    before = snapshot_objects()
    for batch in batches(20_000):
        result.add(batch)
    del batch
    assert result.count == 20_000 and result.recorder.count == 20_000
    assert snapshot_objects() - before == len(result.kept) <= len(TARGETS) + 1
    result.discard_record()


def test_a_real_comparison_keeps_few_snapshots_and_exports_every_row(tmp_path):
    before = snapshot_objects()
    runner = ComparisonRunner(ONE, max_parallel=1, niceness=0, record_dir=tmp_path / "rec")
    runner.run_all()
    (result,) = runner.results
    assert result.status == "stopped" and result.count == 3001  # steps 0 … 3000
    # in memory: the kept snapshots, and the report's final one
    assert snapshot_objects() - before <= len(TARGETS) + 2
    every = read_recording(result.recorder.path)
    assert [s.step for s in every] == list(range(3001))
    assert result.last == every[-1] == result.report.final
    assert result.hits[0] == first_hit_snapshot(every, TARGETS[0])
    assert result.export_csv(tmp_path / "run.csv") == 3001
    assert (tmp_path / "run.csv").read_text(encoding="utf-8") == snapshots_to_csv(every)
    runner.discard_records()
    assert list((tmp_path / "rec").iterdir()) == []  # the record and its description


def first_hit_snapshot(snapshots, target):
    return next((s for s in snapshots if target.reached(s)), None)


def test_export_equals_snapshots_to_csv_of_every_snapshot(tmp_path):
    result = RunResult(0, "GD", TARGETS)
    result.recorder = SnapshotRecorder(tmp_path, "r", ONE.to_toml(), "GD")
    everything = []
    for batch in batches(500):
        result.add(batch)
        everything += batch
    assert result.export_csv(tmp_path / "out.csv") == 500
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == snapshots_to_csv(everything)
    result.discard_record()
    assert not result.recorder and sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    result.add(fake(500, 3))  # a batch after the discard is counted, nothing recreated
    assert result.count == 503 and sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_full_disk_keeps_the_run_the_table_and_a_whole_export(tmp_path, monkeypatch):
    result = RunResult(0, "GD", TARGETS)
    result.recorder = SnapshotRecorder(tmp_path, "r", ONE.to_toml(), "GD")
    real_write = os.write
    full = {"on": False}

    def write(fd, data):
        if full["on"] and fd == result.recorder._file.fileno():
            real_write(fd, bytes(data[: len(data) // 3]))  # a torn row, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(recording.os, "write", write)
    everything, messages = [], []
    for i, batch in enumerate(batches(1500)):
        full["on"] = i >= 4
        messages.append(result.add(batch))
        everything += batch
    failed = [m for m in messages if m]
    assert len(failed) == 1 and "No space left on device" in failed[0]
    assert failed[0].startswith("recording run 1 (GD) to disk stopped at step 61 ")
    assert result.record_error == failed[0] and result.recorder.count == 61
    assert result.count == 1500 and result.last == everything[-1]
    row = summarize(ONE, [result]).rows[0]
    expected = old_row(ONE, everything)
    assert {k: row[k] for k in expected} == expected
    monkeypatch.undo()
    result.export_csv(tmp_path / "out.csv")  # the record's rows, then the ones kept in memory
    assert (tmp_path / "out.csv").read_text(encoding="utf-8") == snapshots_to_csv(everything)
    result.discard_record()


def test_a_record_the_disk_refuses_is_reported_by_the_runner(tmp_path, monkeypatch):
    def append(self, snapshots):  # the disk is full from the first batch on
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(SnapshotRecorder, "append", append)
    events = []
    runner = ComparisonRunner(_short(ONE, 300), max_parallel=1, niceness=0,
                              record_dir=tmp_path)
    runner.run_all(events.append)
    (result,) = runner.results
    failures = [e for e in events if e.kind == "record_failed"]
    assert len(failures) == 1 and "No space left on device" in failures[0].payload
    assert failures[0].payload.startswith("recording run 1 (GD) to disk stopped at step 0 ")
    assert result.status == "stopped" and result.count == 301 == result.last.step + 1
    monkeypatch.undo()
    result.export_csv(tmp_path / "out.csv")
    rows = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + 301 and rows[-1].startswith("300,")
    runner.discard_records()


def _short(comparison: Comparison, steps: int) -> Comparison:
    from dataclasses import replace

    return replace(comparison, stop=replace(comparison.stop, max_steps=steps))


# -- the command line ------------------------------------------------------------------------
@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """The system's temporary folder, and the lab's recovery folder, watched."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    monkeypatch.setenv("ODEPROP_RECOVERY_DIR", str(tmp_path / "recovery"))
    return temp


def test_compare_out_copies_each_record_and_leaves_nothing_else(tmp_path, private_tmp, capsys):
    path = tmp_path / "c.toml"
    _short(ONE, 400).save(path)
    assert main(["compare", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    text = (tmp_path / "out" / "run-1-gd.csv").read_text(encoding="utf-8")
    every = read_recording(tmp_path / "out" / "run-1-gd.csv")
    assert [s.step for s in every] == list(range(401))
    assert text == snapshots_to_csv(every)  # the snapshots_to_csv text, byte for byte
    assert list(private_tmp.iterdir()) == [] and not (tmp_path / "recovery").exists()
    assert main(["compare", str(path), "--quiet"]) == 0  # without --out: nothing on disk
    assert list(private_tmp.iterdir()) == [] and not (tmp_path / "recovery").exists()
    capsys.readouterr()


def test_compare_out_with_a_full_disk_reports_and_still_writes_whole_csvs(tmp_path, private_tmp,
                                                                          capsys, monkeypatch):
    def refuse(self, snapshots):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(SnapshotRecorder, "append", refuse)
    path = tmp_path / "c.toml"
    _short(ONE, 200).save(path)
    assert main(["compare", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err.startswith("odeprop: recording run 1 (GD) to disk stopped at step 0 ")
    assert "| GD | gd |" in captured.out  # the run went on and is summarised
    every = read_recording(tmp_path / "out" / "run-1-gd.csv")
    assert [s.step for s in every] == list(range(201))
    assert list(private_tmp.iterdir()) == []


def test_summaries_refuse_results_tracking_other_targets():
    result = RunResult(0, "GD", TARGETS[:1])
    with pytest.raises(ValueError, match="track 1 targets, the comparison has 3"):
        summarize(ONE, [result])
    assert np.isnan(summarize(ONE, [RunResult(0, "GD", TARGETS)]).distances[0, 0])
