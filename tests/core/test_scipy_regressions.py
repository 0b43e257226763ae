"""Guards against scipy releases that change the numbers odeprop reports (SOLVER-NOTES)."""

import numpy as np
from scipy.integrate import ode

A = np.diag([-1.0, -1000.0])


def test_vode_bdf_with_exact_jacobian_is_not_the_broken_rewrite():
    """scipy 1.17's C rewrite of vode took 16,663 steps here (5,491 convergence failures);
    the Fortran vode of 1.14–1.16 takes 248 steps, 5 Jacobians and no failures."""
    r = ode(lambda t, y: A @ y, lambda t, y: A).set_integrator(
        "vode", method="bdf", with_jacobian=True, rtol=1e-6, atol=1e-9, nsteps=100_000)
    r.set_initial_value([1.0, 1.0], 0.0)
    y = r.integrate(10.0)
    assert r.successful()
    iwork = r._integrator.iwork
    steps, convergence_failures = int(iwork[10]), int(iwork[20])
    assert steps < 500, f"vode took {steps} steps (scipy {__import__('scipy').__version__})"
    assert convergence_failures == 0
    np.testing.assert_allclose(y, [np.exp(-10.0), 0.0], rtol=1e-3, atol=1e-9)
