"""A comparison whose worker is stopped (SIGSTOP) or hung ends anyway: the watchdog kills that
worker past its run's wall-time limit, the run fails with a message, the rest is written.

Each test has a safety net: should the watchdog not act, the stopped worker is killed after
60 s (the comparison then ends, and the test fails on what it reported)."""

from __future__ import annotations

import os
import signal
import threading

from odeprop.core import comparison_runner as runner_module
from odeprop.core.cli import main
from odeprop.core.comparison import Comparison, RunSpec
from odeprop.core.comparison_runner import ComparisonRunner, RunResult
from odeprop.core.config import DatasetConfig, NetworkConfig, ProbeConfig, SolverConfig, StopConfig
from odeprop.core.worker import RunProcess

ENDLESS = Comparison(
    name="endless", dataset=DatasetConfig(n_samples=60), network=NetworkConfig(hidden=(4,)),
    stop=StopConfig(t_end=1e9, max_wall_time=1.0), probe=ProbeConfig(stiffness_every=0),
    runs=(RunSpec("to be stopped", SolverConfig(method="gd", learning_rate=0.01)),
          RunSpec("free", SolverConfig(method="gd", learning_rate=0.01))),
)
SAFETY = 60.0


class StopFirstWorker:
    """Sends SIGSTOP to the first worker once its first batch arrived; SIGKILLs it after ``SAFETY``
    seconds if nothing else ended it (so a missing watchdog fails the test, never hangs it)."""

    def __init__(self, monkeypatch):
        self.processes, self.fired, self.stepping = [], False, threading.Event()
        real_init, real_add = RunProcess.__init__, RunResult.add

        def first_batch(result, snapshots):
            if result.index == 0:
                self.stepping.set()
            return real_add(result, snapshots)

        def spy(process, *args, **kwargs):
            real_init(process, *args, **kwargs)
            self.processes.append(process)
            if len(self.processes) == 1:
                threading.Thread(target=self._stop, args=(process.process.pid,),
                                 daemon=True).start()

        monkeypatch.setattr(RunProcess, "__init__", spy)
        monkeypatch.setattr(RunResult, "add", first_batch)
        self.net = threading.Timer(SAFETY, self._kill)
        self.net.daemon = True

    def _stop(self, pid: int) -> None:
        self.stepping.wait(SAFETY)  # it built its data and sent a batch: it is stepping
        os.kill(pid, signal.SIGSTOP)
        self.net.start()

    def _kill(self) -> None:
        self.fired = True
        try:
            os.kill(self.processes[0].process.pid, signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass

    def close(self) -> None:
        self.net.cancel()
        try:
            os.kill(self.processes[0].process.pid, signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def test_a_stopped_worker_is_ended_by_the_watchdog_and_the_other_run_finishes(monkeypatch):
    stopper = StopFirstWorker(monkeypatch)
    runner = ComparisonRunner(ENDLESS, max_parallel=2, niceness=0)
    runner.watchdog_grace = 1.0
    try:
        runner.run_all()
    finally:
        stopper.close()
        runner.terminate()
    assert not stopper.fired, "the safety net had to kill the worker"
    stopped, free = runner.results
    assert stopped.status == "failed"
    assert "past the wall-time limit of 1 s" in stopped.message
    assert stopped.message.endswith("ended by the watchdog")
    assert free.status == "stopped" and free.message == "reached the wall-time limit 1 s"
    assert stopped.count > 0  # what it sent before it was stopped is kept


def test_compare_with_a_stopped_worker_writes_the_table_and_files(monkeypatch, tmp_path,
                                                                   capsys):
    monkeypatch.setattr(runner_module, "WATCHDOG_GRACE", 1.0)
    path, out = tmp_path / "endless.toml", tmp_path / "out"
    ENDLESS.save(path)
    stopper = StopFirstWorker(monkeypatch)
    try:
        code = main(["compare", str(path), "--out", str(out), "--parallel", "2"])
    finally:
        stopper.close()
    assert not stopper.fired, "the safety net had to kill the worker"
    assert code == 0
    captured = capsys.readouterr()
    assert "to be stopped: failed — no word from its worker" in captured.err
    assert "| to be stopped | gd |" in captured.out and "| free | gd |" in captured.out
    written = sorted(p.name for p in out.iterdir())
    assert written == ["comparison.toml", "run-1-to-be-stopped.csv", "run-2-free.csv",
                       "summary.csv", "summary.md"]
    assert len((out / "run-1-to-be-stopped.csv").read_text().splitlines()) > 2
