"""The RKC lead (benchmarks/rkc.py): its stability polynomial and its order are RKC's.

Sommeijer, Shampine & Verwer (1997): with damping 2/13 the s-stage second-order scheme is stable
on the negative real axis for |hλ| ≤ β(s) ≈ 0.65·s², and R_s(z) = e^z + O(z³).
"""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "rkc.py"
_spec = importlib.util.spec_from_file_location("rkc_lead", _PATH)
rkc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rkc)


def _interval(s: int) -> float:
    """The largest β with |R_s(−x)| ≤ 1 on [0, β], on a fine grid."""
    xs = np.linspace(0.0, 0.8 * s * s, 4_000)
    values = np.abs([rkc.stability(s, -x) for x in xs])
    outside = np.nonzero(values > 1 + 1e-9)[0]
    return xs[outside[0]] if outside.size else xs[-1]


@pytest.mark.parametrize("s", [3, 5, 9, 16])
def test_the_stability_interval_grows_as_s_squared(s):
    assert 0.64 <= _interval(s) / s**2 <= 0.70
    # damped: strictly inside the unit disc along the interval, away from its ends
    x = np.linspace(0.1, 0.9, 50) * _interval(s)
    assert max(abs(rkc.stability(s, -v)) for v in x) < 1.0


@pytest.mark.parametrize("s", [2, 4, 9])
def test_the_scheme_has_order_two(s):
    errors = [abs(rkc.stability(s, z) - np.exp(z)) for z in (-1e-2, -5e-3)]
    assert errors[0] / errors[1] == pytest.approx(8.0, rel=0.05)  # local error O(z³)
    assert errors[0] > 1e-12  # and not of order three


def test_it_integrates_a_linear_flow_to_second_order():
    """Global error on y' = −y over [0, 1] falls fourfold when h halves."""
    def solve(n, s=5):
        y = np.array([1.0])
        for _ in range(n):
            y = rkc.rkc_step(lambda v: -v, y, -y, 1.0 / n, s)
        return abs(y[0] - np.exp(-1.0))
    assert solve(10) / solve(20) == pytest.approx(4.0, rel=0.1)
