"""The network drawn edge by edge: layers of neurons left to right, every weight a line whose
colour is its sign and whose thickness is its magnitude, each neuron a small heat map of its
activation over the input plane (2-D data) or a disc coloured by its bias.

One QWidget painted with QPainter: no QGraphicsItems, so a redraw of the default 2-16-16-1 costs
a few milliseconds (``benchmarks/network_view.py``). Widths are scaled globally: the largest
|w| in the whole network gets the widest line, so layers compare by eye. The numbers all come
from a :class:`~odeprop.core.network_picture.NetworkPicture`; this widget only lays them out.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from odeprop.core.network_picture import NetworkPicture

from ..common.model_colours import binary_map

#: Okabe–Ito blue and vermillion: told apart with every common colour-vision deficiency, and
#: dark enough to stay visible on a washed-out projector.
POSITIVE = "#0072B2"
NEGATIVE = "#D55E00"
#: heat maps of signed values: vermillion (negative), white (zero), blue (positive)
SIGNED_MAP = pg.ColorMap([0.0, 0.5, 1.0], [NEGATIVE, "#FFFFFF", POSITIVE])
THINNEST = 0.6  # px: the width of a weight near zero
FRAME = QColor("#606060")


def map_colors(values: np.ndarray, levels: tuple[float, float], probability: bool) -> np.ndarray:
    """RGBA bytes (…, 4) of ``values`` under the heat maps' colour map over ``levels``: the
    decision surface's blue–white–red for probabilities, else :data:`SIGNED_MAP`."""
    lo, hi = levels
    cmap = binary_map() if probability else SIGNED_MAP
    scaled = np.clip((np.asarray(values, dtype=float) - lo) / (hi - lo), 0.0, 1.0)
    flat = cmap.map(np.nan_to_num(scaled, nan=0.5).ravel(), mode="byte")
    return flat.reshape(*np.shape(values), 4)


def heat_map_images(values: np.ndarray, levels, probability: bool) -> list[QImage]:
    """A layer's (neurons, nx, ny) grids as one image each: x to the right, y upward (one
    colour-map call for the whole layer)."""
    rgba = np.ascontiguousarray(map_colors(values, levels, probability)
                                .transpose(0, 2, 1, 3)[:, ::-1])
    ny, nx = rgba.shape[1:3]
    return [QImage(one.data, nx, ny, 4 * nx, QImage.Format.Format_RGBA8888).copy()
            for one in rgba]


class NetworkDiagram(QWidget):
    """Paints one full (not summary) :class:`NetworkPicture`; hovering a neuron or an edge shows
    its value in a tooltip and in ``hover_text`` (and emits ``hovered``)."""

    hovered = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.picture: NetworkPicture | None = None
        self.setMouseTracking(True)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.hover_text = ""
        self.hover_value: float | None = None
        # per edge, in θ's order (layer by layer, W row-major): value, colour, width, ends
        self.edge_values = np.zeros(0)
        self.edge_widths = np.zeros(0)
        self.edge_colors: list[str] = []
        self._ends = np.zeros((0, 4))
        self._images: list[list[QImage]] = []
        self._centres: list[np.ndarray] = []  # per layer, (n, 2) neuron centres in px
        self._side = 0.0  # a neuron's side (px)
        self._largest = 1.0  # the largest |w|: the widest edge
        self._label_width = 0.0  # room for the inputs' and outputs' names (px)

    # -- input -------------------------------------------------------------------------------
    def show_picture(self, picture: NetworkPicture) -> None:
        """Draw ``picture`` (full, not summary)."""
        self.picture = picture
        self.edge_values = np.concatenate([W.ravel() for W in picture.weights])
        self.edge_colors = [POSITIVE if w >= 0 else NEGATIVE for w in self.edge_values]
        self._images = [heat_map_images(values, levels, self._probability(layer))
                        for layer, (values, levels) in enumerate(zip(picture.activity,
                                                                     picture.levels,
                                                                     strict=True))]
        self._layout()
        self.update()

    def neuron_image(self, layer: int, index: int) -> QImage:
        """The heat map drawn for neuron ``index`` of ``layer`` (tests)."""
        return self._images[layer][index]

    def _probability(self, layer: int) -> bool:
        return self.picture.probability_output and layer == len(self.picture.sizes) - 1

    def _neuron_name(self, layer: int, index: int) -> str:
        pic = self.picture
        name = pic.neuron_names[layer][index]
        if layer == 0:
            return f"input {name}"
        if layer == len(pic.sizes) - 1:
            return f"output {self._output_label(index)}"
        return f"{pic.layer_names[layer].split(' (')[0]} {name}"

    # -- geometry ----------------------------------------------------------------------------
    def _text_height(self) -> float:
        return float(self.fontMetrics().height())

    def _layout(self) -> None:
        """Neuron centres, their side and the edges' ends and widths for the current size."""
        pic = self.picture
        if pic is None:
            return
        line = self._text_height()
        w, h = self.width(), self.height()
        names = [*pic.neuron_names[0], *map(self._output_label, range(pic.sizes[-1]))]
        label = min(0.15 * w, max(map(self.fontMetrics().horizontalAdvance, names)))
        top, bottom = 3.4 * line, h - 1.8 * line  # title and layer names; the legend
        tallest = max(pic.sizes)
        spacing = (bottom - top) / tallest
        side = 0.0
        for _ in range(2):  # the columns' margins hold the labels and half a neuron
            left = 0.3 * line + label + 0.3 * line + side / 2
            gap = (w - 2 * left) / max(1, len(pic.sizes) - 1)
            side = float(max(3.0, min(0.88 * spacing, 0.38 * gap, 72.0)))
        self._side = side
        self._label_width = label
        self._centres = []
        for layer, n in enumerate(pic.sizes):
            # columns centred, at the tallest one's spacing, or a name's height if that is more
            step = min((bottom - top) / n, max(spacing, 1.5 * line))
            ys = 0.5 * (top + bottom) + (np.arange(n) - 0.5 * (n - 1)) * step
            self._centres.append(np.column_stack([np.full(n, left + layer * gap), ys]))
        ends = [np.column_stack([np.repeat(self._centres[layer], W.shape[1], axis=0),
                                 np.tile(self._centres[layer + 1], (W.shape[0], 1))])
                for layer, W in enumerate(pic.weights)]
        self._ends = np.vstack(ends)
        largest = float(np.abs(self.edge_values).max(initial=0.0)) or 1.0
        widest = float(np.clip(0.3 * spacing, 2.0, 7.0))
        self.edge_widths = THINNEST + (widest - THINNEST) * np.abs(self.edge_values) / largest
        self._largest = largest

    def _output_label(self, index: int) -> str:
        name = self.picture.neuron_names[-1][index]
        return f"P({name})" if self.picture.probability_output else str(name)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self._layout()
        super().resizeEvent(event)

    # -- painting ----------------------------------------------------------------------------
    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt naming)
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        if self.picture is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            self._paint_edges(painter)
            self._paint_neurons(painter)
            self._paint_text(painter)
        painter.end()

    def _paint_edges(self, painter: QPainter) -> None:
        pens = {color: QPen(QColor(color)) for color in (POSITIVE, NEGATIVE)}
        for pen in pens.values():
            pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        for k in np.argsort(self.edge_widths, kind="stable"):  # the strongest on top
            pen = pens[self.edge_colors[k]]
            pen.setWidthF(float(self.edge_widths[k]))
            painter.setPen(pen)
            x0, y0, x1, y1 = self._ends[k]
            painter.drawLine(QPointF(x0, y0), QPointF(x1, y1))

    def _paint_neurons(self, painter: QPainter) -> None:
        side = self._side
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setPen(QPen(FRAME, 1.0))
        for layer, centres in enumerate(self._centres):
            fills = None if self._images else self._bias_fills(layer)
            for j, (x, y) in enumerate(centres):
                box = QRectF(x - side / 2, y - side / 2, side, side)
                if self._images:
                    painter.drawImage(box, self._images[layer][j])
                    painter.drawRect(box)
                else:
                    painter.setBrush(fills[j])
                    painter.drawEllipse(box)
        painter.setBrush(Qt.BrushStyle.NoBrush)

    def _bias_fills(self, layer: int) -> list[QColor]:
        """Without heat maps (data not 2-D) a neuron is a disc coloured by its bias."""
        if layer == 0:
            return [QColor("white")] * self.picture.sizes[0]
        b = self.picture.biases[layer - 1]
        scale = float(np.abs(b).max(initial=0.0)) or 1.0
        return [QColor(*rgba) for rgba in map_colors(b, (-scale, scale), False).tolist()]

    def _paint_text(self, painter: QPainter) -> None:
        pic, line = self.picture, self._text_height()
        painter.setPen(QColor("#202020"))
        title = QFont(self.font())
        title.setBold(True)
        painter.setFont(title)
        shape = "-".join(map(str, pic.sizes))
        painter.drawText(QRectF(0, 0.2 * line, self.width(), line), Qt.AlignmentFlag.AlignCenter,
                         f"Network {shape}: {pic.n_weights:,} weights")
        painter.setFont(self.font())
        gap = (self._centres[1][0, 0] - self._centres[0][0, 0]) if len(self._centres) > 1 else 0
        for layer, centres in enumerate(self._centres):
            x, y_top = centres[0]
            name, _, detail = pic.layer_names[layer].partition(" (")
            text = f"{name}\n{detail.rstrip(')')}" if detail else name
            painter.drawText(QRectF(x - gap / 2, 1.3 * line, gap, 2 * line),
                             Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, text)
        self._paint_end_labels(painter)
        self._paint_legend(painter)

    def _paint_end_labels(self, painter: QPainter) -> None:
        """The inputs' and the outputs' names, outside the first and the last column."""
        pic, side, line = self.picture, self._side, self._text_height()
        metrics, width = self.fontMetrics(), self._label_width
        last = len(pic.sizes) - 1
        for layer in (0, last):
            for j, (x, y) in enumerate(self._centres[layer]):
                name = pic.neuron_names[0][j] if layer == 0 else self._output_label(j)
                text = metrics.elidedText(str(name), Qt.TextElideMode.ElideRight, int(width) + 1)
                if layer == 0:
                    box = QRectF(x - side / 2 - 0.3 * line - width, y - line / 2, width, line)
                    align = Qt.AlignmentFlag.AlignRight
                else:
                    box = QRectF(x + side / 2 + 0.3 * line, y - line / 2, width + 1, line)
                    align = Qt.AlignmentFlag.AlignLeft
                painter.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, text)

    def _paint_legend(self, painter: QPainter) -> None:
        line, metrics = self._text_height(), self.fontMetrics()
        y = self.height() - 0.9 * line
        x = 0.5 * line
        for color, word in ((POSITIVE, "w > 0"), (NEGATIVE, "w < 0")):
            painter.setPen(QPen(QColor(color), 4.0))
            painter.drawLine(QPointF(x, y), QPointF(x + 1.6 * line, y))
            painter.setPen(QColor("#202020"))
            x += 1.9 * line
            painter.drawText(QPointF(x, y + 0.35 * line), word)
            x += metrics.horizontalAdvance(word) + line
        fill = "" if self._images else "a disc's colour: its bias; "
        text = metrics.elidedText(f"width ∝ |w|, widest {self._largest:.3g}; {fill}hover for "
                                  "values", Qt.TextElideMode.ElideRight, int(self.width() - x))
        painter.drawText(QPointF(x, y + 0.35 * line), text)

    # -- hovering ----------------------------------------------------------------------------
    def describe_at(self, x: float, y: float) -> tuple[str, float | None]:
        """What is under the point (x, y) px: a neuron (its bias) or an edge (its weight)."""
        pic = self.picture
        if pic is None:
            return "", None
        half = self._side / 2 + 1.0
        for layer, centres in enumerate(self._centres):
            inside = np.flatnonzero((np.abs(centres[:, 0] - x) <= half)
                                    & (np.abs(centres[:, 1] - y) <= half))
            if inside.size:
                return self._describe_neuron(layer, int(inside[0]))
        if not len(self._ends):
            return "", None
        a, b = self._ends[:, :2], self._ends[:, 2:]
        d = b - a
        t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1])
                    / np.maximum((d * d).sum(axis=1), 1e-12), 0.0, 1.0)
        dist = np.hypot(a[:, 0] + t * d[:, 0] - x, a[:, 1] + t * d[:, 1] - y)
        slack = dist - self.edge_widths / 2  # the thickest edge under the pointer wins
        k = int(np.argmin(slack - 0.01 * self.edge_widths))
        if slack[k] > 3.0:
            return "", None
        w = float(self.edge_values[k])
        return f"weight {w:.4g}: {self._edge_name(k)}", w

    def _edge_name(self, k: int) -> str:
        """"hidden 1 neuron 3 → hidden 2 neuron 5" for edge ``k`` (θ's order of weights)."""
        for layer, W in enumerate(self.picture.weights):
            if k < W.size:
                i, j = divmod(k, W.shape[1])
                return f"{self._neuron_name(layer, i)} → {self._neuron_name(layer + 1, j)}"
            k -= W.size
        raise IndexError(k)

    def _describe_neuron(self, layer: int, j: int) -> tuple[str, float | None]:
        pic = self.picture
        name = self._neuron_name(layer, j)
        span = ""
        if pic.activity:
            values = pic.activity[layer][j]
            what = "P" if self._probability(layer) else ("value" if layer == 0 else "activation")
            span = f"; {what} over the plane {values.min():.3g} to {values.max():.3g}"
        if layer == 0:
            return f"{name}{span}", None
        b = float(pic.biases[layer - 1][j])
        return f"{name}: bias {b:.4g}{span}", b

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        pos = event.position()
        text, value = self.describe_at(pos.x(), pos.y())
        self._set_hover(text, value)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self._set_hover("", None)
        super().leaveEvent(event)

    def _set_hover(self, text: str, value: float | None) -> None:
        """The value under the pointer: ``hover_text``, ``hovered`` and the tooltip (which Qt
        shows when the pointer rests)."""
        if text != self.hover_text:
            self.hover_text, self.hover_value = text, value
            self.setToolTip(text)
            self.hovered.emit(text)
