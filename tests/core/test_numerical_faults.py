"""Numerical faults a run survives: it ends as failed, its message names the cause and the step,
and every snapshot before the fault is kept — in the engine and through a worker process.

The faults are injected into the objective (from its n-th evaluation on, the gradient, the
Hessian or the Hessian-vector products turn NaN or inf), or provoked (a learning rate that
overflows the logits of every output/loss pairing).
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from odeprop.core import flow as flow_module
from odeprop.core import run as run_module
from odeprop.core.config import Experiment
from odeprop.core.run import Run

BASE = Experiment().with_changes(
    dataset={"n_samples": 60}, network={"hidden": (4,)}, probe={"stiffness_every": 0},
    stop={"t_end": 1e6, "target_loss": None, "max_steps": 300})

#: What each family says when the gradient turns NaN mid-run: codes that would creep towards
#: the bad point are stopped by the finite-gradient guard; scipy's Runge–Kutta, BDF and Radau
#: reject the trial steps until h is below the spacing of floats, and the failure names the NaN;
#: the fixed-step optimisers (and LSODA, which steps over it) meet it as a NaN loss.
NAMED = r"the gradient became non-finite \(NaN or inf\) at t = [^;]+; Required step size"
GRADIENT_CAUSE = {
    "RK45": rf"RK45: {NAMED}",
    "BDF": rf"BDF: {NAMED}",
    "Radau": rf"Radau: {NAMED}",
    "LSODA": r"the loss became nan at step \d+",
    "vode-bdf": r"vode: the gradient is not finite \(NaN or inf\)",
    "lsoda": r"lsoda: the gradient is not finite \(NaN or inf\)",
    "dopri5": r"dopri5: the gradient is not finite \(NaN or inf\)",
    "cvode-dense": r"CVODE: the gradient is not finite \(NaN or inf\)",
    "gd": r"the loss became nan at step \d+",
    "adam": r"the loss became nan at step \d+",
}


def poisoned(monkeypatch, method: str, after: int, value: float = np.nan) -> None:
    """From the ``after``-th call on, ``Objective.<method>`` returns NaN (or inf) values."""
    real = getattr(flow_module.Objective, method)
    calls = [0]

    def bad(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        calls[0] += 1
        if calls[0] <= after:
            return out
        if method == "loss_grad":
            return out[0], out[1] * value
        return out * value

    monkeypatch.setattr(flow_module.Objective, method, bad)


def run_to_failure(exp: Experiment):
    snaps = []
    run = Run(exp)
    try:
        report = run.run_to_end(snaps.append)
    finally:
        run.close()
    return report, snaps


def assert_failed_at_a_named_step(report, snaps, cause: str) -> None:
    assert report.status == "failed", report.message
    assert re.search(cause, report.message), report.message
    step = int(re.search(r"(?:after|at) step (\d+)", report.message).group(1))
    kept = [s.step for s in snaps]
    assert kept[: step + 1] == list(range(step + 1))  # every step before the fault is kept
    assert snaps[-1].status == "failed" and snaps[-1].message == report.message
    assert all(np.isfinite(s.loss_train) for s in snaps[:-1] if s.step <= step - 1)


@pytest.mark.parametrize("method", list(GRADIENT_CAUSE))
def test_a_nan_gradient_mid_run_fails_at_a_named_step_and_keeps_the_data(method, monkeypatch):
    exp = BASE.with_changes(solver={"method": method,
                                    **({"learning_rate": 0.1} if method in ("gd", "adam")
                                       else {})})
    poisoned(monkeypatch, "loss_grad", after=40)
    report, snaps = run_to_failure(exp)
    assert_failed_at_a_named_step(report, snaps, GRADIENT_CAUSE[method])
    assert len(snaps) >= 5


@pytest.mark.parametrize(("method", "cause"), [
    ("BDF", r"BDF: the Jacobian −H became non-finite \(NaN or inf\) near t = "),
    ("Radau", r"Radau: the Jacobian −H became non-finite \(NaN or inf\) near t = "),
    ("cvode-dense", r"CVODE: the gradient is not finite \(NaN or inf\)"),
])
def test_a_nan_hessian_in_an_implicit_solver_fails_at_a_named_step(method, cause, monkeypatch):
    poisoned(monkeypatch, "hessian", after=3)
    report, snaps = run_to_failure(BASE.with_changes(solver={"method": method}))
    assert_failed_at_a_named_step(report, snaps, cause)


def test_an_inf_hessian_in_the_stiffness_probe_is_a_nan_estimate_not_a_failure(monkeypatch):
    # As on a machine under heavy load, where no probe fits the time allowance: the probes'
    # cadence must not depend on it (with the default budget the due probes after step 0 were
    # skipped, and the only other, the end's, took the first, sound, dense Hessian).
    monkeypatch.setattr(run_module, "PROBE_ALLOWANCE", 0.0)
    poisoned(monkeypatch, "hvp", after=3, value=np.inf)
    poisoned(monkeypatch, "hessian", after=3, value=np.inf)
    exp = BASE.with_changes(solver={"method": "RK45"},
                            probe={"stiffness_every": 5, "stiffness_budget": 0.0},  # all due
                            stop={"max_steps": 30})
    report, snaps = run_to_failure(exp)
    assert report.status == "stopped"  # the run itself is sound: it goes on
    probed = {s.step: s.lambda_max for s in snaps if s.lambda_max is not None}
    assert list(probed) == [0, 5, 10, 15, 20, 25, 30]  # every due probe ran
    values = list(probed.values())
    assert np.all(np.isfinite(values[:3]))  # three sound Hessians, then inf ones:
    assert np.all(np.isnan(values[3:]))  # a NaN estimate each time, never an exception


@pytest.mark.parametrize(("loss", "output", "status"), [
    ("bce", "sigmoid", "stopped"), ("softmax_ce", "softmax", "stopped"),
    ("mse", "sigmoid", "stopped"), ("mse", "linear", "failed")])
def test_overflowing_logits_stay_finite_or_fail_at_a_named_step_never_warn(loss, output,
                                                                           status):
    """Logits of 10⁵ and more: stable log-sum-exp and sigmoid keep BCE, softmax cross-entropy
    and a saturated sigmoid finite; a linear output's squared error overflows, and says so."""
    kind = "blobs" if loss == "softmax_ce" else "moons"
    exp = BASE.with_changes(
        dataset={"kind": kind, "n_classes": 3} if kind == "blobs" else {"kind": kind},
        network={"loss": loss, **({"output": output} if loss == "mse" else {})},
        solver={"method": "gd", "learning_rate": 1e6},
        stop={"t_end": 1e12, "max_steps": 60})
    report, snaps = run_to_failure(exp)  # RuntimeWarnings from odeprop are errors here
    assert report.status == status, report.message
    if status == "failed":
        assert_failed_at_a_named_step(report, snaps, r"the loss became inf at step \d+")
        assert "lower the learning rate" in report.message
    else:
        assert len(snaps) == 61 and all(np.isfinite(s.loss_train) for s in snaps)
        assert max(s.loss_train for s in snaps) > 1e3 or loss == "mse"  # it did blow up


def test_a_failed_run_sends_everything_before_the_fault_through_its_worker():
    from odeprop.core.worker import RunProcess, wait_any

    exp = BASE.with_changes(dataset={"kind": "sin"}, network={"loss": "mse"},
                            solver={"method": "gd", "learning_rate": 50.0})
    proc = RunProcess(exp, niceness=0)
    snaps, report = [], None
    deadline = time.monotonic() + 30
    try:
        while report is None and time.monotonic() < deadline:
            for p in wait_any([proc], 0.5):
                kind, *rest = p.receive()
                if kind == "batch":
                    snaps.extend(rest[0])
                elif kind in ("done", "error", "died"):
                    report = rest[0]
    finally:
        proc.terminate()
    assert report is not None and report.status == "failed"
    assert_failed_at_a_named_step(report, snaps, r"the loss became (nan|inf) at step \d+")
