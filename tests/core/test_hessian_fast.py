"""The dense Hessian (layer blocks from the factorised R-operator) against the plain R-operator:
every activation, loss, depth and penalty; chunking over samples; memory; the GEMM helper."""

from __future__ import annotations

import itertools
import tracemalloc
import warnings

import numpy as np
import pytest

from odeprop.core import network
from odeprop.core.config import ACTIVATIONS, NetworkConfig
from odeprop.core.network import MLP, encode_targets

N_SAMPLES = 23
N_INPUTS = 3
TOL = 1e-12  # absolute, after scaling by max |H|

# (id, loss, output unit)
LOSS_CASES = {
    "bce": ("bce", "linear"),
    "softmax_ce": ("softmax_ce", "linear"),
    "mse-linear": ("mse", "linear"),
    "mse-sigmoid": ("mse", "sigmoid"),
}
SHAPES = [(), (5,), (5, 4), (4, 3, 3)]


def make_targets(case: str, n: int, rng) -> np.ndarray:
    if case == "bce":
        return encode_targets(rng.integers(0, 2, n), "classification", 2, "bce")
    if case == "softmax_ce":
        return encode_targets(rng.integers(0, 3, n), "classification", 3, "softmax_ce")
    if case == "mse-linear":
        return encode_targets(rng.normal(size=(n, 2)), "regression", None, "mse")
    return encode_targets(rng.integers(0, 3, n), "classification", 3, "mse")  # sigmoid outputs


def make_problem(acts, case, l2=0.0, hidden=(5, 4), n=N_SAMPLES, n_inputs=N_INPUTS, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_inputs))
    T = make_targets(case, n, rng)
    acts = (acts,) * len(hidden) if isinstance(acts, str) else tuple(acts)
    loss, output = LOSS_CASES[case]
    net = MLP(n_inputs, T.shape[1], NetworkConfig(hidden=hidden, activations=acts, loss=loss,
                                                  output=output, l2=l2))
    # off the initial point (biases non-zero) so every term of the Hessian is exercised
    theta = net.init_params(seed=1) + 0.3 * rng.normal(size=net.n_params)
    return net, theta, X, T


def stacked_hvp(net, theta, X, T) -> np.ndarray:
    """The Hessian column by column: one R-operator product per unit vector."""
    return np.column_stack([net.hvp(theta, X, T, e) for e in np.eye(net.n_params)])


def assert_exact(H, reference, tol=TOL):
    assert H.shape == reference.shape
    scale = np.max(np.abs(reference))
    assert scale > 0
    np.testing.assert_allclose(H, reference, rtol=0, atol=tol * scale)


CASES = list(itertools.product(ACTIVATIONS, LOSS_CASES, (0.0, 0.1), SHAPES))
CASE_IDS = [f"{a}-{c}-l2={l2}-{'x'.join(map(str, h)) or 'none'}" for a, c, l2, h in CASES]


@pytest.mark.parametrize(("act", "case", "l2", "hidden"), CASES, ids=CASE_IDS)
def test_hessian_equals_stacked_hvp_and_is_symmetric(act, case, l2, hidden):
    net, theta, X, T = make_problem(act, case, l2, hidden)
    H = net.hessian(theta, X, T)
    assert H.dtype == np.float64 and H.flags.c_contiguous
    np.testing.assert_array_equal(H, H.T)
    assert_exact(H, stacked_hvp(net, theta, X, T))
    assert_exact(H, net._hessian_by_hvp(theta, X, T))


def test_l2_adds_to_the_weight_diagonal_only():
    net0, theta, X, T = make_problem("tanh", "softmax_ce", 0.0, (4, 3, 3))
    net1, _, _, _ = make_problem("tanh", "softmax_ce", 0.1, (4, 3, 3))
    diff = net1.hessian(theta, X, T) - net0.hessian(theta, X, T)
    np.testing.assert_allclose(diff, np.diag(0.1 * net0.weight_mask), rtol=0, atol=1e-15)


@pytest.mark.parametrize("case", LOSS_CASES)
def test_mixed_activations_four_hidden_layers(case):
    net, theta, X, T = make_problem(("tanh", "relu", "softplus", "sigmoid"), case, 0.01,
                                    hidden=(6, 2, 5, 3), n=40)
    H = net.hessian(theta, X, T)
    np.testing.assert_array_equal(H, H.T)
    assert_exact(H, stacked_hvp(net, theta, X, T))


@pytest.mark.parametrize(("hidden", "n_inputs", "case"), [
    ((16, 16), 2, "bce"),  # the default experiment's shape
    ((12, 12, 12), 2, "softmax_ce"),
    ((20,), 9, "mse-sigmoid"),  # fan-in wider than the layer
    ((3, 17), 6, "mse-linear"),  # a narrow layer feeding a wide one
])
def test_larger_networks_match_the_reference(hidden, n_inputs, case):
    net, theta, X, T = make_problem("tanh", case, 0.0, hidden, n=180, n_inputs=n_inputs)
    H = net.hessian(theta, X, T)
    np.testing.assert_array_equal(H, H.T)
    assert_exact(H, net._hessian_by_hvp(theta, X, T))


def test_default_experiment_matches_the_reference():
    from odeprop.core.presets import default_experiment
    from odeprop.core.run import Problem

    p = Problem.build(default_experiment())
    net, X, T, theta = p.net, p.dataset.X_train, p.T_train, p.theta0
    assert net.n_params == 337
    H = net.hessian(theta, X, T)
    np.testing.assert_array_equal(H, H.T)
    assert_exact(H, net._hessian_by_hvp(theta, X, T))
    np.testing.assert_array_equal(net.hessian(theta, X, T), H)  # deterministic


# -- chunks of samples -------------------------------------------------------------------------
@pytest.mark.parametrize("block", [1, 2, 7, N_SAMPLES - 1, N_SAMPLES, 1000])
def test_chunking_over_samples_changes_only_rounding(block):
    net, theta, X, T = make_problem("softplus", "softmax_ce", 0.1, (4, 3, 3))
    H = net.hessian(theta, X, T)
    Hb = net.hessian(theta, X, T, block=block)
    np.testing.assert_array_equal(Hb, Hb.T)
    np.testing.assert_allclose(Hb, H, rtol=0, atol=1e-14 * np.max(np.abs(H)))


def test_chunk_size_obeys_block_and_the_memory_budget(monkeypatch):
    net = MLP(64, 10, NetworkConfig(hidden=(32,), activations=("tanh",), loss="softmax_ce"))
    per_sample = 65 * 65  # the largest temporary per sample: the Kronecker product a⁺ ⊗ a⁺
    assert net._hessian_chunk_size(1000, 256) == 250  # ≤ 256, chunks of near-equal size
    assert net._hessian_chunk_size(100, 256) == 100
    assert net._hessian_chunk_size(10, 3) == 3
    monkeypatch.setattr(network, "_HESSIAN_CHUNK_ELEMENTS", 50 * per_sample)
    chunk = net._hessian_chunk_size(1000, 256)
    assert chunk * per_sample <= 50 * per_sample and chunk >= 40
    monkeypatch.setattr(network, "_HESSIAN_CHUNK_ELEMENTS", 1)
    assert net._hessian_chunk_size(1000, 256) == 1


def test_memory_budget_forces_chunks_and_changes_only_rounding(monkeypatch):
    net, theta, X, T = make_problem("tanh", "bce", 0.0, (6, 5), n=60)
    H = net.hessian(theta, X, T)
    monkeypatch.setattr(network, "_HESSIAN_CHUNK_ELEMENTS", 8 * 7 * 7)  # 8 samples at a time
    assert net._hessian_chunk_size(60, 256) <= 8
    np.testing.assert_allclose(net.hessian(theta, X, T), H, rtol=0,
                               atol=1e-14 * np.max(np.abs(H)))


def test_memory_stays_modest():
    """No (N × P × P) tensor: the temporaries stay well under N·P·width and about H's size."""
    net, theta, X, T = make_problem("tanh", "bce", 0.0, (32, 32), n=300, n_inputs=2)
    net.hessian(theta, X, T)  # warm caches
    tracemalloc.start()
    try:
        H = net.hessian(theta, X, T)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    extra = peak - H.nbytes
    assert extra <= 0.25 * 8 * len(X) * net.n_params * 32
    assert extra <= 2 * H.nbytes


# -- stability -----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", LOSS_CASES)
def test_huge_logits_give_a_finite_hessian(case):
    net, theta, X, T = make_problem("tanh", case)
    big = theta * np.where(net.weight_mask > 0, 1e3, 1.0)
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        H = net.hessian(big, X, T)
    assert np.all(np.isfinite(H))
    np.testing.assert_array_equal(H, H.T)
    assert np.max(np.abs(net.forward(big, X)[0][-1])) > 100


# -- helpers --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("m", "k", "n"), [
    (1, 1, 1), (5, 3, 4), (300, 150, 16), (301, 150, 16), (1000, 40, 40), (7, 500, 300),
    (40, 2000, 2000),
])
def test_gemm_equals_matmul(m, k, n):
    rng = np.random.default_rng(m + k + n)
    A = rng.normal(size=(m, k))
    B = rng.normal(size=(n, k)).T  # a transposed view, as the Hessian passes Wᵀ
    expected = A @ B
    np.testing.assert_allclose(network._gemm(A, B), expected, rtol=0,
                               atol=1e-13 * max(1.0, np.max(np.abs(expected))))
    assert network._gemm(A, B).shape == (m, n)


def test_triangle_packing():
    tri = network._triangle(4)
    assert tri.rows.size == 10 and np.all(tri.rows <= tri.cols)
    np.testing.assert_array_equal(tri.pack, tri.pack.T)
    np.testing.assert_array_equal(tri.pack[tri.rows, tri.cols], np.arange(10))
    np.testing.assert_array_equal(tri.flat, tri.rows * 4 + tri.cols)
    with pytest.raises(ValueError):
        tri.pack[0, 0] = 1  # cached: read-only
