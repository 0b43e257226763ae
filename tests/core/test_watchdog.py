"""A comparison whose worker is stopped (SIGSTOP) or hung ends anyway: the watchdog kills that
worker past its run's wall-time limit, the run fails with a message, the rest is written.

Each test has a safety net: should the watchdog not act, the stopped worker is killed after
60 s (the comparison then ends, and the test fails on what it reported)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading

import pytest

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
    seconds if nothing else ended it (so a missing watchdog fails the test, never hangs it).
    :meth:`close` kills and reaps every worker it saw, and no SIGSTOP is sent after it."""

    def __init__(self, monkeypatch):
        self.processes, self.fired, self.stepping = [], False, threading.Event()
        self.closed = threading.Event()
        self._lock = threading.Lock()  # no join (reaping) of ours while a signal goes out
        real_init, real_add = RunProcess.__init__, RunResult.add

        def first_batch(result, snapshots):
            if result.index == 0:
                self.stepping.set()
            return real_add(result, snapshots)

        def spy(process, *args, **kwargs):
            real_init(process, *args, **kwargs)
            self.processes.append(process)
            if len(self.processes) == 1:
                threading.Thread(target=self._stop, args=(process,), daemon=True).start()

        monkeypatch.setattr(RunProcess, "__init__", spy)
        monkeypatch.setattr(RunResult, "add", first_batch)
        self.net = threading.Timer(SAFETY, self._kill)
        self.net.daemon = True

    def _signal(self, process, signum) -> bool:
        """Send ``signum`` to a worker not yet reaped (a reaped one's pid may be another's)."""
        with self._lock:
            try:
                if process.process.exitcode is not None:
                    return False
                os.kill(process.process.pid, signum)
            except (ProcessLookupError, ValueError):  # gone, or its object closed and reaped
                return False
            return True

    def _stop(self, process) -> None:
        self.stepping.wait(SAFETY)  # it built its data and sent a batch: it is stepping
        if self.closed.is_set():
            return
        if self._signal(process, signal.SIGSTOP):
            self.net.start()

    def _kill(self) -> None:
        self.fired = self._signal(self.processes[0], signal.SIGKILL)

    def close(self) -> None:
        """Kill and reap every worker the test started (a stopped one too: SIGKILL ends it)."""
        self.closed.set()
        self.net.cancel()
        for process in self.processes:
            self._signal(process, signal.SIGKILL)
            with self._lock, contextlib.suppress(ValueError):  # closed: reaped already
                process.process.join(5.0)
        assert not any(process.alive for process in self.processes)


@pytest.fixture
def stopper(monkeypatch):
    """A :class:`StopFirstWorker` whose workers are killed and reaped after the test, even if it
    failed before the watchdog or the runner ended them."""
    spy = StopFirstWorker(monkeypatch)
    yield spy
    spy.close()


def test_a_stopped_worker_is_ended_by_the_watchdog_and_the_other_run_finishes(stopper):
    runner = ComparisonRunner(ENDLESS, max_parallel=2, niceness=0)
    runner.watchdog_grace = 1.0
    try:
        runner.run_all()
    finally:
        runner.terminate()
    assert not stopper.fired, "the safety net had to kill the worker"
    stopped, free = runner.results
    assert stopped.status == "failed"
    assert "past the wall-time limit of 1 s" in stopped.message
    assert stopped.message.endswith("ended by the watchdog")
    # its own limit ended it (not the watchdog); on a loaded machine the limit can pass during
    # a step, which the message then adds ("… during a step of gd, which was abandoned")
    assert free.status == "stopped" and free.message.startswith("reached the wall-time limit 1 s")
    assert stopped.count > 0  # what it sent before it was stopped is kept


def test_compare_with_a_stopped_worker_writes_the_table_and_files(monkeypatch, tmp_path,
                                                                   capsys, stopper):
    monkeypatch.setattr(runner_module, "WATCHDOG_GRACE", 1.0)
    path, out = tmp_path / "endless.toml", tmp_path / "out"
    ENDLESS.save(path)
    code = main(["compare", str(path), "--out", str(out), "--parallel", "2"])
    assert not stopper.fired, "the safety net had to kill the worker"
    assert code == 0
    captured = capsys.readouterr()
    assert "to be stopped: failed — no word from its worker" in captured.err
    assert "| to be stopped | gd |" in captured.out and "| free | gd |" in captured.out
    written = sorted(p.name for p in out.iterdir())
    assert written == ["comparison.toml", "run-1-to-be-stopped.csv", "run-2-free.csv",
                       "summary.csv", "summary.md"]
    assert len((out / "run-1-to-be-stopped.csv").read_text().splitlines()) > 2
