"""Each section of the configuration panel on its own: a value shown in its widgets reads back
as the same value, the fields it shows are read from the widgets (not kept from the value), and
a bad field gives its message, naming the field, under that field. The solver section is driven
by the method catalogue: a method the engine gains appears with the knobs its entry names."""

from __future__ import annotations

import math
from dataclasses import fields, replace

import pytest
from PySide6.QtCore import Qt

from odeprop.core.config import (
    DatasetConfig,
    NetworkConfig,
    ProbeConfig,
    SolverConfig,
    StopConfig,
    TolerancePhase,
)
from odeprop.core.methods import METHODS, MethodInfo
from odeprop.gui.common.config_panel import ConfigPanel
from odeprop.gui.common.config_sections.dataset import DatasetSection
from odeprop.gui.common.config_sections.network import NetworkSection
from odeprop.gui.common.config_sections.probe import ProbeSection
from odeprop.gui.common.config_sections.solver import SolverSection
from odeprop.gui.common.config_sections.stop import StopSection


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("x1,x2,y\n" + "".join(f"{i},{i % 5},{i * 0.5}\n" for i in range(20)))
    return str(path)


def _solver_value(info: MethodInfo) -> SolverConfig:
    """Settings away from the defaults for every knob the method's catalogue entry names."""
    changes = {"method": info.name, "learning_rate": 0.05, "momentum": 0.7, "beta1": 0.8,
               "beta2": 0.99, "eps": 1e-7, "krylov_dim": 20}
    if info.tolerances:
        changes |= {"rtol": 1e-5, "atol": 1e-7}
    if info.first_step:
        changes["first_step"] = 0.01
    if info.max_step:
        changes["max_step"] = 3.0
    if info.max_order:
        changes["max_order"] = info.max_order - 1
    if info.jacobian_modes != ("none",):
        changes["jacobian"] = info.jacobian_modes[-1]
    return SolverConfig(**changes)


DATASETS = [
    DatasetConfig(kind="blobs", n_samples=300, noise=0.25, seed=7, test_fraction=0.3,
                  n_classes=5, standardize=False),
    DatasetConfig(kind="clusters", n_samples=150, noise=1.5, n_classes=4, n_features=50),
    DatasetConfig(kind="iris", seed=3, test_fraction=0.2, n_classes=7, n_features=12),
    DatasetConfig(kind="sin", n_samples=64, noise=0.0, test_fraction=0.0),
]
NETWORKS = [
    NetworkConfig(hidden=(8, 4, 3), activations=("relu", "sigmoid", "linear"), loss="mse",
                  output="sigmoid", l2=0.001, init="he_normal", init_seed=5),
    NetworkConfig(hidden=(32,), activations=("softplus",), loss="softmax_ce",
                  init="lecun_normal", init_seed=11),
]
STOPS = [
    StopConfig(t_end=250.0, target_loss=0.02, target_accuracy=0.95, target_rms=0.1,
               max_wall_time=30.0, max_steps=500),
    StopConfig(t_end=0.5),
]
PROBES = [
    ProbeConfig(metrics_every=3, stiffness_every=0, stiffness_every_dt=2.5,
                stiffness_method="power", stiffness_budget=0.05, full_spectrum=True),
    ProbeConfig(metrics_every=40, stiffness_every=7, stiffness_budget=0.0),
]
#: one value per method of the catalogue, its knobs set (a method the engine gains is covered)
SOLVERS = [_solver_value(info) for info in METHODS.values()]


def _round_trip(section, value):
    """Show ``value``; read it back; then read the fields the section shows (enabled) once the
    value it keeps for the rest is the dataclass default: they come from the widgets."""
    section.set_value(value)
    section.refresh()
    assert section.value() == value
    section.base = type(value)(**({"method": value.method} if hasattr(value, "method") else {}))
    read = section.value()
    shown = {name.split(".", 1)[1] for name, widget in section.fields.items()
             if widget.isEnabled()} & {f.name for f in fields(value)}
    assert shown, "no field is read from the widgets"
    for name in shown:
        assert getattr(read, name) == getattr(value, name), name


@pytest.mark.parametrize("value", DATASETS, ids=lambda v: v.kind)
def test_the_dataset_section_reads_back_what_it_shows(qtbot, value):
    section = DatasetSection()
    qtbot.addWidget(section)
    _round_trip(section, value)


def test_the_dataset_section_reads_back_a_csv_file(qtbot, csv_file):
    section = DatasetSection()
    qtbot.addWidget(section)
    value = DatasetConfig(kind="csv", csv_path=csv_file, target_column="x2",
                          task="regression", test_fraction=0.15)
    _round_trip(section, value)
    assert [section.target_column.itemText(i) for i in range(3)] == ["x1", "x2", "y"]
    assert section.preview.rowCount() == 8 and section.csv_error is None


@pytest.mark.parametrize("value", NETWORKS, ids=lambda v: v.loss)
def test_the_network_section_reads_back_what_it_shows(qtbot, value):
    section = NetworkSection()
    qtbot.addWidget(section)
    _round_trip(section, value)
    assert section.layers.layers() == (value.hidden, value.activations)


@pytest.mark.parametrize("value", SOLVERS, ids=lambda v: f"{v.info.family}-{v.method}")
def test_the_solver_section_reads_back_every_method_with_its_knobs(qtbot, value):
    section = SolverSection()
    qtbot.addWidget(section)
    section.set_value(SolverConfig(method="BDF"))  # an earlier method's limits do not clip it
    section.refresh()
    _round_trip(section, value)
    assert section.family.currentData() == value.info.family


def test_the_solver_section_reads_back_its_tolerance_schedule(qtbot):
    section = SolverSection(schedule=True)
    qtbot.addWidget(section)
    phases = (TolerancePhase(0.5, 1e-2, 1e-2), TolerancePhase(0.1, 1e-3, 1e-4))
    value = SolverConfig(method="BDF", rtol=1e-6, atol=1e-8, schedule=phases)
    _round_trip(section, value)
    assert len(section.schedule.rows) == 2
    section.base = SolverConfig(method="BDF")
    assert section.value().schedule == phases  # from the editor, not kept


def test_a_loaded_maximum_order_is_kept_whatever_the_method_before(qtbot):
    """vode's Adams formulas go up to order 12: an experiment asking for 8 kept it only if the
    method shown before allowed 8 too (after BDF's 5 it silently became 5)."""
    panel = ConfigPanel()
    qtbot.addWidget(panel)
    assert panel.max_order.maximum() == 5  # the default method, CVODE BDF
    exp = panel.experiment().with_changes(solver={"method": "vode-adams", "max_order": 8})
    panel.set_experiment(exp)
    assert panel.max_order.value() == 8 and panel.experiment() == exp


def test_the_csv_field_keeps_its_explanation_once_the_csv_kind_is_chosen(qtbot):
    """The CSV field's tooltip explains what file it wants, greyed or not (it was blank once
    the 'csv' kind was chosen)."""
    panel = ConfigPanel()
    qtbot.addWidget(panel)
    panel.kind.setCurrentText("csv")
    for shown in (panel.fields["dataset.csv_path"], panel.labels["dataset.csv_path"]):
        assert "Read your own data" in shown.toolTip()


@pytest.mark.parametrize("value", STOPS, ids=("every-limit", "t_end-only"))
def test_the_stop_section_reads_back_what_it_shows(qtbot, value):
    section = StopSection()
    qtbot.addWidget(section)
    _round_trip(section, value)


@pytest.mark.parametrize("value", PROBES, ids=("by-time", "by-steps"))
def test_the_probe_section_reads_back_what_it_shows(qtbot, value):
    section = ProbeSection()
    qtbot.addWidget(section)
    _round_trip(section, value)


def _type(qtbot, edit, text: str) -> None:
    """Replace what ``edit`` holds as a user does (select all, then type or erase)."""
    edit.selectAll()
    if text:
        qtbot.keyClicks(edit, text)
    else:
        qtbot.keyClick(edit, Qt.Key.Key_Backspace)


@pytest.mark.parametrize("make, value, edit, text, message", [
    (DatasetSection, DatasetConfig(), "noise", "x", "dataset.noise: 'x' is not a number"),
    (DatasetSection, DatasetConfig(), "noise", "20",
     "dataset.noise: must be between 0 and 10, got 20.0"),
    (NetworkSection, NetworkConfig(), "l2", "-1", "network.l2: must be between 0 and 10, got -1.0"),
    (SolverSection, SolverConfig(), "rtol", "2",
     "solver.rtol: must be between 1e-14 and 0.5, got 2.0"),
    (SolverSection, SolverConfig(method="gd"), "learning_rate", "",
     "solver.learning_rate: give a value"),
    (StopSection, StopConfig(), "t_end", "", "stop.t_end: give a value"),
    (StopSection, StopConfig(), "target_accuracy", "1.5",
     "stop.target_accuracy: must be a fraction in (0, 1], got 1.5"),
    (ProbeSection, ProbeConfig(), "stiffness_budget", "-1",
     "probe.stiffness_budget: must be a fraction ≥ 0 (0: no limit), got -1.0"),
])
def test_a_bad_field_says_what_is_wrong_under_itself(qtbot, make, value, edit, text, message):
    section = make()
    qtbot.addWidget(section)
    section.set_value(value)
    with qtbot.waitSignal(section.changed, timeout=30_000):
        widget = getattr(section, edit)
        _type(qtbot, getattr(widget, "edit", widget), text)
    field = message.split(":", 1)[0]
    assert section.validate() == [message]
    assert section.message(field) == message
    assert section.fields[field].property("invalid")
    assert all(section.message(other) == "" for other in section.fields if other != field)
    with pytest.raises(ValueError, match=f"^{message.split(':')[0]}"):
        section.value()
    section.set_value(value)  # mended: the message goes
    assert section.validate() == [] and section.message(field) == ""


def test_a_network_without_hidden_layers_is_refused_under_the_layers(qtbot):
    section = NetworkSection()
    qtbot.addWidget(section)
    section.set_value(NetworkConfig(hidden=(4,), activations=("tanh",)))
    section.layers.remove_layer(section.layers.rows[0])
    assert section.validate() == ["network.hidden: add at least one hidden layer"]
    assert section.message("network.hidden") == "network.hidden: add at least one hidden layer"


@pytest.mark.parametrize("entry", [
    MethodInfo("chebyshev-test", "stabilised-test", "Chebyshev test method", False, math.nan,
               jacobian_modes=("fd", "exact"), description="A family the panel never named."),
    MethodInfo("rk-test", "ivp", "RK test pair", False, 2.0, stages=4,
               description="One more explicit pair in a family the panel knows."),
    MethodInfo("step-test", "optimiser", "Fixed-step test", False, 2.0, tolerances=False,
               first_step=False, max_step=False, learning_rate=True),
], ids=lambda e: e.name)
def test_a_method_the_catalogue_gains_appears_with_its_knobs(qtbot, monkeypatch, entry):
    """No panel change for a new method (another solver is being added as this is written):
    its family is offered, it is listed under it, its knobs are on or greyed as its entry
    says, and the experiment carries it."""
    monkeypatch.setitem(METHODS, entry.name, entry)
    panel = ConfigPanel(schedule=True)
    qtbot.addWidget(panel)
    solver = panel.solver
    solver.family.setCurrentIndex(solver.family.findData(entry.family))
    solver.method.setCurrentIndex(solver.method.findData(entry.name))
    assert solver.method.currentText() == entry.label
    assert solver.method.itemData(solver.method.currentIndex(), 3) == entry.description
    knobs = {"rtol": entry.tolerances, "atol": entry.tolerances,
             "first_step": entry.first_step, "max_step": entry.max_step,
             "max_order": bool(entry.max_order), "learning_rate": entry.learning_rate,
             "jacobian": entry.jacobian_modes != ("none",)}
    for knob, on in knobs.items():  # a greyed knob says why, naming the method
        assert panel.fields[f"solver.{knob}"].isEnabled() == on, knob
        assert (entry.label in panel.fields[f"solver.{knob}"].toolTip()) == (not on), knob
    modes = [solver.jacobian.itemData(i) for i in range(solver.jacobian.count())]
    assert modes == [None, *entry.jacobian_modes]
    assert panel.schedule.add_button.isEnabled() == entry.tolerances
    exp = panel.experiment()
    assert exp.solver.method == entry.name and panel.errors == []
    assert panel.name_edit.text().startswith("Untitled (from ")
    panel.set_experiment(replace(exp, solver=_solver_value(entry)))
    assert panel.experiment().solver == _solver_value(entry)
