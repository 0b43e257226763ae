"""The comparison's replay slider: every run at the same x (t, steps, gradient evaluations or
wall time: whatever the x-axis switch says), marked by one line across every plot.

The slider's fraction is a place along the x axis the runs span together (on a log scale when
the plots' x axis is logarithmic), so each run is shown where it was at that same x; the caption
says each run's step there.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from ..common.marker import TimeMarker
from ..common.plot_parts import X_MODES
from ..common.timeline import ReplayTimeline


class ComparisonCursor:
    """A :class:`ReplayTimeline` driving one :class:`TimeMarker` over ``plots`` (the
    comparison's :class:`~odeprop.gui.comparison.plots.ComparisonPlots`)."""

    def __init__(self, plots):
        self.plots = plots
        self.timeline = ReplayTimeline(what="every run")
        self.marker = TimeMarker([p.getPlotItem() for p in plots.plots.values()])
        self.timeline.moved.connect(self.move)
        self.timeline.hide()
        self.x: float | None = None

    def show(self, on: bool) -> None:
        """The slider after the runs ended (at their end); hidden, and no line, otherwise."""
        self.timeline.play(False)
        self.timeline.setVisible(on)
        self.timeline.set_fraction(1.0, emit=False)
        self.timeline.set_caption("")
        self.x = None
        self.marker.show_at(None)

    def set_x_mode(self, mode: str) -> None:
        self.marker.set_x_mode(mode)
        if self.x is not None:
            self.move(self.timeline.fraction)

    def span(self) -> tuple[float, float] | None:
        """The x range every run covers together (positive values only on a log axis)."""
        field, log = self.plots.x_mode, self.plots.log_x
        values = [c[field] for c in self.plots.columns if c.n]
        if not values:
            return None
        x = np.concatenate(values)
        x = x[np.isfinite(x) & (x > 0)] if log else x[np.isfinite(x)]
        return (float(x.min()), float(x.max())) if x.size else None

    def move(self, fraction: float) -> None:
        """Every run to the x at ``fraction`` of the span."""
        span = self.span()
        if span is None:
            return
        lo, hi = span
        if self.plots.log_x:
            x = math.exp(math.log(lo) + fraction * (math.log(hi) - math.log(lo)))
        else:
            x = lo + fraction * (hi - lo)
        self.x = x
        field = self.plots.x_mode
        self.marker.x_mode = field
        self.marker.show_at(SimpleNamespace(**{field: x}))
        steps = []
        for i, columns in enumerate(self.plots.columns):
            if columns.n:
                xs = columns[field]
                k = int(np.searchsorted(xs, x, side="right")) - 1
                steps.append(f"{i + 1}: step {int(columns['step'][max(k, 0)])}"
                             + ("" if k < columns.n - 1 else " (end)"))
        self.timeline.set_caption(f"every run at {x:.3g} {X_MODES[field][2]}")
        self.timeline.setToolTip("Where each run is at this x — " + "; ".join(steps))
