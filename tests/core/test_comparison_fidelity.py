"""Follows the flow? Each run's distance from a tight reference solution from the same θ0."""

import csv
import io
from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from odeprop.core import comparison_runner
from odeprop.core.cli import main
from odeprop.core.comparison import Comparison, ReferenceFlow, RunSpec, Target
from odeprop.core.comparison_runner import ComparisonRunner, RunsRefused, refuse_oversized
from odeprop.core.config import DatasetConfig, NetworkConfig, SolverConfig, StopConfig
from odeprop.core.fidelity import FlowTrack, FlowTracking, ReferenceSolution, TrackedRun
from odeprop.core.flow import GradientFlow, Objective
from odeprop.core.run import Problem, Run
from odeprop.core.summary import summarize

TIGHT = ReferenceFlow("Radau", 1e-9, 1e-12)
XOR = Comparison(
    name="xor", dataset=DatasetConfig(kind="xor"), network=NetworkConfig(hidden=(4,)),
    stop=StopConfig(target_loss=0.02, t_end=1e4, max_steps=3000),
    targets=(Target("loss", 0.3), Target("loss", 0.05)),
    runs=(RunSpec("GD, lr 5", SolverConfig(method="gd", learning_rate=5.0)),
          RunSpec("RK45 1e-8", SolverConfig(method="RK45", rtol=1e-8, atol=1e-10)),
          RunSpec("Radau as the reference", SolverConfig(method="Radau", rtol=1e-9, atol=1e-12)),
          RunSpec("lm", SolverConfig(method="lm"))),
    reference=TIGHT)


def _tracked(index: int):
    experiment = XOR.experiment(index)
    return TrackedRun(experiment, Problem.build(experiment), TIGHT, XOR.targets)


@pytest.fixture(scope="module")
def reports():
    return [_tracked(i).run_to_end() for i in range(len(XOR.runs))]


def test_the_reference_method_itself_sits_on_the_flow(reports):
    track = reports[2].flow
    assert reports[2].status == "finished"
    assert track.largest < 1e-10 and track.at_end < 1e-10 and track.follows


def test_a_tight_rk45_follows_the_flow_closely(reports):
    track = reports[1].flow
    assert track.at_end < 1e-3 and all(d < 1e-3 for d in track.at_targets)
    assert track.follows


@pytest.mark.parametrize("index", [0, 3])
def test_gd_at_a_large_rate_and_lm_leave_the_flow(reports, index):
    track = reports[index].flow
    assert reports[index].status == "finished"
    assert track.largest > 0.10 and track.at_end > 0.10 and track.follows is False


def test_distances_are_measured_at_the_runs_own_t(reports):
    """At GD's t = η·steps the run's θ against the flow's θ from solve_ivp at that t."""
    track = reports[0].flow
    problem = Problem.build(XOR.experiment(0))
    flow = GradientFlow(Objective(problem.net, problem.dataset.X_train, problem.T_train))
    last = track.samples[-1]
    assert last.t == pytest.approx(5.0 * last.step)
    ivp = solve_ivp(flow.rhs, (0, last.t), problem.theta0, method="Radau", jac=flow.jac,
                    rtol=1e-10, atol=1e-12)
    theta_ref = ivp.y[:, -1]
    distance = np.linalg.norm(reports[0].theta - theta_ref) / np.linalg.norm(theta_ref)
    assert last.flow_distance == pytest.approx(distance, rel=1e-4)
    assert last.flow_distance == track.at_end


def test_the_reference_answers_between_its_steps_from_its_dense_output():
    problem = Problem.build(XOR.experiment(0))
    objective = Objective(problem.net, problem.dataset.X_train, problem.T_train)
    reference = ReferenceSolution(objective, problem.theta0, ReferenceFlow("RK45", 1e-10, 1e-12),
                                  t_end=50.0)
    times = [0.0, 0.3, 0.31, 2.0, 17.5, 50.0]
    got = np.array([reference.at(t) for t in times]).T
    flow = GradientFlow(Objective(problem.net, problem.dataset.X_train, problem.T_train))
    want = solve_ivp(flow.rhs, (0, 50.0), problem.theta0, t_eval=times, rtol=1e-12,
                     atol=1e-14, method="DOP853").y
    assert np.allclose(got, want, rtol=0, atol=1e-7)


def test_measuring_leaves_the_runs_counts_and_trajectory_alone():
    experiment = XOR.experiment(1).with_changes(stop={"max_steps": 40})
    plain = Run(experiment).run_to_end()
    tracked = TrackedRun(experiment, None, TIGHT, XOR.targets).run_to_end()
    assert tracked.final.n_grad == plain.final.n_grad and tracked.final.step == 40
    assert np.array_equal(tracked.theta, plain.theta)


def test_samples_are_thinned_in_t_but_keep_the_end():
    experiment = XOR.experiment(0).with_changes(solver={"learning_rate": 0.2},
                                                stop={"max_steps": 600, "target_loss": None})
    report = TrackedRun(experiment, None, ReferenceFlow("RK45", 1e-6, 1e-8)).run_to_end()
    t = np.array([s.t for s in report.flow.samples])
    assert report.final.step == 600 and 60 < len(t) < 150  # about 50 a decade in t
    assert np.all(t[2:-1] / t[1:-2] >= 1.05 - 1e-12)  # the last is the end, whatever its gap
    assert report.flow.samples[-1].step == 600 and t[0] == 0


@pytest.fixture(scope="module")
def compared():
    comparison = replace(XOR, runs=XOR.runs[:2])
    runner = ComparisonRunner(comparison, max_parallel=2, niceness=0)
    runner.run_all()
    return comparison, runner


def test_the_summary_shows_the_distance_from_the_flow(compared):
    comparison, runner = compared
    summary = summarize(comparison, runner.results)
    keys = [key for key, _, _ in summary.columns()]
    assert keys[6:9] == ["flow_t1", "flow_end", "follows"]  # after the final target's 4
    gd, rk45 = summary.rows
    assert gd["follows"] == "no" and rk45["follows"] == "yes"
    assert gd["flow_end"] == runner.results[0].report.flow.at_end > 0.1
    assert rk45["flow_t1"] == runner.results[1].report.flow.at_targets[1] < 1e-3
    text = summary.to_markdown()
    assert "| from flow at loss ≤ 0.05 | from flow at end | follows the flow (≤ 10%) |" in text
    assert "against a Radau, rtol 1e-09, atol 1e-12 solution from the same θ0" in text


def test_a_reference_the_network_is_too_big_for_is_refused_before_any_run():
    big = Comparison(name="big", dataset=DatasetConfig(kind="digits"),
                     network=NetworkConfig(hidden=(128,), activations=("tanh",),
                                           loss="softmax_ce"),
                     runs=(RunSpec("GD", SolverConfig(method="gd")),), reference=ReferenceFlow())
    problem = Problem.build(big.experiment(0))
    with pytest.raises(RunsRefused, match=r'^reference\.method: Radau keeps a dense 9,610 × '
                                          r'9,610 Jacobian .* use method = "RK45"'):
        refuse_oversized(big, problem)
    refuse_oversized(replace(big, reference=ReferenceFlow("RK45")), problem)


def test_only_the_first_seeds_first_making_measures_the_flow(monkeypatch):
    started = []

    class Fake:  # what the runner gave each worker, without starting one
        def __init__(self, experiment, theta0, **kwargs):
            started.append((experiment.network.init_seed, kwargs["tracking"]))

    monkeypatch.setattr(comparison_runner, "RunProcess", Fake)
    runner = ComparisonRunner(replace(XOR, n_seeds=2), max_parallel=8, niceness=0)
    runner.start()
    assert [seed for seed, _ in started] == [0] * 4 + [1] * 4
    assert [tracking for _, tracking in started] == [FlowTracking(TIGHT, XOR.targets)] * 4 + [
        None] * 4


def test_compare_writes_the_flow_columns(tmp_path, capsys):
    path = tmp_path / "c.toml"
    replace(XOR, runs=XOR.runs[:1]).save(path)
    assert main(["compare", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "summary.csv").read_text())))
    assert rows[0]["follows the flow (≤ 10%)"] == "no"
    assert float(rows[0]["from flow at end"]) > 0.1


def test_an_lsoda_reference_is_refused_beside_an_lsoda_run():
    with pytest.raises(ValueError, match=r"^reference\.method: LSODA cannot measure runs that "
                                         r"use LSODA or lsoda themselves \(lsoda run\)"):
        replace(XOR, runs=(*XOR.runs[:1], RunSpec("lsoda run", SolverConfig(method="lsoda"))),
                reference=ReferenceFlow("LSODA"))


@pytest.mark.parametrize("method,settings", [
    ("lsoda", {}), ("LSODA", {}), ("vode-bdf", {"jacobian": "exact"}), ("dopri5", {}),
    ("cvode-gmres", {}), ("ros2-gn", {}), ("momentum", {"learning_rate": 0.1}),
])
def test_every_solver_family_runs_under_the_default_reference(method, settings):
    """The reference shares the run's process: it must not disturb a solver's state (scipy's
    LSODA, for one, keeps one problem per process)."""
    experiment = XOR.experiment(0).with_changes(
        solver={"method": method, **settings}, stop={"target_loss": 0.05, "max_steps": 400})
    report = TrackedRun(experiment, None, ReferenceFlow()).run_to_end()
    assert report.status == "finished", report.message
    assert report.flow.at_end is not None and not report.flow.failed


@pytest.mark.parametrize("at_targets,at_end,follows", [
    ((0.5, 0.05), 0.01, True),   # off by 50 % on the way (a plateau left early), on it at the end
    ((0.01, 0.2), 0.01, False),  # off at the final target
    ((0.01, None), 0.2, False),  # never reached the final target, off at the end
    ((None, None), None, None),  # not measured to the end
])
def test_following_the_flow_is_judged_at_the_final_target_and_the_end(at_targets, at_end,
                                                                       follows):
    track = FlowTrack((), at_targets, at_end, largest=0.5)
    assert track.follows is follows


def test_the_largest_distance_on_the_way_is_reported_beside(compared):
    comparison, runner = compared
    rows = summarize(comparison, runner.results).rows
    assert [r["flow_max"] for r in rows] == [r.report.flow.largest for r in runner.results]
    assert rows[0]["flow_max"] >= rows[0]["flow_end"]
