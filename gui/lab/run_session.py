"""The Qt side of one run: a core worker process, a receiving thread, one signal per batch.

The worker lives in its own process (DESIGN.md); a plain background thread waits on its pipe with
:func:`odeprop.core.worker.wait_any` and emits one queued Qt signal per message. The same thread
appends every received batch to the run's record on disk (:class:`~odeprop.core.recording.
SnapshotRecorder` in :func:`~odeprop.core.recording.recovery_dir`): the window keeps only the
first and last snapshot and a count (its plots keep decimated columns), exports copy the record,
and a crash of the window loses at most what the last second did not hand to the disk. Should
the disk refuse (full, unwritable), the rest of the run is kept in memory instead and the window
says so: an export still holds every received snapshot.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from odeprop.core.config import Experiment
from odeprop.core.io import write_text_atomic
from odeprop.core.recording import (
    SnapshotRecorder,
    new_record_name,
    read_recording,
    recovery_dir,
    rows_csv,
)
from odeprop.core.snapshot import Snapshot, snapshots_to_csv, spectra_to_csv
from odeprop.core.theta_record import ThetaRecorder, theta_path
from odeprop.core.worker import STOP_GRACE_SECONDS, RunProcess, wait_any

#: The worker's grace after Stop (core.worker.STOP_GRACE_SECONDS), for Qt's timer.
STOP_GRACE_MS = round(STOP_GRACE_SECONDS * 1000)


class RecordedSession(QObject):
    """What the window holds of one run: its first and last snapshot, how many arrived, its
    spectra, and the full record on disk; exports are copied from the record."""

    batch = Signal(list)  # [Snapshot, ...] in step order
    theta = Signal(int, object)  # step, θ (numpy array)
    view_ready = Signal(int, object)  # step, what the data view draws at that θ (model_view)
    spectra_batch = Signal(list)  # [Spectrum, ...]: whole Hessian spectra, when measured
    ended = Signal(str, str)  # status (finished/failed/stopped/died), message
    record_failed = Signal(str)  # the disk refused the record: why (the rest stays in memory)

    def __init__(self, experiment: Experiment, label: str | None = None, parent=None,
                 recorder: SnapshotRecorder | None = None):
        super().__init__(parent)
        self.experiment = experiment
        self.count = 0
        self.first: Snapshot | None = None
        self.spectra: list = []  # in step order (measured only while the lens is open)
        self.status = "starting"
        self.message = ""
        self.report = None
        self.exported = False
        self.record_error: str | None = None
        self._last: Snapshot | None = None
        self._memory: list[Snapshot] = []  # what the disk refused, so that exports stay whole
        self._lock = threading.Lock()
        self._disposed = False
        self.recorder: SnapshotRecorder | None = recorder
        self.thetas: ThetaRecorder | None = None  # θ at a cadence, for replay (live runs)
        try:
            if recorder is None:
                self.recorder = SnapshotRecorder(recovery_dir(), new_record_name(),
                                                 experiment.to_toml(), label or experiment.name)
        except OSError as exc:
            self.record_error = (f"cannot record the run in {recovery_dir()} "
                                 f"({exc.strerror or exc}); it is kept in memory instead")

    # -- what arrived ----------------------------------------------------------------------
    @property
    def last(self) -> Snapshot | None:
        with self._lock:
            return self._last

    @property
    def has_ended(self) -> bool:
        return self.status not in ("starting", "running")

    def _record(self, snapshots: list, write: bool = True) -> str | None:
        """Count and record a batch (any thread); the error message when the disk refused it.
        ``write=False``: the batch is in the record already (a reopened one)."""
        if not snapshots:
            return None
        failed = None
        with self._lock:
            if self._disposed:
                return None
            if write and self.recorder is not None and self.record_error is None:
                try:
                    self.recorder.append(snapshots)
                except (OSError, ValueError) as exc:
                    failed = self.record_error = (
                        f"recording the run to disk stopped at step {snapshots[0].step} "
                        f"({exc}); the rest is kept in memory")
            if write and (self.recorder is None or self.record_error is not None):
                self._memory.extend(snapshots)
            if self.first is None:
                self.first = snapshots[0]
            self.count += len(snapshots)
            self._last = snapshots[-1]
        return failed

    def _end_record(self, status: str, message: str) -> None:
        """The run ended: close the record's data (still offered after a crash until exported
        or disposed of), and remember how it ended."""
        with self._lock:
            if self._disposed or self.recorder is None:
                return
            try:
                self.recorder.close(finished=False, status=status, message=message)
            except OSError:
                pass  # the data is synced or not; the description keeps its last state

    def read_snapshots(self) -> list[Snapshot]:
        """Every received snapshot, read back from the record (for tests and small runs)."""
        with self._lock:
            disk = (read_recording(self.recorder.path)
                    if self.recorder is not None and not self._disposed else [])
            return disk + list(self._memory)

    def export_csv(self, path) -> int:
        """Every received snapshot as CSV in ``path``, written to a temporary file and renamed:
        a failure (``OSError``) leaves no partial file. Returns the number of rows."""
        with self._lock:
            if self._disposed:
                raise OSError("the run's record was already discarded")
            if self.recorder is None:
                write_text_atomic(path, snapshots_to_csv(self._memory))
            else:
                self.recorder.copy_to(path, tail=rows_csv(self._memory))
            rows = self.count
            if self.has_ended and self.recorder is not None:
                try:  # safely exported: no longer offered after a crash
                    self.recorder.close(finished=True)
                except OSError:
                    pass
        self.exported = True
        return rows

    def spectra_csv(self) -> str:
        """Every received spectrum as CSV (one row per eigenvalue, with z = −h·λ)."""
        with self._lock:
            return spectra_to_csv(list(self.spectra))

    def dispose(self) -> None:
        """The user is done with the run (reset, a new run, the window closed): delete its
        record. Call after :meth:`shutdown`."""
        with self._lock:
            self._disposed = True
            self._memory = []
            if self.thetas is not None:
                self.thetas.discard()
            if self.recorder is not None:
                try:
                    self.recorder.discard()
                except OSError:
                    pass

    # -- commands (a recorded run has no worker: they do nothing) -------------------------
    def go(self) -> None:
        pass

    def pause(self) -> None:
        pass

    def step(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def shutdown(self, timeout: float = 0.5) -> None:
        pass

    @property
    def alive(self) -> bool:
        return False


class RecordedRun(RecordedSession):
    """A finished, view-only run reopened from a record (after a crash): it has no worker."""

    def dispose(self) -> None:
        """Its record is the only copy of a crashed window's run: deleted once exported,
        otherwise given back unfinished and offered again (only Discard deletes it)."""
        if self.exported:
            super().dispose()
            return
        with self._lock:
            self._disposed = True
            if self.recorder is not None:
                try:
                    self.recorder.release()
                except OSError:
                    pass  # left as it is: unfinished, and offered again

    def add(self, snapshots: list) -> None:
        """Count snapshots read back from its record (which holds them already)."""
        self._record(snapshots, write=False)

    def end(self, status: str, message: str) -> None:
        self.status, self.message = status, message
        self._end_record(status, message)


class RunSession(RecordedSession):
    """One run of one experiment in a worker process, driven by commands, reporting by signals.

    ``process_factory`` makes the worker (:class:`~odeprop.core.worker.RunProcess`; benchmarks
    pass a stand-in that streams synthetic snapshots down a real pipe). ``model_view``, a
    function θ → what the data view draws (:meth:`~odeprop.gui.lab.data_view.DataView.model_view`),
    is called by the receiving thread on every θ, so the window only draws the result
    (``view_ready``).
    """

    def __init__(self, experiment: Experiment, start_paused: bool = False, parent=None,
                 process_factory=RunProcess, model_view=None, pace: float | None = None,
                 n_params: int | None = None):
        super().__init__(experiment, parent=parent)
        self.model_view = model_view
        self.pace = pace
        if n_params and self.recorder is not None:
            try:
                self.thetas = ThetaRecorder(theta_path(self.recorder.path), n_params)
            except OSError:
                pass  # no replay of the weights; the run and its record go on
        self._quit = threading.Event()
        self._ended_emitted = False
        self.stop_requested = False  # the user pressed Stop: an ending after it is a stop
        try:
            self.process = process_factory(experiment, start_paused=start_paused, pace=pace,
                                           keep_thetas=self.thetas is not None)
        except BaseException:
            self.dispose()  # no run: no record either
            raise
        self.status = "running"
        self._thread = threading.Thread(target=self._receive_loop, name="odeprop-receiver",
                                        daemon=True)
        self._thread.start()

    # -- commands ------------------------------------------------------------------------------
    def go(self) -> None:
        self.process.send("go")

    def pause(self) -> None:
        self.process.send("pause")

    def step(self) -> None:
        """Exactly one solver step, then the worker pauses."""
        self.process.send("step")

    def stop(self) -> None:
        """End the run: the worker sends what it has and its report; killed if it lingers
        (inside a long step or its final measurement), and the run is still *stopped*."""
        self.stop_requested = True
        if self.process.send("stop"):
            # a precise timer: QTimer.singleShot's coarse one fires up to 5 % early (669 ms
            # measured), shorter than the grace the worker is promised and the message names
            grace = QTimer(self)
            grace.setSingleShot(True)
            grace.setTimerType(Qt.TimerType.PreciseTimer)
            grace.timeout.connect(self._reap)
            grace.timeout.connect(grace.deleteLater)
            grace.start(STOP_GRACE_MS)
        else:
            self._reap()

    def shutdown(self, timeout: float = 0.5) -> None:
        """End the worker now (window closing): keep what was received, wait at most ~timeout."""
        self._quit.set()
        self.process.terminate(timeout)
        self._thread.join(0.3)

    def _reap(self) -> None:
        """Stop's grace period is over: a worker still alive is killed now. It had its chance
        to answer; waiting longer would spend the second that Stop is allowed (DESIGN.md)."""
        if self.process.alive:
            self.process.terminate(0.0)

    @property
    def alive(self) -> bool:
        return self.process.alive

    # -- the receiving thread ------------------------------------------------------------------
    def _receive_loop(self) -> None:
        proc = self.process
        while not self._quit.is_set() and not proc.finished:
            try:
                ready = wait_any([proc], timeout=0.1)
            except (OSError, ValueError):  # the pipe was closed under us (shutdown)
                break
            if not ready:
                continue
            message = proc.receive()
            kind = message[0]
            if kind == "batch":
                failed = self._record(message[1])
                self.batch.emit(message[1])
                if failed:
                    self.record_failed.emit(failed)
            elif kind == "spectra":
                with self._lock:
                    self.spectra.extend(message[1])
                self.spectra_batch.emit(message[1])
            elif kind == "theta":
                step, theta = int(message[1]), np.asarray(message[2])
                self.theta.emit(step, theta)
                self._compute_view(step, theta)
            elif kind == "thetas":
                self._keep_thetas(message[1])
            elif kind == "done":
                self.report = message[1]
                self._keep_thetas([(message[1].final.step, message[1].final.t,
                                    message[1].theta)], force=True)
                self._finish(message[1].status, message[1].message)
            elif kind == "error":
                self._finish("failed", str(message[1]))
            elif kind == "died":
                last = self.last
                if last is not None and last.status != "running":  # it was ending anyway
                    self._finish(last.status, last.message)
                elif self.stop_requested:  # ended by Stop's grace period: a stop
                    self._finish("stopped", _stopped_busy(last))
                else:
                    after = f" after step {last.step}" if last is not None else " at its start"
                    self._finish("died", f"{message[1]}{after}")
        if not self._ended_emitted:
            last = self.last
            self._finish("stopped", last.message if last and last.message else
                         "the run was ended")

    def _keep_thetas(self, rows, force: bool = False) -> None:
        """θ for replay into the θ record (a full disk ends that record, not the run)."""
        with self._lock:
            if self.thetas is None or self._disposed:
                return
            try:
                for step, t, theta in rows:
                    self.thetas.append(step, t, theta, force=force)
                if force:
                    self.thetas.close()
            except (OSError, ValueError):  # a full disk; a stand-in worker's made-up θ
                self.thetas.close()

    def _compute_view(self, step: int, theta: np.ndarray) -> None:
        """What the data view draws at θ, computed here rather than on the GUI thread."""
        if self.model_view is None:
            return
        try:
            view = self.model_view(theta)
        except Exception:  # a view it cannot compute is not drawn; the run goes on
            return
        if view is not None:
            self.view_ready.emit(step, view)

    def _finish(self, status: str, message: str) -> None:
        self.status, self.message = status, message
        self._ended_emitted = True
        self._end_record(status, message)
        self.ended.emit(status, message)



def _stopped_busy(last: Snapshot | None) -> str:
    """Why a run stopped without its own last word: the worker was inside a long step."""
    where = f" after step {last.step}" if last is not None else " before its first step"
    return (f"stopped by the user{where}; the worker was busy in a long step or a "
            f"measurement and was ended after {STOP_GRACE_MS / 1000:g} s")
