"""The network view's picture of θ: heat maps, weights, the summary and where it takes over."""

import numpy as np
import pytest

from odeprop.core.config import Experiment
from odeprop.core.network_picture import EDGE_LIMIT, WIDTH_LIMIT, needs_summary, network_picture
from odeprop.core.presets import load_preset
from odeprop.core.run import Problem


def _problem(hidden=(16, 16), kind="moons", **network):
    exp = Experiment().with_changes(dataset={"kind": kind, "n_samples": 60},
                                    network={"hidden": list(hidden), **network})
    return Problem.build(exp)


def _theta(problem, seed=3):
    """Weights far from the initial ones, so that every neuron does something."""
    return np.random.default_rng(seed).normal(0.0, 1.5, problem.net.n_params)


@pytest.mark.parametrize("network", [{}, {"activations": ["relu", "sigmoid"]},
                                     {"activations": ["softplus", "linear"], "loss": "mse"}])
def test_heat_maps_equal_a_forward_pass_at_grid_points(network):
    problem = _problem(**network)
    net, theta = problem.net, _theta(problem)
    picture = network_picture(problem, theta)
    assert [a.shape for a in picture.activity] == [(n, 24, 24) for n in net.sizes]
    for i, j in [(0, 0), (5, 17), (23, 2), (23, 23)]:
        point = np.array([[picture.xs[i], picture.ys[j]]])
        _, acts = net.forward(theta, point)
        expected = [*acts[:-1], net.predict(theta, point)]
        for layer, values in enumerate(expected):
            np.testing.assert_allclose(picture.activity[layer][:, i, j], values[0],
                                       rtol=1e-12, atol=1e-12)


def test_the_grid_spans_the_data_and_the_levels_hold_every_value():
    problem = _problem(activations=["relu", "tanh"])
    picture = network_picture(problem, _theta(problem))
    X = problem.dataset.X_train
    assert picture.xs[0] < X[:, 0].min() and picture.xs[-1] > X[:, 0].max()
    assert picture.ys[0] < X[:, 1].min() and picture.ys[-1] > X[:, 1].max()
    assert picture.levels[2] == (-1.0, 1.0)  # tanh
    assert picture.levels[3] == (0.0, 1.0)  # P(class) for bce
    for values, (lo, hi) in zip(picture.activity, picture.levels, strict=True):
        assert lo <= values.min() and values.max() <= hi
    relu = picture.activity[1]
    assert picture.levels[1][1] == pytest.approx(np.abs(relu).max())


def test_the_weights_are_thetas_slices_and_copies():
    problem = _problem()
    theta = _theta(problem)
    picture = network_picture(problem, theta)
    assert not picture.summary and picture.n_weights == 2 * 16 + 16 * 16 + 16
    for layer, W, b in zip(problem.net.layers, picture.weights, picture.biases, strict=True):
        assert W.shape == (layer.fan_in, layer.fan_out)
        np.testing.assert_array_equal(W.ravel(), theta[layer.w])
        np.testing.assert_array_equal(b, theta[layer.b])
        assert not W.flags.writeable
    kept = picture.weights[0].copy()
    theta[:] = 0.0  # the run goes on with its own θ: the picture stays as it was
    np.testing.assert_array_equal(picture.weights[0], kept)
    np.testing.assert_allclose(picture.weight_norms,
                               [np.linalg.norm(W) for W in picture.weights])


def test_names_of_layers_and_neurons():
    picture = network_picture(_problem(hidden=(3,)), _problem(hidden=(3,)).theta0)
    assert picture.layer_names == ("input", "hidden 1 (tanh)", "output (probability)")
    assert picture.neuron_names[0] == ("x1", "x2")
    assert picture.neuron_names[1] == ("neuron 1", "neuron 2", "neuron 3")
    assert picture.neuron_names[2] == ("lower moon",)  # P(the second class)


def test_summary_takes_over_above_the_edge_limit():
    assert EDGE_LIMIT == 400 and WIDTH_LIMIT == 32
    # 2-4-11-29-1 has exactly 400 weights, 2-12-29-1 has 401
    assert not needs_summary((2, 4, 11, 29, 1))
    assert needs_summary((2, 12, 29, 1))
    assert needs_summary((2, 33, 1))  # few edges, but a column too tall to draw
    full = _problem(hidden=(4, 11, 29))
    big = _problem(hidden=(12, 29))
    assert not network_picture(full, full.theta0).summary
    picture = network_picture(big, _theta(big))
    assert picture.summary and picture.n_weights == 401
    assert picture.weights == () and picture.activity == ()  # no per-edge data


def test_summary_histograms_count_every_weight_over_shared_bins():
    problem = _problem(hidden=(12, 29))
    theta = _theta(problem)
    picture = network_picture(problem, theta)
    assert picture.histograms.shape == (3, len(picture.bin_edges) - 1)
    assert picture.histograms.sum() == picture.n_weights
    for layer, counts in zip(problem.net.layers, picture.histograms, strict=True):
        assert counts.sum() == layer.fan_in * layer.fan_out
        np.testing.assert_array_equal(counts, np.histogram(theta[layer.w],
                                                           bins=picture.bin_edges)[0])
    largest = max(np.abs(theta[layer.w]).max() for layer in problem.net.layers)
    assert picture.bin_edges[0] == -largest and picture.bin_edges[-1] == largest
    np.testing.assert_allclose(
        picture.weight_norms, [np.linalg.norm(theta[s.w]) for s in problem.net.layers])


def test_big_network_preset_is_summarised():
    problem = Problem.build(load_preset("big-network"))
    picture = network_picture(problem, problem.theta0)
    assert picture.summary and picture.sizes == problem.net.sizes
    assert picture.histograms.sum(axis=1).tolist() == [784 * 128, 128 * 10]


def test_data_that_are_not_2d_get_weights_but_no_heat_maps():
    problem = _problem(kind="iris", loss="softmax_ce")
    picture = network_picture(problem, problem.theta0)
    assert not picture.summary and picture.activity == () and picture.xs is None
    assert picture.sizes == (4, 16, 16, 3)
    assert len(picture.neuron_names[-1]) == 3
