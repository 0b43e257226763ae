"""The stiffness lens's two plots: the Hessian spectrum, and the complex plane z = −h·λ with the
method's region of absolute stability.

Both draw whatever they are handed (a spectrum, a :class:`~odeprop.gui.lens.regions.Region`)
and keep the untransformed data they drew (``points``) for tests and export; the symmetric-log
scale (:mod:`odeprop.gui.lens.axes`) only changes plot coordinates.
"""

from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from ..common import plots as _lab_style  # noqa: F401 (the lab's pyqtgraph options: white plots)
from ..common.log_axis import compact
from ..common.plot_parts import BottomLegend, FittedTitle, PlotNote
from .axes import SymLogAxis, linear_threshold, symlog
from .regions import Region, outline, outline_extent

#: How each eigen-direction fares, the same in both views: decays (inside the region),
#: unstable (λ > 0 but outside: the method amplifies what the flow damps), saddle (λ < 0: the
#: flow itself grows there, so leaving the region is faithful, not a failure).
STABLE, UNSTABLE, SADDLE = 0, 1, 2
KIND_STYLES = {  # brush, pen, symbol, size
    STABLE: ((31, 119, 180, 170), "#0d3c61", "o", 7),
    UNSTABLE: ("#d62728", "#7f0000", "d", 10),
    SADDLE: ("#9467bd", "#3f1d66", "t", 9),
}
STABLE_FILL, UNSTABLE_FILL, BOUNDARY = "#d5ecd1", "#ffffff", "#2e7d32"
LIMIT = "#444444"
#: Eigenvalues below −NEGATIVE_REL·max|λ| count as negative (round-off leaves ±1e-12 on zeros).
NEGATIVE_REL = 1e-6
#: In "auto" scale the plane turns symmetric-log once the points reach this many region sizes.
AUTO_SYMLOG_SPREAD = 6.0
#: Symmetric-log plane: the linear band around 0 (regions have sizes 1–20, points reach 10⁵).
PLANE_THRESHOLD = 0.1
SCALES = {"auto": "Auto", "linear": "Linear: region and points",
          "points": "Zoom to the points", "symlog": "Symmetric log"}


def negative_mask(eigenvalues: np.ndarray) -> np.ndarray:
    """Clearly negative eigenvalues: below −NEGATIVE_REL·max|λ|."""
    eigenvalues = np.asarray(eigenvalues, dtype=float)
    finite = eigenvalues[np.isfinite(eigenvalues)]
    scale = float(np.max(np.abs(finite))) if len(finite) else 0.0
    return eigenvalues < -NEGATIVE_REL * max(scale, 1e-300)


def classify(eigenvalues: np.ndarray, outside: np.ndarray | None) -> np.ndarray:
    """STABLE, UNSTABLE or SADDLE for each eigenvalue (``outside``: its z leaves the region).

    Only a decaying direction (λ > 0) can be numerically unstable; a λ within round-off of 0
    that is not clearly negative counts as stable wherever its z ≈ 0 falls."""
    eigenvalues = np.asarray(eigenvalues, dtype=float)
    saddle = negative_mask(eigenvalues)
    kinds = np.full(len(saddle), STABLE)
    if outside is not None:
        kinds[np.asarray(outside, dtype=bool) & (eigenvalues > 0)] = UNSTABLE
    kinds[saddle] = SADDLE
    return kinds


def _kind_scatters(plot_item: pg.PlotItem) -> dict[int, pg.ScatterPlotItem]:
    scatters = {}
    for kind, (brush, pen, symbol, size) in KIND_STYLES.items():
        scatter = pg.ScatterPlotItem(size=size, pen=pg.mkPen(pen), brush=pg.mkBrush(brush),
                                     symbol=symbol)
        plot_item.addItem(scatter)
        scatters[kind] = scatter
    return scatters


def _set_legend(legend: BottomLegend, entries) -> None:
    """Entries (item, plain text) in order; the text is escaped (LabelItem reads HTML). The
    same entries again change nothing (rebuilding both legends was half of a lens update)."""
    key = [(id(it), text) for it, text in entries]
    if getattr(legend, "shown_entries", None) == key:
        return
    legend.shown_entries = key
    legend.legend.clear()
    for it, text in entries:
        legend.legend.addItem(it, html.escape(text))
    legend.relayout()


def _style_axes(item: pg.PlotItem) -> None:
    for axis in ("left", "bottom"):
        item.getAxis(axis).enableAutoSIPrefix(False)
        item.getAxis(axis).setStyle(hideOverlappingLabels=False)
    item.layout.setContentsMargins(2, 2, 14, 2)


class _TitledView(pg.PlotWidget):
    """A plot whose title (``fitted_title``) wraps to its width."""

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        if "fitted_title" in self.__dict__:  # pyqtgraph resizes before the title is made
            self.fitted_title.fit()


class SpectrumView(_TitledView):
    """Eigenvalues λᵢ against their index (ascending) on a symmetric-log y axis, coloured by
    :func:`classify`; a dashed line at the method's limit bound/h (eigenvalues above it leave
    the region)."""

    def __init__(self, parent=None):
        self.y_axis = SymLogAxis("left")
        super().__init__(parent, axisItems={"left": self.y_axis})
        self.title = "Hessian spectrum"
        item = self.getPlotItem()
        self.fitted_title = FittedTitle(self)
        self.fitted_title.set(self.title)
        item.setLabel("left", "λᵢ", units="1/time")  # short: the plot is low in a narrow dock
        item.setLabel("bottom", "index i (ascending)")
        _style_axes(item)
        item.setMenuEnabled(False)
        self.zero = pg.InfiniteLine(pos=0.0, angle=0, pen=pg.mkPen("#9e9e9e", width=1))
        limit_pen = pg.mkPen(LIMIT, width=2, style=Qt.PenStyle.DashLine)
        self.limit = pg.InfiniteLine(pos=0.0, angle=0, pen=limit_pen)
        self.limit.hide()
        self.limit_sample = pg.PlotDataItem([], [], pen=limit_pen)
        for it in (self.zero, self.limit):
            item.addItem(it, ignoreBounds=True)
        self.scatters = _kind_scatters(item)
        self.legend = BottomLegend(item, max_columns=3)
        self.note = PlotNote(self.getViewBox())
        self.getViewBox().setMouseEnabled(x=True, y=True)
        self.points: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0))
        self.kinds = np.empty(0, dtype=int)
        self.threshold = 1.0
        self.show_spectrum(None)

    def show_spectrum(self, spectrum, n_params: int | None = None,
                      limit: tuple[float, str] | None = None, outside: np.ndarray | None = None,
                      note: str | None = None) -> None:
        """Draw ``spectrum`` (None: clear, with ``note`` as the message); ``limit`` is
        (λ value, legend text) of the method's stability limit, or None; ``outside`` marks the
        eigenvalues whose z = −h·λ leaves the region."""
        if spectrum is None:
            self.points = (np.empty(0), np.empty(0))
            self.kinds = np.empty(0, dtype=int)
            for scatter in self.scatters.values():
                scatter.setData([], [])
            self.limit.hide()
            _set_legend(self.legend, [])
            self.note.show_text(note or "no spectrum yet")
            self.fitted_title.set(self.title)
            self.getPlotItem().setLabel("bottom", "index i (ascending)")
            return
        lam = np.asarray(spectrum.eigenvalues, dtype=float)
        finite = np.isfinite(lam)
        index = self._indices(len(lam), spectrum.complete, n_params)
        kinds = classify(lam, outside)[finite]
        lam, index = lam[finite], index[finite]
        self.points, self.kinds = (index, lam), kinds
        c = linear_threshold(lam)
        self.threshold = c
        self.y_axis.set_threshold(c)
        y = symlog(lam, c)
        texts = {STABLE: "λ ≥ 0, inside", UNSTABLE: "outside the region", SADDLE: "λ < 0: saddle"}
        entries = []
        for kind, scatter in self.scatters.items():
            mine = kinds == kind
            scatter.setData(index[mine], y[mine])
            if mine.any():
                entries.append((scatter, texts[kind]))
        top = float(np.max(lam)) if len(lam) else 0.0
        if limit is not None and math.isfinite(limit[0]) and limit[0] > 0:
            self.limit.setValue(float(symlog(limit[0], c)))
            self.limit.show()
            top = max(top, limit[0])
        else:
            self.limit.hide()
            limit = None
        if limit is not None:
            entries.append((self.limit_sample, limit[1]))
        _set_legend(self.legend, entries)
        # short: a title wider than the plot widens the plot past its widget's right edge,
        # and the largest eigenvalues (drawn there) with it; what is shown goes under the axis
        self.fitted_title.set(f"Hessian spectrum at step {spectrum.step}")
        if spectrum.complete:
            axis = f"index i of {len(lam):,} (ascending, all)"
        elif n_params:
            axis = f"index i of {n_params:,} (both ends, by Lanczos)"
        else:
            axis = "index i (both ends, by Lanczos)"
        self.getPlotItem().setLabel("bottom", axis)
        self.note.show_text(note or None)
        low = float(np.min(lam)) if len(lam) else 0.0
        y_lo, y_hi = float(symlog(min(low, 0.0), c)), float(symlog(top, c))
        pad = 0.06 * max(y_hi - y_lo, 1e-9)
        n = max(float(index[-1]) if len(index) else 1.0, 1.0)
        x_pad = 0.0 if spectrum.complete else 0.03 * n  # the ends' markers whole, not halved
        self.getViewBox().setRange(xRange=(-x_pad, n + 1.0 + x_pad),
                                   yRange=(y_lo - pad, y_hi + pad), padding=0.0)

    @staticmethod
    def _indices(m: int, complete: bool, n_params: int | None) -> np.ndarray:
        """1…m for a whole spectrum; Lanczos ends at their true places 1…k and N−k'+1…N."""
        if complete or not n_params or n_params <= m:
            return np.arange(1, m + 1, dtype=float)
        low = m // 2
        return np.concatenate([np.arange(1, low + 1),
                               np.arange(n_params - (m - low) + 1, n_params + 1)]).astype(float)


class RegionView(_TitledView):
    """The complex plane z = h·λ_J = −h·λᵢ(H): the stable set shaded green with its boundary,
    the real-axis bound dashed, and one point per eigenvalue coloured by :func:`classify`."""

    def __init__(self, parent=None):
        self.x_axis, self.y_axis = SymLogAxis("bottom"), SymLogAxis("left")
        super().__init__(parent, axisItems={"bottom": self.x_axis, "left": self.y_axis})
        item = self.getPlotItem()
        self.fitted_title = FittedTitle(self)
        self.fitted_title.set("Stability region")
        item.setLabel("bottom", "Re z,  z = −h·λᵢ")
        item.setLabel("left", "Im z")
        _style_axes(item)
        item.setMenuEnabled(False)
        self.view = self.getViewBox()
        self.view.setAspectLocked(True, 1.0)
        self.fill = QGraphicsPathItem()
        self.fill.setPen(QPen(Qt.PenStyle.NoPen))
        self.fill.setZValue(-20)
        self.view.addItem(self.fill, ignoreBounds=True)
        self.boundary = pg.PlotDataItem([], [], pen=pg.mkPen(BOUNDARY, width=2),
                                        connect="finite")
        axis_pen = pg.mkPen("#9e9e9e", width=1)
        self.re_axis = pg.InfiniteLine(pos=0.0, angle=0, pen=axis_pen)
        self.im_axis = pg.InfiniteLine(pos=0.0, angle=90, pen=axis_pen)
        bound_pen = pg.mkPen(LIMIT, width=2, style=Qt.PenStyle.DashLine)
        self.bound_line = pg.InfiniteLine(
            pos=0.0, angle=90, pen=bound_pen, label="",
            labelOpts={"position": 0.92, "color": LIMIT, "fill": (255, 255, 255, 200),
                       "anchors": [(1, 0.5), (1, 0.5)]})
        self.bound_sample = pg.PlotDataItem([], [], pen=bound_pen)
        self.extreme = pg.ScatterPlotItem(size=15, pen=pg.mkPen("#000000", width=2),
                                          brush=None, symbol="o")
        for it in (self.re_axis, self.im_axis, self.bound_line):
            self.view.addItem(it, ignoreBounds=True)
        item.addItem(self.boundary)
        self.scatters = _kind_scatters(item)
        item.addItem(self.extreme)
        self.fill_sample = pg.BarGraphItem(x=[], height=[], width=1.0,
                                           brush=pg.mkBrush(STABLE_FILL),
                                           pen=pg.mkPen(BOUNDARY, width=2))
        self.legend = BottomLegend(item, max_columns=2)
        self.note = PlotNote(self.view)
        self.points = np.empty(0)  # z = −h·λᵢ, as drawn (before any symmetric-log transform)
        self.kinds = np.empty(0, dtype=int)
        self.boundary_z: list[np.ndarray] = []
        self.region: Region | None = None
        self.scale = "auto"
        self.scale_in_use = "linear"
        self._drawn: tuple | None = ()
        self.show_points(None, np.empty(0), np.empty(0, dtype=int))

    def show_points(self, region: Region | None, z: np.ndarray, kinds: np.ndarray,
                    scale: str | None = None, note: str | None = None) -> None:
        """Draw ``region`` and the points ``z`` with their :func:`classify` kinds."""
        if scale is not None:
            self.scale = scale
        z = np.asarray(z, dtype=float)
        ok = np.isfinite(z)
        z, kinds = z[ok], np.asarray(kinds, dtype=int)[ok]
        self.points, self.kinds, self.region = z, kinds, region
        curves = outline(region) if region is not None else []
        self.boundary_z = curves
        extent = outline_extent(region) if region is not None and curves else 1.0
        spread = float(np.max(np.abs(z))) if len(z) else 0.0
        use = self.scale
        if use == "auto":
            use = "symlog" if spread > AUTO_SYMLOG_SPREAD * extent else "linear"
        self.scale_in_use = use
        c = PLANE_THRESHOLD if use == "symlog" else None
        self.x_axis.set_threshold(c)
        self.y_axis.set_threshold(c)

        def tx(values):
            return symlog(values, c) if c else np.asarray(values, dtype=float)

        drawn = (region, c)
        if drawn != self._drawn:  # the outline changes with the method, order and scale only
            self._drawn = drawn
            self._draw_region(region, curves, tx)
        texts = {STABLE: "inside: decays", UNSTABLE: "outside: unstable",
                 SADDLE: "λ < 0: saddle, the flow grows too"}
        shown = []
        for kind, scatter in self.scatters.items():
            mine = kinds == kind
            scatter.setData(tx(z[mine]), np.zeros(int(np.count_nonzero(mine))))
            if mine.any():
                shown.append((scatter, texts[kind]))
        if len(z):
            k = int(np.argmin(z))  # −h·λmax: the direction that meets the bound first
            self.extreme.setData([float(tx(z[k]))], [0.0])
        else:
            self.extreme.setData([], [])
        entries = [(self.fill_sample, "stable set")] if curves else []
        entries += shown
        if region is not None and region.bound is not None:
            entries.append((self.bound_sample, f"real-axis bound −{compact(region.bound, 3)}"))
        _set_legend(self.legend, entries)
        title = "Stability region" if region is None else f"Stability region: {region.title}"
        self.fitted_title.set(title)
        text = note or (region.note if region is not None else "")
        self.note.show_text(text or None, "top")
        self._set_range(z, curves, region, tx, use)

    def _draw_region(self, region, curves, tx) -> None:
        if not curves:
            self.boundary.setData([], [])
            self.fill.setPath(QPainterPath())
            self.view.setBackgroundColor(None)
            self.bound_line.hide()
            return
        xs, ys = [], []
        path = QPainterPath()
        path.setFillRule(Qt.FillRule.OddEvenFill)
        for curve in curves:
            x, y = tx(curve.real), tx(curve.imag)
            xs += [x, [np.nan]]
            ys += [y, [np.nan]]
            piece = pg.arrayToQPath(x, y, connect="all")
            piece.closeSubpath()
            path.addPath(piece)
        self.boundary.setData(np.concatenate(xs), np.concatenate(ys))
        self.fill.setPath(path)
        inside_fill = STABLE_FILL if region.stable_inside else UNSTABLE_FILL
        self.fill.setBrush(QBrush(QColor(inside_fill)))
        self.view.setBackgroundColor(None if region.stable_inside else QColor(STABLE_FILL))
        if region.bound is not None:
            self.bound_line.setValue(float(tx(-region.bound)))
            text = f"−{compact(region.bound, 3)}"
            self.bound_line.label.setFormat(text)  # (formats only while visible)
            self.bound_line.label.setText(text)
            self.bound_line.show()
        else:
            self.bound_line.hide()

    def _set_range(self, z, curves, region, tx, use: str) -> None:
        re = [0.0]
        im = [0.0]
        if use == "points" and len(z):
            re += [float(np.min(z)), float(np.max(z))]
        else:
            re += list(z)
            for curve in curves:
                re += [float(np.min(curve.real)), float(np.max(curve.real))]
                im += [float(np.min(curve.imag)), float(np.max(curve.imag))]
            if region is not None and region.bound is not None:
                re.append(-region.bound)
        lo, hi = float(tx(min(re))), float(tx(max(re)))
        ylo, yhi = float(tx(min(im))), float(tx(max(im)))
        width = max(hi - lo, 1e-6)
        pad = 0.08 * width
        half_height = max(yhi - ylo, 0.25 * width) / 2 + pad
        self.view.setRange(xRange=(lo - pad, hi + pad), yRange=(-half_height, half_height),
                           padding=0.0)
