"""The gradient flow's right-hand side, Jacobians and counters; the Objective's cache; the
stiffness probe's eigenvalue estimates against the dense Hessian."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate._ivp.common import num_jac

from odeprop.core import stiffness
from odeprop.core.config import NetworkConfig
from odeprop.core.flow import EvalCounts, GradientFlow, Objective
from odeprop.core.methods import METHODS, RK45_BOUND
from odeprop.core.network import MLP, encode_targets
from odeprop.core.stiffness import StiffnessEstimate, StiffnessProbe, step_stability


def make_problem(hidden=(8, 6), init="xavier_uniform", seed=0, scale=1.0, act="tanh"):
    """A binary problem on 30 points in 3-D; (8, 6) gives 93 parameters, (4, 3) gives 35."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = MLP(3, 1, NetworkConfig(hidden=hidden, activations=act, loss="bce", init=init))
    T = encode_targets(y, "classification", 2, "bce")
    theta = scale * net.init_params(seed=seed)
    theta += 0.05 * np.random.default_rng(1).normal(size=net.n_params)  # non-zero biases
    return net, X, T, theta


@pytest.fixture
def problem():
    return make_problem(scale=2.0)


@pytest.fixture
def flow(problem):
    net, X, T, _ = problem
    return GradientFlow(Objective(net, X, T))


def count_forward(monkeypatch, net):
    calls = []
    original = net.forward

    def forward(theta, X):
        calls.append(np.array(theta))
        return original(theta, X)

    monkeypatch.setattr(net, "forward", forward)
    return calls


# -- GradientFlow --------------------------------------------------------------------------------
def test_rhs_is_minus_gradient_and_counted(problem, flow):
    net, X, T, theta = problem
    _, grad = net.loss_grad(theta, X, T)
    f = flow.rhs(0.0, theta)
    np.testing.assert_array_equal(f, -grad)
    assert flow.counts == EvalCounts(grad=1, hvp=0, hess=0)
    f[:] = 123.0  # the solver may keep and reuse the array: it must not be the cache
    np.testing.assert_array_equal(flow.rhs(5.0, theta), -grad)
    assert flow.counts == EvalCounts(grad=2)  # every call is counted, cached or not
    assert flow.n == net.n_params


def test_jac_is_minus_hessian_and_counts_hess(problem, flow):
    net, X, T, theta = problem
    J = flow.jac(0.0, theta)
    np.testing.assert_array_equal(J, -net.hessian(theta, X, T))
    assert flow.counts == EvalCounts(grad=0, hvp=0, hess=1)
    J[:] = 0.0
    np.testing.assert_array_equal(flow.jac(1.0, theta), -net.hessian(theta, X, T))
    assert flow.counts.hess == 2


def test_jvp_counts_one_per_direction(problem, flow):
    net, X, T, theta = problem
    rng = np.random.default_rng(2)
    v = rng.normal(size=net.n_params)
    np.testing.assert_array_equal(flow.jvp(theta, v), -net.hvp(theta, X, T, v))
    assert flow.counts == EvalCounts(grad=0, hvp=1, hess=0)
    V = rng.normal(size=(net.n_params, 5))
    JV = flow.jvp(theta, V)
    assert JV.shape == V.shape
    np.testing.assert_allclose(JV, -net.hvp(theta, X, T, V), rtol=0, atol=1e-15)
    assert flow.counts == EvalCounts(grad=0, hvp=6, hess=0)
    flow.jvp(theta, V[:, :1])
    assert flow.counts.hvp == 7


def test_eval_counts_copy_is_independent():
    counts = EvalCounts(1, 2, 3)
    copy = counts.copy()
    counts.grad += 10
    assert copy == EvalCounts(1, 2, 3)


def test_fd_jac_agrees_with_exact_and_counts_gradient_calls(problem, flow):
    net, X, T, theta = problem
    P = net.n_params
    H = net.hessian(theta, X, T)
    # What scipy's num_jac evaluates, counted independently of the engine: one call for f, then
    # one per column it asks for (P, plus any columns it retries with a larger step).
    columns = []

    def vectorised(t, Y):
        columns.append(Y.shape[1])
        return np.column_stack([-net.loss_grad(y, X, T)[1] for y in Y.T])

    f0 = -net.loss_grad(theta, X, T)[1]
    J_ref, _ = num_jac(vectorised, 0.0, theta, f0, 1e-6, None)
    expected_grads = 1 + sum(columns)
    assert columns[0] == P and expected_grads >= P + 1

    J = flow.fd_jac(0.0, theta)
    assert J.shape == (P, P)
    assert np.max(np.abs(J + H)) <= 1e-5 * np.max(np.abs(H))
    np.testing.assert_allclose(J, J_ref, rtol=0, atol=1e-12 * np.max(np.abs(H)))
    assert flow.counts == EvalCounts(grad=expected_grads, hvp=0, hess=0)
    # θ itself is unchanged and the objective is not left holding a perturbed point
    assert flow.objective.loss(theta) == net.loss(theta, X, T)
    # a second call reuses num_jac's step factors and is counted again
    J2 = flow.fd_jac(0.0, theta)
    assert flow.counts.grad >= 2 * (P + 1)
    assert np.max(np.abs(J2 + H)) <= 1e-5 * np.max(np.abs(H))


# -- Objective cache ----------------------------------------------------------------------------
def test_objective_reuses_the_forward_pass_at_the_same_theta(problem, monkeypatch):
    net, X, T, theta = problem
    ref_loss, ref_grad = net.loss_grad(theta, X, T)
    v = np.random.default_rng(3).normal(size=net.n_params)
    ref_hv = net.hvp(theta, X, T, v)
    calls = count_forward(monkeypatch, net)
    obj = Objective(net, X, T)

    loss, grad = obj.loss_grad(theta)
    assert len(calls) == 1
    hv1 = obj.hvp(theta, v)
    hv2 = obj.hvp(theta.copy(), v)  # equal values in another array: still a hit
    assert obj.loss(theta) == loss
    out = obj.output(theta)
    assert len(calls) == 1
    assert loss == ref_loss
    np.testing.assert_array_equal(grad, ref_grad)
    np.testing.assert_array_equal(hv1, ref_hv)
    np.testing.assert_array_equal(hv2, hv1)
    np.testing.assert_array_equal(out, net.predict(theta, X))


def test_objective_loss_first_then_gradient_shares_one_forward_pass(problem, monkeypatch):
    net, X, T, theta = problem
    calls = count_forward(monkeypatch, net)
    obj = Objective(net, X, T)
    loss = obj.loss(theta)
    loss2, grad = obj.loss_grad(theta)
    assert len(calls) == 1 and loss2 == loss
    np.testing.assert_array_equal(grad, net.loss_grad(theta, X, T)[1])


def test_objective_is_not_stale_after_theta_changes_in_place(problem, monkeypatch):
    net, X, T, theta = problem
    ref = MLP(3, 1, net.config)  # an uncounted twin for the expected values
    theta = theta.copy()
    calls = count_forward(monkeypatch, net)
    obj = Objective(net, X, T)
    v = np.random.default_rng(4).normal(size=net.n_params)
    old_loss, old_grad = obj.loss_grad(theta)
    old_grad = old_grad.copy()
    old_hv = obj.hvp(theta, v)
    assert len(calls) == 1

    theta[:] += 0.1  # the same array, mutated in place as an integrator's work array would be
    new_loss = obj.loss(theta)
    assert len(calls) == 2
    assert new_loss != old_loss
    assert new_loss == ref.loss(theta, X, T)
    _, new_grad = obj.loss_grad(theta)
    assert not np.array_equal(new_grad, old_grad)
    np.testing.assert_array_equal(new_grad, ref.loss_grad(theta, X, T)[1])
    new_hv = obj.hvp(theta, v)
    assert not np.array_equal(new_hv, old_hv)
    np.testing.assert_array_equal(new_hv, ref.hvp(theta, X, T, v))
    assert len(calls) == 2
    theta[3] -= 1e-12  # even a tiny change is a miss
    assert obj.loss(theta) == ref.loss(theta, X, T)
    assert len(calls) == 3


def test_objective_hessian(problem):
    net, X, T, theta = problem
    np.testing.assert_array_equal(Objective(net, X, T).hessian(theta),
                                  net.hessian(theta, X, T))


# -- StiffnessProbe -------------------------------------------------------------------------------
def dense_eigs(net, X, T, theta):
    return np.linalg.eigvalsh(net.hessian(theta, X, T))


def test_lanczos_matches_dense_eigenvalues(problem, flow):
    net, X, T, theta = problem
    assert net.n_params > stiffness.DENSE_LIMIT
    eigs = dense_eigs(net, X, T, theta)
    assert eigs[0] < -0.1 * eigs[-1]  # a clearly indefinite Hessian
    flow.rhs(0.0, theta)
    before = flow.counts.copy()
    probe = StiffnessProbe(flow.objective)
    est = probe.estimate(theta)
    assert isinstance(est, StiffnessEstimate)
    assert est.lambda_max == pytest.approx(eigs[-1], rel=1e-3)
    assert est.lambda_min == pytest.approx(eigs[0], rel=1e-3)
    assert est.curvature is None and est.spectrum is None
    assert est.hess == 0 and est.hvp > 0 and est.hvp == probe.hvp_count
    assert flow.counts == before  # the probe's work is not the solver's
    # warm start at a nearby point
    theta2 = theta + 0.01 * np.random.default_rng(5).normal(size=net.n_params)
    est2 = probe.estimate(theta2)
    eigs2 = dense_eigs(net, X, T, theta2)
    assert est2.lambda_max == pytest.approx(eigs2[-1], rel=1e-3)
    assert est2.lambda_min == pytest.approx(eigs2[0], rel=1e-3)
    assert probe.hvp_count == est.hvp + est2.hvp


def test_probe_hvp_count_is_exact(problem, monkeypatch):
    net, X, T, theta = problem
    obj = Objective(net, X, T)
    directions = []
    original = obj.hvp

    def hvp(th, V):
        directions.append(1 if V.ndim == 1 else V.shape[1])
        return original(th, V)

    monkeypatch.setattr(obj, "hvp", hvp)
    for method in ("lanczos", "power"):
        directions.clear()
        probe = StiffnessProbe(obj, method)
        est = probe.estimate(theta, grad=net.loss_grad(theta, X, T)[1])
        assert est.hvp == sum(directions) == probe.hvp_count, method
        assert est.hess == probe.hess_count == 0


def test_power_method_matches_dense_eigenvalues(problem):
    net, X, T, theta = problem
    eigs = dense_eigs(net, X, T, theta)
    assert eigs[-1] > abs(eigs[0])  # power iteration's favourable case
    obj = Objective(net, X, T)
    est = StiffnessProbe(obj, "power").estimate(theta)
    assert est.lambda_max == pytest.approx(eigs[-1], rel=1e-2)
    assert est.lambda_min == pytest.approx(eigs[0], abs=0.1 * eigs[-1])
    assert est.hvp > 0 and est.hess == 0
    tight = StiffnessProbe(obj, "power", tol=1e-10).estimate(theta)
    assert tight.lambda_max == pytest.approx(eigs[-1], rel=1e-6)
    assert tight.lambda_min == pytest.approx(eigs[0], abs=1e-4 * eigs[-1])


def test_the_first_power_probe_is_a_lanczos_run_then_power_steps_are_warm(problem):
    """Cold, one Lanczos run finds both ends in fewer products than power iteration from the
    same random start would, and leaves both eigenvectors; at a nearby θ warm power
    iteration then needs only a few products."""
    net, X, T, theta = problem
    obj = Objective(net, X, T)
    eigs = dense_eigs(net, X, T, theta)
    probe = StiffnessProbe(obj, "power")
    first = probe.estimate(theta)
    assert first.lambda_max == pytest.approx(eigs[-1], rel=1e-3)
    assert first.lambda_min == pytest.approx(eigs[0], abs=1e-3 * eigs[-1])
    cold_power = StiffnessProbe(obj, "power")
    cold_power._warm = True  # power iteration from its random vectors
    assert cold_power.estimate(theta).hvp > first.hvp
    near = theta + 1e-3 * np.random.default_rng(7).normal(size=theta.size)
    eigs_near = dense_eigs(net, X, T, near)
    second = probe.estimate(near)
    assert second.hvp < first.hvp / 2
    assert second.lambda_max == pytest.approx(eigs_near[-1], rel=1e-2)
    assert second.lambda_min == pytest.approx(eigs_near[0], abs=2e-2 * eigs_near[-1])


def test_power_method_when_the_negative_end_dominates():
    net, X, T, theta = make_problem(init="he_normal", seed=5, scale=4.0)
    eigs = dense_eigs(net, X, T, theta)
    assert -eigs[0] > 2 * eigs[-1] > 0  # |λmin| > λmax: a saddle-like point
    est = StiffnessProbe(Objective(net, X, T), "power", tol=1e-10).estimate(theta)
    scale = np.max(np.abs(eigs))
    assert est.lambda_max >= est.lambda_min
    assert est.lambda_max == pytest.approx(eigs[-1], abs=1e-2 * scale)
    assert est.lambda_min == pytest.approx(eigs[0], abs=1e-2 * scale)


def test_dense_path_is_exact_for_small_networks():
    net, X, T, theta = make_problem(hidden=(4, 3))
    assert net.n_params <= stiffness.DENSE_LIMIT
    eigs = dense_eigs(net, X, T, theta)
    for method in ("lanczos", "power"):
        probe = StiffnessProbe(Objective(net, X, T), method)
        est = probe.estimate(theta)
        assert est.lambda_max == eigs[-1] and est.lambda_min == eigs[0]
        assert est.hess == 1 and est.hvp == 0 and est.spectrum is None
        assert probe.hess_count == 1 and probe.hvp_count == 0


def test_dense_limit_boundary(problem, monkeypatch):
    net, X, T, theta = problem
    obj = Objective(net, X, T)
    monkeypatch.setattr(stiffness, "DENSE_LIMIT", net.n_params)
    assert StiffnessProbe(obj).estimate(theta).hess == 1
    monkeypatch.setattr(stiffness, "DENSE_LIMIT", net.n_params - 1)
    est = StiffnessProbe(obj).estimate(theta)
    assert est.hess == 0 and est.hvp > 0


@pytest.mark.parametrize("hidden", [(4, 3), (8, 6)])
def test_curvature_along_the_gradient(hidden):
    net, X, T, theta = make_problem(hidden=hidden, scale=2.0)
    _, g = net.loss_grad(theta, X, T)
    H = net.hessian(theta, X, T)
    probe = StiffnessProbe(Objective(net, X, T))
    est = probe.estimate(theta, grad=g)
    assert est.curvature == pytest.approx(g @ H @ g / (g @ g), rel=1e-12)
    assert est.lambda_min - 1e-9 <= est.curvature <= est.lambda_max + 1e-9
    # the dense path uses exactly one Hv, for the curvature
    if net.n_params <= stiffness.DENSE_LIMIT:
        assert est.hvp == 1
    # a zero gradient has no direction: no curvature and no work for it
    before = probe.hvp_count
    est0 = StiffnessProbe(Objective(net, X, T)).estimate(theta, grad=np.zeros(net.n_params))
    assert est0.curvature is None
    assert probe.hvp_count == before


def test_full_spectrum(problem):
    net, X, T, theta = problem
    eigs = dense_eigs(net, X, T, theta)
    est = StiffnessProbe(Objective(net, X, T)).estimate(theta, spectrum=True)
    assert est.spectrum is not None and est.spectrum.shape == (net.n_params,)
    assert np.all(np.diff(est.spectrum) >= 0)
    np.testing.assert_allclose(est.spectrum, eigs, rtol=0, atol=1e-12 * np.max(np.abs(eigs)))
    assert est.lambda_max == est.spectrum[-1] and est.lambda_min == est.spectrum[0]
    assert est.hess == 1 and est.hvp == 0


def test_spectrum_beyond_the_limit_gives_both_ends_by_lanczos(problem, monkeypatch):
    net, X, T, theta = problem
    monkeypatch.setattr(stiffness, "SPECTRUM_LIMIT", 50)
    monkeypatch.setattr(stiffness, "SPECTRUM_ENDS", 5)
    eigs = dense_eigs(net, X, T, theta)
    est = StiffnessProbe(Objective(net, X, T), tol=1e-10).estimate(theta, spectrum=True)
    assert not est.complete and est.hess == 0 and est.hvp > 0
    assert len(est.spectrum) == 10
    scale = np.max(np.abs(eigs))
    np.testing.assert_allclose(est.spectrum[:5], eigs[:5], atol=1e-8 * scale)
    np.testing.assert_allclose(est.spectrum[5:], eigs[-5:], atol=1e-8 * scale)


def big_problem():
    """A softmax problem of 2,000 points: 20-24-10, 754 parameters, a bulk of small
    eigenvalues with outliers above it (as a big network's Hessian has)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, 20))
    y = rng.integers(0, 10, size=2000)
    net = MLP(20, 10, NetworkConfig(hidden=(24,), activations="tanh", loss="softmax_ce"))
    T = encode_targets(y, "classification", 10, "softmax_ce")
    return net, X, T, net.init_params(seed=0)


def test_spectrum_ends_on_a_budget_are_resolved_eigenvalues(monkeypatch):
    """Beyond SPECTRUM_LIMIT: one Lanczos run of at most LANCZOS_STEPS products, no Hessian
    formed, the same number of eigenvalues at each end, each the true k-th smallest or
    largest eigenvalue to the probe's tolerance."""
    net, X, T, theta = big_problem()
    eigs = dense_eigs(net, X, T, theta)
    scale = np.max(np.abs(eigs))
    monkeypatch.setattr(stiffness, "SPECTRUM_LIMIT", 100)
    objective = Objective(net, X, T)
    monkeypatch.setattr(objective, "hessian", lambda theta: pytest.fail("a dense Hessian"))
    probe = StiffnessProbe(objective, tol=1e-3)
    est = probe.estimate(theta, spectrum=True)
    assert not est.complete and est.hess == 0
    assert est.hvp == stiffness.LANCZOS_STEPS  # the budget, spent: the bulk is dense
    spectrum = est.spectrum
    k = len(spectrum) // 2
    assert len(spectrum) == 2 * k and 1 <= k < stiffness.SPECTRUM_ENDS
    assert np.all(np.diff(spectrum) >= 0)
    assert est.lambda_max == spectrum[-1] and est.lambda_min == spectrum[0]
    np.testing.assert_allclose(spectrum[:k], eigs[:k], rtol=0, atol=1e-3 * scale)
    np.testing.assert_allclose(spectrum[k:], eigs[-k:], rtol=0, atol=1e-3 * scale)
    # the next probe starts from the extreme eigenvectors found: both ends at once
    assert probe.estimate(theta, spectrum=True).lambda_max == pytest.approx(eigs[-1],
                                                                           rel=1e-6)


def test_spectrum_ends_stop_early_once_resolved(monkeypatch):
    """A budget as large as the space: Lanczos stops as soon as SPECTRUM_ENDS eigenvalues are
    resolved at each end, and they are the true ends."""
    net, X, T, theta = big_problem()
    eigs = dense_eigs(net, X, T, theta)
    monkeypatch.setattr(stiffness, "SPECTRUM_LIMIT", 100)
    monkeypatch.setattr(stiffness, "SPECTRUM_ENDS", 4)
    monkeypatch.setattr(stiffness, "LANCZOS_STEPS", net.n_params)
    est = StiffnessProbe(Objective(net, X, T), tol=1e-8).estimate(theta, spectrum=True)
    assert len(est.spectrum) == 8 and est.hvp < net.n_params // 2
    scale = np.max(np.abs(eigs))
    np.testing.assert_allclose(est.spectrum[:4], eigs[:4], rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(est.spectrum[4:], eigs[-4:], rtol=0, atol=1e-8 * scale)


def test_lanczos_probe_of_a_big_network_keeps_to_its_budget(monkeypatch):
    """Beyond SPECTRUM_LIMIT, method "lanczos" finds λmax and λmin to tol·max|λ| within
    LANCZOS_STEPS products (ARPACK's tolerance, relative to λmin, cost ~200 Hv late in a run of
    10⁵ parameters), and fewer once warm-started at a nearby point."""
    net, X, T, theta = big_problem()
    eigs = dense_eigs(net, X, T, theta)
    scale = np.max(np.abs(eigs))
    monkeypatch.setattr(stiffness, "SPECTRUM_LIMIT", 100)
    probe = StiffnessProbe(Objective(net, X, T), method="lanczos", tol=1e-3)
    est = probe.estimate(theta)
    assert est.hvp <= stiffness.LANCZOS_STEPS and est.hess == 0
    assert abs(est.lambda_max - eigs[-1]) <= 1e-3 * scale
    assert abs(est.lambda_min - eigs[0]) <= 1e-3 * scale
    moved = theta + 1e-3 * np.random.default_rng(5).normal(size=net.n_params)
    eigs = dense_eigs(net, X, T, moved)
    warm = probe.estimate(moved)
    assert warm.hvp < est.hvp
    assert abs(warm.lambda_max - eigs[-1]) <= 1e-3 * scale
    assert abs(warm.lambda_min - eigs[0]) <= 1e-3 * scale


def test_spectrum_ends_of_a_diverged_run_are_nan_not_an_error(monkeypatch):
    net, X, T, theta = big_problem()
    monkeypatch.setattr(stiffness, "SPECTRUM_LIMIT", 100)
    probe = StiffnessProbe(Objective(net, X, T))
    with np.errstate(all="ignore"):  # as a run probes: overflow is not warned about
        est = probe.estimate(np.full(net.n_params, np.nan), spectrum=True)
    assert math.isnan(est.lambda_max) and math.isnan(est.lambda_min)
    assert est.hvp == 1  # the first product told: no more work on it


def test_step_stability():
    assert step_stability(0.5, 4.0, 2.0) == 1.0
    assert step_stability(0.1, 10.0, RK45_BOUND) == pytest.approx(1.0 / RK45_BOUND)
    assert step_stability(None, 4.0, 2.0) is None
    assert step_stability(0.1, 4.0, math.inf) is None  # implicit: no bound on the real axis
    assert step_stability(0.1, 4.0, METHODS["momentum"].stability_bound) is None  # nan bound
    assert step_stability(0.1, math.nan, 2.0) is None  # a failed Lanczos run
    assert step_stability(0.1, math.inf, 2.0) is None
    assert step_stability(0.1, -1.0, 2.0) == pytest.approx(-0.05)
    assert step_stability(0.0, 4.0, 2.0) == 0.0


def test_a_non_finite_hessian_gives_nan_estimates_not_an_error(problem, monkeypatch):
    net, X, T, theta = problem
    obj = Objective(net, X, T)
    monkeypatch.setattr(obj, "hessian", lambda th: np.full((net.n_params,) * 2, np.inf))
    est = StiffnessProbe(obj).estimate(theta, spectrum=True)
    assert np.isnan(est.lambda_max) and np.isnan(est.lambda_min)
