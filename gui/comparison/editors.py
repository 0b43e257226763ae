"""Editing a comparison: the shared settings (with the summary's targets) and the runs.

Both editors reuse the lab's :class:`~odeprop.gui.common.config_panel.ConfigPanel`: the shared one
shows its dataset, network, stopping and measurement sections; the run editor shows the solver
section of the selected run, with the run's label and colour above it and its tolerance schedule
below. Every value is validated by building the core dataclasses, whose messages name the field.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QColorDialog,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from odeprop.core.comparison import (
    MAX_RUNS,
    MAX_SAMPLES,
    PALETTE,
    REFERENCE_METHODS,
    Comparison,
    ReferenceFlow,
    RunSpec,
)
from odeprop.core.config import Experiment, SolverConfig

from ..common.config_panel import ConfigPanel
from ..common.config_widgets import NumberEdit, flag
from ..common.row_editors import ScheduleEditor, TargetsEditor
from .table import STATUS_COLORS


def swatch(color: str, size: int = 14) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(QColor(color))
    return QIcon(pixmap)


class RepeatsEditor(QGroupBox):
    """Seeds, timing repeats and the reference flow: the comparison's optional settings for
    medians instead of single samples, and for "follows the flow?"."""

    changed = Signal()
    TIPS = {
        "seeds": "Initial-weight seeds, e.g. 0, 1, 2, 3, 4: every run is made from each seed's "
                 "θ0 (the same for every run). Empty: network.init_seed only.",
        "timing_repeats": "Each run and seed this many times: wall times become a median with "
                          "its range, not one noisy sample.",
        "reference": "A tight solution of the gradient flow from the same θ0: the summary and "
                     "the “Distance from the flow” plot say how far each run's weights are from "
                     "it at the same t. Radau (exact Hessian) is not held back where the flow "
                     "is stiff; RK45 or DOP853 suit networks too big for a dense Hessian.",
    }

    def __init__(self, parent=None):
        super().__init__("Repeats and the flow", parent)
        self.seeds = QLineEdit()
        self.seeds.setPlaceholderText("network seed only")
        self.repeats = QSpinBox()
        self.repeats.setRange(1, MAX_SAMPLES)
        self.reference = QComboBox()
        self.reference.addItems(["none", *REFERENCE_METHODS])
        self.rtol, self.atol = NumberEdit("1e-9"), NumberEdit("1e-12")
        form = QFormLayout(self)
        for label, widget, tip_key in (("seeds", self.seeds, "seeds"),
                                       ("timing repeats", self.repeats, "timing_repeats"),
                                       ("reference flow", self.reference, "reference"),
                                       ("reference rtol", self.rtol, "reference"),
                                       ("reference atol", self.atol, "reference")):
            widget.setToolTip(self.TIPS[tip_key])
            form.addRow(label, widget)
        self.seeds.textChanged.connect(self.changed)
        self.repeats.valueChanged.connect(self.changed)
        self.reference.currentIndexChanged.connect(self._reference_chosen)
        self.rtol.textChanged.connect(self.changed)
        self.atol.textChanged.connect(self.changed)
        self._reference_chosen()

    def _reference_chosen(self, *_args) -> None:
        on = self.reference.currentText() != "none"
        self.rtol.setEnabled(on)
        self.atol.setEnabled(on)
        self.changed.emit()

    def set_comparison(self, comparison: Comparison) -> None:
        blocked = [w.blockSignals(True) for w in self._widgets()]
        seeds = comparison.seed_list() if comparison.seeds or comparison.n_seeds else ()
        self.seeds.setText(", ".join(map(str, seeds)))
        self.repeats.setValue(comparison.repeats)
        ref = comparison.reference
        self.reference.setCurrentText(ref.method if ref else "none")
        self.rtol.set_value(ref.rtol if ref else None)
        self.atol.set_value(ref.atol if ref else None)
        for widget, was in zip(self._widgets(), blocked, strict=True):
            widget.blockSignals(was)
        self._reference_chosen()

    def _widgets(self):
        return (self.seeds, self.repeats, self.reference, self.rtol, self.atol)

    def values(self) -> dict:
        """Comparison keyword arguments; ValueError naming the field (flagged where it is)."""
        for widget, key in ((self.seeds, "seeds"), (self.rtol, "reference"),
                            (self.atol, "reference")):
            flag(widget, None, self.TIPS[key])
        try:
            values = self._read()
            Comparison(runs=(RunSpec("check"),), **values)  # the core's checks, by field
        except ValueError as exc:
            message = str(exc)
            field = message.split(":", 1)[0]
            widget = (self.atol if field == "reference.atol" else
                      self.rtol if field.startswith("reference") else self.seeds)
            flag(widget, message, self.TIPS["reference" if widget is not self.seeds else "seeds"])
            raise ValueError(message) from None
        return values

    def _read(self) -> dict:
        text = self.seeds.text().replace(",", " ").split()
        seeds = []
        for word in text:
            if not word.isdigit():
                raise ValueError(f"seeds: {word!r} is not a whole number ≥ 0; list seeds as "
                                 "0, 1, 2")
            seeds.append(int(word))
        reference = None
        if self.reference.currentText() != "none":
            tolerances = {}
            for name, edit in (("rtol", self.rtol), ("atol", self.atol)):
                try:
                    number = edit.value()
                except ValueError as exc:
                    raise ValueError(f"reference.{name}: {exc}") from None
                if number is not None:
                    tolerances[name] = number
            reference = ReferenceFlow(self.reference.currentText(), **tolerances)
        return {"seeds": tuple(seeds) or None,
                "timing_repeats": self.repeats.value() if self.repeats.value() > 1 else None,
                "reference": reference}


class SharedEditor(ConfigPanel):
    """What every run shares: name, dataset, network, stopping rules, measurements, targets."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumWidth(320)
        self.show_sections({"dataset", "network", "stop", "probe"}, name=True)
        self.name_edit.setToolTip("A name for this comparison (saved in its TOML file).")
        self.description = QLabel("")
        self.description.setWordWrap(True)
        self.description.setStyleSheet("color: #455a64;")
        self.body_layout.insertWidget(1, self.description)
        self.targets = TargetsEditor()
        index = self.body_layout.indexOf(self.groups["stop"]) + 1
        self.body_layout.insertWidget(index, self.targets)
        self.targets.changed.connect(self._edited)
        self.repeats = RepeatsEditor()
        self.body_layout.insertWidget(index + 1, self.repeats)
        self.repeats.changed.connect(self._edited)

    def set_comparison(self, comparison: Comparison) -> None:
        self.description.setText(" ".join(comparison.description.split()))
        self.description.setVisible(bool(comparison.description.strip()))
        self.targets.set_targets(comparison.targets)
        self.repeats.set_comparison(comparison)
        self.set_experiment(Experiment(
            name=comparison.name, description=comparison.description,
            dataset=comparison.dataset, network=comparison.network,
            solver=replace(comparison.runs[0].solver, schedule=()), stop=comparison.stop,
            probe=comparison.probe))

    def shared(self) -> dict:
        """The shared sections as keyword arguments of a Comparison; ValueError when bad."""
        exp = self.experiment()
        return {"name": exp.name, "description": exp.description, "dataset": exp.dataset,
                "network": exp.network, "stop": exp.stop, "probe": exp.probe,
                "targets": self.targets.targets(), **self.repeats.values()}

    def validate(self) -> list[str]:
        errors = super().validate()
        if not hasattr(self, "repeats"):
            return errors  # ConfigPanel validates once while it is being built
        for check in (self.targets.targets, self.repeats.values):
            try:
                check()
            except ValueError as exc:
                errors = [*errors, str(exc)]
        self.errors = errors
        return errors


class RunsEditor(QWidget):
    """The runs: a list (colour, label, status) with Add, Duplicate and Remove, and the
    selected run's label, colour, solver settings and tolerance schedule."""

    changed = Signal()
    notice = Signal(str)  # something the window's status line should say

    def __init__(self, parent=None):
        super().__init__(parent)
        self.specs: list[RunSpec] = []
        self.current = -1
        self.error = ""
        self._loading = False
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["run", "status"])
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.verticalHeader().hide()  # each label starts with the run's number
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(14, 14))
        rows = MAX_RUNS + 1.3
        self.table.setFixedHeight(int(self.table.verticalHeader().defaultSectionSize() * rows))
        self.table.setToolTip("The runs of the comparison; select one to edit its settings. "
                              "Double-click a run to choose its colour.")
        self.table.currentCellChanged.connect(lambda row, *_: self.select(row))
        self.table.cellDoubleClicked.connect(lambda row, _c: self.choose_color(row))
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip(f"Add a run (up to {MAX_RUNS}).")
        self.add_button.clicked.connect(self.add_run)
        self.duplicate_button = QPushButton("Duplicate")
        self.duplicate_button.setToolTip("Add a copy of the selected run, to change one setting.")
        self.duplicate_button.clicked.connect(self.duplicate_run)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected run.")
        self.remove_button.clicked.connect(self.remove_run)
        buttons = QHBoxLayout()
        for button in (self.add_button, self.duplicate_button, self.remove_button):
            buttons.addWidget(button)

        self.panel = ConfigPanel()
        self.panel.show_sections({"solver"}, name=False)
        self.panel.setMinimumWidth(320)  # the solver form alone is narrower than the lab's
        run_box = QGroupBox("Selected run")
        form = QFormLayout(run_box)
        self.label_edit = QLineEdit()
        self.label_edit.setToolTip("The run's name in legends, the table and exports.")
        self.label_edit.textEdited.connect(self._edited)
        form.addRow("Label", self.label_edit)
        self.color_button = QPushButton("Choose…")
        self.color_button.setToolTip("The run's colour in every plot and the table.")
        self.color_button.clicked.connect(lambda: self.choose_color(self.current))
        form.addRow("Colour", self.color_button)
        self.panel.body_layout.insertWidget(0, run_box)
        self.schedule = ScheduleEditor()
        index = self.panel.body_layout.indexOf(self.panel.groups["solver"]) + 1
        self.panel.body_layout.insertWidget(index, self.schedule)
        self.schedule.changed.connect(self._edited)
        self.panel.changed.connect(self._edited)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.panel, 1)

    # -- the list ----------------------------------------------------------------------------
    def set_runs(self, specs, colors) -> None:
        """Show these runs (with their effective colours) and select the first."""
        self.specs = [replace(s, color=s.color or c) for s, c in zip(specs, colors, strict=True)]
        self.current = -1
        self.table.setRowCount(0)
        self.table.setRowCount(len(self.specs))
        for i in range(len(self.specs)):
            self._show_row(i)
            self.set_status(i, "", "")
        self._update_buttons()
        self.table.setCurrentCell(0, 0)
        self.select(0)

    def _show_row(self, i: int) -> None:
        spec = self.specs[i]
        item = QTableWidgetItem(swatch(spec.color), f"{i + 1}  {spec.label}")
        item.setToolTip(f"{spec.label}\n{spec.solver.info.label}")
        self.table.setItem(i, 0, item)

    def set_status(self, i: int, status: str, message: str, detail: str = "") -> None:
        """queued, running (with ``detail``: step and loss), or how it ended and why."""
        if detail:
            text = f"{status} · {detail}"
        else:
            text = f"{status}: {message}" if message and status != "running" else status
        item = self.table.item(i, 1)
        if item is None:
            item = QTableWidgetItem()
            self.table.setItem(i, 1, item)
        if item.text() != text:
            item.setText(text)
            item.setForeground(QColor(STATUS_COLORS.get(status, "#202020")))
            item.setToolTip(f"{status}: {message}" if message else status)

    def status_text(self, i: int) -> str:
        item = self.table.item(i, 1)
        return item.text() if item else ""

    def _update_buttons(self, editable: bool = True) -> None:
        room = len(self.specs) < MAX_RUNS
        self.add_button.setEnabled(editable and room)
        self.duplicate_button.setEnabled(editable and room and not self.error)
        self.remove_button.setEnabled(editable and len(self.specs) > 1)

    def set_editable(self, editable: bool) -> None:
        """While the comparison runs, the runs can be looked at but not changed."""
        self._update_buttons(editable)
        self.panel.setEnabled(editable)

    def _free_color(self) -> str:
        used = {s.color.lower() for s in self.specs}
        return next((c for c in PALETTE if c.lower() not in used), PALETTE[0])

    def _free_label(self, base: str) -> str:
        labels = {s.label for s in self.specs}
        if base not in labels:
            return base
        n = 2
        while f"{base} ({n})" in labels:
            n += 1
        return f"{base} ({n})"

    def add_run(self) -> None:
        solver = SolverConfig(method="RK45")
        self._append(RunSpec(self._free_label(solver.info.label), solver, self._free_color()))

    def duplicate_run(self) -> None:
        if 0 <= self.current < len(self.specs) and not self.error:
            spec = self.specs[self.current]
            self._append(replace(spec, label=self._free_label(f"{spec.label} copy"),
                                 color=self._free_color()))

    def _append(self, spec: RunSpec) -> None:
        if len(self.specs) >= MAX_RUNS:
            return
        self.specs.append(spec)
        i = len(self.specs) - 1
        self.table.setRowCount(len(self.specs))
        self._show_row(i)
        self.set_status(i, "", "")
        self.table.setCurrentCell(i, 0)
        self._update_buttons()
        self.changed.emit()

    def remove_run(self) -> None:
        if len(self.specs) <= 1 or not 0 <= self.current < len(self.specs):
            return
        index = self.current
        del self.specs[index]
        self.current = -1
        self.error = ""
        self.table.removeRow(index)
        for i in range(len(self.specs)):
            self._show_row(i)
        self.table.setCurrentCell(min(index, len(self.specs) - 1), 0)
        self.select(self.table.currentRow())
        self._update_buttons()
        self.changed.emit()

    def choose_color(self, i: int) -> None:
        if not 0 <= i < len(self.specs) or not self.panel.isEnabled():
            return
        spec = self.specs[i]
        color = QColorDialog.getColor(QColor(spec.color), self, f"Colour of {spec.label}")
        if color.isValid():
            self.set_color(i, color.name())

    def set_color(self, i: int, color: str) -> None:
        self.specs[i] = replace(self.specs[i], color=color)
        self._show_row(i)
        if i == self.current:
            self.color_button.setIcon(swatch(color))
        self.changed.emit()

    # -- the selected run --------------------------------------------------------------------
    def select(self, i: int) -> None:
        """Edit run ``i``; a run left with invalid settings keeps its last valid ones."""
        if i == self.current or not 0 <= i < len(self.specs):
            return
        if self.error:  # the edits that made it invalid are dropped, and the user told so
            self.notice.emit(f"Left run {self.current + 1} with its last valid settings "
                             f"(dropped: {self.error})")
            self.error = ""
        self.current = i
        spec = self.specs[i]
        self._loading = True
        try:
            self.label_edit.setText(spec.label)
            self.color_button.setIcon(swatch(spec.color))
            self.panel.set_experiment(Experiment(name=spec.label,
                                                 solver=replace(spec.solver, schedule=())))
            self.schedule.set_phases(spec.solver.schedule)
            self.schedule.set_method(spec.solver.method)
        finally:
            self._loading = False
        flag(self.label_edit, None, self.label_edit.toolTip())
        if self.table.currentRow() != i:
            self.table.setCurrentCell(i, 0)
        self._update_buttons(self.panel.isEnabled())
        self.changed.emit()

    def _edited(self, *_args) -> None:
        if self._loading or not 0 <= self.current < len(self.specs):
            return
        method = self.panel.method.currentData()
        if method:
            self.schedule.set_method(method)
        self.error = ""
        label = self.label_edit.text().strip()
        try:
            if not label:
                raise ValueError("runs.label: every run needs a label")
            if label in {s.label for j, s in enumerate(self.specs) if j != self.current}:
                raise ValueError(f"runs.label: another run is called {label!r}")
            flag(self.label_edit, None, "The run's name in legends, the table and exports.")
            if self.panel.errors:
                raise ValueError(self.panel.errors[0])
            solver = replace(self.panel.experiment().solver, schedule=self.schedule.phases())
            self.specs[self.current] = replace(self.specs[self.current], label=label,
                                               solver=solver)
            self._show_row(self.current)
        except ValueError as exc:
            self.error = f"runs[{self.current}] ({label or 'no label'}): {exc}"
            if str(exc).startswith("runs.label"):
                flag(self.label_edit, str(exc), "The run's name in legends, the table and "
                     "exports.")
        self._update_buttons(self.panel.isEnabled())
        self.changed.emit()

    def runs(self) -> tuple[RunSpec, ...]:
        """The runs as edited; ValueError naming the run and field when one is invalid."""
        if self.error:
            raise ValueError(self.error)
        return tuple(self.specs)
