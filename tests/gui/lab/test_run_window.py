"""The lab window driving real worker processes: streaming, pause, step, stop, close, errors."""

import csv
import io
import time

import numpy as np
import pytest
from conftest import DIVERGING_GD, ENDLESS_GD, SHORT_BDF
from slow_worker import SLOW_AFTER_T, SLOW_SECONDS, SlowStepProcess

from odeprop.core.config import Experiment
from odeprop.core.presets import default_experiment
from odeprop.core.recording import read_recording
from odeprop.core.snapshot import snapshots_to_csv
from odeprop.gui.common.log_axis import compact
from odeprop.gui.common.plots import X_MODES
from odeprop.gui.lab.run_session import STOP_GRACE_MS


def run_to_end(qtbot, window, experiment, timeout=30_000):
    window.set_experiment(experiment)
    with qtbot.waitSignal(window.run_ended, timeout=timeout) as blocker:
        assert window.start()
    return blocker.args


def settled_count(qtbot, session, quiet_ms=400, timeout=30.0) -> int:
    """The session's count once no batch has arrived for ``quiet_ms``: a worker that was told to
    pause flushes its last batch when it sees the command, which on a loaded machine (the worker
    runs niced) can take longer than any fixed wait."""
    deadline = time.monotonic() + timeout
    count = session.count
    while True:
        qtbot.wait(quiet_ms)
        if session.count == count:
            return count
        assert time.monotonic() < deadline, f"the run still grew after {timeout:g} s"
        count = session.count


def test_window_opens_on_the_default_experiment(window):
    assert window.experiment() == default_experiment()
    assert window.controls.start_action.isEnabled()
    assert not window.controls.stop_action.isEnabled()
    assert window.data_view.mode == "surface"
    assert "odeprop" in window.windowTitle()


def test_start_streams_batches_into_every_plot(qtbot, window):
    status, message = run_to_end(qtbot, window, SHORT_BDF)
    assert status == "finished", message
    snaps = window.session.read_snapshots()  # the record on disk holds every one
    assert len(snaps) == window.session.count > 10
    cols = window.plots.columns
    assert cols.n == len(snaps)
    for key, plot in window.plots.plots.items():
        drawn = 0
        for curve, item in plot.curves:
            x, y = item.getData()
            if x is None or len(x) == 0:
                continue
            drawn += len(x)
            assert np.all(np.diff(x) >= 0), (key, curve.name)
            assert np.all(np.isfinite(y))
        assert drawn > 0, f"plot {key} got no points"
    t = cols["t"]
    assert t[-1] > t[0] and np.all(np.diff(t) >= 0)
    assert window.data_view.updates >= 2
    assert window.controls.progress.value() == 1000
    assert "step" in window.status_label.text()


def test_pause_stops_growth_and_resume_continues(qtbot, window):
    window.set_experiment(ENDLESS_GD)
    window.start()
    qtbot.waitUntil(lambda: window.session.count > 50, timeout=30_000)
    window.pause()
    assert window.controls.pause_action.text() == "Resume"
    paused_at = settled_count(qtbot, window.session)  # its last batch, sent when it paused
    qtbot.wait(500)
    assert window.session.count == paused_at
    window.resume()
    qtbot.waitUntil(lambda: window.session.count > paused_at + 50, timeout=30_000)
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        window.stop()


def test_step_advances_exactly_one_solver_step(qtbot, window):
    window.set_experiment(SHORT_BDF)
    window.step()  # from idle: a paused run, then one step
    qtbot.waitUntil(lambda: window.session.last is not None and window.session.last.step == 1,
                    timeout=30_000)
    assert window.state == "paused"
    window.step()
    qtbot.waitUntil(lambda: window.session.last.step == 2, timeout=30_000)
    qtbot.wait(300)
    steps = [s.step for s in window.session.read_snapshots()]
    assert steps == [0, 1, 2]
    qtbot.waitUntil(lambda: window.plots.columns.n == 3, timeout=30_000)


@pytest.mark.parametrize("how", ["stop", "close"])
def test_stop_and_close_end_the_worker_within_a_second(qtbot, window, how):
    window.set_experiment(ENDLESS_GD)
    window.start()
    qtbot.waitUntil(lambda: window.session.count > 20, timeout=30_000)
    process = window.session.process  # core RunProcess: .alive survives closing
    begin = time.perf_counter()
    if how == "stop":
        with qtbot.waitSignal(window.run_ended, timeout=1_000):
            window.stop()
        qtbot.waitUntil(lambda: not process.alive, timeout=1_000)
        assert window.plots.columns.n == window.session.count
        assert window.session.last.status == "stopped"
        assert window.session.read_snapshots()[-1] == window.session.last
        assert window.state == "ended"
    else:
        window.close()
        qtbot.waitUntil(lambda: not process.alive, timeout=1_000)
        assert window.session.count > 20
    assert time.perf_counter() - begin < 1.0


def test_invalid_tolerance_blocks_start_with_its_message(qtbot, window):
    window.set_experiment(SHORT_BDF)
    edit = window.config_panel.rtol.edit
    edit.clear()
    qtbot.keyClicks(edit, "2")
    assert not window.controls.start_action.isEnabled()
    assert "solver.rtol" in window.controls.blocker.text()
    assert "0.5" in window.controls.blocker.text()
    assert edit.toolTip().startswith("<b>solver.rtol")
    assert window.start() is False
    assert window.session is None
    edit.clear()
    qtbot.keyClicks(edit, "1e-3")
    assert window.controls.start_action.isEnabled()
    assert window.experiment().solver.rtol == 1e-3


def test_text_that_is_not_a_number_is_flagged(qtbot, window):
    edit = window.config_panel.learning_rate
    window.config_panel.method.setCurrentIndex(0)
    window.config_panel.family.setCurrentIndex(window.config_panel.family.findData("optimiser"))
    edit.clear()
    qtbot.keyClicks(edit, "fast")
    assert "solver.learning_rate: 'fast' is not a number" in window.controls.blocker.text()


def test_diverging_gradient_descent_says_so_and_keeps_its_data(qtbot, window, tmp_path):
    status, message = run_to_end(qtbot, window, DIVERGING_GD)
    assert status == "failed"
    assert "diverged" in message
    assert "diverged" in window.banner.text() and window.banner.isVisible()
    assert window.banner.property("kind") == "error"
    x, _ = window.plots.plots["loss"].curves[0][1].getData()
    assert len(x) >= 1
    rows = window.export_csv(tmp_path / "diverged.csv")
    assert rows == window.session.count >= 2
    assert len((tmp_path / "diverged.csv").read_text().splitlines()) == rows + 1


def test_exported_csv_holds_every_received_snapshot(qtbot, window, tmp_path):
    received = []  # every snapshot the window received, as the worker sent it
    window.set_experiment(SHORT_BDF)
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        assert window.start()
        window.session.batch.connect(received.extend)  # the worker needs ~1 s to start
    path = tmp_path / "run.csv"
    assert window.export_csv(path) == window.session.count == len(received)
    table = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [int(r["step"]) for r in table] == [s.step for s in received]
    assert float(table[-1]["t"]) == received[-1].t
    assert path.read_text() == snapshots_to_csv(received)  # byte for byte what the CLI writes
    assert read_recording(path) == received  # every value, exactly


def test_x_axis_switch_changes_every_plot(qtbot, window):
    run_to_end(qtbot, window, SHORT_BDF)
    cols = window.plots.columns
    for mode, (_, label, _) in X_MODES.items():
        window.set_x_mode(mode)
        assert window.controls.x_axis.currentData() == mode
        for key, plot in window.plots.plots.items():
            assert label in plot.getPlotItem().getAxis("bottom").labelText, key
            for curve, item in plot.curves:
                x = item.xData  # the source data (getData() is downsampled for display)
                y = cols[curve.field]
                ok = np.isfinite(y) & (y > 0 if plot.spec.log_y else True)
                np.testing.assert_array_equal(x, cols[mode][ok], err_msg=f"{key} {mode}")


def test_reset_gives_the_same_initial_weights(qtbot, window):
    window.set_experiment(SHORT_BDF)
    window.step()
    qtbot.waitUntil(lambda: window.session.last is not None and window.session.last.step == 1,
                    timeout=30_000)
    first = window.session.first.loss_train
    window.reset()
    assert window.session is None and window.plots.columns.n == 0
    assert window.state == "idle"
    window.step()
    qtbot.waitUntil(lambda: window.session.last is not None and window.session.last.step == 1,
                    timeout=30_000)
    assert window.session.first.loss_train == first


def test_stop_during_a_long_step_reports_stopped_and_keeps_the_data(qtbot, window):
    """Stop while the worker is deep in one step (a big network's step or cold probe): the
    grace period ends the worker, and the run says Stopped, not "Worker died"."""
    window.process_factory = SlowStepProcess
    window.set_experiment(ENDLESS_GD.with_changes(solver={"learning_rate": 0.1}))
    assert window.start()
    qtbot.waitUntil(lambda: window.session.last is not None
                    and window.session.last.t > SLOW_AFTER_T, timeout=30_000)
    qtbot.wait(300)  # the worker is inside a slow gradient now
    kept = window.session.count
    begin = time.perf_counter()
    with qtbot.waitSignal(window.run_ended, timeout=30_000) as ended:
        window.stop()
    took = time.perf_counter() - begin
    status, message = ended.args
    assert status == "stopped", message
    assert message.startswith(f"stopped by the user after step {window.session.last.step}")
    assert message.endswith(f"was ended after {STOP_GRACE_MS / 1000:g} s")  # not its own end
    # it had the grace period, then was ended: seconds before its gradient could have returned
    assert STOP_GRACE_MS / 1000 <= took < 3.0 < SLOW_SECONDS, took
    assert window.session.count == kept > 5
    assert len(window.session.read_snapshots()) == kept
    assert window.banner.text().startswith("Stopped:")


def test_a_run_that_misses_its_target_ends_in_amber_not_green(qtbot, window):
    """lm on the default experiment reaches t_end at loss ≈ 5e-3, short of its target 1e-3."""
    window.set_experiment(default_experiment().with_changes(solver={"method": "lm"}))
    with qtbot.waitSignal(window.run_ended, timeout=30_000) as ended:
        assert window.start()
    assert ended.args[0] == "finished"
    loss = window.session.last.loss_train
    assert loss > 1e-3
    assert window.banner.property("kind") == "warning"
    text = window.banner.text()
    assert text.startswith("Ended at t_end = 10000 without reaching the target loss 0.001 "
                           f"(loss {compact(loss, 3)})"), text
    assert "Finished" not in text


def test_gradient_descent_whose_loss_grew_is_no_success(qtbot, window):
    window.set_experiment(Experiment().with_changes(
        dataset={"kind": "sin"}, network={"loss": "mse"},
        solver={"method": "gd", "learning_rate": 3.0}, stop={"t_end": 30.0, "target_loss": None}))
    with qtbot.waitSignal(window.run_ended, timeout=30_000) as ended:
        assert window.start()
    assert ended.args == ["finished", "reached t_end = 30"]
    first, last = window.session.first.loss_train, window.session.last.loss_train
    assert last > 100 * first
    assert window.banner.property("kind") == "warning"
    assert "but the loss grew" in window.banner.text()


def test_a_run_that_reaches_its_target_is_green(qtbot, window):
    window.set_experiment(SHORT_BDF.with_changes(stop={"target_loss": 0.3}))
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        assert window.start()
    assert window.banner.property("kind") == "ok"
    assert window.banner.text().startswith("Finished: reached the target loss 0.3")
