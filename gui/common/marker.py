"""A vertical line at one moment in every time plot: where the replay or the stiffness lens is."""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import Qt

MARKER_COLOR = "#ff7f0e"
MARKER_TIP = ("The moment the replay or the stiffness lens shows: move its slider to move this "
              "line.")


class _MarkerLine(pg.InfiniteLine):
    """A vertical line at a data x that follows its plot into and out of log x (pyqtgraph
    tells every item of a plot through ``setLogMode``; a plain InfiniteLine ignores it)."""

    data_x: float | None = None  # None: hidden
    log_x = False

    def setLogMode(self, x: bool, _y: bool) -> None:  # noqa: N802 (pyqtgraph naming)
        self.log_x = x
        self.place(self.data_x)

    def place(self, x: float | None) -> None:
        """Show the line at data ``x``; None (or 0 on a log axis, which has no place) hides."""
        self.data_x = x
        if x is None or self.log_x and x <= 0:
            self.hide()
            return
        self.setValue(math.log10(x) if self.log_x else x)
        self.show()


class TimeMarker:
    """One dashed vertical line per plot item, at the x of a snapshot in the plots' x-axis mode
    (t, step, n_grad or wall: the snapshot fields of the same names). Never part of the plots'
    auto-range."""

    def __init__(self, plot_items, x_mode: str = "t"):
        self.x_mode = x_mode
        self.snapshot = None
        self.lines: list[pg.InfiniteLine] = []
        pen = pg.mkPen(MARKER_COLOR, width=2, style=Qt.PenStyle.DashLine)
        for item in plot_items:
            line = _MarkerLine(pos=0.0, angle=90, pen=pen, movable=False)
            line.setZValue(30)
            line.setToolTip(MARKER_TIP)
            line.hide()
            item.addItem(line, ignoreBounds=True)
            self.lines.append(line)

    def show_at(self, snapshot) -> None:
        """Put the line at ``snapshot``'s moment; None hides it."""
        self.snapshot = snapshot
        self._place()

    def set_x_mode(self, mode: str) -> None:
        self.x_mode = mode
        self._place()

    @property
    def x(self) -> float | None:
        """Where the lines are (None: hidden)."""
        if self.snapshot is None:
            return None
        value = getattr(self.snapshot, self.x_mode, None)
        return float(value) if value is not None and math.isfinite(value) else None

    def _place(self) -> None:
        x = self.x
        for line in self.lines:
            line.place(x)
