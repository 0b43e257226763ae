"""Fixed-step optimisers on the same flow: the explicit baselines.

Gradient descent is explicit Euler with step h = learning rate, so ODE time advances by h per
step for every optimiser here: their curves line up with the solvers' on a time axis.
"""

from __future__ import annotations

import numpy as np

from .base import Stepper


class OptimiserStepper(Stepper):
    """Gradient descent, heavy-ball momentum or full-batch Adam, one update per step."""

    def __init__(self, flow, theta0, config, t_end):
        super().__init__(flow, theta0, config, t_end)
        self.h = config.learning_rate
        self._velocity = np.zeros_like(self.theta)
        self._m = np.zeros_like(self.theta)
        self._v = np.zeros_like(self.theta)
        self.stats.rejected = 0
        self.stats.order = 1

    @property
    def stability_bound(self) -> float:
        if self.config.method == "momentum":
            # Heavy ball on λ: stable while η·λ < 2(1 + β).
            return 2.0 * (1.0 + self.config.momentum)
        return super().stability_bound

    def step(self) -> None:
        cfg = self.config
        h = min(cfg.learning_rate, self.t_end - self.t)
        descent = self.flow.rhs(self.t, self.theta)  # −∇L
        if cfg.method == "gd":
            self.theta = self.theta + h * descent
        elif cfg.method == "momentum":
            self._velocity = cfg.momentum * self._velocity + h * descent
            self.theta = self.theta + self._velocity
        else:
            k = self.stats.accepted + 1
            self._m = cfg.beta1 * self._m + (1 - cfg.beta1) * descent
            self._v = cfg.beta2 * self._v + (1 - cfg.beta2) * descent * descent
            m_hat = self._m / (1 - cfg.beta1**k)
            v_hat = self._v / (1 - cfg.beta2**k)
            self.theta = self.theta + h * m_hat / (np.sqrt(v_hat) + cfg.eps)
        self.t = self.t + h
        self.h = h
        self.stats.accepted += 1
