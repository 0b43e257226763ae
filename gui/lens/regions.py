"""Which region of absolute stability the lens draws for a method at a step, and its outline.

The maths is :mod:`odeprop.core.stability`'s; this module only decides what to show (BDF of the
order in use, momentum with the run's β, a note when there is nothing to draw) and turns the
regions into closed curves in z = h·λ_J = −h·λ(H): one-step methods as the level set |R(z)| = 1
of their stability function on a grid, multistep methods by their boundary locus. Outlines are
cached: one region costs 10–300 ms to trace, the lens asks for it at every redraw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyqtgraph as pg

from odeprop.core import stability
from odeprop.core.methods import METHODS

#: Grid (re range, im upper bound, spacing) that holds the whole |R(z)| = 1 curve of each
#: one-step method; the lower half-plane is the mirror image (R has real coefficients).
ONE_STEP_GRIDS = {
    "euler": ((-2.4, 0.4), 1.4, 0.005),
    "RK23": ((-3.0, 0.6), 3.0, 0.01),
    "RK4": ((-3.2, 0.8), 3.4, 0.01),
    "RK45": ((-3.8, 1.6), 4.3, 0.01),
    "DOP853": ((-6.8, 0.8), 6.8, 0.015),
    "Radau": ((-0.6, 12.6), 8.4, 0.06),
}
#: Points whose amplification exceeds 1 by less than this count as on the boundary (inside):
#: z ≈ 0 sits on every region's edge, and λ ≈ 0 is common.
AMPLIFICATION_SLACK = 1e-6

TITLES = {
    "euler": "explicit Euler = gradient descent",
    "RK23": "RK23 (Bogacki–Shampine)",
    "RK45": "RK45 (Dormand–Prince 5(4))",
    "DOP853": "DOP853 (order 8)",
    "Radau": "Radau IIA (order 5)",
    "momentum": "heavy-ball momentum",
    "bdf": "BDF",
}

NO_REGION = {
    "adam": "Adam rescales every direction by its own gradient history: it has no fixed "
            "region of absolute stability, so none is drawn.",
    "vode-adams": "Adams formulas of varying order: the lens draws no region for them.",
    "zvode-adams": "Adams formulas of varying order: the lens draws no region for them.",
    "ros2-gn": "A Rosenbrock W-method on the Gauss–Newton matrix: its stability depends on that "
               "matrix as well as on H, so no region is drawn.",
    "ros34pw2-gn": "A Rosenbrock W-method on the Gauss–Newton matrix: its stability depends on "
                   "that matrix as well as on H, so no region is drawn.",
    "lm": "Levenberg–Marquardt on the Gauss–Newton matrix: an optimiser whose stability depends "
          "on that matrix as well as on H, so no region is drawn.",
}


@dataclass(frozen=True)
class Region:
    """What the stability view draws: a family of :mod:`core.stability` (None: nothing), its
    order or β, a title, a note for the student, and the stable segment [−bound, 0] of the
    negative real axis (None: the whole axis is stable)."""

    family: str | None
    title: str
    note: str = ""
    order: int = 1
    beta: float = 0.9
    stable_inside: bool = True
    bound: float | None = None

    @property
    def key(self) -> tuple:
        return (self.family, self.order if self.family == "bdf" else 0,
                round(self.beta, 12) if self.family == "momentum" else 0.0)


def region_for(method: str, snapshot=None, *, momentum: float = 0.9,
               max_order: int | None = None) -> Region:
    """The region of ``method`` at ``snapshot`` (its order and method in use), or a Region with
    ``family=None`` and a note saying why there is none."""
    family = stability.region_name(method)
    order = getattr(snapshot, "order", None)
    note = ""
    if family is None and method in ("LSODA", "lsoda"):
        in_use = getattr(snapshot, "method_in_use", None)
        if in_use == "BDF":
            family, note = "bdf", f"{method} is using its BDF formulas now."
        elif in_use == "Adams":
            return Region(None, f"{method} (Adams now)",
                          f"{method} is using Adams formulas now (non-stiff mode): no region "
                          "drawn. It switches to BDF when the problem turns stiff.")
        else:
            return Region(None, method, f"{method} has not reported which formulas it uses yet.")
    if family is None:
        label = METHODS[method].label if method in METHODS else method
        return Region(None, label, NO_REGION.get(method, f"No stability region for {label}."))
    if family == "bdf":
        top = max_order or 5
        if order is None:
            order = top
            note = (f"order not reported, showing BDF-{top} (worst case)" if top == 5 else
                    f"order not reported, showing BDF-{top} (the highest order allowed)")
        else:
            note = note or f"following the order the solver uses now: {order}"
        alpha = _bdf_alpha(int(order)) if order > 2 else 90.0
        stable = ("A-stable" if order <= 2 else
                  f"A(α)-stable, α = {alpha:.1f}°")
        return Region("bdf", f"BDF-{order} ({stable})", note, order=int(order),
                      stable_inside=False, bound=None)
    if family == "momentum":
        return Region("momentum", f"heavy-ball momentum, β = {momentum:g}", beta=momentum,
                      bound=2.0 * (1.0 + momentum))
    if family == "Radau":
        return Region("Radau", TITLES["Radau"] + ", A-stable", stable_inside=False, bound=None)
    info = METHODS.get(method)
    bound = info.stability_bound if info is not None else None
    return Region(family, TITLES.get(family, family),
                  bound=bound if bound is not None and math.isfinite(bound) else None)


@lru_cache(maxsize=8)
def _bdf_alpha(order: int) -> float:
    return stability.bdf_alpha_degrees(order)


def outline(region: Region) -> list[np.ndarray]:
    """The region's boundary as closed curves (complex arrays); empty when there is none."""
    if region.family is None:
        return []
    return list(_outline(*region.key))


@lru_cache(maxsize=32)
def _outline(family: str, order: int, beta: float) -> tuple[np.ndarray, ...]:
    if family == "bdf":
        return (stability.boundary_locus("bdf", order=order, n=1441),)
    if family == "momentum":
        return (stability.boundary_locus("momentum", beta=beta, n=721),)
    (re0, re1), im_top, step = ONE_STEP_GRIDS[family]
    re = np.arange(re0, re1 + step / 2, step)
    im_half = np.arange(0.0, im_top + step / 2, step)
    half = stability.region_grid(family, re, im_half)
    grid = np.concatenate([half[:, :0:-1], half], axis=1)  # |R(conj z)| = |R(z)|
    im = np.concatenate([-im_half[:0:-1], im_half])
    curves = []
    for piece in pg.isocurve(grid, 1.0, connected=True):
        ij = np.asarray(piece, dtype=float) - 0.5  # pyqtgraph traces between cell centres
        if len(ij) < 4:
            continue
        z = (re0 + ij[:, 0] * step) + 1j * (im[0] + ij[:, 1] * step)
        curves.append(z)
    return tuple(curves)


def outline_extent(region: Region) -> float:
    """The largest |z| on the region's boundary (its size in the plane); 1 without a region."""
    curves = outline(region)
    return max((float(np.max(np.abs(c))) for c in curves), default=1.0)


def amplification(region: Region, z: np.ndarray) -> np.ndarray:
    """Largest root modulus (≤ 1: stable) at real points z; NaN where there is no region.

    Implicit families are stable on the whole negative real axis, so only z > 0 is evaluated
    for them (their root finding costs a loop per point)."""
    z = np.asarray(z, dtype=float)
    if region.family is None:
        return np.full(z.shape, np.nan)
    out = np.zeros(z.shape)
    if region.family in ("bdf", "Radau"):
        right = z > 0
        if right.any():
            out[right] = stability.amplification(region.family, z[right].astype(complex),
                                                  order=region.order)
        return out
    return stability.amplification(region.family, z.astype(complex), order=region.order,
                                   beta=region.beta)


def outside(region: Region, z: np.ndarray) -> np.ndarray:
    """True where a point lies clearly outside the stable set."""
    return amplification(region, z) > 1.0 + AMPLIFICATION_SLACK
