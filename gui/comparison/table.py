"""The comparison's summary: one sortable row per run, and the distances between final weights.

:class:`LiveSummary` keeps the window's copy of what the summary needs of every run (core
``RunResult`` objects, filled from the runner's events: each target's first hit, decided as
batches arrive, the latest snapshot, a count) and builds the core summary (``summarize``) from
it, so a refresh costs the same, in time and memory, after a million steps as after ten; the
rows themselves are in the session's records on disk. The table shows the core's rows in the
core's formats; it sorts on the numbers themselves, runs without a value last ("—").
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
)

from odeprop.core.comparison import Comparison
from odeprop.core.comparison_runner import RunResult
from odeprop.core.summary import ComparisonSummary, summarize

from ..common.tooltips import tip

NONE_TEXT = "—"
LABEL_WIDTH = 230  # px: the widest the run column starts
STATUS_COLORS = {"running": "#1565c0", "finished": "#1b5e20", "failed": "#b00020",
                 "died": "#b00020", "stopped": "#6d6d6d", "queued": "#6d6d6d",
                 "refused": "#b00020"}
#: Per-run columns hidden while no run has a value for them (e.g. LU for explicit methods only).
OPTIONAL = {"hvp", "hess", "jac_evals", "lu_decomps", "rejected", "newton_failures",
            "loss_test", "accuracy_train", "accuracy_test", "rms_train", "rms_test"}
HEADER_TIPS = {
    "grads": tip("n_grad"), "jac_evals": tip("jac_evals"), "lu_decomps": tip("lu_decomps"),
    "rejected": tip("rejected"), "newton_failures": tip("newton_failures"),
    "hvp": "Hessian-vector products made by the solver.",
    "hess": "Dense Hessians (exact Jacobians of the flow) built by the solver.",
    "wall": "Seconds inside the solver (the lab's measurements are left out).",
    "lambda_min": "The smallest Hessian eigenvalue where the run ended: negative means the run "
                  "did not end in a minimum (a saddle, or still on its way down).",
    "hessian_end": "PSD: a minimum (or a flat valley); indefinite: a saddle or a slope.",
    "flow_end": "‖θ − θflow‖ / ‖θflow‖ at the run's end: its distance from a tight solution of "
                "the gradient flow from the same θ0 at the same t (first seed).",
    "follows": "yes: the run is at most 10 % from the flow at the final target and at its "
               "end; no: it left the flow (an optimiser, not an integrator of the flow).",
    "flow_max": "The largest distance from the flow at any snapshot: a loose solver can be off "
                "for a while (e.g. where the flow leaves a plateau) and still end on it.",
}
TABLE_TIP = ("One row per run; click a heading to sort (runs without a value go last). “—”: not "
             "reached or not reported.")
#: Shown with a median: what its bracket means.
RANGE_TIP = ("Median over every seed and timing repeat; [min–max] their range; k/n: how many "
             "reached the target.")


def format_value(value, spec: str) -> str:
    """The core's format for a table cell; "—" for none (not reached, not reported)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NONE_TEXT
    return format(value, spec)


class LiveSummary:
    """Everything received from the runs of one comparison, and its summary table."""

    def __init__(self, comparison: Comparison):
        self.comparison = comparison
        self.results = [RunResult(i, spec.label, tuple(comparison.targets))
                        for i, spec in enumerate(comparison.runs)]

    def apply(self, events, statuses) -> list[int]:
        """Take one batch of runner events; returns the runs that got new snapshots."""
        grown = []
        for event in events:
            result = self.results[event.index]
            if event.kind == "batch":
                result.add(event.payload)
                grown.append(event.index)
            elif event.kind == "spectra":
                result.spectra.extend(event.payload)
            elif event.kind == "theta":
                result.theta = event.payload[1]
            elif event.kind == "done":
                result.report, result.theta = event.payload, event.payload.theta
            elif event.kind == "repeat":  # another seed's or timing repeat's making ended
                result.samples.append(event.payload)
        for result, (status, message) in zip(self.results, statuses, strict=True):
            result.status, result.message = status, message
        return list(dict.fromkeys(grown))

    def summary(self) -> ComparisonSummary:
        """The core summary of what arrived so far."""
        return summarize(self.comparison, self.results)


def _heading(key: str, heading: str) -> str:
    """Two lines for the long target and flow headings, so the columns stay narrow."""
    if key.startswith("flow_"):
        return heading.replace(" at ", "\nat ", 1).replace(", ", ",\n", 1)
    if key == "follows":
        return heading.replace(" (", "\n(", 1)
    if key.startswith("t") and "_" in key:
        if " to " in heading:
            return heading.replace(" to ", "\nto ", 1)
        if heading.startswith(("∇L ratio ", "wall ratio ")):
            first, rest = heading.split(" ratio ", 1)
            return f"{first} ratio\n{rest}"
    return heading


class SummaryModel(QAbstractTableModel):
    """The summary rows as a table: display text in the core's formats, raw values for
    sorting (:data:`SORT_ROLE`), the run's colour beside its label."""

    SORT_ROLE = Qt.ItemDataRole.UserRole

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary: ComparisonSummary | None = None
        self.columns: list[tuple[str, str, str]] = []
        self.rows: list[dict] = []
        self.colors: list[QColor] = []
        self.messages: list[str] = []  # each run's status message (tooltips)

    def set_summary(self, summary: ComparisonSummary, colors, messages=None) -> None:
        self.messages = list(messages) if messages is not None else [""] * len(summary.rows)
        columns = summary.columns()
        self.summary = summary
        if columns != self.columns or len(summary.rows) != len(self.rows):
            self.beginResetModel()
            self.columns, self.rows = columns, summary.rows
            self.colors = [QColor(c) for c in colors]
            self.endResetModel()
        else:
            self.rows = summary.rows
            self.colors = [QColor(c) for c in colors]
            if self.rows and self.columns:
                self.dataChanged.emit(self.index(0, 0),
                                      self.index(len(self.rows) - 1, len(self.columns) - 1))

    def rowCount(self, parent=QModelIndex()):  # noqa: N802, B008 (Qt naming)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    def raw(self, row: int, column: int):
        return self.rows[row].get(self.columns[column][0])

    def column_of(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c[0] == key)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        key, _, spec = self.columns[index.column()]
        row = self.rows[index.row()]
        value = row.get(key)
        roles = Qt.ItemDataRole
        if role == roles.DisplayRole:
            return self.summary.text(row, key, spec)
        if role == self.SORT_ROLE:
            return value
        if role == roles.TextAlignmentRole:
            align = Qt.AlignmentFlag
            return (align.AlignLeft if spec == "s" else align.AlignRight) | align.AlignVCenter
        if role == roles.DecorationRole and key == "label":
            return self.colors[index.row()]
        if role == roles.ForegroundRole and key == "status":
            return QBrush(QColor(STATUS_COLORS.get(value, "#202020")))
        if role == roles.ToolTipRole:
            if key in ("label", "status"):
                status = row.get("status") or ""
                message = self.messages[index.row()] if index.row() < len(self.messages) else ""
                return f"{row['label']}\n{status}{': ' + message if message else ''}"
            return format_value(value, spec if spec != ".4g" else ".8g")
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Vertical:  # the run's number and colour stay in view
            if role == Qt.ItemDataRole.DisplayRole:
                return str(section + 1)
            if role == Qt.ItemDataRole.DecorationRole and section < len(self.colors):
                return self.colors[section]
            return None
        key, heading, _ = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return _heading(key, heading)
        if role == Qt.ItemDataRole.ToolTipRole:
            text = f"{heading}\n\n{HEADER_TIPS[key]}" if key in HEADER_TIPS else heading
            if any(f"{key}_range" in row for row in self.rows):
                text += f"\n\n{RANGE_TIP}"
            if key.startswith("flow_") and key not in HEADER_TIPS:
                text += f"\n\n{HEADER_TIPS['flow_end']}"
            return text
        return None


class SummarySortProxy(QSortFilterProxyModel):
    """Sorts on raw values: numbers as numbers, text as text, "—" last in either order."""

    def lessThan(self, left, right):  # noqa: N802 (Qt naming)
        model = self.sourceModel()
        a, b = model.raw(left.row(), left.column()), model.raw(right.row(), right.column())
        a_none, b_none = _missing(a), _missing(b)
        if a_none or b_none:
            ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
            return (not a_none and b_none) if ascending else (a_none and not b_none)
        if isinstance(a, int | float) and isinstance(b, int | float):
            return a < b
        return str(a).casefold() < str(b).casefold()


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


class SummaryTable(QTableView):
    """The sortable summary view; columns no run reports (yet) are hidden."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.source = SummaryModel(self)
        self.proxy = SummarySortProxy(self)
        self.proxy.setSourceModel(self.source)
        self.proxy.setDynamicSortFilter(True)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # run order until a header is clicked
        self.setAlternatingRowColors(True)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        header.setHighlightSections(False)
        self.setToolTip(TABLE_TIP)
        self._sized: tuple = ()

    def set_summary(self, summary: ComparisonSummary, colors, messages) -> None:
        reset = summary.columns() != self.source.columns
        self.source.set_summary(summary, colors, messages)
        self.setToolTip("\n\n".join([TABLE_TIP, *summary.notes]))  # repeats, seed, reference
        for column, (key, _, _) in enumerate(self.source.columns):
            hide = key in OPTIONAL and all(row.get(key) is None for row in summary.rows)
            if self.isColumnHidden(column) != hide:
                self.setColumnHidden(column, hide)
        shown = tuple(not self.isColumnHidden(c) for c in range(len(self.source.columns)))
        shown += self._text_lengths(summary)  # a median's range arrives later than its value
        if reset or shown != self._sized:
            self._sized = shown
            self.resizeColumnsToContents()
            label = self.source.column_of("label")
            if self.columnWidth(label) > LABEL_WIDTH:  # long labels elided; tooltips have them
                self.setColumnWidth(label, LABEL_WIDTH)

    @staticmethod
    def _text_lengths(summary: ComparisonSummary) -> tuple[int, ...]:
        """The longest cell text of each median column (its range makes it grow)."""
        return tuple(max(len(summary.text(row, key, spec)) for row in summary.rows)
                     for key, _, spec in summary.columns()
                     if any(f"{key}_range" in row for row in summary.rows))

    def values(self, key: str) -> list:
        """The raw values of one column, in the order shown (tests)."""
        column = self.source.column_of(key)
        return [self.proxy.data(self.proxy.index(r, column), SummaryModel.SORT_ROLE)
                for r in range(self.proxy.rowCount())]

    def shown_text(self, key: str) -> list[str]:
        column = self.source.column_of(key)
        return [self.proxy.data(self.proxy.index(r, column)) for r in range(self.proxy.rowCount())]


class DistanceTable(QTableWidget):
    """‖θi − θj‖ between the runs' final (live: latest) weights, shaded by size."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # no cell highlighted as "current"
        self.setToolTip("Distance between the runs' weights at the end (while running: the "
                        "latest received), ‖θi − θj‖. All runs start from the same θ0: a large "
                        "distance means the runs ended in different places (different minima).")
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignCenter)
        self.matrix = np.zeros((0, 0))

    def set_runs(self, labels, colors) -> None:
        n = len(labels)
        runs = (list(labels), list(colors))
        if runs == getattr(self, "_runs", None):  # the same runs again: only the values go
            self.matrix = np.full((n, n), np.nan)
            for (i, j), _ in np.ndenumerate(self.matrix):
                self.item(i, j).setText(NONE_TEXT)
                self.item(i, j).setBackground(QBrush())
            return
        self._runs = runs
        self.clear()
        self.setRowCount(n)
        self.setColumnCount(n)
        for i, (label, color) in enumerate(zip(labels, colors, strict=True)):
            row = QTableWidgetItem(str(i + 1))  # the run's number, as in the key and lists
            row.setData(Qt.ItemDataRole.DecorationRole, QColor(color))
            row.setToolTip(label)
            self.setVerticalHeaderItem(i, row)
            column = QTableWidgetItem(str(i + 1))
            column.setToolTip(label)
            self.setHorizontalHeaderItem(i, column)
            for j in range(n):
                item = QTableWidgetItem(NONE_TEXT)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(i, j, item)
        self.matrix = np.full((n, n), np.nan)
        self.resizeColumnsToContents()
        self.clearSelection()

    def resizeColumnsToContents(self) -> None:  # noqa: N802 (Qt naming)
        """Every column as wide as a value needs ("0.00629") in the table's type, whatever it
        shows now (presenter mode sized them to the "—" of runs not yet ended, and the values
        came elided): new values never relayout the table, and a rare "1.23e-05" is elided,
        whole in its tooltip."""
        width = self.fontMetrics().horizontalAdvance("0.00629") + 10
        for j in range(self.columnCount()):
            self.setColumnWidth(j, width)

    def set_distances(self, matrix: np.ndarray) -> None:
        if matrix.shape != self.matrix.shape or np.array_equal(matrix, self.matrix,
                                                               equal_nan=True):
            return
        self.matrix = matrix.copy()
        positive = matrix[np.isfinite(matrix) & (matrix > 0)]
        # shaded on a log scale: distances span decades (0.01 between close solvers, 10 to a
        # different minimum), and a linear shade would show only the largest
        low, high = (np.log10(positive.min()), np.log10(positive.max())) if positive.size else (
            0.0, 0.0)
        for (i, j), d in np.ndenumerate(matrix):
            item = self.item(i, j)
            item.setText(format_value(float(d), ".3g"))
            item.setToolTip(f"‖θ{i + 1} − θ{j + 1}‖ = {format_value(float(d), '.6g')}")
            shade = 0.0
            if math.isfinite(d) and d > 0:
                shade = 0.15 + 0.85 * ((np.log10(d) - low) / (high - low) if high > low else 1)
            item.setBackground(QBrush(QColor.fromRgbF(1.0, 1 - 0.3 * shade, 1 - 0.55 * shade)))

    def wanted_width(self) -> int:
        """Width that shows every column without scrolling."""
        return (self.verticalHeader().width() + self.horizontalHeader().length()
                + 2 * self.frameWidth() + 4)

