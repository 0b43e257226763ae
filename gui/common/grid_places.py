"""Where a grid of plots puts its cells: remembered as the window laid them out, packed closer
when some are hidden (a lesson's chosen plots, presenter mode's fewer and larger), and back.
"""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout

LARGE_STRETCH = 2  # with one cell large, its column is this many times as wide as the others


def original_places(grid: QGridLayout) -> dict:
    """Where the grid's window put each widget (row, column, rows, columns), kept the first
    time the grid is rearranged."""
    if not hasattr(grid, "original_places"):
        places = {}
        for i in range(grid.count()):
            widget = grid.itemAt(i).widget()
            if widget is not None:
                places[widget] = grid.getItemPosition(i)
        grid.original_places = places
    return grid.original_places


def restore_places(grid: QGridLayout) -> None:
    """Every widget back where the window put it; the rows and columns that hold a shown one
    share the room (one that holds none, e.g. the comparison's flow row without a reference,
    gets none)."""
    places = original_places(grid)
    for widget, place in places.items():
        grid.addWidget(widget, *place)
    rows, columns = set(), set()
    for widget, (row, column, height, width) in places.items():
        if not widget.isHidden():
            rows.update(range(row, row + height))
            columns.update(range(column, column + width))
    set_stretch(grid, [int(r in rows) for r in range(max(rows, default=-1) + 1)],
                [int(c in columns) for c in range(max(columns, default=-1) + 1)])


def pack(grid: QGridLayout, large=None, per_row: int | None = None) -> None:
    """The grid's shown widgets close up, in reading order: with a ``large`` one, it fills
    the left two thirds and the others stack on the right; else ``per_row`` to a row (by
    default 2, or 3 for more than four)."""
    places = original_places(grid)
    shown = [w for w in sorted(places, key=lambda w: places[w][:2]) if not w.isHidden()]
    others = [w for w in shown if w is not large]
    if large is not None and large in shown:
        grid.addWidget(large, 0, 0, max(1, len(others)), 1)
        for row, widget in enumerate(others):
            grid.addWidget(widget, row, 1)
        rows, columns = [1] * max(1, len(others)), [LARGE_STRETCH, 1]
    else:
        per_row = per_row or (2 if len(shown) <= 4 else 3)
        for n, widget in enumerate(shown):
            grid.addWidget(widget, n // per_row, n % per_row)
        rows, columns = [1] * -(-len(shown) // per_row), [1] * per_row
    set_stretch(grid, rows, columns)


def set_stretch(grid: QGridLayout, rows: list[int], columns: list[int]) -> None:
    """Row and column stretches as given; the grid's other rows and columns get none."""
    for r in range(max(grid.rowCount(), len(rows))):
        grid.setRowStretch(r, rows[r] if r < len(rows) else 0)
    for c in range(max(grid.columnCount(), len(columns))):
        grid.setColumnStretch(c, columns[c] if c < len(columns) else 0)
