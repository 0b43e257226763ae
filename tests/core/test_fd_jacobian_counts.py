"""The gradient calls a finite-difference Jacobian costs are counted apart from the steps'.

Checked against a counting wrapper around the flow's right-hand side that recognises those calls
on its own: scipy's BDF and Radau build the Jacobian in Python (``num_jac`` on the stack); the
Fortran codes and CVODE perturb one weight at a time around the point they last evaluated.
"""

import sys

import numpy as np
import pytest

from odeprop.core.config import Experiment
from odeprop.core.flow import GradientFlow
from odeprop.core.run import Run

_SMALL = """
[dataset]
kind = "moons"
n_samples = 60
[network]
hidden = [4]
activations = ["tanh"]
loss = "bce"
[solver]
method = "BDF"
[stop]
t_end = 1000.0
target_loss = 0.05
[probe]
stiffness_every = 0
"""


class _FdSpotter:
    """Counts every right-hand-side call, and those that belong to a finite-difference
    Jacobian: made from inside scipy's ``num_jac``/``jac_wrapped``, or at a point that differs
    from the last ordinary call's in exactly one weight."""

    def __init__(self, original):
        self.original = original
        self.calls = self.fd_calls = 0
        self.anchor = None

    def __call__(self, flow, t, theta):
        self.calls += 1
        point = np.array(np.real(theta), dtype=float)
        frame, in_num_jac = sys._getframe(1), False
        while frame is not None and not in_num_jac:
            in_num_jac = frame.f_code.co_name in ("num_jac", "jac_wrapped")
            frame = frame.f_back
        if in_num_jac or (self.anchor is not None
                          and np.count_nonzero(point != self.anchor) == 1):
            self.fd_calls += 1
        else:
            self.anchor = point
        return self.original(flow, t, theta)


@pytest.mark.parametrize("method", ["BDF", "Radau", "LSODA", "vode-bdf", "zvode-bdf", "lsoda",
                                    "cvode-dense"])
def test_fd_jacobian_calls_match_a_counting_wrapper(method, monkeypatch):
    spotter = _FdSpotter(GradientFlow.rhs)
    monkeypatch.setattr(GradientFlow, "rhs", lambda flow, t, theta: spotter(flow, t, theta))
    experiment = Experiment.from_toml(_SMALL).with_changes(
        solver={"method": method, "jacobian": "fd"})
    run = Run(experiment)
    final = run.run_to_end().final
    assert final.status == "finished", final.message
    assert final.n_grad == spotter.calls
    assert final.n_grad_fd == spotter.fd_calls > 0
    assert final.n_grad_fd < final.n_grad


@pytest.mark.parametrize("method", ["BDF", "vode-bdf", "cvode-dense", "cvode-gmres", "RK45"])
def test_exact_derivatives_spend_nothing_on_finite_differences(method):
    solver = {"method": method}
    if method != "RK45":
        solver["jacobian"] = "exact"
    final = Run(Experiment.from_toml(_SMALL).with_changes(solver=solver)).run_to_end().final
    assert final.status == "finished", final.message
    assert final.n_grad_fd == 0 < final.n_grad

