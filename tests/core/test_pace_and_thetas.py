"""Pacing changes when snapshots arrive, never what they are; θ kept for replay is the run's θ."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np

from odeprop.core.presets import load_preset
from odeprop.core.run import Run
from odeprop.core.theta_record import (
    BUDGET_BYTES,
    ThetaRecord,
    ThetaRecorder,
    keeps,
    per_octave,
)
from odeprop.core.worker import RunProcess

CLOCKS = ("wall", "solver_wall")


def _stream(pace):
    """Every snapshot and the final θ of the default experiment in a worker, and its duration."""
    proc = RunProcess(load_preset("default"), pace=pace)
    snaps, report, begin = [], None, time.perf_counter()
    try:
        while report is None:
            kind, *rest = proc.receive()
            if kind == "batch":
                snaps.extend(rest[0])
            elif kind == "done":
                report = rest[0]
            assert kind not in ("error", "died"), rest
    finally:
        proc.terminate()
    return snaps, report, time.perf_counter() - begin


def _without_clocks(snap):
    return {k: v for k, v in vars(snap).items() if k not in CLOCKS}


def test_a_paced_run_is_the_unpaced_run_spread_over_its_pace():
    fast, fast_report, _ = _stream(None)
    pace = 2.0
    paced, paced_report, took = _stream(pace)
    assert [_without_clocks(s) for s in paced] == [_without_clocks(s) for s in fast]
    assert np.array_equal(paced_report.theta, fast_report.theta)
    assert took >= 0.8 * pace
    # the sleeps are outside the run's clocks: its solver time is not the pace's
    assert paced[-1].solver_wall < 0.5 * pace


def test_theta_kept_at_the_cadence_is_the_runs_theta_exactly(tmp_path):
    run = Run(load_preset("default"))
    record = ThetaRecorder(tmp_path / "r.theta", run.net.n_params)
    seen = {}
    snap = run.start()
    while True:
        seen[snap.step] = (snap.t, run.theta)
        record.append(snap.step, snap.t, run.theta, force=run.done)
        if run.done:
            break
        snap = run.step()
    record.close()
    kept = ThetaRecord(tmp_path / "r.theta")
    assert kept.steps[-1] == snap.step  # the last step is always kept
    assert list(kept.steps) == sorted(set(kept.steps))
    for step, t, theta in zip(kept.steps, kept.t, kept.thetas, strict=True):
        assert t == seen[step][0]
        assert np.array_equal(theta, seen[step][1])
        assert np.array_equal(kept.at(t), seen[step][1])
    # between two kept θ: linear in t
    a, b = kept.t[-2], kept.t[-1]
    mid = kept.at((a + b) / 2)
    assert np.allclose(mid, (kept.thetas[-2] + kept.thetas[-1]) / 2)


def test_the_cadence_stays_bounded_however_long_the_run():
    m = per_octave(337)
    assert m == 64
    assert sum(keeps(s, m) for s in range(1_000_000)) < 1_000
    big = per_octave(101_770)
    kept = sum(keeps(s, big) for s in range(1_000_000))
    assert kept * 8 * (101_770 + 2) <= BUDGET_BYTES


def test_the_recorder_keeps_within_its_budget(tmp_path):
    n = 200_000  # 1.6 MB a θ
    record = ThetaRecorder(tmp_path / "big.theta", n)
    theta = np.zeros(n)
    for step in range(10_000):
        record.append(step, float(step), theta)
    record.append(10_000, 1e4, theta, force=True)
    record.close()
    assert (tmp_path / "big.theta").stat().st_size <= BUDGET_BYTES + record.row_bytes
    assert ThetaRecord(tmp_path / "big.theta").steps[-1] == 10_000


def test_cli_pace_must_be_positive():
    out = subprocess.run([sys.executable, "-m", "odeprop.core.cli", "run", "--preset",
                          "default", "--pace", "0"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip() == "odeprop: error: --pace: must be a positive number of " \
                                 "seconds, got 0"
