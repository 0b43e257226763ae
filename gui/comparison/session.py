"""The Qt side of a comparison: a core :class:`ComparisonRunner` and one receiving thread.

The runner lives in the GUI process and starts one worker process per run, as many at once as
the machine has cores (DESIGN.md). Only the receiving thread touches it while it runs: the thread
starts it, calls ``runner.poll(0.05)`` in a loop (which also starts queued runs as others end),
carries out Stop between polls, and emits one Qt signal per batch of events with every run's
status. The window keeps its own copy of what arrived, so nothing is shared across threads.
The runner records every run's batches on disk as they arrive (one
:class:`~odeprop.core.recording.SnapshotRecorder` per run, in the recovery folder) and keeps only
what the summary needs in memory; exports copy the records (:meth:`export_run`). Should the
window crash, the next lab window offers each run to reopen.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from odeprop.core.comparison import Comparison
from odeprop.core.comparison_runner import ComparisonRunner, RunEvent
from odeprop.core.recording import SnapshotRecorder, recovery_dir
from odeprop.core.run import Problem
from odeprop.core.worker import STOP_GRACE_SECONDS

POLL_SECONDS = 0.05


class ComparisonSession(QObject):
    """One start of a comparison: worker processes, a receiving thread, signals."""

    #: [RunEvent, ...] received in one poll, and (status, message) of every run after it
    events = Signal(object, object)
    ended = Signal()  # every run is done (finished, failed, stopped or died)

    def __init__(self, comparison: Comparison, max_parallel: int | None = None, parent=None,
                 problem: Problem | None = None):
        """``problem``: the data, network and θ0 when already built. Raises (before any worker
        starts) ``ValueError`` for data that cannot be loaded and
        :class:`~odeprop.core.comparison_runner.RunsRefused` for runs the network is too big for."""
        super().__init__(parent)
        self.comparison = comparison
        self.runner = ComparisonRunner(comparison, max_parallel=max_parallel,
                                       record_dir=recovery_dir(), problem=problem)
        self._disposed = False
        self._stop = threading.Event()
        self._quit = threading.Event()
        self._thread = threading.Thread(target=self._receive_loop,
                                        name="odeprop-comparison-receiver", daemon=True)
        self._thread.start()

    @property
    def max_parallel(self) -> int:
        return self.runner.max_parallel

    def stop(self) -> None:
        """Ask every run to stop (they still report what they have); queued runs never start."""
        self._stop.set()

    def shutdown(self, timeout: float = 0.5) -> None:
        """End every worker now (window closing); what was received stays with the window."""
        self._quit.set()
        self._thread.join(timeout)
        self.runner.terminate()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def recorders(self) -> dict[int, SnapshotRecorder]:
        """Each started run's record on disk, by run index."""
        with self.runner.lock:
            return {r.index: r.recorder for r in self.runner.results if r.recorder is not None}

    @property
    def record_errors(self) -> dict[int, str]:
        """Runs whose record the disk refused (the rest of each is kept in memory): why."""
        with self.runner.lock:
            return {r.index: r.record_error for r in self.runner.results if r.record_error}

    def export_run(self, index: int, path: Path) -> int:
        """Every row run ``index`` sent, as CSV in ``path`` (copied from its record,
        atomically: ``OSError`` leaves no partial file); the number of rows."""
        with self.runner.lock:
            if self._disposed:
                raise OSError("the comparison's records were already discarded")
            return self.runner.results[index].export_csv(path)

    def dispose(self) -> None:
        """The user is done with these runs (a new start, the window closed): delete their
        records. Call after :meth:`shutdown`."""
        with self.runner.lock:
            self._disposed = True
            self.runner.discard_records()

    def mark_exported(self) -> None:
        """Every run was exported: the records are no longer offered after a crash."""
        with self.runner.lock:
            if self._disposed or self.running:
                return
            self.runner.close_records(finished=True)

    def _close_records(self) -> None:
        with self.runner.lock:
            if not self._disposed:
                self.runner.close_records(finished=False)

    # -- the receiving thread ----------------------------------------------------------------
    def _receive_loop(self) -> None:
        runner = self.runner
        last: list | None = None
        stop_at = None
        try:
            runner.start()
            while not self._quit.is_set():
                if self._stop.is_set() and stop_at is None:
                    runner.stop_all()
                    stop_at = time.monotonic()
                events = runner.poll(POLL_SECONDS)
                statuses = [(r.status, r.message) for r in runner.results]
                if events or statuses != last:
                    last = statuses
                    self.events.emit(events, statuses)
                if runner.done:
                    break
                if stop_at is not None and time.monotonic() - stop_at > STOP_GRACE_SECONDS:
                    self._end_lingering()
                    break
        except Exception as exc:  # a broken pipe or message: reported, never raised in a thread
            if self._quit.is_set():
                return
            undone = [r for r in runner.results if not r.done]
            runner.terminate()
            for result in undone:
                result.status, result.message = "failed", f"{type(exc).__name__}: {exc}"
            self.events.emit([], [(r.status, r.message) for r in runner.results])
        self._close_records()
        if not self._quit.is_set():
            self.ended.emit()

    def _end_lingering(self) -> None:
        """Stop was asked for a while ago: end the workers that have not reported."""
        runner = self.runner
        lingering = [r for r in runner.results if not r.done]
        runner.terminate(timeout=0.0)  # they had the grace period to answer: ended now
        for result in lingering:
            result.message = (f"stopped: its worker did not report within "
                              f"{STOP_GRACE_SECONDS:g} s and was ended")
        self.events.emit([RunEvent(r.index, "stopped", r.message) for r in lingering],
                         [(r.status, r.message) for r in runner.results])
