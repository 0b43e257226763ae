"""One clock for every method: the forward passes a method's steps and stop test rely on are timed.

Every training-set forward pass is recorded with whether the run's clock (``solver_wall``) was
running. Before the fair clock, the loss at each accepted point was computed outside it and
gradient descent and Adam reused that forward pass in their next gradient, so their timed steps
held no forward pass at all, while RK45 and ros2-gn paid theirs inside.
"""

from __future__ import annotations

import pytest

from odeprop.core import run as run_module
from odeprop.core.config import Experiment
from odeprop.core.run import Problem, Run

SOLVERS = {
    "gd": {"method": "gd", "learning_rate": 0.5},
    "adam": {"method": "adam", "learning_rate": 0.01},
    "RK45": {"method": "RK45", "rtol": 1e-4, "atol": 1e-4},
    "ros2-gn": {"method": "ros2-gn", "rtol": 1e-2, "atol": 1e-2},
}


def _experiment(solver: dict, probe_every: int) -> Experiment:
    return Experiment().with_changes(
        dataset={"kind": "moons", "n_samples": 120},
        network={"hidden": (8,), "activations": ("tanh",), "loss": "bce"},
        solver=solver, stop={"t_end": 1e9, "target_loss": None, "max_steps": 25},
        probe={"stiffness_every": probe_every, "stiffness_budget": 0.0, "metrics_every": 5})


def _forward_passes(monkeypatch, experiment: Experiment) -> tuple[int, int, Run]:
    """(training-set forward passes on the clock, off it, the run) over a whole run."""
    clocks = []

    class Watched(run_module.Clock):
        def __init__(self):
            super().__init__()
            clocks.append(self)

    monkeypatch.setattr(run_module, "Clock", Watched)
    problem = Problem.build(experiment)
    net, X = problem.net, problem.dataset.X_train
    counts = {True: 0, False: 0}
    real_forward, real_hessian = net.forward, net.hessian
    probing = []

    def forward(theta, data):
        # the test set's metrics and the probe's dense Hessian (its own pass, which nothing
        # keeps) are measurements, not work a method can reuse
        if data is X and not probing:
            counts[any(c.running for c in clocks)] += 1
        return real_forward(theta, data)

    def hessian(*args, **kwargs):
        probing.append(True)
        try:
            return real_hessian(*args, **kwargs)
        finally:
            probing.pop()

    monkeypatch.setattr(net, "forward", forward)
    monkeypatch.setattr(net, "hessian", hessian)
    run = Run(experiment, problem)
    run.start()
    while not run.done:
        run.step()
    run.close()
    return counts[True], counts[False], run


@pytest.mark.parametrize("probe_every", [0, 3])
@pytest.mark.parametrize("method", SOLVERS)
def test_every_training_forward_pass_is_on_the_clock(monkeypatch, method, probe_every):
    timed, untimed, run = _forward_passes(monkeypatch, _experiment(SOLVERS[method],
                                                                   probe_every))
    steps = run.last.step
    assert run.last.status == "stopped" and steps == 25
    assert untimed == 0  # no method gets a forward pass (or a gradient) for free
    assert timed >= steps + 1  # the loss at θ0 and at every accepted point, at least
    assert run.solver_wall > 0 and run.clock.cpu > 0


@pytest.mark.parametrize("method", ["gd", "adam"])
def test_an_optimiser_pays_one_forward_pass_per_step(monkeypatch, method):
    """GD and Adam: one forward pass per point, its loss for the stop test and its gradient
    for the next step from the same pass, all of it timed (a real training loop's work)."""
    timed, untimed, run = _forward_passes(monkeypatch, _experiment(SOLVERS[method], 0))
    assert (timed, untimed) == (run.last.step + 1, 0)
    assert run.last.n_grad == run.last.step


def _iris_race(solver: dict) -> Experiment:
    return Experiment().with_changes(
        dataset={"kind": "iris"},
        network={"hidden": (16,), "activations": ("tanh",), "loss": "softmax_ce"},
        solver=solver, stop={"t_end": 1e9, "target_loss": 1e-2},
        probe={"stiffness_every": 0, "metrics_every": 10**9})


def _to_end(experiment: Experiment, problem: Problem) -> Run:
    run = Run(experiment, problem)
    run.start()
    while not run.done:
        run.step()
    run.close()
    return run


@pytest.mark.parametrize("method", ["ros2-gn", "cvode-gmres", "adam"])
def test_the_warm_up_steps_the_method_on_a_few_samples_and_changes_nothing(monkeypatch, method):
    """The warm-up before a timed run (a fresh worker's first calls) takes its two steps on
    8 training samples, once per process and setting, and the timed run that follows takes
    exactly the steps, gradients and weights it takes without one."""
    monkeypatch.setattr(run_module, "_warm", set())
    solver = {"ros2-gn": {"method": "ros2-gn", "rtol": 3e-2, "atol": 3e-2,
                          "jacobian": "gauss-newton"},
              "cvode-gmres": {"method": "cvode-gmres", "rtol": 1e-3, "atol": 1e-3},
              "adam": {"method": "adam", "learning_rate": 0.5}}[method]
    experiment = _iris_race(solver)
    problem = Problem.build(experiment)
    theta0 = problem.theta0.copy()
    plain = _to_end(experiment, problem)
    sizes = []
    real_loss_grad = problem.net.loss_grad

    def loss_grad(theta, X, T, *args, **kwargs):
        sizes.append(X.shape[0])
        return real_loss_grad(theta, X, T, *args, **kwargs)

    monkeypatch.setattr(problem.net, "loss_grad", loss_grad)
    assert run_module.warm_up(experiment, problem) == run_module.WARM_UP_STEPS
    assert sizes and set(sizes) == {run_module.WARM_UP_SAMPLES}  # never the whole set
    assert run_module.warm_up(experiment, problem) is None  # once per process and setting
    assert run_module.warm_up(experiment.with_changes(solver={"rtol": 1e-2}), problem) == 2
    monkeypatch.setattr(problem.net, "loss_grad", real_loss_grad)
    warmed = _to_end(experiment, problem)
    assert (problem.theta0 == theta0).all() and problem.dataset.X_train.shape[0] > 8
    assert warmed.last.status == plain.last.status == "finished"
    assert (warmed.last.step, warmed.last.n_grad, warmed.last.n_hvp) == \
        (plain.last.step, plain.last.n_grad, plain.last.n_hvp)
    assert (warmed.theta == plain.theta).all()


def test_a_failing_warm_up_is_left_to_the_run_to_report(monkeypatch):
    """The warm-up is best effort: a fault in it never reaches the caller."""
    monkeypatch.setattr(run_module, "_warm", set())
    experiment = _iris_race({"method": "adam", "learning_rate": 0.5})
    problem = Problem.build(experiment)

    def broken(self):
        raise FloatingPointError("a fault in the method")

    monkeypatch.setattr(run_module.Run, "step", broken)
    assert run_module.warm_up(experiment, problem) is None
