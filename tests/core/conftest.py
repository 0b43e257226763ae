"""Shared small problems for the engine's tests."""

import numpy as np
import pytest

from odeprop.core.config import NetworkConfig
from odeprop.core.flow import GradientFlow, Objective
from odeprop.core.network import MLP, encode_targets


@pytest.fixture
def small_flow():
    """A 2-6-1 tanh network on 40 XOR-like points: a real, quick gradient flow."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = MLP(2, 1, NetworkConfig(hidden=(6,), activations=("tanh",), loss="bce"))
    T = encode_targets(y, "classification", 2, "bce")
    return GradientFlow(Objective(net, X, T)), net.init_params()
