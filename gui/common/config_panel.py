"""The configuration panel: dataset, network, solver, stopping rules and measurements of one
experiment, one section widget per config dataclass (:mod:`.config_sections`).

It edits a core :class:`~odeprop.core.config.Experiment` and validates by building one: the
engine's ``ValueError`` names the field (``solver.rtol: …``), so the message is shown where it
was typed: the widget is outlined, and the message stands in red under it. Settings the chosen
method or data lack are disabled, with the reason as their tooltip. The panel does what spans
sections: the experiment's name, a loss switched to fit the data, checks of the whole
experiment, and the size of the network the window built.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QLineEdit, QScrollArea, QVBoxLayout, QWidget

from odeprop.core.config import DatasetConfig, Experiment
from odeprop.core.datasets import Dataset
from odeprop.core.methods import METHODS
from odeprop.core.presets import default_experiment

from .config_sections.dataset import DatasetSection
from .config_sections.network import NetworkSection, fitting_loss
from .config_sections.probe import ProbeSection
from .config_sections.section import ConfigSection, first_by_field
from .config_sections.solver import SolverSection
from .config_sections.stop import StopSection


class ConfigPanel(QScrollArea):
    """Edits one experiment; ``changed`` fires on every edit, ``errors`` lists what is invalid.

    ``schedule=True`` adds the tolerance-schedule editor under the solver (the lab's form; the
    comparison workspace edits each run's schedule beside its own run list). The sections'
    widgets answer to the panel too (``panel.rtol`` is ``panel.solver.rtol``)."""

    changed = Signal()

    def __init__(self, parent=None, schedule: bool = False):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setMinimumWidth(360)  # the widest group (layers) fits without a horizontal scroll bar
        self._base = default_experiment()
        self._updating = False
        self.errors: list[str] = []
        self.n_params: int | None = None  # of the network the form describes, once built
        self.n_outputs: int | None = None  # training samples × outputs, once built
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("A name for this experiment (saved in its TOML file).")
        layout.addWidget(self.name_edit)
        self.dataset, self.network = DatasetSection(), NetworkSection()
        self.solver = SolverSection(schedule)
        self.stop, self.probe = StopSection(), ProbeSection()
        #: the sections by the experiment's field each edits
        self.sections: dict[str, ConfigSection] = {
            "dataset": self.dataset, "network": self.network, "solver": self.solver,
            "stop": self.stop, "probe": self.probe}
        #: the solver's tolerance schedule (None: the experiment's is kept as it is)
        self.schedule = self.solver.schedule
        #: the form's parts by name, in order (the comparison workspace shows some)
        self.groups: dict[str, QWidget] = {}
        for key, section in self.sections.items():
            self.groups[key] = section
            if key == "solver" and self.schedule is not None:
                self.groups["schedule"] = self.schedule  # under the solver's settings
            section.changed.connect(self._edited)
        #: every section's fields by dotted name (``dataset.kind``), their labels and messages
        self.fields = {k: w for s in self.sections.values() for k, w in s.fields.items()}
        self.labels = {k: w for s in self.sections.values() for k, w in s.labels.items()}
        self.messages = {k: w for s in self.sections.values() for k, w in s.messages.items()}
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

    def __getattr__(self, name: str):
        """A section's widget under the panel's name for it (``panel.kind`` is
        ``panel.dataset.kind``), as the lab, the comparison workspace and their tests knew them
        before the sections."""
        for section in self.__dict__.get("sections", {}).values():
            widget = vars(section).get(name)
            if isinstance(widget, QWidget) and not name.startswith("_"):
                return widget
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _method_width(self, body: QWidget) -> int:
        """The panel's width at which the method combo shows the longest method name whole
        (in this style and font); its list opens that wide in any case."""
        method = self.solver.method
        probe = QComboBox()
        probe.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        probe.addItems([info.label for info in METHODS.values()])
        needed = probe.sizeHint().width()
        method.view().setMinimumWidth(needed)
        method.setMinimumWidth(needed)  # what the form would need, measured by its layout
        self.solver.updateGeometry()  # not shown yet: the body has its old minimum
        width = body.minimumSizeHint().width()
        method.setMinimumWidth(0)
        self.solver.updateGeometry()
        return width + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()

    def show_sections(self, sections, name: bool = True) -> None:
        """Show only these sections of the form (and the name field or not); the hidden ones
        keep their values, so :meth:`experiment` still builds a whole experiment."""
        self.name_edit.setVisible(name)
        for key, group in self.groups.items():
            group.setVisible(key in sections)

    # -- what the window learns about the experiment -----------------------------------------
    def show_network_size(self, sizes: tuple[int, ...] | None, n_params: int | None,
                          n_outputs: int | None = None) -> None:
        """Layer sizes and parameter count of the network the form describes, and the number
        of training values (samples × outputs) it learns (the window builds them; the panel
        cannot know the data's dimensions), or nothing. A new count checks the method again
        (:meth:`size_error`)."""
        self.network.show_size(sizes, n_params)
        if (n_params, n_outputs) != (self.n_params, self.n_outputs):
            self.n_params, self.n_outputs = n_params, n_outputs
            self.validate()

    def size_error(self) -> str | None:
        """Why the chosen method cannot run this network (core's dense-Jacobian rule,
        :func:`~odeprop.core.dense_limits.dense_jacobian_refusal`: the run would fail with this very
        message), or None. Not one of :attr:`errors`: the experiment is valid, and the window
        keeps building it (and counting its parameters) as it is edited."""
        if self.n_params is None or self.errors:
            return None
        return self.solver.dense_refusal(self.n_params, self.n_outputs)

    def load_csv(self, path: str) -> str | None:
        """Use the CSV file at ``path`` (:meth:`DatasetSection.load_csv`): None when it is
        taken, else why not (shown under the CSV field, the experiment unchanged)."""
        return self.dataset.load_csv(path)

    def show_csv_error(self, message: str | None) -> None:
        """What reading the whole CSV file found (the window reads a large one in the
        background), under the CSV field; None: the file was read."""
        if message != self.dataset.csv_error:
            self.dataset.csv_error = message
            self.validate()

    def show_data_classes(self, cfg: DatasetConfig, data: Dataset | None) -> None:
        """The classes of the data ``cfg`` describes, now that the window has read them
        (``data``; None: they could not be read): a CSV file's "Classes" shows them, and a loss
        they cannot take is switched. Other kinds' classes are known without reading the
        data."""
        if not self.dataset.learn_classes(cfg, data):
            return
        if fitting_loss(self.network.loss.currentText(), self.dataset.classes())[1]:
            self._edited()  # the loss is switched to fit the file's classes: a new experiment
        else:
            self._refresh()

    # -- experiment in and out ---------------------------------------------------------------
    def set_experiment(self, exp: Experiment) -> None:
        """Show ``exp`` in every widget (fields the panel does not edit are kept as they are)."""
        self._base = exp
        self.name_typed = False
        self._updating = True
        try:
            self.name_edit.setText(exp.name)
            self.name_edit.setCursorPosition(0)  # a long name shows its beginning
            for key, section in self.sections.items():
                section.set_value(getattr(exp, key))
        finally:
            self._updating = False
        self._edited()

    def experiment(self) -> Experiment:
        """The experiment the form describes; ``ValueError`` naming the first bad field."""
        exp, errors = self._build()
        if errors:
            raise ValueError(errors[0])
        return exp

    def _build(self) -> tuple[Experiment | None, list[str]]:
        values, errors = {}, []
        for key, section in self.sections.items():
            value, problems = section.read()
            errors += problems
            if value is not None:
                values[key] = value
        if errors:
            return None, errors
        try:
            exp = replace(self._base, name=self.name_edit.text().strip() or self._base.name,
                          **values)
        except ValueError as exc:  # what spans sections (a loss the data cannot take, …)
            return None, [str(exc)]
        return exp, []

    def validate(self) -> list[str]:
        """Check the form, flag invalid widgets where they are; the messages, first first."""
        _, errors = self._build()
        self.errors = errors
        bad = first_by_field(errors)
        size = self.size_error()
        if size:
            bad.setdefault("solver.method", size)
        for section in self.sections.values():
            for name, message in section.notices().items():
                bad.setdefault(name, message)
        for section in self.sections.values():
            section.show_problems(bad)
        return errors

    def show_message(self, name: str, message: str | None) -> None:
        """Show ``message`` in red under the field ``name`` (None hides it)."""
        self._section_of(name).show_message(name, message)

    def message(self, name: str) -> str:
        """The message shown under a field ("" when it is valid)."""
        return self._section_of(name).message(name)

    def _section_of(self, name: str) -> ConfigSection:
        return self.sections[name.split(".", 1)[0]]

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
        same = (self.dataset.kind.currentText() == base.dataset.kind
                and self.dataset.csv_path.text() == base.dataset.csv_path
                and self.solver.method.currentData() == base.solver.method)
        derived = same or base.name.startswith("Untitled")
        name = base.name if derived else f"Untitled (from {base.name})"
        if self.name_edit.text() != name:
            self.name_edit.setText(name)
            self.name_edit.setCursorPosition(0)

    def _refresh(self) -> None:
        """Grey what the chosen method, data or loss does not use, saying why."""
        for section in self.sections.values():
            section.refresh()
        self.stop.follow_loss(self.network.loss.currentText())

    def _edited(self, *_args) -> None:
        if self._updating:
            return
        self._follow_name()
        self.network.fit_loss(self.dataset.kind.currentText(), self.dataset.classes(),
                              self.dataset.data_name())
        self._refresh()
        self.validate()
        self.changed.emit()
