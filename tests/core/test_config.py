"""Experiment configuration: TOML round trips, files, and every refusal with its message."""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing

import pytest
import tomli_w
from special_files import not_regular, refusal_within

from odeprop.core import config
from odeprop.core.config import (
    DatasetConfig,
    Experiment,
    NetworkConfig,
    ProbeConfig,
    SolverConfig,
    StopConfig,
)
from odeprop.core.methods import METHODS

SECTIONS = (DatasetConfig, NetworkConfig, SolverConfig, StopConfig, ProbeConfig)


def rich_experiment() -> Experiment:
    """Non-default values in every section, with tuples, inf and None fields."""
    return Experiment(
        name="round trip — ünïcode",
        description="line one\nline two",
        dataset=DatasetConfig(kind="blobs", n_samples=123, noise=0.25, seed=7, test_fraction=0.0,
                              n_classes=4, standardize=False),
        network=NetworkConfig(hidden=(8, 4, 2), activations=("relu", "softplus", "sigmoid"),
                              loss="softmax_ce", l2=1e-3, init="he_normal", init_seed=3),
        solver=SolverConfig(method="BDF", rtol=1e-6, atol=1e-9, max_order=2, jacobian="fd",
                            krylov_dim=30),
        stop=StopConfig(t_end=5e4, target_loss=None, target_accuracy=0.95, max_wall_time=None,
                        max_steps=5000),
        probe=ProbeConfig(metrics_every=3, stiffness_every=0, stiffness_every_dt=2.5,
                          stiffness_method="power", full_spectrum=True),
    )


# -- round trips -------------------------------------------------------------------------------
def test_toml_round_trip_default_and_rich():
    for exp in (Experiment(), rich_experiment()):
        text = exp.to_toml()
        back = Experiment.from_toml(text)
        assert back == exp
        assert back.to_toml() == text


def test_toml_text_has_inf_tuples_and_omits_none():
    exp = rich_experiment()
    assert exp.solver.max_step == math.inf and exp.solver.first_step is None
    text = exp.to_toml()
    assert re.search(r"^max_step = inf$", text, re.M)
    for absent in ("first_step", "target_loss", "max_wall_time", "target_rms"):
        assert absent not in text
    data = exp.to_dict()
    assert data["network"]["hidden"] == [8, 4, 2]
    assert data["network"]["activations"] == ["relu", "softplus", "sigmoid"]
    assert "first_step" not in data["solver"] and "target_loss" not in data["stop"]
    back = Experiment.from_toml(text)
    assert back.network.hidden == (8, 4, 2) and isinstance(back.network.hidden, tuple)
    assert back.network.activations == ("relu", "softplus", "sigmoid")
    assert back.solver.max_step == math.inf
    assert back.stop.target_loss is None and back.solver.first_step is None


def test_round_trip_with_every_optional_set():
    exp = Experiment(
        network=NetworkConfig(hidden=(3,), activations=("tanh",), loss="mse", output="sigmoid"),
        dataset=DatasetConfig(kind="sin"),
        solver=SolverConfig(method="RK45", first_step=1e-3, max_step=0.5, jacobian="none"),
        stop=StopConfig(target_loss=1e-4, target_accuracy=None, target_rms=0.02,
                        max_wall_time=30.0, max_steps=10),
        probe=ProbeConfig(stiffness_every_dt=1.0),
    )
    text = exp.to_toml()
    assert "first_step = 0.001" in text and "max_step = 0.5" in text
    assert Experiment.from_toml(text) == exp


def test_no_hidden_layer_round_trip():
    exp = Experiment(network=NetworkConfig(hidden=(), activations=()))
    back = Experiment.from_toml(exp.to_toml())
    assert back == exp and back.network.hidden == () and back.network.activations == ()


def test_every_optional_field_defaults_to_none():
    """Leaving None out of the TOML only round-trips if leaving a key out means None."""
    for cls in SECTIONS:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp = hints[f.name]
            if typing.get_origin(tp) in (typing.Union, types.UnionType) and \
                    type(None) in typing.get_args(tp):
                assert f.default is None, f"{cls.__name__}.{f.name}"


def test_from_dict_accepts_none_for_optional_fields():
    exp = Experiment.from_dict({"stop": {"target_loss": None, "max_steps": None},
                                "solver": {"first_step": None}})
    assert exp == Experiment()


def test_save_and_load(tmp_path):
    exp = rich_experiment()
    path = tmp_path / "exp.toml"
    exp.save(path)
    assert path.read_text(encoding="utf-8") == exp.to_toml()
    assert Experiment.load(path) == exp
    assert Experiment.load(str(path)) == exp
    # saving again overwrites in place and leaves no temporary files behind
    Experiment().save(path)
    assert Experiment.load(path) == Experiment()
    assert [p.name for p in tmp_path.iterdir()] == ["exp.toml"]


def test_toml_ints_accepted_for_floats_and_integral_floats_for_ints():
    exp = Experiment.from_toml("[stop]\nt_end = 500\n[dataset]\nn_samples = 300.0\n")
    assert exp.stop.t_end == 500.0 and isinstance(exp.stop.t_end, float)
    assert exp.dataset.n_samples == 300 and isinstance(exp.dataset.n_samples, int)


def test_presets_load_and_round_trip():
    from odeprop.core.presets import load_preset, preset_names

    names = preset_names()
    assert "default" in names
    for name in names:
        exp = load_preset(name)
        assert Experiment.from_toml(exp.to_toml()) == exp, name


# -- with_changes ------------------------------------------------------------------------------
def test_with_changes():
    base = Experiment()
    changed = base.with_changes(solver={"method": "Radau", "rtol": 1e-2},
                                stop={"t_end": 10.0})
    assert changed.solver.method == "Radau" and changed.solver.rtol == 1e-2
    assert changed.solver.atol == base.solver.atol
    assert changed.stop.t_end == 10.0 and changed.network == base.network
    assert base == Experiment()  # the original is untouched (frozen)
    net = NetworkConfig(hidden=(4,), activations=("relu",))
    assert base.with_changes(network=net).network is net
    assert base.with_changes() == base
    with pytest.raises(ValueError, match=r"^solver\.rtol: must be between 1e-14 and 0\.5"):
        base.with_changes(solver={"rtol": 2.0})
    with pytest.raises(ValueError, match=r"^solver\.max_order: RK45 has no settable"):
        base.with_changes(solver={"method": "RK45", "max_order": 3})
    with pytest.raises(ValueError, match=r"^network\.loss: binary cross-entropy needs class"):
        base.with_changes(dataset={"kind": "sin"})
    assert base.with_changes(dataset={"kind": "sin"}, network={"loss": "mse"}).dataset.kind == "sin"


def test_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Experiment().solver.rtol = 1.0  # type: ignore[misc]


# -- method-specific settings ------------------------------------------------------------------
DEFAULT_JACOBIAN = [
    ("RK23", "none"), ("RK45", "none"), ("DOP853", "none"),
    ("Radau", "exact"), ("BDF", "exact"), ("LSODA", "exact"),
    ("vode-adams", "none"), ("vode-bdf", "exact"), ("zvode-adams", "none"),
    ("zvode-bdf", "fd"), ("lsoda", "exact"), ("dopri5", "none"), ("dop853", "none"),
    ("cvode-dense", "exact"), ("cvode-gmres", "exact"),
    ("ros2-gn", "sampled-gauss-newton"), ("ros34pw2-gn", "sampled-gauss-newton"),
    ("lm", "gauss-newton"), ("rkc", "fd"),
    ("gd", "none"), ("momentum", "none"), ("adam", "none"),
]


@pytest.mark.parametrize(("method", "mode"), DEFAULT_JACOBIAN)
def test_jacobian_mode_default_per_method(method, mode):
    solver = SolverConfig(method=method)
    assert solver.jacobian is None
    assert solver.jacobian_mode == mode
    assert solver.info is METHODS[method]
    for other in METHODS[method].jacobian_modes:
        assert SolverConfig(method=method, jacobian=other).jacobian_mode == other


def test_every_method_is_in_the_jacobian_table():
    assert {m for m, _ in DEFAULT_JACOBIAN} == set(METHODS)


@pytest.mark.parametrize(("method", "settings", "message"), [
    ("RK45", {"max_order": 3}, r"^solver\.max_order: RK45 has no settable maximum order$"),
    ("Radau", {"max_order": 3}, r"^solver\.max_order: Radau has no settable maximum order$"),
    ("RK45", {"jacobian": "exact"}, r"^solver\.jacobian: RK45 takes 'none', got 'exact'$"),
    ("dopri5", {"jacobian": "fd"}, r"^solver\.jacobian: dopri5 takes 'none', got 'fd'$"),
    ("gd", {"first_step": 0.1}, r"^solver\.first_step: gd has no first step$"),
    ("adam", {"max_step": 1.0}, r"^solver\.max_step: adam has no maximum step$"),
    ("momentum", {"max_order": 1}, r"^solver\.max_order: momentum has no settable"),
    ("gd", {"jacobian": "exact"}, r"^solver\.jacobian: gd takes 'none', got 'exact'$"),
])
def test_settings_a_method_lacks_are_refused(method, settings, message):
    with pytest.raises(ValueError, match=message):
        SolverConfig(method=method, **settings)


def test_optimisers_skip_tolerance_checks():
    assert SolverConfig(method="gd", rtol=5.0, atol=0.0).rtol == 5.0


# -- activations broadcast ---------------------------------------------------------------------
def test_single_activation_broadcasts_to_all_hidden_layers():
    assert NetworkConfig(hidden=(8, 4, 2), activations="relu").activations == ("relu",) * 3
    assert NetworkConfig(hidden=[8, 4], activations=["sigmoid"]).activations == ("sigmoid",) * 2
    assert NetworkConfig(hidden=(8,), activations="tanh").activations == ("tanh",)
    net = NetworkConfig(hidden=[5, 6], activations=("tanh", "relu"))
    assert net.hidden == (5, 6) and isinstance(net.hidden, tuple)
    exp = Experiment.from_toml('[network]\nhidden = [3, 3, 3]\nactivations = "softplus"\n')
    assert exp.network.activations == ("softplus",) * 3
    exp = Experiment.from_toml('[network]\nhidden = [3, 3]\nactivations = ["linear"]\n')
    assert exp.network.activations == ("linear", "linear")


# -- every refusal -------------------------------------------------------------------------------
PHASE = {"until_loss": 0.1, "rtol": 1e-2, "atol": 1e-2}

REFUSALS = [
    # dataset
    ({"dataset": {"kind": "nope"}},
     r"^dataset\.kind: unknown dataset 'nope'; choose one of moons, circles, .*, csv$"),
    ({"dataset": {"n_samples": 3}}, r"^dataset\.n_samples: must be between 4 and 100000, got 3$"),
    ({"dataset": {"n_samples": 100_001}}, r"^dataset\.n_samples: must be between 4 and 100000"),
    ({"dataset": {"noise": -0.1}}, r"^dataset\.noise: must be between 0 and 10, got -0\.1$"),
    ({"dataset": {"noise": 10.5}}, r"^dataset\.noise: must be between 0 and 10, got 10\.5$"),
    ({"dataset": {"test_fraction": 1.0}},
     r"^dataset\.test_fraction: must be at least 0 and below 1, got 1\.0$"),
    ({"dataset": {"test_fraction": -0.1}}, r"^dataset\.test_fraction: must be at least 0"),
    ({"dataset": {"n_classes": 1}}, r"^dataset\.n_classes: must be between 2 and 20, got 1$"),
    ({"dataset": {"n_features": 0}}, r"^dataset\.n_features: must be between 1 and 10000, got 0$"),
    ({"dataset": {"n_classes": 21}}, r"^dataset\.n_classes: must be between 2 and 20, got 21$"),
    ({"dataset": {"task": "guess"}},
     r"^dataset\.task: must be one of auto, classification, regression$"),
    ({"dataset": {"kind": "csv"}}, r"^dataset\.csv_path: a CSV dataset needs a file path$"),
    ({"dataset": {"kind": "csv", "csv_path": "data.csv"}},
     r"^dataset\.target_column: a CSV dataset needs the name of its label/target column$"),
    # network
    ({"network": {"hidden": [4, 0], "activations": ["tanh"]}},
     r"^network\.hidden\[1\]: a layer width must be an integer from 1 to 4096, got 0$"),
    ({"network": {"hidden": [4097], "activations": ["tanh"]}},
     r"^network\.hidden\[0\]: a layer width must be an integer from 1 to 4096, got 4097$"),
    ({"network": {"hidden": [4, 4, 4], "activations": ["tanh", "relu"]}},
     r"^network\.activations: give one activation per hidden layer \(3\), got 2$"),
    ({"network": {"hidden": [], "activations": ["tanh", "relu"]}},
     r"^network\.activations: give one activation per hidden layer \(0\), got 2$"),
    ({"network": {"activations": ["tanh", "swish"]}},
     r"^network\.activations\[1\]: unknown activation 'swish'; "
     r"choose one of tanh, sigmoid, relu, softplus, linear$"),
    ({"network": {"loss": "hinge"}},
     r"^network\.loss: unknown loss 'hinge'; choose one of bce, softmax_ce, mse$"),
    ({"network": {"output": "relu"}},
     r"^network\.output: unknown output unit 'relu'; choose one of linear, sigmoid$"),
    ({"network": {"l2": -1e-3}}, r"^network\.l2: must be between 0 and 10, got -0\.001$"),
    ({"network": {"l2": 11}}, r"^network\.l2: must be between 0 and 10, got 11\.0$"),
    ({"network": {"init": "orthogonal"}},
     r"^network\.init: unknown initialisation 'orthogonal'; choose one of xavier_uniform, "
     r"xavier_normal, he_normal, lecun_normal, uniform$"),
    # solver
    ({"solver": {"method": "euler"}},
     r"^solver\.method: unknown method 'euler'; choose one of RK23, RK45, .*, adam$"),
    ({"solver": {"rtol": 0.6}}, r"^solver\.rtol: must be between 1e-14 and 0\.5, got 0\.6$"),
    ({"solver": {"rtol": 1e-15}}, r"^solver\.rtol: must be between 1e-14 and 0\.5, got 1e-15$"),
    ({"solver": {"atol": 0}}, r"^solver\.atol: must be above 0 and at most 1, got 0\.0$"),
    ({"solver": {"atol": 2}}, r"^solver\.atol: must be above 0 and at most 1, got 2\.0$"),
    ({"solver": {"method": "gd", "first_step": 0.1}},
     r"^solver\.first_step: gd has no first step$"),
    ({"solver": {"first_step": 0}}, r"^solver\.first_step: must be a positive number, got 0\.0$"),
    ({"solver": {"first_step": -0.5}},
     r"^solver\.first_step: must be a positive number, got -0\.5$"),
    ({"solver": {"max_step": 0}},
     r"^solver\.max_step: must be positive \(inf for no limit\), got 0\.0$"),
    ({"solver": {"max_step": -math.inf}},
     r"^solver\.max_step: must be positive \(inf for no limit\), got -inf$"),
    ({"solver": {"method": "momentum", "max_step": 2.0}},
     r"^solver\.max_step: momentum has no maximum step$"),
    ({"solver": {"method": "RK23", "max_order": 2}},
     r"^solver\.max_order: RK23 has no settable maximum order$"),
    ({"solver": {"method": "BDF", "max_order": 6}},
     r"^solver\.max_order: must be an integer from 1 to 5 for BDF, got 6$"),
    ({"solver": {"method": "vode-adams", "max_order": 0}},
     r"^solver\.max_order: must be an integer from 1 to 12 for vode-adams, got 0$"),
    ({"solver": {"method": "BDF", "jacobian": "none"}},
     r"^solver\.jacobian: BDF takes 'exact' or 'fd', got 'none'$"),
    ({"solver": {"jacobian": "dense"}},
     r"^solver\.jacobian: cvode-gmres takes 'exact' or 'fd', got 'dense'$"),
    ({"solver": {"learning_rate": 0}},
     r"^solver\.learning_rate: must be a positive number, got 0\.0$"),
    ({"solver": {"momentum": 1.0}}, r"^solver\.momentum: must be in \[0, 1\), got 1\.0$"),
    ({"solver": {"beta1": -0.1}}, r"^solver\.beta1: must be in \[0, 1\), got -0\.1$"),
    ({"solver": {"beta2": 1}}, r"^solver\.beta2: must be in \[0, 1\), got 1\.0$"),
    ({"solver": {"eps": 0}}, r"^solver\.eps: must be a positive number, got 0\.0$"),
    ({"solver": {"krylov_dim": 0}},
     r"^solver\.krylov_dim: must be an integer from 1 to 500, got 0$"),
    ({"solver": {"krylov_dim": 501}}, r"^solver\.krylov_dim: must be an integer from 1 to 500"),
    # stop
    ({"stop": {"t_end": 0}}, r"^stop\.t_end: must be a positive number, got 0\.0$"),
    ({"stop": {"t_end": math.inf}}, r"^stop\.t_end: must be a positive number, got inf$"),
    # a flow too short for CVODE to start ("flag -22" before)
    ({"stop": {"t_end": 1e-300}}, r"^stop\.t_end: must be at least 1e-09 \(a shorter flow "
     r"ends before a solver's first step\), got 1e-300$"),
    ({"dataset": {"seed": -1}}, r"^dataset\.seed: a seed is a whole number ≥ 0, got -1$"),
    ({"network": {"init_seed": -3}},
     r"^network\.init_seed: a seed is a whole number ≥ 0, got -3$"),
    ({"solver": {"method": "RK45", "first_step": 10.0}, "stop": {"t_end": 1.0}},
     r"^solver\.first_step: 10 is longer than the whole flow \(stop\.t_end = 1\); "),
    ({"stop": {"target_loss": -1}}, r"^stop\.target_loss: must be a positive number, got -1\.0$"),
    ({"stop": {"target_accuracy": 1.5}},
     r"^stop\.target_accuracy: must be a fraction in \(0, 1\], got 1\.5$"),
    ({"stop": {"target_accuracy": 0}}, r"^stop\.target_accuracy: must be a fraction in \(0, 1\]"),
    ({"stop": {"target_rms": 0}}, r"^stop\.target_rms: must be a positive number, got 0\.0$"),
    ({"stop": {"max_wall_time": -5}},
     r"^stop\.max_wall_time: must be a positive number, got -5\.0$"),
    ({"stop": {"max_steps": 0}}, r"^stop\.max_steps: must be at least 1, got 0$"),
    # probe
    ({"probe": {"metrics_every": 0}}, r"^probe\.metrics_every: must be at least 1, got 0$"),
    ({"probe": {"stiffness_every": -1}},
     r"^probe\.stiffness_every: must be 0 \(off\) or a positive number of steps, got -1$"),
    ({"probe": {"stiffness_every_dt": 0}},
     r"^probe\.stiffness_every_dt: must be a positive number, got 0\.0$"),
    ({"solver": {"method": "gd", "schedule": [PHASE]}},
     r"^solver\.schedule: gd cannot change its tolerances during a run$"),
    ({"solver": {"method": "dopri5", "schedule": [PHASE]}},
     r"^solver\.schedule: dopri5 cannot change its tolerances during a run$"),
    ({"solver": {"method": "BDF", "schedule": [PHASE, PHASE]}},
     r"^solver\.schedule: until_loss must decrease from phase to phase, got \[0\.1, 0\.1\]$"),
    ({"solver": {"method": "BDF",
                 "schedule": [{"until_loss": 0.1, "rtol": 2, "atol": 1e-2}]}},
     r"^solver\.schedule\.rtol: must be between 1e-14 and 0\.5, got 2\.0$"),
    ({"solver": {"method": "BDF",
                 "schedule": [{"until_loss": 0, "rtol": 1e-2, "atol": 1e-2}]}},
     r"^solver\.schedule\.until_loss: must be a positive number, got 0\.0$"),
    ({"probe": {"stiffness_budget": -0.5}},
     r"^probe\.stiffness_budget: must be a fraction ≥ 0 \(0: no limit\), got -0\.5$"),
    ({"probe": {"stiffness_method": "arnoldi"}},
     r"^probe\.stiffness_method: choose one of lanczos, power, got 'arnoldi'$"),
    # across sections
    ({"dataset": {"kind": "sin"}},
     r"^network\.loss: binary cross-entropy needs class labels; sin is a regression dataset, "
     r"use mse$"),
    ({"dataset": {"kind": "encoder"}, "network": {"loss": "bce"}},
     r"^network\.loss: binary cross-entropy needs class labels; encoder is a regression"),
    ({"stop": {"target_rms": 0.1}},
     r"^stop\.target_rms: an RMS-error target needs the squared-error loss "
     r"\(network\.loss = 'mse'\)$"),
    # unknown keys
    ({"bogus": 1},
     r"^bogus: unknown key in the top level; allowed: name, description, dataset, network, "
     r"solver, stop, probe$"),
    ({"solver": {"tolerance": 1e-3}},
     r"^solver\.tolerance: unknown key in \[solver\]; allowed: method, rtol, atol, "),
    ({"network": {"layers": [3]}}, r"^network\.layers: unknown key in \[network\]; allowed: "),
    # wrong types
    ({"solver": {"rtol": "1e-4"}}, r"^solver\.rtol: must be a number, got '1e-4'$"),
    ({"solver": {"rtol": True}}, r"^solver\.rtol: must be a number, got True$"),
    ({"dataset": {"n_samples": 1.5}}, r"^dataset\.n_samples: must be an integer, got 1\.5$"),
    ({"dataset": {"seed": True}}, r"^dataset\.seed: must be an integer, got True$"),
    ({"dataset": {"n_samples": "200"}}, r"^dataset\.n_samples: must be an integer, got '200'$"),
    ({"solver": {"method": "BDF", "max_order": 2.5}},
     r"^solver\.max_order: must be an integer, got 2\.5$"),
    ({"dataset": {"standardize": 1}}, r"^dataset\.standardize: must be true or false, got 1$"),
    ({"name": 5}, r"^name: must be text, got 5$"),
    ({"solver": {"method": 3}}, r"^solver\.method: must be text, got 3$"),
    ({"network": {"hidden": 16}}, r"^network\.hidden: must be a list, got 16$"),
    ({"network": {"hidden": [16, "wide"]}},
     r"^network\.hidden\[1\]: must be an integer, got 'wide'$"),
    ({"network": {"activations": ["tanh", 2]}},
     r"^network\.activations\[1\]: must be text, got 2$"),
    ({"solver": 3}, r"^solver: must be a table \(\[solver\]\), got 3$"),
    ({"stop": [1]}, r"^stop: must be a table \(\[stop\]\), got \[1\]$"),
]


def _refusal_id(case):
    overrides, _ = case
    section, value = next(iter(overrides.items()))
    return f"{section}.{next(iter(value))}" if isinstance(value, dict) and value else section


@pytest.mark.parametrize(("overrides", "message"), REFUSALS,
                         ids=[_refusal_id(c) for c in REFUSALS])
def test_refusal_messages(overrides, message):
    with pytest.raises(ValueError, match=message):
        Experiment.from_dict(overrides)


@pytest.mark.parametrize(("overrides", "message"), REFUSALS,
                         ids=[_refusal_id(c) for c in REFUSALS])
def test_refusal_messages_through_toml_and_file(overrides, message, tmp_path):
    text = tomli_w.dumps(overrides)
    with pytest.raises(ValueError, match=message):
        Experiment.from_toml(text)
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"{path}: ") + message.lstrip("^")):
        Experiment.load(path)


def test_every_message_in_config_is_exercised():
    """Each literal message stem in config.py appears in some refusal test here."""
    import inspect

    source = inspect.getsource(config)
    pattern = r'"((?:dataset|network|solver|stop|probe)\.[a-z_0-9]+)'
    fields_checked = set(re.findall(pattern, source))
    covered = {re.sub(r"\\", "", m.lstrip("^").split(":")[0]).split("[")[0] for _, m in REFUSALS}
    assert fields_checked - covered == set()


def test_missing_keys_message():
    """No experiment field lacks a default today, so _build's check is tried on a stand-in."""

    @dataclasses.dataclass(frozen=True)
    class Needs:
        a: int
        b: str = ""

    with pytest.raises(ValueError, match=r"^section: missing keys: a$"):
        config._build(Needs, {"b": "x"}, "section")
    with pytest.raises(ValueError, match=r"^experiment: missing keys: a$"):
        config._build(Needs, {}, "")
    assert config._build(Needs, {"a": 2.0}, "section") == Needs(2)


def test_invalid_toml_syntax():
    with pytest.raises(ValueError, match=r"^not valid TOML: "):
        Experiment.from_toml("name = \n")
    with pytest.raises(ValueError, match=r"^not valid TOML: "):
        Experiment.from_toml("[solver]\nrtol = 1e-4\n[solver]\n")


def test_load_errors(tmp_path):
    missing = tmp_path / "absent.toml"
    with pytest.raises(ValueError, match=re.escape(f"{missing}: no such file")):
        Experiment.load(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("[solver\nrtol = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(f"{broken}: not valid TOML: ")):
        Experiment.load(broken)
    with pytest.raises(ValueError, match=re.escape(f"{tmp_path}: is a folder, not a TOML file")):
        Experiment.load(tmp_path)
    binary = tmp_path / "latin1.toml"
    binary.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ValueError, match=re.escape(f"{binary}: cannot read it (")):
        Experiment.load(binary)


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "notepad.toml"
    path.write_bytes(b"\xef\xbb\xbf[stop]\nt_end = 5\n")  # what Notepad saves
    assert Experiment.load(path).stop.t_end == 5.0
    assert Experiment.from_toml("\ufeff[stop]\nt_end = 7\n").stop.t_end == 7.0


def test_deeply_nested_toml_is_refused_in_one_line(tmp_path):
    deep = "a = " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ValueError, match=r"^not valid TOML here: .* nested too deeply$"):
        Experiment.from_toml(deep)
    path = tmp_path / "deep.toml"
    path.write_text(deep)
    with pytest.raises(ValueError, match=re.escape(f"{path}: not valid TOML here")):
        Experiment.load(path)


def test_a_document_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "huge.toml"
    with open(path, "wb") as fh:  # sparse: 200 MB on paper, nothing on the disk
        fh.truncate(200_000_000)
    read = []
    monkeypatch.setattr("tomllib.loads", lambda text: read.append(text))
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: the file is 200.0 MB; experiment and comparison files over 4 MB are "
            "refused")):
        Experiment.load(path)
    assert read == []  # refused by its size, before parsing
    with pytest.raises(ValueError, match=r"^the document holds 4,000,001 characters"):
        Experiment.from_toml(" " * 4_000_001)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_path_that_is_not_a_regular_file_is_refused_without_blocking(tmp_path, kind):
    path, words = not_regular(tmp_path, kind, ".toml")
    assert refusal_within(lambda: Experiment.load(path)) == f"{path}: is {words}, not a TOML file"
