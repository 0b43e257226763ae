"""Comparisons repeated over initial-weight seeds and timing repeats: medians with their range."""

import csv
import io
import tomllib
from dataclasses import replace

import numpy as np
import pytest

from odeprop.core import comparison_runner
from odeprop.core.cli import main
from odeprop.core.comparison import Comparison, ReferenceFlow, RunSpec, Target
from odeprop.core.comparison_runner import ComparisonRunner
from odeprop.core.config import DatasetConfig, NetworkConfig, SolverConfig, StopConfig
from odeprop.core.presets import comparison_names, load_comparison
from odeprop.core.run import Problem
from odeprop.core.summary import summarize

#: XOR through 4 hidden units: every making takes milliseconds, the processes dominate.
TINY = Comparison(
    name="tiny", dataset=DatasetConfig(kind="xor"), network=NetworkConfig(hidden=(4,)),
    stop=StopConfig(target_loss=0.02, t_end=1e4, max_steps=2000),
    targets=(Target("loss", 0.3), Target("loss", 0.05)),
    runs=(RunSpec("GD", SolverConfig(method="gd", learning_rate=2.0)),
          RunSpec("RK45", SolverConfig(method="RK45", rtol=1e-4, atol=1e-6))),
    seeds=(3, 5), timing_repeats=2)


@pytest.fixture(scope="module")
def repeated(tmp_path_factory):
    sent = []  # (run, seed) and the θ0 each worker was given

    class Recording(comparison_runner.RunProcess):
        def __init__(self, experiment, theta0=None, **kwargs):
            sent.append((experiment.solver.method, experiment.network.init_seed, theta0.copy()))
            super().__init__(experiment, theta0, **kwargs)

    patch = pytest.MonkeyPatch()
    patch.setattr(comparison_runner, "RunProcess", Recording)
    events = []
    try:
        runner = ComparisonRunner(TINY, max_parallel=2, niceness=0)
        runner.run_all(events.append)
    finally:
        patch.undo()
    return runner, events, sent


def test_every_run_is_made_once_per_seed_and_timing_repeat(repeated):
    runner, events, _ = repeated
    for result in runner.results:
        makings = [result, *result.samples]
        assert sorted((m.seed, m.repeat) for m in makings) == [(3, 0), (3, 1), (5, 0), (5, 1)]
        assert all(m.status == "finished" for m in makings)
    repeats = [e for e in events if e.kind == "repeat"]
    assert sorted(e.index for e in repeats) == [0, 0, 0, 1, 1, 1]
    for index, result in enumerate(runner.results):  # announced once each, when it ended
        announced = [e.payload for e in repeats if e.index == index]
        assert all(a is s for a, s in zip(announced, result.samples, strict=True))
    # only the first seed's first making streams its snapshots
    assert sum(e.kind == "done" for e in events) == 2


def test_each_seed_gives_every_run_the_same_initial_weights(repeated):
    runner, _, sent = repeated
    assert len(sent) == 2 * 2 * 2
    for seed in (3, 5):
        thetas = [theta for _, s, theta in sent if s == seed]
        assert len(thetas) == 4  # two runs × two timing repeats
        assert all(t.tobytes() == thetas[0].tobytes() for t in thetas)
        built = Problem.build(TINY.experiment(0, seed=seed)).theta0
        assert thetas[0].tobytes() == built.tobytes() == runner.theta0s[seed].tobytes()
    assert not np.array_equal(runner.theta0s[3], runner.theta0s[5])
    assert runner.theta0.tobytes() == runner.theta0s[3].tobytes()  # the first seed's


def test_costs_and_wall_times_are_medians_over_every_making(repeated):
    runner, _, _ = repeated
    summary = summarize(TINY, runner.results)
    for row, result in zip(summary.rows, runner.results, strict=True):
        makings = [result, *result.samples]
        for j in range(2):
            walls = [m.hits[j].solver_wall for m in makings]
            grads = [m.hits[j].n_grad for m in makings]
            assert row[f"t{j}_wall"] == np.median(walls)
            assert row[f"t{j}_grads"] == np.median(grads)
            assert row[f"t{j}_wall_range"] == (min(walls), max(walls), 4, 4)
        ends = [m.report.final for m in makings]
        assert row["wall"] == np.median([e.solver_wall for e in ends])
        assert row["grads"] == np.median([e.n_grad for e in ends])
        assert row["steps"] == np.median([e.step for e in ends])
        assert len({e.solver_wall for e in ends}) == 4  # four samples of the clock, not one
        # where it ended: the first seed's
        assert row["loss_train"] == result.report.final.loss_train
    gd = summary.rows[0]
    # the two seeds take different paths: the range is real
    assert gd["t1_grads_range"][0] < gd["t1_grads_range"][1]
    assert summary.rows[1]["t1_grad_ratio"] == gd["t1_grads"] / summary.rows[1]["t1_grads"]


def test_the_markdown_shows_median_range_and_says_which_seed_ended(repeated):
    runner, _, _ = repeated
    summary = summarize(TINY, runner.results)
    text = summary.to_markdown()
    row = summary.rows[0]
    low, high, _, _ = row["t1_grads_range"]
    assert f"| {row['t1_grads']:.6g} [{low:.6g}–{high:.6g}] |" in text
    assert "median [min–max] over 2 seeds (3, 5) × 2 timing repeats" in text
    assert "distances between final weights and from the flow: seed 3" in text


def test_a_target_some_makings_miss_shows_how_many_reached_it(repeated):
    runner, _, _ = repeated
    result = runner.results[0]
    missed = replace(result.samples[0], hits=[result.samples[0].hits[0], None])
    saved = list(result.samples)
    result.samples[0] = missed
    try:
        summary = summarize(TINY, runner.results)
    finally:
        result.samples[:] = saved
    row = summary.rows[0]
    assert row["t1_grads_range"][2:] == (3, 4)
    assert summary.text(row, "t1_grads", ".6g").endswith(" 3/4")


def test_the_final_target_leads_the_table(repeated):
    runner, _, _ = repeated
    keys = [key for key, _, _ in summarize(TINY, runner.results).columns()]
    assert keys[:4] == ["label", "method", "t1_wall", "t1_grads"]
    assert keys.index("t0_wall") > keys.index("t1_speedup")


def test_compare_with_repeats_writes_medians_and_ranges(tmp_path, capsys):
    path = tmp_path / "c.toml"
    replace(TINY, runs=TINY.runs[:1], seeds=None, n_seeds=2, timing_repeats=None).save(path)
    assert main(["compare", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "median [min–max] over 2 seeds (0, 1) × 1 timing repeat per run" in out
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "summary.csv").read_text())))
    head = "∇L to loss ≤ 0.05"
    assert float(rows[0][f"{head} min"]) <= float(rows[0][head]) <= float(rows[0][f"{head} max"])
    assert rows[0][f"{head} samples"] == "2"


@pytest.mark.parametrize("name", comparison_names())
def test_shipped_comparisons_round_trip_and_are_single_runs_without_the_new_keys(name):
    """Every shipped comparison survives a TOML round trip; without seeds, repeats and a
    reference (as every file written before them) it is one run per row and saves none."""
    comparison = load_comparison(name)
    assert Comparison.from_toml(comparison.to_toml()) == comparison
    if name.startswith("race-"):  # a race re-runs a claim against the reference flow
        assert comparison.reference is not None
    new_keys = {"seeds", "n_seeds", "timing_repeats", "reference"}
    data = {k: v for k, v in comparison.to_dict().items() if k not in new_keys}
    single = Comparison.from_dict(data)
    assert single.samples_per_run == 1 and single.reference is None
    assert single.seed_list() == (single.network.init_seed,)
    assert not new_keys & set(tomllib.loads(single.to_toml()))


def test_repeats_and_reference_round_trip_through_toml():
    full = replace(TINY, reference=ReferenceFlow("RK45", 1e-10, 1e-12))
    assert Comparison.from_toml(full.to_toml()) == full
    text = TINY.to_toml()
    assert Comparison.from_toml("reference = true\n" + text).reference == ReferenceFlow()
    assert Comparison.from_toml("reference = false\n" + text).reference is None
    assert replace(TINY, seeds=None, n_seeds=3).seed_list() == (0, 1, 2)


@pytest.mark.parametrize("change,message", [
    ({"seeds": ()}, "seeds: list at least one seed"),
    ({"seeds": (1, -2)}, "seeds: seeds are whole numbers ≥ 0, got -2"),
    ({"seeds": (1, 1)}, r"seeds: seeds must differ; repeated: \[1\]"),
    ({"n_seeds": 2}, "seeds: give seeds or n_seeds, not both"),
    ({"seeds": None, "n_seeds": 0}, "n_seeds: must be at least 1, got 0"),
    ({"timing_repeats": 0}, "timing_repeats: must be at least 1, got 0"),
    ({"timing_repeats": 30}, "timing_repeats: seeds × timing repeats is 60; at most 50"),
])
def test_bad_repeats_are_refused_naming_the_field(change, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        replace(TINY, **change)


@pytest.mark.parametrize("toml,message", [
    ('seeds = ["a"]', r'seeds\[0\]: must be an integer, got \'a\''),
    ("n_seeds = 1.5", "n_seeds: must be an integer, got 1.5"),
    ('reference = "RK45"', r"reference: must be a table \(\[reference\]\)"),
    ('reference = { method = "euler" }', "reference.method: choose one of Radau, BDF, LSODA"),
    ("reference = { rtol = 0 }", "reference.rtol: a reference must be tight: a number above 0"),
    ("reference = { atol = 1e-2 }", "reference.atol: a reference must be tight: a number above 0"),
    ('reference = { order = 5 }', "reference.order: unknown key in"),
])
def test_bad_repeat_settings_in_toml_name_the_field(toml, message):
    text = replace(TINY, seeds=None, timing_repeats=None).to_toml()
    with pytest.raises(ValueError, match=f"^{message}"):
        Comparison.from_toml(toml + "\n" + text)


def test_before_anything_arrives_the_cells_are_empty_not_zero_of_n():
    from odeprop.core.comparison_runner import RunResult

    fresh = [RunResult(i, spec.label, TINY.targets) for i, spec in enumerate(TINY.runs)]
    summary = summarize(TINY, fresh)
    row = summary.rows[0]
    assert "t1_grads_range" not in row
    assert summary.text(row, "t1_grads", ".6g") == "—"


def test_makings_cut_short_by_stop_are_not_samples():
    endless = replace(TINY, runs=TINY.runs[:1], stop=StopConfig(t_end=1e9, max_steps=10**7),
                      seeds=(0, 1), timing_repeats=None)
    runner = ComparisonRunner(endless, max_parallel=2, niceness=0)
    runner.start()
    extra = runner._extra[(0, 1, 0)]
    deadline = 200
    while extra.count == 0 and deadline:  # the second seed's making has begun streaming
        runner.poll(0.1)
        deadline -= 1
    assert extra.status == "running" and extra.count > 0
    runner.stop_all()
    events = []
    while not runner.done:
        events += runner.poll(0.2)
    assert extra.status == "stopped" and runner.results[0].samples == []
    assert not [e for e in events if e.kind == "repeat"]


def test_compare_reports_the_repeats_as_they_end(tmp_path, capsys):
    path = tmp_path / "c.toml"
    replace(TINY, runs=TINY.runs[:1], seeds=None, n_seeds=2, timing_repeats=None).save(path)
    assert main(["compare", str(path)]) == 0
    err = capsys.readouterr().err.splitlines()  # the two run side by side: either may end first
    assert sorted(err) == ["[1/1] GD: finished — reached the target loss 0.02",
                           "[repeats 1/1] GD (seed 1): finished"]
