"""Gradient flows that go wrong on purpose, for the solvers' fault tests."""

import numpy as np

from odeprop.core.flow import GradientFlow


class NanAfter(GradientFlow):
    """A flow whose gradient turns NaN after t = 0.5."""

    def rhs(self, t, theta):
        g = super().rhs(t, theta)
        return g * np.nan if t > 0.5 else g


class BoomAfter(GradientFlow):
    """A flow whose gradient raises after t = 0.5 (a bug in user code, not a numerical fault)."""

    def rhs(self, t, theta):
        if t > 0.5:
            raise ZeroDivisionError("boom in the gradient")
        return super().rhs(t, theta)
