"""The comparison workspace driving real worker processes: overlaid curves, the summary table,
distances, sorting, exports, stop and close, presets and the lab's menus."""

import csv
import io
import multiprocessing
import time
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer

from odeprop.core.comparison import Comparison, ReferenceFlow, RunSpec, Target
from odeprop.core.config import (
    DatasetConfig,
    NetworkConfig,
    ProbeConfig,
    SolverConfig,
    StopConfig,
    TolerancePhase,
)
from odeprop.core.presets import comparison_names, load_comparison
from odeprop.core.recording import SnapshotRecorder, read_recording
from odeprop.core.snapshot import snapshots_to_csv
from odeprop.core.summary import summarize
from odeprop.core.worker import STOP_GRACE_SECONDS
from odeprop.gui.common.log_axis import compact
from odeprop.gui.common.plots import X_MODES
from odeprop.gui.comparison.table import NONE_TEXT, SummaryModel
from odeprop.gui.comparison.window import ComparisonWindow

#: Three solvers on a small problem, each done in about a second once its worker is up.
THREE = Comparison(
    name="three solvers", dataset=DatasetConfig(kind="moons", n_samples=80),
    network=NetworkConfig(hidden=(6,), activations=("tanh",)),
    stop=StopConfig(t_end=1e4, target_loss=0.1, max_wall_time=20.0),
    probe=ProbeConfig(stiffness_every=2, stiffness_budget=0.0),
    targets=(Target("loss", 0.2), Target("loss", 0.1)),
    runs=(RunSpec("GD", SolverConfig(method="gd", learning_rate=0.5)),
          RunSpec("BDF", SolverConfig(method="BDF")),
          RunSpec("RK45", SolverConfig(method="RK45"))))

#: Runs that go on until they are stopped.
ENDLESS = replace(THREE, stop=StopConfig(t_end=1e9, max_wall_time=60.0), runs=(
    RunSpec("GD slow", SolverConfig(method="gd", learning_rate=0.001)),
    RunSpec("GD slower", SolverConfig(method="gd", learning_rate=0.0005)),
    RunSpec("GD slowest", SolverConfig(method="gd", learning_rate=0.0001))))


def make_window(settings, comparison=THREE, **kwargs) -> ComparisonWindow:
    win = ComparisonWindow(settings=settings, persist=False, restore=False, **kwargs)
    win.set_comparison(comparison)
    win.show()
    return win


def run_to_end(win: ComparisonWindow) -> ComparisonWindow:
    """Start ``win``'s comparison and wait (up to 40 s) for its end."""
    loop = QEventLoop()
    win.comparison_ended.connect(loop.quit)
    QTimer.singleShot(40_000, loop.quit)
    assert win.start()
    loop.exec()
    assert win.state == "ended", "the comparison did not end within 40 s"
    return win


@pytest.fixture(scope="module")
def finished(qapp, tmp_path_factory):
    """THREE, run to the end once for the tests that read its results."""
    path = tmp_path_factory.mktemp("cmp") / "settings.ini"
    win = run_to_end(make_window(QSettings(str(path), QSettings.Format.IniFormat)))
    yield win
    win.close()


@pytest.fixture
def cmp_window(qtbot, settings):
    win = make_window(settings)
    qtbot.addWidget(win)
    yield win
    if win.session is not None:
        win.session.shutdown(0.5)


def test_every_plot_holds_a_curve_per_run_with_increasing_x(finished):
    results = finished.session.runner.results
    assert [r.status for r in results] == ["finished"] * 3, [r.message for r in results]
    assert [r.status for r in finished.live.results] == ["finished"] * 3
    assert finished.plots.key.labels() == ["1  GD", "2  BDF", "3  RK45"]
    for mode in ("t", "n_grad"):
        finished.set_x_mode(mode)
        for key, plot in finished.plots.plots.items():
            if key == "flow":
                continue  # shown with a reference flow only (test_the_flow_plot_...)
            curves = plot.run_curves()
            assert len(curves) == 3, key
            for run, item in enumerate(curves):
                x = item.xData
                assert x is not None and len(x) >= 2, (key, run, mode)
                assert np.all(np.diff(x) >= 0) and x[-1] > x[0], (key, run, mode)
                assert item.isVisible()
            assert X_MODES[mode][1] in plot.getPlotItem().getAxis("bottom").labelText
    # in t, the loss curve of each run is exactly its received snapshots (its record)
    finished.set_x_mode("t")
    for item, result in zip(finished.plots.plots["loss"].run_curves(), results, strict=True):
        snapshots = read_recording(result.recorder.path)
        np.testing.assert_array_equal(item.xData, [s.t for s in snapshots])
        np.testing.assert_array_equal(item.yData, [s.loss_train for s in snapshots])


def test_summary_rows_equal_the_runs_final_snapshots(finished):
    table = finished.table
    assert table.proxy.rowCount() == 3
    results = finished.session.runner.results
    finals = [r.report.final for r in results]
    assert table.values("label") == ["GD", "BDF", "RK45"]
    assert table.values("status") == ["finished"] * 3
    for key, field in (("steps", "step"), ("grads", "n_grad"), ("hvp", "n_hvp"),
                       ("rejected", "rejected"), ("wall", "solver_wall"),
                       ("loss_train", "loss_train"), ("loss_test", "loss_test"),
                       ("accuracy_train", "accuracy_train"), ("accuracy_test", "accuracy_test"),
                       ("jac_evals", "jac_evals"), ("lu_decomps", "lu_decomps")):
        assert table.values(key) == [getattr(f, field) for f in finals], key
    assert table.values("lambda_min") == [r.report.lambda_min_final for r in results]
    assert table.values("jac_evals")[1] > 0 and table.values("jac_evals")[0] is None
    assert table.shown_text("jac_evals")[0] == NONE_TEXT
    # the table is the core's summary of everything the runner received ...
    assert table.source.rows == summarize(THREE, results).rows
    # ... and the live table (built from each run's deciding snapshots) says the same
    assert finished.live.summary().rows == summarize(THREE, results).rows
    for j in range(2):  # every run reached both targets
        assert all(v is not None and v > 0 for v in table.values(f"t{j}_grads"))


def test_distance_matrix_is_symmetric_with_a_zero_diagonal(finished):
    matrix = finished.distances.matrix
    assert matrix.shape == (3, 3)
    np.testing.assert_array_equal(matrix, matrix.T)
    np.testing.assert_array_equal(np.diag(matrix), 0.0)
    assert np.all(matrix[~np.eye(3, dtype=bool)] > 0)
    runner = finished.session.runner
    expected = np.linalg.norm(runner.results[0].theta - runner.results[2].theta)
    assert matrix[0, 2] == pytest.approx(expected, rel=1e-12)
    assert finished.distances.item(0, 2).text() == f"{expected:.3g}"


def test_sorting_is_numeric_and_keeps_missing_values_last(finished):
    table = finished.table
    steps = table.source.column_of("steps")
    table.sortByColumn(steps, Qt.SortOrder.AscendingOrder)
    values = table.values("steps")
    assert values == sorted(values) and values != sorted(values, key=str)
    first_run = table.proxy.headerData(0, Qt.Orientation.Vertical)
    assert first_run == str(table.source.rows.index(
        next(r for r in table.source.rows if r["steps"] == values[0])) + 1)
    table.sortByColumn(steps, Qt.SortOrder.DescendingOrder)
    assert table.values("steps") == sorted(values, reverse=True)
    jac = table.source.column_of("jac_evals")
    for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
        table.sortByColumn(jac, order)
        shown = table.values("jac_evals")
        assert shown[0] is not None and shown[1:] == [None, None]
    table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # back to run order
    table.proxy.invalidate()


def test_every_run_is_recorded_on_disk_for_recovery(finished):
    session = finished.session
    assert sorted(session.recorders) == [0, 1, 2] and not session.record_errors
    for result in finished.live.results:
        recorder = session.recorders[result.index]
        snapshots = read_recording(recorder.path)
        assert [s.step for s in snapshots] == list(range(result.count))
        assert snapshots[-1] == result.last == result.report.final
        # the window keeps each target's first hit (as the full scan finds it) and the last
        assert result.hits == [next(s for s in snapshots if t.reached(s))
                               for t in THREE.targets]
        assert len(result.kept) <= len(THREE.targets) + 1 < len(snapshots)
        meta = recorder.meta
        assert meta["label"] == f"three solvers: {result.label}" and meta["run"] == \
            result.index + 1
        assert (meta["status"], meta["message"]) == (result.status, result.message)
        assert meta["finished"] is False  # not exported yet: offered after a crash


def test_exports_that_cannot_be_written_say_so_and_leave_no_partial_file(finished, tmp_path,
                                                                        monkeypatch):
    import errno

    from odeprop.core import io as core_io

    def full(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(core_io.os, "replace", full)
    assert finished.export_runs(tmp_path) == []
    box = finished.error_dialog
    assert box.windowTitle() == "Cannot export the runs' data" and box.isVisible()
    assert box.text().startswith(f"Cannot export to {tmp_path / '01-GD.csv'}: No space left")
    assert not finished.export_summary(tmp_path / "summary.md")
    assert "No space left on device" in finished.error_dialog.text()
    assert list(tmp_path.iterdir()) == []  # nothing half-written, no temporary files
    box.close()


def test_exports_round_trip(finished, tmp_path):
    table = finished.table
    assert finished.export_summary(tmp_path / "summary.csv")
    rows = list(csv.reader(io.StringIO((tmp_path / "summary.csv").read_text(encoding="utf-8"))))
    columns = table.source.columns
    assert rows[0][: len(columns)] == [heading for _, heading, _ in columns]
    assert rows[0][len(columns):] == [f"distance to {lab}" for lab in ("GD", "BDF", "RK45")]
    for r, row in enumerate(rows[1:]):
        for c, (key, _, _) in enumerate(columns):
            value = table.source.rows[r].get(key)
            if value is None:
                assert row[c] == ""
            elif isinstance(value, str):
                assert row[c] == value
            else:
                assert float(row[c]) == value, key
        np.testing.assert_array_equal([float(d) for d in row[len(columns):]],
                                      finished.distances.matrix[r])

    assert finished.export_summary(tmp_path / "summary.md")
    text = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert text.startswith("# three solvers")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    body = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:5]]
    reported = [c for c in columns if any(r.get(c[0]) is not None for r in table.source.rows)]
    assert header == [heading for _, heading, _ in reported]
    for c, (key, _, _) in enumerate(reported):
        assert [row[c] for row in body] == table.shown_text(key), key
    assert "Distance between final weights" in text

    paths = finished.export_runs(tmp_path)
    assert [p.name for p in paths] == ["01-GD.csv", "02-BDF.csv", "03-RK45.csv"]
    for path, result in zip(paths, finished.live.results, strict=True):
        text = path.read_text(encoding="utf-8")
        data = list(csv.DictReader(io.StringIO(text)))
        assert [int(d["step"]) for d in data] == list(range(result.count))
        assert text == snapshots_to_csv(read_recording(finished.session.recorders[
            result.index].path))


def _start_endless(qtbot, win):
    assert win.start()
    qtbot.waitUntil(lambda: sum(r.count > 20 for r in win.live.results) >= 2,
                    timeout=30_000)


def test_closing_mid_run_ends_every_worker_within_a_second(qtbot, settings):
    win = make_window(settings, ENDLESS)
    qtbot.addWidget(win)
    _start_endless(qtbot, win)
    workers = multiprocessing.active_children()
    assert workers
    begin = time.perf_counter()
    win.close()
    qtbot.waitUntil(lambda: not any(_alive(p) for p in workers), timeout=1_000)
    assert time.perf_counter() - begin < 1.0
    kept = [r.count for r in win.live.results]
    assert sum(kept) > 40  # what arrived stays with the window
    assert all(r.status in ("stopped", "queued") for r in win.session.runner.results)


def test_stop_ends_every_run_and_keeps_its_data(qtbot, settings):
    win = make_window(settings, ENDLESS, max_parallel=2)
    qtbot.addWidget(win)
    _start_endless(qtbot, win)
    with qtbot.waitSignal(win.comparison_ended, timeout=30_000):
        win.stop()
    statuses = [r.status for r in win.live.results]
    assert statuses == ["stopped"] * 3
    assert win.live.results[2].message == "not started"  # the third run was queued
    for result, item in zip(win.live.results[:2], win.plots.plots["loss"].run_curves(),
                            strict=False):
        assert result.report is not None and result.count > 20
        assert len(item.xData) == result.count
    assert win.runs_editor.status_text(0).startswith("stopped")
    assert win.controls.start_action.isEnabled()


def test_stop_during_long_steps_ends_every_run_within_a_second(qtbot, settings, monkeypatch):
    """Stop while the workers are deep in one step each (a big network's step or cold probe):
    each gets the grace period to answer, then is ended, within the second DESIGN.md allows
    (not after its step), and says Stopped; what arrived stays."""
    from slow_worker import SLOW_AFTER_T, SLOW_SECONDS, SlowStepProcess

    from odeprop.core import comparison_runner

    monkeypatch.setattr(comparison_runner, "RunProcess",
                        lambda experiment, theta0, niceness=0, tracking=None:
                        SlowStepProcess(experiment, theta0))
    win = make_window(settings, ENDLESS, max_parallel=2)
    qtbot.addWidget(win)
    assert win.start()
    running = win.live.results[:2]
    qtbot.waitUntil(lambda: all(r.last is not None and r.last.t > SLOW_AFTER_T
                                for r in running), timeout=30_000)
    qtbot.wait(300)  # both workers are inside a slow gradient now
    kept = [r.count for r in running]
    begin = time.perf_counter()
    with qtbot.waitSignal(win.comparison_ended, timeout=30_000):
        win.stop()
    took = time.perf_counter() - begin
    assert STOP_GRACE_SECONDS <= took < 1.0 < SLOW_SECONDS, took
    assert [r.status for r in win.live.results] == ["stopped"] * 3
    assert all(r.message.endswith(f"{STOP_GRACE_SECONDS:g} s and was ended") for r in running)
    assert [r.count for r in running] == kept and min(kept) > 5


def test_a_preset_opens_with_its_runs(qtbot, cmp_window):
    names = comparison_names()
    assert "article-and-critique" in names
    actions = {a.objectName(): a for a in cmp_window.presets_menu.actions()}
    assert set(actions) == {f"preset_{n}" for n in names}
    actions["preset_article-and-critique"].trigger()
    preset = load_comparison("article-and-critique")
    assert [s.label for s in cmp_window.comparison().runs] == [s.label for s in preset.runs]
    assert cmp_window.comparison().targets == preset.targets
    assert cmp_window.runs_editor.table.rowCount() == len(preset.runs) == 8
    assert len(cmp_window.plots.key.labels()) == 8
    assert all(len(p.run_curves()) == 8 for p in cmp_window.plots.plots.values())
    assert cmp_window.table.proxy.rowCount() == 8
    assert not cmp_window.runs_editor.add_button.isEnabled()  # eight is the most
    assert "The 2019 article" in cmp_window.windowTitle()


def test_runs_are_added_edited_and_saved(qtbot, cmp_window, tmp_path):
    editor = cmp_window.runs_editor
    editor.table.setCurrentCell(1, 0)  # BDF
    editor.duplicate_run()
    assert editor.current == 3 and editor.specs[3].label == "BDF copy"
    editor.label_edit.setText("BDF, loose first")
    editor.label_edit.textEdited.emit("BDF, loose first")
    editor.schedule.add_row((1.0, 1e-2, 1e-2))
    editor.schedule.changed.emit()
    assert editor.error == ""
    spec = cmp_window.comparison().runs[3]
    assert spec.label == "BDF, loose first"
    assert spec.solver.schedule == (TolerancePhase(1.0, 1e-2, 1e-2),)
    assert spec.color not in {s.color for s in cmp_window.comparison().runs[:3]}
    path = tmp_path / "four.toml"
    assert cmp_window.save_comparison(path)
    assert Comparison.load(path) == cmp_window.comparison()
    # an invalid tolerance blocks Start and says which run and field
    editor.panel.rtol.edit.setText("2")
    editor.panel.rtol.edit.textEdited.emit("2")
    assert not cmp_window.controls.start_action.isEnabled()
    assert "runs[3]" in cmp_window.controls.blocker.text()
    assert "solver.rtol" in cmp_window.controls.blocker.text()
    assert cmp_window.start() is False
    editor.remove_run()
    assert len(cmp_window.comparison().runs) == 3
    assert cmp_window.controls.start_action.isEnabled()
    assert cmp_window.open_comparison(path)
    assert cmp_window.comparison().runs[3].solver.schedule[0].rtol == 1e-2


def test_the_lab_opens_comparisons_from_its_menus(qtbot, window):
    bar = window.menuBar()
    menus = {a.text().replace("&", ""): a.menu() for a in bar.actions() if a.menu()}
    file_texts = [a.text().replace("&", "") for a in menus["File"].actions()]
    assert "New comparison…" in file_texts and "Open comparison…" in file_texts
    presets = {a.objectName(): a for a in menus["Comparisons"].actions()}
    assert set(presets) == {f"comparison_{n}" for n in comparison_names()}
    presets["comparison_edge-of-stability"].trigger()
    opened = window.comparison_windows[-1]
    qtbot.addWidget(opened)
    assert opened.comparison() .name.startswith("Edge of stability")
    assert len(opened.plots.plots["lambda"].lines) == 3  # each GD run's 2/η (three rates)
    new = next(a for a in menus["File"].actions() if a.text().replace("&", "") ==
               "New comparison…")
    new.trigger()
    fresh = window.comparison_windows[-1]
    qtbot.addWidget(fresh)
    assert fresh.comparison().dataset == window.experiment().dataset
    assert fresh.comparison().runs[0].solver == window.experiment().solver
    opened.close()
    fresh.close()


def test_odeprop_screenshots_a_comparison_file(qtbot, qapp, tmp_path):
    from PySide6.QtCore import QCoreApplication

    from odeprop.gui import app

    toml = tmp_path / "three.toml"
    THREE.save(toml)
    assert app.load_config(str(toml))[1] == THREE
    shot = tmp_path / "three.png"
    names = QCoreApplication.organizationName(), QCoreApplication.applicationName()
    # closing the last window would quit the test's application once more, after app.main's
    # event loop has ended: every later event loop of the session would then return at once
    qapp.setQuitOnLastWindowClosed(False)
    try:
        assert app.main(["--screenshot", str(shot), "--run-for", "1.5", str(toml)]) == 0
    finally:
        qapp.setQuitOnLastWindowClosed(True)
        QCoreApplication.setOrganizationName(names[0])
        QCoreApplication.setApplicationName(names[1])
    assert shot.stat().st_size > 10_000
    assert not any(p.is_alive() for p in multiprocessing.active_children())


def test_sort_role_hands_out_raw_numbers(finished):
    model = finished.table.source
    steps = model.column_of("steps")
    index = model.index(0, steps)
    assert model.data(index, SummaryModel.SORT_ROLE) == model.rows[0]["steps"]
    assert model.data(index) == f"{model.rows[0]['steps']:d}"


def test_the_key_hides_and_shows_a_run_in_every_plot(finished):
    finished.set_x_mode("step")
    button = finished.plots.key.buttons[0]  # GD: by far the most steps
    widest = finished.plots.plots["loss"].view.x_extent[1]
    button.click()
    for plot in finished.plots.plots.values():
        assert not plot.run_curves()[0].isVisible() and plot.run_curves()[1].isVisible()
    assert finished.plots.plots["loss"].view.x_extent[1] < widest
    button.click()
    assert all(p.run_curves()[0].isVisible() for p in finished.plots.plots.values())
    assert finished.plots.plots["loss"].view.x_extent[1] == widest
    finished.set_x_mode("n_grad")


def test_a_failing_run_says_why_and_the_others_go_on(qtbot, settings):
    diverging = Comparison(
        name="one diverges", dataset=DatasetConfig(kind="sin", n_samples=60),
        network=NetworkConfig(hidden=(16, 16), loss="mse"),
        stop=StopConfig(t_end=1e7, max_steps=200, max_wall_time=20.0),
        runs=(RunSpec("GD far too fast", SolverConfig(method="gd", learning_rate=50.0)),
              RunSpec("RK45", SolverConfig(method="RK45"))))
    win = make_window(settings, diverging)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.comparison_ended, timeout=30_000):
        assert win.start()
    failed, ok = win.live.results
    assert failed.status == "failed" and "diverged" in failed.message
    assert ok.status == "stopped" and "step limit" in ok.message and ok.report is not None
    assert win.runs_editor.status_text(0).startswith("failed: ")
    assert "diverged" in win.runs_editor.status_text(0)
    assert win.table.values("status") == ["failed", "stopped"]
    assert win.plots.metric_kind == "rms" and win.plots.plots["metric"].title == "RMS error"
    assert win.banner.property("kind") == "info" and "1 failed" in win.banner.text()


def _alive(process) -> bool:
    """A closed Process object has ended (close() refuses a running one)."""
    try:
        return process.is_alive()
    except ValueError:
        return False


def test_a_full_disk_keeps_the_runs_the_table_and_whole_exports(qtbot, settings, tmp_path,
                                                                 recovery_folder, monkeypatch):
    """The disk refuses the records from the second batch on: the runs go on, the window says
    why, the table is the one a scan of every snapshot gives, and exports are still whole."""
    import errno

    real_append = SnapshotRecorder.append
    appended = {}

    def fills_up(self, snapshots):  # run 1: full from its second batch; run 2: never
        appended[self.meta["run"]] = appended.get(self.meta["run"], 0) + 1
        if self.meta["run"] == 1 and appended[1] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(self, snapshots)

    monkeypatch.setattr(SnapshotRecorder, "append", fills_up)
    short = replace(ENDLESS, stop=StopConfig(t_end=1e9, max_steps=1500, max_wall_time=20.0),
                    runs=ENDLESS.runs[:2])
    win = make_window(settings, short)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.comparison_ended, timeout=30_000):
        assert win.start()
        qtbot.waitUntil(lambda: "No space left" in win.banner.text(), timeout=30_000)
    results = win.session.runner.results
    assert [r.status for r in results] == ["stopped"] * 2  # the step limit: both ran to it
    assert appended[1] > 1, "run 1 sent a single batch: lower the batch time or more steps"
    assert list(win.session.record_errors) == [0]
    assert win.banner.text().startswith("Done: 2 stopped.")
    assert "Note: recording run 1 (GD slow) to disk stopped at step " in win.banner.text()
    assert "No space left on device" in win.banner.text()
    monkeypatch.undo()
    (tmp_path / "out").mkdir()
    paths = win.export_runs(tmp_path / "out")
    assert len(paths) == 2
    for path, result in zip(paths, win.live.results, strict=True):
        snapshots = read_recording(path)
        assert [s.step for s in snapshots] == list(range(1501)) and result.count == 1501
        assert path.read_text(encoding="utf-8") == snapshots_to_csv(snapshots)
        row = win.table.source.rows[result.index]
        for j, target in enumerate(short.targets):
            hit = next((s for s in snapshots if target.reached(s)), None)
            assert row[f"t{j}_grads"] == (hit.n_grad if hit else None)
        assert row["steps"] == 1500 == snapshots[-1].step


def test_discarding_the_comparison_deletes_its_records(qtbot, settings, recovery_folder):
    win = make_window(settings, replace(THREE, runs=THREE.runs[:1]))
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.comparison_ended, timeout=30_000):
        assert win.start()
    records = [r.recorder.path for r in win.session.runner.results]
    assert all(p.exists() for p in records) and len(list(recovery_folder.iterdir())) == 2
    win.close()  # a clean close disposes of the runs
    assert list(recovery_folder.iterdir()) == []


def test_a_run_the_network_is_too_big_for_is_refused_before_anything_starts(qtbot, settings,
                                                                            monkeypatch):
    """Digits through 128 hidden units: 9,610 parameters, beyond the 6,000 a dense Jacobian is
    allowed. Start names the run and the engine's reason (banner, beside Start, in the run
    list) and starts no worker; an explicit method for that run clears the blocker."""
    from odeprop.core import comparison_runner
    from odeprop.core.dense_limits import dense_jacobian_refusal

    started = []

    def no_worker(*args, **kwargs):
        started.append(args)
        raise AssertionError("a worker was started")

    monkeypatch.setattr(comparison_runner, "RunProcess", no_worker)
    too_big = Comparison(
        name="too big", dataset=DatasetConfig(kind="digits"),
        network=NetworkConfig(hidden=(128,), activations=("tanh",), loss="softmax_ce"),
        stop=StopConfig(max_steps=3),
        runs=(RunSpec("GD", SolverConfig(method="gd")),
              RunSpec("BDF exact", SolverConfig(method="BDF"))))
    win = make_window(settings, too_big)
    qtbot.addWidget(win)
    assert win.controls.start_action.isEnabled()
    win.controls.start_action.trigger()  # what F5 and the Start button do
    why = dense_jacobian_refusal(too_big.runs[1].solver, 9610)
    assert win.banner.isVisible() and win.banner.property("kind") == "error"
    assert win.banner.text() == f"Cannot start: runs[1] (BDF exact): {why}"
    assert "keeps a dense 9,610 × 9,610 Jacobian" in why and "use cvode-gmres" in why
    assert win.controls.blocker.isVisible() and "runs[1] (BDF exact)" in win.controls.blocker.text()
    assert not win.controls.start_action.isEnabled()
    assert win.runs_editor.status_text(1) == f"refused: {why}"
    assert win.runs_editor.status_text(0) == ""
    assert win.session is None and win.state == "idle" and started == []

    # the refused run made explicit: the blocker goes and nothing is refused any more
    win.runs_editor.select(1)
    panel = win.runs_editor.panel
    panel.method.setCurrentIndex(panel.method.findData("RK45"))
    assert not win.controls.blocker.isVisible() and win.controls.start_action.isEnabled()
    assert win.comparison().refusals(9610) == []


def test_the_run_key_holds_only_the_open_comparison_s_runs(qtbot, cmp_window):
    """Opening presets in turn replaces the key's entries at once (the old buttons were left
    to a deferred delete that a nested event loop never ran: the new key was drawn over the
    old one, 17 buttons after opening race-sine)."""
    from PySide6.QtWidgets import QToolButton

    actions = {a.objectName(): a for a in cmp_window.presets_menu.actions()}
    key = cmp_window.plots.key
    for name in ("article-and-critique", "race-sine"):
        actions[f"preset_{name}"].trigger()
        for wait in (0, 400):  # at once, and after the preview timer rebuilt the key again
            qtbot.wait(wait)
            runs = load_comparison(name).runs
            buttons = key.findChildren(QToolButton)
            assert [b.text() for b in buttons] == [f"{i + 1}  {s.label}"
                                                   for i, s in enumerate(runs)]


def test_labels_are_shown_as_plain_text_never_as_markup(qtbot, cmp_window):
    """A run label "<b>x</b>" is shown as typed in the blocker, the banner, the status line and
    the key's tooltips: never rendered as bold (or as an <img>)."""
    from PySide6.QtGui import Qt as QtGui
    from PySide6.QtWidgets import QLabel, QToolButton

    label = "<b>x</b>"
    editor = cmp_window.runs_editor
    for row in (0, 1):  # the same label twice: refused, naming it
        editor.table.setCurrentCell(row, 0)
        editor.label_edit.setText(label)
        editor.label_edit.textEdited.emit(label)
    assert cmp_window.start() is False
    cmp_window.status_label.setText(cmp_window.banner.text())
    shown = [w for w in cmp_window.findChildren(QLabel) if label in w.text()]
    assert {cmp_window.banner, cmp_window.controls.blocker} <= set(shown)
    assert all(w.textFormat() == Qt.TextFormat.PlainText for w in shown), [
        w.text() for w in shown if w.textFormat() != Qt.TextFormat.PlainText]
    editor.label_edit.setText("<img src=x> y")
    editor.label_edit.textEdited.emit("<img src=x> y")
    cmp_window._preview()
    tips = [b.toolTip() for b in cmp_window.plots.key.findChildren(QToolButton)]
    assert any("&lt;img src=x&gt; y" in t for t in tips) and not any("<img" in t for t in tips)
    assert QtGui.mightBeRichText(tips[0])  # escaped inside rich text: shown literally


def test_log_x_is_a_view_menu_switch_remembered_with_the_window(finished, settings):
    finished.log_x_action.trigger()
    try:
        for plot in finished.plots.plots.values():
            assert plot.getPlotItem().getAxis("bottom").logMode
            for curve in plot.run_curves():
                x, _ = curve.getData()
                assert x is None or np.isfinite(x).all()
        finished.settings = settings
        finished.remember_window_state()
        again = ComparisonWindow(settings=settings, persist=False, restore=True)
        assert again.plots.log_x and again.log_x_action.isChecked()
        assert all(p.getPlotItem().getAxis("bottom").logMode for p in again.plots.plots.values())
        again.close()
    finally:
        finished.log_x_action.trigger()
    assert not any(p.getPlotItem().getAxis("bottom").logMode
                   for p in finished.plots.plots.values())


def test_reference_lines_are_named_in_the_footnote_and_clear_of_the_not_measured_note(
        qtbot, cmp_window):
    """race-sine's λ plot: each GD run's 2/η is named below the plot (not on its line, where it
    sat on the curves); with nothing measured, "not measured" is never printed over a line."""
    cmp_window.open_preset("race-sine")
    qtbot.wait(400)  # the preview has made the runs' columns
    plot = cmp_window.plots.plots["lambda"]
    cmp_window.plots.columns = [columns_with_t() for _ in cmp_window.plots.columns]
    cmp_window.plots.refresh()  # data, but no λmax measured: the empty note shows
    assert plot.lines and not any(isinstance(child, pg.InfLineLabel)
                                  for line in plot.lines for child in line.childItems())
    gd = [s for s in cmp_window.comparison().runs if s.solver.method == "gd"]
    assert all(f"2/η = {2 / s.solver.learning_rate:g}" in plot.legend.footnote_text for s in gd)
    note = plot.note.sceneBoundingRect()
    assert plot.note.text
    for line in plot.lines:
        y = plot.view.mapViewToScene(pg.Point(0, line.value())).y()
        assert not line.isVisible() or not note.top() <= y <= note.bottom(), (note, y)
    cmp_window.plots.columns[0]._data["lambda_max"][:20] = 5.0  # measured: the lines are back
    cmp_window.plots.refresh()
    assert not plot.note.text and all(line.isVisible() for line in plot.lines)


def columns_with_t(n=20):
    """Columns with ``n`` snapshots at t = n_grad = 1 … n and nothing measured."""
    from odeprop.gui.common.plots import SnapshotColumns
    from odeprop.gui.comparison.plots import RUN_COLUMNS

    cols = SnapshotColumns(32, RUN_COLUMNS)
    cols._data["t"][:n] = cols._data["n_grad"][:n] = np.arange(1, n + 1)
    cols.n = n
    return cols


def test_the_run_list_says_how_each_run_ended_in_a_few_words(finished):
    """"finished: reached the …" was always cut in the run list: the column says how it ended
    and where, the tooltip why."""
    table = finished.runs_editor.table
    for i, result in enumerate(finished.live.results):
        text = finished.runs_editor.status_text(i)
        assert text == f"finished · loss {compact(result.last.loss_train, 3)}"
        assert table.fontMetrics().horizontalAdvance(text) < 150
        assert result.message and result.message in table.item(i, 1).toolTip()


#: Two runs on XOR from two seeds, with a reference flow: medians and "follows the flow?".
REPEATED = replace(
    THREE, name="repeated", n_seeds=2, reference=ReferenceFlow("Radau", 1e-9, 1e-12),
    probe=ProbeConfig(stiffness_every=0),
    runs=(RunSpec("GD, lr 8", SolverConfig(method="gd", learning_rate=8.0)),
          RunSpec("RK45 1e-8", SolverConfig(method="RK45", rtol=1e-8, atol=1e-10))))


@pytest.fixture(scope="module")
def repeated(qapp, tmp_path_factory):
    path = tmp_path_factory.mktemp("rep") / "settings.ini"
    win = run_to_end(make_window(QSettings(str(path), QSettings.Format.IniFormat), REPEATED))
    win._update_summary()
    yield win
    win.close()


def test_the_table_leads_with_the_final_target_and_shows_medians(repeated):
    table, results = repeated.table, repeated.session.runner.results
    keys = [key for key, _, _ in table.source.columns]
    assert keys[:4] == ["label", "method", "t1_wall", "t1_grads"]
    shown = [c for c in range(len(keys)) if not table.isColumnHidden(c)]
    header = table.horizontalHeader()
    # the final target's wall time is on screen without scrolling
    assert header.sectionViewportPosition(keys.index("t1_wall")) < table.viewport().width()
    assert keys.index("t1_wall") in shown
    for row, result in enumerate(results):
        grads = [m.hits[1].n_grad for m in (result, *result.samples)]
        assert table.values("t1_grads")[row] == np.median(grads)
        assert table.shown_text("t1_grads")[row] == (
            f"{np.median(grads):.6g} [{min(grads):.6g}–{max(grads):.6g}]")
    assert "median [min–max] over 2 seeds (0, 1)" in table.toolTip()
    for key in ("t1_wall", "t1_grads", "wall"):  # whole, not elided, once the ranges arrived
        column = table.source.column_of(key)
        assert table.columnWidth(column) >= table.sizeHintForColumn(column), key
    assert "repeats 2/2 done" in repeated.controls.counts.text()


def test_the_table_says_which_runs_follow_the_flow(repeated):
    table, results = repeated.table, repeated.session.runner.results
    assert table.values("follows") == ["no", "yes"]
    assert table.values("flow_end") == [r.report.flow.at_end for r in results]
    assert table.values("flow_end")[0] > 0.1 > 1e-3 > table.values("flow_end")[1]


def test_the_flow_plot_draws_each_runs_distance_from_the_flow(repeated):
    plot = repeated.plots.plots["flow"]
    assert plot.isVisible() and plot.title.startswith("Distance from the flow (Radau")
    for mode in ("t", "step"):
        repeated.set_x_mode(mode)
        for item, result in zip(plot.run_curves(), repeated.session.runner.results,
                                strict=True):
            drawn = [s for s in result.report.flow.samples if s.flow_distance > 0]  # log y
            assert len(drawn) >= 10
            np.testing.assert_array_equal(item.xData, [getattr(s, mode) for s in drawn])
            np.testing.assert_allclose(item.yData, [s.flow_distance for s in drawn],
                                       rtol=1e-12)
    repeated.set_x_mode("t")
    repeated.grab().save("/tmp/cmp/repeated.png")


def test_the_shared_editor_edits_seeds_repeats_and_the_reference(cmp_window):
    editors = cmp_window.shared.repeats
    assert editors.seeds.text() == "" and editors.reference.currentText() == "none"
    assert not cmp_window.plots.plots["flow"].isVisible()
    cmp_window.set_comparison(REPEATED)
    assert editors.seeds.text() == "0, 1" and editors.reference.currentText() == "Radau"
    built = cmp_window.comparison()
    assert (built.seed_list(), built.reference) == ((0, 1), REPEATED.reference)
    editors.seeds.setText("4, 7")
    editors.repeats.setValue(3)
    editors.reference.setCurrentText("RK45")
    built = cmp_window.comparison()
    assert (built.seeds, built.timing_repeats, built.reference) == (
        (4, 7), 3, ReferenceFlow("RK45", 1e-9, 1e-12))
    editors.seeds.setText("4, 4")
    with pytest.raises(ValueError, match=r"^seeds: seeds must differ; repeated: \[4\]"):
        cmp_window.comparison()
    assert editors.seeds.property("invalid")
    assert "seeds: seeds must differ" in cmp_window.shared.errors[-1]
    editors.seeds.setText("4, x")
    assert cmp_window.shared.errors[-1].startswith("seeds: 'x' is not a whole number")
    editors.seeds.setText("4")
    editors.rtol.setText("2")
    assert cmp_window.shared.errors[-1].startswith("reference.rtol: a reference must be tight")
    assert editors.rtol.property("invalid") and not editors.seeds.property("invalid")
