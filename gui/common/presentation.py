"""Type and lines a back row can read: pyqtgraph plots restyled by a factor, and back.

:class:`PlotRestyler` scales every plot's title, axis labels, tick labels and legend, widens
its curves and recolours them from the Okabe–Ito palette (told apart by colour-blind viewers
and still distinct on a washed-out projector), remembering what each item had, so that
:meth:`PlotRestyler.restore` puts back exactly that. Items made while it is on (a new run's
curves) are restyled by the next :meth:`PlotRestyler.apply`; calling it again is cheap and
changes nothing already restyled.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsView, QWidget

#: Okabe & Ito (2008), "Color universal design": the house colours (matplotlib's tab10) mapped
#: to the nearest in role. Black stands in for brown and grey.
OKABE_ITO = {
    "#1f77b4": "#0072b2",  # blue
    "#ff7f0e": "#e69f00",  # orange
    "#2ca02c": "#009e73",  # bluish green
    "#d62728": "#d55e00",  # vermillion
    "#9467bd": "#cc79a7",  # reddish purple
    "#8c564b": "#000000",  # black
    "#e377c2": "#cc79a7",  # reddish purple
    "#7f7f7f": "#555555",  # dark grey
    "#bcbd22": "#f0e442",  # yellow
    "#17becf": "#56b4e9",  # sky blue
}
BASE_POINTS = 9.0  # the plots' tick and label size before scaling (pt)


def scaled_font(font: QFont, factor: float) -> QFont:
    """A copy of ``font`` ``factor`` times as large."""
    scaled = QFont(font)
    size = font.pointSizeF() if font.pointSizeF() > 0 else BASE_POINTS
    scaled.setPointSizeF(size * factor)
    return scaled


def contrast_pen(pen, factor: float):
    """``pen`` ``factor`` times as wide, its colour from :data:`OKABE_ITO` when it has one."""
    pen = pg.mkPen(pen)
    name = pen.color().name().lower()
    if name in OKABE_ITO:
        pen.setColor(QColor(OKABE_ITO[name]))
    pen.setWidthF(max(pen.widthF(), 1.0) * factor)
    return pen


def _size(text_size, factor: float) -> str:
    points = float(str(text_size).rstrip("pt")) if text_size else BASE_POINTS
    return f"{points * factor:.1f}pt"


class PlotRestyler:
    """Restyles the pyqtgraph plots inside ``root`` (a widget) by ``factor``; see the module."""

    def __init__(self, root: QWidget, factor: float):
        self.root = root
        self.factor = factor
        self._undo: dict[int, tuple[object, object]] = {}  # id(item) → (item, what it had)

    def _scene_items(self):
        for view in self.root.findChildren(QGraphicsView):
            if view.scene() is not None:
                yield from view.scene().items()

    def apply(self) -> None:
        """Restyle every plot item not restyled yet (and labels whose text was set since)."""
        tick = QFont()
        tick.setPointSizeF(BASE_POINTS * self.factor)
        for item in list(self._scene_items()):
            if isinstance(item, pg.LabelItem):  # titles, legend entries, footnotes
                self._label(item)
            elif isinstance(item, pg.TextItem) and id(item) not in self._undo:  # notes
                self._remember(item, item.textItem.font())
                item.setFont(scaled_font(item.textItem.font(), self.factor))
            elif isinstance(item, pg.AxisItem) and id(item) not in self._undo:
                self._remember(item, (dict(item.labelStyle), item.style["tickFont"]))
                item.labelStyle = {**item.labelStyle, "font-size": _size(
                    item.labelStyle.get("font-size"), self.factor)}
                item.setTickFont(tick)
                item._updateLabel()
            elif isinstance(item, pg.PlotDataItem) and id(item) not in self._undo:
                self._curve(item)

    def _curve(self, curve: pg.PlotDataItem) -> None:
        """A wider pen in the palette's colour, and the same for a short curve's dots."""
        self._remember(curve, curve.opts["pen"])
        pen = contrast_pen(curve.opts["pen"], self.factor)
        curve.setPen(pen)
        dots = getattr(curve, "dots", None)  # a short curve's dots (LivePlot)
        if dots is not None:
            self._remember(dots, (dots.opts["brush"], dots.opts["size"]))
            dots.setBrush(pg.mkBrush(pen.color()))
            dots.setSize(dots.opts["size"] * self.factor)

    def _label(self, label: pg.LabelItem) -> None:
        """``label`` in its first size times the factor (again, if its text was set since)."""
        wanted = _size(self._remember(label, label.opts.get("size")), self.factor)
        if label.opts.get("size") != wanted:
            label.setText(label.text, size=wanted)

    def _remember(self, item, state):
        """What ``item`` had before it was first restyled (``state`` the first time)."""
        return self._undo.setdefault(id(item), (item, state))[1]

    def restore(self) -> None:
        """Every restyled item as it was (those since deleted are skipped)."""
        for item, state in self._undo.values():
            try:
                if isinstance(item, pg.AxisItem):
                    item.labelStyle, tick = state
                    item.setTickFont(tick)
                    item._updateLabel()
                elif isinstance(item, pg.PlotDataItem):
                    item.setPen(state)
                elif isinstance(item, pg.ScatterPlotItem):
                    item.setBrush(state[0])
                    item.setSize(state[1])
                elif isinstance(item, pg.TextItem):
                    item.setFont(state)
                elif isinstance(item, pg.LabelItem):
                    if state is None:
                        item.opts.pop("size", None)
                        item.setText(item.text)
                    else:
                        item.setText(item.text, size=state)
            except RuntimeError:  # its plot went (a comparison's runs were replaced)
                continue
        self._undo.clear()
