"""Hostile sizes and values, refused with a message that names the field before anything big
is built: the memory budget, huge values in the data, a step stuck past max_wall_time, and a
real MemoryError turned into a message."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from odeprop.core import budget
from odeprop.core import flow as flow_module
from odeprop.core.config import DatasetConfig, Experiment
from odeprop.core.datasets import load_dataset
from odeprop.core.presets import comparison_names, load_comparison, load_preset, preset_names
from odeprop.core.run import Problem, Run

GB = 10**9


@pytest.fixture
def machine(monkeypatch):
    """A machine that lets one run use 8 GB (16 GB of memory), whatever this one has."""
    monkeypatch.setattr(budget, "memory_limit", lambda: 8 * GB)


def test_a_network_too_big_for_memory_is_refused_naming_the_field_and_the_estimate(machine):
    with pytest.raises(ValueError) as refused:
        Experiment().with_changes(network={"hidden": (4096,) * 40, "activations": ("tanh",)})
    message = str(refused.value)
    assert message.startswith("network.hidden: 654,487,553 parameters need about 5.24 GB for "
                              "θ alone and 503 GB with the solver's and the probe's working "
                              "vectors; one run needs about 5")
    assert message.endswith("more than the 8 GB it may use (half of this machine's memory): "
                            "use fewer or narrower layers")


def test_data_too_big_for_memory_are_refused_before_they_are_drawn(machine, monkeypatch):
    drawn = []
    monkeypatch.setattr("odeprop.core.datasets._clusters", lambda *a: drawn.append(a))
    with pytest.raises(ValueError, match=r"^dataset\.n_features: 100,000 samples × 10,000 "
                       r"features need about 16 GB \(the data and their split\); one run needs "
                       r"about 16\.\d GB in all, more than the 8 GB"):
        Experiment(dataset=DatasetConfig(kind="clusters", n_samples=100_000, n_features=10_000,
                                         n_classes=10)).with_changes(
            network={"loss": "softmax_ce"})
    assert drawn == []


def test_the_dense_matrices_a_method_keeps_count_against_the_budget(monkeypatch):
    monkeypatch.setattr(budget, "memory_limit", lambda: 200 * 10**6)  # a small machine
    wide = {"hidden": (64, 64), "activations": ("tanh",)}  # 4,417 parameters: dense is allowed
    Experiment().with_changes(network=wide, solver={"method": "cvode-gmres"})
    with pytest.raises(ValueError, match=r"^solver\.method: BDF keeps dense matrices of about "
                       r"468 MB for 4,417 parameters; .*: use cvode-gmres"):
        Experiment().with_changes(network=wide, solver={"method": "BDF"})


def test_shipped_presets_and_the_bignet_benchmark_fit_a_machine_of_2_gb(monkeypatch):
    monkeypatch.setattr(budget, "memory_limit", lambda: 1 * GB)
    for name in preset_names():
        load_preset(name)
    for name in comparison_names():
        load_comparison(name)
    sys.path.insert(0, "benchmarks")
    try:
        from bignet import CASES
    finally:
        sys.path.remove("benchmarks")
    for case in CASES.values():
        Experiment.from_dict({**case, "solver": {"method": "cvode-gmres"}})
    biggest = Experiment.from_dict(CASES["clusters 784-128-10 (10,000 to train)"])
    need = sum(p.bytes for p in budget.needs(biggest))
    assert 0.2 * GB < need < 0.5 * GB  # measured peak: 342 MB (README, bignet.py)


def test_the_budget_counts_what_a_csv_file_turns_out_to_hold(tmp_path, monkeypatch):
    path = tmp_path / "wide.csv"
    rng = np.random.default_rng(0)
    np.savetxt(path, np.column_stack([rng.normal(size=(200, 50)), np.arange(200) % 2]),
               delimiter=",", header=",".join([*(f"x{i}" for i in range(50)), "y"]),
               comments="")
    exp = Experiment(dataset=DatasetConfig(kind="csv", csv_path=str(path), target_column="y"))
    monkeypatch.setattr(budget, "memory_limit", lambda: 400_000)  # 0.4 MB: the file's data fit
    with pytest.raises(ValueError, match=r"^network\.hidden: 1,105 parameters need about "):
        Problem.build(exp)  # 50 inputs, known only once the file is read


def test_fixed_sample_counts_are_those_of_the_data():
    for kind, n in budget.FIXED_SAMPLES.items():
        data = load_dataset(DatasetConfig(kind=kind, n_samples=10_000))
        assert data.n_train + data.n_test == n


def test_the_address_space_limit_lowers_the_budget():
    code = """
        import resource
        from odeprop.core.budget import memory_limit
        resource.setrlimit(resource.RLIMIT_AS, (3 * 10**9, resource.RLIM_INFINITY))
        print(memory_limit())
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, check=True).stdout
    assert int(out) == 1_500_000_000


def test_a_real_memory_error_while_building_becomes_a_one_line_message():
    """The budget is lifted and the address space capped: numpy raises MemoryError while the
    data are drawn; the command line prints one line and exits with 2."""
    code = """
        import resource, sys
        from odeprop.core import budget
        from odeprop.core.cli import main
        budget.memory_limit = lambda: 10**15
        resource.setrlimit(resource.RLIMIT_AS, (2 * 10**9, resource.RLIM_INFINITY))
        sys.exit(main(["run", "--preset", "default", "--set", "dataset.kind='clusters'",
                       "--set", "dataset.n_samples=100000", "--set", "dataset.n_features=5000",
                       "--set", "network.loss='softmax_ce'", "--quiet"]))
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr == ("odeprop: error: dataset.n_samples: this machine ran out of memory "
                           "building clusters data of 100,000 samples × 5,000 features; use "
                           "fewer samples or features\n")


def test_a_memory_error_past_the_data_becomes_a_message_naming_the_largest_part(monkeypatch):
    def no_memory(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("odeprop.core.run.MLP.init_params", no_memory)
    with pytest.raises(ValueError, match=r"^network\.hidden: 4,417 parameters need about .*; "
                       r"this machine ran out of memory building the data and the network: "
                       r"use fewer or narrower layers$"):
        Run(Experiment().with_changes(network={"hidden": (64, 64)}))


def _csv(tmp_path, text: str, **dataset):
    path = tmp_path / "data.csv"
    path.write_text(text)
    return Experiment(dataset=DatasetConfig(kind="csv", csv_path=str(path), target_column="y",
                                            **dataset))


ROWS = "".join(f"{i % 5},{i % 3},{i % 2}\n" for i in range(12))


def test_values_too_large_to_standardise_are_refused_naming_the_column(tmp_path):
    exp = _csv(tmp_path, "x1,x2,y\n" + ROWS + "1,1e308,0\n2,-1e308,1\n")
    with pytest.raises(ValueError, match=r"^data\.csv: column 'x2' holds values as large as "
                       r"1e\+308, too large to standardise"):
        Run(exp)


def test_a_test_row_that_standardises_to_infinity_is_refused_naming_the_column(tmp_path):
    """A 1e308 among the test rows leaves the training rows' mean and spread finite, but would
    become ±inf once standardised (an overflow warning, then a meaningless test loss): refused
    too. Whatever the split, the data are refused, never run."""
    rows = "".join(f"{i % 5},{(i % 3) / 1000},{i % 2}\n" for i in range(12))  # x2's spread: 1e-3
    exp = _csv(tmp_path, "x1,x2,y\n" + rows + "1,1e308,0\n", test_fraction=0.5)
    messages = set()
    for seed in range(12):
        with pytest.raises(ValueError) as refused:
            Run(exp.with_changes(dataset={"seed": seed}))
        messages.add(" ".join(str(refused.value).split(" holds ")[1].split()[:4]))
    assert messages == {"values as large as", "a value in the"}


def test_a_loss_that_is_not_finite_at_theta0_is_about_the_data_not_the_step(tmp_path):
    exp = _csv(tmp_path, "x1,x2,y\n" + ROWS.replace(",0\n", ",1e200\n", 1),
               task="regression").with_changes(network={"loss": "mse"})
    with pytest.raises(ValueError, match=r"^dataset: the loss at the initial weights is not "
                       r"finite on data\.csv .*: its values are too large for the network "
                       r"\(target 'y' reaches 1e\+200\); rescale the data$"):
        Run(exp)


STUCK = """
import json, sys
import numpy as np
from odeprop.core import flow
from odeprop.core.config import Experiment
from odeprop.core.run import Run

real = flow.Objective.loss_grad
flow.Objective.loss_grad = lambda self, theta: (real(self, theta)[0], real(self, theta)[1] * np.nan)
exp = Experiment().with_changes(
    dataset={"n_samples": 60}, network={"hidden": (4,)}, probe={"stiffness_every": 0},
    solver={"method": sys.argv[1]}, stop={"t_end": 1e6, "target_loss": None,
                                          "max_wall_time": 1.0})
report = Run(exp).run_to_end()
print(json.dumps([report.status, report.message]))
"""


@pytest.mark.parametrize("method", ["RK45", "RK23"])
def test_max_wall_time_ends_a_runge_kutta_step_stuck_on_nan(method):
    """scipy's Runge–Kutta loops forever in one step once the gradient is NaN at the start."""
    try:
        done = subprocess.run([sys.executable, "-W", "ignore", "-c", STUCK, method],
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{method} still stepping 59 s past its 1 s wall-time limit")
    status, message = json.loads(done.stdout)
    assert status == "stopped"
    assert message == (f"reached the wall-time limit 1 s during a step of {method}, which was "
                       "abandoned (after step 0)")


@pytest.mark.parametrize("method", ["RK45", "BDF", "cvode-gmres", "cvode-dense", "vode-bdf",
                                    "lsoda", "dopri5", "ros2-gn"])
def test_max_wall_time_ends_a_step_in_every_solver_family(method, monkeypatch):
    """A gradient that takes 50 ms makes the first step longer than the 0.1 s limit: it is
    abandoned inside the solver library (scipy, Fortran through f2py, SUNDIALS, our own)."""
    real = flow_module.Objective.loss_grad

    def slow(self, theta):
        import time

        time.sleep(0.05)
        return real(self, theta)

    monkeypatch.setattr(flow_module.Objective, "loss_grad", slow)
    exp = Experiment().with_changes(
        dataset={"n_samples": 60}, network={"hidden": (4,)}, probe={"stiffness_every": 0},
        solver={"method": method}, stop={"t_end": 1e6, "target_loss": None,
                                         "max_wall_time": 0.1})
    run = Run(exp)
    try:
        report = run.run_to_end()
    finally:
        run.close()
    assert report.status == "stopped"
    assert re.fullmatch(rf"reached the wall-time limit 0\.1 s during a step of {method}, which "
                        r"was abandoned \(after step \d\)", report.message)
    assert report.final.wall < 0.5


@pytest.mark.parametrize("where", ["building", "reporting"])
def test_a_memory_error_in_the_worker_is_reported_as_an_error_message(where, monkeypatch):
    """The worker's loop, driven in this process over a real pipe."""
    from multiprocessing import Pipe

    from odeprop.core import worker

    def no_memory(*args, **kwargs):
        raise MemoryError

    target = "odeprop.core.run.Run.__init__" if where == "building" else \
        "odeprop.core.run.Run.report"
    monkeypatch.setattr(target, no_memory)
    parent, child = Pipe()
    exp = Experiment().with_changes(stop={"max_steps": 3})
    worker._run_worker(child, exp.to_dict(), None, False)
    messages = []
    while parent.poll(1):
        try:
            messages.append(parent.recv())
        except EOFError:  # the worker closed its end
            break
    assert messages[-1] == ("error", "the worker ran out of memory; use a smaller network or "
                                     "less data")
