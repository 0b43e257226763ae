"""One stepping interface for every solver family.

A stepper advances the gradient flow by exactly one accepted step per ``step()`` call and keeps
the statistics the method exposes. Figures a method does not expose stay ``None``: the engine
never invents them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import SolverConfig
from ..flow import GradientFlow
from ..methods import MethodInfo


def finite_gradient(rhs, name: str):
    """Wrap a right-hand side so a NaN/inf gradient stops the integrator at once. For codes that
    never reject on it: vode and CVODE creep towards the bad point with ever smaller steps and
    never fail (measured), lsoda ends with a misleading "excess accuracy requested". (scipy's
    Runge–Kutta classes reject such a trial step and shrink h, so they get no wrapper.)"""

    def checked(t, y):
        g = rhs(t, y)
        if not np.all(np.isfinite(g)):
            raise FloatingPointError(f"the gradient is not finite (NaN or inf) at t = {t:.6g}")
        return g

    checked.__name__ = f"{name}_rhs"
    return checked


class SolverFailure(Exception):
    """The method could not take its next step; the message says why in its own words."""


@dataclass
class SolverStats:
    """Cumulative solver statistics; ``None`` where the method does not expose the figure."""

    accepted: int = 0
    rejected: int | None = None
    newton_iters: int | None = None
    newton_failures: int | None = None
    order: int | None = None
    jac_evals: int | None = None
    lu_decomps: int | None = None
    method_in_use: str | None = None  # LSODA: "Adams" or "BDF"
    method_switches: int | None = None


class Stepper:
    """Base class: holds the flow, the state (t, θ), the last step size and the statistics."""

    def __init__(self, flow: GradientFlow, theta0: np.ndarray, config: SolverConfig,
                 t_end: float):
        self.flow = flow
        self.config = config
        self.info: MethodInfo = config.info
        self.t_end = float(t_end)
        self.t = 0.0
        self.theta = np.array(theta0, dtype=float)
        self.h: float | None = None
        self.stats = SolverStats()

    @property
    def stability_bound(self) -> float:
        """Stability interval on the negative real axis (inf for the implicit methods)."""
        return self.info.stability_bound

    @property
    def finished(self) -> bool:
        return self.t >= self.t_end * (1 - 1e-12)

    def step(self) -> None:
        """Take one accepted step; raise ``SolverFailure`` if the method cannot."""
        raise NotImplementedError

    @property
    def fd_jacobian_grads(self) -> int:
        """How many of the flow's gradient calls the method spent on finite-difference
        Jacobians (or difference-quotient products) rather than on its steps; 0 with exact
        derivatives. scipy's and CVODE's own f counts leave these calls out (SOLVER-NOTES)."""
        return 0

    def set_tolerances(self, rtol: float, atol: float) -> None:
        """Change rtol/atol from the next step on (a tolerance schedule's phase change)."""
        raise SolverFailure(f"{self.config.method} cannot change its tolerances during a run")

    def close(self) -> None:
        """Release anything the method holds (threads, handles). Safe to call twice."""

    # helpers for subclasses
    def _max_step(self) -> float:
        return self.config.max_step if math.isfinite(self.config.max_step) else math.inf
