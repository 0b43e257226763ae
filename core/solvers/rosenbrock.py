"""Linearly implicit methods on the gradient flow with the Gauss–Newton matrix as Jacobian.

The flow is θ' = f(θ) = −g(θ), g = ∇L, with Jacobian −H. The methods here replace −H by −B,
B the Gauss–Newton matrix (``core.gauss_newton``): positive semidefinite, cheap to solve with
when the training set is small, exact for linear least squares and at zero residual. Every step
factorises W = I + σ·B once per step size tried and uses that factorisation for all its solves.
There is no Newton iteration (the figures stay ``None``); ``jac_evals`` counts Gauss–Newton
Jacobian evaluations (one per step, at its start) and ``lu_decomps`` factorisations of W.

``ros2-gn``: the two-stage L-stable Rosenbrock W-method ROS2 (Verwer, Spee, Blom & Hundsdorfer
1999), γ = 1 + 1/√2,

    W = I + γh·B,   W·k1 = f(θ_n),   W·k2 = f(θ_n + h·k1) − 2·k1,
    θ_{n+1} = θ_n + h·(3/2·k1 + 1/2·k2),

of order 2 for *any* matrix in W (a W-method), so B ≠ H costs no order. Its stability function
on θ' = λθ with the exact Jacobian is R(z) = (1 + (1 − 2γ)z + (γ² − 2γ + 1/2)z²)/(1 − γz)², and
R(−∞) = 0. The embedded first-order solution is linearly implicit Euler, θ_n + h·k1, whose
difference from θ_{n+1} is h/2·(k1 + k2). That difference is filtered, est = W⁻¹·h/2·(k1 + k2)
(Shampine's device for stiff error estimates, as in Radau5): without it the estimate of a stiff
component is about 0.29 × its amplitude whatever h, where the method's true error there is
O(1/(hλ)); measured, the filter saved 10–25 % of the steps on every race problem for one more
solve per step. Step-size control is the standard one: err = RMS of est over
atol + rtol·max(|θ_n|, |θ_{n+1}|), accept when err ≤ 1, next h = h·min(5, max(0.2,
0.9·err^(−1/2))), capped by Gustafsson's predictive controller (as in RODAS) and with no growth
right after a rejection. Per attempted step: one factorisation of W, three solves and two
gradients (the stage, and the new point, which is also the next step's first stage); one
Gauss–Newton Jacobian per step, fresh at its start. (Reusing it for 2–5 steps, as a W-method
allows, was measured: 10–30 % faster on some problems at 1e-3, up to 30 % slower on the sine
regression at 1e-2, whose stale matrices forced smaller steps; not kept.)

``ros34pw2-gn``: ROS34PW2 (Rang & Angermann 2005), four stages, order 3 as a W-method,
embedded order 2, L-stable and stiffly accurate; one factorisation, four gradients and five
solves per attempted step. Both methods run from one tableau-driven stepper (``WTableau``,
coefficients in Hairer & Wanner's form, used in the form without Jacobian products); ROS2 as a
tableau takes exactly the steps of its hand-written form. Measured on the race problems at 1e-2
(benchmarks/race.py): ROS34PW2 took fewer steps on XOR (31 vs 52) and the encoder (21 vs 45,
6.2 vs 9.5 ms) but more on the sine regression (22 vs 19), and was slower on moons and iris:
there the steps are not limited by the order of the method but by how far the flow's
trajectory bends within a step. (The exact Hessian in W instead of B was also measured, as a
Rosenbrock method: 2–3× the steps and 5–10× the time on sine, moons and XOR; B's
positive semidefiniteness damps the directions H curves the wrong way.)

Sampled Gauss–Newton (``jacobian = "sampled-gauss-newton"``, the default of both W-methods).
A W-method keeps its order whatever matrix W holds, so B may as well be cheap: it is built on
``GN_FIRST_SAMPLES`` = 32 evenly spaced training samples (an unbiased estimate of B, the mean
over fewer samples), which makes the m × m Woodbury system 32·out rows instead of N·out. What a
sample may miss is curvature: along directions it lacks, W is I and the step explicit, and the
descent guard is where that shows. So after every descent rejection the sample doubles, up to
the whole training set (or the dense-system limit). Gradients, the error estimate and the loss
stay exact: only the matrix is sampled. Measured at 1e-2 (solver ms, whole → sampled): sine
13.9 → 8.1, moons 13.3 → 10.4, digits 22 s → 0.16–0.18 s, spirals 154 → 148, iris 20 → 23,
XOR and encoder unchanged (4 samples each). A fixed sample without the
doubling was measured too: spirals needs all 150 samples (16 samples: 2.0 s, 1,500 descent
rejections), sine is fastest on 19 (every 8th: 6.3 ms).

Descent guard. Along the exact flow dL/dt = −|g|² ≤ 0: the loss never rises. Error control
bounds the local error in θ, not its effect on the loss, and at loose tolerances (1e-2 and
above) a step that passes the error test can raise the loss (SOLVER-NOTES). Such a step is not a
useful approximation of a descent flow: it is rejected (counted in ``descent_rejections`` and in
``stats.rejected``), and h halved: for small h a step changes the loss by −h·|g|² + O(h²), so
halving restores descent. The comparison allows the loss's own rounding (1e-12 relative).
The loss at the new point costs one forward pass, which the next step's gradient reuses.
What the guard usually meets is a stability limit, not an accuracy one: where H has curvature
that B lacks (the residual term Gauss–Newton drops, negative curvature), W = I and ROS2 is
Heun's explicit method, stable only for h·λ ≤ 2, and its error estimate does not see the
growing mode until the loss does. The error controller, blind to that limit, proposes a larger
step right after every rejection (measured on the spirals: 15 descent rejections in 30 steps).
So the guard remembers: after a failure at h_fail, steps stay below 0.9·h_fail, a bound that
relaxes by 1.2 per accepted step, as the limit moves with θ. Measured at tolerance 0.1 this
halved the descent rejections (spirals 95 → 43, sine 11 → 3); at 1e-2 and 1e-3 it changed
nothing measurable.

``lm``: the linearly implicit Euler step θ⁺ = θ − h·(I + hB)⁻¹·g, which *is* a Levenberg–
Marquardt step with damping μ = 1/h. h is chosen by the Levenberg–Marquardt gain ratio
ρ = (L(θ) − L(θ⁺)) / (model decrease), Nielsen's rule (Madsen, Nielsen & Tingleff 2004):
accept when ρ > 0 and set h ← h / max(1/3, 1 − (2ρ − 1)³), otherwise reject and h ← h/ν,
ν ← 2ν. This is an *optimiser*, not an integrator: h grows without an error bound, and the
iterates leave the gradient flow's trajectory (they behave like Gauss–Newton). ``t`` is the sum of
the steps h, the time linearly implicit Euler would assign them. No tolerances apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import dense_limits  # DENSE_JACOBIAN_LIMIT, read when a stepper is built
from ..gauss_newton import GaussNewton, ShiftedSolve, Workspace
from .base import SolverFailure, Stepper

GAMMA = 1.0 + 1.0 / math.sqrt(2.0)
#: Step-size controller of ros2-gn: safety factor and the limits of one change.
SAFETY, FAC_MIN, FAC_MAX = 0.9, 0.2, 5.0
#: A step whose loss rises by more than this fraction of the loss is not a descent step.
LOSS_ROUNDING = 1e-12
#: After a step fails to descend, later steps stay below this fraction of its size, a bound
#: that relaxes by RELAX per accepted step (see "Descent guard").
FAIL_CAP, RELAX = 0.9, 1.2
#: Samples in the first sampled Gauss–Newton matrix (see "Sampled Gauss–Newton").
GN_FIRST_SAMPLES = 32
#: Levenberg–Marquardt's usual initial damping μ0 = τ·max diag(B) (Madsen et al. 2004).
LM_TAU = 1e-3


def _rms(x: np.ndarray) -> float:
    return math.sqrt(float(x @ x) / x.size) if x.size else 0.0


def _all_finite(x: np.ndarray) -> bool:
    """Whether no entry is NaN or ±inf: their sum is then finite (one reduction instead of
    isfinite's array and all; a finite sum could overflow only for entries near 1e308)."""
    return math.isfinite(float(x.sum()))


class _GaussNewtonStepper(Stepper):
    """What both methods share: the loss and gradient at θ, the Gauss–Newton system, counts."""

    name = ""

    def __init__(self, flow, theta0, config, t_end):
        super().__init__(flow, theta0, config, t_end)
        obj = flow.objective
        self._net, self._X, self._T = obj.net, obj.X, obj.T
        n_samples, rows = obj.T.shape
        #: Training samples the Gauss–Newton matrix is built on: all of them, or (sampled mode)
        #: an evenly spaced subset that doubles after every step that fails to descend.
        self.gn_samples = n_samples
        self._gn_sample_cap = n_samples
        if config.jacobian_mode == "sampled-gauss-newton":
            limit = dense_limits.DENSE_JACOBIAN_LIMIT  # the same limit as make_stepper's rule
            if n_samples * rows > limit and obj.net.n_params > limit:
                self._gn_sample_cap = max(1, limit // rows)
            self.gn_samples = min(GN_FIRST_SAMPLES, self._gn_sample_cap)
        self._resample()  # (a whole-set system too large was refused by make_stepper)
        self._objective = obj
        s = self.stats
        s.rejected = s.jac_evals = s.lu_decomps = 0
        self.error_rejections = 0  # the error test failed
        self.descent_rejections = 0  # the loss rose (ros2-gn's guard, lm's gain ratio ≤ 0)
        self.nonfinite_rejections = 0  # the trial step overflowed
        self.loss_evals = 0  # forward passes for the loss alone (no gradient; not in EvalCounts)
        self._grad: np.ndarray | None = None
        self._loss: float | None = None
        self._workspace = Workspace()
        self._h_next: float | None = config.first_step

    # -- shared pieces ----------------------------------------------------------------------
    def _at_start(self) -> tuple[float, np.ndarray]:
        """Loss and gradient at the current θ (the gradient counted as one right-hand side)."""
        if self._grad is None:
            self._grad = -self.flow.rhs(self.t, self.theta)
            self._loss = self._objective.loss(self.theta)
            if not (math.isfinite(self._loss) and _all_finite(self._grad)):
                raise SolverFailure(f"{self.name}: the loss or its gradient is not finite at "
                                    f"t = {self.t:.6g}")
        return self._loss, self._grad

    def _trial_loss(self, theta: np.ndarray) -> float:
        self.loss_evals += 1
        return self._objective.loss(theta)

    def _resample(self) -> None:
        """The training samples of the Gauss–Newton matrix (``_gn_rows``, None for all of them)
        and their inputs and targets, taken once per sample size rather than at every step."""
        n = len(self._X)
        if self.gn_samples >= n:
            self._gn_rows = self._gn_data = None
            return
        rows = np.unique(np.linspace(0, n - 1, self.gn_samples).round().astype(np.intp))
        self._gn_rows, self._gn_data = rows, (self._X[rows], self._T[rows])

    def _widen_sample(self) -> None:
        """After a step that failed to descend: the sampled matrix may lack the curvature that
        would have damped it, so the next matrices use twice as many samples."""
        if self.gn_samples < self._gn_sample_cap:
            self.gn_samples = min(2 * self.gn_samples, self._gn_sample_cap)
            self._resample()

    def _gauss_newton(self) -> GaussNewton:
        self.stats.jac_evals += 1
        obj = self._objective
        obj.loss(self.theta)  # the objective's one-point cache now holds θ's forward pass:
        forward = obj._forward_pass()  # share it (module-private, same package)
        if self._gn_data is None:
            return GaussNewton(self._net, self.theta, self._X, self._T, forward=forward,
                               workspace=self._workspace)
        X, T = self._gn_data
        rows = self._gn_rows  # the sample's rows of every layer (cheaper than its own pass)
        forward = tuple([layer[rows] for layer in part] for part in forward)
        return GaussNewton(self._net, self.theta, X, T, forward=forward,
                           workspace=self._workspace)

    def _factorise(self, gn: GaussNewton, sigma: float) -> ShiftedSolve:
        self.stats.lu_decomps += 1
        return ShiftedSolve(gn, sigma)

    def _limit(self, h: float, why: str) -> float:
        """h cut to the maximum step and to t_end; SolverFailure when it has become too small."""
        h = min(h, self._max_step(), self.t_end - self.t)
        if not h >= 10 * np.spacing(max(abs(self.t), 1.0)):
            raise SolverFailure(f"{self.name}: step size {h:.3g} too small at t = {self.t:.6g} "
                                f"({why})")
        return h

    def _reject(self, kind: str) -> None:
        self.stats.rejected += 1
        setattr(self, kind, getattr(self, kind) + 1)

    def _accept(self, h: float, theta: np.ndarray, loss: float) -> None:
        t_new = self.t + h
        self.t = self.t_end if h >= self.t_end - self.t else t_new
        self.theta = theta
        self.h = h
        self._loss, self._grad = loss, None  # the gradient is evaluated when the next step needs it
        self.stats.accepted += 1

    def _check_running(self) -> None:
        if self.finished:
            raise SolverFailure(f"{self.name} has already reached t_end = {self.t_end:g}")

    def step(self) -> None:
        """One accepted step (overflow in a rejected trial is not warned about)."""
        self._check_running()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._step()


@dataclass(frozen=True, eq=False)  # compared by identity: its arrays have no single truth value
class WTableau:
    """A Rosenbrock W-method in Hairer & Wanner's form (IV.7) for θ' = f(θ), J ≈ ∂f/∂θ,

        (I − γh·J)·K_i = h·f(θ + Σ_j α_ij·K_j) + h·J·Σ_{j<i} γ_ij·K_j,   θ⁺ = θ + Σ b_i·K_i,

    and held in the form without products by J (u_i = Σ_{j≤i} γ_ij·K_j, HW IV.7 (7.3)):

        (I/(γh) − J)·u_i = f(θ + Σ_j a_ij·u_j) + Σ_j (c_ij/h)·u_j,   θ⁺ = θ + Σ m_i·u_i,

    with a = α·Γ⁻¹, c = diag(1/γ) − Γ⁻¹, m = b·Γ⁻¹, and e = (b − b̂)·Γ⁻¹ for the difference
    from the embedded solution. Here J = −B: u_i = γh·W⁻¹·(right-hand side), W = I + γh·B."""

    name: str
    order: int
    embedded_order: int
    alpha: tuple[tuple[float, ...], ...]  # strictly lower triangular
    gammas: tuple[tuple[float, ...], ...]  # lower triangular, γ on the diagonal
    b: tuple[float, ...]
    b_hat: tuple[float, ...]
    # derived, in the form without Jacobian products
    gamma: float = field(init=False)
    a: np.ndarray = field(init=False)
    c: np.ndarray = field(init=False)
    m: np.ndarray = field(init=False)
    e: np.ndarray = field(init=False)
    nodes: np.ndarray = field(init=False)  # where each stage evaluates f, in units of h

    def __post_init__(self):
        G = np.array(self.gammas)
        G_inv = np.linalg.inv(G)
        derived = {"gamma": float(G[0, 0]), "a": np.array(self.alpha) @ G_inv,
                   "c": np.diag(1.0 / np.diag(G)) - G_inv, "m": np.array(self.b) @ G_inv,
                   "e": (np.array(self.b) - np.array(self.b_hat)) @ G_inv,
                   "nodes": np.array(self.alpha).sum(axis=1)}
        for name, value in derived.items():
            object.__setattr__(self, name, value)  # frozen: set once, here

    @property
    def stages(self) -> int:
        return len(self.b)


#: ROS2 (Verwer, Spee, Blom & Hundsdorfer 1999): γ = 1 + 1/√2, α21 = 1, γ21 = −2γ,
#: b = (½, ½); embedded linearly implicit Euler, b̂ = (1, 0).
ROS2 = WTableau("ros2-gn", 2, 1, alpha=((0.0, 0.0), (1.0, 0.0)),
                gammas=((GAMMA, 0.0), (-2.0 * GAMMA, GAMMA)), b=(0.5, 0.5), b_hat=(1.0, 0.0))
#: ROS34PW2 (Rang & Angermann 2005, BIT 45): four stages, order 3 as a W-method (for any
#: matrix in W), embedded order 2, L-stable and stiffly accurate; γ = 0.435866521508459.
_G3 = 0.435866521508459
ROS34PW2 = WTableau(
    "ros34pw2-gn", 3, 2,
    alpha=((0.0, 0.0, 0.0, 0.0),
           (0.87173304301691801, 0.0, 0.0, 0.0),
           (0.84457060015369423, -0.11299064236484185, 0.0, 0.0),
           (0.0, 0.0, 1.0, 0.0)),
    gammas=((_G3, 0.0, 0.0, 0.0),
            (-0.87173304301691801, _G3, 0.0, 0.0),
            (-0.90338057013044082, 0.054180672388095326, _G3, 0.0),
            (0.24212380706095346, -1.2232505839045147, 0.54526025533510214, _G3)),
    b=(0.24212380706095346, -1.2232505839045147, 1.5452602553351020, _G3),
    b_hat=(0.37810903145819369, -0.096042292212423178, 0.5, 0.2179332607542295))
TABLEAUS = {t.name: t for t in (ROS2, ROS34PW2)}


class RosenbrockWStepper(_GaussNewtonStepper):
    """A Rosenbrock W-method with W = I + γh·B, embedded error estimate and the descent
    guard; the method is a ``WTableau`` (ros2-gn, ros34pw2-gn)."""

    def __init__(self, flow, theta0, config, t_end):
        self.tableau = TABLEAUS[config.method]
        self.name = self.tableau.name
        super().__init__(flow, theta0, config, t_end)
        self._rtol, self._atol = config.tolerances(0)
        self.stats.order = self.tableau.order
        self._exponent = 1.0 / (self.tableau.embedded_order + 1)  # of the error in h
        self._h_acc: float | None = None  # the last accepted step and its error, for the
        self._err_acc = 1.0  # predictive controller
        self._h_cap: float | None = None  # the descent guard's bound on h

    def set_tolerances(self, rtol: float, atol: float) -> None:
        """Read at every step: the next step uses them."""
        self._rtol, self._atol = float(rtol), float(atol)

    def _initial_step(self, gn: GaussNewton, g: np.ndarray) -> float:
        """Hairer, Nørsett & Wanner's starting step (II.4), with θ'' ≈ B·g from the
        Gauss–Newton matrix instead of an extra gradient along an explicit Euler step."""
        scale = self._atol + self._rtol * np.abs(self.theta)
        d0, d1 = _rms(self.theta / scale), _rms(g / scale)
        h0 = 0.01 * d0 / d1 if d0 >= 1e-5 and d1 >= 1e-5 else 1e-6
        d2 = _rms(gn.matvec(g) / scale)
        big = max(d1, d2)
        h1 = (0.01 / big) ** self._exponent if big > 1e-15 else max(1e-6, h0 * 1e-3)
        return min(100 * h0, h1)

    def _attempt(self, W: ShiftedSolve, g0: np.ndarray, theta0: np.ndarray,
                 h: float) -> tuple[np.ndarray, np.ndarray]:
        """The stages of one step of size h: the new θ and the error estimate (unfiltered)."""
        tab = self.tableau
        gh = tab.gamma * h
        us: list[np.ndarray] = []
        for i in range(tab.stages):
            if i == 0:
                rhs = -g0
            else:
                point = theta0.copy()
                for j in range(i):
                    if tab.a[i, j]:
                        point += tab.a[i, j] * us[j]
                rhs = self.flow.rhs(self.t + tab.nodes[i] * h, point)
                for j in range(i):
                    if tab.c[i, j]:
                        rhs += (tab.c[i, j] / h) * us[j]
            us.append(gh * W.solve(rhs))
        theta, est = theta0.copy(), np.zeros_like(theta0)
        for u, m, e in zip(us, tab.m, tab.e, strict=True):
            theta += m * u
            est += e * u
        return theta, est

    def _step(self) -> None:
        loss0, g0 = self._at_start()
        theta0 = self.theta
        gn = self._gauss_newton()
        h = self._h_next if self._h_next is not None else self._initial_step(gn, g0)
        why = "start"
        grow = FAC_MAX
        while True:
            h = self._limit(h, why)
            W = self._factorise(gn, self.tableau.gamma * h)
            theta, est = self._attempt(W, g0, theta0, h)
            scale = self._atol + self._rtol * np.maximum(np.abs(theta0), np.abs(theta))
            err = _rms(W.solve(est) / scale)  # the filtered estimate
            if not (math.isfinite(err) and _all_finite(theta)):
                self._reject("nonfinite_rejections")
                h, why, grow = h * FAC_MIN, "the trial step overflowed", 1.0
                continue
            if err > 1.0:
                self._reject("error_rejections")
                h *= max(FAC_MIN, SAFETY * err ** -self._exponent)
                why, grow = "repeated error-test failures", 1.0
                continue
            loss = self._trial_loss(theta)
            if not math.isfinite(loss):
                self._reject("nonfinite_rejections")
                h, why, grow = h * FAC_MIN, "the loss overflowed", 1.0
                continue
            if loss > loss0 + LOSS_ROUNDING * abs(loss0):
                self._reject("descent_rejections")
                self._widen_sample()
                self._h_cap = FAIL_CAP * h
                h, why, grow = 0.5 * h, "the loss kept rising", 1.0
                continue
            break
        self._h_next = h * self._growth(h, err, grow)
        if self._h_cap is not None:
            self._h_next = min(self._h_next, self._h_cap)
            self._h_cap *= RELAX
        self._accept(h, theta, loss)

    def _growth(self, h: float, err: float, grow: float) -> float:
        """The factor for the next step: the standard one, and no more than Gustafsson's
        predictive controller allows (as in Hairer & Wanner's RODAS)."""
        k = self._exponent
        fac = grow if err == 0.0 else min(grow, max(FAC_MIN, SAFETY * err ** -k))
        if self._h_acc is not None and err > 0.0:
            predictive = (h / self._h_acc) * (self._err_acc / err ** 2) ** k * SAFETY
            fac = min(fac, max(FAC_MIN, min(grow, predictive)))
        self._h_acc, self._err_acc = h, max(1e-2, err)
        return fac


class LevenbergMarquardtStepper(_GaussNewtonStepper):
    """Linearly implicit Euler with the Gauss–Newton matrix: Levenberg–Marquardt, μ = 1/h."""

    name = "lm"

    def __init__(self, flow, theta0, config, t_end):
        super().__init__(flow, theta0, config, t_end)
        self._nu = 2.0
        self.stats.order = 1

    def _step(self) -> None:
        loss0, g0 = self._at_start()
        theta0 = self.theta
        gn = self._gauss_newton()
        h = self._h_next
        if h is None:
            peak = float(np.max(gn.diagonal(), initial=0.0))
            h = 1.0 / (LM_TAU * peak) if peak > 0 else 1.0
        why = "start"
        while True:
            h = self._limit(h, why)
            s = -h * self._factorise(gn, h).solve(g0)
            theta = theta0 + s
            # decrease of the Gauss–Newton model: −gᵀs − sᵀBs/2 = (−gᵀs + |s|²/h)/2 > 0
            predicted = 0.5 * (-float(g0 @ s) + float(s @ s) / h)
            loss = self._trial_loss(theta) if _all_finite(theta) else math.nan
            if not math.isfinite(loss):
                self._reject("nonfinite_rejections")
            elif predicted > 0 and loss < loss0:
                rho = (loss0 - loss) / predicted
                self._h_next = h / max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                self._nu = 2.0
                break
            elif predicted <= 0 and loss <= loss0:  # a stationary point: nothing to descend
                self._h_next = h
                break
            else:
                self._reject("descent_rejections")
            h /= self._nu
            self._nu *= 2.0
            why = "no step lowers the loss"
        self._accept(h, theta, loss)

    def set_tolerances(self, rtol: float, atol: float) -> None:
        raise SolverFailure("lm has no error tolerances (its step follows the gain ratio)")
