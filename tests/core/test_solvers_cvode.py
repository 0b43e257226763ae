"""SUNDIALS CVODE (scikit-sundae) behind the Stepper interface, on a real gradient flow."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from odeprop.core.config import SolverConfig
from odeprop.core.flow import EvalCounts, GradientFlow
from odeprop.core.solvers.base import SolverFailure
from odeprop.core.solvers.cvode import CvodeStepper

from faulty_flows import BoomAfter, NanAfter

T_END = 5.0
TOL = {"rtol": 1e-6, "atol": 1e-9}
COMBOS = [("cvode-dense", "exact"), ("cvode-dense", "fd"),
          ("cvode-gmres", "exact"), ("cvode-gmres", "fd")]


def reference(flow, theta0):
    quiet = GradientFlow(flow.objective)
    sol = solve_ivp(quiet.rhs, (0, T_END), theta0, method="DOP853", rtol=1e-10, atol=1e-12)
    return sol.y[:, -1]


def run(flow, theta0, **settings):
    stepper = CvodeStepper(flow, theta0, SolverConfig(**{**TOL, **settings}), T_END)
    seen = []
    while not stepper.finished:
        stepper.step()
        seen.append((stepper.t, stepper.h))
    stepper.close()
    return stepper, seen


class BoomHvp(GradientFlow):
    def jvp(self, theta, v):
        raise ValueError("boom in the Hessian-vector product")


@pytest.mark.parametrize(("method", "mode"), COMBOS)
def test_steps_to_t_end_and_agrees_with_reference(small_flow, method, mode):
    flow, theta0 = small_flow
    stepper, seen = run(flow, theta0, method=method, jacobian=mode)
    ts = np.array([t for t, _ in seen])
    assert stepper.t == pytest.approx(T_END, rel=1e-12) and stepper.finished
    assert np.all(np.diff(ts) > 0)
    np.testing.assert_allclose([h for _, h in seen], np.diff(np.r_[0.0, ts]), rtol=1e-12)
    np.testing.assert_allclose(stepper.theta, reference(flow, theta0), atol=2e-6)
    assert flow.objective.loss(stepper.theta) < flow.objective.loss(theta0) - 0.05
    s = stepper.stats
    assert s.accepted == len(seen) > 10
    assert s.order is s.rejected is s.newton_iters is s.lu_decomps is None  # not exposed


def test_dense_exact_evaluates_the_hessian_and_nothing_else(small_flow):
    flow, theta0 = small_flow
    stepper, _ = run(flow, theta0, method="cvode-dense", jacobian="exact")
    assert flow.counts.hess == stepper.stats.jac_evals > 0
    assert flow.counts.hvp == 0


def test_gmres_exact_uses_hessian_vector_products_only(small_flow):
    flow, theta0 = small_flow
    stepper, _ = run(flow, theta0, method="cvode-gmres", jacobian="exact")
    assert flow.counts.hvp > 0
    assert flow.counts.hess == 0 and stepper.stats.jac_evals == 0


@pytest.mark.parametrize("method", ["cvode-dense", "cvode-gmres"])
def test_fd_mode_calls_neither_hessian_nor_hvp(small_flow, method):
    flow, theta0 = small_flow
    run(flow, theta0, method=method, jacobian="exact")
    exact_grads = flow.counts.grad
    flow.counts = EvalCounts()
    run(flow, theta0, method=method, jacobian="fd")
    assert flow.counts.hess == 0 and flow.counts.hvp == 0
    assert flow.counts.grad > exact_grads  # the difference quotients go through our rhs


def test_step_size_settings_are_honoured(small_flow):
    flow, theta0 = small_flow
    _, seen = run(flow, theta0, method="cvode-gmres", max_step=0.1, first_step=1e-4)
    assert seen[0][1] == pytest.approx(1e-4, rel=1e-12)
    assert max(h for _, h in seen) <= 0.1 * (1 + 1e-12)


@pytest.mark.parametrize("method", ["cvode-dense", "cvode-gmres"])
def test_nan_gradient_is_a_solver_failure_not_a_hang(small_flow, method):
    flow, theta0 = small_flow
    stepper = CvodeStepper(NanAfter(flow.objective), theta0, SolverConfig(method=method, **TOL),
                           T_END)
    with pytest.raises(SolverFailure, match="^CVODE: the gradient is not finite"):
        while not stepper.finished:
            stepper.step()
    assert 0 < stepper.t <= 0.5 and np.all(np.isfinite(stepper.theta))
    with pytest.raises(SolverFailure, match="gradient is not finite"):  # failed stays failed
        stepper.step()


@pytest.mark.parametrize(("flow_class", "message"), [
    (BoomAfter, "boom in the gradient.*ZeroDivisionError"),
    (BoomHvp, "boom in the Hessian-vector product.*ValueError"),
])
def test_exceptions_in_callbacks_become_solver_failures(small_flow, flow_class, message):
    flow, theta0 = small_flow
    config = SolverConfig(method="cvode-gmres", jacobian="exact", **TOL)
    stepper = CvodeStepper(flow_class(flow.objective), theta0, config, T_END)
    with pytest.raises(SolverFailure, match=message) as info:
        while not stepper.finished:
            stepper.step()
    assert isinstance(info.value.__cause__, ZeroDivisionError | ValueError)


def test_close_is_idempotent_and_final(small_flow):
    flow, theta0 = small_flow
    stepper = CvodeStepper(flow, theta0, SolverConfig(method="cvode-dense", **TOL), T_END)
    stepper.step()
    stepper.close()
    stepper.close()
    with pytest.raises(SolverFailure, match="closed"):
        stepper.step()


def test_stepping_past_the_end_is_refused(small_flow):
    flow, theta0 = small_flow
    stepper = CvodeStepper(flow, theta0, SolverConfig(method="cvode-gmres", **TOL), 0.5)
    while not stepper.finished:
        stepper.step()
    assert stepper.t == 0.5
    with pytest.raises(SolverFailure, match="already reached t_end"):
        stepper.step()
