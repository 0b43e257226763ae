"""Regions of absolute stability in the complex plane z = h·λ_J, where λ_J = −λ(H) for the flow.

One-step methods (explicit Euler / gradient descent, the Runge–Kutta pairs, Radau IIA) are stable
where their stability function satisfies |R(z)| ≤ 1; R comes from the Butcher tableau,
R(z) = 1 + z·bᵀ(I − zA)⁻¹·1 (a polynomial for explicit methods). Multistep methods are drawn by
their boundary locus: BDF of order k has ρ(ζ) − z·σ(ζ) with the locus
z(φ) = Σ_{j=1..k} (1 − e^{−iφ})^j / j and is stable outside it; heavy-ball momentum with
coefficient β (step η, z = −ηλ) has the recurrence r² − (1 + β + z)·r + β = 0 and the locus
z(φ) = e^{iφ} + β·e^{−iφ} − 1 − β, stable inside it.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate._ivp import dop853_coefficients as _dop
from scipy.integrate._ivp.rk import RK23, RK45

_S6 = math.sqrt(6.0)
_RADAU_A = np.array([
    [(88 - 7 * _S6) / 360, (296 - 169 * _S6) / 1800, (-2 + 3 * _S6) / 225],
    [(296 + 169 * _S6) / 1800, (88 + 7 * _S6) / 360, (-2 - 3 * _S6) / 225],
    [(16 - _S6) / 36, (16 + _S6) / 36, 1 / 9],
])
_RK4_A = np.array([[0, 0, 0, 0], [0.5, 0, 0, 0], [0, 0.5, 0, 0], [0, 0, 1, 0]], dtype=float)

#: Butcher tableaus (A, b) of the one-step methods, from scipy where scipy has them.
TABLEAUS = {
    "euler": (np.zeros((1, 1)), np.ones(1)),
    "RK23": (RK23.A, RK23.B),
    "RK4": (_RK4_A, np.array([1, 2, 2, 1]) / 6),
    "RK45": (RK45.A, RK45.B),
    "DOP853": (_dop.A[:_dop.N_STAGES, :_dop.N_STAGES], _dop.B),
    "Radau": (_RADAU_A, _RADAU_A[-1]),
}

#: Which tableau or family draws each odeprop method's region.
METHOD_REGION = {
    "gd": "euler", "RK23": "RK23", "RK45": "RK45", "DOP853": "DOP853", "dopri5": "RK45",
    "dop853": "DOP853", "Radau": "Radau", "momentum": "momentum",
    "BDF": "bdf", "vode-bdf": "bdf", "zvode-bdf": "bdf", "cvode-dense": "bdf",
    "cvode-gmres": "bdf",
}


def stability_function(name: str):
    """R(z) of a one-step method, vectorised over an array of complex z."""
    A, b = TABLEAUS[name]
    b = np.asarray(b, dtype=float)
    s = len(b)
    A = np.pad(np.asarray(A, dtype=float), ((0, 0), (0, s - np.shape(A)[1])))  # scipy trims A
    explicit = not np.any(np.triu(A))
    if explicit:
        # R(z) = 1 + Σ_k z^k · bᵀ A^{k−1} 1, a polynomial of degree s
        coeffs, v = [1.0], np.ones(s)
        for _ in range(s):
            coeffs.append(float(b @ v))
            v = A @ v
        poly = np.polynomial.Polynomial(coeffs)
        return lambda z: poly(np.asarray(z, dtype=complex))

    def rational(z):  # batched solves of (I − zA)·x = 1 over every z at once
        z = np.asarray(z, dtype=complex)
        M = np.eye(s) - z[..., None, None] * A
        x = np.linalg.solve(M, np.broadcast_to(np.ones(s), z.shape + (s,))[..., None])[..., 0]
        return 1 + z * (x @ b)

    return rational


def amplification(name: str, z, *, order: int = 1, beta: float = 0.9) -> np.ndarray:
    """Largest root modulus of the method's recurrence at z (≤ 1: stable), on a grid of z."""
    z = np.asarray(z, dtype=complex)
    if name in TABLEAUS:
        return np.abs(stability_function(name)(z))
    if name == "momentum":
        # roots of r² − (1 + β + z) r + β
        p = 1 + beta + z
        disc = np.sqrt(p * p - 4 * beta)
        return np.maximum(np.abs((p + disc) / 2), np.abs((p - disc) / 2))
    if name == "bdf":
        return _bdf_root_modulus(order, z)
    raise ValueError(f"no stability region for {name!r}")


def _bdf_coefficients(order: int):
    """ρ and σ of BDF-k, Σ_{j=1..k} (1/j)·∇^j y_{n+1} = h·f_{n+1}, as coefficient arrays in ζ
    (lowest power first): ∇^j ↔ ζ^{k−j}(ζ − 1)^j after multiplying through by ζ^k."""
    rho = np.zeros(order + 1)
    for j in range(1, order + 1):
        term = np.polynomial.polynomial.polypow([-1.0, 1.0], j)  # (ζ − 1)^j
        rho[order - j: order + 1] += term / j
    sigma = np.zeros(order + 1)
    sigma[order] = 1.0
    return rho, sigma


def _bdf_root_modulus(order: int, z: np.ndarray) -> np.ndarray:
    rho, sigma = _bdf_coefficients(order)
    out = np.empty(z.shape)
    for idx, zi in np.ndenumerate(z):
        out[idx] = np.max(np.abs(np.polynomial.polynomial.polyroots(rho - zi * sigma)))
    return out


def boundary_locus(name: str, *, order: int = 1, beta: float = 0.9, n: int = 721) -> np.ndarray:
    """The closed curve z(φ) bounding the region of a multistep method (BDF-k, momentum)."""
    phi = np.linspace(0.0, 2 * np.pi, n)
    w = np.exp(1j * phi)
    if name == "bdf":
        u = 1 - 1 / w
        return sum(u**j / j for j in range(1, order + 1))
    if name == "momentum":
        return w + beta / w - 1 - beta
    raise ValueError(f"{name!r} has no boundary locus here; use amplification() on a grid")


def real_axis_interval(name: str, *, beta: float = 0.9, x_max: float = 50.0,
                       resolution: float = 1e-4) -> float:
    """The largest x with the whole segment [−x, 0] stable (inf if beyond ``x_max``)."""
    xs = np.arange(resolution, x_max, resolution)
    g = amplification(name, -xs, beta=beta)
    unstable = np.nonzero(g > 1 + 1e-9)[0]
    return math.inf if len(unstable) == 0 else float(xs[unstable[0]] - resolution)


def bdf_alpha_degrees(order: int) -> float:
    """BDF-k's angle of A(α)-stability: the stable sector |arg(−z)| < α; 90° means A-stable."""
    z = boundary_locus("bdf", order=order, n=200_001)
    left = z[z.real < -1e-12]
    if len(left) == 0:
        return 90.0
    return float(np.degrees(np.min(np.arctan2(np.abs(left.imag), -left.real))))


def region_grid(name: str, re: np.ndarray, im: np.ndarray, *, order: int = 1,
                beta: float = 0.9) -> np.ndarray:
    """Amplification (largest root modulus) on the grid re × im, shape (len(re), len(im)),
    for drawing the region as the level set 1."""
    Z = re[:, None] + 1j * im[None, :]
    return amplification(name, Z, order=order, beta=beta)


def region_name(method: str) -> str | None:
    """The region family for an odeprop method name, or None (Adam, LSODA's switching, ...)."""
    return METHOD_REGION.get(method)
