"""The comparison's live plots: every run of a comparison overlaid in its own colour.

The same plots as a single run (loss, accuracy or RMS error, step size, λmax, h·λmax, solver
work), drawn by :class:`RunsPlot`, a :class:`~odeprop.gui.common.plots.LivePlot` that holds one
curve per run (and a dashed second one for test data); :class:`RunKey` above them is their shared
legend, and hides or shows a run in all of them. Each run's
snapshots go to its own preallocated :class:`~odeprop.gui.common.plots.SnapshotColumns`; the
window's redraw timer calls :meth:`ComparisonPlots.refresh_some`.
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QGridLayout, QToolButton, QVBoxLayout, QWidget

from odeprop.core.fidelity import FOLLOWS
from odeprop.core.methods import METHODS

from ..common.log_axis import compact
from ..common.plot_parts import PlotGrid, x_extent
from ..common.plots import (
    COLUMNS,
    IMPLICIT_NOTE,
    SPECS,
    Curve,
    LivePlot,
    PlotSpec,
    SnapshotColumns,
)
from ..common.tooltips import tip

#: The work counters the "Solver work" plot can show, one at a time: field → (title, tooltip).
WORK_FIELDS: dict[str, tuple[str, str]] = {
    "step": ("accepted steps", "Accepted solver steps. Against gradient evaluations (x axis): "
             "how many evaluations each method spends per step."),
    "n_grad": ("gradient evaluations", tip("n_grad")),
    "n_grad_fd": ("gradient evaluations for FD Jacobians", tip("n_grad_fd")),
    "n_hvp": ("Hessian-vector products", "Hessian-vector products Hv made by the solver (the "
              "stiffness probe's are not counted)."),
    "jac_evals": ("Jacobian evaluations", tip("jac_evals")),
    "lu_decomps": ("LU factorisations", tip("lu_decomps")),
    "rejected": ("rejected steps", tip("rejected")),
    "newton_failures": ("Newton failures", tip("newton_failures")),
}
RUN_COLUMNS = (*COLUMNS, "n_hess")  # COLUMNS has n_hvp
TRAIN_TEST_NOTE = "solid: train, dashed: test"

_BY_KEY = {spec.key: spec for spec in SPECS}
_WORK = _BY_KEY["work"]
COMPARISON_SPECS = (
    _BY_KEY["loss"],
    _BY_KEY["metric"],
    replace(_WORK, title="Solver work: accepted steps", curves=(Curve("step", "steps", ""),)),
    _BY_KEY["h"],
    _BY_KEY["lambda"],
    _BY_KEY["hlam"],
)


#: Each run's distance from the reference flow (when the comparison has one), per its samples.
FLOW_SPEC = PlotSpec(
    "flow", "Distance from the flow", "‖θ − θflow‖ / ‖θflow‖", "", True,
    (Curve("flow_distance", "from the flow", ""),),
    "How far each run's weights are from a tight solution of the gradient flow from the same "
    "θ0, at the same t, relative to the flow's ‖θ‖ (first seed). Below the dashed 10 % line a "
    "run follows the flow; GD, Adam and lm leave it. Drawn when each run ends.")
FLOW_COLUMNS = ("t", "step", "n_grad", "wall", "flow_distance")


def run_numbers(indices) -> str:
    indices = [i + 1 for i in indices]
    return f"run {indices[0]}" if len(indices) == 1 else f"runs {', '.join(map(str, indices))}"


class RunsPlot(LivePlot):
    """A live plot with every run's curves: the first field of the spec solid, a second
    (test data) dashed, both in the run's colour.

    The runs' names are in the panel's :class:`RunKey`, one legend for all six plots (eight
    full labels repeated under every plot would leave no room for the data); each plot's
    footnote keeps what is its own: the line styles, runs it has no data for, its reference
    lines."""

    runs: tuple[tuple[str, str], ...] = ()  # (label, colour) per run
    fields: tuple[Curve, ...] = ()
    hidden: frozenset[int] = frozenset()
    dashed_drawn = True  # some run has test data (else the line-style note is left out)

    def _set_curves(self, curves) -> None:
        self.fields = tuple(curves)
        self._build()

    def set_runs(self, runs) -> None:
        """One (label, colour) per run; clears the curves."""
        self.runs = tuple(runs)
        self.hidden = frozenset()
        self._build()

    def _build(self) -> None:
        """Curves for every run and field: the existing items emptied and recoloured when the
        shape is the same (adding items to a scene costs milliseconds each), else new ones."""
        plot_item = self.getPlotItem()
        old = getattr(self, "run_items", [])
        shape = [len(row) for row in old]
        if shape != [len(self.fields)] * len(self.runs):
            for row in old:
                for item in row:
                    plot_item.removeItem(item)
                    if item.dots is not None:
                        plot_item.removeItem(item.dots)
            old = [[self._new_item(curve) for curve in self.fields] for _ in self.runs]
        self.run_items: list[list[pg.PlotDataItem]] = old
        for i, (row, (_label, colour)) in enumerate(zip(old, self.runs, strict=True)):
            for k, item in enumerate(row):
                style = Qt.PenStyle.SolidLine if k == 0 else Qt.PenStyle.DashLine
                item.setPen(pg.mkPen(colour, width=2.0 if k == 0 else 1.4, style=style))
                item.colour = colour
                if item.drawn_key is not None:
                    item.setData([], [])
                    item.drawn_key = None
                if item.dots is not None:
                    item.dots.setBrush(pg.mkBrush(colour))
                    item.dots.hide()
                item.setVisible(i not in self.hidden)
        self._states = {i: "drawn" for i in range(len(self.runs))}
        self._rebuild_legend()

    def _new_item(self, curve: Curve) -> pg.PlotDataItem:
        item = pg.PlotDataItem([], [], skipFiniteCheck=True, autoDownsampleFactor=1.0,
                               stepMode=curve.step_mode)
        item.dots = None  # made when the curve first has few points to show
        item.drawn_key = None
        item.setZValue(-self.fields.index(curve))  # train curves over test curves
        self.getPlotItem().addItem(item)
        return item

    def _show_dots(self, item, k: int, x, y) -> None:
        """Dots on a curve of few points, so that a lone point shows."""
        if item.dots is None:
            item.dots = pg.ScatterPlotItem(size=6 if k == 0 else 4, pen=None,
                                           brush=pg.mkBrush(item.colour))
            item.dots.setZValue(-k)
            self.getPlotItem().addItem(item.dots)
        item.dots.setData(x=x, y=y)
        item.dots.show()

    def set_run_visible(self, index: int, visible: bool) -> None:
        self.hidden = self.hidden - {index} if visible else self.hidden | {index}
        for item in self.run_items[index]:
            item.setVisible(visible)
            if not visible and item.dots is not None:
                item.dots.hide()
            item.drawn_key = None  # dots and range are redone at the next refresh

    def _rebuild_legend(self) -> None:
        """No entries (see the class note); the footnote: why there is no bound, line
        styles, runs without data or at zero so far (a log axis cannot show 0), what the
        reference lines are."""
        self.legend.legend.clear()
        missing = [i for i, state in self._states.items() if state == "missing"]
        zero = [i for i, state in self._states.items() if state == "zero"]
        notes = [self.fixed_note]
        if len(self.fields) > 1 and self.dashed_drawn:
            notes.append(TRAIN_TEST_NOTE)
        if missing and len(missing) < len(self.runs):
            notes.append(self.spec.missing.format(run_numbers(missing)))
        if zero:
            notes.append(f"0 so far: {run_numbers(zero)}")
        notes += [text for _, text in self._line_legend]
        self.legend.set_footnote(notes)

    def set_reference_lines(self, lines, note: str = "") -> None:
        """Dashed horizontal lines, each (value, colour, label); ``note`` (e.g. "dashed: 2/η of
        each GD run") and the labels, in their lines' colours, go in the footnote: a label
        drawn on its line sat on the curves it is about."""
        lines = list(lines)
        if (lines, note) == getattr(self, "_lines_spec", None):
            return  # unchanged (a restart of the same comparison)
        self._lines_spec = (lines, note)
        for line in self.lines:
            self.getPlotItem().removeItem(line)
        self.lines = []
        for value, colour, text in lines:
            if value is None or not (math.isfinite(value) and value > 0):
                continue
            pos = math.log10(value) if self.spec.log_y else value
            line = pg.InfiniteLine(
                pos=pos, angle=0, pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
            line.label_text = text
            self.getPlotItem().addItem(line, ignoreBounds=False)
            self.lines.append(line)
        labels = ", ".join(f'<span style="color:{line.pen.color().name()}">'
                           f"{html.escape(line.label_text)}</span>" for line in self.lines)
        # two notes: the labels go on a line of their own when both do not fit on one
        self._line_legend = [(None, note), (None, labels)] if note and self.lines else []
        self._rebuild_legend()

    #: set by :meth:`refresh` when its deadline came before every run's new data was drawn
    unfinished = False
    _next_run = 0  # where the next refresh with a deadline starts drawing (round robin)

    def refresh(self, columns, x_field: str, deadline: float | None = None) -> int:
        """Hand each shown run's new data to its curves; returns how many points there are to
        draw. With a ``deadline`` (``time.perf_counter()`` seconds) the runs take turns: past it,
        the runs not yet drawn wait for the next call (``unfinished``), which starts with them.
        """
        self._drawn_from = (columns, x_field)
        runs = columns[: len(self.run_items)]
        extents = [x_extent(c[x_field], self.view.log_x)
                   for i, c in enumerate(runs) if c.n and i not in self.hidden]
        extents = [e for e in extents if e is not None]
        self.view.x_extent = ((min(a for a, _ in extents), max(b for _, b in extents))
                              if extents else None)
        drawn, states, dashed, changed = 0, {}, False, []
        for i, cols in enumerate(runs):
            x = cols[x_field]
            for k, (curve, item) in enumerate(zip(self.fields, self.run_items[i], strict=True)):
                y = cols[curve.field]
                ok, count = self._drawable(x, y)
                drawn += count
                if k == 0:
                    states[i] = ("drawn" if count or cols.n == 0 else
                                 "missing" if np.isnan(y).all() else "zero")
                else:
                    dashed = dashed or count > 0
                key = (x_field, curve.field, cols.generation, count)
                if key != item.drawn_key and i not in self.hidden:  # append-only columns: the
                    changed.append((i, k, key, x, y, ok, count))  # same count is the same data
        self.unfinished = False
        start = self._next_run % max(1, len(runs))
        changed.sort(key=lambda change: (change[0] - start) % len(runs))
        for n, (i, k, key, x, y, ok, count) in enumerate(changed):
            curve, item = self.fields[k], self.run_items[i][k]
            item.drawn_key = key
            dots = self._set_curve_data(item, curve, x, y, ok, count)
            if dots is not None:
                self._show_dots(item, k, *dots)
            elif item.dots is not None:
                item.dots.hide()
            self._next_run = i + 1
            if deadline is not None and n + 1 < len(changed) and time.perf_counter() >= deadline:
                self.unfinished = True
                break
        dashed = dashed or not any(c.n for c in columns)
        if states != self._states or dashed != self.dashed_drawn:  # rare: a run's first data
            self._states, self.dashed_drawn = states, dashed
            self._rebuild_legend()
        self._show_note(empty=any(c.n for c in columns) and drawn == 0)
        return drawn

    def curve_items(self) -> list[pg.PlotDataItem]:
        return [item for row in self.run_items for item in row]

    def run_curves(self) -> list[pg.PlotDataItem]:
        """The main (train) curve of every run, in run order (tests and exports)."""
        return [row[0] for row in self.run_items]


def _line_icon(colour: str) -> QIcon:
    pixmap = QPixmap(28, 14)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setPen(pg.mkPen(colour, width=4))
    painter.drawLine(2, 7, 26, 7)
    painter.end()
    return QIcon(pixmap)


class RunKey(QWidget):
    """The legend of all six plots: each run's number, line colour and full label. Clicking
    an entry hides or shows that run's curves in every plot (eight runs overlap)."""

    toggled = Signal(int, bool)
    COLUMNS = 4
    ICON = QSize(28, 14)  # the line sample beside each label
    STYLE = ("QToolButton {{ border: none; padding: 1px 4px; color: #202020; "
             "background: transparent;{size} }} QToolButton:!checked {{ color: #a8a8a8; }}")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.buttons: list[QToolButton] = []
        self.scale = 1.0
        self._columns = 0  # as laid out (:meth:`_lay_out`)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(6, 0, 6, 0)
        self._grid.setHorizontalSpacing(12)
        self._grid.setVerticalSpacing(0)
        self.set_type_scale(1.0)

    def set_type_scale(self, scale: float) -> None:
        """The entries' type and line samples ``scale`` times their size (presenter mode): a
        widget under a style sheet does not follow its window's font, so the size is the
        sheet's."""
        self.scale = scale
        size = "" if scale == 1.0 else f" font-size: {self.font().pointSizeF() * scale:.1f}pt;"
        self.setStyleSheet(self.STYLE.format(size=size))
        for button in self.buttons:
            button.setIconSize(self.ICON * scale)
        if self.buttons:
            self._columns = 0
            self._lay_out()

    def set_runs(self, runs) -> None:
        for button in self.buttons:  # gone at once: a deferred delete waits for the event
            self._grid.removeWidget(button)  # loop it was asked in, which a nested loop (a
            button.hide()  # menu, a dialog) is not, and the old key stayed drawn under the new
            button.setParent(None)
            button.deleteLater()
        self.buttons = []
        for i, (label, colour) in enumerate(runs):
            button = QToolButton()
            button.setCheckable(True)
            button.setChecked(True)
            button.setIcon(_line_icon(colour))
            button.setIconSize(self.ICON * self.scale)
            button.setText(f"{i + 1}  {label}")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setToolTip(f"<p>{html.escape(label)}: click to hide or show this run in "
                              "every plot.</p>")  # rich text around the label as typed
            button.toggled.connect(lambda on, i=i: self.toggled.emit(i, on))
            self.buttons.append(button)
        self._columns = 0
        self._lay_out()

    def _fitting_columns(self) -> int:
        """The most columns (up to :data:`COLUMNS`) whose widest entries fit the key's width."""
        widths = [button.sizeHint().width() for button in self.buttons]
        margins = self._grid.contentsMargins()
        room = self.width() - margins.left() - margins.right()
        for columns in range(min(len(widths), self.COLUMNS), 1, -1):
            needed = sum(max(widths[c::columns]) for c in range(columns))
            if needed + self._grid.horizontalSpacing() * (columns - 1) <= room:
                return columns
        return 1

    def _lay_out(self) -> None:
        """The entries in as many columns as fit (presenter type on 1280 px: fewer, in more
        rows; four columns of it made the window 1,380 px wide at least)."""
        columns = self._fitting_columns()
        if columns == self._columns:
            return
        self._columns = columns
        for i, button in enumerate(self.buttons):
            self._grid.removeWidget(button)
            self._grid.addWidget(button, i // columns, i % columns, Qt.AlignmentFlag.AlignLeft)
        for column in range(self.COLUMNS):
            self._grid.setColumnStretch(column, 1 if column < columns else 0)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        """As narrow as the widest entry (the entries then take more rows)."""
        margins = self._grid.contentsMargins()
        widest = max((button.sizeHint().width() for button in self.buttons), default=0)
        return QSize(widest + margins.left() + margins.right(),
                     super().minimumSizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._lay_out()

    def labels(self) -> list[str]:
        return [button.text() for button in self.buttons]


class FlowPlot(RunsPlot):
    """Every run's distance from the reference flow, from the track its worker measured (it
    arrives with the run's report), in the run's colour; the x axis as the other plots'."""

    def set_runs(self, runs) -> None:
        self.flow_columns = [SnapshotColumns(64, FLOW_COLUMNS) for _ in runs]
        super().set_runs(runs)

    def set_track(self, index: int, track) -> None:
        """One run's :class:`~odeprop.core.fidelity.FlowTrack` (None: nothing measured)."""
        columns = self.flow_columns[index]
        columns.clear()
        if track is not None:
            columns.append(track.samples)

    def refresh(self, columns, x_field: str, deadline: float | None = None) -> int:
        return super().refresh(getattr(self, "flow_columns", []), x_field, deadline)


class ComparisonPlots(PlotGrid):
    """Six live plots in a 3 × 2 grid, each overlaying every run of the comparison, and below
    them, when the comparison has a reference flow, each run's distance from it."""

    PLOTS_PER_CALL = 2

    def __init__(self, parent=None):
        super().__init__(parent)
        self.columns: list[SnapshotColumns] = []
        self.work_field = "step"
        #: "accuracy" or "rms" (not "metric": that name is QPaintDevice.metric, which Qt calls)
        self.metric_kind = "accuracy"
        self.plots: dict[str, RunsPlot] = {s.key: RunsPlot(s) for s in COMPARISON_SPECS}
        self.key = RunKey()
        self.key.toggled.connect(self.set_run_visible)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.key)
        grid = QGridLayout()
        grid.setSpacing(4)
        for n, key in enumerate(self.plots):
            grid.addWidget(self.plots[key], n // 3, n % 3)
        for i in range(3):
            grid.setColumnStretch(i, 1)
        for i in range(2):  # the rows keep their shares when a plot was large (PlotZoom)
            grid.setRowStretch(i, 1)
        self._cells = grid  # the flow's row gets its share while it is shown (_show_flow)
        self.plots["flow"] = FlowPlot(FLOW_SPEC)  # shown when the comparison has a reference
        self.plots["flow"].empty_note = "no distance yet: it is measured to each run's end"
        self.plots["flow"].hide()
        grid.addWidget(self.plots["flow"], 2, 0, 1, 3)
        layout.addLayout(grid, 1)
        self.enable_zoom(grid)
        # presenting on a short screen: loss, work and h·λmax in one row (PlotGrid.fit_rows)
        self.detail, self.rows = [self.plots[k] for k in ("metric", "h", "lambda")], 2
        self.set_x_mode("t")

    # -- data ------------------------------------------------------------------------------
    def set_runs(self, runs) -> None:
        """(label, colour) per run: empty columns and fresh curves for each."""
        self.columns = [SnapshotColumns(256, RUN_COLUMNS) for _ in runs]
        self.key.set_runs(runs)
        for plot in self.plots.values():
            plot.set_runs(runs)
        self.refresh()

    def set_run_visible(self, index: int, visible: bool) -> None:
        """Hide or show one run's curves in every plot (the key's buttons do this)."""
        for plot in self.plots.values():
            plot.set_run_visible(index, visible)
            plot.enableAutoRange()
        if self.key.buttons[index].isChecked() != visible:
            self.key.buttons[index].setChecked(visible)
        self.refresh()

    def append(self, index: int, snapshots) -> None:
        self.columns[index].append(snapshots)
        self._mark_stale()

    def _mark_stale(self) -> None:
        """Every plot but the flow's, which changes only when a run ends (:meth:`set_flow`)."""
        for key in self.plots:
            if key != "flow":
                self._stale.setdefault(key)

    def set_flow(self, index: int, track) -> None:
        """Run ``index``'s distance from the reference flow, measured to its end."""
        self.plots["flow"].set_track(index, track)
        self._stale.setdefault("flow")

    def clear(self) -> None:
        for cols in self.columns:
            cols.clear()
        for cols in self.plots["flow"].flow_columns:
            cols.clear()
        self.refresh()

    # -- settings --------------------------------------------------------------------------
    def set_work(self, field: str) -> None:
        """Which cumulative counter the work plot shows (see :data:`WORK_FIELDS`)."""
        name, tooltip = WORK_FIELDS[field]
        self.work_field = field
        plot = self.plots["work"]
        plot.set_title(f"Solver work: {name}")
        plot.setToolTip(tooltip)
        plot._set_curves((Curve(field, name, ""),))
        plot.enableAutoRange()
        self._note_x_axis()
        plot.refresh(self.columns, self.x_mode)

    def _note_x_axis(self) -> None:
        """The work plot against its own count is a diagonal for every run: say so."""
        plot = self.plots["work"]
        plot.fixed_note = (f"x and y are both {WORK_FIELDS[self.work_field][0]}: choose "
                           "another count under “work plot”"
                           if self.work_field == self.x_mode else None)

    def set_metric(self, kind: str) -> None:
        """"accuracy" (%) or "rms" (RMS error) in the second plot, train solid, test dashed."""
        self.metric_kind = kind
        plot = self.plots["metric"]
        plot.show_metric(kind == "accuracy")
        plot.refresh(self.columns, self.x_mode)

    def set_comparison(self, comparison) -> None:
        """Reference lines: each GD (or momentum) run's edge of stability 2/η in the λmax plot,
        in the run's colour; the explicit methods' stability bounds in the h·λmax plot."""
        edges, bounds = [], {}
        for i, spec in enumerate(comparison.runs):
            solver, colour = spec.solver, comparison.color(i)
            if solver.method == "gd":
                edges.append((2.0 / solver.learning_rate, colour,
                              f"2/η = {compact(2.0 / solver.learning_rate, 3)}"))
                bounds.setdefault(2.0, []).append("GD")
            elif solver.method == "momentum":
                edge = 2.0 * (1 + solver.momentum) / solver.learning_rate
                edges.append((edge, colour, f"2(1+β)/η = {compact(edge, 3)}"))
                bounds.setdefault(2.0 * (1 + solver.momentum), []).append("momentum")
            else:
                bound = METHODS[solver.method].stability_bound
                if math.isfinite(bound):
                    bounds.setdefault(bound, []).append(solver.method)
        self.plots["lambda"].set_reference_lines(
            edges, "dashed: each fixed-step run's edge of stability" if edges else "")
        lines = [(value, "#444444", f"{' / '.join(dict.fromkeys(names))}: {compact(value, 3)}")
                 for value, names in sorted(bounds.items())]
        hlam = self.plots["hlam"]
        hlam.set_reference_lines(lines, "dashed: stability bounds (explicit methods)")
        methods = [METHODS[s.solver.method] for s in comparison.runs]
        hlam.fixed_note = (IMPLICIT_NOTE if all(m.implicit for m in methods) else None)
        off = comparison.probe.stiffness_every == 0 and comparison.probe.stiffness_every_dt is None
        for key, what in (("lambda", "λmax"), ("hlam", "h·λmax")):
            self.plots[key].empty_note = (
                f"{what} not measured: the stiffness probe is off (Shared ▸ λmax every)"
                if off else f"no {what} measured yet")
        hlam.refresh(self.columns, self.x_mode)
        self._show_flow(comparison)

    def _show_flow(self, comparison) -> None:
        """The distance-from-the-flow plot, with its 10 % line, when there is a reference."""
        flow = self.plots["flow"]
        flow.setVisible(comparison.reference is not None)
        self._cells.setRowStretch(2, 1 if comparison.reference is not None else 0)  # a third
        if comparison.reference is not None:
            flow.set_title(f"Distance from the flow ({comparison.reference.label})")
            flow.set_reference_lines([(FOLLOWS, "#444444", f"{FOLLOWS:.0%}")],
                                     f"dashed: follows the flow below {FOLLOWS:.0%}")
