"""Runs a comparison's runs in worker processes, as many at once as the machine has cores.

The same code serves the command line (``odeprop compare``) and the lab: :meth:`poll` returns
what arrived since the last call and starts queued runs as others end.

Memory stays bounded however long the runs stream: a :class:`RunResult` keeps only the snapshots
the summary needs (the first to reach each target, decided as batches arrive, and the last) and a
count; given a ``record_dir``, every row goes to a :class:`~odeprop.core.recording.SnapshotRecorder`
per run, and exports copy that record. Should the disk refuse it, the rest of that run is kept in
memory (exports stay whole) and a ``record_failed`` event says why.

With seeds or timing repeats (:attr:`Comparison.samples_per_run` > 1) every run is made again
from each seed's θ0 (the same for every run) and again per timing repeat. The first seed's
first making is the run's :class:`RunResult` as without repeats (streamed, recorded, plotted);
the others run after all of those, interleaved run by run so a change in the machine's load
touches every run alike, and are kept as small :class:`RunResult`s in the run's ``samples``,
announced by one ``repeat`` event each when they end.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .comparison import Comparison
from .fidelity import FlowTracking
from .io import write_text_atomic
from .recording import SnapshotRecorder, new_record_name, rows_csv
from .run import Problem
from .snapshot import Snapshot, snapshots_to_csv
from .worker import RunProcess, terminate_all, wait_any

#: A worker silent this long past its run's ``stop.max_wall_time`` is ended by the watchdog
#: (stopped with SIGSTOP, or hung where the flow's deadline cannot reach): the run fails with a
#: message and the comparison goes on. Before its first message a worker may also spend
#: :data:`BUILD_ALLOWANCE` seconds building its data.
WATCHDOG_GRACE = 10.0
BUILD_ALLOWANCE = 60.0


@dataclass
class RunResult:
    """What is kept of one run of a comparison: the first snapshot to reach each of
    ``targets`` (None until one does), the last one, how many arrived, and (with a
    ``recorder``) every row on disk."""

    index: int
    label: str
    targets: tuple = ()  # the comparison's Target objects, in its order
    hits: list = field(default_factory=list)  # first snapshot reaching each target, or None
    last: Snapshot | None = None
    count: int = 0
    spectra: list = field(default_factory=list)  # Spectrum records, when probe.full_spectrum
    theta: np.ndarray | None = None
    report: object | None = None  # RunReport when the run ended normally
    status: str = "queued"  # queued, running, finished, failed, stopped, died
    message: str = ""
    seed: int | None = None  # the initial-weight seed of this making of the run
    repeat: int = 0  # which timing repeat (0: the first)
    samples: list = field(default_factory=list)  # the other seeds' and repeats' RunResults
    recorder: SnapshotRecorder | None = None  # every row on disk, when recorded
    record_error: str | None = None  # why the disk refused the record (the rest is in memory)
    _memory: list = field(default_factory=list, repr=False)  # rows the disk refused

    def __post_init__(self):
        if len(self.hits) != len(self.targets):
            self.hits = [None] * len(self.targets)

    @property
    def done(self) -> bool:
        return self.status not in ("queued", "running")

    @property
    def kept(self) -> list[Snapshot]:
        """The snapshots held in memory (each target's first hit, the last), in step order."""
        unique = {id(s): s for s in [*self.hits, self.last] if s is not None}
        return sorted(unique.values(), key=lambda s: s.step)

    def add(self, snapshots) -> str | None:
        """Take one batch in step order: targets first reached, the last, the count, and the
        rows on disk; the error message when the disk refused them just now."""
        if not snapshots:
            return None
        for j, target in enumerate(self.targets):
            if self.hits[j] is None:
                self.hits[j] = next((s for s in snapshots if target.reached(s)), None)
        self.last = snapshots[-1]
        self.count += len(snapshots)
        failed = None
        if self.recorder is not None and self.record_error is None:
            try:
                self.recorder.append(snapshots)
                return None
            except (OSError, ValueError) as exc:
                failed = self.record_error = (
                    f"recording run {self.index + 1} ({self.label}) to disk stopped at step "
                    f"{snapshots[0].step} ({exc}); the rest is kept in memory")
        if self.record_error is not None:
            self._memory.extend(snapshots)
        return failed

    def export_csv(self, path) -> int:
        """Every recorded row as CSV (the :func:`~odeprop.core.snapshot.snapshots_to_csv`
        text) in ``path``, copied from the record atomically: a failure (``OSError``) leaves
        no partial file. Returns the number of rows."""
        if self.recorder is None:
            write_text_atomic(Path(path), snapshots_to_csv(self._memory))
            return len(self._memory)
        self.recorder.copy_to(Path(path), tail=rows_csv(self._memory))
        return self.recorder.count + len(self._memory)

    def close_record(self, finished: bool = False) -> None:
        """Close the record's data (it stays on disk); the run's status goes in its description."""
        if self.recorder is not None:
            with suppress(OSError):
                self.recorder.close(finished=finished, status=self.status,
                                    message=self.message)

    def discard_record(self) -> None:
        """Delete the record (and any rows kept in memory): the user is done with the run."""
        self._memory = []
        recorder, self.recorder = self.recorder, None  # later batches are counted, not kept
        if recorder is not None:
            with suppress(OSError):
                recorder.discard()


class RunsRefused(ValueError):
    """Runs of a comparison that cannot run on its network (a dense Jacobian too big for it):
    raised before any worker starts. ``refused`` holds ``(index, message)`` per run; the
    exception's text is one line, the first run's message and the labels of the others."""

    def __init__(self, refused: list[tuple[int, str]], labels: list[str],
                 text: str | None = None):
        self.refused = refused
        text = text or refused[0][1]
        if len(refused) > 1:
            others = ", ".join(f"runs[{i}] ({labels[i]})" for i, _ in refused[1:])
            text += f"; the same for {others}"
        super().__init__(text)


def refuse_oversized(comparison: Comparison, problem: Problem) -> None:
    """:class:`RunsRefused` if a run of ``comparison`` cannot run on ``problem`` (the engine's
    size rule for dense matrices): the window checks it before the last comparison's results
    go, and every runner before its workers start."""
    refused = comparison.refusals(problem.net.n_params, problem.T_train.size)
    if refused:
        raise RunsRefused(refused, [spec.label for spec in comparison.runs])
    why = comparison.reference_refusal(problem.net.n_params)
    if why:  # no run refused: the reference flow is
        raise RunsRefused([], [spec.label for spec in comparison.runs], why)


@dataclass(frozen=True)
class RunEvent:
    """One message from one run: ``kind`` is batch, spectra, theta, done, error or died, or
    record_failed (the disk refused the run's record: why), or repeat (another seed's or timing
    repeat's making of the run ended: its :class:`RunResult`)."""

    index: int
    kind: str
    payload: object


class ComparisonRunner:
    """Drives the runs of one comparison; every run starts from the same θ0."""

    def __init__(self, comparison: Comparison, max_parallel: int | None = None,
                 niceness: int = 10, record_dir: Path | None = None,
                 record_prefix: str = "compare", problem: Problem | None = None):
        """``problem``: the comparison's data, network and θ0 when the caller built them
        already (else built here). :class:`RunsRefused` when a run cannot run on the network,
        before anything starts; ``ValueError`` when the data cannot be loaded."""
        self.comparison = comparison
        self.record_dir = Path(record_dir) if record_dir is not None else None
        self.record_prefix = record_prefix
        #: held while results change (receiving side) and while they are exported (any thread)
        self.lock = threading.RLock()
        self.max_parallel = max(1, max_parallel or os.cpu_count() or 1)
        self.niceness = niceness
        self.problem = problem or Problem.build(comparison.experiment(0))
        refuse_oversized(comparison, self.problem)
        self.seeds = comparison.seed_list()
        #: each seed's θ0, one array sent to every run's worker: bitwise identical across runs
        self.theta0s = {seed: self._theta0(seed) for seed in self.seeds}
        self.theta0 = self.theta0s[self.seeds[0]]
        targets = tuple(comparison.targets)
        self.results = [RunResult(i, spec.label, targets, seed=self.seeds[0])
                        for i, spec in enumerate(comparison.runs)]
        self._extra = {key: RunResult(key[0], self.results[key[0]].label, targets,
                                      seed=self.seeds[key[1]], repeat=key[2])
                       for key in self._extra_keys()}
        self._processes: dict = {}  # run index (its first making) or (index, seed#, repeat)
        self._ended: list[RunProcess] = []  # reported their end; reaped without blocking
        self._queue: list = [*range(len(comparison.runs)), *self._extra]
        self._stopping = False
        self._record_failures: list[RunEvent] = []  # not yet reported by poll()
        self.watchdog_grace = WATCHDOG_GRACE
        #: per running making (keyed as _processes): [started, first word, last word]
        self._clock: dict = {}

    def _theta0(self, seed: int):
        if seed == self.problem.net.config.init_seed:
            return self.problem.theta0
        return self.problem.net.init_params(seed=seed)

    def _extra_keys(self) -> list[tuple[int, int, int]]:
        """(run, seed position, timing repeat) of every making but each run's first, repeat by
        repeat and seed by seed, the runs interleaved."""
        runs, seeds = len(self.comparison.runs), len(self.seeds)
        return [(i, s, r) for r in range(self.comparison.repeats) for s in range(seeds)
                for i in range(runs) if (s, r) != (0, 0)]

    def _result(self, key) -> RunResult:
        return self.results[key] if isinstance(key, int) else self._extra[key]

    def _new_process(self, key) -> RunProcess:
        """The worker of one making of a run: the first seed's (and only it) measures its
        distance from the reference flow, when the comparison asks for one."""
        result, comparison = self._result(key), self.comparison
        experiment = comparison.experiment(result.index, seed=result.seed)
        tracking = None
        if comparison.reference is not None and isinstance(key, int):
            tracking = FlowTracking(comparison.reference, tuple(comparison.targets))
        return RunProcess(experiment, self.theta0s[result.seed], niceness=self.niceness,
                          tracking=tracking)

    @property
    def done(self) -> bool:
        return all(r.done for r in self.results) and all(r.done for r in self._extra.values())

    def start(self) -> None:
        self._fill()

    def _fill(self) -> None:
        while self._queue and len(self._processes) < self.max_parallel and not self._stopping:
            key = self._queue.pop(0)
            self._processes[key] = self._new_process(key)
            self._result(key).status = "running"
            now = time.monotonic()
            self._clock[key] = [now, None, now]
            if isinstance(key, int):
                self._start_record(key)

    def _start_record(self, index: int) -> None:
        """The run's record on disk (when recording); a refusal keeps its rows in memory."""
        if self.record_dir is None:
            return
        result, comparison = self.results[index], self.comparison
        try:
            result.recorder = SnapshotRecorder(
                self.record_dir, new_record_name(self.record_prefix),
                comparison.experiment(index, seed=result.seed).to_toml(),
                f"{comparison.name}: {result.label}",
                comparison=comparison.name, run=index + 1)
        except OSError as exc:
            result.record_error = (f"cannot record run {index + 1} ({result.label}) in "
                                   f"{self.record_dir} ({exc.strerror or exc}); it is kept in "
                                   "memory instead")
            self._record_failures.append(RunEvent(index, "record_failed", result.record_error))

    def poll(self, timeout: float | None = 0.1) -> list[RunEvent]:
        """Messages that arrived within ``timeout`` seconds; queued runs start as others end."""
        events = []
        by_process = {id(p): i for i, p in self._processes.items()}
        ready = wait_any(list(self._processes.values()), timeout)
        with self.lock:
            self._receive(ready, by_process, events)
            self._watch(events)
            self._reap()
            self._fill()
            events += self._record_failures
            self._record_failures = []
        return events

    def _receive(self, ready, by_process, events) -> None:
        for proc in ready:
            key = by_process[id(proc)]
            clock, now = self._clock[key], time.monotonic()
            clock[1], clock[2] = clock[1] or now, now
            if not isinstance(key, int):
                self._receive_extra(key, proc, events)
                continue
            index = key
            kind, *rest = proc.receive()
            result = self.results[index]
            if kind == "batch":
                failed = result.add(rest[0])
                payload = rest[0]
                if failed:
                    self._record_failures.append(RunEvent(index, "record_failed", failed))
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
            if kind in ("done", "error", "died"):
                result.close_record()
            events.append(RunEvent(index, kind, payload))
            if proc.finished:
                self._ended.append(self._processes.pop(index))

    def _watch(self, events) -> None:
        """End the workers silent for :attr:`watchdog_grace` seconds past their run's
        wall-time limit (counted from their first message, or from their start plus
        :data:`BUILD_ALLOWANCE`): each such run fails with a message; the others go on."""
        limit = self.comparison.stop.max_wall_time
        if limit is None:
            return
        now, grace = time.monotonic(), self.watchdog_grace
        for key, proc in list(self._processes.items()):
            started, first, last = self._clock[key]
            due = (first or started + BUILD_ALLOWANCE) + limit + grace
            if now < due or now - last < grace:
                continue
            proc.process.kill()  # SIGKILL ends a stopped process too
            proc.process.join(1.0)
            result = self._result(key)
            result.status = "failed"
            result.message = (f"no word from its worker for {now - last:.0f} s, past the "
                              f"wall-time limit of {limit:g} s (the process was stopped or "
                              "hung): ended by the watchdog")
            if isinstance(key, int):
                result.close_record()
                events.append(RunEvent(key, "error", result.message))
            else:  # another making: counted as a failed sample of its run
                self.results[key[0]].samples.append(result)
                events.append(RunEvent(key[0], "repeat", result))
            self._ended.append(self._processes.pop(key))

    def _receive_extra(self, key, proc: RunProcess, events) -> None:
        """Another making of a run: kept to its targets' hits and its end, announced once."""
        kind, *rest = proc.receive()
        result = self._extra[key]
        if kind == "batch":
            result.add(rest[0])
        elif kind == "done":
            result.report = rest[0]
            result.status, result.message = rest[0].status, rest[0].message
        elif kind in ("error", "died"):
            result.status, result.message = ("failed" if kind == "error" else "died"), rest[0]
        samples = self.results[key[0]].samples
        interrupted = self._stopping and result.status == "stopped"  # not a sample: cut short
        if (kind in ("done", "error", "died") and not interrupted
                and all(r is not result for r in samples)):
            samples.append(result)
            events.append(RunEvent(key[0], "repeat", result))
        if proc.finished:
            self._ended.append(self._processes.pop(key))

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
        for key in self._queue:
            self._result(key).status, self._result(key).message = "stopped", "not started"
        self._queue.clear()
        for proc in self._processes.values():
            proc.send("stop")

    def terminate(self, timeout: float = 0.5) -> None:
        """End every worker within about ``timeout`` seconds in all (window closing): all are
        asked to quit at once, then the stragglers are killed. What was received stays."""
        self._stopping = True
        procs = list(self._processes.items())
        terminate_all([p for _, p in procs] + self._ended, timeout)
        for key, _ in procs:
            result = self._result(key)
            if not result.done:
                result.status, result.message = "stopped", "ended with the window"
        self._processes.clear()
        self._ended.clear()
        for key in self._queue:
            self._result(key).status = "stopped"
        self._queue.clear()

    def close_records(self, finished: bool = False) -> None:
        """Close every run's record (kept on disk; ``finished``: no longer offered after a
        crash, e.g. every run was exported)."""
        with self.lock:
            for result in self.results:
                result.close_record(finished)

    def discard_records(self) -> None:
        """Delete every run's record: the comparison is discarded (call after the end)."""
        with self.lock:
            for result in self.results:
                result.discard_record()
