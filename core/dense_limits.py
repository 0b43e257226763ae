"""The one size rule for dense matrices: which methods keep a dense P × P Jacobian (or a
whole-set Gauss–Newton system), what those cost, and when they are refused.

A module of its own, below the configuration, the solvers and the memory budget, so that each
of them reads the same rule without importing the others. The limit is read when a rule is
applied, so a test may lower :data:`DENSE_JACOBIAN_LIMIT` here.
"""

from __future__ import annotations

#: Above this many parameters a dense P×P Jacobian (and its LU copies) would not fit comfortably
#: in memory: 6,000² doubles are 288 MB, and the solvers keep two or three such matrices.
DENSE_JACOBIAN_LIMIT = 6000


def needs_dense_jacobian(config) -> bool:
    """Whether the method keeps a dense P×P Jacobian or Newton matrix: scipy's implicit classes
    always; the legacy integrators unless they run by functional iteration (``jacobian =
    "none"``: vode/zvode form no matrix then); CVODE's dense Newton, not its GMRES."""
    info = config.info
    if info.family == "cvode":
        return config.method == "cvode-dense"
    if info.family == "ivp":
        return info.implicit
    if info.family == "ode":
        return config.jacobian_mode != "none"
    return False


def _gauss_newton_order(config, n_params: int, n_outputs: int | None) -> int | None:
    """The order of the whole-set Gauss–Newton system a W-method or ``lm`` solves, else None."""
    if (config.info.family == "rosenbrock" and config.jacobian_mode == "gauss-newton"
            and n_outputs is not None):
        return min(n_outputs, n_params)
    return None


def dense_matrix_bytes(config, n_params: int, n_outputs: int | None = None) -> int:
    """Bytes of the dense matrices ``config``'s method keeps (the matrix and its
    factorisations: three copies), 0 for a matrix-free method."""
    size = _gauss_newton_order(config, n_params, n_outputs)
    if size is not None:
        return 3 * size * size * 8
    if not needs_dense_jacobian(config):
        return 0
    entry = 16 if config.method.startswith("zvode") else 8  # zvode's matrices are complex
    return 3 * n_params * n_params * entry


def dense_jacobian_refusal(config, n_params: int, n_outputs: int | None = None) -> str | None:
    """Why ``config``'s method cannot run a network of ``n_params`` parameters on
    ``n_outputs`` training values (samples × outputs; None: not known yet), or None.

    The one size rule for dense matrices (:data:`DENSE_JACOBIAN_LIMIT`): a P × P Jacobian, or
    the Gauss–Newton system of ``ros2-gn``/``ros34pw2-gn``/``lm`` on the whole training set
    (of order min(samples × outputs, P); the sampled matrix caps its sample instead).
    :func:`make_stepper` raises this message, and the lab and the comparisons (window and
    command line) call it before they start anything.
    """
    size = _gauss_newton_order(config, n_params, n_outputs)
    if size is not None:
        if size <= DENSE_JACOBIAN_LIMIT:
            return None
        instead = ('jacobian = "sampled-gauss-newton", ' if "sampled-gauss-newton"
                   in config.info.jacobian_modes else "")
        return (f"solver.method: {config.method} solves a dense {size:,} × {size:,} system per "
                f"step here ({n_outputs:,} sample outputs, {n_params:,} parameters; dense "
                f"systems are limited to {DENSE_JACOBIAN_LIMIT:,}); use {instead}fewer "
                "training samples, a smaller network, or cvode-gmres")
    if not needs_dense_jacobian(config) or n_params <= DENSE_JACOBIAN_LIMIT:
        return None
    gib = dense_matrix_bytes(config, n_params) / 2**30
    n = f"{n_params:,}"
    return (f"solver.method: {config.method} keeps a dense {n} × {n} Jacobian (about "
            f"{gib:,.1f} GiB with its factorisations) for this {n}-parameter network (dense "
            f"Jacobians are limited to {DENSE_JACOBIAN_LIMIT:,} parameters); use cvode-gmres "
            "(matrix-free Newton–Krylov), an explicit method or a smaller network")
