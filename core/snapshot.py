"""What a run reports: one immutable snapshot per accepted step, and a final report.

``None`` always means "not measured at this step" or "this method does not expose it".
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, fields

import numpy as np


@dataclass(frozen=True)
class Snapshot:
    """The state of a run after one accepted step (step 0 is the initial point)."""

    step: int
    t: float
    h: float | None
    wall: float  # seconds spent in the run's steps so far (solver, metrics and probes)
    solver_wall: float  # seconds on the fair clock: solver steps, the training loss at each point
    loss_train: float
    loss_test: float | None
    accuracy_train: float | None
    accuracy_test: float | None
    rms_train: float | None
    rms_test: float | None
    grad_norm: float | None
    # solver statistics (cumulative)
    rejected: int | None
    newton_iters: int | None
    newton_failures: int | None
    order: int | None
    jac_evals: int | None
    lu_decomps: int | None
    method_in_use: str | None
    method_switches: int | None
    # work on the loss by the solver, and by the stiffness probe
    n_grad: int
    n_grad_fd: int  # of n_grad: calls spent on finite-difference Jacobians, not on steps
    n_hvp: int
    n_hess: int
    probe_hvp: int
    probe_hess: int
    # stiffness, when probed at this step
    lambda_max: float | None
    lambda_min: float | None
    curvature: float | None  # gᵀHg / gᵀg
    h_lambda_max: float | None
    stability_bound: float | None  # of the method, on the negative real axis (None: unbounded)
    rtol: float | None  # tolerances in force (a schedule may change them); None for optimisers
    atol: float | None
    status: str  # running, finished, failed, stopped
    message: str = ""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def as_row(self) -> list:
        return [_csv_value(v) for v in asdict(self).values()]


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return value


def snapshots_to_csv(snapshots) -> str:
    """All snapshots as CSV text, one row per step, empty cells for None."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(Snapshot.field_names())
    for snap in snapshots:
        writer.writerow(snap.as_row())
    return buf.getvalue()


@dataclass(frozen=True)
class Spectrum:
    """Hessian eigenvalues at one probed step: the whole spectrum, or both ends (Lanczos)."""

    step: int
    t: float
    h: float | None
    eigenvalues: np.ndarray  # ascending
    complete: bool

    def scaled(self) -> np.ndarray | None:
        """z = −h·λ_i: where the step puts each eigen-direction in the stability plane."""
        return None if self.h is None else -self.h * self.eigenvalues


def spectra_to_csv(spectra) -> str:
    """Spectra in long form: one row per eigenvalue, with z = −h·λ."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["step", "t", "h", "complete", "index", "eigenvalue", "minus_h_lambda"])
    for spec in spectra:
        for i, lam in enumerate(spec.eigenvalues):
            z = "" if spec.h is None else repr(-spec.h * float(lam))
            writer.writerow([spec.step, repr(spec.t), _csv_value(spec.h), spec.complete, i,
                             repr(float(lam)), z])
    return buf.getvalue()


@dataclass(frozen=True)
class RunReport:
    """Where a run ended: final metrics, the smallest Hessian eigenvalue, θ and every counter."""

    name: str
    method: str
    status: str
    message: str
    final: Snapshot
    theta: np.ndarray
    lambda_min_final: float | None
    lambda_max_final: float | None
    n_params: int
    eigen_rel_tol: float = 1e-6  # relative accuracy of the final eigenvalues


    @property
    def indefinite(self) -> bool | None:
        """True when the Hessian at the end has a clearly negative eigenvalue: the run did not
        end in a minimum (near a saddle, or still on its way down a non-convex slope)."""
        if self.lambda_min_final is None or not math.isfinite(self.lambda_min_final):
            return None
        scale = max(abs(self.lambda_max_final or 0.0), 1e-12)
        return self.lambda_min_final < -self.eigen_rel_tol * scale

    def to_dict(self) -> dict:
        data = {
            "name": self.name, "method": self.method, "status": self.status,
            "message": self.message, "n_params": self.n_params,
            "lambda_min_final": self.lambda_min_final,
            "lambda_max_final": self.lambda_max_final, "hessian_indefinite": self.indefinite,
            "final": {k: _json_value(v) for k, v in asdict(self.final).items()},
            "theta": [float(x) for x in self.theta],
        }
        return data


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
