"""A symmetric-log scale for the stiffness lens: eigenvalues and z = −h·λ span decades of both
signs, with many values near zero.

``symlog(x, c) = sign(x)·log10(1 + |x|/c)`` is linear (slope 1/(c·ln 10)) inside ±c and
logarithmic beyond, so 0 stays 0 and ±c·10^k sit one unit apart. :class:`SymLogAxis` labels the
real values (0, ±c, ±10c, …) in the lab's number style
(:func:`odeprop.gui.common.log_axis.tick_labels`).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

from ..common.log_axis import LABEL_GAP_PX, tick_labels

_MAJOR, _MINOR = 1.0, 0.0


def symlog(x, c: float):
    """Forward transform (arrays or floats)."""
    x = np.asarray(x, dtype=float)
    return np.sign(x) * np.log10(1.0 + np.abs(x) / c)


def symlog_inverse(y, c: float):
    y = np.asarray(y, dtype=float)
    return np.sign(y) * c * (10.0 ** np.abs(y) - 1.0)


def linear_threshold(values, decades: int = 4) -> float:
    """A power of ten ``decades`` below the largest |value|: the band shown linearly around 0."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    top = float(np.max(np.abs(values))) if len(values) else 0.0
    if top <= 0:
        return 1.0
    return 10.0 ** (math.floor(math.log10(top)) - decades)


class SymLogAxis(pg.AxisItem):
    """Linear by default; after :meth:`set_threshold` (c > 0) it labels symlog coordinates with
    the real values they stand for: 0 and ±c·10^k, as many as fit without overlapping."""

    def __init__(self, orientation: str = "left", **kwargs):
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)
        self.threshold: float | None = None

    def set_threshold(self, c: float | None) -> None:
        """c > 0: symmetric-log labels with linear band ±c; None: a plain linear axis."""
        if c != self.threshold:
            self.threshold = c
            self.picture = None
            self.update()

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 (pyqtgraph naming)
        c = self.threshold
        if c is None:
            return super().tickValues(minVal, maxVal, size)
        lo, hi = min(minVal, maxVal), max(minVal, maxVal)
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            return []
        per_unit = size / (hi - lo)
        gap = LABEL_GAP_PX[self.orientation in ("left", "right")] * 0.9
        k_max = int(math.ceil(max(abs(lo), abs(hi)))) + 1
        candidates = [0.0] + [s * math.log10(1 + 10.0 ** k) for k in range(k_max + 1)
                              for s in (1.0, -1.0)]
        candidates = [v for v in candidates if lo <= v <= hi]
        candidates.sort(key=abs)  # 0 first, then outward on both sides
        major: list[float] = []
        for v in candidates:
            if all(abs(v - m) * per_unit >= gap for m in major):
                major.append(v)
        minor = []
        for k in range(k_max + 1):
            for m in (2, 5):
                for s in (1.0, -1.0):
                    v = s * math.log10(1 + m * 10.0 ** k)
                    if lo <= v <= hi and all(abs(v - t) * per_unit >= 4 for t in major):
                        minor.append(v)
        return [(_MAJOR, sorted(major)), (_MINOR, sorted(minor))]

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph naming)
        c = self.threshold
        if c is None:
            return super().tickStrings(values, scale, spacing)
        if spacing != _MAJOR:
            return [""] * len(values)
        real = [float(symlog_inverse(v, c)) for v in values]
        # ±c·10^k exactly: snap away the round-off of 10**log10(...)
        real = [0.0 if abs(r) < c * 1e-6 else math.copysign(_round_decade(abs(r)), r)
                for r in real]
        return tick_labels(real)

    def labelled_ticks(self) -> list[str]:
        """The labels the axis draws for its current range (tests and screenshots)."""
        length = self.height() if self.orientation in ("left", "right") else self.width()
        levels = self.tickValues(self.range[0], self.range[1], max(length, 1.0))
        return [s for spacing, values in levels
                for s in self.tickStrings(values, self.scale, spacing) if s]


def _round_decade(x: float) -> float:
    return float(f"{x:.6g}")
