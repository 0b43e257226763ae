"""The training ODE dθ/dt = −∇L(θ): right-hand side, exact Jacobian −H and products −H·v.

Every evaluation is counted here, by the engine, because scipy's own ``nfev`` misses the calls its
finite-difference Jacobian makes (SOLVER-NOTES).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.integrate._ivp.common import num_jac

from .network import MLP


@dataclass
class EvalCounts:
    """Work done on the loss: gradients, Hessian-vector products (per direction), dense Hessians."""

    grad: int = 0
    hvp: int = 0
    hess: int = 0

    def copy(self) -> EvalCounts:
        return EvalCounts(self.grad, self.hvp, self.hess)


class Objective:
    """The training loss of one network on one data set, with a one-point cache.

    Solvers often evaluate Hv several times at the same θ and then ask for the loss there; the
    forward pass (and the gradient) at the last point is kept and reused when θ is unchanged.
    """

    def __init__(self, net: MLP, X: np.ndarray, T: np.ndarray):
        self.net, self.X, self.T = net, X, T
        self._key = None  # θ's bytes: a copy that is also the cheapest exact comparison
        self._theta = None  # a read-only view of those bytes
        self._forward = None
        self._loss = None
        self._grad = None

    def _remember(self, theta: np.ndarray) -> None:
        key = np.asarray(theta, dtype=float).tobytes()
        if key != self._key:
            self._key = key
            self._theta = np.frombuffer(key)
            self._forward = self._loss = self._grad = None

    def _forward_pass(self):
        if self._forward is None:
            self._forward = self.net.forward(self._theta, self.X)
        return self._forward

    def loss_grad(self, theta: np.ndarray):
        self._remember(theta)
        if self._grad is None:
            self._loss, self._grad = self.net.loss_grad(self._theta, self.X, self.T,
                                                        cache=self._forward_pass())
        return self._loss, self._grad

    def loss(self, theta: np.ndarray) -> float:
        self._remember(theta)
        if self._loss is None:
            self._loss = self.net.loss(self._theta, self.X, self.T, cache=self._forward_pass())
        return self._loss

    def output(self, theta: np.ndarray) -> np.ndarray:
        """The network's output on this objective's inputs (shares the cached forward pass)."""
        self._remember(theta)
        return self.net.output_of(self._forward_pass()[1][-1])

    def hvp(self, theta: np.ndarray, V: np.ndarray) -> np.ndarray:
        self._remember(theta)
        return self.net.hvp(self._theta, self.X, self.T, V, cache=self._forward_pass())

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        return self.net.hessian(np.asarray(theta, dtype=float), self.X, self.T)


class DeadlinePassed(Exception):
    """Raised by a flow's evaluations once its :attr:`GradientFlow.deadline` has passed: ends
    a solver step however stuck it is (scipy's Runge–Kutta loops forever on NaN)."""


class GradientFlow:
    """Right-hand side and Jacobians of the gradient flow, counting the solver's work.

    ``deadline`` (a ``time.perf_counter()`` value, or None) bounds the solver's time: every
    evaluation after it raises :class:`DeadlinePassed` and sets :attr:`expired`, which stays
    true even if a library swallows the exception."""

    def __init__(self, objective: Objective):
        self.objective = objective
        self.n = objective.net.n_params
        self.counts = EvalCounts()
        self.deadline: float | None = None
        self.expired = False
        self._fd_factor = None

    def _on_time(self) -> None:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.expired = True
            raise DeadlinePassed("the wall-time limit passed during a solver step")

    def rhs(self, t: float, theta: np.ndarray) -> np.ndarray:
        """f(t, θ) = −∇L(θ); a fresh array the solver may keep."""
        self._on_time()
        self.counts.grad += 1
        return -self.objective.loss_grad(theta)[1]

    def jac(self, t: float, theta: np.ndarray) -> np.ndarray:
        """Exact Jacobian of the flow, −H(θ)."""
        self._on_time()
        self.counts.hess += 1
        H = self.objective.hessian(theta)
        H *= -1.0
        return H

    def jvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Exact Jacobian-vector product(s) −H·v; v is (P,) or (P, k)."""
        self._on_time()
        self.counts.hvp += 1 if v.ndim == 1 else v.shape[1]
        return -self.objective.hvp(theta, v)

    def fd_jac(self, t: float, theta: np.ndarray, atol: float = 1e-6) -> np.ndarray:
        """The Jacobian by forward differences, exactly as scipy's BDF/Radau build it with no
        ``jac``: P + 1 gradient calls (counted)."""
        f = self.rhs(t, theta)
        J, self._fd_factor = num_jac(self._rhs_columns, t, theta, f, atol, self._fd_factor)
        return J

    def _rhs_columns(self, t: float, thetas: np.ndarray) -> np.ndarray:
        """The right-hand side at each column of ``thetas``: num_jac's vectorised calling
        convention, evaluated one gradient at a time as scipy does for a non-vectorised f."""
        return np.column_stack([self.rhs(t, theta) for theta in thetas.T])
