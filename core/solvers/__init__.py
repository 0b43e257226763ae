"""Every solver family behind one stepping interface (see ``base.Stepper``)."""

from __future__ import annotations

from .base import SolverFailure, SolverStats, Stepper

__all__ = ["DENSE_JACOBIAN_LIMIT", "SolverFailure", "SolverStats", "Stepper", "make_stepper",
           "needs_dense_jacobian"]


#: Above this many parameters a dense P×P Jacobian (and its LU copies) would not fit comfortably
#: in memory: 6,000² doubles are 288 MB, and the solvers keep two or three such matrices.
DENSE_JACOBIAN_LIMIT = 6000


def needs_dense_jacobian(config) -> bool:
    """Whether the method keeps a dense P×P Jacobian or Newton matrix."""
    info = config.info
    if info.family == "cvode":
        return config.method == "cvode-dense"
    if info.family in ("ivp", "ode"):
        return info.implicit or config.jacobian_mode != "none"
    return False


def make_stepper(flow, theta0, config, t_end: float) -> Stepper:
    """Build the stepper for ``config.method``; families are imported only when used."""
    n = len(theta0)
    if needs_dense_jacobian(config) and n > DENSE_JACOBIAN_LIMIT:
        gib = 3 * n * n * 8 / 2**30
        raise SolverFailure(
            f"solver.method: {config.method} keeps a dense {n:,} × {n:,} Jacobian (about "
            f"{gib:.1f} GB with its factorisations) for this {n:,}-parameter network; use "
            "cvode-gmres (matrix-free Newton–Krylov) or a smaller network")
    family = config.info.family
    if family == "ivp":
        from .ivp import IvpStepper as cls
    elif family == "ode":
        from .legacy import LegacyOdeStepper as cls
    elif family == "cvode":
        from .cvode import CvodeStepper as cls
    elif family == "rosenbrock":
        from .rosenbrock import LevenbergMarquardtStepper, RosenbrockWStepper

        cls = LevenbergMarquardtStepper if config.method == "lm" else RosenbrockWStepper
    else:
        from .optimisers import OptimiserStepper as cls
    return cls(flow, theta0, config, t_end)
