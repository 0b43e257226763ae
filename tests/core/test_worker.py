"""Worker processes and their pipe protocol (no Qt): batches, commands, errors, termination."""

import os
import signal
import time

import numpy as np
import pytest

from odeprop.core.config import Experiment
from odeprop.core.run import Problem
from odeprop.core.worker import RunProcess, terminate_all, wait_any

EXP = Experiment().with_changes(dataset={"n_samples": 80}, network={"hidden": (6,)},
                                solver={"method": "RK45"},
                                stop={"target_loss": 1e-3, "t_end": 1e5})


@pytest.fixture(autouse=True)
def reaped(monkeypatch):
    """Every worker a test starts is ended and reaped at teardown, whatever the test did to it
    and wherever it failed: SIGKILL ends a stopped (SIGSTOP) worker too, and the join reaps it."""
    started = []
    real_start = RunProcess._start

    def start(process, target, args):
        real_start(process, target, args)
        started.append(process)

    monkeypatch.setattr(RunProcess, "_start", start)
    yield started
    terminate_all(started, timeout=0.2)
    assert not any(p.alive for p in started)


def _drain(proc, until=("done", "error", "died"), timeout=30.0):
    messages, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wait_any([proc], 0.2):
            msg = proc.receive()
            messages.append(msg)
            if msg[0] in until:
                return messages
    raise AssertionError(f"no {until} within {timeout} s; got {[m[0] for m in messages]}")


def _snapshots(messages):
    return [s for kind, *rest in messages if kind == "batch" for s in rest[0]]


def test_worker_streams_every_step_in_batches_and_reports():
    proc = RunProcess(EXP, niceness=0)
    try:
        messages = _drain(proc)
    finally:
        proc.terminate()
    snaps = _snapshots(messages)
    kinds = [m[0] for m in messages]
    assert kinds[-1] == "done" and kinds.count("batch") < len(snaps)  # batched, not per step
    report = messages[-1][1]
    assert [s.step for s in snaps] == list(range(report.final.step + 1))
    assert report.status == "finished" and snaps[-1].loss_train <= 1e-3
    thetas = [m for m in messages if m[0] == "theta"]
    assert thetas[0][1] == 0 and thetas[-1][1] == report.final.step
    np.testing.assert_array_equal(thetas[-1][2], report.theta)
    np.testing.assert_array_equal(thetas[0][2], Problem.build(EXP).theta0)  # same seed, same θ0


def test_step_command_takes_exactly_one_step_then_stop_reports():
    proc = RunProcess(EXP, start_paused=True, niceness=0)
    try:
        first = _drain(proc, until=("batch",))
        assert [s.step for s in _snapshots(first)] == [0]
        proc.send("step")
        assert [s.step for s in _snapshots(_drain(proc, until=("batch",)))] == [1]
        proc.send("step")
        assert [s.step for s in _snapshots(_drain(proc, until=("batch",)))] == [2]
        proc.send("stop")
        rest = _drain(proc)
        assert rest[-1][1].status == "stopped" and rest[-1][1].final.step == 2
    finally:
        proc.terminate()
    assert not proc.alive


def test_bad_experiment_comes_back_as_an_error_message(tmp_path):
    exp = EXP.with_changes(dataset={"kind": "csv", "csv_path": str(tmp_path / "none.csv"),
                                    "target_column": "y"})
    proc = RunProcess(exp, niceness=0)
    try:
        messages = _drain(proc)
    finally:
        proc.terminate()
    assert messages[-1][0] == "error" and "none.csv" in messages[-1][1]


def test_terminate_mid_run_is_quick_and_a_killed_worker_is_reported():
    proc = RunProcess(EXP.with_changes(stop={"target_loss": None, "t_end": 1e12}), niceness=0)
    _drain(proc, until=("batch",))
    proc.process.kill()
    messages = _drain(proc, until=("died",))
    assert "ended unexpectedly" in messages[-1][1]
    proc2 = RunProcess(EXP.with_changes(stop={"target_loss": None, "t_end": 1e12}), niceness=0)
    _drain(proc2, until=("batch",))
    begin = time.monotonic()
    proc2.terminate()
    assert not proc2.alive and time.monotonic() - begin < 1.0


@pytest.mark.parametrize("command", ["pause", "go"])
def test_commands_to_a_finished_worker_do_not_raise(command):
    proc = RunProcess(EXP, niceness=0)
    _drain(proc)
    proc.terminate()
    assert proc.send(command) is False


def test_terminate_all_ends_many_workers_against_one_deadline():
    """Three workers that cannot answer (SIGSTOP) are killed once one shared 0.5 s deadline has
    passed: at least 0.5 s (each was given its chance to quit), well under the 1.5 s that a
    deadline per worker takes. The stopped workers are reaped by ``reaped`` whatever happens."""
    long = EXP.with_changes(stop={"target_loss": None, "t_end": 1e12})
    procs = [RunProcess(long, niceness=0) for _ in range(3)]
    for p in procs:
        _drain(p, until=("batch",))
    for p in procs:
        os.kill(p.process.pid, signal.SIGSTOP)
    begin = time.monotonic()
    terminate_all(procs, timeout=0.5)
    took = time.monotonic() - begin
    assert not any(p.alive for p in procs)
    assert 0.5 <= took < 1.5, took  # a deadline per worker takes 3 × 0.5 s at least


def test_a_synthetic_worker_streams_every_snapshot_and_obeys_stop():
    from odeprop.core.worker import SyntheticProcess

    proc = SyntheticProcess(n=5_000, batch=700)
    messages = _drain(proc)
    proc.terminate()
    snaps = _snapshots(messages)
    assert [s.step for s in snaps] == list(range(5_000))
    assert messages[-1][0] == "done" and messages[-1][1].status == "finished"
    assert snaps[-1].status == "finished" and snaps[0].status == "running"
    endless = SyntheticProcess(n=10**9, batch=100, interval=0.01)
    _drain(endless, until=("batch",))
    endless.send("stop")
    rest = _drain(endless)
    endless.terminate()
    assert rest[-1][1].status == "stopped" and _snapshots(rest)[-1].status == "stopped"


def test_a_worker_killed_by_a_signal_is_named_in_the_message():
    from odeprop.core.worker import SyntheticProcess

    proc = SyntheticProcess(n=10**9, batch=100, interval=0.01)
    _drain(proc, until=("batch",))
    os.kill(proc.process.pid, signal.SIGKILL)
    kind, message = _drain(proc, until=("died",))[-1]
    assert message == "the worker process ended unexpectedly (killed by SIGKILL, signal 9)"
    assert proc.send("pause") is False  # a broken pipe: refused quietly, never raised
    proc.terminate()
