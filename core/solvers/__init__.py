"""Every solver family behind one stepping interface (see ``base.Stepper``)."""

from __future__ import annotations

from ..dense_limits import dense_jacobian_refusal
from .base import SolverFailure, SolverStats, Stepper

__all__ = ["SolverFailure", "SolverStats", "Stepper", "make_stepper"]


def make_stepper(flow, theta0, config, t_end: float) -> Stepper:
    """Build the stepper for ``config.method``; families are imported only when used."""
    refusal = dense_jacobian_refusal(config, len(theta0), flow.objective.T.size)
    if refusal:
        raise SolverFailure(refusal)
    family = config.info.family
    if family == "ivp":
        from .ivp import IvpStepper as cls
    elif family == "ode":
        from .legacy import LegacyOdeStepper as cls
    elif family == "cvode":
        from .cvode import CvodeStepper as cls
    elif family == "stabilised":
        from .rkc import RkcStepper as cls
    elif family == "rosenbrock":
        from .rosenbrock import LevenbergMarquardtStepper, RosenbrockWStepper

        cls = LevenbergMarquardtStepper if config.method == "lm" else RosenbrockWStepper
    else:
        from .optimisers import OptimiserStepper as cls
    return cls(flow, theta0, config, t_end)
