"""scipy's solve_ivp classes (RK23, RK45, DOP853, Radau, BDF, LSODA) stepped one at a time.

scipy keeps no count of rejected steps or Newton failures. For explicit Runge–Kutta every attempt
costs exactly ``n_stages`` calls, so rejections follow from ``nfev``. For BDF and Radau the Newton
solves go through module functions (``solve_bdf_system``, ``solve_collocation_system``); they are
wrapped once, process-wide, by counters that report to whichever stepper is currently inside
``step()`` and pass straight through otherwise. BDF's maximum order is the module global
``MAX_ORDER``, set for the duration of each step and restored after. Both are deliberate: each
run steps in its own process in the app, and even in one process steps never interleave.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, Radau
from scipy.integrate._ivp import bdf as _bdf
from scipy.integrate._ivp import radau as _radau

from .base import SolverFailure, Stepper

_CLASSES = {"RK23": RK23, "RK45": RK45, "DOP853": DOP853, "Radau": Radau, "BDF": BDF,
            "LSODA": LSODA}
_RK_ORDER = {"RK23": 3, "RK45": 5, "DOP853": 8}

_active: IvpStepper | None = None  # the stepper whose step() is running, if any


class _NewtonTally:
    """Newton solves seen during one step(): attempts (distinct trial steps) and outcomes."""

    def __init__(self):
        self.trials = set()
        self.failures = 0
        self.iterations = 0

    def record(self, trial_key, converged: bool, n_iter: int) -> None:
        self.trials.add(trial_key)
        self.iterations += int(n_iter)
        if not converged:
            self.failures += 1


def _counting_bdf_system(fun, t_new, *args, **kwargs):
    result = _ORIGINAL_BDF_SYSTEM(fun, t_new, *args, **kwargs)
    if _active is not None and _active._tally is not None:
        _active._tally.record(t_new, result[0], result[1])
    return result


def _counting_collocation_system(fun, t, y, h, *args, **kwargs):
    result = _ORIGINAL_COLLOCATION_SYSTEM(fun, t, y, h, *args, **kwargs)
    if _active is not None and _active._tally is not None:
        _active._tally.record(h, result[0], result[1])
    return result


_ORIGINAL_BDF_SYSTEM = getattr(_bdf.solve_bdf_system, "__wrapped__", _bdf.solve_bdf_system)
_ORIGINAL_COLLOCATION_SYSTEM = getattr(_radau.solve_collocation_system, "__wrapped__",
                                       _radau.solve_collocation_system)
_counting_bdf_system.__wrapped__ = _ORIGINAL_BDF_SYSTEM
_counting_collocation_system.__wrapped__ = _ORIGINAL_COLLOCATION_SYSTEM
_bdf.solve_bdf_system = _counting_bdf_system
_radau.solve_collocation_system = _counting_collocation_system


class IvpStepper(Stepper):
    """A solve_ivp ``OdeSolver`` driven by hand, one accepted step per ``step()``."""

    def __init__(self, flow, theta0, config, t_end):
        super().__init__(flow, theta0, config, t_end)
        name = config.method
        cls = _CLASSES[name]
        rtol, atol = config.tolerances(0)
        options = {"rtol": rtol, "atol": atol, "max_step": self._max_step()}
        if config.first_step is not None:
            options["first_step"] = config.first_step
        if self.info.implicit:
            options["jac"] = flow.jac if config.jacobian_mode == "exact" else None
        self._tally: _NewtonTally | None = None
        self._last_rhs: tuple[float, np.ndarray] | None = None  # (t, f) of the last f call
        self._grads_before = flow.counts.grad  # the solver's own calls start here
        self.solver = cls(self._watched_rhs, 0.0, self.theta.copy(), self.t_end, **options)
        if name == "LSODA" and config.max_order is not None:
            # The class refuses max_order_s, but LSODA reads it from iwork at its first call.
            self.solver._lsoda_solver._integrator.iwork[8] = config.max_order
        self._implicit_newton = name in ("BDF", "Radau")
        self._lsoda_method = None
        s = self.stats
        if name in _RK_ORDER:
            s.rejected, s.order = 0, _RK_ORDER[name]
        elif name == "Radau":
            s.rejected = s.newton_iters = s.newton_failures = 0
            s.order = 5
        elif name == "BDF":
            s.rejected = s.newton_iters = s.newton_failures = 0
        elif name == "LSODA":
            s.method_switches = 0

    def _watched_rhs(self, t, theta):
        """The gradient, kept (not checked: that cost ~3 % of an RK45 step) so that a failure
        can name a non-finite one as its cause. These classes reject a trial step whose
        gradient is NaN and shrink h, which may recover; if it does not, the last gradient they
        asked for is non-finite: a NaN stage spreads to every later stage and to f(θ_new)."""
        g = self.flow.rhs(t, theta)
        self._last_rhs = (t, g)
        return g

    def step(self) -> None:
        global _active
        solver = self.solver
        if solver.status != "running":
            raise SolverFailure(f"{self.config.method} has already stopped ({solver.status})")
        nfev_before = solver.nfev
        saved_order = _bdf.MAX_ORDER
        if self.config.method == "BDF" and self.config.max_order is not None:
            _bdf.MAX_ORDER = self.config.max_order
        self._tally = _NewtonTally() if self._implicit_newton else None
        _active = self
        try:
            message = solver.step()
        except ValueError as exc:
            if "infs or NaNs" not in str(exc):
                raise
            raise SolverFailure(
                f"{self.config.method}: the Jacobian −H became non-finite (NaN or inf) near "
                f"t = {solver.t:.6g}, so it cannot be factorised") from exc
        finally:
            _active = None
            _bdf.MAX_ORDER = saved_order
        if solver.status == "failed":
            last = self._last_rhs
            cause = ("" if last is None or np.all(np.isfinite(last[1])) else
                     f"the gradient became non-finite (NaN or inf) at t = {last[0]:.6g}; ")
            raise SolverFailure(f"{self.config.method}: {cause}{message} (at t = {solver.t:.6g})")
        self.t = float(solver.t)
        self.theta = np.array(solver.y)
        self.h = float(solver.step_size) if solver.step_size is not None else None
        self._update_stats(solver.nfev - nfev_before)

    def _update_stats(self, nfev_delta: int) -> None:
        s, solver, name = self.stats, self.solver, self.config.method
        s.accepted += 1
        if name in _RK_ORDER:
            s.rejected += max(0, nfev_delta // solver.n_stages - 1)
            return
        s.jac_evals = int(solver.njev)
        s.lu_decomps = int(solver.nlu)
        if self._tally is not None:
            s.rejected += max(0, len(self._tally.trials) - 1)
            s.newton_failures += self._tally.failures
            s.newton_iters += self._tally.iterations
            if name == "BDF":
                s.order = int(solver.order)
        if name == "LSODA":
            iwork = solver._lsoda_solver._integrator.iwork
            s.order = int(iwork[13])
            method = {1: "Adams", 2: "BDF"}.get(int(iwork[18]))
            if self._lsoda_method is not None and method != self._lsoda_method:
                s.method_switches += 1
            self._lsoda_method = s.method_in_use = method

    @property
    def fd_jacobian_grads(self) -> int:
        """BDF and Radau evaluate their finite-difference Jacobian through an uncounted path,
        so it is every call beyond ``nfev``; LSODA's Fortran makes P calls per Jacobian."""
        if not self.info.implicit or self.config.jacobian_mode != "fd":
            return 0
        if self.config.method == "LSODA":
            return int(self.solver.njev) * self.theta.size
        return self.flow.counts.grad - self._grads_before - int(self.solver.nfev)

    def set_tolerances(self, rtol: float, atol: float) -> None:
        """scipy's classes read rtol/atol at every step; BDF and Radau also derive their Newton
        tolerance from rtol at construction, so it is recomputed the same way."""
        solver = self.solver
        if self.config.method == "LSODA":
            integrator = solver._lsoda_solver._integrator
            integrator.call_args[0], integrator.call_args[1] = rtol, atol
            return
        solver.rtol, solver.atol = rtol, atol
        if self.config.method in ("BDF", "Radau"):  # as both compute it in __init__
            solver.newton_tol = max(10 * np.finfo(float).eps / rtol, min(0.03, rtol**0.5))

    @property
    def finished(self) -> bool:
        return self.solver.status == "finished" or super().finished

