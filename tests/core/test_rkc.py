"""RKC (core/solvers/rkc.py): its scheme is RKC's, and as an engine method it follows the flow.

Sommeijer, Shampine & Verwer (1997): with damping 2/13 the s-stage second-order scheme is stable
on the negative real axis for h·λ ≤ β(s) ≈ 0.65·s², and R_s(z) = e^z + O(z³).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from odeprop.core.config import Experiment, SolverConfig
from odeprop.core.fidelity import FOLLOWS, RACE_REFERENCE, TrackedRun, stop_targets
from odeprop.core.flow import EvalCounts
from odeprop.core.run import Problem, Run
from odeprop.core.solvers import make_stepper
from odeprop.core.solvers.rkc import rkc_step, stability_bound, stages_for

from faulty_flows import BoomAfter, NanAfter


def _amplification(s: int, z: np.ndarray) -> np.ndarray:
    """R_s(z): one step of the scheme itself on y' = λy (hλ = z, from y = 1), for many z."""
    return rkc_step(lambda y: z * y, np.ones_like(z), z.copy(), 1.0, s)


def _interval(s: int) -> float:
    """The largest β with |R_s(−x)| ≤ 1 on [0, β]: the first crossing on a fine grid past
    0.8·s², then bisected to 1e-12."""
    xs = np.linspace(0.0, 0.8 * s * s + 2.0, 20_000)
    outside = np.nonzero(np.abs(_amplification(s, -xs)) > 1 + 1e-12)[0]
    lo, hi = xs[outside[0] - 1], xs[outside[0]]
    while hi - lo > 1e-12 * hi:
        mid = np.array([0.5 * (lo + hi)])
        lo, hi = (mid[0], hi) if abs(_amplification(s, -mid)[0]) <= 1 + 1e-12 else (lo, mid[0])
    return lo


@pytest.mark.parametrize("s", [2, 3, 5, 9, 16, 40])
def test_the_bound_used_lies_inside_the_schemes_stability_interval(s):
    interval = _interval(s)
    assert stability_bound(s) <= interval
    assert stability_bound(s) >= 0.84 * interval  # and wastes little of it
    assert 0.62 <= stability_bound(s) / s**2 <= 0.66 or s < 5  # grows as 0.65·s²
    # damped: strictly inside the unit disc along the interval, away from its ends
    x = np.linspace(0.1, 0.9, 50) * stability_bound(s)
    assert np.abs(_amplification(s, -x)).max() < 1.0


def test_the_stage_count_is_the_fewest_whose_interval_holds_h_rho():
    for h_rho in (0.1, 1.9, 2.5, 17.0, 300.0, 4_000.0):
        s = stages_for(h_rho)
        assert stability_bound(s) >= h_rho
        assert s == 2 or stability_bound(s - 1) < h_rho


def _smooth_error(n: int, s: int = 5) -> float:
    """Global error at t = 1 of n fixed steps on a nonlinear ODE (a pendulum with friction)."""
    def f(y):
        return np.array([y[1], -np.sin(y[0]) - 0.3 * y[1]])
    exact = solve_ivp(lambda t, y: f(y), (0.0, 1.0), [1.0, 0.0], rtol=1e-12,
                      atol=1e-12).y[:, -1]
    y = np.array([1.0, 0.0])
    for _ in range(n):
        y = rkc_step(f, y, f(y), 1.0 / n, s)
    return float(np.linalg.norm(y - exact))


@pytest.mark.parametrize("s", [2, 4, 9])
def test_the_scheme_has_order_two(s):
    ratio = _smooth_error(20, s) / _smooth_error(40, s)
    assert ratio == pytest.approx(4.0, rel=0.12)  # 2², not 2 or 8


class _Objective:
    """Stands for the network's objective where the steppers ask about it."""

    def __init__(self, n):
        self.T = np.zeros((1, 1))
        self.net = type("Net", (), {"n_params": n})()


class _LinearFlow:
    """The gradient flow of L(y) = ½·yᵀDy: y' = −Dy, Jacobian −D, with the engine's counts."""

    def __init__(self, diagonal):
        self.d = np.asarray(diagonal, dtype=float)
        self.objective = _Objective(self.d.size)
        self.counts = EvalCounts()

    def rhs(self, t, y):
        self.counts.grad += 1
        return -self.d * y

    def jvp(self, y, v):
        self.counts.hvp += 1
        return -self.d * v


def _integrate(method: str, diagonal, t_end: float, tol: float, **settings):
    flow = _LinearFlow(diagonal)
    stepper = make_stepper(flow, np.ones(len(diagonal)), SolverConfig(
        method=method, rtol=tol, atol=tol, **settings), t_end)
    while not stepper.finished:
        stepper.step()
    return stepper, flow.counts


def test_on_a_stiff_linear_flow_rkc_needs_far_fewer_gradients_than_rk45():
    """y' = −diag(1, 1000)·y to t = 10 at tolerance 1e-6: RK45 is held at h ≤ 3.3/1000 (3,039
    steps, 21,248 gradients when measured), RKC is not (349 steps of up to 23 stages, 2,167)."""
    rkc, rkc_counts = _integrate("rkc", [1.0, 1000.0], 10.0, 1e-6)
    rk45, rk45_counts = _integrate("RK45", [1.0, 1000.0], 10.0, 1e-6)
    assert rkc_counts.grad * 5 < rk45_counts.grad
    assert rkc.stats.accepted * 5 < rk45.stats.accepted
    assert abs(rkc.theta[0] - math.exp(-10.0)) < 1e-5  # the slow mode, to the tolerance
    assert abs(rkc.theta[1]) < 1e-6  # the stiff one, damped


@pytest.mark.parametrize("jacobian, counted", [("fd", "grad"), ("exact", "hvp")])
def test_every_step_stays_inside_the_stability_bound_of_its_stage_count(jacobian, counted):
    flow = _LinearFlow([1.0, 50.0, 1000.0])
    stepper = make_stepper(flow, np.ones(3), SolverConfig(method="rkc", rtol=1e-4, atol=1e-4,
                                                          jacobian=jacobian), 5.0)
    seen = []
    while not stepper.finished:
        stepper.step()
        s = int(stepper.stats.method_in_use.split()[0])
        seen.append(s)
        assert stepper.stability_bound == stability_bound(s)
        assert stepper.h * 1000.0 <= stepper.stability_bound
    assert max(seen) > 2  # several stage counts were used
    if counted == "hvp":  # the spectral radius's products are Hv, not gradients
        assert flow.counts.hvp > 0 and stepper.fd_jacobian_grads == 0
    else:
        assert flow.counts.hvp == 0 and 0 < stepper.fd_jacobian_grads < flow.counts.grad


XOR = {"dataset": {"kind": "xor", "standardize": False},
       "network": {"hidden": [2], "activations": ["sigmoid"], "loss": "mse",
                   "output": "sigmoid", "init": "uniform", "init_seed": 1},
       "probe": {"stiffness_every": 0, "metrics_every": 1000000}}


def test_a_tight_rkc_run_agrees_with_a_tight_solve_ivp_solution():
    experiment = Experiment.from_dict({**XOR, "stop": {"t_end": 200.0},
                                       "solver": {"method": "rkc", "rtol": 1e-7,
                                                  "atol": 1e-7}})
    problem = Problem.build(experiment)
    report = Run(experiment, problem).run_to_end()
    assert report.status == "finished" and report.final.t == 200.0
    net, X, T = problem.net, problem.dataset.X_train, problem.T_train
    reference = solve_ivp(lambda t, y: -net.loss_grad(y, X, T)[1], (0.0, 200.0),
                          problem.theta0, method="Radau", rtol=1e-10, atol=1e-12)
    expected = reference.y[:, -1]
    assert np.linalg.norm(report.theta - expected) <= 1e-4 * np.linalg.norm(expected)
    assert not np.allclose(expected, problem.theta0, atol=1e-2)  # and the weights did move


IRIS = {"dataset": {"kind": "iris"},
        "network": {"hidden": [16], "activations": ["tanh"], "loss": "softmax_ce"},
        "stop": {"t_end": 1e9, "target_loss": 1e-2},
        "probe": {"stiffness_every": 0, "metrics_every": 1000000}}


def test_rkc_at_the_races_tolerance_follows_the_flow():
    """The README's flow-following rkc (3e-2) on iris, a small stand-in for digits: within
    10 % of the reference flow at the target."""
    experiment = Experiment.from_dict({**IRIS, "solver": {"method": "rkc", "rtol": 3e-2,
                                                          "atol": 3e-2}})
    run = TrackedRun(experiment, Problem.build(experiment), RACE_REFERENCE,
                     stop_targets(experiment.stop))
    report = run.run_to_end()
    assert report.status == "finished" and "target loss" in report.message
    assert report.flow.at_targets[-1] <= FOLLOWS and report.flow.follows


def test_a_run_reports_the_stage_count_bound_and_every_gradient():
    experiment = Experiment.from_dict({**IRIS, "solver": {"method": "rkc", "rtol": 3e-2,
                                                          "atol": 3e-2},
                                       "probe": {"stiffness_every": 1,
                                                 "stiffness_budget": 0.0}})
    run = Run(experiment)
    snaps = [run.start()]
    while not run.done:
        snaps.append(run.step())
    stages = [int(s.method_in_use.split()[0]) for s in snaps[1:]]
    assert [s.stability_bound for s in snaps[1:]] == [stability_bound(k) for k in stages]
    assert len(set(stages)) > 1
    # h·λmax (the probe's, at the step's end) against the bound of that step's stage count
    assert all(s.h_lambda_max <= s.stability_bound * 1.2 for s in snaps[1:])
    last = snaps[-1]
    attempts = last.step + last.rejected
    assert last.n_grad >= 1 + sum(stages) + last.n_grad_fd  # each stage's gradient counted
    assert last.n_grad <= 1 + attempts * max(stages) + last.n_grad_fd
    assert last.n_hvp == 0 and last.order == 2


def test_a_tolerance_schedule_changes_rkcs_steps():
    solver = {"method": "rkc", "rtol": 1e-4, "atol": 1e-4}
    plain = Run(Experiment.from_dict({**IRIS, "solver": solver})).run_to_end()
    scheduled = Run(Experiment.from_dict({**IRIS, "solver": {
        **solver, "schedule": [{"until_loss": 0.1, "rtol": 1e-1, "atol": 1e-1}]}})).run_to_end()
    assert plain.status == scheduled.status == "finished"
    assert scheduled.final.step < plain.final.step


@pytest.mark.parametrize("flow_class, words", [(NanAfter, "too small"),
                                               (BoomAfter, "ZeroDivisionError")])
def test_a_failing_gradient_ends_the_run_as_data(flow_class, words):
    experiment = Experiment.from_dict({**XOR, "stop": {"t_end": 100.0},
                                       "solver": {"method": "rkc"}})
    run = Run(experiment)
    run.flow = flow_class(run.train)
    run.stepper = make_stepper(run.flow, run.problem.theta0, experiment.solver, 100.0)
    report = run.run_to_end()
    assert report.status == "failed" and words in report.message
    assert math.isfinite(report.final.loss_train)


def test_first_step_and_max_step_set_and_cap_the_steps():
    flow = _LinearFlow([1.0, 10.0])
    stepper = make_stepper(flow, np.ones(2), SolverConfig(
        method="rkc", rtol=1e-2, atol=1e-2, first_step=1e-3, max_step=0.05), 5.0)
    stepper.step()
    assert stepper.h == 1e-3
    while not stepper.finished:
        stepper.step()
        assert stepper.h <= 0.05
    assert stepper.t == 5.0 and stepper.stats.accepted > 5.0 / 0.05
