"""Live plots of a run: loss, accuracy or RMS error, step size, stiffness, solver work, order.

Snapshots are appended to preallocated, doubling numpy columns (:class:`SnapshotColumns`); the
window's redraw timer calls :meth:`PlotPanel.refresh` when new data came in, which hands views of
those columns to ``PlotDataItem.setData`` (peak downsampling, clip to view). ``None`` in a
snapshot (not measured) becomes NaN and is simply not drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QWidget

from odeprop.core.methods import MethodInfo

from .tooltips import tip

#: x-axis modes: key → (menu label, axis label, units)
X_MODES: dict[str, tuple[str, str, str]] = {
    "t": ("ODE time t", "ODE time t", "time units"),
    "step": ("Solver steps", "accepted solver steps", "steps"),
    "n_grad": ("Gradient evaluations", "gradient evaluations ∇L", "calls"),
    "wall": ("Wall time", "wall-clock time", "s"),
}

COLUMNS = ("t", "step", "n_grad", "wall", "loss_train", "loss_test", "accuracy_train",
           "accuracy_test", "rms_train", "rms_test", "h", "lambda_max", "h_lambda_max",
           "rejected", "newton_failures", "jac_evals", "lu_decomps", "order")

TRAIN, TEST = "#1f77b4", "#d62728"  # blue and red: distinguishable on a projector
pg.setConfigOptions(antialias=False, background="w", foreground="#202020")


class SnapshotColumns:
    """Growing float columns, one per plotted snapshot field; capacity doubles when full."""

    def __init__(self, capacity: int = 1024):
        self.n = 0
        self._data = {name: np.full(capacity, np.nan) for name in COLUMNS}

    @property
    def capacity(self) -> int:
        return len(self._data["t"])

    def clear(self) -> None:
        self.n = 0

    def append(self, snapshots) -> None:
        k = len(snapshots)
        if self.n + k > self.capacity:
            new = max(2 * self.capacity, self.n + k)
            for name, old in self._data.items():
                grown = np.full(new, np.nan)
                grown[: self.n] = old[: self.n]
                self._data[name] = grown
        for name, column in self._data.items():
            column[self.n: self.n + k] = [_number(getattr(s, name)) for s in snapshots]
        self.n += k

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name][: self.n]


def _number(value) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class Curve:
    field: str
    name: str
    color: str
    scale: float = 1.0
    width: float = 2.0


@dataclass(frozen=True)
class PlotSpec:
    key: str
    title: str
    y_label: str
    y_units: str
    log_y: bool
    curves: tuple[Curve, ...]
    tooltip: str = ""
    legend_at: tuple[int, int] = (-8, 8)  # pyqtgraph legend offset: sign picks the corner


ACCURACY_CURVES = (Curve("accuracy_train", "train", TRAIN, 100.0),
                   Curve("accuracy_test", "test", TEST, 100.0))
RMS_CURVES = (Curve("rms_train", "train", TRAIN), Curve("rms_test", "test", TEST))

SPECS: tuple[PlotSpec, ...] = (
    PlotSpec("loss", "Loss", "loss L(θ)", "", True,
             (Curve("loss_train", "train", TRAIN), Curve("loss_test", "test", TEST)),
             "The loss on the training data (what is minimised) and on held-out test data."),
    PlotSpec("metric", "Accuracy", "accuracy", "%", False, ACCURACY_CURVES,
             "Share of points classified correctly (classification) or the RMS error of the "
             "fit (regression), on train and test data.", (-8, -8)),
    PlotSpec("h", "Step size h", "h", "time units", True,
             (Curve("h", "step size h", "#2ca02c"),), tip("h"), (-8, -8)),
    PlotSpec("lambda", "Stiffness: λmax of the Hessian", "λmax", "1/time", True,
             (Curve("lambda_max", "λmax", "#9467bd"),), tip("lambda_max")),
    PlotSpec("hlam", "Stability: h·λmax", "h·λmax", "dimensionless", False,
             (Curve("h_lambda_max", "h·λmax", "#8c564b"),), tip("h_lambda_max")),
    PlotSpec("work", "Solver work (cumulative)", "count", "", True,
             (Curve("n_grad", "gradient evals", "#1f77b4"),
              Curve("jac_evals", "Jacobian evals", "#ff7f0e"),
              Curve("lu_decomps", "LU factorisations", "#2ca02c"),
              Curve("rejected", "rejected steps", "#d62728"),
              Curve("newton_failures", "Newton failures", "#9467bd")),
             f"{tip('n_grad')}\n\n{tip('rejected')}\n\n{tip('newton_failures')}", (8, 8)),
    PlotSpec("order", "Order in use", "order p", "", False,
             (Curve("order", "order", "#17becf"),), tip("order")),
)


class LivePlot(pg.PlotWidget):
    """One titled plot with labelled axes, a legend and its curves."""

    def __init__(self, spec: PlotSpec, parent=None):
        super().__init__(parent)
        self.spec = spec
        self.title = spec.title
        item = self.getPlotItem()
        item.setTitle(spec.title, size="11pt")
        item.setLabel("left", spec.y_label, units=spec.y_units or None)
        item.showGrid(x=False, y=False)  # grids cost more to paint than all the curves
        for axis in ("left", "bottom"):
            item.getAxis(axis).enableAutoSIPrefix(False)
        item.setLogMode(False, spec.log_y)
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        self.legend = item.addLegend(offset=spec.legend_at, labelTextSize="9pt")
        self.legend.setBrush(pg.mkBrush(255, 255, 255, 110))
        self._missing: set[str] = set()
        self.curves: list[tuple[Curve, pg.PlotDataItem]] = []
        self._set_curves(spec.curves)
        self.lines: list[pg.InfiniteLine] = []
        self._line_legend: list[pg.PlotDataItem] = []
        self.setToolTip(spec.tooltip)

    def _set_curves(self, curves) -> None:
        for _, item in self.curves:
            self.getPlotItem().removeItem(item)
            self.legend.removeItem(item)
        self.curves = []
        for curve in curves:
            item = self.getPlotItem().plot(
                [], [], name=curve.name, pen=pg.mkPen(curve.color, width=curve.width))
            self.curves.append((curve, item))

    def set_reference_line(self, value: float | None, label: str) -> None:
        """A dashed horizontal line (edge of stability, stability bound), or none."""
        for line in self.lines:
            self.getPlotItem().removeItem(line)
        for item in self._line_legend:
            self.legend.removeItem(item)
        self.lines, self._line_legend = [], []
        if value is None or not math.isfinite(value) or value <= 0:
            return
        pen = pg.mkPen("#444444", width=2, style=Qt.PenStyle.DashLine)
        pos = math.log10(value) if self.spec.log_y else value
        line = pg.InfiniteLine(pos=pos, angle=0, pen=pen, label=f"{value:.3g}",
                               labelOpts={"position": 0.06, "color": "#444444",
                                          "fill": (255, 255, 255, 200), "anchors": [(0, 1),
                                                                                   (0, 1)]})
        self.getPlotItem().addItem(line, ignoreBounds=False)
        sample = pg.PlotDataItem([], [], pen=pen)
        self.legend.addItem(sample, label)
        self.lines, self._line_legend = [line], [sample]

    def refresh(self, columns: SnapshotColumns, x_field: str) -> int:
        """Hand the current data to every curve; returns how many points are drawn."""
        x = columns[x_field]
        drawn = 0
        for curve, item in self.curves:
            y = columns[curve.field]
            ok = np.isfinite(y) & np.isfinite(x)
            if self.spec.log_y:
                ok &= y > 0
            if ok.all():
                xs, ys = x, y
            else:
                xs, ys = x[ok], y[ok]
            if curve.scale != 1.0:
                ys = ys * curve.scale
            item.setData(xs, ys)
            drawn += len(xs)
            missing = columns.n > 0 and len(xs) == 0
            if missing != (curve.field in self._missing):
                self._missing.symmetric_difference_update({curve.field})
                label = self.legend.getLabel(item)
                if label is not None:
                    label.setText(f"{curve.name} (not reported)" if missing else curve.name)
        if self.spec.key == "order" and drawn:
            top = np.nanmax(columns["order"]) if columns.n else 5
            self.getPlotItem().setYRange(0, top + 1, padding=0)
        if columns.n and drawn == 0:
            self.getPlotItem().setTitle(f"{self.title} — not reported by this method",
                                        size="11pt")
        else:
            self.getPlotItem().setTitle(self.title, size="11pt")
        return drawn


class PlotPanel(QWidget):
    """The grid of live plots; the data view (if given) takes the first cell."""

    def __init__(self, data_view: QWidget | None = None, parent=None):
        super().__init__(parent)
        self.columns = SnapshotColumns()
        self._stale: dict[str, None] = {}  # plots with undrawn data, in the order they went stale
        self.x_mode = "t"
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
        self.set_x_mode("t")

    # -- data ------------------------------------------------------------------------------
    def append(self, snapshots) -> None:
        self.columns.append(snapshots)
        for key in self.plots:
            self._stale.setdefault(key)

    def clear(self) -> None:
        self.columns.clear()
        self.refresh()

    def refresh(self) -> None:
        """Redraw every plot now."""
        for plot in self.plots.values():
            plot.refresh(self.columns, self.x_mode)
        self._stale.clear()

    def refresh_some(self, limit: int = 4) -> bool:
        """Redraw up to ``limit`` plots that have new data, oldest first; True if any.

        Painting eight plots in one timer tick costs more than a tick on a software-rendered
        display, so the window spreads them over successive ticks (each plot still updates
        about 15 times a second).
        """
        for key in list(self._stale)[:limit]:
            self.plots[key].refresh(self.columns, self.x_mode)
            del self._stale[key]
        return bool(self._stale)

    # -- settings --------------------------------------------------------------------------
    def set_x_mode(self, mode: str) -> None:
        """Switch the x axis of every plot: t, step, n_grad or wall."""
        if mode not in X_MODES:
            raise ValueError(f"unknown x-axis mode {mode!r}; choose one of {', '.join(X_MODES)}")
        self.x_mode = mode
        _, label, units = X_MODES[mode]
        for plot in self.plots.values():
            plot.getPlotItem().setLabel("bottom", label, units=units)
            plot.getPlotItem().enableAutoRange()
        self.refresh()

    def set_task(self, task: str) -> None:
        """Classification shows accuracy (%), regression the RMS error."""
        plot = self.plots["metric"]
        classify = task == "classification"
        plot.title = "Accuracy" if classify else "RMS error"
        plot.getPlotItem().setLabel("left", "accuracy" if classify else "RMS error",
                                    units="%" if classify else None)
        plot._set_curves(ACCURACY_CURVES if classify else RMS_CURVES)
        plot.refresh(self.columns, self.x_mode)

    def set_method(self, info: MethodInfo, learning_rate: float, momentum: float) -> None:
        """Reference lines: GD's edge of stability 2/η, and the method's stability bound."""
        edge, label = None, "2/η (edge of stability)"
        if info.name == "gd":
            edge = 2.0 / learning_rate
        elif info.name == "momentum":
            edge, label = 2.0 * (1 + momentum) / learning_rate, "2(1+β)/η (edge of stability)"
        self.plots["lambda"].set_reference_line(edge, label)
        bound = info.stability_bound
        self.plots["hlam"].set_reference_line(
            bound if math.isfinite(bound) else None, f"stability bound of {info.name}")
