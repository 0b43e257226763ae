"""The catalogue of integration methods: which settings each takes and how stable it is.

Pure data, cheap to import: configuration validation, the command line and the GUI all read it,
so a setting that does not apply to a method is refused (or greyed out) in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Stability interval on the negative real axis, |h·λ| ≤ bound, for the explicit methods.
#: Computed from scipy's Butcher tableaus (SOLVER-NOTES); implicit methods are unbounded there.
EULER_BOUND = 2.0
RK23_BOUND = 2.5127
RK45_BOUND = 3.3065
DOP853_BOUND = 6.3936


@dataclass(frozen=True)
class MethodInfo:
    """What one method is and which knobs it has."""

    name: str
    family: str  # "ivp" (solve_ivp classes), "ode" (legacy integrators), "cvode", "optimiser",
    # "rosenbrock" (linearly implicit, Gauss–Newton matrix), "stabilised" (explicit with a
    # stability interval that grows with its stage count)
    label: str
    implicit: bool
    stability_bound: float  # on the negative real axis; inf when the method is A(α)-stable there,
    # nan when it has no fixed one (the stepper reports the bound of each step)
    tolerances: bool = True
    first_step: bool = True
    max_step: bool = True
    max_order: int | None = None  # the largest settable maximum order, None when not settable
    jacobian_modes: tuple[str, ...] = ("none",)
    learning_rate: bool = False
    stages: int | None = None  # right-hand-side calls per attempted explicit RK step
    description: str = ""


#: The W-methods' matrices: the Gauss–Newton matrix of a growing sample of the training set (the
#: default), or of all of it.
W_METHOD_JACOBIANS = ("sampled-gauss-newton", "gauss-newton")


def _explicit(name, family, label, bound, stages, description):
    return MethodInfo(name, family, label, False, bound, stages=stages, description=description)


METHODS: dict[str, MethodInfo] = {
    m.name: m
    for m in [
        _explicit("RK23", "ivp", "RK23 (Bogacki–Shampine 3(2))", RK23_BOUND, 3,
                  "scipy's explicit Runge–Kutta pair of order 3(2)."),
        _explicit("RK45", "ivp", "RK45 (Dormand–Prince 5(4))", RK45_BOUND, 6,
                  "scipy's default explicit Runge–Kutta pair of order 5(4)."),
        _explicit("DOP853", "ivp", "DOP853 (order 8)", DOP853_BOUND, 12,
                  "scipy's explicit Runge–Kutta method of order 8."),
        MethodInfo("Radau", "ivp", "Radau IIA (order 5)", True, math.inf,
                   jacobian_modes=("exact", "fd"),
                   description="Implicit Runge–Kutta, L-stable, order 5."),
        MethodInfo("BDF", "ivp", "BDF (scipy, orders 1–5)", True, math.inf, max_order=5,
                   jacobian_modes=("exact", "fd"),
                   description="Backward differentiation formulas with variable order 1–5."),
        MethodInfo("LSODA", "ivp", "LSODA (scipy class)", True, math.inf, max_order=5,
                   jacobian_modes=("exact", "fd"),
                   description="Switches between Adams (non-stiff) and BDF (stiff) automatically."),
        MethodInfo("vode-adams", "ode", "vode, Adams", False, math.inf, max_order=12,
                   jacobian_modes=("none", "exact", "fd"),
                   description="Legacy vode with Adams–Moulton formulas (non-stiff)."),
        MethodInfo("vode-bdf", "ode", "vode, BDF", True, math.inf, max_order=5,
                   jacobian_modes=("exact", "fd", "none"),
                   description="Legacy vode with BDF formulas (stiff)."),
        MethodInfo("zvode-adams", "ode", "zvode, Adams (complex)", False, math.inf, max_order=12,
                   jacobian_modes=("none", "exact", "fd"),
                   description="The complex-valued vode; the 2019 article used it."),
        MethodInfo("zvode-bdf", "ode", "zvode, BDF (complex)", True, math.inf, max_order=5,
                   jacobian_modes=("fd", "exact", "none"),
                   description="zvode with BDF formulas: the 2019 article's configuration."),
        MethodInfo("lsoda", "ode", "lsoda (legacy ode)", True, math.inf, max_order=5,
                   jacobian_modes=("exact", "fd"),
                   description="Legacy lsoda: automatic Adams/BDF switching, settable BDF order."),
        _explicit("dopri5", "ode", "dopri5 (Hairer's Dormand–Prince)", RK45_BOUND, 6,
                  "Hairer's Fortran Dormand–Prince 5(4): the non-stiff check."),
        _explicit("dop853", "ode", "dop853 (Hairer's order 8)", DOP853_BOUND, 12,
                  "Hairer's Fortran DOP853."),
        MethodInfo("cvode-dense", "cvode", "CVODE BDF, dense Newton", True, math.inf,
                   max_order=5, jacobian_modes=("exact", "fd"),
                   description="SUNDIALS CVODE, BDF with a dense direct linear solver."),
        MethodInfo("cvode-gmres", "cvode", "CVODE BDF, Newton–Krylov (GMRES)", True, math.inf,
                   max_order=5, jacobian_modes=("exact", "fd"),
                   description="SUNDIALS CVODE, BDF with matrix-free GMRES on Hessian-vector "
                               "products: no dense Jacobian, no LU."),
        MethodInfo("ros2-gn", "rosenbrock", "ROS2 Rosenbrock W-method, Gauss–Newton", True,
                   math.inf, jacobian_modes=W_METHOD_JACOBIANS,
                   description="Two-stage L-stable Rosenbrock W-method of order 2 (Verwer et "
                               "al. 1999) with W = I + γhB, B the Gauss–Newton matrix; "
                               "embedded error estimate, and steps that raise the loss are "
                               "rejected."),
        MethodInfo("ros34pw2-gn", "rosenbrock", "ROS34PW2 Rosenbrock W-method, Gauss–Newton",
                   True, math.inf, jacobian_modes=W_METHOD_JACOBIANS,
                   description="Four-stage L-stable Rosenbrock W-method of order 3 (Rang & "
                               "Angermann 2005) with W = I + γhB, B the Gauss–Newton matrix: "
                               "one factorisation and four gradients per step, larger steps "
                               "than ros2-gn at the same tolerance."),
        MethodInfo("lm", "rosenbrock", "Levenberg–Marquardt (linearly implicit Euler)", True,
                   math.inf, tolerances=False, jacobian_modes=("gauss-newton",),
                   description="θ⁺ = θ − h(I + hB)⁻¹∇L with the Gauss–Newton matrix B: "
                               "Levenberg–Marquardt with damping 1/h, h set by the gain "
                               "ratio. An optimiser: it does not follow the flow."),
        MethodInfo("rkc", "stabilised", "RKC (Runge–Kutta–Chebyshev, order 2)", False,
                   math.nan, jacobian_modes=("fd", "exact"),
                   description="Stabilised explicit Runge–Kutta of order 2 (Sommeijer, Shampine "
                               "& Verwer 1997): s stages per step, stable while h·λmax ≤ "
                               "β(s) ≈ 0.65·s², s chosen from the spectral radius (power "
                               "iteration on gradient differences, or on exact Hv)."),
        MethodInfo("gd", "optimiser", "Gradient descent (explicit Euler)", False, EULER_BOUND,
                   tolerances=False, first_step=False, max_step=False, learning_rate=True,
                   description="Fixed-step explicit Euler on the flow: step = learning rate."),
        MethodInfo("momentum", "optimiser", "Heavy-ball momentum", False, math.nan,
                   tolerances=False, first_step=False, max_step=False, learning_rate=True,
                   description="Polyak's heavy ball; stable while h·λ < 2(1 + β)."),
        MethodInfo("adam", "optimiser", "Adam (full batch)", False, math.nan,
                   tolerances=False, first_step=False, max_step=False, learning_rate=True,
                   description="Adam with full-batch gradients; no fixed stability bound."),
    ]
}


def method_info(name: str) -> MethodInfo:
    """Look a method up by name, with a message listing the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(
            f"solver.method: unknown method {name!r}; choose one of {', '.join(METHODS)}"
        ) from None
