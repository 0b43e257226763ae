"""The weights θ of a run, kept on disk at a cadence beside its snapshot record, for replay.

Cadence (:func:`keeps`): every step up to step ``per_octave``, then ``per_octave`` steps per
doubling of the step count (every k-th step, k doubling at each octave: 64 θ between steps 1,000
and 2,000, 64 between 2,000 and 4,000, …), and the run's last step. A run of N steps keeps about
``per_octave × (1 + log2(N / per_octave))`` θ — about 900 for a million steps — and
``per_octave`` falls for big networks (:func:`per_octave`) so that such a run stays within
:data:`BUDGET_BYTES`; past :data:`BUDGET_BYTES` only the last θ is added. Between two kept θ a
replay interpolates linearly in ODE time t (:meth:`ThetaRecord.at`); at a kept step it gives the
run's θ exactly.

The file is raw float64: a 16-byte header (``ODEPTHT1`` and the parameter count), then one row
``[step, t, θ…]`` per kept θ. A torn last row (a crash mid-write) is ignored when it is read.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .recording import THETA_SUFFIX

MAGIC = b"ODEPTHT1"
HEADER_BYTES = 16
#: θ per doubling of the step count, for networks small enough (the default's 337 parameters)
MAX_PER_OCTAVE = 64
#: What the θ of one run may take on disk (a million-step run's ~20 octaves included).
BUDGET_BYTES = 32 * 2**20
OCTAVES = 20


def per_octave(n_params: int) -> int:
    """θ kept per doubling of the step count: 64, fewer for big networks (at least 2)."""
    return int(min(MAX_PER_OCTAVE, max(2, BUDGET_BYTES // (8 * (n_params + 2) * OCTAVES))))


def keeps(step: int, m: int) -> bool:
    """Whether the cadence keeps θ at ``step`` (``m`` per octave)."""
    if step < m:
        return True
    return step % (1 << int(math.log2(step / m))) == 0


def theta_path(record_csv: Path) -> Path:
    """Where the θ of the record ``…/run-….csv`` are kept: ``…/run-….theta``."""
    return Path(record_csv).with_suffix(THETA_SUFFIX)


class ThetaCadence:
    """The worker's side: θ at the cadence's steps, gathered until the next batch is sent."""

    def __init__(self, n_params: int):
        self.per_octave = per_octave(n_params)
        self.pending: list[tuple[int, float, np.ndarray]] = []

    def add(self, snap, run) -> None:
        """Keep the run's θ if the cadence wants ``snap``'s step (called after each step)."""
        if keeps(snap.step, self.per_octave) and (not self.pending
                                                   or self.pending[-1][0] < snap.step):
            self.pending.append((snap.step, snap.t, run.theta))

    def take(self) -> list[tuple[int, float, np.ndarray]]:
        taken, self.pending = self.pending, []
        return taken


class ThetaRecorder:
    """Appends (step, t, θ) rows to a θ file, private to the user (0600)."""

    def __init__(self, path: Path, n_params: int):
        self.path = Path(path)
        self.n_params = int(n_params)
        self.per_octave = per_octave(self.n_params)
        self.row_bytes = 8 * (self.n_params + 2)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file = os.fdopen(fd, "wb", buffering=0)
        self._file.write(MAGIC + np.int64(self.n_params).tobytes())
        self.size = HEADER_BYTES
        self.count = 0
        self.last_step = -1

    def wants(self, step: int) -> bool:
        """Whether θ at ``step`` belongs in the record (the cadence, and the budget)."""
        return (step > self.last_step and keeps(step, self.per_octave)
                and self.size + self.row_bytes <= BUDGET_BYTES)

    def append(self, step: int, t: float, theta: np.ndarray, force: bool = False) -> None:
        """Keep θ at ``step`` if the cadence wants it (``force``: the run's last step)."""
        if self._file.closed or step <= self.last_step or not (force or self.wants(step)):
            return
        row = np.empty(self.n_params + 2)
        row[0], row[1], row[2:] = step, t, theta
        self._file.write(row.tobytes())
        self.size += self.row_bytes
        self.count += 1
        self.last_step = step

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)


class ThetaRecord:
    """The θ of a run read back: kept steps, their t, and θ at any t (linear in t between)."""

    def __init__(self, path: Path):
        raw = Path(path).read_bytes()
        if len(raw) < HEADER_BYTES or raw[:8] != MAGIC:
            raise ValueError(f"{Path(path).name}: not an odeprop θ record")
        n = int(np.frombuffer(raw[8:16], dtype=np.int64)[0])
        rows = (len(raw) - HEADER_BYTES) // (8 * (n + 2))
        table = np.frombuffer(raw[HEADER_BYTES:HEADER_BYTES + rows * 8 * (n + 2)],
                              dtype=np.float64).reshape(rows, n + 2)
        self.steps = table[:, 0].astype(np.int64)
        self.t = table[:, 1]
        self.thetas = table[:, 2:]

    def __len__(self) -> int:
        return len(self.steps)

    def at(self, t: float) -> np.ndarray:
        """θ at ODE time ``t``: a kept θ exactly, else linear in t between the two around it
        (before the first or after the last kept θ: that one)."""
        i = int(np.searchsorted(self.t, t, side="right"))
        if i == 0:
            return self.thetas[0].copy()
        if i == len(self.t) or self.t[i - 1] == t:
            return self.thetas[i - 1].copy()
        t0, t1 = self.t[i - 1], self.t[i]
        w = (t - t0) / (t1 - t0)
        return (1 - w) * self.thetas[i - 1] + w * self.thetas[i]
