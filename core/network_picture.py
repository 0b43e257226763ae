"""A picture of θ for the network view: the layers, every weight and bias, and for 2-D data each
neuron's activation over the input plane (as TensorFlow Playground draws them).

A network with more than :data:`EDGE_LIMIT` weights, or a layer wider than :data:`WIDTH_LIMIT`
neurons, cannot be drawn edge by edge legibly; its picture is a summary instead: each layer's
weight norm and a histogram of its weights over bins shared by all layers. The GUI draws either
kind as it comes; all the numbers are made here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .run import Problem
from .views import plane_grid

#: Networks with more weights (edges) than this are summarised. Playground's largest network
#: (6 hidden layers of 8) has 344; the lab's default 2-16-16-1 has 304.
EDGE_LIMIT = 400
#: A layer wider than this is summarised too: its column of neurons would be a few pixels each.
WIDTH_LIMIT = 32
#: Each neuron's heat map is this many points square (one forward pass over the grid).
HEATMAP_RESOLUTION = 24
#: Bins of the summary's weight histograms (odd: zero sits in the middle of a bin).
HISTOGRAM_BINS = 41


def _frozen(array, dtype=float) -> np.ndarray:
    out = np.array(array, dtype=dtype)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class NetworkPicture:
    """What the network view draws for one θ (read-only copies, never views into θ).

    ``weights[l]`` is layer l's (fan_in × fan_out) matrix, ``biases[l]`` its (fan_out,) vector;
    both are empty tuples in summary mode. ``activity[l]`` is (sizes[l], nx, ny): neuron j of
    layer l (0 = the inputs) over the grid ``xs`` × ``ys`` — the input feature itself, a hidden
    neuron's activation, or the network's output (a probability for classification losses);
    empty unless the data are 2-D and the picture is full. ``levels[l]`` is the colour range of
    layer l's heat maps: (−1, 1) for tanh and sigmoid, (0, 1) for a probability output, else
    ±max |value| over the layer's grid.
    """

    sizes: tuple[int, ...]
    layer_names: tuple[str, ...]
    neuron_names: tuple[tuple[str, ...], ...]
    n_weights: int
    weight_norms: np.ndarray  # (layers,): each layer's Frobenius norm ‖W_l‖
    weights: tuple[np.ndarray, ...] = ()
    biases: tuple[np.ndarray, ...] = ()
    xs: np.ndarray | None = None
    ys: np.ndarray | None = None
    activity: tuple[np.ndarray, ...] = ()
    levels: tuple[tuple[float, float], ...] = ()
    probability_output: bool = False
    bin_edges: np.ndarray | None = None  # (bins + 1,): shared by every layer's histogram
    histograms: np.ndarray | None = None  # (layers, bins): weights per bin, per layer

    @property
    def summary(self) -> bool:
        """True when the picture is a summary (norms and histograms), not every edge."""
        return self.histograms is not None


def needs_summary(sizes) -> bool:
    """Whether a network of these layer sizes is summarised rather than drawn edge by edge."""
    edges = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    return edges > EDGE_LIMIT or max(sizes) > WIDTH_LIMIT


def network_picture(problem: Problem, theta: np.ndarray,
                    resolution: int = HEATMAP_RESOLUTION) -> NetworkPicture:
    """The picture of ``theta`` for ``problem``'s network (full or summary, see the module)."""
    net, data = problem.net, problem.dataset
    theta = np.asarray(theta, dtype=float)
    params = net.unpack(theta)
    n_weights = sum(W.size for W, _ in params)
    # ‖W‖ by einsum, not np.linalg.norm: its BLAS dot, threaded past a size, stalled for up
    # to 60 ms on a busy 2-core machine (784 × 128 weights; einsum: 0.03 ms, no threads)
    norms = _frozen([np.sqrt(np.einsum("ij,ij->", W, W)) for W, _ in params])
    probability = net.loss_name in ("bce", "softmax_ce") or net.output == "sigmoid"
    output_name = "output (probability)" if probability else "output"
    hidden = [f"hidden {i + 1} ({act})" for i, act in enumerate(net.activations)]
    layer_names = ("input", *hidden, output_name)
    # one output neuron for two classes (bce): P(the second class)
    outputs = (data.target_names if len(data.target_names) == net.sizes[-1]
               else data.target_names[-1:])
    neuron_names = (tuple(data.feature_names),
                    *(tuple(f"neuron {j + 1}" for j in range(n)) for n in net.sizes[1:-1]),
                    tuple(str(name) for name in outputs))
    common = dict(sizes=tuple(net.sizes), layer_names=layer_names, neuron_names=neuron_names,
                  n_weights=n_weights, weight_norms=norms, probability_output=probability)
    if needs_summary(net.sizes):
        largest = max(float(np.abs(W).max(initial=0.0)) for W, _ in params) or 1.0
        edges = np.linspace(-largest, largest, HISTOGRAM_BINS + 1)
        counts = [np.histogram(W, bins=edges)[0] for W, _ in params]
        return NetworkPicture(**common, bin_edges=_frozen(edges), histograms=_frozen(counts, int))
    weights = tuple(_frozen(W) for W, _ in params)
    biases = tuple(_frozen(b) for _, b in params)
    if data.n_features != 2:
        return NetworkPicture(**common, weights=weights, biases=biases)
    xs, ys, points = plane_grid(problem, resolution)
    with np.errstate(all="ignore"):
        _, acts = net.forward(theta, points)  # one pass over the grid keeps every layer
        acts = [*acts[:-1], net.output_of(acts[-1]) if probability else acts[-1]]
    activity, levels = [], []
    for layer, values in enumerate(acts):
        activity.append(_frozen(values.T.reshape(-1, resolution, resolution)))
        levels.append(_levels(layer, net, values, probability))
    return NetworkPicture(**common, weights=weights, biases=biases, xs=_frozen(xs),
                          ys=_frozen(ys), activity=tuple(activity), levels=tuple(levels))


def _levels(layer: int, net, values: np.ndarray, probability: bool) -> tuple[float, float]:
    """The colour range of one layer's heat maps (see :class:`NetworkPicture`)."""
    last = layer == len(net.sizes) - 1
    if last and probability:
        return 0.0, 1.0
    if 0 < layer and not last and net.activations[layer - 1] in ("tanh", "sigmoid"):
        return -1.0, 1.0
    finite = values[np.isfinite(values)]
    scale = float(np.abs(finite).max(initial=0.0)) or 1.0
    return -scale, scale
