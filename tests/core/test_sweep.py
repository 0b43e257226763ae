"""The sweep document and one cell on the engine: validation that names the bad axis, grids
refused before anything runs, and failures that become rows (no Dask here)."""

import importlib.util

import pytest

from odeprop.core.cli import main
from odeprop.core.presets import load_sweep, sweep_names
from odeprop.core.sweep import Sweep
from odeprop.core.sweep_cell import run_cell

from sweep_documents import XOR_PROBLEM, solver_method

BASE = ('name = "tiny"\n' + XOR_PROBLEM + '[[targets]]\nkind = "rms"\nvalue = 0.05\n'
        + solver_method("GD", "gd", learning_rate=20.0)
        + solver_method("BDF", "BDF", rtol=1e-2, atol=1e-2))


def sweep(extra: str = "", axes: str = '"network.init_seed" = [0, 1, 2]') -> Sweep:
    return Sweep.from_toml(extra + BASE + "\n[axes]\n" + axes + "\n")


def refusal(extra: str = "", axes: str = "") -> str:
    with pytest.raises(ValueError) as info:
        sweep(extra, axes)
    return str(info.value)


def test_every_shipped_sweep_loads_and_round_trips():
    names = sweep_names()
    assert {"owens-filkin-50", "article-2019-factors", "different-minima",
            "cost-vs-width", "cost-vs-width-big"} <= set(names)
    for name in names:
        loaded = load_sweep(name)
        again = Sweep.from_toml(loaded.to_toml())
        assert again == loaded, name
        assert list(again.cells()) == list(loaded.cells())
    assert load_sweep("owens-filkin-50").n_runs == 250


def test_axes_cross_and_zip():
    crossed = sweep(axes='"network.init_seed" = [0, 1, 2]\n"dataset.seed" = [5, 6, 7]')
    assert crossed.n_runs == 3 * 3 * 2 == len(list(crossed.cells()))
    zipped = sweep('zip = [["network.init_seed", "dataset.seed"]]\n',
                   '"network.init_seed" = [0, 1, 2]\n"dataset.seed" = [5, 6, 7]')
    assert zipped.n_runs == 3 * 2
    pairs = {c.values for c in zipped.cells()}
    assert pairs == {(0, 5), (1, 6), (2, 7)}
    ranged = sweep(axes='"network.init_seed" = { start = 10, count = 4 }')
    assert ranged.axis("network.init_seed").values == (10, 11, 12, 13)


def test_a_solver_axis_applies_to_the_methods_that_have_the_setting():
    s = sweep(axes='"solver.rtol" = [1e-2, 1e-3]\n"solver.learning_rate" = [1.0, 2.0]')
    by_method = {}
    for cell in s.cells():
        solver = s.experiment(cell).solver
        by_method.setdefault(solver.method, set()).add((solver.rtol, solver.learning_rate))
    assert by_method["BDF"] == {(1e-2, 0.1), (1e-3, 0.1)}  # no learning rate
    assert by_method["gd"] == {(1e-4, 1.0), (1e-4, 2.0)}  # no tolerances


def test_widths_as_an_axis_change_the_network():
    s = sweep(axes='"network.hidden" = [[2], [8, 8]]')
    hidden = {s.experiment(c).network.hidden for c in s.cells()}
    assert hidden == {(2,), (8, 8)}
    assert "network.hidden = [8, 8]" in s.configuration(list(s.cells())[-1])


@pytest.mark.parametrize("axes, expected", [
    ('"network.widths" = [1, 2]', "axes.'network.widths': network has no field 'widths'"),
    ('"model.hidden" = [1, 2]', "axes.'model.hidden': an axis is SECTION.FIELD"),
    ('"network.hidden" = [[4], [0]]',
     "axes.'network.hidden'[1] = (0,): network.hidden[0]: a layer width must be an integer"),
    ('"solver.rtol" = [1e-2, -1.0]', "axes.'solver.rtol'[1] = -1.0: solver.rtol: must be"),
    ('"network.init_seed" = []', "axes.'network.init_seed': give at least one value"),
    ('"network.init_seed" = [1, 1]', "axes.'network.init_seed': values repeat"),
    ('"network.init_seed" = 3', "axes.'network.init_seed': must be a list of values"),
    ('"dataset.kind" = ["xor", "nope"]',
     "axes.'dataset.kind'[1] = 'nope': dataset.kind: unknown dataset"),
])
def test_a_bad_axis_is_refused_naming_it(axes, expected):
    assert refusal(axes=axes).startswith(expected)


def test_zipped_axes_of_different_lengths_are_refused_naming_them():
    message = refusal('zip = [["network.init_seed", "dataset.seed"]]\n',
                      '"network.init_seed" = [0, 1, 2]\n"dataset.seed" = [5, 6]')
    assert message.startswith("axes.'network.init_seed': zipped axes")
    assert "network.init_seed: 3, dataset.seed: 2" in message


def test_a_grid_larger_than_its_limit_is_refused_naming_the_biggest_axis():
    message = refusal("max_runs = 100\n", '"network.init_seed" = { start = 0, count = 60 }\n'
                      '"solver.rtol" = [1e-2, 1e-3]')
    assert message.startswith("axes.'network.init_seed': the grid has 240 runs")
    assert "more than max_runs = 100" in message
    # the default limit holds without max_runs, and max_runs cannot be raised without bound
    assert refusal(axes='"network.init_seed" = { start = 0, count = 5001 }').startswith(
        "axes.'network.init_seed': the grid has 10,002 runs")
    assert refusal("max_runs = 2000000\n", '"network.init_seed" = [0]').startswith("max_runs")


def test_the_command_line_refuses_a_big_grid_before_anything_runs(tmp_path, capsys, monkeypatch):
    import odeprop.core.sweep_runner as runner

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started for a refused sweep")

    monkeypatch.setattr(runner, "connect", no_cluster)
    path = tmp_path / "big.toml"
    path.write_text("max_runs = 10\n" + BASE + '\n[axes]\n"network.init_seed" = '
                    '{ start = 0, count = 6 }\n')
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "axes.'network.init_seed': the grid has 12 runs" in err
    assert not out.exists()


def test_without_the_extra_the_command_says_what_to_install(tmp_path, capsys, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyarrow" else real(name, *a))
    assert main(["sweep", "--preset", "owens-filkin-50", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "odeprop: error: odeprop sweep needs pyarrow: pip install 'odeprop[sweep]'"


def test_a_run_the_engine_refuses_is_a_row_with_its_message():
    s = sweep(axes='"network.hidden" = [[100, 60]]')  # 6,421 parameters: too many for BDF
    bdf = next(c for c in s.cells() if s.methods[c.method].label == "BDF")
    row = run_cell(s, bdf)
    assert row["status"] == "failed"
    assert "6,000" in row["message"] and row["n_params"] == 6421
    assert row["rms0.05_reached"] is False and row["theta"] is None


def test_a_fault_inside_a_run_is_a_row_not_an_exception(monkeypatch):
    import odeprop.core.sweep_cell as sweep_cell

    class Broken:
        def __init__(self, experiment, problem=None):
            raise MemoryError("no room")

    monkeypatch.setattr(sweep_cell, "Run", Broken)
    s = sweep()
    row = run_cell(s, next(s.cells()))
    assert (row["status"], row["message"]) == ("failed", "MemoryError: no room")
    assert row["cell"] == 0 and row["network.init_seed"] == 0


def test_a_cell_reports_costs_to_each_target_and_its_distance_from_the_flow():
    s = sweep(axes='"network.init_seed" = [1]\n[reference]\nmethod = "RK45"')
    bdf, gd = (run_cell(s, c) for c in sorted(s.cells(), key=lambda c: -c.method))
    assert bdf["status"] == "finished" and bdf["rms0.05_reached"]
    assert bdf["rms0.05_grads"] == bdf["grads"] > 0 and bdf["lu_decomps"] > 0
    assert bdf["rms_train"] <= 0.05 and bdf["lambda_min"] is not None
    # BDF at 1e-2 follows the flow; GD at learning rate 20 does not
    assert bdf["flow_distance"] < 0.05 < 0.5 < gd["flow_distance"]
    assert len(bdf["theta"]) == 9


def weight_rows(centres, per_centre, spread, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    rows = []
    for k, centre in enumerate(centres):
        for i in range(per_centre):
            theta = np.asarray(centre, float) + spread * rng.standard_normal(len(centre))
            rows.append({"cell": k * per_centre + i, "status": "finished",
                         "theta": theta.tolist()})
    return rows


def test_final_weights_cluster_into_the_minima_they_reached():
    from odeprop.core.sweep_summary import cluster_final_weights

    s = sweep()  # cluster_threshold 0.05 × median ‖θ‖ (about 10 here)
    centres = [[10.0] * 4 + [0.0] * 5, [0.0] * 5 + [10.0] * 4, [-10.0] * 4 + [0.0] * 5]
    rows = weight_rows(centres, 20, 0.02)
    rows.append({"cell": 999, "status": "failed", "theta": None})
    clusters = cluster_final_weights(s, rows)
    assert 999 not in clusters
    by_centre = [{clusters[k * 20 + i] for i in range(20)} for k in range(3)]
    assert all(len(labels) == 1 for labels in by_centre)
    assert len(set.union(*by_centre)) == 3
    # points farther apart than the cut are different minima
    spread = cluster_final_weights(s, weight_rows([[10.0] * 9], 5, 3.0))
    assert len(set(spread.values())) > 1


def test_clustering_ten_thousand_runs_stays_within_a_memory_budget():
    """All pairwise distances of 10,000 end points would take 400 MB; the budget is 40 MB."""
    import tracemalloc

    from odeprop.core.sweep_summary import cluster_final_weights

    rows = weight_rows([[5.0] * 9, [-5.0] * 9, [5.0] * 4 + [-5.0] * 5], 3334, 0.01)
    tracemalloc.start()
    try:
        clusters = cluster_final_weights(sweep(), rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(clusters) == 10_002 and len(set(clusters.values())) == 3
    assert peak < 40e6


def test_the_summary_gives_each_methods_cost_ratio_from_the_same_start():
    from odeprop.core.sweep_summary import summarize_sweep

    s = sweep('ratio_to = "BDF"\n', '"network.init_seed" = [0, 1, 2]')
    rows = [run_cell(s, c) for c in s.cells()]
    summary = summarize_sweep(s, rows, {})
    gd = next(c for c in summary.configurations if c["configuration"] == "GD")
    per_seed = sorted(g["rms0.05_grads"] / b["rms0.05_grads"]
                      for g, b in zip(rows[::2], rows[1::2], strict=True))
    assert gd["rms0.05_ratio"][0] == per_seed[1]  # the median of three
    assert "∇L ÷ BDF, same θ0" in summary.to_markdown()
    assert refusal('ratio_to = "Adam"\n', '"network.init_seed" = [0]').startswith(
        "ratio_to: 'Adam' is not a method's label; they are: GD, BDF")


@pytest.mark.parametrize("make, expected", [
    (lambda out: out.write_text("x"), "a file, not a folder"),
    (lambda out: (out.mkdir(), (out / "sweep.toml").write_text("x")),
     "already holds a sweep's results; add --resume"),
])
def test_an_unusable_out_folder_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch,
                                                                make, expected):
    import odeprop.core.sweep_runner as runner

    def no_cluster(*args, **kwargs):
        raise AssertionError("a cluster was started for a refused sweep")

    monkeypatch.setattr(runner, "connect", no_cluster)
    out = tmp_path / "out"
    make(out)
    path = tmp_path / "s.toml"
    path.write_text(BASE + '\n[axes]\n"network.init_seed" = [0]\n')
    assert main(["sweep", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err


def test_a_write_that_fails_is_one_line(tmp_path, capsys, monkeypatch):
    import odeprop.core.sweep_runner as runner

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "run_sweep", full_disk)
    assert main(["sweep", "--preset", "owens-filkin-50", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (
        f"odeprop: error: --out {tmp_path / 'o'}: could not write the results (No space left on "
        "device); the rows written so far stay there\n")
