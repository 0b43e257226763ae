"""Stiffness estimates from the Hessian: extreme eigenvalues by Lanczos or power iteration.

The flow's Jacobian is −H, so an explicit method with real-axis stability interval β is stable
while h·λmax(H) ≤ β. λmin < 0 says the run sits near a saddle. The probe's Hessian-vector products
are counted apart from the solver's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import eigh_tridiagonal

from .flow import Objective

#: At or below this many parameters the dense Hessian is cheaper and exact.
DENSE_LIMIT = 64
#: The whole spectrum is computed up to this many parameters (dense eigvalsh); beyond, up to
#: :data:`SPECTRUM_ENDS` of the largest and as many of the smallest eigenvalues, from one
#: Lanczos run of at most :data:`LANCZOS_STEPS` Hessian-vector products (memory: that many
#: vectors of θ's length, linear in the parameter count; never a P×P matrix).
SPECTRUM_LIMIT = 2000
SPECTRUM_ENDS = 16
#: The Lanczos budget per probe (for the spectrum's ends beyond SPECTRUM_LIMIT, and for λmax and
#: λmin with method "lanczos"). ARPACK, asked for 16 converged eigenvalues at each end of a
#: 101,770-parameter Hessian, took 468 Hv (21 s, the worker silent meanwhile), and for λmin
#: alone late in a run about 200 Hv (its tolerance is relative to λmin, near 0 there); 64
#: products take 2.6 s, and resolve λmax and λmin to ``tol``·max|λ| in fewer when warm-started.
#: On the two moons, probing every 50 RK45 steps: 8 Hv per warm probe, within 4e-4·max|λ| of
#: the dense spectrum (ARPACK took ~30; warm power iteration 4–8 but up to 53 early in a run,
#: and 2 % off).
LANCZOS_STEPS = 64


@dataclass(frozen=True)
class StiffnessEstimate:
    """One probe of the Hessian at θ."""

    lambda_max: float
    lambda_min: float
    curvature: float | None  # gᵀHg / gᵀg: the curvature along the flow direction
    spectrum: np.ndarray | None  # eigenvalues, ascending, when asked for
    complete: bool  # spectrum holds every eigenvalue (else only both ends)
    hvp: int  # Hessian-vector products this probe used
    hess: int  # dense Hessians this probe formed


class StiffnessProbe:
    """Extreme Hessian eigenvalues on exact Hv, warm-started from the previous eigenvectors."""

    def __init__(self, objective: Objective, method: str = "lanczos", seed: int = 0,
                 tol: float = 1e-3):
        self.objective = objective
        self.method = method
        self.tol = tol
        self.n = objective.net.n_params
        rng = np.random.default_rng(seed)
        self._v_max = rng.standard_normal(self.n)
        self._v_min = rng.standard_normal(self.n)
        self.hvp_count = 0
        self.hess_count = 0
        self._warm = False  # the vectors hold extreme eigenvectors (power iteration's start)

    def estimate(self, theta: np.ndarray, grad: np.ndarray | None = None,
                 spectrum: bool = False) -> StiffnessEstimate:
        hvp0, hess0 = self.hvp_count, self.hess_count
        eigs = None
        complete = True
        if spectrum and self.n > SPECTRUM_LIMIT:
            eigs, complete = self._lanczos_ends(theta, SPECTRUM_ENDS), False
            lam_max, lam_min = float(eigs[-1]), float(eigs[0])
        elif spectrum or self.n <= DENSE_LIMIT:
            self.hess_count += 1
            H = self.objective.hessian(theta)
            if np.all(np.isfinite(H)):
                eigs = np.linalg.eigvalsh(H)
            else:  # overflow in a diverging run: no spectrum to report, not a crash
                eigs = np.full(self.n, np.nan)
            lam_max, lam_min = float(eigs[-1]), float(eigs[0])
        elif self.method == "power" and not self._warm:
            # Cold, power iteration took 46 Hv on the two moons (1 % off λmin); one Lanczos run
            # 20 (exact to 5 digits), and it leaves both extreme vectors for warm power steps.
            ends = self._lanczos_ends(theta, 1)
            lam_max, lam_min = float(ends[-1]), float(ends[0])
            self._warm = bool(np.all(np.isfinite(ends)))
        elif self.method == "power":
            # Power iteration finds the eigenvalue μ of largest |λ|; with ρ = |μ| the other end
            # is the top of ρI − H (when μ = λmax) or of H + ρI (when μ = λmin), both ⪰ 0.
            mu, v = self._power(theta, self._v_max)
            rho = abs(mu)
            if mu >= 0:
                lam_max, self._v_max = mu, v
                top, self._v_min = self._power(theta, self._v_min, sign=-1.0, shift=rho)
                lam_min = rho - top
            else:
                lam_min, self._v_min = mu, v
                top, self._v_max = self._power(theta, self._v_max, sign=1.0, shift=rho)
                lam_max = top - rho
        else:  # one warm-started Lanczos run: ~8 Hv between probes, 20 cold, never over 64
            ends = self._lanczos_ends(theta, 1)
            lam_max, lam_min = float(ends[-1]), float(ends[0])
        curvature = None
        if grad is not None:
            gg = float(grad @ grad)
            if gg > 0:
                self.hvp_count += 1
                curvature = float(grad @ self.objective.hvp(theta, grad)) / gg
        return StiffnessEstimate(lam_max, lam_min, curvature,
                                 eigs if spectrum else None, complete,
                                 self.hvp_count - hvp0, self.hess_count - hess0)

    def _lanczos_ends(self, theta: np.ndarray, ends: int) -> np.ndarray:
        """Both ends of the spectrum, ascending: the k smallest and k largest eigenvalues that
        one Lanczos run resolves (1 ≤ k ≤ ``ends``, the same at both ends so a view can place
        them at indices 1…k and P−k+1…P).

        Lanczos with full reorthogonalisation, warm-started from the previous extreme
        eigenvectors; it stops once ``ends`` Ritz values at each end have residuals
        (β·|s_last|, exact for a symmetric H) within ``tol``·max|λ|,
        or after LANCZOS_STEPS products. Out of budget, the ends keep the Ritz values resolved
        so far, and always the outermost pair (the λmax and λmin estimates): in a dense bulk
        of eigenvalues the inner Ritz values are not yet the k-th eigenvalue, however close
        they lie to *some* eigenvalue."""
        m_max = min(LANCZOS_STEPS, self.n)
        Q = np.empty((m_max + 1, self.n))
        alpha, beta = np.empty(m_max), np.empty(m_max)
        rng = np.random.default_rng(self.n)
        start = rng.standard_normal(self.n)
        start /= np.linalg.norm(start)
        for v in (self._v_max, self._v_min):  # converges at once on the previous ends
            norm = np.linalg.norm(v)
            if norm > 0 and np.isfinite(norm):
                start += v / norm
        Q[0] = start / np.linalg.norm(start)
        m, ritz, vecs, resolved = 0, np.empty(0), None, 0
        for j in range(m_max):
            self.hvp_count += 1
            w = self.objective.hvp(theta, Q[j])
            if not np.all(np.isfinite(w)):
                return np.array([np.nan, np.nan])  # a diverging run: no spectrum, no crash
            alpha[j] = Q[j] @ w
            for _ in range(2):  # full reorthogonalisation, twice is enough
                w -= Q[: j + 1].T @ (Q[: j + 1] @ w)
            beta[j] = np.linalg.norm(w)
            m = j + 1
            invariant = beta[j] <= 1e-12 * np.max(np.abs(alpha[:m]))  # Ritz values are exact
            if (m >= 8 and m % 4 == 0) or invariant or m == m_max:
                ritz, vecs = eigh_tridiagonal(alpha[:m], beta[: m - 1])
                bounds = np.zeros(m) if invariant else np.abs(beta[j] * vecs[-1])
                scale = max(float(np.max(np.abs(ritz))), 1e-300)
                resolved = self._resolved_ends(bounds, self.tol * scale, ends)
                if invariant or resolved >= ends:
                    break
            Q[j + 1] = w / beta[j]
        k = max(1, min(resolved, m // 2))
        basis = Q[:m]
        self._v_min = vecs[:, 0] @ basis
        self._v_max = vecs[:, -1] @ basis
        return np.concatenate([ritz[:k], ritz[m - k:]]) if m > 1 else ritz

    @staticmethod
    def _resolved_ends(residuals: np.ndarray, tol: float, ends: int) -> int:
        """How many Ritz values at *both* ends, counted inwards, have a residual within ``tol``
        (so an eigenvalue within ``tol`` of each; the smaller count of the two ends, at most
        ``ends``)."""
        ok = residuals <= tol
        if ok.all():
            return min(len(ok), ends)
        return min(int(np.argmin(ok)), int(np.argmin(ok[::-1])), ends)

    def _power(self, theta, v, sign: float = 1.0, shift: float = 0.0, max_iter: int = 200):
        """Power iteration on sign·H + shift·I; returns (its dominant eigenvalue, vector)."""
        v = v / np.linalg.norm(v)
        lam = 0.0
        for _ in range(max_iter):
            self.hvp_count += 1
            w = sign * self.objective.hvp(theta, v) + shift * v
            new = float(v @ w)
            norm = np.linalg.norm(w)
            if norm == 0:
                return 0.0, v
            v = w / norm
            if abs(new - lam) <= self.tol * max(abs(new), 1e-12):
                lam = new
                break
            lam = new
        return lam, v


def step_stability(h: float | None, lambda_max: float, bound: float) -> float | None:
    """h·λmax as a fraction of the method's stability bound (≤ 1 is stable), or None."""
    if h is None or not math.isfinite(bound) or not math.isfinite(lambda_max):
        return None
    return h * lambda_max / bound
