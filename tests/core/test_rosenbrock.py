"""The Gauss–Newton matrix and the linearly implicit methods built on it (ros2-gn,
ros34pw2-gn, lm)."""

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from odeprop.core.config import (
    DatasetConfig,
    Experiment,
    NetworkConfig,
    ProbeConfig,
    SolverConfig,
    StopConfig,
)
from odeprop.core.flow import GradientFlow, Objective
from odeprop.core.gauss_newton import GaussNewton, ShiftedSolve, Workspace, loss_curvature
from odeprop.core.methods import METHODS
from odeprop.core.network import MLP
from odeprop.core.run import Run
from odeprop.core.solvers import SolverFailure, make_stepper
from odeprop.core.solvers import rosenbrock as ros

GAMMA = 1 + 1 / math.sqrt(2)


def _problem(loss, out=1, output="linear", hidden=(5, 4), acts=("tanh", "sigmoid"), l2=0.0,
             n=7, d=3, seed=1):
    rng = np.random.default_rng(seed)
    net = MLP(d, out, NetworkConfig(hidden=hidden, activations=acts, loss=loss, output=output,
                                    l2=l2))
    X = rng.normal(size=(n, d))
    if loss == "mse":
        T = rng.uniform(size=(n, out))
    elif loss == "bce":
        T = rng.integers(0, 2, (n, 1)).astype(float)
    else:
        T = np.eye(out)[rng.integers(0, out, n)]
    theta = net.init_params() + 0.2 * rng.normal(size=net.n_params)
    return net, X, T, theta


def _output_jacobian(net, theta, X, eps=1e-6):
    """∂z_out/∂θ per sample, (N, out, P), by central differences: an independent reference."""
    def z(t):
        return net.forward(t, X)[0][-1]
    J = np.empty((X.shape[0], net.sizes[-1], net.n_params))
    for p in range(net.n_params):
        e = np.zeros(net.n_params)
        e[p] = eps
        J[:, :, p] = (z(theta + e) - z(theta - e)) / (2 * eps)
    return J


CASES = [
    ("bce", 1, "linear", 0.0),
    ("softmax_ce", 3, "linear", 0.01),
    ("mse", 2, "sigmoid", 0.0),
    ("mse", 2, "linear", 0.1),
]


@pytest.mark.parametrize("loss,out,output,l2", CASES)
def test_gauss_newton_products_match_dense_jt_d_j(loss, out, output, l2):
    net, X, T, theta = _problem(loss, out, output, l2=l2)
    J = _output_jacobian(net, theta, X)
    z = net.forward(theta, X)[0][-1]
    D = loss_curvature(net, z, T)
    B = np.einsum("nip,nij,njq->pq", J, D, J) + l2 * np.diag(net.weight_mask)
    gn = GaussNewton(net, theta, X, T)
    v = np.random.default_rng(2).normal(size=net.n_params)
    scale = np.abs(B).max()
    np.testing.assert_allclose(gn.matvec(v), B @ v, atol=1e-7 * scale * np.abs(v).sum())
    np.testing.assert_allclose(gn.dense(), B, atol=1e-7 * scale)
    np.testing.assert_allclose(gn.diagonal(), np.diag(B), atol=1e-7 * scale)
    K_w, K_b = gn.kernels()
    Jhat = gn.jacobian()
    np.testing.assert_allclose(K_w + (0 if K_b is None else K_b), Jhat @ Jhat.T, atol=1e-13)


@pytest.mark.parametrize("loss,out,output,l2", CASES)
def test_curvature_is_the_loss_hessian_where_convex(loss, out, output, l2):
    """D is ∂²loss/∂z² for bce, softmax and linear mse; behind a sigmoid it is c·σ'² (the
    residual term dropped), and that equals the exact second derivative at zero residual."""
    net, X, T, theta = _problem(loss, out, output, l2=l2)
    z = net.forward(theta, X)[0][-1]
    n, k = z.shape
    exact = net._dz_dir(z[:, None, :], T[:, None, :], np.broadcast_to(np.eye(k), (n, k, k)))
    D = loss_curvature(net, z, T)
    if output == "sigmoid":
        s = 1 / (1 + np.exp(-z))
        zero_residual = net._dz_dir(z[:, None, :], s[:, None, :],
                                    np.broadcast_to(np.eye(k), (n, k, k)))
        np.testing.assert_allclose(D, zero_residual, rtol=1e-12, atol=1e-15)
        assert not np.allclose(D, exact)
    else:
        np.testing.assert_allclose(D, exact, rtol=1e-12, atol=1e-15)
    assert np.all(np.linalg.eigvalsh(D) >= -1e-15)


def test_softmax_curvature_takes_one_row_fewer_than_classes_even_at_certainty():
    """The softmax cross-entropy's curvature diag(s) − s·sᵀ has rank K − 1: its factor has K − 1
    rows per sample, FᵀF is the curvature to rounding, also where a class is certain (s → e_K,
    where the reflection's 1 − √s_K would cancel) and where it is exactly certain (s = e_K,
    curvature 0, nothing divided by zero)."""
    from odeprop.core.gauss_newton import loss_curvature_factor

    rng = np.random.default_rng(4)
    for k in (2, 3, 10):
        net = MLP(3, k, NetworkConfig(hidden=(4,), activations=("tanh",), loss="softmax_ce"))
        z = 3.0 * rng.normal(size=(40, k))
        z[0, 0] = z[1, -1] = 40.0  # nearly certain: the first class, the last one
        z[2, -1] = 900.0  # certain to the last bit
        T = np.eye(k)[rng.integers(0, k, 40)]
        F = loss_curvature_factor(net, z, T)
        assert F.shape == (40, k - 1, k)
        s = np.exp(z - z.max(axis=1, keepdims=True))
        s /= s.sum(axis=1, keepdims=True)
        exact = (s[:, :, None] * np.eye(k) - s[:, :, None] * s[:, None, :]) / 40
        np.testing.assert_allclose(np.einsum("nro,nrp->nop", F, F), exact, rtol=0, atol=1e-17)
        assert np.all(F[2] == 0.0)


def test_the_dense_matrix_is_the_same_from_one_block_or_many_and_from_a_reused_workspace(
        monkeypatch):
    """B in one product (the whole Ĵ in the workspace, as on iris) equals B summed over row
    blocks; a second matrix built in the same workspace at another θ is that θ's, not the
    first one's (the workspace's B is handed out read-only and written again)."""
    from odeprop.core import gauss_newton as gnmod

    net, X, T, theta = _problem("softmax_ce", out=3, n=40)
    ws = Workspace()
    one = GaussNewton(net, theta, X, T, workspace=ws).dense().copy()
    monkeypatch.setattr(gnmod, "_DENSE_ROW_BLOCK", 6)  # 3 samples (6 rows) per block
    blocks = GaussNewton(net, theta, X, T).dense()
    np.testing.assert_allclose(one, blocks, rtol=1e-12, atol=1e-15 * np.abs(one).max())
    monkeypatch.undo()
    first = GaussNewton(net, theta, X, T, workspace=ws).dense()
    assert not first.flags.writeable
    other = theta + 0.3
    second = GaussNewton(net, other, X, T, workspace=ws).dense()
    np.testing.assert_allclose(second, GaussNewton(net, other, X, T).dense(), rtol=1e-13)
    assert not np.allclose(second, one)


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_gauss_newton_is_the_hessian_for_linear_least_squares(l2):
    net, X, T, theta = _problem("mse", out=2, hidden=(), acts=(), l2=l2, n=9)
    gn = GaussNewton(net, theta, X, T)
    np.testing.assert_allclose(gn.dense(), net.hessian(theta, X, T), atol=1e-13)


def test_gauss_newton_is_the_hessian_at_zero_residual():
    """A nonlinear network, linear output, squared error, targets = its own outputs: the
    residual term vanishes and GN = H exactly (while it differs elsewhere)."""
    net, X, _, theta = _problem("mse", out=2, output="linear", acts=("tanh", "tanh"))
    T = net.forward(theta, X)[0][-1]
    H = net.hessian(theta, X, T)
    np.testing.assert_allclose(GaussNewton(net, theta, X, T).dense(), H, atol=1e-12)
    T_off = T + 0.5
    assert not np.allclose(GaussNewton(net, theta, X, T_off).dense(),
                           net.hessian(theta, X, T_off), atol=1e-6)


@pytest.mark.parametrize("n", [4, 60])  # m < P: Woodbury; m ≥ P: dense Cholesky
@pytest.mark.parametrize("l2", [0.0, 0.05])
@pytest.mark.parametrize("tiny", [True, False])  # W⁻¹ as a matrix, where it is small
def test_shifted_solves_are_exact_on_every_path(n, l2, tiny, monkeypatch):
    from odeprop.core import gauss_newton as gnmod

    if not tiny:
        monkeypatch.setattr(gnmod, "_TINY_OPERATOR", 0)
    net, X, T, theta = _problem("softmax_ce", out=3, l2=l2, n=n)
    gn = GaussNewton(net, theta, X, T, workspace=Workspace())
    assert gn.use_woodbury == (n * 2 < net.n_params)  # 3 classes: 2 rows of Ĵ per sample
    B = gn.dense()
    v = np.random.default_rng(3).normal(size=net.n_params)
    for sigma in (1e-3, 1.0, 1e3):
        solver = ShiftedSolve(gn, sigma)
        assert (solver._inverse is not None) == (tiny and gn.use_woodbury and not l2)
        x = solver.solve(v)
        ref = np.linalg.solve(np.eye(net.n_params) + sigma * B, v)
        np.testing.assert_allclose(x, ref, rtol=1e-9, atol=1e-11 * np.abs(ref).max())


# -- the steppers --------------------------------------------------------------------------------
def _linear_flow(n, d, l2=0.0, seed=4):
    """Linear least squares: the flow is affine, θ' = −(Hθ − c), and B = H exactly."""
    net, X, T, theta = _problem("mse", out=1, hidden=(), acts=(), l2=l2, n=n, d=d, seed=seed)
    return GradientFlow(Objective(net, X, T)), theta


def _exact_linear_flow(flow, theta0, t):
    H = flow.objective.hessian(theta0)
    lam, V = np.linalg.eigh(H)
    g0 = -flow.rhs(0.0, theta0)
    lt = lam * t
    phi = np.where(np.abs(lt) > 1e-12, -np.expm1(-lt) / np.where(lam == 0, 1, lam), t)
    return theta0 - V @ (phi * (V.T @ g0))


def _run(flow, theta0, t_end, **settings):
    stepper = make_stepper(flow, theta0, SolverConfig(**settings), t_end)
    while not stepper.finished:
        stepper.step()
    return stepper


@pytest.mark.parametrize("method", ["ros2-gn", "ros34pw2-gn"])
@pytest.mark.parametrize("n,d,l2", [(3, 5, 0.0), (25, 3, 0.0), (3, 5, 0.2)])
def test_w_methods_follow_the_exact_linear_flow_to_their_tolerance(n, d, l2, method):
    flow, theta0 = _linear_flow(n, d, l2)
    t_end = 20.0
    exact = _exact_linear_flow(flow, theta0, t_end)
    for tol, bound in [(1e-4, 1e-3), (1e-7, 1e-6)]:
        stepper = _run(flow, theta0, t_end, method=method, rtol=tol, atol=tol)
        assert stepper.t == t_end
        assert np.max(np.abs(stepper.theta - exact)) <= bound * (1 + np.abs(exact).max())


def test_ros2_stability_function_on_a_linear_flow():
    """One step on the affine flow with exact B = H applies R(−hH) to θ0 − θ*:
    R(z) = (1 + (1 − 2γ)z + (γ² − 2γ + ½)z²)/(1 − γz)², L-stable (R(−∞) = 0)."""
    flow, theta0 = _linear_flow(25, 3)
    H = flow.objective.hessian(theta0)
    lam, V = np.linalg.eigh(H)
    theta_star = theta0 - np.linalg.solve(H, -flow.rhs(0.0, theta0))
    for h in (0.01, 1.0, 1e6):
        stepper = make_stepper(flow, theta0, SolverConfig(method="ros2-gn", rtol=0.5, atol=1.0,
                                                          first_step=h), 1e9)
        stepper.step()
        assert stepper.stats.rejected == 0 and stepper.h == h
        z = -h * lam
        R = (1 + (1 - 2 * GAMMA) * z + (GAMMA**2 - 2 * GAMMA + 0.5) * z**2) / (1 - GAMMA * z)**2
        expected = theta_star + V @ (R * (V.T @ (theta0 - theta_star)))
        np.testing.assert_allclose(stepper.theta, expected, rtol=1e-9, atol=1e-11)
    assert abs(GAMMA**2 - 2 * GAMMA + 0.5) < 1e-15  # the z² coefficient: R(−∞) = 0


@pytest.mark.parametrize("method,order,low,high", [("ros2-gn", 2, 3.5, 4.5),
                                                    ("ros34pw2-gn", 3, 7.0, 9.0)])
def test_w_methods_keep_their_order_on_a_nonlinear_flow(method, order, low, high):
    """Fixed steps (first_step = max_step = h, tolerances too loose to reject): the error at
    t = 1 falls by ≈ 2^order when h halves, although B ≠ H (a W-method keeps its order for
    any matrix in W). Measured: ROS2 3.69, 3.83; ROS34PW2 7.86, 7.93."""
    net, X, T, theta0 = _problem("bce", out=1, hidden=(4,), acts=("tanh",), n=12, d=2)
    flow = GradientFlow(Objective(net, X, T))
    ref = solve_ivp(flow.rhs, (0, 1.0), theta0, method="DOP853", rtol=1e-13, atol=1e-13)
    errors = []
    for h in (0.1, 0.05, 0.025):
        stepper = _run(flow, theta0, 1.0, method=method, rtol=0.5, atol=1.0, first_step=h,
                       max_step=h)
        assert stepper.stats.rejected == 0 and stepper.stats.accepted == round(1.0 / h)
        assert stepper.stats.order == order
        errors.append(np.max(np.abs(stepper.theta - ref.y[:, -1])))
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    assert all(low < r < high for r in ratios), ratios


def test_tableaus_in_the_form_without_jacobian_products():
    """ROS2's transformed coefficients are the ones its usual form shows (W·k1 = f(θ),
    W·k2 = f(θ + h·k1) − 2·k1, θ⁺ = θ + h(3/2·k1 + 1/2·k2), with u = γh·k); ROS34PW2 is
    stiffly accurate (b is the last row of α + Γ) and consistent (Σb = Σb̂ = 1)."""
    t = ros.ROS2
    np.testing.assert_allclose(t.a, [[0, 0], [1 / GAMMA, 0]], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(t.c, [[0, 0], [-2 / GAMMA, 0]], rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(t.m, [1.5 / GAMMA, 0.5 / GAMMA], rtol=1e-14)
    np.testing.assert_allclose(t.e, [0.5 / GAMMA, 0.5 / GAMMA], rtol=1e-14)
    t = ros.ROS34PW2
    np.testing.assert_allclose(np.add(t.alpha, t.gammas)[-1], t.b, rtol=1e-15)
    assert sum(t.b) == pytest.approx(1, abs=1e-14) and sum(t.b_hat) == pytest.approx(1, abs=1e-14)
    assert t.nodes[-1] == 1.0


def test_ros34pw2_is_l_stable_on_a_linear_flow():
    """With B = H exactly (linear least squares) one enormous step lands on the minimiser:
    R(−∞) = 0 for this stiffly accurate L-stable method; a moderate step does not."""
    flow, theta0 = _linear_flow(25, 3)
    H = flow.objective.hessian(theta0)
    theta_star = theta0 - np.linalg.solve(H, -flow.rhs(0.0, theta0))
    far = theta0 - theta_star
    for h, bound in ((1e8, 1e-7), (0.1, None)):
        stepper = make_stepper(flow, theta0, SolverConfig(method="ros34pw2-gn", rtol=0.5,
                                                          atol=1.0, first_step=h), 1e9)
        stepper.step()
        assert stepper.stats.rejected == 0 and stepper.h == h
        gap = np.linalg.norm(stepper.theta - theta_star) / np.linalg.norm(far)
        assert gap < bound if bound else gap > 0.1


@pytest.mark.parametrize("method,order,stage_grads", [("ros2-gn", 2, 1), ("ros34pw2-gn", 3, 3),
                                                     ("lm", 1, 0)])
def test_step_contract_and_counters(small_flow, method, order, stage_grads):
    flow, theta0 = small_flow
    t_end = 50.0
    settings = {"rtol": 1e-3, "atol": 1e-3} if method != "lm" else {}
    stepper = make_stepper(flow, theta0, SolverConfig(method=method, **settings), t_end)
    s = stepper.stats
    assert (s.accepted, s.rejected, s.jac_evals, s.lu_decomps) == (0, 0, 0, 0)
    assert s.newton_iters is None and s.newton_failures is None
    assert s.order == order
    calls, t_prev, theta_prev = 0, 0.0, theta0
    losses = [flow.objective.loss(theta0)]
    while not stepper.finished:
        stepper.step()
        calls += 1
        assert s.accepted == calls
        assert t_prev < stepper.t <= t_end
        assert stepper.h == pytest.approx(stepper.t - t_prev, rel=1e-12, abs=1e-300)
        assert stepper.theta is not theta_prev
        t_prev, theta_prev = stepper.t, stepper.theta
        losses.append(flow.objective.loss(stepper.theta))
    assert stepper.t == t_end
    assert np.all(np.diff(losses) <= 1e-12 * np.abs(losses[:-1]))  # never a rise
    assert s.rejected == (stepper.error_rejections + stepper.descent_rejections
                          + stepper.nonfinite_rejections)
    assert s.jac_evals == s.accepted
    assert s.lu_decomps == s.accepted + s.rejected
    attempts = s.accepted + s.rejected
    assert flow.counts.grad == s.accepted + stage_grads * attempts
    assert flow.counts.hvp == flow.counts.hess == 0
    with pytest.raises(SolverFailure, match="already reached"):
        stepper.step()


@pytest.mark.parametrize("method", ["ros2-gn", "ros34pw2-gn", "lm"])
def test_nan_weights_raise_solver_failure(small_flow, method):
    flow, theta0 = small_flow
    theta0 = theta0.copy()
    theta0[0] = np.nan
    stepper = make_stepper(flow, theta0, SolverConfig(method=method), 10.0)
    with pytest.raises(SolverFailure, match="not finite"):
        stepper.step()


def test_a_gradient_that_turns_nan_is_rejected_until_failure(small_flow):
    flow, theta0 = small_flow
    rhs = flow.rhs
    calls = []

    def poisoned(t, theta):
        calls.append(t)
        return rhs(t, theta) if len(calls) == 1 else np.full_like(theta, np.nan)

    flow.rhs = poisoned
    stepper = make_stepper(flow, theta0, SolverConfig(method="ros2-gn"), 10.0)
    with pytest.raises(SolverFailure, match="too small"):
        stepper.step()
    assert stepper.stats.accepted == 0
    assert stepper.nonfinite_rejections == stepper.stats.rejected > 10


def test_descent_guard_rejects_rising_steps_at_loose_tolerance():
    """On the sine regression at tolerance 0.1 the error test passes steps that raise the
    loss; the guard rejects them, and the accepted losses never rise."""
    exp = _experiment("sin", solver=SolverConfig(method="ros2-gn", rtol=0.1, atol=0.1),
                      noise=0.0, hidden=(16, 16), loss="mse", target_rms=0.01)
    run = Run(exp)
    losses = [run.start().loss_train]
    while not run.done:
        losses.append(run.step().loss_train)
    assert run.status == "finished", run.message
    assert run.stepper.descent_rejections > 0
    assert np.all(np.diff(losses) <= 0)


def _experiment(kind, solver, noise=0.1, hidden=(16, 16), loss="bce", **stop):
    return Experiment(name=kind, dataset=DatasetConfig(kind=kind, noise=noise),
                      network=NetworkConfig(hidden=hidden, loss=loss), solver=solver,
                      stop=StopConfig(t_end=1e9, max_wall_time=20, **stop),
                      probe=ProbeConfig(stiffness_every=0))


@pytest.mark.parametrize("solver", [SolverConfig(method="ros2-gn", rtol=1e-2, atol=1e-2),
                                    SolverConfig(method="lm")])
def test_run_reaches_the_moons_target(solver):
    run = Run(_experiment("moons", solver, target_loss=1e-3))
    report = run.run_to_end()
    assert report.status == "finished" and "target loss" in report.message
    f = report.final
    assert f.loss_train <= 1e-3
    assert f.jac_evals == f.step and f.lu_decomps == f.step + f.rejected
    assert f.newton_iters is None and f.order in (1, 2)


def test_catalogue_and_configuration():
    for name in ("ros2-gn", "ros34pw2-gn", "lm"):
        info = METHODS[name]
        assert info.family == "rosenbrock" and info.implicit
        assert info.stability_bound == math.inf
        assert SolverConfig(method=name, jacobian="gauss-newton").jacobian_mode == "gauss-newton"
        with pytest.raises(ValueError, match=r"^solver\.jacobian: .* takes .*'gauss-newton'"):
            SolverConfig(method=name, jacobian="exact")
    for name in ("ros2-gn", "ros34pw2-gn"):
        assert METHODS[name].jacobian_modes == ("sampled-gauss-newton", "gauss-newton")
        assert SolverConfig(method=name).jacobian_mode == "sampled-gauss-newton"
        assert METHODS[name].tolerances
    assert METHODS["lm"].jacobian_modes == ("gauss-newton",) and not METHODS["lm"].tolerances
    with pytest.raises(ValueError, match=r"^solver\.rtol"):
        SolverConfig(method="ros2-gn", rtol=2.0)


def test_set_tolerances(small_flow):
    flow, theta0 = small_flow
    stepper = make_stepper(flow, theta0, SolverConfig(method="ros2-gn"), 10.0)
    stepper.set_tolerances(1e-2, 1e-3)
    assert (stepper._rtol, stepper._atol) == (1e-2, 1e-3)
    lm = make_stepper(flow, theta0, SolverConfig(method="lm"), 10.0)
    with pytest.raises(SolverFailure, match="no error tolerances"):
        lm.set_tolerances(1e-2, 1e-3)


def test_a_system_too_large_is_refused(small_flow, monkeypatch):
    """With the whole training set the system would be too large: refused; the sampled mode
    instead caps its sample so that the system stays within the limit, and runs."""
    from odeprop.core import dense_limits

    flow, theta0 = small_flow
    monkeypatch.setattr(dense_limits, "DENSE_JACOBIAN_LIMIT", 10)  # make_stepper's rule and the cap
    monkeypatch.setattr(ros, "GN_FIRST_SAMPLES", 4)
    with pytest.raises(SolverFailure, match=r"^solver\.method: ros2-gn solves a dense 25 × 25"):
        make_stepper(flow, theta0, SolverConfig(method="ros2-gn", jacobian="gauss-newton"), 10.0)
    with pytest.raises(SolverFailure, match=r"^solver\.method: lm solves a dense 25 × 25"):
        make_stepper(flow, theta0, SolverConfig(method="lm"), 10.0)
    sampled = make_stepper(flow, theta0, SolverConfig(method="ros2-gn"), 10.0)
    assert sampled.gn_samples == 4
    monkeypatch.setattr(dense_limits, "DENSE_JACOBIAN_LIMIT", 1)
    sampled = make_stepper(flow, theta0, SolverConfig(method="ros2-gn"), 10.0)
    assert sampled.gn_samples == 1
    sampled._widen_sample()
    assert sampled.gn_samples == 1


def test_an_indefinite_looking_system_falls_back_to_lu(monkeypatch):
    """If Cholesky reports C not positive definite (rounding, huge σ), the solve goes through
    LU of the same matrix and stays exact."""
    from odeprop.core import gauss_newton as gnmod

    net, X, T, theta = _problem("bce", n=4)
    gn = GaussNewton(net, theta, X, T)
    monkeypatch.setattr(gnmod, "dpotrf", lambda a, **kw: (a, 1))
    v = np.random.default_rng(5).normal(size=net.n_params)
    ref = np.linalg.solve(np.eye(net.n_params) + 10.0 * gn.dense(), v)
    np.testing.assert_allclose(ShiftedSolve(gn, 10.0).solve(v), ref, rtol=1e-9, atol=1e-12)


def test_after_a_descent_failure_steps_stay_below_it():
    """The guard's memory: once a step fails to descend, every later proposal respects the
    bound it set (0.9 × the failed size, relaxing by 1.2 per accepted step)."""
    exp = _experiment("sin", solver=SolverConfig(method="ros2-gn", rtol=0.1, atol=0.1),
                      noise=0.0, hidden=(16, 16), loss="mse", target_rms=0.01)
    run = Run(exp)
    stepper = run.stepper
    run.start()
    bounded = 0
    while not run.done:
        run.step()
        if stepper._h_cap is not None:
            assert stepper._h_next <= stepper._h_cap / ros.RELAX * (1 + 1e-12)
            bounded += 1
    assert stepper.descent_rejections > 0 and bounded > 0


def test_sampled_gauss_newton_doubles_its_sample_after_each_descent_failure():
    """Sine regression, 150 training samples, tolerance 0.1 (steps that raise the loss occur):
    the matrix starts on 32 evenly spaced samples and doubles after every descent rejection,
    up to all of them; the run reaches its target."""
    exp = _experiment("sin", solver=SolverConfig(method="ros2-gn", rtol=0.1, atol=0.1),
                      noise=0.0, hidden=(16, 16), loss="mse", target_rms=0.01)
    run = Run(exp)
    stepper = run.stepper
    n = len(run.problem.dataset.X_train)
    assert n > 2 * ros.GN_FIRST_SAMPLES and stepper.gn_samples == ros.GN_FIRST_SAMPLES
    rows = stepper._gn_rows
    assert len(rows) == ros.GN_FIRST_SAMPLES and rows[0] == 0 and rows[-1] == n - 1
    assert np.all(np.diff(rows) >= n // ros.GN_FIRST_SAMPLES - 1)  # spread evenly
    run.start()
    while not run.done:
        run.step()
        expected = min(n, ros.GN_FIRST_SAMPLES * 2 ** stepper.descent_rejections)
        assert stepper.gn_samples == expected
        assert (stepper._gn_rows is None) == (expected == n)
    assert run.status == "finished" and "target" in run.message
    assert stepper.descent_rejections > 0


def test_sampled_and_whole_matrices_agree_when_the_set_is_small(small_flow, monkeypatch):
    """With no more samples than the first sample, the sampled mode is the whole matrix:
    identical steps."""
    flow, theta0 = small_flow
    monkeypatch.setattr(ros, "GN_FIRST_SAMPLES", len(flow.objective.X))
    runs = [_run(flow, theta0, 50.0, method="ros2-gn", rtol=1e-3, atol=1e-3, jacobian=mode)
            for mode in ("sampled-gauss-newton", "gauss-newton")]
    assert runs[0].stats.accepted == runs[1].stats.accepted
    np.testing.assert_array_equal(runs[0].theta, runs[1].theta)
