"""Regions of absolute stability: the known real-axis intervals and A(α) angles."""

import math

import numpy as np
import pytest

from odeprop.core.methods import METHODS
from odeprop.core.stability import (
    amplification,
    bdf_alpha_degrees,
    boundary_locus,
    real_axis_interval,
    region_grid,
    region_name,
    stability_function,
)


@pytest.mark.parametrize("name,interval", [
    ("euler", 2.0), ("RK23", 2.5127), ("RK4", 2.7853), ("RK45", 3.3066), ("DOP853", 6.3936),
])
def test_explicit_real_axis_intervals(name, interval):
    assert real_axis_interval(name, x_max=10) == pytest.approx(interval, abs=2e-4)


def test_method_catalogue_bounds_agree_with_the_tableaus():
    for method, region in [("gd", "euler"), ("RK23", "RK23"), ("RK45", "RK45"),
                           ("DOP853", "DOP853"), ("dopri5", "RK45"), ("dop853", "DOP853")]:
        assert METHODS[method].stability_bound == pytest.approx(
            real_axis_interval(region, x_max=10), abs=2e-4), method


def test_explicit_euler_is_the_unit_disc_around_minus_one():
    z = np.array([-1.0, -2.0, -1 + 0.999j, 0.01, -2.01, -1 + 1.01j])
    assert np.allclose(amplification("euler", z), np.abs(1 + z))


def test_rk4_stability_polynomial_is_the_taylor_series():
    z = np.array([0.3 - 0.2j, -1.5, 2j])
    expected = 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24
    assert np.allclose(stability_function("RK4")(z), expected)


def test_radau_iia_is_l_stable():
    R = stability_function("Radau")
    assert abs(R(np.array([-1e8]))[0]) < 1e-6  # R(−∞) = 0
    assert np.all(np.abs(R(1j * np.linspace(-50, 50, 101))) <= 1 + 1e-12)  # whole imaginary axis
    assert real_axis_interval("Radau", x_max=5) == math.inf
    # order 5: R(z) − e^z = O(z^6)
    z = np.array([1e-2])
    assert abs(R(z)[0] - np.exp(z[0])) < 1e-11


@pytest.mark.parametrize("order", [1, 2])
def test_bdf1_and_bdf2_contain_the_whole_left_half_plane(order):
    assert bdf_alpha_degrees(order) == 90.0
    assert np.all(boundary_locus("bdf", order=order).real >= -1e-12)
    re, im = np.linspace(-50, -1e-3, 40), np.linspace(-50, 50, 41)
    assert np.all(region_grid("bdf", re, im, order=order) <= 1 + 1e-9)


@pytest.mark.parametrize("order,alpha", [(3, 86.03), (4, 73.35), (5, 51.84)])
def test_bdf3_to_5_are_only_a_alpha_stable(order, alpha):
    assert bdf_alpha_degrees(order) == pytest.approx(alpha, abs=0.01)
    # along the ray at α − 1° (inside the sector) every point is stable; at α + 1° some is not
    radii = np.geomspace(1e-3, 50, 400)
    inside = -radii * np.exp(1j * np.radians(alpha - 1))
    outside = -radii * np.exp(1j * np.radians(alpha + 1))
    assert np.all(amplification("bdf", inside, order=order) <= 1 + 1e-9)
    assert np.any(amplification("bdf", outside, order=order) > 1)


def test_momentum_interval_is_two_times_one_plus_beta():
    for beta in (0.0, 0.5, 0.9):
        assert real_axis_interval("momentum", beta=beta) == pytest.approx(2 * (1 + beta),
                                                                           abs=2e-4)


def test_region_names_cover_the_methods_with_a_region():
    assert region_name("gd") == "euler" and region_name("vode-bdf") == "bdf"
    assert region_name("adam") is None
