"""One plot of a grid large: it fills the whole plot area, the others step aside, and back.

A double-click on a plot maximises it (again: restores the grid); F maximises the plot under
the mouse (else the last one chosen, else the first) and restores it; ] and [ show the next and
the previous plot large, in the grid's order. At 1280×720 a grid cell is about 290 px wide:
large, the same plot gets the whole area, which is what a class reads from the back row.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QGridLayout, QWidget

from .grid_places import pack, restore_places


class PlotZoom(QObject):
    """Maximises the cells of ``grid`` (a :class:`QGridLayout` of plots) one at a time.

    ``actions`` (Maximise plot, Next plot large, Previous plot large) carry the keys; the
    window that shows the grid puts them in its View menu (they also work from the grid's
    widget alone, which owns them).
    """

    changed = Signal(object)  # the cell now large, or None (the whole grid again)

    def __init__(self, owner: QWidget, grid: QGridLayout):
        super().__init__(owner)
        self.grid = grid
        self.large: QWidget | None = None  # the cell that fills the grid, if any
        self._place: tuple[int, int, int, int] | None = None  # where it sat in the grid
        self._hidden: list[QWidget] = []  # the cells it hid, shown again on restore
        self._chosen: QWidget | None = None  # the cell last double-clicked or maximised
        self.tucked: list[QWidget] = []  # cells set aside (:meth:`tuck`)
        self._wide: QWidget | None = None  # the cell :meth:`tuck` made large on the left
        self.maximise_action = self._action(owner, "&Maximise plot (again: all plots)", "F",
                                            lambda: self.toggle(self._target()))
        self.next_action = self._action(owner, "&Next plot large", "]", lambda: self.cycle(1))
        self.previous_action = self._action(owner, "&Previous plot large", "[",
                                            lambda: self.cycle(-1))
        self.actions = [self.maximise_action, self.next_action, self.previous_action]
        # the order they were laid out in (moving a cell reorders the layout's items)
        found = (grid.itemAt(i).widget() for i in range(grid.count()))
        self._cells = [cell for cell in found if cell is not None]
        for cell in self._cells:
            self.watch(cell)

    @staticmethod
    def _action(owner: QWidget, text: str, key: str, slot) -> QAction:
        action = QAction(text, owner)
        action.setShortcut(QKeySequence(key))
        action.setToolTip(f"{text.replace('&', '')} ({key}); a double-click on a plot does "
                          "the same")
        action.triggered.connect(slot)
        owner.addAction(action)
        return action

    def watch(self, cell: QWidget) -> None:
        """Double-clicks anywhere in ``cell`` (its plot, its tabs) maximise or restore it."""
        cell.installEventFilter(self)
        for child in cell.findChildren(QWidget):
            child.installEventFilter(self)

    def cells(self) -> list[QWidget]:
        """The grid's widgets, in the order they were laid out."""
        return list(self._cells)

    def _cell_of(self, widget: QWidget | None) -> QWidget | None:
        cells = self.cells()
        while widget is not None and widget not in cells:
            widget = widget.parentWidget()
        return widget

    def _target(self) -> QWidget | None:
        """The cell F acts on: the one under the mouse, else the last chosen, else the first."""
        if self.large is not None:
            return self.large
        for cell in self.cells():
            if cell.isVisible() and cell.underMouse():
                return cell
        if self._chosen is not None and self._chosen in self.cells():
            return self._chosen
        shown = self._shown()
        return shown[0] if shown else None

    def _shown(self) -> list[QWidget]:
        """The cells the grid shows (or would, with none large), in order."""
        return [c for c in self.cells() if c is self.large or c in self._hidden
                or c in self.tucked or (self.large is None and not c.isHidden())]

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt naming)
        if event.type() == QEvent.Type.MouseButtonDblClick:
            cell = self._cell_of(watched)
            if cell is not None:
                self.toggle(cell)
                return True
        return False

    # -- maximise and restore ----------------------------------------------------------------
    def toggle(self, cell: QWidget | None) -> None:
        """``cell`` large, or the whole grid again if it already is."""
        if cell is None:
            return
        if self.large is cell:
            self.restore()
        else:
            self.maximise(cell)

    def maximise(self, cell: QWidget) -> None:
        """``cell`` fills the grid; the other cells hide until :meth:`restore`."""
        if self.large is not None:
            self.restore()
        index = self.grid.indexOf(cell)
        if index < 0:
            raise ValueError("not a cell of this grid")
        self._place = self.grid.getItemPosition(index)
        self._hidden = [c for c in self.cells() if c is not cell and not c.isHidden()]
        for other in self._hidden:
            other.hide()
        cell.show()  # a tucked cell too
        self.grid.removeWidget(cell)
        self.grid.addWidget(cell, 0, 0, max(1, self.grid.rowCount()),
                            max(1, self.grid.columnCount()))
        self.large = self._chosen = cell
        self.changed.emit(cell)

    def restore(self) -> None:
        """Every cell back where it was."""
        cell = self.large
        if cell is None:
            return
        self.grid.removeWidget(cell)
        self.grid.addWidget(cell, *self._place)
        for other in self._hidden:
            other.show()
        cell.setVisible(cell not in self.tucked)
        self.large, self._place, self._hidden = None, None, []
        self.changed.emit(None)

    def cycle(self, step: int) -> None:
        """The next (``step`` 1) or previous (-1) shown cell large; from the grid: the first
        (or the last)."""
        shown = self._shown()
        if not shown:
            return
        if self.large is None:
            self.maximise(shown[0] if step > 0 else shown[-1])
        else:
            self.maximise(shown[(shown.index(self.large) + step) % len(shown)])

    # -- fewer cells, larger -----------------------------------------------------------------
    def tuck(self, cells: list[QWidget], wide: QWidget | None = None,
             per_row: int | None = None) -> None:
        """``cells`` step aside (hidden) and the others close up (:func:`grid_places.pack`:
        ``wide`` large on the left, else ``per_row`` to a row), each larger; ] and [ still show
        the tucked ones large. No cells and no ``wide``: every cell back in its place."""
        cells = [c for c in cells if c in self._cells]
        if (cells, wide) == (self.tucked, self._wide):
            return
        large = self.large
        self.restore()
        for cell in self.tucked:
            cell.show()
        restore_places(self.grid)
        self.tucked, self._wide = cells, wide
        if cells or wide is not None:
            for cell in cells:
                cell.hide()
            pack(self.grid, wide, per_row)
        if large is not None:
            self.maximise(large)
