"""How far along a run is, as one number that only grows: the clock of a paced run and of a replay.

A run of unknown length (one that stops at a target) still has a followable measure of progress:
the largest of ODE time toward ``t_end`` on a log scale, log(1 + t/τ) (step sizes grow by
decades, so a linear t would rush through every early step; τ is the flow's fastest time scale
at the start, 1/λmax at θ0 when the run probes it, else the first step's t), the loss (or RMS error)
toward its target on a log scale, the accuracy toward its target, and the steps toward
``max_steps``. Its running maximum never goes back, so a paced run never waits longer than the
pace and a replay slider moves one way. A paced run is shown at wall time ``fraction × pace``
(:class:`Pacer`); the worker sleeps between steps, outside every timed section, so the trajectory,
the counters and the solver's clock are those of the unpaced run. Pacing is the worker's rather
than the window's so that Pause, Step and Stop act at the moment a class sees, the command line
paces with the same code (``odeprop run --pace``), and nothing computed waits in the window.
"""

from __future__ import annotations

import math
import time

from .config import StopConfig
from .snapshot import Snapshot


def _toward(now, start, target) -> float | None:
    """Log-scale progress of a falling quantity from ``start`` toward ``target``."""
    if target is None or now is None or start is None or not start > target > 0:
        return None
    if not (now > 0 and math.isfinite(now)):
        return None
    return math.log(start / now) / math.log(start / target)


def progress(snap: Snapshot, first: Snapshot, tau: float | None, stop: StopConfig) -> float:
    """How far ``snap`` is along its run, in [0, 1]; ``tau`` is the time scale of the
    log-time measure (None: not known yet)."""
    parts = [0.0]
    if tau is not None and tau > 0:
        parts.append(math.log1p(snap.t / tau) / math.log1p(stop.t_end / tau))
    parts.append(_toward(snap.loss_train, first.loss_train, stop.target_loss))
    parts.append(_toward(snap.rms_train, first.rms_train, stop.target_rms))
    if stop.target_accuracy and snap.accuracy_train is not None:
        parts.append(snap.accuracy_train / stop.target_accuracy)
    if stop.max_steps:
        parts.append(snap.step / stop.max_steps)
    return min(1.0, max(p for p in parts if p is not None))


class RunProgress:
    """The running maximum of :func:`progress` over a run's snapshots, fed in step order."""

    def __init__(self, stop: StopConfig):
        self.stop = stop
        self.first: Snapshot | None = None
        self.tau: float | None = None
        self.value = 0.0

    def add(self, snap: Snapshot) -> float:
        if self.first is None:
            self.first = snap
            lam = snap.lambda_max
            if lam is not None and math.isfinite(lam) and lam > 0:
                self.tau = 1.0 / lam
        if self.tau is None and snap.t > 0:
            self.tau = snap.t
        self.value = max(self.value, progress(snap, self.first, self.tau, self.stop))
        return self.value


def fractions(snapshots, stop: StopConfig) -> list[float]:
    """Each snapshot's place along its (whole, recorded) run in [0, 1]: the running progress,
    scaled so the last snapshot is at 1 (a run that stopped early fills the whole slider)."""
    tracker = RunProgress(stop)
    values = [tracker.add(s) for s in snapshots]
    end = values[-1] if values else 0.0
    if end <= 0:  # no measure moved (a run stopped at once): by steps
        n = max(len(values) - 1, 1)
        return [i / n for i in range(len(values))]
    return [v / end for v in values]


class Pacer:
    """Spreads a run over ``seconds`` of wall time: after :meth:`add` of a snapshot,
    :meth:`remaining` says how long to wait before the next step; time paused does not count."""

    def __init__(self, seconds: float, stop: StopConfig, clock=time.perf_counter):
        if not seconds > 0:
            raise ValueError(f"pace: must be a positive number of seconds, got {seconds}")
        self.seconds = float(seconds)
        self.clock = clock
        self.progress = RunProgress(stop)
        self.origin = clock()
        self._paused_at: float | None = None

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = self.clock()

    def resume(self) -> None:
        if self._paused_at is not None:
            self.origin += self.clock() - self._paused_at
            self._paused_at = None

    def add(self, snap: Snapshot) -> None:
        self.progress.add(snap)

    def remaining(self) -> float:
        """Seconds until the last added snapshot is due (0 if it is late already)."""
        now = self._paused_at if self._paused_at is not None else self.clock()
        return max(0.0, self.origin + self.seconds * self.progress.value - now)
