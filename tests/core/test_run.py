"""A run end to end: snapshots, stop conditions, failures as data, stiffness, final report."""

import math

import numpy as np
import pytest

from odeprop.core.config import Experiment
from odeprop.core.run import Problem, Run
from odeprop.core.snapshot import Snapshot, snapshots_to_csv


def _experiment(**sections):
    base = Experiment().with_changes(dataset={"n_samples": 120}, network={"hidden": (8,),
                                     "activations": ("tanh",)})
    return base.with_changes(**sections)


def _collect(run):
    snaps = []
    run.run_to_end(snaps.append)
    return snaps


def test_run_reaches_target_loss_with_consistent_snapshots():
    run = Run(_experiment(solver={"method": "RK45"}, stop={"target_loss": 0.05}))
    snaps = _collect(run)
    assert run.status == "finished" and "target loss" in run.message
    assert snaps[-1].loss_train <= 0.05 < snaps[-2].loss_train
    assert [s.step for s in snaps] == list(range(len(snaps)))
    assert all(b.t > a.t for a, b in zip(snaps, snaps[1:], strict=False))
    for field in ("n_grad", "wall", "solver_wall"):
        values = [getattr(s, field) for s in snaps]
        assert values == sorted(values), field
    assert snaps[-1].n_grad == run.flow.counts.grad
    assert snaps[-1].accuracy_test is not None and snaps[-1].accuracy_train > 0.8


def test_same_seed_same_initial_weights_and_data():
    a, b = Problem.build(_experiment()), Problem.build(_experiment())
    np.testing.assert_array_equal(a.theta0, b.theta0)
    np.testing.assert_array_equal(a.dataset.X_train, b.dataset.X_train)
    c = Problem.build(_experiment(network={"init_seed": 7}))
    assert not np.array_equal(a.theta0, c.theta0)


def test_diverging_gradient_descent_fails_with_message_and_keeps_data():
    run = Run(_experiment(dataset={"kind": "sin"}, network={"loss": "mse"},
                          solver={"method": "gd", "learning_rate": 50.0}, stop={"t_end": 1e9}))
    snaps = _collect(run)
    assert run.status == "failed"
    assert "diverged" in run.message and "learning rate" in run.message
    assert len(snaps) >= 2 and math.isfinite(snaps[0].loss_train)
    assert snaps[-1].status == "failed"


def test_step_limit_and_manual_stop():
    run = Run(_experiment(solver={"method": "gd"}, stop={"max_steps": 7, "target_loss": None}))
    snaps = _collect(run)
    assert run.status == "stopped" and snaps[-1].step == 7 and "step limit" in run.message
    run = Run(_experiment(solver={"method": "gd"}))
    run.start()
    run.step()
    last = run.stop()
    assert run.done and last.status == "stopped" and run.step() is last


def test_stiffness_probe_matches_dense_hessian():
    exp = _experiment(solver={"method": "RK45", "rtol": 1e-6, "atol": 1e-8},
                      probe={"stiffness_every": 5, "stiffness_budget": 0},
                      stop={"target_loss": 0.1})
    run = Run(exp)
    snaps = _collect(run)
    probed = [s for s in snaps if s.lambda_max is not None]
    every_fifth = list(range(5, snaps[-1].step + 1, 5))
    end = [] if snaps[-1].step % 5 == 0 else [snaps[-1].step]  # λ at the end, whatever the step
    assert [s.step for s in probed if s.step] == every_fifth + end
    last = probed[-1]
    assert last.h_lambda_max == pytest.approx(last.h * last.lambda_max)
    assert last.stability_bound == pytest.approx(3.3065)
    assert last.probe_hvp > 0 and snaps[-1].n_hvp == 0  # probe work is counted apart


def test_report_has_final_eigenvalues_and_theta():
    run = Run(_experiment(solver={"method": "BDF"}, stop={"target_loss": 0.05}))
    report = run.run_to_end()
    eigs = np.linalg.eigvalsh(run.train.hessian(report.theta))
    assert report.lambda_max_final == pytest.approx(eigs[-1], rel=1e-3)
    assert report.lambda_min_final == pytest.approx(eigs[0], rel=1e-2, abs=1e-5)
    assert report.final.status == "finished"
    report.theta[:] = 0  # a copy: the run is untouched
    assert np.any(run.theta != 0)
    data = report.to_dict()
    assert data["final"]["step"] == report.final.step and len(data["theta"]) == report.n_params


def test_snapshots_to_csv_has_a_row_per_snapshot_and_blank_nones():
    run = Run(_experiment(solver={"method": "gd"}, stop={"max_steps": 3}))
    snaps = _collect(run)
    lines = snapshots_to_csv(snaps).splitlines()
    assert lines[0].split(",") == Snapshot.field_names()
    assert len(lines) == len(snaps) + 1
    row = dict(zip(Snapshot.field_names(), lines[1].split(","), strict=True))
    assert row["newton_failures"] == "" and float(row["loss_train"]) == snaps[0].loss_train


def test_rms_target_for_squared_error():
    exp = Experiment.from_dict({
        "dataset": {"kind": "xor", "standardize": False},
        "network": {"hidden": [3], "activations": ["tanh"], "loss": "mse"},
        "solver": {"method": "LSODA", "rtol": 1e-3, "atol": 1e-3},
        "stop": {"target_rms": 0.1, "target_loss": None, "t_end": 1e5},
    })
    run = Run(exp)
    report = run.run_to_end()
    assert report.status == "finished" and "RMS" in report.message
    assert report.final.rms_train <= 0.1
    assert report.final.loss_test is None  # XOR's four points have no test split


@pytest.mark.parametrize("method", ["BDF", "RK45", "LSODA", "vode-bdf", "lsoda", "cvode-gmres"])
def test_tolerance_schedule_loosens_early_then_tightens(method):
    """Loose tolerances (1e-2) until the loss falls below 0.3, then 1e-5: the snapshots show the
    switch, and the run agrees with one that used 1e-5 throughout only after the switch."""
    phases = [{"until_loss": 0.3, "rtol": 1e-2, "atol": 1e-2}]
    exp = _experiment(solver={"method": method, "rtol": 1e-5, "atol": 1e-5, "schedule": phases},
                      stop={"target_loss": 0.1})
    run = Run(exp)
    snaps = _collect(run)
    assert run.status == "finished", run.message
    loose = [s for s in snaps if s.rtol == 1e-2]
    tight = [s for s in snaps if s.rtol == 1e-5]
    assert loose and tight and len(loose) + len(tight) == len(snaps)
    switch = len(loose)
    assert snaps[switch - 1].loss_train <= 0.3 < snaps[switch - 2].loss_train
    # the loose phase reaches loss 0.3 in fewer steps than tight tolerances do
    plain = _collect(Run(_experiment(solver={"method": method, "rtol": 1e-5, "atol": 1e-5},
                                     stop={"target_loss": 0.3})))
    assert switch < len(plain)


def test_full_spectra_are_kept_at_probed_steps_with_their_step_size():
    from odeprop.core.snapshot import spectra_to_csv

    exp = _experiment(solver={"method": "RK45"}, stop={"target_loss": 0.2},
                      probe={"stiffness_every": 4, "stiffness_budget": 0, "full_spectrum": True})
    run = Run(exp)
    snaps = _collect(run)
    assert [s.step for s in run.spectra] == [s.step for s in snaps if s.lambda_max is not None]
    for spec in run.spectra[1:]:
        snap = snaps[spec.step]
        assert spec.h == snap.h and spec.eigenvalues[-1] == snap.lambda_max
        assert len(spec.eigenvalues) == run.net.n_params and spec.complete
        np.testing.assert_array_equal(spec.scaled(), -snap.h * spec.eigenvalues)
    lines = spectra_to_csv(run.spectra).splitlines()
    assert len(lines) == 1 + len(run.spectra) * run.net.n_params


def test_dense_jacobian_methods_are_refused_for_big_networks(monkeypatch):
    from odeprop.core import dense_limits

    monkeypatch.setattr(dense_limits, "DENSE_JACOBIAN_LIMIT", 20)
    run = Run(_experiment(solver={"method": "BDF"}))
    assert run.status == "failed" and "use cvode-gmres" in run.message
    assert f"dense {run.net.n_params:,} × {run.net.n_params:,} Jacobian" in run.message
    assert run.start().status == "failed"  # the failure is data, the snapshot says so
    for method in ("cvode-gmres", "RK45", "gd", "vode-adams"):
        assert Run(_experiment(solver={"method": method})).status == "ready", method


def test_probes_keep_to_their_budget_the_cold_first_one_included(monkeypatch):
    """On a clock where a step costs 1 ms and a probe 3 ms, probing never exceeds
    max(budget × solver time, the allowance), counting the first, cold probe at step 0."""
    from odeprop.core import run as run_module

    clock = [0.0]
    monkeypatch.setattr(run_module.time, "perf_counter", lambda: clock[0])
    run = Run(_experiment(solver={"method": "gd"},
                          stop={"max_steps": 400, "target_loss": None},
                          probe={"stiffness_every": 1, "stiffness_budget": 0.1}))
    real_step, real_estimate = run.stepper.step, run.probe.estimate

    def step():
        clock[0] += 1e-3
        real_step()

    def estimate(*args, **kwargs):
        clock[0] += 3e-3
        return real_estimate(*args, **kwargs)

    monkeypatch.setattr(run.stepper, "step", step)
    monkeypatch.setattr(run.probe, "estimate", estimate)
    snaps = _collect(run)
    probed = [s.step for s in snaps if s.lambda_max is not None]
    assert probed[0] == 0 and probed[-1] == 400  # at the start (the allowance) and the end
    assert run.probe_wall == pytest.approx(3e-3 * len(probed))
    # before the end a probe runs only if it fits (judged by the last one's cost), and the
    # budget is used; the one at the end is on top of it
    during = run.probe_wall - 3e-3
    assert 0.1 * run.solver_wall - 6e-3 <= during <= 0.1 * run.solver_wall


def test_the_default_experiment_probes_at_its_cadence_from_the_start():
    """The lab's default run is ~60 ms: its preset lifts the budget so λmax is seen evolving."""
    from odeprop.core.presets import default_experiment

    experiment = default_experiment()
    every = experiment.probe.stiffness_every  # every 4th step
    run = Run(experiment)
    snaps = _collect(run)
    assert run.status == "finished"
    probed = [s.step for s in snaps if s.lambda_max is not None]
    assert probed[:4] == [0, every, 2 * every, 3 * every]
    assert set(range(0, snaps[-1].step + 1, every)) <= set(probed)


def test_the_last_snapshot_of_a_probing_run_has_lambda_whatever_the_cadence(monkeypatch):
    """λ at the end is on the plots (not only in the report), and a big network's report takes
    it from there instead of probing the same θ again."""
    from odeprop.core import run as run_module

    exp = _experiment(solver={"method": "RK45"}, stop={"target_loss": 0.05},
                      probe={"stiffness_every": 1000})
    run = Run(exp)
    snaps = _collect(run)
    assert run.status == "finished" and snaps[-1].step % 1000 != 0
    assert [s.step for s in snaps if s.lambda_max is not None] == [0, snaps[-1].step]
    dense = run.report()
    assert snaps[-1].lambda_max == pytest.approx(dense.lambda_max_final, rel=1e-3)
    monkeypatch.setattr(run_module, "FINAL_DENSE_LIMIT", 0)  # as for a big network
    before = run.probe.hvp_count
    report = run.report()
    assert run.probe.hvp_count == before
    assert report.lambda_max_final == snaps[-1].lambda_max
    quiet = Run(exp.with_changes(probe={"stiffness_every": 0}))
    assert all(s.lambda_max is None for s in _collect(quiet))
