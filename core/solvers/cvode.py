"""SUNDIALS CVODE (through scikit-sundae), BDF, one internal step per ``step()``.

"cvode-dense" runs Newton with a dense direct solver (the exact Jacobian −H, or CVODE's own
difference quotients); "cvode-gmres" runs matrix-free Newton–Krylov, with exact Hessian-vector
products or CVODE's difference-quotient products. scikit-sundae exposes only the counts of
right-hand-side calls and Jacobian evaluations, so the order, rejections, Newton figures and LU
count stay ``None``.
"""

from __future__ import annotations

import math

import numpy as np
from sksundae.cvode import CVODE, CVODEJacTimes

from .base import SolverFailure, Stepper, finite_gradient

_BIG_NSTEPS = 10**9


class CvodeStepper(Stepper):
    """CVODE's BDF, stepped with ``method='onestep'`` and ``tstop=t_end``."""

    def __init__(self, flow, theta0, config, t_end):
        super().__init__(flow, theta0, config, t_end)
        self._failure: str | None = None
        self._callback_error: BaseException | None = None
        self._jac_evals_before = 0  # CVODE's count from solvers replaced by set_tolerances
        self._grads_before = flow.counts.grad  # the solver's own calls start here
        self._nfev_before = 0  # CVODE's own f count (without its difference quotients), likewise
        self._nfev = 0
        self._checked_rhs = finite_gradient(flow.rhs, "cvode")
        self._start(*config.tolerances(0))
        self.stats.jac_evals = 0

    def _start(self, rtol: float, atol: float) -> None:
        """A CVODE instance at the current (t, θ) with these tolerances."""
        config = self.config
        exact = config.jacobian_mode == "exact"
        gmres = config.method == "cvode-gmres"
        options = {
            "method": "BDF", "rtol": float(rtol), "atol": float(atol),
            "first_step": float(config.first_step or 0.0) if self.t == 0.0 else 0.0,
            "max_step": float(config.max_step) if math.isfinite(config.max_step) else 0.0,
            "max_order": config.max_order or 5, "max_num_steps": _BIG_NSTEPS,
            "linsolver": "gmres" if gmres else "dense",
        }
        if gmres:
            options["krylov_dim"] = int(config.krylov_dim)
            if exact:
                options["jactimes"] = CVODEJacTimes(None, self._jactimes)
        elif exact:
            options["jacfn"] = self._jacfn
        try:
            self._solver = CVODE(self._rhsfn, **options)
            result = self._solver.init_step(self.t, self.theta.copy())
        except Exception as exc:
            raise SolverFailure(f"CVODE: could not start: {exc}") from exc
        if not result.success:
            raise SolverFailure(f"CVODE: could not start: {result.message}")
        self._nfev = self._nfev_before + int(result.nfev)

    def set_tolerances(self, rtol: float, atol: float) -> None:
        """scikit-sundae cannot retune a running CVODE: restart it at the current point (its
        step-size and order history start afresh, as after any re-initialisation)."""
        self._jac_evals_before = self.stats.jac_evals or 0
        self._nfev_before = self._nfev
        self._start(rtol, atol)

    # Callbacks: SUNDIALS sees a Python exception as an unrecoverable failure and scikit-sundae
    # re-raises it; the first one is also kept here so that nothing is lost on the way.
    def _rhsfn(self, t, y, yp):
        try:
            yp[:] = self._checked_rhs(t, y)
        except BaseException as exc:
            self._remember(exc)
            raise

    def _jacfn(self, t, y, yp, JJ):
        try:
            JJ[:, :] = self.flow.jac(t, y)
        except BaseException as exc:
            self._remember(exc)
            raise

    def _jactimes(self, t, y, fy, v, Jv):
        try:
            Jv[:] = self.flow.jvp(y, v)
        except BaseException as exc:
            self._remember(exc)
            raise

    def _remember(self, exc: BaseException) -> None:
        if self._callback_error is None:
            self._callback_error = exc

    def step(self) -> None:
        if self._failure is not None:
            raise SolverFailure(self._failure)
        if self._solver is None:
            raise SolverFailure("CVODE was closed")
        if self.finished:
            raise SolverFailure(f"CVODE has already reached t_end = {self.t_end:g}")
        t_old = self.t
        try:
            result = self._solver.step(self.t_end, method="onestep", tstop=self.t_end)
        except Exception as exc:
            cause = self._callback_error or exc
            raise self._failed(f"CVODE: {cause} ({type(cause).__name__} while stepping from "
                               f"t = {t_old:.6g})") from cause
        if self._callback_error is not None:  # raised in a callback, yet CVODE carried on
            cause = self._callback_error
            raise self._failed(f"CVODE: {cause} ({type(cause).__name__} in a callback near "
                               f"t = {result.t:.6g})") from cause
        if not result.success:
            raise self._failed(f"CVODE: {result.message} (flag {result.status}) at "
                               f"t = {result.t:.6g}")
        t = float(result.t)
        if not t > t_old:
            raise self._failed(f"CVODE: no progress, t + h = t at t = {t_old:.6g}")
        if not np.all(np.isfinite(result.y)):
            raise self._failed(f"CVODE: the solution became non-finite at t = {t:.6g}")
        self.t, self.theta, self.h = t, np.array(result.y, dtype=float), t - t_old
        self.stats.accepted += 1
        self.stats.jac_evals = self._jac_evals_before + int(result.njev)
        self._nfev = self._nfev_before + int(result.nfev)

    @property
    def fd_jacobian_grads(self) -> int:
        """CVODE's nfev leaves out the calls of its difference-quotient Jacobian (dense) or
        Jacobian-vector products (GMRES): every call beyond it."""
        if self.config.jacobian_mode != "fd":
            return 0
        return self.flow.counts.grad - self._grads_before - self._nfev

    def _failed(self, message: str) -> SolverFailure:
        self._failure = message
        return SolverFailure(message)

    def close(self) -> None:
        self._solver = None  # scikit-sundae frees the SUNDIALS memory with the object
