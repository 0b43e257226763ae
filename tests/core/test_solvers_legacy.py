"""scipy's legacy ode integrators behind the Stepper interface, checked on a real gradient flow."""

import gc
import warnings

import numpy as np
import pytest
from scipy.integrate import ode, solve_ivp

from odeprop.core.config import SolverConfig
from odeprop.core.flow import EvalCounts, GradientFlow
from odeprop.core.solvers.base import SolverFailure
from odeprop.core.solvers.legacy import LegacyOdeStepper

from faulty_flows import BoomAfter, NanAfter

T_END = 5.0
TOL = {"rtol": 1e-6, "atol": 1e-9}
COMBOS = [
    (method, mode)
    for method, modes in [
        ("vode-adams", ("none", "exact", "fd")), ("vode-bdf", ("exact", "fd", "none")),
        ("zvode-adams", ("none", "exact", "fd")), ("zvode-bdf", ("fd", "exact", "none")),
        ("lsoda", ("exact", "fd")), ("dopri5", ("none",)), ("dop853", ("none",)),
    ]
    for mode in modes
]


def reference(flow, theta0, t_end=T_END):
    """A tight DOP853 solution on an uncounted copy of the flow."""
    quiet = GradientFlow(flow.objective)
    sol = solve_ivp(quiet.rhs, (0, t_end), theta0, method="DOP853", rtol=1e-10, atol=1e-12)
    return sol.y[:, -1]


def run(flow, theta0, t_end=T_END, **settings):
    """Step to the end; the stepper (closed) and the (t, h, order) seen after each step."""
    stepper = LegacyOdeStepper(flow, theta0, SolverConfig(**{**TOL, **settings}), t_end)
    seen = []
    try:
        while not stepper.finished:
            stepper.step()
            seen.append((stepper.t, stepper.h, stepper.stats.order))
    finally:
        stepper.close()
    return stepper, seen


class QuadraticFlow:
    """The gradient flow of L(θ) = ½ Σ dᵢθᵢ²: stiff when the dᵢ are far apart."""

    def __init__(self, d):
        self.d = np.asarray(d, dtype=float)
        self.counts = EvalCounts()

    def rhs(self, t, theta):
        self.counts.grad += 1
        return -self.d * theta

    def jac(self, t, theta):
        self.counts.hess += 1
        return -np.diag(self.d)

    def jvp(self, theta, v):
        self.counts.hvp += 1
        return -(self.d * v.T).T


@pytest.mark.parametrize(("method", "mode"), COMBOS)
def test_steps_to_t_end_and_agrees_with_reference(small_flow, method, mode):
    flow, theta0 = small_flow
    stepper, seen = run(flow, theta0, method=method, jacobian=mode)
    ts = np.array([t for t, _, _ in seen])
    hs = np.array([h for _, h, _ in seen])
    assert stepper.t == pytest.approx(T_END, rel=1e-12) and stepper.finished
    assert np.all(np.diff(ts) > 0) and np.all(hs > 0)
    np.testing.assert_allclose(hs, np.diff(np.r_[0.0, ts]), rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(stepper.theta, reference(flow, theta0), atol=2e-6)
    loss = flow.objective.loss
    assert loss(stepper.theta) < loss(theta0) - 0.05
    s = stepper.stats
    assert s.accepted == len(seen)
    assert s.order is not None and s.order >= 1
    assert stepper.theta.dtype == float  # zvode's complex state comes back real


@pytest.mark.parametrize("method", ["vode-bdf", "zvode-bdf", "vode-adams"])
def test_vode_counters_come_from_iwork(small_flow, method):
    flow, theta0 = small_flow
    stepper = LegacyOdeStepper(flow, theta0, SolverConfig(method=method, jacobian="exact", **TOL),
                               T_END)
    calls = 0
    while not stepper.finished:
        stepper.step()
        calls += 1
        iwork = stepper._ode._integrator.iwork
        assert stepper.stats.accepted == iwork[10] == calls  # NST
    s = stepper.stats
    assert s.rejected >= s.newton_failures >= 0
    assert s.newton_iters >= s.accepted  # at least one corrector iteration per step
    assert s.lu_decomps >= s.jac_evals >= 1  # chord iteration refactorises without a new J
    stepper.close()


def test_vode_stepwise_equals_one_integrate_call(small_flow):
    """Stepping with ITASK 5 (TCRIT = t_end) takes exactly the steps of one integrate(t_end)
    call with TCRIT (ITASK 4): same final state, same counters, same gradient calls."""
    flow, theta0 = small_flow
    grads = flow.counts.grad
    stepper, _ = run(flow, theta0, method="vode-bdf", jacobian="exact")
    stepwise_grads = flow.counts.grad - grads
    s = stepper.stats

    whole = ode(flow.rhs, flow.jac).set_integrator(
        "vode", method="bdf", with_jacobian=True, order=5, nsteps=10**9, **TOL)
    whole.set_initial_value(theta0, 0.0)
    whole._integrator.call_args[2] = 4
    whole._integrator.rwork[0] = T_END
    grads = flow.counts.grad
    y = whole.integrate(T_END)
    assert whole.successful() and whole.t == T_END
    np.testing.assert_array_equal(stepper.theta, y)
    assert flow.counts.grad - grads == stepwise_grads
    nst, nfe, nje, nqu = whole._integrator.iwork[10:14]
    nlu, nni, ncfn, netf = whole._integrator.iwork[18:22]
    assert (s.accepted, s.jac_evals, s.lu_decomps, s.newton_iters, s.rejected) == (
        nst, nje, nlu, nni, ncfn + netf)
    assert nfe == stepwise_grads


def test_jacobian_modes_decide_who_computes_the_jacobian(small_flow):
    flow, theta0 = small_flow
    counts = {}
    for mode in ("exact", "fd", "none"):
        before = flow.counts.copy()
        stepper, _ = run(flow, theta0, method="vode-bdf", jacobian=mode)
        counts[mode] = (flow.counts.grad - before.grad, flow.counts.hess - before.hess,
                        stepper.stats)
    grad_exact, hess_exact, stats_exact = counts["exact"]
    grad_fd, hess_fd, stats_fd = counts["fd"]
    assert hess_exact == stats_exact.jac_evals > 0
    assert hess_fd == 0 and stats_fd.jac_evals > 0
    # each difference-quotient Jacobian costs one gradient per parameter, through our rhs
    assert grad_fd - grad_exact >= stats_fd.jac_evals * flow.n - 5
    grad_none, hess_none, stats_none = counts["none"]
    assert hess_none == 0 and stats_none.jac_evals == 0 and stats_none.lu_decomps == 0
    assert stats_none.newton_iters is None  # vode does not count functional iterations


@pytest.mark.parametrize("method", ["vode-bdf", "vode-adams", "zvode-bdf"])
def test_max_order_caps_the_order_used(small_flow, method):
    flow, theta0 = small_flow
    _, free = run(flow, theta0, method=method, jacobian="exact")
    assert max(order for _, _, order in free) > 2
    _, capped = run(flow, theta0, method=method, jacobian="exact", max_order=2)
    assert max(order for _, _, order in capped) <= 2


@pytest.mark.parametrize("method", ["vode-bdf", "zvode-adams", "lsoda", "dopri5", "dop853"])
def test_max_step_is_honoured(method):
    flow = QuadraticFlow([1.0, 3.0])
    _, seen = run(flow, np.ones(2), t_end=10.0, method=method, max_step=0.25)
    assert max(h for _, h, _ in seen) <= 0.25 * (1 + 1e-12)


def test_first_step_is_used_by_dopri5():
    _, seen = run(QuadraticFlow([1.0, 3.0]), np.ones(2), method="dopri5", first_step=1e-3)
    assert seen[0][1] == pytest.approx(1e-3, rel=1e-12)


def test_lsoda_reports_its_method_and_switches_on_a_stiff_flow():
    flow = QuadraticFlow([1.0, 1e4])
    stepper, _ = run(flow, np.ones(2), t_end=10.0, method="lsoda", jacobian="exact")
    s = stepper.stats
    assert s.method_in_use == "BDF" and s.method_switches >= 1
    assert s.jac_evals == s.lu_decomps == flow.counts.hess > 0
    assert s.rejected is None and s.newton_iters is None and s.newton_failures is None
    np.testing.assert_allclose(stepper.theta, [np.exp(-10.0), 0.0], rtol=1e-3, atol=1e-8)


@pytest.mark.parametrize(("method", "first_step"),
                         [("dopri5", None), ("dopri5", 0.5), ("dop853", None), ("dop853", 3.0)])
def test_dopri_live_counts_equal_the_integrators_final_iwork(small_flow, method, first_step):
    flow, theta0 = small_flow
    stepper, seen = run(flow, theta0, method=method, first_step=first_step)
    final = stepper.integrator_counts
    assert final is not None and not stepper._pump._thread.is_alive()
    assert stepper.stats.accepted == final["naccpt"] == len(seen)
    assert stepper.stats.rejected == final["nstep"] - final["naccpt"]
    # Hairer's NREJCT leaves out rejections before the first accepted step
    assert stepper.stats.rejected >= final["nrejct"]
    # every gradient call went through our counter (NFCN books 2 start-up calls even when
    # first_step spares the initial-step guess)
    assert stepper._pump.calls == final["nfev"] - (first_step is not None)


def test_dopri5_takes_the_same_steps_as_scipys_integrate(small_flow):
    flow, theta0 = small_flow
    stepper, _ = run(flow, theta0, method="dopri5")
    whole = ode(flow.rhs).set_integrator("dopri5", nsteps=10**9, **TOL)
    whole.set_initial_value(theta0, 0.0)
    np.testing.assert_array_equal(stepper.theta, whole.integrate(T_END))


def test_dopri5_close_stops_the_thread_mid_run(small_flow):
    flow, theta0 = small_flow
    stepper = LegacyOdeStepper(flow, theta0, SolverConfig(method="dopri5", **TOL), T_END)
    for _ in range(3):
        stepper.step()
    thread = stepper._pump._thread
    assert thread.is_alive() and thread.daemon and not stepper.finished
    stepper.close()
    assert not thread.is_alive()
    stepper.close()  # idempotent
    with pytest.raises(SolverFailure, match="closed"):
        stepper.step()


def test_forgotten_dopri5_stepper_does_not_leave_its_thread_behind(small_flow):
    flow, theta0 = small_flow
    stepper = LegacyOdeStepper(flow, theta0, SolverConfig(method="dop853", **TOL), T_END)
    stepper.step()
    thread = stepper._pump._thread
    del stepper
    gc.collect()
    thread.join(5.0)
    assert not thread.is_alive()


@pytest.mark.parametrize("method", ["dopri5", "dop853"])
def test_stiffness_detection_is_a_solver_failure(method):
    stepper = LegacyOdeStepper(QuadraticFlow([1.0, 1e4]), np.ones(2),
                               SolverConfig(method=method, **TOL), 10.0)
    with pytest.raises(SolverFailure, match=rf"^{method}: problem is probably stiff"):
        while not stepper.finished:
            stepper.step()
    assert 0 < stepper.t < 10.0
    stepper.close()


@pytest.mark.parametrize("method", ["vode-bdf", "zvode-adams", "lsoda", "dopri5", "dop853"])
def test_nan_gradient_is_a_solver_failure_not_a_warning_or_a_hang(small_flow, method):
    flow, theta0 = small_flow
    bad = NanAfter(flow.objective)
    stepper = LegacyOdeStepper(bad, theta0, SolverConfig(method=method, **TOL), T_END)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(SolverFailure, match="gradient is not finite") as info:
            while not stepper.finished:
                stepper.step()
    assert not caught
    assert info.value.args[0].startswith(method.split("-")[0] + ":")
    assert 0 < stepper.t <= 0.5 and np.all(np.isfinite(stepper.theta))
    with pytest.raises(SolverFailure, match="gradient is not finite"):  # failed stays failed
        stepper.step()
    stepper.close()


@pytest.mark.parametrize("method", ["vode-bdf", "lsoda", "dopri5"])
def test_exception_in_the_gradient_becomes_a_solver_failure(small_flow, method):
    flow, theta0 = small_flow
    stepper = LegacyOdeStepper(BoomAfter(flow.objective), theta0,
                               SolverConfig(method=method, **TOL), T_END)
    with pytest.raises(SolverFailure, match="boom in the gradient.*ZeroDivisionError"):
        while not stepper.finished:
            stepper.step()
    stepper.close()


def test_two_vode_runs_in_one_process_fail_clearly(small_flow):
    flow, theta0 = small_flow
    config = SolverConfig(method="vode-bdf", **TOL)
    first = LegacyOdeStepper(flow, theta0, config, T_END)
    first.step()
    second = LegacyOdeStepper(flow, theta0, config, T_END)
    second.step()
    with pytest.raises(SolverFailure, match="another vode integration"):
        first.step()
    second.step()  # the newer run owns the Fortran state and carries on
    first.close()
    second.close()


def test_stepping_past_the_end_is_refused():
    stepper = LegacyOdeStepper(QuadraticFlow([1.0]), np.ones(1),
                               SolverConfig(method="vode-bdf", **TOL), 1.0)
    while not stepper.finished:
        stepper.step()
    assert stepper.t == 1.0
    with pytest.raises(SolverFailure, match="already reached t_end"):
        stepper.step()
    stepper.close()


def test_lsoda_max_order_caps_its_bdf_order():
    stepper = LegacyOdeStepper(QuadraticFlow([1.0, 1e4]), np.ones(2),
                               SolverConfig(method="lsoda", max_order=2, **TOL), 10.0)
    bdf_orders = []
    while not stepper.finished:
        stepper.step()
        if stepper.stats.method_in_use == "BDF":
            bdf_orders.append(stepper.stats.order)
    stepper.close()
    assert bdf_orders and max(bdf_orders) == 2
