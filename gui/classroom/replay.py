"""Replay of a finished (or reopened) run from its record: the moment at a fraction of the run,
and the weights there.

Everything comes from the run's record on disk (:mod:`odeprop.core.recording`) and the θ kept
beside it (:mod:`odeprop.core.theta_record`), never from a copy the window holds. A fraction of
the run is a place on the same clock a paced run is shown by (:func:`odeprop.core.pace.fractions`:
ODE time on a log scale, or the loss toward its target): a replay at ×1 and a paced run fill the
plots alike. θ between two kept ones is interpolated linearly in t.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from odeprop.core.config import StopConfig
from odeprop.core.pace import fractions
from odeprop.core.recording import RecordReader
from odeprop.core.theta_record import ThetaRecord, theta_path

#: A long record is read thinned to about this many moments (the slider has 1,000 positions).
MOMENTS = 20_000
X_FIELDS = ("step", "t", "n_grad", "wall")


class RunReplay:
    """The moments of one recorded run (``step``, ``t``, ``n_grad``, ``wall`` columns and each
    one's fraction along the run) and θ at any of them."""

    def __init__(self, record: Path, stop: StopConfig, count: int | None = None):
        every = max(1, (count or 0) // MOMENTS)
        snaps = [s for chunk in RecordReader(record, every=every) for s in chunk]
        if not snaps:
            raise ValueError(f"{Path(record).name}: the record holds no snapshot")
        self.columns = {name: np.array([getattr(s, name) for s in snaps], dtype=float)
                        for name in X_FIELDS}
        self.fractions = np.asarray(fractions(snaps, stop))
        path = theta_path(record)
        self.thetas = ThetaRecord(path) if path.exists() else None
        if self.thetas is not None and not len(self.thetas):
            self.thetas = None

    def __len__(self) -> int:
        return len(self.fractions)

    def index_at(self, fraction: float) -> int:
        """The last moment at or before ``fraction`` of the run."""
        i = int(np.searchsorted(self.fractions, fraction, side="right")) - 1
        return min(max(i, 0), len(self) - 1)

    def index_of_step(self, step: int) -> int:
        i = int(np.searchsorted(self.columns["step"], step, side="right")) - 1
        return min(max(i, 0), len(self) - 1)

    def moment(self, index: int) -> SimpleNamespace:
        """The moment ``index`` as an object with the x fields (what the time marker reads)."""
        return SimpleNamespace(**{name: self.columns[name][index].item() for name in X_FIELDS})

    def theta(self, index: int) -> np.ndarray | None:
        """θ at moment ``index`` (None when the run kept no θ)."""
        if self.thetas is None:
            return None
        return self.thetas.at(float(self.columns["t"][index]))
