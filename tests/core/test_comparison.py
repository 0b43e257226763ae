"""Comparisons: shared initial weights, parallel runs, the summary table and the presets."""

import csv
import io

import numpy as np
import pytest

from odeprop.core.cli import main
from odeprop.core.comparison import Comparison, RunSpec, Target
from odeprop.core.comparison_runner import ComparisonRunner
from odeprop.core.config import DatasetConfig, NetworkConfig, SolverConfig, StopConfig
from odeprop.core.presets import comparison_names, load_comparison
from odeprop.core.recording import read_recording
from odeprop.core.run import Run
from odeprop.core.summary import first_hit, summarize

SMALL = Comparison(
    name="small", dataset=DatasetConfig(n_samples=80), network=NetworkConfig(hidden=(6,)),
    stop=StopConfig(target_loss=0.05, t_end=1e5, max_wall_time=30),
    targets=(Target("loss", 0.2), Target("accuracy", 0.9)),
    runs=(RunSpec("GD", SolverConfig(method="gd", learning_rate=0.5)),
          RunSpec("BDF", SolverConfig(method="BDF")),
          RunSpec("vode", SolverConfig(method="vode-bdf", jacobian="exact"))),
)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    events = []
    runner = ComparisonRunner(SMALL, max_parallel=2, niceness=0,
                              record_dir=tmp_path_factory.mktemp("records"))
    runner.run_all(events.append)
    yield runner, events
    runner.discard_records()


def test_every_run_starts_from_bitwise_identical_weights(finished):
    runner, events = finished
    first_thetas = {}
    for e in events:
        if e.kind == "theta" and e.payload[0] == 0:
            first_thetas.setdefault(e.index, e.payload[1])
    assert sorted(first_thetas) == [0, 1, 2]
    for theta in first_thetas.values():
        assert theta.tobytes() == runner.theta0.tobytes()


def test_table_values_equal_the_runs_own_final_snapshots(finished):
    runner, _ = finished
    summary = summarize(SMALL, runner.results)
    assert summary.reference == 0  # gradient descent is the yardstick when present
    for row, result in zip(summary.rows, runner.results, strict=True):
        final = result.report.final
        assert result.status == "finished" and final.loss_train <= 0.05
        assert row["steps"] == final.step and row["grads"] == final.n_grad
        assert row["loss_train"] == final.loss_train and row["wall"] == final.solver_wall
        snapshots = read_recording(result.recorder.path)  # every one the run sent
        assert [s.step for s in snapshots] == list(range(final.step + 1))
        assert result.count == len(snapshots) and result.last == snapshots[-1]
        hit = first_hit(snapshots, SMALL.targets[0])
        assert row["t0_wall"] == hit.wall and row["t0_grads"] == hit.grads
        before = snapshots[hit.step - 1]
        assert before.loss_train > 0.2 >= snapshots[hit.step].loss_train
    assert summary.rows[0]["t0_speedup"] == 1.0 == summary.rows[0]["t0_grad_ratio"]
    bdf = summary.rows[1]
    assert bdf["t0_grad_ratio"] == summary.rows[0]["t0_grads"] / bdf["t0_grads"]


def test_distance_matrix_is_symmetric_with_zero_diagonal(finished):
    runner, _ = finished
    d = summarize(SMALL, runner.results).distances
    assert np.all(np.diag(d) == 0) and np.array_equal(d, d.T)
    assert d[1, 2] == pytest.approx(np.linalg.norm(runner.results[1].theta
                                                   - runner.results[2].theta))


def test_markdown_and_csv_hold_one_row_per_run(finished):
    runner, _ = finished
    summary = summarize(SMALL, runner.results)
    md = summary.to_markdown().splitlines()
    table = md[:md.index("")]
    assert len(table) == 2 + 3 and table[2].startswith("| GD | gd |")
    rows = list(csv.DictReader(io.StringIO(summary.to_csv())))
    assert [r["run"] for r in rows] == ["GD", "BDF", "vode"]
    assert float(rows[1]["distance to vode"]) == pytest.approx(summary.distances[1, 2])


def test_queued_runs_wait_for_a_free_core():
    runner = ComparisonRunner(SMALL, max_parallel=1, niceness=0)
    runner.start()
    assert [r.status for r in runner.results] == ["running", "queued", "queued"]
    runner.terminate()
    assert all(r.done for r in runner.results)


@pytest.mark.parametrize("name", comparison_names())
def test_each_preset_loads_and_runs_on_a_small_budget(name):
    comparison = load_comparison(name)
    assert comparison.targets and comparison.runs
    for i in range(len(comparison.runs)):
        exp = comparison.experiment(i).with_changes(stop={"max_steps": 15})
        report = Run(exp).run_to_end()
        assert report.status in ("finished", "stopped"), (comparison.runs[i].label, report)
        assert report.final.step <= 15


def test_presets_asked_for_by_the_issue_are_shipped():
    assert {"article-and-critique", "owens-filkin-xor", "owens-filkin-encoder",
            "edge-of-stability"} <= set(comparison_names())
    article = load_comparison("article-and-critique")
    methods = [r.solver.method for r in article.runs]
    assert methods.count("BDF") == 2 and {"zvode-bdf", "vode-bdf", "lsoda", "dopri5", "gd",
                                          "adam"} <= set(methods)
    zvode = article.runs[methods.index("zvode-bdf")].solver
    assert (zvode.rtol, zvode.atol, zvode.jacobian) == (1e-6, 1e-8, "fd")


def test_the_race_preset_runs_the_w_methods_against_tuned_baselines():
    race = load_comparison("race-sine")
    solvers = {r.label: r.solver for r in race.runs}
    assert {s.method for s in solvers.values()} >= {"adam", "gd", "ros2-gn", "ros34pw2-gn", "lm"}
    modes = {s.jacobian_mode for s in solvers.values() if s.method == "ros2-gn"}
    assert modes == {"sampled-gauss-newton", "gauss-newton"}
    assert race.experiment(0).stop.target_rms == 0.01 and race.experiment(0).network.loss == "mse"


@pytest.mark.parametrize("change,message", [
    ({"runs": ()}, "runs: a comparison holds 1 to 8 runs, got 0"),
    ({"runs": (RunSpec("a"), RunSpec("a"))}, "runs.label: labels must differ; repeated: a"),
    ({"runs": (RunSpec("x", SolverConfig(method="gd")),), "stop": StopConfig(target_rms=0.1)},
     "runs[0] (x): stop.target_rms: an RMS-error target needs the squared-error loss"),
])
def test_bad_comparisons_are_refused_with_a_message(change, message):
    from dataclasses import replace

    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        replace(SMALL, **change)


def test_toml_round_trip(tmp_path):
    path = tmp_path / "c.toml"
    SMALL.save(path)
    assert Comparison.load(path) == SMALL
    with pytest.raises(ValueError, match=r"^runs\[1\]: solver\.method: unknown method"):
        Comparison.from_toml(SMALL.to_toml().replace('method = "BDF"', 'method = "nope"'))


def test_compare_command_prints_a_table_and_writes_files(tmp_path, capsys):
    path = tmp_path / "c.toml"
    SMALL.save(path)
    assert main(["compare", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 3 + 1 + 3  # header + runs, distance header + runs
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "comparison.toml", "run-1-gd.csv", "run-2-bdf.csv", "run-3-vode.csv", "summary.csv",
        "summary.md"]


def test_compare_bad_input_is_one_line(capsys):
    assert main(["compare", "--preset", "nope"]) == 2
    assert capsys.readouterr().err.startswith("odeprop: error: no comparison preset named")


#: Digits (64 inputs, 10 classes) through 128 hidden units: 9,610 parameters, beyond the
#: 6,000 a dense Jacobian is allowed; BDF and Radau cannot run it, GD can.
TOO_BIG = Comparison(
    name="too big", dataset=DatasetConfig(kind="digits"),
    network=NetworkConfig(hidden=(128,), activations=("tanh",), loss="softmax_ce"),
    stop=StopConfig(max_steps=5),
    runs=(RunSpec("GD", SolverConfig(method="gd")),
          RunSpec("BDF exact", SolverConfig(method="BDF")),
          RunSpec("Radau", SolverConfig(method="Radau"))))


def _no_workers(monkeypatch):
    from odeprop.core import comparison_runner

    def refuse(*_args, **_kwargs):
        raise AssertionError("a worker was started")

    monkeypatch.setattr(comparison_runner, "RunProcess", refuse)


def test_runs_that_cannot_run_on_the_network_are_refused_before_any_starts(monkeypatch):
    from odeprop.core.comparison_runner import RunsRefused
    from odeprop.core.dense_limits import dense_jacobian_refusal

    _no_workers(monkeypatch)
    with pytest.raises(RunsRefused) as caught:
        ComparisonRunner(TOO_BIG, max_parallel=1, niceness=0)
    refused = caught.value.refused
    assert [i for i, _ in refused] == [1, 2]
    why = dense_jacobian_refusal(TOO_BIG.runs[1].solver, 9610)
    assert refused[0][1] == f"runs[1] (BDF exact): {why}"
    assert str(caught.value) == f"runs[1] (BDF exact): {why}; the same for runs[2] (Radau)"
    assert TOO_BIG.refusals(6000) == []  # the limit itself is allowed


def test_compare_refuses_such_a_run_with_one_line_and_starts_nothing(tmp_path, capsys,
                                                                     monkeypatch):
    _no_workers(monkeypatch)
    path = tmp_path / "c.toml"
    TOO_BIG.save(path)
    assert main(["compare", str(path), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith("odeprop: error: runs[1] (BDF exact): solver.method: BDF "
                                   "keeps a dense 9,610 × 9,610 Jacobian")
    assert "use cvode-gmres" in captured.err
    assert captured.err.rstrip().endswith("the same for runs[2] (Radau); no run was started")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
