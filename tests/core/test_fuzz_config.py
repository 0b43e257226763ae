"""Fuzzing: generated configurations either validate or are refused with a message naming a
field; valid small ones run a few steps without crashing or hanging the engine."""

import math
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odeprop.core.config import (
    ACTIVATIONS,
    DATASET_KINDS,
    INIT_SCHEMES,
    LOSSES,
    DatasetConfig,
    Experiment,
    NetworkConfig,
    ProbeConfig,
    SolverConfig,
    StopConfig,
)
from odeprop.core.methods import METHODS
from odeprop.core.run import Run

SECTIONS = {"dataset": DatasetConfig, "network": NetworkConfig, "solver": SolverConfig,
            "stop": StopConfig, "probe": ProbeConfig}

anything = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.lists(st.integers(-5, 300), max_size=4), st.sampled_from(list(METHODS)),
    st.sampled_from(DATASET_KINDS + ACTIVATIONS + LOSSES + INIT_SCHEMES),
)


def section(cls):
    keys = st.sampled_from([f.name for f in cls.__dataclass_fields__.values()] + ["bogus"])
    return st.dictionaries(keys, anything, max_size=5)


documents = st.fixed_dictionaries({}, optional={name: section(cls)
                                                for name, cls in SECTIONS.items()})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_every_document_validates_or_is_refused_with_a_named_field(doc):
    try:
        Experiment.from_dict(doc)
    except ValueError as exc:
        message = str(exc)
        assert ":" in message and message.split(":")[0].strip(), message
        head = message.split(":")[0]
        assert head.split(".")[0].split("[")[0] in (*SECTIONS, "bogus", "experiment"), message


small_solver = st.fixed_dictionaries({
    "method": st.sampled_from([m for m in METHODS if m not in ("zvode-bdf", "zvode-adams")]),
    "rtol": st.floats(1e-8, 0.5), "atol": st.floats(1e-10, 1.0),
    "learning_rate": st.floats(1e-4, 100.0),
})
small_network = st.fixed_dictionaries({
    "hidden": st.lists(st.integers(1, 8), max_size=2),
    "activations": st.sampled_from(ACTIVATIONS), "loss": st.sampled_from(LOSSES),
    "l2": st.floats(0, 1),
})
small_dataset = st.fixed_dictionaries({
    "kind": st.sampled_from(["moons", "circles", "xor", "blobs", "sin", "encoder", "iris"]),
    "n_samples": st.integers(8, 60), "noise": st.floats(0, 2),
    "test_fraction": st.floats(0, 0.5), "seed": st.integers(0, 5),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_dataset, small_network, small_solver)
def test_valid_small_configurations_run_without_crashing_or_hanging(dataset, network, solver):
    try:
        exp = Experiment.from_dict({"dataset": dataset, "network": network, "solver": solver,
                                    "stop": {"max_steps": 5, "max_wall_time": 5.0}})
        run = Run(exp)
    except ValueError:
        return  # refused with a message: fine (e.g. bce on a regression set)
    begin = time.monotonic()
    try:
        report = run.run_to_end()
    finally:
        run.close()
    assert time.monotonic() - begin < 20
    assert report.status in ("finished", "failed", "stopped")
    if report.status == "failed":
        assert report.message
    else:
        assert report.final.step <= 5 and math.isfinite(report.final.loss_train)
