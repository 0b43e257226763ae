"""Pieces the lab's plots share: a steadily growing auto-range, a legend below the plot, a note.

- :class:`SteadyViewBox` auto-ranges to *nice* bounds (x from 0 to 1, 1.5, 2, 3, 4, 5, 6, 8 ×
  10^k; log axes to 1-2-5 × 10^k): the axes keep still while a run streams, so they are read
  easily and repainted only when a bound is passed. Its y range leaves out one-step spikes
  (:func:`robust_range`) unless the user asks for every point (right-click menu).
- :class:`BottomLegend` sits in its own row under the x axis, never over the data.
- :class:`PlotNote` is a line of text centred in the plot ("not reported by this method").
- :class:`PlotGrid` is what the lab's and the comparison's panels of plots share: the x-axis
  switch (:data:`X_MODES`), redrawing the plots with new data a few per timer tick, and one
  plot large (:class:`~odeprop.gui.common.plot_zoom.PlotZoom`).
"""

from __future__ import annotations

import html
import math
import re
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QGraphicsWidget, QWidget

from .grid_places import original_places
from .plot_zoom import PlotZoom

#: x-axis modes: key → (menu label, axis label, units)
X_MODES: dict[str, tuple[str, str, str]] = {
    "t": ("ODE time t", "ODE time t", "time units"),
    "step": ("Solver steps", "accepted solver steps", "steps"),
    "n_grad": ("Gradient evaluations", "gradient evaluations ∇L", "calls"),
    "wall": ("Wall time", "wall-clock time", "s"),
}

GROWTH_STEPS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
LOG_STEPS = (1.0, 2.0, 5.0, 10.0)
X_PADDING = 0.03  # room for the labels at both ends ("0" and the last one)
Y_PADDING = 0.04  # of the y range, so a line at 100 % or on a bound does not hide in the frame


#: The y auto-range spans the 1st–99th percentile of a plot's points, widened to the lowest and
#: highest point unless that lies more than SPIKE_SPANS times the percentiles' span beyond them
#: (a one-step spike: h·λmax at 200 once, while every curve stays below 3).
ROBUST_QUANTILES = (0.01, 0.99)
SPIKE_SPANS = 1.0
#: The height a row of plots needs in presenter type: title, tick labels, axis label, a legend
#: and still ~100 px of data.
PRESENTER_ROW_PX = 240
ROBUST_MIN_POINTS = 50  # fewer points than this: every one counts
SPIKES_ACTION = "y range: leave out one-step spikes"


def robust_range(values: np.ndarray, floor_span: float) -> tuple[float, float] | None:
    """[low, high] of the finite ``values``, leaving out spikes (see :data:`SPIKE_SPANS`);
    ``floor_span`` stands in for the percentiles' span when they coincide (a constant curve)."""
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    low, high = float(values.min()), float(values.max())
    if values.size < ROBUST_MIN_POINTS:
        return low, high
    q_low, q_high = (float(q) for q in np.quantile(values, ROBUST_QUANTILES))
    reach = SPIKE_SPANS * max(q_high - q_low, floor_span)
    return (low if low >= q_low - reach else q_low, high if high <= q_high + reach else q_high)


def x_extent(x: np.ndarray, log_x: bool) -> tuple[float, float] | None:
    """(first, last) x of a run's data: from its first finite value, or on a log axis its
    smallest positive one (0 has no place there); None when there is none."""
    x = x[np.isfinite(x) & (x > 0)] if log_x else x[np.isfinite(x)]
    if not x.size:
        return None
    return float(x.min() if log_x else x[0]), float(x.max())


def nice_ceil(value: float, steps=GROWTH_STEPS) -> float:
    """The smallest ``s·10^k`` (s in ``steps``) at or above ``value`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    return next(s * power for s in steps if s * power >= value * (1 - 1e-9))


def nice_floor(value: float, steps=GROWTH_STEPS) -> float:
    """The largest ``s·10^k`` (s in ``steps``) at or below ``value`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(value))
    return next(s * power for s in reversed(steps) if s * power <= value * (1 + 1e-9))


def nice_x_range(first: float, last: float) -> tuple[float, float]:
    """From 0 (or a negative start) to ``last`` rounded up in :data:`GROWTH_STEPS`."""
    low = min(first, 0.0)
    if not last > 0:
        return low, 1.0
    return low, nice_ceil(last)


def nice_log_range(lo: float, hi: float) -> tuple[float, float]:
    """log10 bounds widened outward to 1-2-5 × 10^k values (at least one step apart); a data
    edge within 3 % of the span past a nice value (a pen's or dot's size) does not widen it."""
    slack = min(0.03 * (hi - lo), 0.01)
    a, b = nice_floor(10.0 ** (lo + slack), LOG_STEPS), nice_ceil(10.0 ** (hi - slack), LOG_STEPS)
    if b <= a * (1 + 1e-9):
        a, b = nice_floor(a * 0.99, LOG_STEPS), nice_ceil(b * 1.01, LOG_STEPS)
    return math.log10(a), math.log10(b)


def nice_linear_range(lo: float, hi: float) -> tuple[float, float]:
    """Bounds widened outward to a multiple of a 1-2-5 step (about five steps across)."""
    span = hi - lo
    if span <= 0:
        span = abs(hi) or 1.0
    step = 10.0 ** math.floor(math.log10(span / 5))
    for factor in (1, 2, 5, 10):
        if span / (factor * step) <= 6:
            step *= factor
            break
    slack = 0.03 * span / step  # a pen's or dot's size past a nice value does not widen it
    a = math.floor(lo / step + slack) * step
    b = math.ceil(hi / step - slack) * step
    return (a, b) if b > a else (a - step, b + step)


class SteadyViewBox(pg.ViewBox):
    """A ViewBox whose auto-range grows in nice steps; ``x_extent`` (first, last x of the data)
    makes every plot of a panel share the same x range, starting at 0."""

    def __init__(self, log_y: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.log_y = log_y
        self.log_x = False  # set by the plot when its x axis goes logarithmic
        self.robust_y = True  # the y auto-range leaves out one-step spikes
        self.spikes_action = self.menu.addAction(SPIKES_ACTION)
        self.spikes_action.setCheckable(True)
        self.spikes_action.setChecked(True)
        self.spikes_action.setToolTip("Unticked: the y range holds every point, spikes too.")
        self.spikes_action.toggled.connect(self.set_robust_y)
        self.x_extent: tuple[float, float] | None = None
        self.y_fixed: tuple[float, float] | None = None  # e.g. the order plot: 0 … max + 1
        self.y_limits: tuple[float, float] | None = None  # what y can be at all (set_y_limits)

    def set_y_limits(self, limits: tuple[float, float] | None) -> None:
        """Keep y within ``limits`` (e.g. an accuracy's 0–100 %), plus the usual padding: the
        auto-range clamps its nice bounds to them (accuracy at 100 % throughout would
        otherwise be centred in 80–120 %), and panning or zooming stops there. None: no limits.
        """
        self.y_limits = limits  # a bounded quantity's dips are its story, never spikes:
        self.spikes_action.setVisible(limits is None)  # every point counts
        pad = (limits[1] - limits[0]) * Y_PADDING if limits else 0.0
        self.setLimits(yMin=limits[0] - pad if limits else None,
                       yMax=limits[1] + pad if limits else None)
        self.enableAutoRange(y=True)

    def set_robust_y(self, on: bool) -> None:
        """Leave one-step spikes out of the y auto-range (True) or show every point."""
        self.robust_y = on
        if self.spikes_action.isChecked() != on:
            self.spikes_action.setChecked(on)
        self.enableAutoRange(y=True)
        self.updateAutoRange()

    def _robust_y(self, y: list | None) -> list | None:
        """The curves' y range without spikes, widened to the horizontal reference lines."""
        curves = [item.getData()[1] for item in self.addedItems
                  if isinstance(item, pg.PlotDataItem) and item.isVisible()]
        curves = [c for c in curves if c is not None and len(c)]
        found = robust_range(np.concatenate(curves), 1.0 if self.log_y else 0.0) \
            if curves else None
        if found is None:
            return y
        lines = [item.value() for item in self.addedItems if isinstance(item, pg.InfiniteLine)
                 and item.angle == 0 and item.isVisible()]
        return [min([found[0], *lines]), max([found[1], *lines])]

    def childrenBounds(self, frac=None, orthoRange=(None, None), items=None):  # noqa: N802
        bounds = super().childrenBounds(frac=frac, orthoRange=orthoRange, items=items)
        if self.log_x:
            extent = self.x_extent
            if extent is None and bounds[0] is not None:
                extent = tuple(10.0 ** v for v in bounds[0])
            if extent is not None and all(map(math.isfinite, extent)) and extent[0] > 0:
                bounds[0] = list(nice_log_range(math.log10(extent[0]), math.log10(extent[1])))
        elif self.x_extent is not None:
            bounds[0] = list(nice_x_range(*self.x_extent))
        elif bounds[0] is not None and all(map(math.isfinite, bounds[0])):
            bounds[0] = list(nice_x_range(*bounds[0]))
        y = bounds[1]
        if self.robust_y and self.y_fixed is None and self.y_limits is None and items is None:
            y = self._robust_y(y)
        if self.y_fixed is not None:
            bounds[1] = list(self.y_fixed)
        elif y is not None and all(map(math.isfinite, y)):
            bounds[1] = list(nice_log_range(*y) if self.log_y else nice_linear_range(*y))
        if self.y_limits is not None and bounds[1] is not None:
            low, high = self.y_limits
            bounds[1] = [min(max(bounds[1][0], low), high), max(min(bounds[1][1], high), low)]
            if bounds[1][1] <= bounds[1][0]:  # all data at a limit: a step inside it
                step = (high - low) / 5
                bounds[1] = [high - step, high] if bounds[1][0] >= high else [low, low + step]
        return bounds

    def suggestPadding(self, axis):  # noqa: N802 (pyqtgraph naming)
        return X_PADDING if axis == 0 else Y_PADDING


class _RowLegend(pg.LegendItem):
    """A LegendItem sized by its layout's size hint (pyqtgraph sums the items' last geometry,
    which lags behind a change of columns) and placed by its owner, not anchored."""

    def updateSize(self):  # noqa: N802 (pyqtgraph naming)
        self.resize(self.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize))


class BottomLegend:
    """A frameless legend in a row of its own under the plot's x axis, entries side by side.

    Shown only with two entries or more (one curve needs no legend: the title names it).
    """

    def __init__(self, plot_item: pg.PlotItem, text_size: str = "9pt", max_columns: int = 4):
        self.plot_item = plot_item
        self.max_columns = max_columns
        self.legend = _RowLegend(offset=None, labelTextSize=text_size, horSpacing=6,
                                 frame=False)
        self.legend.setParentItem(plot_item)
        self.footnote = pg.LabelItem("", size=text_size, color="#777777")
        self.footnote.setParentItem(plot_item)
        self.footnote.hide()
        self.row = QGraphicsWidget()
        self.row.setMinimumHeight(0)
        self.row.setMaximumHeight(0)
        self._notes: list[str] = []
        self._fitted_width = None  # the (width, type size) the footnote's lines were fitted to
        plot_item.layout.addItem(self.row, 4, 1)
        plot_item.geometryChanged.connect(self.relayout)  # columns follow the plot's width
        self._height = 0.0

    @property
    def items(self):
        return self.legend.items

    def add(self, item, name: str) -> None:
        self.legend.addItem(item, name)
        self.relayout()

    def remove(self, item) -> None:
        self.legend.removeItem(item)
        self.relayout()

    def clear(self) -> None:
        self.legend.clear()
        self.relayout()

    def label(self, item):
        return self.legend.getLabel(item)

    def names(self) -> list[str]:
        return [label.text for _, label in self.legend.items]

    @property
    def footnote_text(self) -> str:
        return self.footnote.text if self.footnote.isVisible() else ""

    def set_footnote(self, notes: str | list[str] | None) -> None:
        """Grey notes under the entries (the curves a method does not report, why a plot has
        no bound): on one line when they fit the plot's width, else a line each, a note too
        long for a line broken before its parenthesis. Outside the data: never over a curve."""
        notes = [notes] if isinstance(notes, str) else [n for n in notes or [] if n]
        if notes != self._notes:
            self._notes = notes
            self._fitted_width = None
            self.relayout()

    def _fit_footnote(self) -> None:
        width = self.plot_item.width() - 16
        size = str(self.footnote.opts.get("size") or "9pt")  # presenter mode makes it larger
        if (width, size) == self._fitted_width:
            return
        self._fitted_width = (width, size)
        if self._notes:
            font = QFont(self.footnote.item.font())
            font.setPointSizeF(float(size.rstrip("pt")))
            metrics = QFontMetrics(font)

            def fits(text: str) -> bool:
                return metrics.horizontalAdvance(re.sub(r"<[^>]+>", "", text)) <= width

            one_line = " · ".join(self._notes)
            text = one_line if fits(one_line) else "<br>".join(
                line for note in self._notes for line in _wrapped(note, fits))
            if text != self.footnote.text:
                self.footnote.setText(text)
            self.footnote.resize(self.footnote.item.boundingRect().size())
        self.footnote.setVisible(bool(self._notes))

    def relayout(self) -> None:
        """As many entries per row as fit the plot's width, the footnote's lines too; reserve
        the rows' height."""
        self._fit_footnote()
        legend, n = self.legend, len(self.legend.items)
        shown = n >= 2
        legend.setVisible(shown)
        if shown:
            width = self.plot_item.width() - 8
            for columns in range(min(n, self.max_columns), 0, -1):
                legend.setColumnCount(columns)
                legend.updateSize()
                if legend.width() <= width:
                    break
        note = self.footnote.boundingRect().height() if self.footnote.isVisible() else 0.0
        height = (legend.height() + 2 if shown else 0.0) + note
        if height != self._height:
            self._height = height
            self.row.setMinimumHeight(height)
            self.row.setMaximumHeight(height)
        self._place()

    def _place(self) -> None:
        """Centred along the bottom edge of the plot, the footnote last."""
        rect = self.plot_item.rect()
        bottom = rect.bottom() - 1
        if self.footnote.isVisible():
            size = self.footnote.boundingRect()
            bottom -= size.height()
            self.footnote.setPos(rect.center().x() - size.width() / 2, bottom)
        if self.legend.isVisible():
            self.legend.setPos(rect.center().x() - self.legend.width() / 2,
                               bottom - self.legend.height())


def _wrapped(note: str, fits) -> list[str]:
    """``note`` in lines that ``fits``: whole if it does, else broken before its parenthesis,
    then between words (a coloured value, in HTML, is kept whole)."""
    if fits(note):
        return [note]
    lines = []
    for phrase in note.replace(" (", "\n(").split("\n"):
        if "<" in phrase or fits(phrase):
            lines.append(phrase)
            continue
        line = ""
        for word in phrase.split(" "):
            if line and not fits(f"{line} {word}"):
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}".strip()
        lines.append(line)
    return lines


class PlotNote(pg.TextItem):
    """Grey text in a plot's view box, centred or along its top edge, wrapped to the plot's
    width (in view coordinates, not data coordinates: it never moves with the data)."""

    def __init__(self, view_box: pg.ViewBox):
        super().__init__("", color="#444444", anchor=(0.5, 0.5), fill=(255, 255, 255, 220))
        self.setParentItem(view_box)
        self.setZValue(50)
        self.view_box = view_box
        self.where = "center"
        self._text = ""
        view_box.sigResized.connect(self._place)
        self.hide()

    @property
    def text(self) -> str:
        """The note shown (empty when hidden)."""
        return self._text if self.isVisible() else ""

    def show_text(self, text: str | None, where: str = "center") -> None:
        """Show ``text`` in the centre or at the top; None hides the note."""
        if not text:
            self.hide()
            return
        if text != self._text:
            self._text = text  # a parenthesis starts a line of its own, never a broken word
            lines = html.escape(text).replace(" (", "<br>(")
            self.setHtml(f'<div style="text-align:center">{lines}</div>')
        if where != self.where:
            self.where = where
            self.setAnchor((0.5, 0.5) if where == "center" else (0.5, 0.0))
        self._place()
        self.show()

    def _place(self, *_args) -> None:
        rect = self.view_box.rect()
        width = max(100.0, rect.width() * 0.85)
        if abs(self.textItem.textWidth() - width) > 1:
            self.setTextWidth(width)
        self.setPos(rect.center().x(), rect.center().y() if self.where == "center" else 4.0)


class FittedTitle:
    """A plot's title broken into lines that fit its widget's width, at ": " or " (" first.

    pyqtgraph never wraps a title: a long one ("Stability region: BDF-5 (A(α)-stable, α =
    51.8°)" in a narrow dock) widened the plot past its widget and cut its right edge off,
    legend and notes with it. The widget calls :meth:`fit` when it is resized."""

    def __init__(self, widget, size: str = "10pt"):
        self.widget, self.size = widget, size
        self.text, self._shown = "", None
        self.font = QFont(widget.font())
        self.font.setPointSizeF(float(size.rstrip("pt")))

    def set(self, text: str) -> None:
        self.text = text
        self.fit()

    def fit(self) -> None:
        width = self.widget.width() - 24
        metrics = QFontMetrics(self.font)
        lines: list[str] = []
        for phrase in re.split(r"(?<=: )|(?= \()", self.text):  # whole phrases on a line
            if lines and metrics.horizontalAdvance(lines[-1] + phrase.rstrip()) <= width:
                lines[-1] += phrase
            elif phrase.strip():
                lines.append(phrase.lstrip())
        shown = "<br>".join(html.escape(line.strip()) for line in lines)
        if shown != self._shown:
            self._shown = shown
            self.widget.getPlotItem().setTitle(shown, size=self.size)


def plot_minimum(widget: pg.PlotWidget) -> QSize:
    """What a plot widget needs to show its plot whole: its title, axes, legend and colour
    bar (pyqtgraph's own hint is a thumbnail, and a grid cell squeezed below this clipped the
    decision surface's colour bar under the next plot at 1280×720)."""
    hint = widget.getPlotItem().effectiveSizeHint(Qt.SizeHint.MinimumSize)
    frame = 2 * widget.frameWidth()
    return QSize(math.ceil(hint.width()) + frame, math.ceil(hint.height()) + frame)


class PlotGrid(QWidget):
    """A panel of live plots (``self.plots``, key → plot with ``refresh(columns, x_field)``)
    drawn from ``self.columns`` against ``self.x_mode``; plots with undrawn data wait in
    ``_stale`` for :meth:`refresh_some`."""

    #: how many stale plots :meth:`refresh_some` redraws when not told
    PLOTS_PER_CALL = 4

    def __init__(self, parent=None):
        super().__init__(parent)
        self.plots: dict = {}
        self._stale: dict[str, None] = {}  # plots with undrawn data, in the order they went stale
        self.x_mode = "t"
        self.log_x = False
        self.zoom: PlotZoom | None = None  # one plot large (:meth:`enable_zoom`)
        #: the cells that step aside when presenting on a short screen (:meth:`fit_rows`),
        #: and the grid's rows with them
        self.detail: list[QWidget] = []
        self.rows = 0
        self.presenting = False  # presenter mode's type: a row needs PRESENTER_ROW_PX
        self.arranged = False  # a lesson chose what the grid shows (:meth:`arrange`)
        self._lesson: tuple[list[QWidget], QWidget | None] = ([], None)

    def set_presenting(self, on: bool) -> None:
        """Presenter mode on or off: see :meth:`fit_rows`."""
        self.presenting = on
        self.fit_rows()

    def arrange(self, cells: list[QWidget], wide: QWidget | None = None) -> None:
        """A lesson step's view: ``cells`` (the others hidden by the lesson) in their order of
        importance, ``wide`` large on the left of them; until :meth:`unarrange`."""
        self.arranged = True
        self._lesson = (list(cells), wide)
        self.fit_rows()

    def unarrange(self) -> None:
        """Every cell back in the grid's own places (a lesson's view ends)."""
        self.arranged = False
        self._lesson = ([], None)
        if self.zoom is not None:
            self.zoom.tuck([])

    def fit_rows(self) -> None:
        """Presenting, the grid shows a row only while it gets :data:`PRESENTER_ROW_PX` (at
        1280×720 three rows got 180 px each: the decision surface's axes read ±100 and its
        colour bar's labels ran together); else :attr:`detail` steps aside, and of a lesson's
        plots beside the large one those that fit are kept, the first named first. ] and [
        (PageDown and PageUp) still show each plot set aside large."""
        if self.zoom is None:
            return
        columns = 1 + max(c + w - 1 for _, c, _, w in original_places(self.zoom.grid).values())
        fitting = max(1, self.height() // PRESENTER_ROW_PX)  # rows that get their height
        if self.arranged:
            cells, wide = self._lesson
            others = [c for c in cells if c is not wide]
            room = (fitting if wide is not None else fitting * columns) if self.presenting \
                else len(others)
            self.zoom.tuck(others[room:], wide)
            return
        short = self.presenting and self.height() < self.rows * PRESENTER_ROW_PX
        self.zoom.tuck(self.detail if short else [], per_row=columns)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self.fit_rows()

    def enable_zoom(self, grid) -> PlotZoom:
        """Any cell of ``grid`` (the panel's grid of plots, laid out) can be made large."""
        self.zoom = PlotZoom(self, grid)
        return self.zoom

    def _mark_stale(self) -> None:
        """Every plot has new data to draw."""
        for key in self.plots:
            self._stale.setdefault(key)

    def refresh(self) -> None:
        """Redraw every plot now."""
        for plot in self.plots.values():
            plot.refresh(self.columns, self.x_mode)
        self._stale.clear()

    def refresh_some(self, limit: int | None = None, budget: float | None = None) -> bool:
        """Redraw up to ``limit`` plots that have new data, oldest first; True if some still
        wait.

        Painting every plot in one timer tick costs more than a tick on a software-rendered
        display, so the window spreads them over successive ticks (each plot still updates
        about 15 times a second). With a ``budget`` (seconds) the work stops once it is spent,
        and a plot whose curves take turns (the comparison's: one per run) may stop half way:
        it goes to the back of the queue and goes on with its other curves next time. The
        budget counts each redrawn plot's painting too (as long as its last paint took).
        """
        start = time.perf_counter()
        painting = 0.0  # what the plots redrawn so far will cost to paint, by their last paint
        for n, key in enumerate(list(self._stale)[: self.PLOTS_PER_CALL if limit is None
                                                  else limit]):
            plot = self.plots[key]
            if budget is None:
                plot.refresh(self.columns, self.x_mode)
                del self._stale[key]
                continue
            deadline = start + budget - painting - plot.paint_seconds
            if n and time.perf_counter() >= deadline:
                break  # its paint would not fit this frame: first in the next
            del self._stale[key]
            plot.refresh(self.columns, self.x_mode, deadline)
            painting += plot.paint_seconds
            if plot.unfinished:
                self._stale[key] = None
        return bool(self._stale)

    def set_x_mode(self, mode: str) -> None:
        """Switch the x axis of every plot: t, step, n_grad or wall."""
        if mode not in X_MODES:
            raise ValueError(f"unknown x-axis mode {mode!r}; choose one of {', '.join(X_MODES)}")
        self.x_mode = mode
        _, label, units = X_MODES[mode]
        for plot in self.plots.values():
            plot.getPlotItem().setLabel("bottom", label, units=units)
            plot.getPlotItem().enableAutoRange()
        self._note_x_axis()
        self.refresh()

    def set_log_x(self, on: bool) -> None:
        """A logarithmic x axis on every plot (or back to linear)."""
        self.log_x = on
        for plot in self.plots.values():
            plot.set_log_x(on)
        self.refresh()

    def _note_x_axis(self) -> None:
        """Notes that depend on the x axis (none by default)."""
