"""The network summarised, for one too big to draw edge by edge: each layer's weight norm as a
bar, and each layer's weights as a histogram over bins all layers share (as a share of the
layer's weights, so a 100,000-weight layer and a 1,000-weight one compare). The numbers come
from a summary :class:`~odeprop.core.network_picture.NetworkPicture`.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from odeprop.core.network_picture import EDGE_LIMIT, WIDTH_LIMIT, NetworkPicture

from ..common.plot_parts import BottomLegend, nice_ceil

#: one colour per layer (Okabe–Ito: safe for colour-blind viewers), repeated past eight layers
LAYER_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000",
                "#F0E442")


def layer_label(sizes, layer: int) -> str:
    """"784→128": the layer's fan-in and fan-out."""
    return f"{sizes[layer]}→{sizes[layer + 1]}"


def _nice(value: float) -> float:
    return nice_ceil(value) if value > 0 else 1.0


class WeightSummary(pg.GraphicsLayoutWidget):
    """Per-layer weight norms (bars) and weight histograms (step curves, one per layer)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.picture: NetworkPicture | None = None
        self.heading = self.addLabel("", row=0, col=0, colspan=2)
        self.norms = self.addPlot(row=1, col=0, title="Weight norm per layer")
        self.norms.setLabel("left", "‖W‖ (Frobenius)")
        self.norms.setLabel("bottom", "layer (inputs→outputs)")
        self.norms.setMouseEnabled(False, False)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brushes=[])
        self.norms.addItem(self.bars)
        self.histogram = self.addPlot(row=1, col=1, title="Weights per layer")
        self.histogram.setLabel("left", "share of the layer's weights (%)")
        self.histogram.setLabel("bottom", "weight w")
        self.histogram.getAxis("bottom").enableAutoSIPrefix(False)
        self.histogram.showGrid(x=True, y=True, alpha=0.25)
        self.legend = BottomLegend(self.histogram)
        self.curves: list[pg.PlotDataItem] = []
        self.ci.layout.setColumnStretchFactor(0, 2)
        self.ci.layout.setColumnStretchFactor(1, 5)

    def show_picture(self, picture: NetworkPicture) -> None:
        """Draw a summary picture: bars of ``weight_norms``, curves of ``histograms``."""
        self.picture = picture
        sizes, layers = picture.sizes, len(picture.weight_norms)
        shape = "-".join(map(str, sizes))
        why = (f"more than {EDGE_LIMIT} weights" if picture.n_weights > EDGE_LIMIT
               else f"a layer wider than {WIDTH_LIMIT} neurons")
        self.heading.setText(f"Network {shape}: {picture.n_weights:,} weights — {why}, "
                             "so summarised", bold=True)
        colors = [LAYER_COLORS[i % len(LAYER_COLORS)] for i in range(layers)]
        self.bars.setOpts(x=np.arange(layers), height=picture.weight_norms,
                          brushes=[pg.mkBrush(c) for c in colors], pens=[pg.mkPen(c)
                                                                         for c in colors])
        self.norms.getAxis("bottom").setTicks([[(i, layer_label(sizes, i))
                                                for i in range(layers)]])
        self._set_range(self.norms, (-0.6, layers - 0.4),
                        (0.0, _nice(np.max(picture.weight_norms, initial=0.0))))
        self._set_curves(picture, colors)

    def _set_curves(self, picture: NetworkPicture, colors) -> None:
        counts = picture.histograms
        layers = len(counts)
        if len(self.curves) != layers:
            for curve in self.curves:
                self.histogram.removeItem(curve)
            self.legend.clear()
            self.curves = [self.histogram.plot([], [], stepMode="center",
                                               pen=pg.mkPen(colors[i], width=2.5))
                           for i in range(layers)]
            for i, curve in enumerate(self.curves):
                self.legend.add(curve, f"layer {i + 1}: {layer_label(picture.sizes, i)}")
        share = 100.0 * counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        for curve, row in zip(self.curves, share, strict=True):
            curve.setData(picture.bin_edges, row)
        reach = _nice(picture.bin_edges[-1])
        self._set_range(self.histogram, (-reach, reach), (0.0, _nice(share.max(initial=0.0))))

    @staticmethod
    def _set_range(plot: pg.PlotItem, x: tuple, y: tuple) -> None:
        """Axes that keep still while a run streams: ranges change only when a nice bound
        (:func:`~odeprop.gui.common.plot_parts.nice_ceil`) is passed, and only then are redrawn."""
        view = plot.getViewBox()
        if getattr(view, "nice_range", None) != (x, y):
            view.nice_range = (x, y)
            view.setRange(xRange=x, yRange=y, padding=0.02)
