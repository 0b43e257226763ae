"""Linearly implicit methods on the gradient flow with the Gauss–Newton matrix as Jacobian.

The flow is θ' = f(θ) = −g(θ), g = ∇L, with Jacobian −H. Both methods here replace −H by −B,
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

import numpy as np

from ..gauss_newton import GaussNewton, ShiftedSolve, Workspace
from . import DENSE_JACOBIAN_LIMIT
from .base import SolverFailure, Stepper

GAMMA = 1.0 + 1.0 / math.sqrt(2.0)
#: Step-size controller of ros2-gn: safety factor and the limits of one change.
SAFETY, FAC_MIN, FAC_MAX = 0.9, 0.2, 5.0
#: A step whose loss rises by more than this fraction of the loss is not a descent step.
LOSS_ROUNDING = 1e-12
#: After a step fails to descend, later steps stay below this fraction of its size, a bound
#: that relaxes by RELAX per accepted step (see "Descent guard").
FAIL_CAP, RELAX = 0.9, 1.2
#: Levenberg–Marquardt's usual initial damping μ0 = τ·max diag(B) (Madsen et al. 2004).
LM_TAU = 1e-3


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


class _GaussNewtonStepper(Stepper):
    """What both methods share: the loss and gradient at θ, the Gauss–Newton system, counts."""

    name = ""

    def __init__(self, flow, theta0, config, t_end):
        super().__init__(flow, theta0, config, t_end)
        obj = flow.objective
        self._net, self._X, self._T = obj.net, obj.X, obj.T
        size = min(obj.T.size, obj.net.n_params)  # the order of the system solved per step
        if size > DENSE_JACOBIAN_LIMIT:
            raise SolverFailure(
                f"solver.method: {config.method} solves a dense {size:,} × {size:,} system per "
                f"step here ({obj.T.size:,} sample outputs, {obj.net.n_params:,} parameters); "
                "use fewer training samples, a smaller network, or cvode-gmres")
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
            if not (math.isfinite(self._loss) and np.all(np.isfinite(self._grad))):
                raise SolverFailure(f"{self.name}: the loss or its gradient is not finite at "
                                    f"t = {self.t:.6g}")
        return self._loss, self._grad

    def _trial_loss(self, theta: np.ndarray) -> float:
        self.loss_evals += 1
        return self._objective.loss(theta)

    def _gauss_newton(self) -> GaussNewton:
        self.stats.jac_evals += 1
        obj = self._objective
        obj.loss(self.theta)  # the objective's one-point cache now holds θ's forward pass:
        forward = obj._forward_pass()  # share it (module-private, same package)
        return GaussNewton(self._net, self.theta, self._X, self._T, forward=forward,
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


class Ros2Stepper(_GaussNewtonStepper):
    """ROS2 with W = I + γh·B, embedded error estimate and the descent guard."""

    name = "ros2-gn"

    def __init__(self, flow, theta0, config, t_end):
        super().__init__(flow, theta0, config, t_end)
        self._rtol, self._atol = config.tolerances(0)
        self.stats.order = 2
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
        h1 = math.sqrt(0.01 / big) if big > 1e-15 else max(1e-6, h0 * 1e-3)
        return min(100 * h0, h1)

    def _step(self) -> None:
        loss0, g0 = self._at_start()
        theta0 = self.theta
        gn = self._gauss_newton()
        h = self._h_next if self._h_next is not None else self._initial_step(gn, g0)
        why = "start"
        grow = FAC_MAX
        while True:
            h = self._limit(h, why)
            W = self._factorise(gn, GAMMA * h)
            k1 = W.solve(-g0)
            f1 = self.flow.rhs(self.t + h, theta0 + h * k1)
            k2 = W.solve(f1 - 2.0 * k1)
            theta = theta0 + h * (1.5 * k1 + 0.5 * k2)
            scale = self._atol + self._rtol * np.maximum(np.abs(theta0), np.abs(theta))
            err = _rms(W.solve(0.5 * h * (k1 + k2)) / scale)  # the filtered estimate
            if not (math.isfinite(err) and np.all(np.isfinite(theta))):
                self._reject("nonfinite_rejections")
                h, why, grow = h * FAC_MIN, "the trial step overflowed", 1.0
                continue
            if err > 1.0:
                self._reject("error_rejections")
                h *= max(FAC_MIN, SAFETY * err ** -0.5)
                why, grow = "repeated error-test failures", 1.0
                continue
            loss = self._trial_loss(theta)
            if not math.isfinite(loss):
                self._reject("nonfinite_rejections")
                h, why, grow = h * FAC_MIN, "the loss overflowed", 1.0
                continue
            if loss > loss0 + LOSS_ROUNDING * abs(loss0):
                self._reject("descent_rejections")
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
        fac = grow if err == 0.0 else min(grow, max(FAC_MIN, SAFETY * err ** -0.5))
        if self._h_acc is not None and err > 0.0:
            predictive = (h / self._h_acc) * (self._err_acc / err ** 2) ** 0.5 * SAFETY
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
            loss = self._trial_loss(theta) if np.all(np.isfinite(theta)) else math.nan
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
