"""The solver section: the family and method, and the settings the chosen method takes.

Everything it offers and greys comes from the method catalogue (:mod:`odeprop.core.methods`):
a method the engine gains appears under its family with the knobs its entry names, and the
knobs it lacks are greyed with the reason.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox

from odeprop.core.config import SolverConfig
from odeprop.core.dense_limits import dense_jacobian_refusal
from odeprop.core.methods import METHODS, MethodInfo

from ..config_widgets import LogEdit, NumberEdit
from ..row_editors import ScheduleEditor
from ..tooltips import tip
from .section import ConfigSection, FieldReader

#: The family combo's wording; a family the catalogue names and this table does not is shown
#: by its own name.
FAMILY_LABELS = {"ivp": "scipy solve_ivp", "ode": "scipy ode (legacy)", "cvode": "SUNDIALS CVODE",
                 "rosenbrock": "Rosenbrock / Gauss–Newton",
                 "stabilised": "Stabilised explicit (RKC)",
                 "optimiser": "Optimisers (fixed step)"}


def method_families() -> dict[str, str]:
    """The catalogue's families (those with a method, in this table's order, then the others in
    the catalogue's), each with its label."""
    found = [info.family for info in METHODS.values()]
    order = [key for key in FAMILY_LABELS if key in found]
    order += [key for key in dict.fromkeys(found) if key not in FAMILY_LABELS]
    return {key: FAMILY_LABELS.get(key, key) for key in order}


class SolverSection(ConfigSection):
    """Edits a :class:`~odeprop.core.config.SolverConfig`. With ``schedule=True`` it also owns
    a tolerance-schedule editor (:attr:`schedule`, placed by the panel under this section);
    without one, the value's schedule is kept as it is."""

    def __init__(self, schedule: bool = False):
        super().__init__("Solver", SolverConfig())
        self._jacobian_for = ""  # the method the Jacobian combo lists the modes of
        self.family = QComboBox()
        for key, label in method_families().items():
            self.family.addItem(label, key)
        self.family.setToolTip(tip("family"))
        self.form.addRow(QLabel("Family"), self.family)
        self.family.currentIndexChanged.connect(self._family_changed)
        self.method = QComboBox()
        # The method names are long ("ROS34PW2 Rosenbrock W-method, Gauss–Newton"): beside the
        # label they were cut, so the combo has the form's whole width under its label, the
        # panel is made wide enough for the longest name (ConfigPanel._method_width), and the
        # list opens wide enough for every name even where a narrower panel cuts the closed
        # combo (the comparison workspace's run editor sets its own, smaller minimum width).
        self.method.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.method.setMinimumContentsLength(12)  # the combo never makes the form wider
        self.add("solver.method", "Method", self.method, "method", own_row=True)
        self.rtol = LogEdit(1e-14, 0.5)
        self.add("solver.rtol", "rtol", self.rtol, "rtol")
        self.atol = LogEdit(1e-14, 1.0)
        self.add("solver.atol", "atol", self.atol, "atol")
        self.first_step = NumberEdit("automatic")
        self.add("solver.first_step", "First step", self.first_step, "first_step")
        self.max_step = NumberEdit("no limit")
        self.add("solver.max_step", "Max step", self.max_step, "max_step")
        self.max_order = QSpinBox()
        self.max_order.setRange(0, 12)
        self.max_order.setSpecialValueText("automatic")
        self.add("solver.max_order", "Max order", self.max_order, "max_order")
        self.jacobian = QComboBox()
        self.add("solver.jacobian", "Jacobian", self.jacobian, "jacobian")
        self.learning_rate = NumberEdit()
        self.add("solver.learning_rate", "Learning rate η", self.learning_rate, "learning_rate")
        self.momentum = NumberEdit()
        self.add("solver.momentum", "Momentum β", self.momentum, "momentum")
        self.beta1 = NumberEdit()
        self.add("solver.beta1", "Adam β1", self.beta1, "beta1")
        self.beta2 = NumberEdit()
        self.add("solver.beta2", "Adam β2", self.beta2, "beta2")
        #: the solver's tolerance schedule (None: the value's is kept as it is)
        self.schedule: ScheduleEditor | None = ScheduleEditor() if schedule else None
        if self.schedule is not None:
            self.schedule.changed.connect(self.edited)

    def info(self) -> MethodInfo:
        """The chosen method's catalogue entry."""
        return METHODS.get(self.method.currentData() or "", self.base.info)

    # -- value in and out --------------------------------------------------------------------
    def fill(self, s: SolverConfig) -> None:
        self.family.setCurrentIndex(self.family.findData(s.info.family))
        self._fill_methods(s.info.family, s.method)
        self.show_numbers(s, ("rtol", "atol", "first_step", "max_step", "learning_rate",
                              "momentum", "beta1", "beta2"))
        self.max_order.setMaximum(s.info.max_order or 12)  # the value's own: kept whole
        self.max_order.setValue(s.max_order or 0)
        self._fill_jacobian(s.method, s.jacobian)
        if self.schedule is not None:
            self.schedule.set_phases(s.schedule)
            self.schedule.set_method(s.method)

    def build(self, reader: FieldReader) -> SolverConfig | None:
        base, info = self.base, self.info()
        number = reader.number
        schedule = base.schedule
        if self.schedule is not None:
            try:
                schedule = self.schedule.phases()
            except ValueError as exc:
                reader.errors.append(str(exc))
                schedule = reader.MISSING
        jac = self.jacobian.currentData()
        required = reader.MISSING
        return reader.build(
            base, method=info.name, schedule=schedule,
            rtol=number("solver.rtol", self.rtol, required) if info.tolerances else base.rtol,
            atol=number("solver.atol", self.atol, required) if info.tolerances else base.atol,
            first_step=number("solver.first_step", self.first_step, None, info.first_step),
            max_step=number("solver.max_step", self.max_step, math.inf, info.max_step),
            max_order=(self.max_order.value() or None) if info.max_order else None,
            jacobian=jac if jac in info.jacobian_modes else None,
            learning_rate=number("solver.learning_rate", self.learning_rate, required)
            if info.learning_rate else base.learning_rate,
            momentum=number("solver.momentum", self.momentum, base.momentum,
                            info.name == "momentum"),
            beta1=number("solver.beta1", self.beta1, base.beta1, info.name == "adam"),
            beta2=number("solver.beta2", self.beta2, base.beta2, info.name == "adam"))

    def dense_refusal(self, n_params: int, n_outputs: int | None) -> str | None:
        """Why the chosen method cannot run a network of ``n_params`` parameters learning
        ``n_outputs`` values (core's dense-Jacobian rule), or None."""
        method = self.method.currentData()
        if not method:
            return None
        jac = self.jacobian.currentData()
        try:
            solver = SolverConfig(method=method,
                                  jacobian=jac if jac in METHODS[method].jacobian_modes else None)
        except ValueError:
            return None
        return dense_jacobian_refusal(solver, n_params, n_outputs)

    # -- what applies to the chosen method ---------------------------------------------------
    def refresh(self) -> None:
        """Grey the settings the chosen method lacks, saying why (its catalogue entry)."""
        method = self.method.currentData()
        if method and method != self._jacobian_for:
            self._fill_jacobian(method, None)
        if method and self.schedule is not None:
            self.schedule.set_method(method)
        info = self.info()
        name = info.label
        tolerances = None if info.tolerances else (
            f"{name} takes fixed steps (h = learning rate); it has no error tolerances."
            if info.learning_rate else
            f"{name} sets its step from how well each step reduced the loss, not from an "
            "error estimate; it has no tolerances.")
        adam = None if info.name == "adam" else "Only Adam has β1."
        if self.max_order.isEnabled() or info.max_order:
            self.max_order.setMaximum(info.max_order or 12)
        self.grey({
            "solver.rtol": tolerances, "solver.atol": tolerances,
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
            "solver.beta1": adam, "solver.beta2": adam,
        })

    def _family_changed(self, _index: int) -> None:
        if self._updating:
            return
        self._fill_methods(self.family.currentData(), None)
        self.edited()

    def _fill_methods(self, family: str, selected: str | None) -> None:
        self.method.blockSignals(True)
        self.method.clear()
        for info in METHODS.values():
            if info.family == family:
                self.method.addItem(info.label, info.name)
                self.method.setItemData(self.method.count() - 1, info.description,
                                        Qt.ItemDataRole.ToolTipRole)
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
