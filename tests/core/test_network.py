"""The MLP's exact derivatives against finite differences; stable losses; initialisation; targets
and metrics."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from odeprop.core.config import ACTIVATIONS, INIT_SCHEMES, NetworkConfig
from odeprop.core.network import MLP, classification_accuracy, encode_targets, rms_error

N_SAMPLES = 30
HIDDEN = (5, 4)  # two hidden layers of different widths
FD_EPS = 1e-5
TOL = 1e-7  # relative to the largest entry of the exact result

# (id, loss, output unit, how the targets are made)
LOSS_CASES = {
    "bce": ("bce", "linear"),
    "softmax_ce": ("softmax_ce", "linear"),
    "mse-linear": ("mse", "linear"),
    "mse-sigmoid": ("mse", "sigmoid"),
}


def make_data(case: str):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_SAMPLES, 3))
    if case == "bce":
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
        T = encode_targets(y, "classification", 2, "bce")
    elif case == "softmax_ce":
        y = rng.integers(0, 3, N_SAMPLES)
        T = encode_targets(y, "classification", 3, "softmax_ce")
    elif case == "mse-linear":
        y = rng.normal(size=(N_SAMPLES, 2))
        T = encode_targets(y, "regression", None, "mse")
    else:  # mse with sigmoid outputs on one-hot targets
        y = rng.integers(0, 3, N_SAMPLES)
        T = encode_targets(y, "classification", 3, "mse")
    return X, T


def make_problem(act, case, l2=0.0, hidden=HIDDEN):
    loss, output = LOSS_CASES[case]
    X, T = make_data(case)
    acts = (act,) * len(hidden) if isinstance(act, str) else act
    net = MLP(3, T.shape[1], NetworkConfig(hidden=hidden, activations=acts, loss=loss,
                                           output=output, l2=l2))
    # Off the initial point (biases non-zero) so that every term of the derivatives is exercised.
    theta = net.init_params(seed=1) + 0.1 * np.random.default_rng(2).normal(size=net.n_params)
    return net, theta, X, T


def relu_pattern(net, theta, X):
    zs, _ = net.forward(theta, X)
    return [z > 0 for z in zs[:-1]]


def assert_no_kink_crossed(net, theta, X, directions, eps):
    """Central differences are only valid for ReLU if no pre-activation changes sign."""
    if "relu" not in net.activations:
        return
    base = relu_pattern(net, theta, X)
    for v in directions:
        for sign in (1.0, -1.0):
            moved = relu_pattern(net, theta + sign * eps * v, X)
            for a, b in zip(base, moved, strict=True):
                assert np.array_equal(a, b), "finite-difference step crosses a ReLU kink"


def fd_gradient(net, theta, X, T, eps=FD_EPS):
    E = np.eye(net.n_params)
    assert_no_kink_crossed(net, theta, X, E, eps)
    return np.array([(net.loss(theta + eps * e, X, T) - net.loss(theta - eps * e, X, T))
                     / (2 * eps) for e in E])


def fd_hvp(net, theta, X, T, V, eps=FD_EPS):
    """Central differences of the exact gradient along each column of V (P, k)."""
    assert_no_kink_crossed(net, theta, X, V.T, eps)
    cols = [(net.loss_grad(theta + eps * v, X, T)[1] - net.loss_grad(theta - eps * v, X, T)[1])
            / (2 * eps) for v in V.T]
    return np.stack(cols, axis=1)


def rel_err(approx, exact):
    return np.max(np.abs(approx - exact)) / np.max(np.abs(exact))


ALL_CASES = list(itertools.product(ACTIVATIONS, LOSS_CASES, (0.0, 0.05)))
CASE_IDS = [f"{a}-{c}-l2={l2}" for a, c, l2 in ALL_CASES]


# -- derivatives -------------------------------------------------------------------------------
def test_every_activation_and_loss_is_covered():
    assert set(ACTIVATIONS) == {"tanh", "sigmoid", "relu", "softplus", "linear"}
    assert {loss for loss, _ in LOSS_CASES.values()} == {"bce", "softmax_ce", "mse"}


@pytest.mark.parametrize(("act", "case", "l2"), ALL_CASES, ids=CASE_IDS)
def test_gradient_matches_central_differences(act, case, l2):
    net, theta, X, T = make_problem(act, case, l2)
    loss, grad = net.loss_grad(theta, X, T)
    assert grad.shape == (net.n_params,)
    assert loss == pytest.approx(net.loss(theta, X, T), rel=1e-15, abs=0)
    assert rel_err(fd_gradient(net, theta, X, T), grad) <= TOL


@pytest.mark.parametrize(("act", "case", "l2"), ALL_CASES, ids=CASE_IDS)
def test_hvp_matches_central_differences_single_and_batched(act, case, l2):
    net, theta, X, T = make_problem(act, case, l2)
    V = np.random.default_rng(3).normal(size=(net.n_params, 3))
    HV = net.hvp(theta, X, T, V)
    assert HV.shape == V.shape
    assert rel_err(fd_hvp(net, theta, X, T, V), HV) <= TOL
    scale = np.max(np.abs(HV))
    for j in range(V.shape[1]):
        Hv = net.hvp(theta, X, T, V[:, j])
        assert Hv.shape == (net.n_params,)
        np.testing.assert_allclose(Hv, HV[:, j], rtol=0, atol=1e-13 * scale)


@pytest.mark.parametrize(("act", "case", "l2"), ALL_CASES, ids=CASE_IDS)
def test_dense_hessian_is_symmetric_and_equals_stacked_hvp(act, case, l2):
    net, theta, X, T = make_problem(act, case, l2)
    H = net.hessian(theta, X, T)
    assert H.shape == (net.n_params, net.n_params)
    np.testing.assert_array_equal(H, H.T)
    V = np.random.default_rng(4).normal(size=(net.n_params, 4))
    HV = net.hvp(theta, X, T, V)
    np.testing.assert_allclose(H @ V, HV, rtol=0, atol=1e-12 * np.max(np.abs(HV)))
    # the unsymmetrised columns are Hv on unit vectors: the symmetrisation hides no real asymmetry
    raw = net.hvp(theta, X, T, np.eye(net.n_params))
    np.testing.assert_allclose(raw, H, rtol=0, atol=1e-12 * np.max(np.abs(H)))
    # forming it in small blocks changes nothing
    np.testing.assert_allclose(net.hessian(theta, X, T, block=7), H, rtol=0,
                               atol=1e-14 * np.max(np.abs(H)))


def test_mixed_activations_three_hidden_layers():
    net, theta, X, T = make_problem(("tanh", "softplus", "sigmoid"), "softmax_ce", 0.01,
                                    hidden=(6, 2, 5))
    _, grad = net.loss_grad(theta, X, T)
    assert rel_err(fd_gradient(net, theta, X, T), grad) <= TOL
    V = np.random.default_rng(5).normal(size=(net.n_params, 2))
    assert rel_err(fd_hvp(net, theta, X, T, V), net.hvp(theta, X, T, V)) <= TOL


def test_l2_penalises_weights_only():
    net0, theta, X, T = make_problem("tanh", "bce", 0.0)
    net1, _, _, _ = make_problem("tanh", "bce", 0.3)
    l0, g0 = net0.loss_grad(theta, X, T)
    l1, g1 = net1.loss_grad(theta, X, T)
    mask = net0.weight_mask
    assert l1 - l0 == pytest.approx(0.15 * np.sum((theta * mask) ** 2), rel=1e-12)
    np.testing.assert_allclose(g1 - g0, 0.3 * mask * theta, rtol=0, atol=1e-14)
    for layer in net0.layers:
        assert np.all(mask[layer.w] == 1.0) and np.all(mask[layer.b] == 0.0)
    v = np.random.default_rng(6).normal(size=net0.n_params)
    np.testing.assert_allclose(net1.hvp(theta, X, T, v) - net0.hvp(theta, X, T, v),
                               0.3 * mask * v, rtol=0, atol=1e-13)


def test_layout_and_unpack():
    net, theta, X, _ = make_problem("tanh", "softmax_ce")
    assert net.sizes == (3, 5, 4, 3)
    assert net.n_params == 3 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3
    (W1, b1), (W2, b2), (W3, b3) = net.unpack(theta)
    assert W1.shape == (3, 5) and b1.shape == (5,) and W3.shape == (4, 3) and b3.shape == (3,)
    np.testing.assert_array_equal(W1.ravel(), theta[:15])  # row-major W, then b
    np.testing.assert_array_equal(b1, theta[15:20])
    z1 = X @ W1 + b1
    z2 = np.tanh(z1) @ W2 + b2
    z3 = np.tanh(z2) @ W3 + b3
    zs, acts = net.forward(theta, X)
    np.testing.assert_allclose(zs[-1], z3, rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(acts[0], X)
    np.testing.assert_allclose(net.predict(theta, X).sum(axis=1), 1.0, rtol=1e-14)


def test_no_hidden_layer():
    for case in LOSS_CASES:
        net, theta, X, T = make_problem((), case, 0.02, hidden=())
        assert net.sizes == (3, T.shape[1])
        assert net.n_params == 3 * T.shape[1] + T.shape[1]
        assert "no hidden layer" in net.describe()
        _, grad = net.loss_grad(theta, X, T)
        assert rel_err(fd_gradient(net, theta, X, T), grad) <= TOL
        V = np.random.default_rng(7).normal(size=(net.n_params, 2))
        assert rel_err(fd_hvp(net, theta, X, T, V), net.hvp(theta, X, T, V)) <= TOL
        H = net.hessian(theta, X, T)
        np.testing.assert_allclose(H @ V, net.hvp(theta, X, T, V), rtol=0, atol=1e-12)


def test_no_hidden_layer_mse_linear_hessian_is_exact_gauss_newton():
    """Linear least squares: H = 2/(N·out) · Xᵀ X per output (plus l2 on weights)."""
    net, theta, X, T = make_problem((), "mse-linear", 0.0, hidden=())
    Xb = np.hstack([X, np.ones((N_SAMPLES, 1))])  # (W rows for 3 inputs, then the bias)
    out = T.shape[1]
    H = net.hessian(theta, X, T)
    # θ = [W (3×out, row-major), b (out)]: parameter (i, o) for i in inputs+bias
    index = [[i * out + o for i in range(3)] + [3 * out + o] for o in range(out)]
    for o in range(out):
        block = H[np.ix_(index[o], index[o])]
        np.testing.assert_allclose(block, 2.0 / T.size * Xb.T @ Xb, rtol=1e-13)


# -- numerical stability -----------------------------------------------------------------------
@pytest.mark.parametrize(("act", "case"), list(itertools.product(ACTIVATIONS, LOSS_CASES)))
def test_huge_logits_give_finite_loss_gradient_and_hvp(act, case):
    net, theta, X, T = make_problem(act, case)
    big = theta * np.where(net.weight_mask > 0, 1e3, 1.0)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss, grad = net.loss_grad(big, X, T)
        hv = net.hvp(big, X, T, np.ones(net.n_params))
        out = net.predict(big, X)
    assert np.isfinite(loss) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hv))
    assert np.all(np.isfinite(out))
    assert np.max(np.abs(net.forward(big, X)[0][-1])) > 100  # the logits really are huge


def one_sample_net(loss, outputs, output="linear"):
    return MLP(1, outputs, NetworkConfig(hidden=(), activations=(), loss=loss, output=output))


@pytest.mark.parametrize(("z", "t", "expected_loss", "expected_dz"), [
    (1000.0, 0.0, 1000.0, 1.0),  # log(1 + e^1000) − 0
    (1000.0, 1.0, 0.0, 0.0),  # log(1 + e^1000) − 1000 = log(1 + e^-1000)
    (-1000.0, 1.0, 1000.0, -1.0),  # log(1 + e^-1000) + 1000
    (-1000.0, 0.0, 0.0, 0.0),
    (800.0, 0.25, 600.0, 0.75),  # 800 − 0.25·800
])
def test_bce_one_sample_huge_logit_exact(z, t, expected_loss, expected_dz):
    net = one_sample_net("bce", 1)
    theta = np.array([z, 0.0])  # w = z, b = 0, x = 1
    X, T = np.array([[1.0]]), np.array([[t]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, grad = net.loss_grad(theta, X, T)
    assert loss == pytest.approx(expected_loss, rel=1e-15, abs=1e-300)
    np.testing.assert_allclose(grad, [expected_dz, expected_dz], rtol=1e-15, atol=1e-300)


def test_softmax_ce_one_sample_huge_logits_exact():
    net = one_sample_net("softmax_ce", 3)
    theta = np.array([1000.0, 0.0, -1000.0, 0.0, 0.0, 0.0])  # W (1×3), b (3)
    X = np.array([[1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss_low, grad = net.loss_grad(theta, X, np.array([[0.0, 0.0, 1.0]]))
        loss_top = net.loss(theta, X, np.array([[1.0, 0.0, 0.0]]))
    assert loss_low == pytest.approx(2000.0, rel=1e-15)
    assert loss_top == pytest.approx(0.0, abs=1e-300)
    np.testing.assert_allclose(grad[:3], [1.0, 0.0, -1.0], atol=1e-300)


def test_mse_sigmoid_saturated_output():
    net = one_sample_net("mse", 1, output="sigmoid")
    theta = np.array([1000.0, 0.0])
    X, T = np.array([[1.0]]), np.array([[0.0]])
    loss, grad = net.loss_grad(theta, X, T)
    assert loss == 1.0  # σ(1000) = 1 exactly in double precision
    np.testing.assert_array_equal(grad, [0.0, 0.0])  # a saturated sigmoid has no gradient


# -- initialisation ----------------------------------------------------------------------------
def wide_net(init="xavier_uniform", seed=0):
    return MLP(40, 10, NetworkConfig(hidden=(200, 100), activations=("tanh", "tanh"), init=init,
                                     init_seed=seed))


@pytest.mark.parametrize("scheme", INIT_SCHEMES)
def test_init_is_seeded_and_biases_are_zero(scheme):
    net = wide_net(scheme)
    a = net.init_params()
    np.testing.assert_array_equal(a, net.init_params())
    np.testing.assert_array_equal(a, net.init_params(seed=0))
    np.testing.assert_array_equal(a, wide_net(scheme, seed=0).init_params())
    assert not np.array_equal(a, net.init_params(seed=1))
    assert not np.array_equal(a, wide_net(scheme, seed=5).init_params())
    np.testing.assert_array_equal(wide_net(scheme, seed=5).init_params(), net.init_params(seed=5))
    assert a.shape == (net.n_params,)
    for layer in net.layers:
        np.testing.assert_array_equal(a[layer.b], 0.0)
        assert np.all(a[layer.w] != 0.0)
    # the scheme argument overrides the configured one
    other = "uniform" if scheme != "uniform" else "he_normal"
    assert not np.array_equal(net.init_params(scheme=other), a)


def test_xavier_uniform_bound():
    net = wide_net("xavier_uniform")
    theta = net.init_params()
    for layer in net.layers:
        w = theta[layer.w]
        bound = np.sqrt(6.0 / (layer.fan_in + layer.fan_out))
        assert np.max(np.abs(w)) <= bound
        assert np.max(np.abs(w)) > 0.98 * bound  # it fills the interval
        assert np.std(w) == pytest.approx(bound / np.sqrt(3.0), rel=0.05)
        assert abs(np.mean(w)) < 0.05 * bound


@pytest.mark.parametrize(("scheme", "std_of"), [
    ("xavier_normal", lambda fi, fo: np.sqrt(2.0 / (fi + fo))),
    ("he_normal", lambda fi, fo: np.sqrt(2.0 / fi)),
    ("lecun_normal", lambda fi, fo: np.sqrt(1.0 / fi)),
])
def test_normal_init_scales(scheme, std_of):
    net = wide_net(scheme)
    theta = net.init_params()
    for layer in net.layers:
        w = theta[layer.w]
        assert np.std(w) == pytest.approx(std_of(layer.fan_in, layer.fan_out), rel=0.05)


def test_uniform_init_range():
    net = wide_net("uniform")
    w = net.init_params()
    weights = w[net.weight_mask > 0]
    assert np.all(np.abs(weights) <= 0.5) and np.max(np.abs(weights)) > 0.49


def test_unknown_init_scheme_is_refused():
    with pytest.raises(ValueError, match=r"^network\.init: unknown initialisation 'bogus'"):
        wide_net().init_params(scheme="bogus")


# -- targets and metrics -----------------------------------------------------------------------
def test_encode_targets_shapes_and_values():
    y2 = np.array([0, 1, 1, 0])
    y3 = np.array([2, 0, 1, 2])
    bce = encode_targets(y2, "classification", 2, "bce")
    assert bce.shape == (4, 1) and bce.dtype == float
    np.testing.assert_array_equal(bce[:, 0], y2)
    mse2 = encode_targets(y2, "classification", 2, "mse")
    assert mse2.shape == (4, 1)
    np.testing.assert_array_equal(mse2[:, 0], y2)
    np.testing.assert_array_equal(encode_targets(y2, "classification", 2, "softmax_ce"),
                                  [[1, 0], [0, 1], [0, 1], [1, 0]])
    one_hot = [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    np.testing.assert_array_equal(encode_targets(y3, "classification", 3, "softmax_ce"), one_hot)
    np.testing.assert_array_equal(encode_targets(y3, "classification", 3, "mse"), one_hot)
    assert encode_targets(y3, "classification", 5, "softmax_ce").shape == (4, 5)
    reg1 = encode_targets(np.array([0.5, -1.0, 2.0]), "regression", None, "mse")
    assert reg1.shape == (3, 1) and reg1.dtype == float
    np.testing.assert_array_equal(reg1[:, 0], [0.5, -1.0, 2.0])
    reg2 = encode_targets(np.arange(8.0).reshape(4, 2), "regression", None, "mse")
    np.testing.assert_array_equal(reg2, np.arange(8.0).reshape(4, 2))


@pytest.mark.parametrize(("args", "message"), [
    ((np.zeros(3), "regression", None, "bce"),
     r"^network\.loss: bce needs class labels; a regression dataset needs the squared-error "
     r"loss 'mse'$"),
    ((np.zeros(3), "regression", None, "softmax_ce"), r"^network\.loss: softmax_ce needs class"),
    ((np.array([0, 1, 2]), "classification", 3, "bce"),
     r"^network\.loss: binary cross-entropy needs 2 classes, the data has 3; use softmax_ce$"),
])
def test_encode_targets_refusals(args, message):
    with pytest.raises(ValueError, match=message):
        encode_targets(*args)


def test_classification_accuracy_by_hand():
    probs = np.array([[0.9], [0.2], [0.5], [0.51]])  # 0.5 exactly is class 0
    assert classification_accuracy(probs, np.array([1, 0, 0, 1])) == 1.0
    assert classification_accuracy(probs, np.array([1, 1, 1, 1])) == 0.5
    assert classification_accuracy(probs, np.array([0, 1, 1, 0])) == 0.0
    soft = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.2, 0.3, 0.5], [0.3, 0.4, 0.3]])
    assert classification_accuracy(soft, np.array([1, 0, 2, 0])) == 0.75
    assert isinstance(classification_accuracy(soft, np.array([1, 0, 2, 1])), float)


def test_rms_error_by_hand():
    out = np.array([[1.0, 2.0], [3.0, 4.0]])
    T = np.array([[1.0, 0.0], [3.0, 0.0]])  # squared errors 0, 4, 0, 16 → mean 5
    assert rms_error(out, T) == pytest.approx(np.sqrt(5.0), rel=1e-15)
    assert rms_error(out, out) == 0.0
    assert rms_error(np.array([[0.3]]), np.array([[0.0]])) == pytest.approx(0.3, rel=1e-15)


def test_predict_output_units():
    for case, check in [
        ("bce", lambda p: np.all((p > 0) & (p < 1))),
        ("softmax_ce", lambda p: np.allclose(p.sum(axis=1), 1.0)),
        ("mse-sigmoid", lambda p: np.all((p > 0) & (p < 1))),
    ]:
        net, theta, X, _ = make_problem("tanh", case)
        assert check(net.predict(theta, X)), case
    net, theta, X, _ = make_problem("tanh", "mse-linear")
    zs, _ = net.forward(theta, X)
    np.testing.assert_array_equal(net.predict(theta, X), zs[-1])
