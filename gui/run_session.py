"""The Qt side of one run: a core worker process, a receiving thread, one signal per batch.

The worker lives in its own process (DESIGN.md); a plain background thread waits on its pipe with
:func:`odeprop.core.worker.wait_any` and emits one queued Qt signal per message. Every received
snapshot and Hessian spectrum is kept (in arrival order) for CSV export, even if the window never
drew it.
"""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from odeprop.core.config import Experiment
from odeprop.core.snapshot import Snapshot, Spectrum, snapshots_to_csv, spectra_to_csv
from odeprop.core.worker import RunProcess, wait_any

#: After Stop, the worker gets this long to send its last batch and report before it is killed.
STOP_GRACE_MS = 700


class RunSession(QObject):
    """One run of one experiment in a worker process, driven by commands, reporting by signals."""

    batch = Signal(list)  # [Snapshot, ...] in step order
    theta = Signal(int, object)  # step, θ (numpy array)
    spectra_batch = Signal(list)  # [Spectrum, ...]: whole Hessian spectra, when measured
    ended = Signal(str, str)  # status (finished/failed/stopped), message

    def __init__(self, experiment: Experiment, start_paused: bool = False, parent=None):
        super().__init__(parent)
        self.experiment = experiment
        self.snapshots: list[Snapshot] = []
        self.spectra: list[Spectrum] = []  # in step order, kept like the snapshots
        self.status = "starting"
        self.message = ""
        self.report = None
        self._lock = threading.Lock()
        self._quit = threading.Event()
        self._ended_emitted = False
        self.process = RunProcess(experiment, start_paused=start_paused)
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
        """End the run: the worker sends what it has and its report; killed if it lingers."""
        if self.process.send("stop"):
            QTimer.singleShot(STOP_GRACE_MS, self._reap)
        else:
            self._reap()

    def shutdown(self, timeout: float = 0.5) -> None:
        """End the worker now (window closing): keep what was received, wait at most ~timeout."""
        self._quit.set()
        self.process.terminate(timeout)
        self._thread.join(0.3)

    def _reap(self) -> None:
        if self.process.alive:
            self.process.terminate(0.2)

    @property
    def alive(self) -> bool:
        return self.process.alive

    @property
    def last(self) -> Snapshot | None:
        with self._lock:
            return self.snapshots[-1] if self.snapshots else None

    def to_csv(self) -> str:
        with self._lock:
            return snapshots_to_csv(list(self.snapshots))

    def spectra_csv(self) -> str:
        """Every received spectrum as CSV (one row per eigenvalue, with z = −h·λ)."""
        with self._lock:
            return spectra_to_csv(list(self.spectra))

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
                with self._lock:
                    self.snapshots.extend(message[1])
                self.batch.emit(message[1])
            elif kind == "spectra":
                with self._lock:
                    self.spectra.extend(message[1])
                self.spectra_batch.emit(message[1])
            elif kind == "theta":
                self.theta.emit(int(message[1]), np.asarray(message[2]))
            elif kind == "done":
                self.report = message[1]
                self._finish(message[1].status, message[1].message)
            elif kind in ("error", "died"):
                last = self.last
                if kind == "died" and last is not None and last.status != "running":
                    self._finish(last.status, last.message)
                else:
                    self._finish("failed", str(message[1]))
        if not self._ended_emitted:
            last = self.last
            self._finish("stopped", last.message if last and last.message else
                         "the run was ended")

    def _finish(self, status: str, message: str) -> None:
        self.status, self.message = status, message
        self._ended_emitted = True
        self.ended.emit(status, message)
