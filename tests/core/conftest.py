"""Shared small problems for the engine's tests."""

import os
import sys

# One BLAS thread, as in the app's worker processes: on a loaded 2-core machine OpenBLAS's
# threads fight over the cores and a dense 337 × 337 solve gets 10–50× slower (measured).
# Only effective when numpy is not loaded yet (pytest tests/core, or the whole suite).
if "numpy" not in sys.modules:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from odeprop.core.config import NetworkConfig  # noqa: E402
from odeprop.core.flow import GradientFlow, Objective  # noqa: E402
from odeprop.core.network import MLP, encode_targets  # noqa: E402


@pytest.fixture
def small_flow():
    """A 2-6-1 tanh network on 40 XOR-like points: a real, quick gradient flow."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = MLP(2, 1, NetworkConfig(hidden=(6,), activations=("tanh",), loss="bce"))
    T = encode_targets(y, "classification", 2, "bce")
    return GradientFlow(Objective(net, X, T)), net.init_params()
