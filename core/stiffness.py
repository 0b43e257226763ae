"""Stiffness estimates from the Hessian: extreme eigenvalues by Lanczos or power iteration.

The flow's Jacobian is −H, so an explicit method with real-axis stability interval β is stable
while h·λmax(H) ≤ β. λmin < 0 says the run sits near a saddle. The probe's Hessian-vector products
are counted apart from the solver's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigsh

from .flow import Objective

#: At or below this many parameters the dense Hessian is cheaper and exact.
DENSE_LIMIT = 64
#: The whole spectrum is computed up to this many parameters (dense eigvalsh); beyond, the
#: :data:`SPECTRUM_ENDS` largest and smallest eigenvalues by Lanczos.
SPECTRUM_LIMIT = 2000
SPECTRUM_ENDS = 16


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
                 tol: float = 1e-3, max_restarts: int | None = None):
        self.objective = objective
        self.method = method
        self.tol = tol
        self.max_restarts = max_restarts  # caps Lanczos work (each restart ≈ 18 Hv)
        self.n = objective.net.n_params
        rng = np.random.default_rng(seed)
        self._v_max = rng.standard_normal(self.n)
        self._v_min = rng.standard_normal(self.n)
        self.hvp_count = 0
        self.hess_count = 0

    def estimate(self, theta: np.ndarray, grad: np.ndarray | None = None,
                 spectrum: bool = False) -> StiffnessEstimate:
        hvp0, hess0 = self.hvp_count, self.hess_count
        eigs = None
        complete = True
        if spectrum and self.n > SPECTRUM_LIMIT:
            eigs, complete = self._spectrum_ends(theta), False
            lam_max, lam_min = float(eigs[-1]), float(eigs[0])
        elif spectrum or self.n <= DENSE_LIMIT:
            self.hess_count += 1
            H = self.objective.hessian(theta)
            if np.all(np.isfinite(H)):
                eigs = np.linalg.eigvalsh(H)
            else:  # overflow in a diverging run: no spectrum to report, not a crash
                eigs = np.full(self.n, np.nan)
            lam_max, lam_min = float(eigs[-1]), float(eigs[0])
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
        else:
            lam_max, lam_min = self._lanczos(theta)
        curvature = None
        if grad is not None:
            gg = float(grad @ grad)
            if gg > 0:
                self.hvp_count += 1
                curvature = float(grad @ self.objective.hvp(theta, grad)) / gg
        return StiffnessEstimate(lam_max, lam_min, curvature,
                                 eigs if spectrum else None, complete,
                                 self.hvp_count - hvp0, self.hess_count - hess0)

    def _spectrum_ends(self, theta: np.ndarray) -> np.ndarray:
        """The SPECTRUM_ENDS largest and smallest eigenvalues (Lanczos), ascending."""
        op = self._operator(theta)
        k = min(SPECTRUM_ENDS, self.n // 2 - 1)
        ends = [eigsh(op, k=k, which=which, tol=self.tol, return_eigenvectors=False)
                for which in ("LA", "SA")]
        return np.unique(np.concatenate(ends))

    def _operator(self, theta: np.ndarray) -> LinearOperator:
        def matvec(v):
            self.hvp_count += 1
            return self.objective.hvp(theta, np.ravel(v))

        def matmat(V):
            self.hvp_count += V.shape[1]
            return self.objective.hvp(theta, V)

        return LinearOperator((self.n, self.n), matvec=matvec, matmat=matmat, dtype=float)

    def _lanczos(self, theta: np.ndarray) -> tuple[float, float]:
        """Both ends of the spectrum in one implicitly restarted Lanczos run (ARPACK 'BE')."""
        op = self._operator(theta)
        v0 = self._v_max + self._v_min
        try:
            vals, vecs = eigsh(op, k=2, which="BE", v0=v0, tol=self.tol,
                               ncv=min(self.n, 20), maxiter=self.max_restarts or 50 * self.n)
        except ArpackNoConvergence as exc:
            if len(exc.eigenvalues) < 2:
                return math.nan, math.nan
            vals, vecs = exc.eigenvalues, exc.eigenvectors
        except ArpackError:
            return math.nan, math.nan
        order = np.argsort(vals)
        self._v_min, self._v_max = vecs[:, order[0]], vecs[:, order[-1]]
        return float(vals[order[-1]]), float(vals[order[0]])

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
