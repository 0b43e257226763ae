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
