"""Runs a comparison's runs in worker processes, as many at once as the machine has cores.

The same code serves the command line (``odeprop compare``) and the lab: :meth:`poll` returns
what arrived since the last call and starts queued runs as others end.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .comparison import Comparison
from .run import Problem
from .worker import RunProcess, terminate_all, wait_any


@dataclass
class RunResult:
    """Everything received from one run of a comparison."""

    index: int
    label: str
    snapshots: list = field(default_factory=list)
    spectra: list = field(default_factory=list)  # Spectrum records, when probe.full_spectrum
    theta: np.ndarray | None = None
    report: object | None = None  # RunReport when the run ended normally
    status: str = "queued"  # queued, running, finished, failed, stopped, died
    message: str = ""

    @property
    def done(self) -> bool:
        return self.status not in ("queued", "running")


@dataclass(frozen=True)
class RunEvent:
    """One message from one run: ``kind`` is batch, spectra, theta, done, error or died."""

    index: int
    kind: str
    payload: object


class ComparisonRunner:
    """Drives the runs of one comparison; every run starts from the same θ0."""

    def __init__(self, comparison: Comparison, max_parallel: int | None = None,
                 niceness: int = 10):
        self.comparison = comparison
        self.max_parallel = max(1, max_parallel or os.cpu_count() or 1)
        self.niceness = niceness
        self.problem = Problem.build(comparison.experiment(0))
        self.theta0 = self.problem.theta0  # one array, sent to every worker: bitwise identical
        self.results = [RunResult(i, spec.label) for i, spec in enumerate(comparison.runs)]
        self._processes: dict[int, RunProcess] = {}
        self._ended: list[RunProcess] = []  # reported their end; reaped without blocking
        self._queue = list(range(len(comparison.runs)))
        self._stopping = False

    @property
    def done(self) -> bool:
        return all(r.done for r in self.results)

    def start(self) -> None:
        self._fill()

    def _fill(self) -> None:
        while self._queue and len(self._processes) < self.max_parallel and not self._stopping:
            index = self._queue.pop(0)
            self._processes[index] = RunProcess(self.comparison.experiment(index), self.theta0,
                                                niceness=self.niceness)
            self.results[index].status = "running"

    def poll(self, timeout: float | None = 0.1) -> list[RunEvent]:
        """Messages that arrived within ``timeout`` seconds; queued runs start as others end."""
        events = []
        by_process = {id(p): i for i, p in self._processes.items()}
        for proc in wait_any(list(self._processes.values()), timeout):
            index = by_process[id(proc)]
            kind, *rest = proc.receive()
            result = self.results[index]
            if kind == "batch":
                result.snapshots.extend(rest[0])
                payload = rest[0]
            elif kind == "spectra":
                result.spectra.extend(rest[0])
                payload = rest[0]
            elif kind == "theta":
                result.theta = rest[1]
                payload = (rest[0], rest[1])
            elif kind == "done":
                report = rest[0]
                result.report, result.theta = report, report.theta
                result.status, result.message = report.status, report.message
                payload = report
            else:  # error or died
                result.status, result.message = ("failed" if kind == "error" else "died"), rest[0]
                payload = rest[0]
            events.append(RunEvent(index, kind, payload))
            if proc.finished:
                self._ended.append(self._processes.pop(index))
        self._reap()
        self._fill()
        return events

    def _reap(self) -> None:
        """Join workers that have ended, without waiting for those still exiting."""
        still = []
        for proc in self._ended:
            proc.process.join(0)
            if proc.process.is_alive():
                still.append(proc)
            else:
                proc.close()
        self._ended = still

    def run_all(self, on_event=None) -> list[RunResult]:
        """Start everything and wait for the end; ``on_event`` sees each event."""
        self.start()
        while not self.done:
            for event in self.poll(0.2):
                if on_event:
                    on_event(event)
        return self.results

    def stop_all(self) -> None:
        """Ask running runs to stop (they still report); drop the queued ones."""
        self._stopping = True
        for index in self._queue:
            self.results[index].status, self.results[index].message = "stopped", "not started"
        self._queue.clear()
        for proc in self._processes.values():
            proc.send("stop")

    def terminate(self, timeout: float = 0.5) -> None:
        """End every worker within about ``timeout`` seconds in all (window closing): all are
        asked to quit at once, then the stragglers are killed. What was received stays."""
        self._stopping = True
        procs = list(self._processes.items())
        terminate_all([p for _, p in procs] + self._ended, timeout)
        for index, _ in procs:
            result = self.results[index]
            if not result.done:
                result.status, result.message = "stopped", "ended with the window"
        self._processes.clear()
        self._ended.clear()
        for index in self._queue:
            self.results[index].status = "stopped"
        self._queue.clear()
