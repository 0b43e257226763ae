"""solve_ivp classes stepped one at a time reproduce solve_ivp itself, with honest counters."""

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from odeprop.core.config import SolverConfig
from odeprop.core.solvers import make_stepper

T_END = 5.0


def _step_to_end(flow, theta0, **settings):
    stepper = make_stepper(flow, theta0, SolverConfig(**settings), T_END)
    steps = 0
    while not stepper.finished:
        stepper.step()
        steps += 1
    return stepper, steps


@pytest.mark.parametrize("method", ["RK23", "RK45", "DOP853", "Radau", "BDF", "LSODA"])
def test_stepping_reproduces_solve_ivp(small_flow, method):
    flow, theta0 = small_flow
    stepper, steps = _step_to_end(flow, theta0, method=method, rtol=1e-5, atol=1e-7)
    kwargs = {"jac": flow.jac} if method in ("Radau", "BDF", "LSODA") else {}
    ref = solve_ivp(flow.rhs, (0, T_END), theta0, method=method, rtol=1e-5, atol=1e-7, **kwargs)
    assert stepper.t == ref.t[-1]
    np.testing.assert_array_equal(stepper.theta, ref.y[:, -1])
    assert steps == stepper.stats.accepted == len(ref.t) - 1
    assert stepper.solver.nfev == ref.nfev
    assert stepper.solver.njev == ref.njev
    assert stepper.solver.nlu == ref.nlu


@pytest.mark.parametrize("method,stages", [("RK23", 3), ("RK45", 6), ("DOP853", 12)])
@pytest.mark.parametrize("first_step,initial_calls", [(None, 2), (1.0, 1)])
def test_rk_counters_are_consistent(small_flow, method, stages, first_step, initial_calls):
    """nfev = 2 + stages·(accepted + rejected); 1 + … when the first step is given (no
    initial step-size selection call)."""
    flow, theta0 = small_flow
    stepper, _ = _step_to_end(flow, theta0, method=method, rtol=1e-8, atol=1e-10,
                              first_step=first_step)
    s = stepper.stats
    if first_step is not None:
        assert s.rejected > 0  # the huge first step must be rejected at least once
    assert stepper.solver.nfev == initial_calls + stages * (s.accepted + s.rejected)
    # our own count of gradient calls agrees with scipy's for explicit methods
    assert flow.counts.grad == stepper.solver.nfev


def test_fd_jacobian_costs_gradients_not_hessians(small_flow):
    flow, theta0 = small_flow
    _step_to_end(flow, theta0, method="BDF", jacobian="fd", rtol=1e-4, atol=1e-6)
    assert flow.counts.hess == 0
    # scipy's nfev misses num_jac's calls; ours does not: P gradient calls per Jacobian at least
    assert flow.counts.grad > flow.n


def test_exact_jacobian_uses_hessians(small_flow):
    flow, theta0 = small_flow
    stepper, _ = _step_to_end(flow, theta0, method="BDF", rtol=1e-4, atol=1e-6)
    assert flow.counts.hess == stepper.stats.jac_evals == stepper.solver.njev >= 1


def test_bdf_max_order_is_respected_and_restored(small_flow):
    from scipy.integrate._ivp import bdf

    flow, theta0 = small_flow
    stepper = make_stepper(flow, theta0, SolverConfig(method="BDF", max_order=2, rtol=1e-6,
                                                      atol=1e-8), 50.0)
    orders = set()
    while not stepper.finished:
        stepper.step()
        orders.add(stepper.stats.order)
    assert max(orders) == 2
    assert bdf.MAX_ORDER == 5


def test_bdf_newton_counters(small_flow):
    flow, theta0 = small_flow
    stepper, _ = _step_to_end(flow, theta0, method="BDF", rtol=1e-6, atol=1e-8)
    s = stepper.stats
    assert s.newton_iters >= s.accepted  # at least one Newton iteration per accepted step
    assert s.rejected >= 0 and s.newton_failures >= 0


def test_lsoda_reports_method_and_order(small_flow):
    flow, theta0 = small_flow
    stepper, _ = _step_to_end(flow, theta0, method="LSODA", rtol=1e-6, atol=1e-8)
    s = stepper.stats
    assert s.method_in_use in ("Adams", "BDF")
    assert 1 <= s.order <= 12
    assert s.rejected is None and s.newton_failures is None  # LSODA keeps no such counts


def test_lsoda_max_order_caps_bdf_order(small_flow):
    flow, theta0 = small_flow
    stepper = make_stepper(flow, theta0, SolverConfig(method="LSODA", max_order=1, rtol=1e-6,
                                                      atol=1e-8), 200.0)
    while not stepper.finished:
        stepper.step()
        if stepper.stats.method_in_use == "BDF":
            assert stepper.stats.order == 1


@pytest.mark.parametrize("method", ["gd", "momentum", "adam"])
def test_optimisers_advance_time_by_the_learning_rate(small_flow, method):
    flow, theta0 = small_flow
    stepper = make_stepper(flow, theta0, SolverConfig(method=method, learning_rate=0.25), 2.0)
    while not stepper.finished:
        stepper.step()
    assert stepper.stats.accepted == 8
    assert stepper.t == pytest.approx(2.0)
    assert flow.counts.grad == 8


def test_gd_is_explicit_euler(small_flow):
    flow, theta0 = small_flow
    stepper = make_stepper(flow, theta0, SolverConfig(method="gd", learning_rate=0.1), 1.0)
    stepper.step()
    np.testing.assert_allclose(stepper.theta, theta0 + 0.1 * flow.rhs(0, theta0), rtol=0,
                               atol=1e-15)
