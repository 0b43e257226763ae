"""Live plots of a run: loss, accuracy or RMS error, step size, stiffness, solver work, order.

Snapshots are appended to preallocated, doubling numpy columns (:class:`SnapshotColumns`); the
window's redraw timer calls :meth:`PlotPanel.refresh` when new data came in, which hands views of
those columns to ``PlotDataItem.setData`` (peak downsampling, clip to view). ``None`` in a
snapshot (not measured) becomes NaN and is simply not drawn.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QWidget

from odeprop.core.methods import MethodInfo

from .log_axis import LogAxis, compact
from .plot_parts import X_MODES as X_MODES  # the panels' x-axis modes, imported from here too
from .plot_parts import (
    BottomLegend,
    PlotGrid,
    PlotNote,
    SteadyViewBox,
    nice_log_range,
    nice_x_range,
    plot_minimum,
    x_extent,
)
from .tooltips import tip

COLUMNS = ("t", "step", "n_grad", "wall", "loss_train", "loss_test", "accuracy_train",
           "accuracy_test", "rms_train", "rms_test", "h", "lambda_max", "h_lambda_max",
           "rejected", "newton_failures", "jac_evals", "lu_decomps", "order", "n_hvp",
           "n_grad_fd")

TRAIN, TEST = "#1f77b4", "#d62728"  # blue and red: distinguishable on a projector
pg.setConfigOptions(antialias=False, background="w", foreground="#202020")


#: Points a column keeps at most: past it, the history is thinned to every other point (and the
#: snapshots after it are taken at the new stride), so a run of a million steps costs the plots
#: the same memory as one of a hundred thousand. The full record is on disk (RunSession).
MAX_POINTS = 100_000


class SnapshotColumns:
    """Growing float columns, one per plotted snapshot field; capacity doubles when full.

    Bounded: beyond ``max_points`` rows the columns keep every ``stride``-th received snapshot
    (the stride doubles each time they fill), plus always the newest one as the last row.
    """

    def __init__(self, capacity: int = 1024, names=COLUMNS, max_points: int | None = None):
        self.n = 0
        self.generation = 0  # changes on clear() and thinning: the same n is then other data
        self.max_points = max(4, max_points or MAX_POINTS)
        self.stride = 1  # every stride-th received snapshot is kept
        self.received = 0  # snapshots appended since clear()
        self._newest_extra = False  # the last row is the newest snapshot, off the stride
        self._data = {name: np.full(capacity, np.nan) for name in names}

    @property
    def capacity(self) -> int:
        return len(self._data["t"])

    def clear(self) -> None:
        self.n = 0
        self.generation += 1
        self.stride = 1
        self.received = 0
        self._newest_extra = False
        if self.capacity > 4096:  # give back a long run's memory
            self._data = {name: np.full(1024, np.nan) for name in self._data}

    def append(self, snapshots) -> None:
        chunk = max(1, self.max_points // 2)
        for i in range(0, len(snapshots), chunk):
            self._append(snapshots[i: i + chunk])

    def _append(self, snapshots) -> None:
        k = len(snapshots)
        if not k:
            return
        if self._newest_extra:  # replaced by this batch's newest snapshot
            self.n -= 1
            self._newest_extra = False
        start, self.received = self.received, self.received + k
        keep = list(snapshots[(-start) % self.stride:: self.stride])
        if (start + k - 1) % self.stride:
            keep.append(snapshots[-1])
            self._newest_extra = True
        m = len(keep)
        if self.n + m > self.capacity:
            new = max(2 * self.capacity, self.n + m)
            for name, old in self._data.items():
                grown = np.full(new, np.nan)
                grown[: self.n] = old[: self.n]
                self._data[name] = grown
        for name, column in self._data.items():
            column[self.n: self.n + m] = [_number(getattr(s, name)) for s in keep]
        self.n += m
        while self.n > self.max_points:
            self._thin()

    def _thin(self) -> None:
        """Keep every other row on the stride (and the newest row); the stride doubles."""
        on_stride = self.n - (1 if self._newest_extra else 0)
        rows = np.arange(0, on_stride, 2)
        newest = self.n - 1
        self._newest_extra = rows[-1] != newest
        if self._newest_extra:
            rows = np.append(rows, newest)
        for column in self._data.values():
            column[: len(rows)] = column[rows]
        self.n = len(rows)
        self.stride *= 2
        self.generation += 1

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name][: self.n]


def _number(value) -> float:
    return math.nan if value is None else float(value)


#: Dash and gap of a dashed curve, in pen widths: three curves' dashes tile a line.
DASHES = (4.0, 8.0)


@dataclass(frozen=True)
class Curve:
    field: str
    name: str
    color: str
    scale: float = 1.0
    width: float = 2.0
    #: shown only once it is above zero: work most methods never do (Hessian-vector products
    #: are a matrix-free method's Jacobian work) is not listed as "0 so far" for every other
    optional: bool = False
    #: a value held over each step (the step size h of the step that ended at this snapshot):
    #: drawn as a staircase, the same while stepping one step at a time and for a whole run
    steps: bool = False
    #: None: a solid line; n: dashed (:data:`DASHES`), its dashes n pen widths along, so that
    #: curves that coincide (Jacobian evaluations and LU factorisations for lsoda, gradient and
    #: Jacobian evaluations for lm) show in turns over a solid one, never one hidden under another
    dash_offset: int | None = None

    @property
    def pen(self):
        pen = pg.mkPen(self.color, width=self.width)
        if self.dash_offset is not None:
            pen.setDashPattern(list(DASHES))
            pen.setDashOffset(self.dash_offset)
        return pen

    @property
    def step_mode(self) -> str | None:
        """pyqtgraph's stepMode: "left" holds each y from the previous point's x to its own."""
        return "left" if self.steps else None


@dataclass(frozen=True)
class PlotSpec:
    key: str
    title: str  # short: it must fit above a third of the window
    y_label: str
    y_units: str
    log_y: bool
    curves: tuple[Curve, ...]
    tooltip: str = ""
    legend_columns: int = 4  # at most; fewer when the plot is narrow
    missing: str = "not reported: {}"  # the footnote naming curves without any data
    y_limits: tuple[float, float] | None = None  # what the quantity can be (accuracy: 0–100 %)


ACCURACY_CURVES = (Curve("accuracy_train", "train", TRAIN, 100.0),
                   Curve("accuracy_test", "test", TEST, 100.0))
ACCURACY_LIMITS = (0.0, 100.0)  # %: the y axis never shows more than all or less than none
RMS_CURVES = (Curve("rms_train", "train", TRAIN), Curve("rms_test", "test", TEST))

SPECS: tuple[PlotSpec, ...] = (
    PlotSpec("loss", "Loss", "loss L(θ)", "", True,
             (Curve("loss_train", "train", TRAIN), Curve("loss_test", "test", TEST)),
             "The loss on the training data (what is minimised) and on held-out test data.",
             missing="not measured (no test data): {}"),
    PlotSpec("metric", "Accuracy", "accuracy", "%", False, ACCURACY_CURVES,
             "Share of points classified correctly (classification) or the RMS error of the "
             "fit (regression), on train and test data.",
             missing="not measured (no test data): {}", y_limits=ACCURACY_LIMITS),
    PlotSpec("h", "Step size h", "h", "time units", True,
             (Curve("h", "step size h", "#2ca02c", steps=True),), tip("h")),
    PlotSpec("lambda", "Stiffness: λmax", "λmax", "1/time", True,
             (Curve("lambda_max", "λmax", "#9467bd"),), tip("lambda_max")),
    PlotSpec("hlam", "Stability: h·λmax", "h·λmax", "", False,  # no unit: a plain number
             (Curve("h_lambda_max", "h·λmax", "#8c564b"),), tip("h_lambda_max")),
    PlotSpec("work", "Solver work (cumulative)", "count", "", True,
             (Curve("n_grad", "gradient evals", "#1f77b4", width=2.5),
              Curve("n_grad_fd", "of which for FD Jacobians", "#7f7f7f", optional=True,
                    dash_offset=8),
              Curve("n_hvp", "Hv products", "#e377c2", optional=True, dash_offset=0),
              Curve("jac_evals", "Jacobian evals", "#ff7f0e", dash_offset=4),
              Curve("lu_decomps", "LU factorisations", "#2ca02c", dash_offset=8),
              Curve("rejected", "rejected steps", "#d62728", dash_offset=0),
              Curve("newton_failures", "Newton failures", "#9467bd", dash_offset=4)),
             f"{tip('n_grad')}\n\n{tip('n_grad_fd')}\n\n{tip('n_hvp')}\n\n{tip('rejected')}\n\n"
             f"{tip('newton_failures')}",
             missing="not reported by this method: {}"),
    PlotSpec("order", "Order in use", "order p", "", False,
             (Curve("order", "order", "#17becf"),), tip("order")),
)

#: A curve with at most this many points also gets dots, so that lone points show.
SYMBOL_MAX = 30
NOT_REPORTED = "not reported by this method"
MISSING_COLOR = "#8a8a8a"
IMPLICIT_NOTE = "no bound: implicit method (A-stable / A(α)-stable)"


class LivePlot(pg.PlotWidget):
    """One titled plot with labelled axes, a legend below it (two entries or more) and its
    curves; log plots use :class:`LogAxis`, and the range grows in steps (SteadyViewBox)."""

    def minimumSizeHint(self):  # noqa: N802 (Qt naming)
        return plot_minimum(self)

    def __init__(self, spec: PlotSpec, parent=None):
        self.view = SteadyViewBox(log_y=spec.log_y)
        axes = {"left": LogAxis("left")} if spec.log_y else {}
        axes["bottom"] = LogAxis("bottom")  # a plain axis until the x axis goes logarithmic
        super().__init__(parent, viewBox=self.view, axisItems=axes)
        self.spec = spec
        self.title = spec.title
        item = self.getPlotItem()
        item.setTitle(spec.title, size="11pt")
        item.setLabel("left", spec.y_label, units=spec.y_units or None)
        item.showGrid(x=False, y=False)  # grids cost more to paint than all the curves
        for axis in ("left", "bottom"):
            item.getAxis(axis).enableAutoSIPrefix(False)
            # a label may reach 15 px past the axis' end ("1000" at the right end still shows)
            item.getAxis(axis).setStyle(hideOverlappingLabels=False)
        # the y axis starts wide enough for "0.0005" and never narrows during a run: a new
        # label width would relayout and repaint the whole plot; plots in a column line up
        left = item.getAxis("left")
        left.setStyle(autoReduceTextSpace=False)
        left.textWidth = max(left.textWidth, self.fontMetrics().horizontalAdvance("0.0005"))
        left._updateWidth()
        item.setLogMode(False, spec.log_y)
        if spec.y_limits is not None:
            self.view.set_y_limits(spec.y_limits)
        item.layout.setContentsMargins(2, 2, 14, 2)  # room for the last x label ("1000")
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        item.ctrl.logXCheck.toggled.connect(self._log_x_toggled)  # ours or its context menu
        self._drawn_from = None  # (columns, x field) of the last refresh: redrawn on log x
        self.legend = BottomLegend(item, max_columns=spec.legend_columns)
        self.note = PlotNote(self.view)
        self.empty_note = NOT_REPORTED  # shown when the run has data but this plot has none
        self._fixed_note: str | None = None
        self.curves: list[tuple[Curve, pg.PlotDataItem]] = []
        self.lines: list[pg.InfiniteLine] = []
        self._line_legend: list[tuple[pg.PlotDataItem, str]] = []
        self._states: dict[str, str] = {}  # field → drawn, zero (so far) or missing (no data)
        self._x_range: tuple[float, float] | None = None
        self._set_curves(spec.curves)
        self.setToolTip(spec.tooltip)

    #: how long this plot's last paint took (s): what a redraw costs besides handing it data
    paint_seconds = 0.0

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        begin = time.perf_counter()
        super().paintEvent(event)
        self.paint_seconds = time.perf_counter() - begin

    def _set_curves(self, curves) -> None:
        for _, item in self.curves:
            self.getPlotItem().removeItem(item)
            self.getPlotItem().removeItem(item.dots)
        self.curves = []
        for curve in curves:
            item = pg.PlotDataItem(
                [], [], pen=curve.pen, skipFiniteCheck=True,
                stepMode=curve.step_mode,
                autoDownsampleFactor=1.0)  # about two points per pixel after peak downsampling
            # dots for a curve of few points, so a lone point shows (its own item: pens and
            # brushes are set once, and PlotDataItem's symbols grow pyqtgraph's symbol atlas)
            item.dots = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(curve.color))
            item.dots.hide()
            item.drawn_key = None
            self.getPlotItem().addItem(item)
            self.getPlotItem().addItem(item.dots)
            self.curves.append((curve, item))
        self._states = {curve.field: "zero" if curve.optional else "drawn" for curve in curves}
        self._rebuild_legend()

    def _rebuild_legend(self) -> None:
        """Entries in a fixed order: drawn curves, curves at zero so far (a log axis cannot
        show 0), reference lines; curves without any data are named in one footnote."""
        self.legend.legend.clear()
        missing = []
        for curve, item in self.curves:
            state = self._states[curve.field]
            if curve.optional and state != "drawn":
                continue  # not this method's work (or none yet): not named at all
            if state == "missing":
                missing.append(curve.name)
            elif state == "zero":
                self.legend.legend.addItem(item, f"{curve.name} (0 so far)")
                self.legend.label(item).setText(f"{curve.name} (0 so far)",
                                                color=MISSING_COLOR)
            else:
                self.legend.legend.addItem(item, curve.name)
        for sample, text in self._line_legend:
            self.legend.legend.addItem(sample, text)
        every_curve = len(missing) == sum(not c.optional for c, _ in self.curves)
        self.legend.set_footnote([self.fixed_note, self.spec.missing.format(", ".join(missing))
                                  if missing and not every_curve else None])
        self.legend.relayout()

    @property
    def fixed_note(self) -> str | None:
        """A note shown whatever the data (e.g. "no bound: …"), first in the footnote: under
        the plot, never over its curves."""
        return self._fixed_note

    @fixed_note.setter
    def fixed_note(self, text: str | None) -> None:
        if text != self._fixed_note:
            self._fixed_note = text
            self._rebuild_legend()

    def set_reference_line(self, value: float | None, label: str) -> None:
        """A dashed horizontal line (edge of stability, stability bound) named with its value
        in the legend, or none."""
        for line in self.lines:
            self.getPlotItem().removeItem(line)
        self.lines, self._line_legend = [], []
        if value is not None and math.isfinite(value) and value > 0:
            pen = pg.mkPen("#444444", width=2, style=Qt.PenStyle.DashLine)
            pos = math.log10(value) if self.spec.log_y else value
            line = pg.InfiniteLine(pos=pos, angle=0, pen=pen)
            self.getPlotItem().addItem(line, ignoreBounds=False)
            sample = pg.PlotDataItem([], [], pen=pen)
            self.lines = [line]
            self._line_legend = [(sample, f"{label} = {compact(value, 3)}")]
        self._rebuild_legend()

    def legend_names(self) -> list[str]:
        return self.legend.names()

    def set_log_x(self, on: bool) -> None:
        """A logarithmic x axis (also in the plot's right-click menu: Plot Options ▸
        Transforms ▸ Log X)."""
        self.getPlotItem().setLogMode(x=on)

    def _log_x_toggled(self, on: bool) -> None:
        self.view.log_x = on
        for item in self.curve_items():
            item.drawn_key = None  # the points at x = 0 leave or come back
        if self._drawn_from is not None:
            self.refresh(*self._drawn_from)

    def curve_items(self) -> list[pg.PlotDataItem]:
        return [item for _, item in self.curves]

    def refresh(self, columns: SnapshotColumns, x_field: str) -> int:
        """Hand the current data to every curve; returns how many points are drawn."""
        self._drawn_from = (columns, x_field)
        x = columns[x_field]
        self.view.x_extent = x_extent(x, self.view.log_x) if columns.n else None
        x_range = self._nice_x(self.view.x_extent)
        if x_range != self._x_range:  # the axis grows with the run, even where a sparse
            self._x_range = x_range  # curve (λmax, probed now and then) gained no point
            self.view.updateAutoRange()
        drawn = 0
        states = {}
        for curve, item in self.curves:
            y = columns[curve.field]
            ok, count = self._drawable(x, y)
            drawn += count
            states[curve.field] = ("drawn" if count or (columns.n == 0 and not curve.optional)
                                   else "missing" if np.isnan(y).all() and not curve.optional
                                   else "zero")
            key = (x_field, columns.generation, count)
            if key == item.drawn_key:
                continue  # append-only columns: the same number of points is the same data
            item.drawn_key = key
            dots = self._set_curve_data(item, curve, x, y, ok, count)
            if dots is not None:
                item.dots.setData(x=dots[0], y=dots[1])
            item.dots.setVisible(dots is not None)
        if states != self._states:  # rare: a run's first data, or a count leaving zero
            self._states = states
            self._rebuild_legend()
        if self.spec.key == "order" and drawn:
            top = float(np.nanmax(columns["order"]))
            if self.view.y_fixed != (0.0, top + 1):  # whole orders only, 0 … highest + 1
                self.view.y_fixed = (0.0, top + 1)
                every = 1 if top <= 6 else 2
                self.getPlotItem().getAxis("left").setTicks(
                    [[(p, str(p)) for p in range(0, int(top) + 2, every)]])
                self.view.enableAutoRange(y=True)
        self._show_note(empty=columns.n > 0 and drawn == 0)
        return drawn

    def _nice_x(self, extent) -> tuple[float, float] | None:
        if extent is None:
            return None
        if self.view.log_x:
            return nice_log_range(math.log10(extent[0]), math.log10(extent[1]))
        return nice_x_range(*extent)

    def _drawable(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
        """Which points can be drawn (finite; positive on a log axis), and how many."""
        ok = np.isfinite(y) & np.isfinite(x)
        if self.spec.log_y:
            ok &= y > 0
        if self.view.log_x:
            ok &= x > 0
        return ok, int(np.count_nonzero(ok))

    def _set_curve_data(self, item, curve: Curve, x, y, ok, count: int):
        """Hand the drawable points (scaled) to ``item``; returns them as its dots want them
        (a ScatterPlotItem has no log mode: log10 values) when they are few, else None."""
        xs, ys = (x, y) if count == len(x) else (x[ok], y[ok])
        if curve.scale != 1.0:
            ys = ys * curve.scale
        item.setData(xs, ys)
        if 0 < count <= SYMBOL_MAX:
            return (np.log10(xs) if self.view.log_x else xs,
                    np.log10(ys) if self.spec.log_y else ys)
        return None

    def _show_note(self, empty: bool) -> None:
        """The empty note when the run has data but this plot has none; the reference lines
        then step aside (the legend still names them): "not measured" was printed over a
        dashed 2/η line that had nothing to be compared with."""
        for line in self.lines:
            line.setVisible(not empty)
        self.note.show_text(self.empty_note if empty else None)

    def set_title(self, title: str) -> None:
        if title != self.title:
            self.title = title
            self.getPlotItem().setTitle(title, size="11pt")

    def show_metric(self, accuracy: bool) -> None:
        """Accuracy (%) or the RMS error: title, y label and curves."""
        self.set_title("Accuracy" if accuracy else "RMS error")
        self.getPlotItem().setLabel("left", "accuracy" if accuracy else "RMS error",
                                    units="%" if accuracy else None)
        self.view.set_y_limits(ACCURACY_LIMITS if accuracy else None)
        self._set_curves(ACCURACY_CURVES if accuracy else RMS_CURVES)


class PlotPanel(PlotGrid):
    """The grid of live plots; the data view (if given) takes the first cell."""

    def __init__(self, data_view: QWidget | None = None, parent=None):
        super().__init__(parent)
        self.columns = SnapshotColumns()
        self.plots: dict[str, LivePlot] = {spec.key: LivePlot(spec) for spec in SPECS}
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(4)
        cells = [("loss", 0, 1, 1), ("metric", 0, 2, 1), ("h", 1, 0, 1), ("lambda", 1, 1, 1),
                 ("hlam", 1, 2, 1), ("work", 2, 0, 2), ("order", 2, 2, 1)]
        if data_view is not None:
            grid.addWidget(data_view, 0, 0)
        for key, row, col, span in cells:
            grid.addWidget(self.plots[key], row, col, 1, span)
        for i in range(3):
            grid.setColumnStretch(i, 1)
            grid.setRowStretch(i, 1)
        self.enable_zoom(grid)
        self.detail, self.rows = [self.plots["work"], self.plots["order"]], 3
        self.set_x_mode("t")

    # -- data ------------------------------------------------------------------------------
    def append(self, snapshots) -> None:
        self.columns.append(snapshots)
        self._mark_stale()

    def clear(self) -> None:
        self.columns.clear()
        self.plots["order"].view.y_fixed = None
        self.plots["order"].getPlotItem().getAxis("left").setTicks(None)
        self.refresh()

    # -- settings --------------------------------------------------------------------------
    def set_task(self, task: str) -> None:
        """Classification shows accuracy (%), regression the RMS error."""
        plot = self.plots["metric"]
        plot.show_metric(task == "classification")
        plot.refresh(self.columns, self.x_mode)

    def set_experiment(self, exp) -> None:
        """Reference lines and notes for ``exp``'s method and stiffness probe."""
        solver = exp.solver
        self.set_method(solver.info, solver.learning_rate, solver.momentum)
        probe = exp.probe
        off = probe.stiffness_every == 0 and probe.stiffness_every_dt is None
        for key, what in (("lambda", "λmax"), ("hlam", "h·λmax")):
            self.plots[key].empty_note = (
                f"{what} not measured: the stiffness probe is off (Measurements ▸ λmax every)"
                if off else f"no {what} measured yet")

    def set_method(self, info: MethodInfo, learning_rate: float, momentum: float) -> None:
        """Reference lines: GD's edge of stability 2/η, and the method's stability bound; or a
        note saying why there is no bound."""
        edge, label = None, "edge of stability 2/η"
        bound, bound_label = info.stability_bound, "stability bound"
        if info.name == "gd":
            edge = 2.0 / learning_rate
        elif info.name == "momentum":
            edge, label = 2.0 * (1 + momentum) / learning_rate, "edge of stability 2(1+β)/η"
            bound, bound_label = 2.0 * (1 + momentum), "stability bound 2(1+β)"
        self.plots["lambda"].set_reference_line(edge, label)
        hlam = self.plots["hlam"]
        hlam.set_reference_line(bound if math.isfinite(bound) else None, bound_label)
        if math.isfinite(bound):
            hlam.fixed_note = None
        elif info.implicit:
            hlam.fixed_note = IMPLICIT_NOTE
        elif info.name == "adam":
            hlam.fixed_note = "no fixed bound: Adam rescales every step"
        elif info.family == "stabilised":  # each snapshot's stability_bound holds its β(s)
            hlam.fixed_note = (f"no fixed bound: {info.name} picks s stages a step, "
                               "stable to 0.65·s²")
        else:
            hlam.fixed_note = f"no fixed bound: {info.label} varies its order and step"
        hlam.refresh(self.columns, self.x_mode)
