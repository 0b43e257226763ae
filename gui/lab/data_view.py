"""What the network has learnt, drawn over the data: decision surface, fitted curve, confusion.

Two input features: the network's output over the plane as a heatmap with the train and test
points. One input, regression: the fitted curve over the data. Otherwise (784 inputs, say):
the confusion matrix. All numbers come from :mod:`odeprop.core.views`; this widget only draws
them. During a run they are computed off the GUI thread (:meth:`DataView.model_view`, called by
the run's receiving thread): a confusion matrix of a 10⁵-parameter network on 1,000–2,500 test
points takes 15–25 ms, most of a redraw tick.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from functools import partial

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Signal

from odeprop.core import views
from odeprop.core.run import Problem

from ..common.model_colours import CLASS_COLORS, REFRESH_SECONDS, binary_map, class_map
from ..common.plot_parts import BottomLegend, plot_minimum

pg.setConfigOptions(antialias=False, background="w", foreground="#202020")


def _abbreviate(name, chars: int) -> str:
    """``name`` cut to ``chars`` characters, the cut marked with a full stop."""
    name = str(name)
    return name if len(name) <= chars else name[: chars - 1] + "."


def _short(name: str) -> str:
    return name.split(" (", 1)[0]


def _plain(text: str) -> str:
    """A data name (a CSV file's, its columns') as typed: pyqtgraph's titles read HTML."""
    return html.escape(str(text))


def _class_labels(names) -> tuple[str, list[str]]:
    """(noun, tick labels) for the confusion matrix' axes: "cluster 0" … "cluster 9" become
    "cluster" and "0" … "9", which fit under a column; other names are kept."""
    names = [str(n) for n in names]
    words = [n.split(" ", 1) for n in names]
    if len(names) > 1 and all(len(w) == 2 for w in words) and len({w[0] for w in words}) == 1:
        return words[0][0], [w[1] for w in words]
    return "class", names


#: Beyond this many characters the data's name goes on a second, smaller line of the title.
TITLE_CHARS = 34
SURFACE_RESOLUTION = 70


@dataclass(frozen=True)
class ModelView:
    """What the view draws for one θ: the problem and mode it was computed for, and the numbers
    (a :class:`~odeprop.core.views.DecisionSurface`, an (x, ŷ) pair or a confusion matrix)."""

    problem: Problem
    mode: str
    data: object


def compute_view(problem: Problem, mode: str, split: str, theta) -> ModelView | None:
    """The numbers of one view at θ (core maths on the immutable problem: any thread may call
    this); None for diverged weights, so that the last sensible picture stays."""
    theta = np.asarray(theta)
    if not np.all(np.isfinite(theta)):
        return None
    with np.errstate(all="ignore"):
        if mode == "surface":
            data = views.decision_surface(problem, theta, resolution=SURFACE_RESOLUTION)
        elif mode == "curve":
            data = views.regression_curve(problem, theta)
        else:
            data = views.confusion_matrix(problem, theta, split=split)
    return ModelView(problem, mode, data)


class DataView(pg.PlotWidget):
    """The model over its data; ``mode`` is "surface", "curve", "confusion" or "empty"."""

    problem_changed = Signal(object)  # the Problem now shown (at θ0), or None

    def minimumSizeHint(self):  # noqa: N802 (Qt naming)
        return plot_minimum(self)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.mode = "empty"
        self.problem: Problem | None = None
        self._theta: np.ndarray | None = None
        self._view: ModelView | None = None  # computed elsewhere, waiting to be drawn
        self._split = "test"
        self._pending = False
        self._last_draw = 0.0
        self.updates = 0  # how many times the model view was drawn (tests, benchmarks)
        self.item = self.getPlotItem()
        self.item.setTitle("Data", size="11pt")
        self.legend = BottomLegend(self.item)  # under the plot: never over the points
        self._bar = None
        self.setToolTip("What the network predicts, drawn over the data it learns from.")

    # -- inputs ------------------------------------------------------------------------------
    def set_problem(self, problem: Problem | None) -> None:
        """Draw a new dataset (and the initial weights' view); None shows an empty view."""
        self.problem = problem
        self._reset_items()
        if problem is None:
            self.mode = "empty"
            self.item.setTitle("Data: not loaded", size="11pt")
            self.problem_changed.emit(None)
            return
        data = problem.dataset
        if data.n_features == 2 and data.task == "classification":  # (classes to colour)
            self.mode = "surface"
            self._setup_surface()
        elif data.n_features == 1 and data.task == "regression":
            self.mode = "curve"
            self._setup_curve()
        else:
            self.mode = "confusion"
            self._setup_confusion()
        self.set_theta(problem.theta0)
        self.refresh(force=True)
        self.problem_changed.emit(problem)

    def set_theta(self, theta) -> None:
        """New weights from the run; drawn at the next :meth:`refresh` that is due."""
        self._theta = np.asarray(theta)
        self._view = None
        self._pending = True

    def model_view(self):
        """θ → :class:`ModelView` for the current problem and mode, for a background thread
        (the run's receiving thread) to call; None when this view draws no model."""
        if self.problem is None or self.mode not in ("surface", "curve", "confusion"):
            return None
        return partial(compute_view, self.problem, self.mode, self._split)

    def set_view(self, view: ModelView | None) -> None:
        """A view computed elsewhere (:meth:`model_view`); drawn at the next :meth:`refresh`
        that is due. One computed for another problem or mode (an older run) is dropped."""
        if view is None or view.problem is not self.problem or view.mode != self.mode:
            return
        self._view = view
        self._theta = None
        self._pending = True

    def refresh(self, force: bool = False) -> bool:
        """Draw the newest view if one came and the last draw is old enough; weights without a
        computed view are computed here (before a run, and for tests)."""
        now = time.perf_counter()
        if self.problem is None or not self._pending:
            return False
        if not force and now - self._last_draw < REFRESH_SECONDS:
            return False
        self._pending = False
        self._last_draw = now
        view, self._view = self._view, None
        if view is None and self._theta is not None and self.mode != "empty":
            view = compute_view(self.problem, self.mode, self._split, self._theta)
        if view is None:
            return False  # a diverged run: keep the last sensible picture
        if self.mode == "surface":
            self._draw_surface(view.data)
        elif self.mode == "curve":
            self._draw_curve(view.data)
        elif self.mode == "confusion":
            self._draw_confusion(view.data)
        self.updates += 1
        return True

    # -- layouts -----------------------------------------------------------------------------
    def _reset_items(self) -> None:
        self.item.clear()
        self.legend.clear()
        if self._bar is not None:
            self.item.layout.removeItem(self._bar)
            self._bar.scene().removeItem(self._bar)
            self._bar = None
        self.item.getViewBox().setAspectLocked(False)
        self.item.getViewBox().enableAutoRange()
        self.item.invertY(False)
        for axis in ("left", "bottom"):
            self.item.getAxis(axis).setTicks(None)
            self.item.getAxis(axis).enableAutoSIPrefix(False)

    def _points(self, X, y, symbol: str, name: str, classes: bool, color: str = "#333333"):
        brushes = ([pg.mkBrush(CLASS_COLORS[int(c) % len(CLASS_COLORS)]) for c in y]
                   if classes else pg.mkBrush(color))
        pen = pg.mkPen("w" if symbol == "o" else "k", width=1.2)
        size = 7 if symbol == "o" else 9
        item = pg.ScatterPlotItem(X[:, 0], X[:, 1] if X.shape[1] > 1 else y, symbol=symbol,
                                  size=size, brush=brushes, pen=pen)
        self.item.addItem(item)
        # the legend shows the marker's shape in neutral grey: colour means class, shape split
        sample = pg.ScatterPlotItem([], [], symbol=symbol, size=size, pen=pg.mkPen("k"),
                                    brush=pg.mkBrush("#9a9a9a" if classes else color))
        self.legend.add(sample, name)
        return item

    def _setup_surface(self) -> None:
        data = self.problem.dataset
        self.item.setTitle(f"Decision surface: {_plain(_short(data.name))}", size="11pt")
        binary = (data.n_classes or 2) <= 2
        cmap = binary_map() if binary else class_map(data.n_classes)
        self.image = pg.ImageItem(axisOrder="col-major")
        self.item.addItem(self.image)
        self.image.setColorMap(cmap)
        self.image.setLevels((0, 1) if binary else (0, data.n_classes - 1))
        self.item.setLabel("bottom", f"{_plain(data.feature_names[0])} (standardised)")
        self.item.setLabel("left", f"{_plain(data.feature_names[1])} (standardised)")
        self._points(data.X_train, data.y_train, "o", "train points", True)
        if data.n_test:
            self._points(data.X_test, data.y_test, "t", "test points", True)
        if binary:
            self._bar = pg.ColorBarItem(values=(0, 1), colorMap=cmap, interactive=False,
                                        width=10, label=f"P({_plain(data.target_names[-1])})")
            self._bar.setImageItem(self.image, insert_in=self.item)
        self.item.getViewBox().setAspectLocked(True)

    def _draw_surface(self, surface: views.DecisionSurface) -> None:
        xs, ys = surface.xs, surface.ys
        self.image.setImage(surface.values, autoLevels=False)
        self.image.setRect(QRectF(xs[0], ys[0], xs[-1] - xs[0], ys[-1] - ys[0]))

    def _setup_curve(self) -> None:
        data = self.problem.dataset
        self.item.setTitle(f"Fitted curve: {_plain(_short(data.name))}", size="11pt")
        self.item.setLabel("bottom", _plain(data.feature_names[0]))  # in the data's own units
        self.item.setLabel("left", _plain(data.target_names[0]))
        self.item.showGrid(x=True, y=True, alpha=0.25)
        raw = data.scale[0], data.mean[0]  # the network sees (x − mean) / scale
        self._points(data.X_train * raw[0] + raw[1], data.y_train[:, 0], "o", "train data", False)
        if data.n_test:
            self._points(data.X_test * raw[0] + raw[1], data.y_test[:, 0], "t", "test data", False,
                         "#d62728")
        self.fit = self.item.plot([], [], pen=pg.mkPen("#1f77b4", width=3))
        self.legend.add(self.fit, "network")

    def _draw_curve(self, curve) -> None:
        x, y = curve
        data = self.problem.dataset
        self.fit.setData(x * data.scale[0] + data.mean[0], y)

    def _setup_confusion(self) -> None:
        data = self.problem.dataset
        split = "test" if data.n_test else "train"
        self._split = split
        names = data.target_names if data.task == "classification" else ()
        self._set_title(f"Confusion matrix, {split} data", _plain(_short(data.name)))
        if data.task != "classification":
            self.item.setTitle(f"{_plain(data.name)}: {data.n_features}-D regression — see the RMS "
                               "plot", size="10pt")
            self.mode = "empty"
            return
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("CET-L12"))
        self.item.addItem(self.image)
        self.item.invertY(True)
        noun, labels = _class_labels(names)
        # side by side under a column, a name gets about a column's width (iris' "versicolor"
        # and "virginica" ran into each other); stacked on the left, it has more room
        self.item.getAxis("bottom").setTicks(
            [[(i + 0.5, _abbreviate(n, max(3, 24 // len(labels)))) for i, n in enumerate(labels)]])
        self.item.getAxis("left").setTicks([[(i + 0.5, _abbreviate(n, 12))
                                             for i, n in enumerate(labels)]])
        self.item.setLabel("bottom", f"predicted {_plain(noun)}")
        self.item.setLabel("left", f"true {_plain(noun)}")
        self._cells: list[pg.TextItem] = []
        for i in range(len(labels)):
            for j in range(len(labels)):
                text = pg.TextItem("", color="k", anchor=(0.5, 0.5))
                text.setPos(j + 0.5, i + 0.5)
                self.item.addItem(text)
                self._cells.append(text)
        view = self.item.getViewBox()
        view.setAspectLocked(True)
        # the matrix, whole, whatever the cell's shape (auto-range missed columns when the
        # plot was narrower than tall)
        view.setRange(xRange=(0, len(labels)), yRange=(0, len(labels)), padding=0.02)
        view.disableAutoRange()

    def _set_title(self, what: str, data_name: str) -> None:
        """"what: data" on one line, or the data's name on a second, smaller line."""
        if len(what) + len(data_name) + 2 <= TITLE_CHARS:
            self.item.setTitle(f"{what}: {data_name}", size="11pt")
        else:
            self.item.setTitle(f"{what}<br><span style='font-size:9pt'>{data_name}</span>",
                               size="11pt")

    def _draw_confusion(self, matrix: np.ndarray) -> None:
        self.confusion = matrix
        self.image.setImage(matrix.astype(float), autoLevels=False,
                            levels=(0, max(1, matrix.sum(axis=1).max())))
        for k, text in enumerate(self._cells):
            value = matrix.flat[k]
            text.setText(str(value) if matrix.shape[0] <= 12 else "")
