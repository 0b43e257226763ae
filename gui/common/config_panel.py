"""The configuration panel: dataset, network, solver and stopping rules of one experiment.

It edits a core :class:`~odeprop.core.config.Experiment` and validates by building one: the
engine's ``ValueError`` names the field (``solver.rtol: …``), so the message is shown where it
was typed: the widget is outlined, and the message stands in red under it. Settings the chosen
method lacks are disabled, with the reason as their tooltip.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from odeprop.core.config import (
    DATASET_KINDS,
    INIT_SCHEMES,
    LOSSES,
    OUTPUTS,
    STIFFNESS_METHODS,
    TASKS,
    DatasetConfig,
    Experiment,
    SolverConfig,
)
from odeprop.core.dataset_kinds import class_count, input_dimension
from odeprop.core.datasets import (
    Dataset,
    DatasetError,
    csv_columns,
    csv_preview,
    load_dataset,
)
from odeprop.core.dense_limits import dense_jacobian_refusal
from odeprop.core.methods import METHODS
from odeprop.core.presets import default_experiment

from .config_widgets import MESSAGE_STYLE, NOTE_STYLE, LayerEditor, LogEdit, NumberEdit, flag
from .row_editors import ScheduleEditor
from .tooltips import tip

FAMILIES = {"ivp": "scipy solve_ivp", "ode": "scipy ode (legacy)", "cvode": "SUNDIALS CVODE",
            "rosenbrock": "Rosenbrock / Gauss–Newton", "stabilised": "Stabilised explicit (RKC)",
            "optimiser": "Optimisers (fixed step)"}
# a family the engine gained and this table does not name yet still gets its entry
FAMILIES.update({info.family: info.family for info in METHODS.values()
                 if info.family not in FAMILIES})
# only families with methods (the engine may not have every family this table names)
FAMILIES = {key: label for key, label in FAMILIES.items()
            if any(info.family == key for info in METHODS.values())}
FIXED_DATA = ("xor", "encoder", "iris", "digits", "csv")
SETTABLE_CLASSES = ("blobs", "clusters")  # the kinds whose number of classes is a setting
NO_CLASSES = "—"  # the greyed "Classes" field of regression data (see _show_classes)
STIFFNESS_LABELS = {"power": "power iteration (fast)", "lanczos": "Lanczos (more accurate)"}
#: A CSV file up to this size is read whole when it is chosen (a bad row refuses it at once:
#: about a third of a second); a larger one is read by the window's background build.
PICK_CHECK_BYTES = 2_000_000
LOSS_NAMES = {"bce": "binary cross-entropy", "softmax_ce": "softmax cross-entropy",
              "mse": "squared error (mse)"}


def fitting_loss(loss: str, classes: int | str) -> tuple[str, str]:
    """The loss data with ``classes`` (a count, "regression" or "unknown") can take, and why it
    is not ``loss`` ("" when ``loss`` fits): cross-entropy needs class labels, and binary
    cross-entropy two classes."""
    if classes == "regression" and loss in ("bce", "softmax_ce"):
        return "mse", "regression targets"
    if isinstance(classes, int) and classes > 2 and loss == "bce":
        return "softmax_ce", f"{classes} classes"
    return loss, ""


class ConfigPanel(QScrollArea):
    """Edits one experiment; ``changed`` fires on every edit, ``errors`` lists what is invalid.

    ``schedule=True`` adds the tolerance-schedule editor under the solver (the lab's form; the
    comparison workspace edits each run's schedule beside its own run list)."""

    changed = Signal()

    def __init__(self, parent=None, schedule: bool = False):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setMinimumWidth(360)  # the widest group (layers) fits without a horizontal scroll bar
        self._base = default_experiment()
        self._updating = False
        self._jacobian_for = ""
        self.fields: dict[str, QWidget] = {}  # dotted field name → editing widget
        self.labels: dict[str, QLabel] = {}
        #: the message under a field while it is invalid (hidden otherwise)
        self.messages: dict[str, QLabel] = {}
        self._forms: dict[str, QFormLayout] = {}
        self.errors: list[str] = []
        self.n_params: int | None = None  # of the network the form describes, once built
        self.n_outputs: int | None = None  # training samples × outputs, once built
        self.csv_error: str | None = None  # the CSV file cannot be read
        #: (name, message) of a target column the file lacks (an experiment asked for it)
        self.column_error: tuple[str, str] | None = None
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("A name for this experiment (saved in its TOML file).")
        layout.addWidget(self.name_edit)
        #: the form's sections by experiment section name (the comparison workspace shows some)
        self.groups: dict[str, QGroupBox] = {
            "dataset": self._dataset_group(), "network": self._network_group(),
            "solver": self._solver_group(), "stop": self._stop_group(),
            "probe": self._probe_group()}
        #: the solver's tolerance schedule (None: the experiment's is kept as it is)
        self.schedule: ScheduleEditor | None = None
        if schedule:  # under the solver's settings
            self.schedule = ScheduleEditor()
            self.schedule.changed.connect(self._edited)
            groups = list(self.groups.items())
            at = list(self.groups).index("solver") + 1
            self.groups = dict([*groups[:at], ("schedule", self.schedule), *groups[at:]])
        for group in self.groups.values():
            layout.addWidget(group)
        layout.addStretch(1)
        self.body_layout = layout
        self.setWidget(body)
        self.setMinimumWidth(max(360, self._method_width(body)))
        #: the user typed the name in this window: it stays whatever else changes
        self.name_typed = False
        self.name_edit.textEdited.connect(self._name_edited)
        self.set_experiment(default_experiment())

    # -- building the form -------------------------------------------------------------------
    def _add(self, form: QFormLayout, name: str, label: str, widget: QWidget, key: str,
             own_row: bool = False) -> None:
        """A field and its label (``own_row``: the widget on a row of its own under the label,
        the form's whole width), and the hidden message row under them."""
        text = QLabel(label)
        text.setToolTip(tip(key))
        widget.setToolTip(tip(key))
        widget.setProperty("tip", tip(key))
        if own_row:
            form.addRow(text)
            form.addRow(widget)
        else:
            form.addRow(text, widget)
        message = QLabel("")
        message.setObjectName(f"message:{name}")
        message.setWordWrap(True)
        message.setStyleSheet(MESSAGE_STYLE)
        message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(message)
        form.setRowVisible(message, False)
        self.fields[name] = widget
        self.labels[name] = text
        self.messages[name] = message
        self._forms[name] = form
        for signal in ("textEdited", "valueChanged", "currentIndexChanged", "changed"):
            if hasattr(widget, signal) and not (signal == "valueChanged"
                                                and isinstance(widget, LogEdit)):
                getattr(widget, signal).connect(self._edited)
                break

    def _dataset_group(self) -> QGroupBox:
        box = QGroupBox("Dataset")
        form = QFormLayout(box)
        self.kind = QComboBox()
        self.kind.addItems(DATASET_KINDS)
        self._add(form, "dataset.kind", "Data", self.kind, "kind")
        self.n_samples = QSpinBox()
        self.n_samples.setRange(4, 100_000)
        self._add(form, "dataset.n_samples", "Samples", self.n_samples, "n_samples")
        self.noise = NumberEdit()
        self._add(form, "dataset.noise", "Noise", self.noise, "noise")
        self.test_fraction = QDoubleSpinBox()
        self.test_fraction.setRange(0.0, 0.9)
        self.test_fraction.setSingleStep(0.05)
        self._add(form, "dataset.test_fraction", "Test split", self.test_fraction,
                  "test_fraction")
        self.data_seed = QSpinBox()
        self.data_seed.setRange(0, 2**31 - 1)
        self._add(form, "dataset.seed", "Seed", self.data_seed, "seed")
        self.n_classes = QSpinBox()
        self.n_classes.setRange(2, 20)
        #: the blobs' and clusters' number of classes, kept while the field shows another kind's
        self._set_classes = self._base.dataset.n_classes
        #: a CSV file's classes (None: a regression target) once the window has read it, by
        #: (path, target column, task): what they were read for
        self._csv_classes: dict[tuple[str, str, str], int | None] = {}
        self.n_classes.valueChanged.connect(self._classes_edited)  # before _edited sees it
        self._add(form, "dataset.n_classes", "Classes", self.n_classes, "n_classes")
        self.n_features = QSpinBox()
        self.n_features.setRange(1, 10_000)
        self.n_features.setSpecialValueText("?")  # shown at 0: a CSV file's count not known yet
        #: the clusters' input dimension, kept while the field shows another kind's own count
        self._clusters_features = self._base.dataset.n_features
        self._csv_columns: list[str] | None = None  # the chosen CSV file's, once read
        self.n_features.valueChanged.connect(self._features_edited)  # before _edited sees it
        self._add(form, "dataset.n_features", "Inputs", self.n_features, "n_features")
        csv_row = QWidget()
        row = QHBoxLayout(csv_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.csv_path = QLineEdit()
        self.csv_path.setReadOnly(True)
        self.csv_path.setPlaceholderText("no file chosen")
        self.csv_button = QPushButton("Open CSV…")
        self.csv_button.setToolTip(tip("csv"))
        self.csv_button.clicked.connect(self._choose_csv)
        row.addWidget(self.csv_path, 1)
        row.addWidget(self.csv_button)
        self._add(form, "dataset.csv_path", "CSV file", csv_row, "csv")
        self.target_column = QComboBox()
        self._add(form, "dataset.target_column", "Target column", self.target_column,
                  "target_column")
        self.task = QComboBox()
        self.task.addItems(TASKS)
        self._add(form, "dataset.task", "Task", self.task, "task")
        self.preview = QTableWidget(0, 0)
        self.preview.setMaximumHeight(130)
        self.preview.setToolTip("The first rows of the CSV file, as they are in the file.")
        form.addRow(self.preview)
        self.preview.hide()
        return box

    def _network_group(self) -> QGroupBox:
        box = QGroupBox("Network")
        form = QFormLayout(box)
        #: the layer sizes and the parameter count, once the window has built the problem
        self.params_label = QLabel("")
        self.params_label.setToolTip(tip("n_params"))
        form.addRow(self.params_label)
        self.layers = LayerEditor()
        self._add(form, "network.hidden", "Hidden layers", self.layers, "layers")
        self.fields["network.activations"] = self.layers  # the same editor: one message
        self.messages["network.activations"] = self.messages["network.hidden"]
        self._forms["network.activations"] = form
        self.loss = QComboBox()
        self.loss.addItems(LOSSES)
        self._add(form, "network.loss", "Loss", self.loss, "loss")
        #: says so when the form switched the loss to one the data can take (:meth:`_fit_loss`)
        self.loss_note = QLabel("")
        self.loss_note.setObjectName("note:network.loss")
        self.loss_note.setWordWrap(True)
        self.loss_note.setStyleSheet(NOTE_STYLE)
        form.addRow(self.loss_note)
        form.setRowVisible(self.loss_note, False)
        self._note_kind: str | None = None  # the data kind the note was written for
        self.loss.activated.connect(lambda _: self._show_loss_note(None))  # the user's choice
        self.output = QComboBox()
        self.output.addItems(OUTPUTS)
        self._add(form, "network.output", "Output unit", self.output, "output")
        self.init = QComboBox()
        self.init.addItems(INIT_SCHEMES)
        self._add(form, "network.init", "Initialisation", self.init, "init")
        self.init_seed = QSpinBox()
        self.init_seed.setRange(0, 2**31 - 1)
        self._add(form, "network.init_seed", "Weight seed", self.init_seed, "init_seed")
        self.l2 = NumberEdit()
        self._add(form, "network.l2", "L2 penalty", self.l2, "l2")
        return box

    def _solver_group(self) -> QGroupBox:
        box = QGroupBox("Solver")
        form = QFormLayout(box)
        self.family = QComboBox()
        for key, label in FAMILIES.items():
            self.family.addItem(label, key)
        self.family.setToolTip(tip("family"))
        form.addRow(QLabel("Family"), self.family)
        self.family.currentIndexChanged.connect(self._family_changed)
        self.method = QComboBox()
        # The method names are long ("ROS34PW2 Rosenbrock W-method, Gauss–Newton"): beside the
        # label they were cut, so the combo has the form's whole width under its label, the
        # panel is made wide enough for the longest name (_method_width), and the list opens
        # wide enough for every name even where a narrower panel cuts the closed combo (the
        # comparison workspace's run editor sets its own, smaller minimum width).
        self.method.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.method.setMinimumContentsLength(12)  # the combo never makes the form wider
        self._add(form, "solver.method", "Method", self.method, "method", own_row=True)
        self.rtol = LogEdit(1e-14, 0.5)
        self._add(form, "solver.rtol", "rtol", self.rtol, "rtol")
        self.atol = LogEdit(1e-14, 1.0)
        self._add(form, "solver.atol", "atol", self.atol, "atol")
        self.first_step = NumberEdit("automatic")
        self._add(form, "solver.first_step", "First step", self.first_step, "first_step")
        self.max_step = NumberEdit("no limit")
        self._add(form, "solver.max_step", "Max step", self.max_step, "max_step")
        self.max_order = QSpinBox()
        self.max_order.setRange(0, 12)
        self.max_order.setSpecialValueText("automatic")
        self._add(form, "solver.max_order", "Max order", self.max_order, "max_order")
        self.jacobian = QComboBox()
        self._add(form, "solver.jacobian", "Jacobian", self.jacobian, "jacobian")
        self.learning_rate = NumberEdit()
        self._add(form, "solver.learning_rate", "Learning rate η", self.learning_rate,
                  "learning_rate")
        self.momentum = NumberEdit()
        self._add(form, "solver.momentum", "Momentum β", self.momentum, "momentum")
        self.beta1 = NumberEdit()
        self._add(form, "solver.beta1", "Adam β1", self.beta1, "beta1")
        self.beta2 = NumberEdit()
        self._add(form, "solver.beta2", "Adam β2", self.beta2, "beta2")
        return box

    def _stop_group(self) -> QGroupBox:
        box = QGroupBox("Stopping")
        form = QFormLayout(box)
        self.t_end = NumberEdit()
        self._add(form, "stop.t_end", "End time t_end", self.t_end, "t_end")
        self.target_loss = NumberEdit("none")
        self._add(form, "stop.target_loss", "Target loss", self.target_loss, "target_loss")
        self.target_accuracy = NumberEdit("none")
        self._add(form, "stop.target_accuracy", "Target accuracy", self.target_accuracy,
                  "target_accuracy")
        self.target_rms = NumberEdit("none")
        self._add(form, "stop.target_rms", "Target RMS", self.target_rms, "target_rms")
        self.max_wall_time = NumberEdit("no limit")
        self._add(form, "stop.max_wall_time", "Max wall time (s)", self.max_wall_time,
                  "max_wall_time")
        self.max_steps = NumberEdit("no limit", integer=True)
        self._add(form, "stop.max_steps", "Max steps", self.max_steps, "max_steps")
        return box

    def _probe_group(self) -> QGroupBox:
        box = QGroupBox("Measurements")
        box.setToolTip("How often the run measures itself while it trains. Measuring costs "
                       "time, so long runs may measure less often.")
        form = QFormLayout(box)
        self.metrics_every = QSpinBox()
        self.metrics_every.setRange(1, 100_000)
        self.metrics_every.setSuffix(" steps")
        self._add(form, "probe.metrics_every", "Test metrics every", self.metrics_every,
                  "metrics_every")
        self.stiffness_every = QSpinBox()
        self.stiffness_every.setRange(0, 100_000)
        self.stiffness_every.setSpecialValueText("off")
        self.stiffness_every.setSuffix(" steps")
        self._add(form, "probe.stiffness_every", "λmax every", self.stiffness_every,
                  "stiffness_every")
        self.stiffness_every_dt = NumberEdit("by steps only")
        self._add(form, "probe.stiffness_every_dt", "λmax every Δt",
                  self.stiffness_every_dt, "stiffness_every_dt")
        self.stiffness_method = QComboBox()
        for name in STIFFNESS_METHODS:
            self.stiffness_method.addItem(STIFFNESS_LABELS.get(name, name), name)
        self._add(form, "probe.stiffness_method", "λmax method", self.stiffness_method,
                  "stiffness_method")
        self.stiffness_budget = NumberEdit("no limit")
        self._add(form, "probe.stiffness_budget", "λmax time budget", self.stiffness_budget,
                  "stiffness_budget")
        return box

    def _method_width(self, body: QWidget) -> int:
        """The panel's width at which the method combo shows the longest method name whole
        (in this style and font); its list opens that wide in any case."""
        probe = QComboBox()
        probe.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        probe.addItems([info.label for info in METHODS.values()])
        needed = probe.sizeHint().width()
        self.method.view().setMinimumWidth(needed)
        self.method.setMinimumWidth(needed)  # what the form would need, measured by its layout
        self.groups["solver"].updateGeometry()  # not shown yet: the body has its old minimum
        width = body.minimumSizeHint().width()
        self.method.setMinimumWidth(0)
        self.groups["solver"].updateGeometry()
        return width + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def show_network_size(self, sizes: tuple[int, ...] | None, n_params: int | None,
                          n_outputs: int | None = None) -> None:
        """Layer sizes and parameter count of the network the form describes, and the number
        of training values (samples × outputs) it learns (the window builds them; the panel
        cannot know the data's dimensions), or nothing. A new count checks the method again
        (:meth:`size_error`)."""
        if sizes is None or n_params is None:
            self.params_label.setText("")
        else:
            self.params_label.setText(f"{'-'.join(map(str, sizes))}: {n_params:,} parameters")
        if (n_params, n_outputs) != (self.n_params, self.n_outputs):
            self.n_params, self.n_outputs = n_params, n_outputs
            self.validate()

    def size_error(self) -> str | None:
        """Why the chosen method cannot run this network (core's dense-Jacobian rule,
        :func:`~odeprop.core.dense_limits.dense_jacobian_refusal`: the run would fail with this very
        message), or None. Not one of :attr:`errors`: the experiment is valid, and the window
        keeps building it (and counting its parameters) as it is edited."""
        method = self.method.currentData()
        if self.n_params is None or self.errors or not method:
            return None
        jac = self.jacobian.currentData()
        try:
            solver = SolverConfig(method=method,
                                  jacobian=jac if jac in METHODS[method].jacobian_modes else None)
        except ValueError:
            return None
        return dense_jacobian_refusal(solver, self.n_params, self.n_outputs)

    def show_sections(self, sections, name: bool = True) -> None:
        """Show only these sections of the form (and the name field or not); the hidden ones
        keep their values, so :meth:`experiment` still builds a whole experiment."""
        self.name_edit.setVisible(name)
        for key, group in self.groups.items():
            group.setVisible(key in sections)

    # -- experiment in and out ---------------------------------------------------------------
    def set_experiment(self, exp: Experiment) -> None:
        """Show ``exp`` in every widget (fields the panel does not edit are kept as they are)."""
        self._base = exp
        self.name_typed = False
        self._show_loss_note(None)
        self._updating = True
        try:
            d, n, s, st = exp.dataset, exp.network, exp.solver, exp.stop
            self.name_edit.setText(exp.name)
            self.name_edit.setCursorPosition(0)  # a long name shows its beginning
            self.kind.setCurrentText(d.kind)
            self.n_samples.setValue(d.n_samples)
            self.noise.set_value(d.noise)
            self.test_fraction.setValue(d.test_fraction)
            self.data_seed.setValue(d.seed)
            self._set_classes = d.n_classes
            self.n_classes.setValue(d.n_classes)
            self._clusters_features = d.n_features
            self.n_features.setValue(d.n_features)
            self.csv_path.setText(d.csv_path)
            self._load_columns(d.csv_path, d.target_column)
            self.task.setCurrentText(d.task)
            self.layers.set_layers(n.hidden, n.activations)
            self.loss.setCurrentText(n.loss)
            self.output.setCurrentText(n.output)
            self.init.setCurrentText(n.init)
            self.init_seed.setValue(n.init_seed)
            self.l2.set_value(n.l2)
            self.family.setCurrentIndex(self.family.findData(s.info.family))
            self._fill_methods(s.info.family, s.method)
            self.rtol.set_value(s.rtol)
            self.atol.set_value(s.atol)
            self.first_step.set_value(s.first_step)
            self.max_step.set_value(s.max_step)
            self.max_order.setValue(s.max_order or 0)
            self._fill_jacobian(s.method, s.jacobian)
            if self.schedule is not None:
                self.schedule.set_phases(s.schedule)
                self.schedule.set_method(s.method)
            self.learning_rate.set_value(s.learning_rate)
            self.momentum.set_value(s.momentum)
            self.beta1.set_value(s.beta1)
            self.beta2.set_value(s.beta2)
            self.t_end.set_value(st.t_end)
            self.target_loss.set_value(st.target_loss)
            self.target_accuracy.set_value(st.target_accuracy)
            self.target_rms.set_value(st.target_rms)
            self.max_wall_time.set_value(st.max_wall_time)
            self.max_steps.set_value(st.max_steps)
            p = exp.probe
            self.metrics_every.setValue(p.metrics_every)
            self.stiffness_every.setValue(p.stiffness_every)
            self.stiffness_every_dt.set_value(p.stiffness_every_dt)
            self.stiffness_method.setCurrentIndex(
                max(self.stiffness_method.findData(p.stiffness_method), 0))
            self.stiffness_budget.set_value(p.stiffness_budget or None)  # 0: no limit, empty
        finally:
            self._updating = False
        self._edited()

    def experiment(self) -> Experiment:
        """The experiment the form describes; ``ValueError`` naming the first bad field."""
        exp, errors = self._build()
        if errors:
            raise ValueError(errors[0])
        return exp

    def validate(self) -> list[str]:
        """Check the form, flag invalid widgets where they are; the messages, first first."""
        _, errors = self._build()
        self.errors = errors
        bad = {}
        for message in errors:
            name = message.split(":", 1)[0].split("[", 1)[0]
            bad.setdefault(name, message)
        size = self.size_error()
        if size:
            bad.setdefault("solver.method", size)
        if self.kind.currentText() == "csv":  # shown, not blocking: Start gives the reason
            if self.csv_error:
                bad.setdefault("dataset.csv_path", self.csv_error)
            missing = self.column_error
            if missing and self.target_column.currentText() == missing[0]:
                bad.setdefault("dataset.target_column", missing[1])
        shown: dict[int, tuple[str, QWidget, str | None]] = {}  # one message per widget
        for name, widget in self.fields.items():
            first, _, message = shown.get(id(widget), (name, widget, None))
            shown[id(widget)] = (first, widget, message or bad.get(name))
        for name, widget, message in shown.values():
            flag(widget, message, widget.property("tip") or "")
            self.show_message(name, message)
        return errors

    def show_message(self, name: str, message: str | None) -> None:
        """Show ``message`` in red under the field ``name`` (None hides it)."""
        label = self.messages[name]
        if (message or "") != label.text():
            label.setText(message or "")
        self._forms[name].setRowVisible(label, bool(message))

    def message(self, name: str) -> str:
        """The message shown under a field ("" when it is valid)."""
        label = self.messages[name]
        return label.text() if not label.isHidden() else ""

    def _value(self, name: str, widget, errors: list[str]):
        try:
            return widget.value()
        except ValueError as exc:
            errors.append(f"{name}: {exc}")
            return None

    def _build(self) -> tuple[Experiment | None, list[str]]:
        errors: list[str] = []
        base = self._base
        info = METHODS.get(self.method.currentData() or "", base.solver.info)
        sections = {}

        def section(key, current, **changes):
            if any(v is _BAD for v in changes.values()):
                return
            try:
                sections[key] = replace(current, **changes)
            except ValueError as exc:
                errors.append(str(exc))

        def number(name, widget, default=None, enabled=True):
            if not enabled:
                return default
            if not widget.text().strip():
                if default is _BAD:
                    errors.append(f"{name}: give a value")
                return default
            value = self._value(name, widget, errors)
            return _BAD if value is None else value

        kind = self.kind.currentText()
        section("dataset", base.dataset, kind=kind, n_samples=self.n_samples.value(),
                noise=number("dataset.noise", self.noise, base.dataset.noise),
                seed=self.data_seed.value(), test_fraction=round(self.test_fraction.value(), 4),
                n_classes=self.n_classes.value() if kind in SETTABLE_CLASSES
                else self._set_classes, n_features=self._clusters_features
                if kind != "clusters" else self.n_features.value(),
                csv_path=self.csv_path.text(),
                target_column=self.target_column.currentText(), task=self.task.currentText())
        hidden, activations = self.layers.layers()
        if not hidden:
            errors.append("network.hidden: add at least one hidden layer")
        else:
            section("network", base.network, hidden=hidden, activations=activations,
                    loss=self.loss.currentText(), output=self.output.currentText(),
                    init=self.init.currentText(), init_seed=self.init_seed.value(),
                    l2=number("network.l2", self.l2, 0.0))
        jac = self.jacobian.currentData()
        schedule = base.solver.schedule
        if self.schedule is not None:
            try:
                schedule = self.schedule.phases()
            except ValueError as exc:
                errors.append(str(exc))
                schedule = _BAD
        section("solver", base.solver, method=info.name, schedule=schedule,
                rtol=number("solver.rtol", self.rtol, _BAD, info.tolerances) if info.tolerances
                else base.solver.rtol,
                atol=number("solver.atol", self.atol, _BAD, info.tolerances) if info.tolerances
                else base.solver.atol,
                first_step=number("solver.first_step", self.first_step, None, info.first_step),
                max_step=number("solver.max_step", self.max_step, math.inf, info.max_step),
                max_order=(self.max_order.value() or None) if info.max_order else None,
                jacobian=jac if jac in info.jacobian_modes else None,
                learning_rate=number("solver.learning_rate", self.learning_rate, _BAD)
                if info.learning_rate else base.solver.learning_rate,
                momentum=number("solver.momentum", self.momentum, base.solver.momentum,
                                info.name == "momentum"),
                beta1=number("solver.beta1", self.beta1, base.solver.beta1, info.name == "adam"),
                beta2=number("solver.beta2", self.beta2, base.solver.beta2, info.name == "adam"))
        section("stop", base.stop,
                t_end=number("stop.t_end", self.t_end, _BAD),  # empty: "give a value"
                target_loss=number("stop.target_loss", self.target_loss),
                target_accuracy=number("stop.target_accuracy", self.target_accuracy),
                target_rms=number("stop.target_rms", self.target_rms),
                max_wall_time=number("stop.max_wall_time", self.max_wall_time),
                max_steps=number("stop.max_steps", self.max_steps))
        section("probe", base.probe, metrics_every=self.metrics_every.value(),
                stiffness_every=self.stiffness_every.value(),
                stiffness_every_dt=number("probe.stiffness_every_dt", self.stiffness_every_dt),
                stiffness_method=self.stiffness_method.currentData() or base.probe.stiffness_method,
                stiffness_budget=number("probe.stiffness_budget", self.stiffness_budget, 0.0))
        if errors or len(sections) < 5:
            return None, errors
        try:
            exp = replace(base, name=self.name_edit.text().strip() or base.name, **sections)
        except ValueError as exc:
            return None, [str(exc)]
        return exp, []

    # -- reacting to edits -------------------------------------------------------------------
    def _name_edited(self, _text: str) -> None:
        self.name_typed = True
        self._edited()

    def _follow_name(self) -> None:
        """A name the user did not type (a preset's, a file's) describes its data and method:
        once either changes it would be false, so it becomes "Untitled (from …)" (and comes
        back if they are set back)."""
        if self.name_typed:
            return
        base = self._base
        same = (self.kind.currentText() == base.dataset.kind
                and self.csv_path.text() == base.dataset.csv_path
                and self.method.currentData() == base.solver.method)
        derived = same or base.name.startswith("Untitled")
        name = base.name if derived else f"Untitled (from {base.name})"
        if self.name_edit.text() != name:
            self.name_edit.setText(name)
            self.name_edit.setCursorPosition(0)

    def _fit_loss(self) -> None:
        """Switch a loss the data cannot take (binary cross-entropy on iris' 3 classes,
        cross-entropy on regression targets) to the one that fits, and say so under it."""
        kind = self.kind.currentText()
        fit, why = fitting_loss(self.loss.currentText(), self._classes_of(kind))
        if why:
            self.loss.blockSignals(True)
            self.loss.setCurrentText(fit)
            self.loss.blockSignals(False)
            self._note_kind = kind
            self._show_loss_note(f"Loss switched to {LOSS_NAMES[fit]} for {why} "
                                 f"({self._data_name(kind)}).")
        elif kind != self._note_kind:
            self._show_loss_note(None)

    def _data_name(self, kind: str) -> str:
        return Path(self.csv_path.text()).name if kind == "csv" else f"'{kind}'"

    def _show_loss_note(self, text: str | None) -> None:
        if text is None:
            self._note_kind = None
        self.loss_note.setText(text or "")
        self._forms["network.loss"].setRowVisible(self.loss_note, bool(text))

    def _edited(self, *_args) -> None:
        if self._updating:
            return
        self._follow_name()
        self._fit_loss()
        self._update_enabled()
        self.validate()
        self.changed.emit()

    def _family_changed(self, _index: int) -> None:
        if self._updating:
            return
        self._fill_methods(self.family.currentData(), None)
        self._edited()

    def _fill_methods(self, family: str, selected: str | None) -> None:
        self.method.blockSignals(True)
        self.method.clear()
        for info in METHODS.values():
            if info.family == family:
                self.method.addItem(info.label, info.name)
                self.method.setItemData(self.method.count() - 1, info.description,
                                        role=3)  # Qt.ToolTipRole
        index = self.method.findData(selected) if selected else 0
        self.method.setCurrentIndex(max(index, 0))
        self.method.blockSignals(False)
        self._fill_jacobian(self.method.currentData(), None)

    def _fill_jacobian(self, method: str, selected: str | None) -> None:
        info = METHODS[method]
        self._jacobian_for = method
        current = selected or self.jacobian.currentData()
        self.jacobian.blockSignals(True)
        self.jacobian.clear()
        self.jacobian.addItem(f"method default ({info.jacobian_modes[0]})", None)
        for mode in info.jacobian_modes:
            self.jacobian.addItem(mode, mode)
        index = self.jacobian.findData(current) if current else 0
        self.jacobian.setCurrentIndex(max(index, 0))
        self.jacobian.blockSignals(False)

    def _update_enabled(self) -> None:
        """Grey out what the chosen method, data or loss does not use, saying why."""
        method = self.method.currentData()
        if method and method != self._jacobian_for:
            self._fill_jacobian(method, None)
        if method and self.schedule is not None:
            self.schedule.set_method(method)
        info = METHODS.get(method or "", self._base.solver.info)
        kind, loss = self.kind.currentText(), self.loss.currentText()
        name = info.label
        inputs = self._show_inputs(kind)
        classes = self._show_classes(kind)
        reasons = {
            "solver.rtol": None if info.tolerances else (
                f"{name} takes fixed steps (h = learning rate); it has no error tolerances."
                if info.learning_rate else
                f"{name} sets its step from how well each step reduced the loss, not from an "
                "error estimate; it has no tolerances."),
            "solver.first_step": None if info.first_step else
            f"{name} has no first-step setting: every step is the learning rate.",
            "solver.max_step": None if info.max_step else
            f"{name} has no maximum step: every step is the learning rate.",
            "solver.max_order": None if info.max_order else
            f"{name} has a fixed order; there is no maximum order to set.",
            "solver.jacobian": None if info.jacobian_modes != ("none",) else
            f"{name} is explicit: it never uses a Jacobian.",
            "solver.learning_rate": None if info.learning_rate else
            f"{name} chooses its step size h itself; only the fixed-step optimisers have a "
            "learning rate.",
            "solver.momentum": None if info.name == "momentum" else
            "Only heavy-ball momentum has a momentum coefficient.",
            "solver.beta1": None if info.name == "adam" else "Only Adam has β1.",
            "dataset.n_samples": None if kind not in FIXED_DATA else
            f"'{kind}' is a fixed data set; its size is given.",
            "dataset.noise": None if kind not in FIXED_DATA else
            f"'{kind}' is a fixed data set; no noise is added.",
            "dataset.test_fraction": None if kind not in ("xor", "encoder") else
            f"'{kind}' has four patterns, all used for training.",
            "dataset.n_classes": None if kind in SETTABLE_CLASSES else
            self._classes_reason(kind, classes)
            + "; only the 'blobs' and 'clusters' problems have a settable number of classes.",
            "dataset.n_features": None if kind == "clusters" else (
                f"'{kind}' data have {inputs} inputs" if inputs else
                "A CSV file has an input per column besides the target (choose the file "
                "first)") + "; only the 'clusters' problem has a settable input dimension.",
            "dataset.csv_path": None if kind == "csv" else "Choose the 'csv' data kind first.",
            "network.output": None if loss == "mse" else
            "The output unit is chosen by the loss; it is settable for mse only.",
            "stop.target_rms": None if loss == "mse" else
            "An RMS-error target needs the squared-error loss (mse).",
        }
        probe_off = (self.stiffness_every.value() == 0
                     and not self.stiffness_every_dt.text().strip())
        reasons["probe.stiffness_method"] = (
            "The stiffness probe is off: set “λmax every” or “λmax every Δt” first."
            if probe_off else None)
        reasons["probe.stiffness_budget"] = reasons["probe.stiffness_method"]
        reasons["solver.atol"] = reasons["solver.rtol"]
        reasons["solver.beta2"] = reasons["solver.beta1"]
        reasons["dataset.target_column"] = reasons["dataset.csv_path"]
        reasons["dataset.task"] = reasons["dataset.csv_path"]
        if self.max_order.isEnabled() or info.max_order:
            self.max_order.setMaximum(info.max_order or 12)
        for field, reason in reasons.items():
            widget, label = self.fields[field], self.labels[field]
            widget.setEnabled(reason is None)
            label.setEnabled(reason is None)
            text = reason or tip(field.split(".")[1])
            widget.setProperty("tip", text)
            widget.setToolTip(text)
            label.setToolTip(text)
        self.preview.setVisible(kind == "csv" and self.preview.rowCount() > 0)

    # -- CSV ---------------------------------------------------------------------------------
    def _choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a CSV data file", "",
                                              "CSV files (*.csv *.txt);;All files (*)")
        if path:
            self.load_csv(path)

    def load_csv(self, path: str) -> str | None:
        """Use the CSV file at ``path``: fill the column picker and the preview.

        A file that cannot be read, or whose rows are bad (a cell that is not a number, a
        ragged row, one class only…), changes nothing (the experiment stays as it was); its
        message, naming the first bad row, is returned and shown under the CSV field. A file
        over :data:`PICK_CHECK_BYTES` is read whole in the background by the window instead
        (:meth:`show_csv_error` then shows what is wrong with it).
        """
        try:
            columns = csv_columns(path)
            csv_preview(path, 1)
            if Path(path).expanduser().stat().st_size <= PICK_CHECK_BYTES:
                load_dataset(replace(self._base.dataset, kind="csv", csv_path=str(path),
                                     target_column=columns[-1], task=self.task.currentText(),
                                     test_fraction=round(self.test_fraction.value(), 4)))
        except ValueError as exc:  # DatasetError above all: the file and the row
            return self._refuse_csv(str(exc))
        except (OSError, MemoryError) as exc:
            why = "out of memory" if isinstance(exc, MemoryError) else exc.strerror or exc
            return self._refuse_csv(f"{Path(path).name}: cannot be read ({why})")
        self.kind.setCurrentText("csv")
        self.csv_path.setText(str(path))
        message = self._load_columns(str(path), None)
        self._edited()
        return message

    def _refuse_csv(self, message: str) -> str:
        flag(self.fields["dataset.csv_path"], message, tip("csv"))
        self.show_message("dataset.csv_path", message)
        return message

    def _load_columns(self, path: str, selected: str | None) -> str | None:
        self.target_column.blockSignals(True)
        self.column_error = None
        self.target_column.clear()
        self._csv_columns = None
        self.preview.clear()
        self.preview.setRowCount(0)
        message = None
        if path:
            try:
                columns = csv_columns(path)
                header, rows = csv_preview(path, 8)
            except DatasetError as exc:
                message = str(exc)
                if selected:  # kept: the experiment stays whole while its file is unreadable
                    self.target_column.addItem(selected)
            else:
                self.target_column.addItems(columns)
                self._csv_columns = columns
                if selected and selected not in columns:  # kept as asked, and said so
                    shown = ", ".join(columns[:20]) + (", …" if len(columns) > 20 else "")
                    self.column_error = (selected, f"{Path(path).name}: column {selected!r} "
                                                   f"not found; columns are: {shown}")
                    self.target_column.addItem(selected)
                else:
                    self.column_error = None
                self.target_column.setCurrentText(selected or columns[-1])
                self.preview.setColumnCount(len(header))
                self.preview.setHorizontalHeaderLabels(header)
                self.preview.setRowCount(len(rows))
                for i, cells in enumerate(rows):
                    for j, cell in enumerate(cells[: len(header)]):
                        self.preview.setItem(i, j, QTableWidgetItem(cell))
                self.preview.resizeColumnsToContents()
        self.target_column.blockSignals(False)
        self.csv_error = message
        return message

    def show_csv_error(self, message: str | None) -> None:
        """What reading the whole CSV file found (the window reads a large one in the
        background), under the CSV field; None: the file was read."""
        if message != self.csv_error:
            self.csv_error = message
            self.validate()

    def _features_edited(self, value: int) -> None:
        if self.kind.currentText() == "clusters":  # the field is the clusters' setting then
            self._clusters_features = value

    def _show_inputs(self, kind: str) -> int | None:
        """Show the data's own input count in the greyed "Inputs" field (or the clusters' setting
        when it is editable) and return it. A greyed field still tells the truth: a user reads
        it as "this data has N inputs", the width of the network's first layer, so it must not
        show the clusters' 784 for the two moons; it is shown rather than hidden so the form
        does not change shape with the kind. The clusters' value is kept apart and is what the
        experiment saves, so it comes back when the kind does."""
        if kind == "clusters":
            count = self._clusters_features
        else:
            columns = self._csv_columns
            target = self.target_column.currentText()
            count = input_dimension(kind, self._clusters_features,
                                    columns if columns and target in columns else None)
        self.n_features.blockSignals(True)
        self.n_features.setMinimum(1 if kind == "clusters" else 0)  # 0 shows as "?"
        self.n_features.setValue(count or 0)
        self.n_features.blockSignals(False)
        return count

    def _classes_edited(self, value: int) -> None:
        if self.kind.currentText() in SETTABLE_CLASSES:  # the field is their setting then
            self._set_classes = value

    def _csv_key(self) -> tuple[str, str, str]:
        return (self.csv_path.text(), self.target_column.currentText(), self.task.currentText())

    def _show_classes(self, kind: str) -> int | str:
        """Show the data's own number of classes in the greyed "Classes" field (or the blobs'
        and clusters' setting when it is editable) and return it: a count, "regression" or
        "unknown". As with "Inputs" (:meth:`_show_inputs`), a greyed field still tells the
        truth: two moons have 2 classes, not the blobs' 3. Regression data (sin, the encoder,
        a CSV file with a numeric target) have no classes at all, and a number there would
        read as one, so the field shows "—"; a CSV file not read yet shows "?" (its classes
        are the values in its target column, known once the window has loaded it:
        :meth:`show_data_classes`)."""
        count = self._classes_of(kind)
        box = self.n_classes
        box.blockSignals(True)
        if isinstance(count, int):
            box.setSpecialValueText("")
            box.setRange(2 if kind in SETTABLE_CLASSES else 0, max(20, count))
            box.setValue(count)
        else:
            box.setSpecialValueText(NO_CLASSES if count == "regression" else "?")
            box.setRange(0, 20)
            box.setValue(0)  # the minimum: shown as the special text
        box.blockSignals(False)
        return count

    def _classes_of(self, kind: str) -> int | str:
        """The classes of ``kind``'s data as far as the form knows: a count, "regression" or
        "unknown" (a CSV file not read yet)."""
        if kind in SETTABLE_CLASSES:
            return self._set_classes
        if kind == "csv":
            read = self._csv_classes.get(self._csv_key(), "unknown")
            return "regression" if read is None else read
        known = class_count(kind, self._set_classes)
        return "regression" if known is None else known

    @staticmethod
    def _classes_reason(kind: str, classes: int | str) -> str:
        """Why "Classes" is greyed, and what it shows (before "; only the 'blobs' …")."""
        if kind == "csv":
            if classes == "unknown":
                return ("A CSV file has a class per value in its target column (known once the "
                        "file is read)")
            if classes == "regression":
                return "This CSV file's target is a regression target: it has no classes"
            return f"This CSV file's target column holds {classes} classes"
        if classes == "regression":
            return f"'{kind}' is a regression problem: it has no classes"
        return f"'{kind}' data have {classes} classes"

    def show_data_classes(self, cfg: DatasetConfig, data: Dataset | None) -> None:
        """The classes of the data ``cfg`` describes, now that the window has read them
        (``data``; None: they could not be read): a CSV file's "Classes" shows them, and a loss
        they cannot take is switched (:meth:`_fit_loss`). Other kinds' classes are known
        without reading the data."""
        if cfg.kind != "csv":
            return
        key = (cfg.csv_path, cfg.target_column, cfg.task)
        if data is None:
            self._csv_classes.pop(key, None)
        else:
            self._csv_classes = {key: data.n_classes}  # only the latest file's: it may change
        if self.kind.currentText() != "csv":
            return
        if fitting_loss(self.loss.currentText(), self._classes_of("csv"))[1]:
            self._edited()  # the loss is switched to fit the file's classes: a new experiment
        else:
            self._update_enabled()

    def csv_file(self) -> Path | None:
        return Path(self.csv_path.text()) if self.csv_path.text() else None


_BAD = object()  # a value that could not be read; its error is already in the list
