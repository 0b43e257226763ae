"""RKC: the second-order Runge–Kutta–Chebyshev method, a stabilised explicit integrator.

Sommeijer, Shampine & Verwer (1997), "RKC: an explicit solver for parabolic PDEs". An s-stage
step costs s − 1 gradients (plus one at the new point, which is the next step's first stage and
the error estimate's) and is stable on the negative real axis for h·λ ≤ β(s) ≈ 0.65·s²: the
interval grows with the *square* of the work, so on a mildly stiff, smooth flow (digits: λmax
1.08 → 0.12 over t ≈ 300, where RK45 is held at h·λmax ≈ 3.3 by stability) a few long steps of
s gradients each replace many short ones. The stages are the damped Chebyshev recursion
(damping ε = 2/13, w0 = 1 + ε/s², w1 = T_s'(w0)/T_s''(w0), b_j = T_j''(w0)/T_j'(w0)²,
b0 = b1 = b2, a_j = 1 − b_j·T_j(w0)):

    Y0 = θn,  Y1 = θn + μ̃1·h·F0,
    Yj = (1 − μj − νj)·θn + μj·Y(j−1) + νj·Y(j−2) + μ̃j·h·f(Y(j−1)) + γ̃j·h·F0,   θn+1 = Ys,

μj = 2bj·w0/b(j−1), νj = −bj/b(j−2), μ̃j = 2bj·w1/b(j−1), γ̃j = −a(j−1)·μ̃j. On y' = λy one step
multiplies by R_s(z) = a_s + b_s·T_s(w0 + w1·z), |R_s| ≤ 1 while w0 + w1·z ≥ −1: β(s) =
(1 + w0)/w1 (tests compute the interval from the recursion itself). The error estimate is RKC's,
(12(θn − θn+1) + 6h(Fn + Fn+1))/15, and the controller RKC's: err = RMS over atol + rtol·
max(|θn|, |θn+1|), accept when ≤ 1, next h = h·min(10, max(0.1, 0.8·err^(−1/3))), capped by the
predictive controller, no growth right after a rejection.

The stage count needs the spectral radius ρ of the flow's Jacobian −H (its largest |λ|). It is
estimated by power iteration on the flow's own Jacobian: exact Hessian-vector products
(``jacobian = "exact"``, counted in ``n_hvp``), or RKC's own nonlinear power iteration on
differences of gradients (``"fd"``, the default: one gradient per iteration instead of an Hv's
≈ 2, counted in ``n_grad`` and in ``fd_jacobian_grads``). The iteration starts from the
gradient's direction, and later from its last iterate (warm: θ moves little between estimates,
and the top eigenvectors with it), and stops when two successive estimates agree to
``RHO_TOL``; it runs at the start, after every rejected step and every ``REFRESH`` accepted
steps, and between runs the last estimate holds. The estimate is a lower bound (a power
iterate's ‖Jv‖/‖v‖ ≤ ρ), so s is chosen for ``SAFETY``·ρ, as RKC does. Where ρ is too small
after all, the step grows unstable; the error test sees it, rejects, and ρ is estimated afresh.
Measured (digits, tolerance 3e-2): a fixed two warm iterations every 5 steps saved 10 gradients
of 69, but on iris its estimate fell to a quarter of λmax once the eigenvectors turned, and an
unstable step (h·λmax 7.4 against β(3) = 5.2) was accepted before the error test caught the
next; one exact Hv costs about 1.8 gradients (digits, moons, iris, sine), so the default is
the gradient differences.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np

from .base import SolverFailure, Stepper

DAMPING = 2.0 / 13.0
#: Fewest and most stages of one step (RKC's own limit on s comes from rounding in the
#: recursion; 250 stages keep it harmless and cap one step's work).
S_MIN, S_MAX = 2, 250
#: The power iteration's estimate of ρ is a lower bound: the stage count is chosen for this
#: multiple of it (RKC's factor).
SAFETY = 1.2
#: Power iteration: from the last iterate, until two successive estimates agree to RHO_TOL
#: (at most ITERATIONS), at the start, after a rejection and every REFRESH accepted steps.
RHO_TOL, ITERATIONS, REFRESH = 0.1, 8, 5
#: Step-size control (RKC's): safety factor and the limits of one change.
FAC_SAFETY, FAC_MIN, FAC_MAX = 0.8, 0.1, 10.0


@dataclass(frozen=True)
class Coefficients:
    """The per-stage scalars of the s-stage scheme, and its stability bound β(s)."""

    s: int
    mu: tuple[float, ...]  # index j = 0..s; entries 0 and 1 unused where the formula lacks them
    nu: tuple[float, ...]
    mu_t: tuple[float, ...]
    gamma_t: tuple[float, ...]
    beta: float


@cache
def coefficients(s: int) -> Coefficients:
    """(μj, νj, μ̃j, γ̃j) of the s-stage second-order RKC scheme (Sommeijer et al. 1997)."""
    w0 = 1.0 + DAMPING / s**2
    T, dT, ddT = np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1)
    T[0], T[1], dT[1] = 1.0, w0, 1.0
    for j in range(2, s + 1):  # Chebyshev polynomials and their derivatives at w0
        T[j] = 2 * w0 * T[j - 1] - T[j - 2]
        dT[j] = 2 * T[j - 1] + 2 * w0 * dT[j - 1] - dT[j - 2]
        ddT[j] = 4 * dT[j - 1] + 2 * w0 * ddT[j - 1] - ddT[j - 2]
    w1 = dT[s] / ddT[s]
    b = np.zeros(s + 1)
    b[2:] = ddT[2:] / dT[2:] ** 2
    b[0] = b[1] = b[2]
    a = 1.0 - b * T
    mu, nu, mu_t, gamma_t = np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1)
    mu_t[1] = b[1] * w1
    for j in range(2, s + 1):
        mu[j], nu[j] = 2 * b[j] * w0 / b[j - 1], -b[j] / b[j - 2]
        mu_t[j] = 2 * b[j] * w1 / b[j - 1]
        gamma_t[j] = -a[j - 1] * mu_t[j]
    return Coefficients(s, tuple(mu), tuple(nu), tuple(mu_t), tuple(gamma_t),
                        float((1.0 + w0) / w1))


def stability_bound(s: int) -> float:
    """β(s): the s-stage scheme is stable on the negative real axis for h·λ ≤ β(s)."""
    return coefficients(s).beta


def stages_for(h_rho: float) -> int:
    """The fewest stages whose stability interval holds h·ρ (S_MAX if none does)."""
    s = max(S_MIN, math.ceil(math.sqrt(h_rho / 0.65)) - 1)  # β(s) ≈ 0.653·s², from below
    while s < S_MAX and stability_bound(s) < h_rho:
        s += 1
    return s


def rkc_step(f, y: np.ndarray, F0: np.ndarray, h: float, s: int) -> np.ndarray:
    """One s-stage RKC step of size h from y, F0 = f(y): s − 1 evaluations of f."""
    c = coefficients(s)
    prev2, prev = y, y + (c.mu_t[1] * h) * F0
    for j in range(2, s + 1):
        mu, nu = c.mu[j], c.nu[j]
        stage = f(prev)
        stage *= c.mu_t[j] * h
        stage += (c.gamma_t[j] * h) * F0
        stage += (1.0 - mu - nu) * y
        stage += mu * prev
        stage += nu * prev2
        prev2, prev = prev, stage
    return prev


def _rms(x: np.ndarray) -> float:
    return math.sqrt(float(x @ x) / x.size) if x.size else 0.0


class RkcStepper(Stepper):
    """RKC with its error control; the stage count follows h·ρ (see the module text)."""

    def __init__(self, flow, theta0, config, t_end):
        super().__init__(flow, theta0, config, t_end)
        self._rtol, self._atol = config.tolerances(0)
        self._fd = config.jacobian_mode == "fd"
        self.stats.order = 2
        self.stats.rejected = 0
        self.stages = S_MIN  # of the last accepted step
        self.rho_estimates = 0  # power iterations run
        self._fd_grads = 0
        self._F0 = self._rhs(self.theta)
        if not math.isfinite(float(self._F0.sum())):
            raise SolverFailure("rkc: the gradient is not finite at the initial weights")
        self._vector = self._F0.copy()  # the power iteration's start: the flow's direction
        self._rho = 0.0
        self._estimate_rho()
        self._h_next = config.first_step
        if self._h_next is None:
            self._h_next = 1.0 / self._rho if self._rho > 0 else 1.0
        self._h_acc: float | None = None  # the last accepted step and its error, for the
        self._err_acc = 1.0  # predictive controller

    @property
    def stability_bound(self) -> float:
        """β(s) of the stage count the last step used."""
        return stability_bound(self.stages)

    @property
    def fd_jacobian_grads(self) -> int:
        return self._fd_grads

    def set_tolerances(self, rtol: float, atol: float) -> None:
        """Read at every step: the next step uses them."""
        self._rtol, self._atol = float(rtol), float(atol)

    def _rhs(self, theta: np.ndarray) -> np.ndarray:
        return self.flow.rhs(self.t, theta)

    # -- the spectral radius -----------------------------------------------------------------
    def _jv(self, v: np.ndarray) -> np.ndarray:
        """The flow's Jacobian −H times v: exact, or by a difference of gradients."""
        if not self._fd:
            return self.flow.jvp(self.theta, v)
        norm_theta = math.sqrt(float(self.theta @ self.theta))
        delta = math.sqrt(np.finfo(float).eps) * max(norm_theta, 1.0)
        self._fd_grads += 1
        return (self._rhs(self.theta + delta * v) - self._F0) / delta

    def _estimate_rho(self) -> None:
        """Power iteration for ρ(−H) from the last iterate (at first, the gradient)."""
        self.rho_estimates += 1
        v = self._vector
        estimate = previous = 0.0
        for i in range(ITERATIONS):
            norm = math.sqrt(float(v @ v))
            if not norm > 0 or not math.isfinite(norm):
                break
            w = self._jv(v / norm)
            estimate = math.sqrt(float(w @ w))  # ‖Jv‖ for a unit v: ≤ ρ
            v = w
            if i and abs(estimate - previous) <= RHO_TOL * estimate:
                break
            previous = estimate
        if math.isfinite(estimate) and estimate > 0:
            self._vector = v
            self._rho = SAFETY * estimate
        self._since_rho = 0

    # -- a step ------------------------------------------------------------------------------
    def step(self) -> None:
        if self.finished:
            raise SolverFailure(f"rkc has already reached t_end = {self.t_end:g}")
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._step()

    def _step(self) -> None:
        if self._since_rho >= REFRESH:
            self._estimate_rho()
        y, F0 = self.theta, self._F0
        h, grow, why = self._h_next, FAC_MAX, "start"
        while True:
            h = min(h, self._max_step(), self.t_end - self.t)
            if self._rho > 0:
                h = min(h, stability_bound(S_MAX) / self._rho)
            if not h >= 10 * np.spacing(max(abs(self.t), 1.0)):
                raise SolverFailure(f"rkc: step size {h:.3g} too small at t = {self.t:.6g} "
                                    f"({why})")
            s = stages_for(h * self._rho)
            new = rkc_step(self._rhs, y, F0, h, s)
            F1 = self._rhs(new)
            est = (12.0 * (y - new) + 6.0 * h * (F0 + F1)) / 15.0
            scale = self._atol + self._rtol * np.maximum(np.abs(y), np.abs(new))
            err = _rms(est / scale)
            if err <= 1.0:
                break
            self.stats.rejected += 1
            finite = math.isfinite(err)
            h *= max(FAC_MIN, FAC_SAFETY * err ** (-1.0 / 3.0)) if finite else FAC_MIN
            why = "repeated error-test failures" if finite else "the trial step overflowed"
            grow = 1.0
            self._estimate_rho()  # a stale ρ may have been too small
        self._h_next = h * self._growth(h, err, grow)
        self.t = self.t_end if h >= self.t_end - self.t else self.t + h
        self.theta, self._F0, self.h, self.stages = new, F1, h, s
        self.stats.accepted += 1
        self.stats.method_in_use = f"{s} stages"
        self._since_rho += 1

    def _growth(self, h: float, err: float, grow: float) -> float:
        """The factor for the next step: RKC's, no more than the predictive controller allows."""
        fac = grow if err == 0.0 else min(grow, FAC_SAFETY * err ** (-1.0 / 3.0))
        if self._h_acc is not None and err > 0.0:
            predictive = (FAC_SAFETY * (h / self._h_acc) * (self._err_acc / err) ** (1.0 / 3.0)
                          * err ** (-1.0 / 3.0))
            fac = min(fac, predictive)
        self._h_acc, self._err_acc = h, max(err, 1e-10)
        return max(FAC_MIN, fac)
