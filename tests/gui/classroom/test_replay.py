"""Replay: every view follows the slider, from the run's record; the comparison's slider puts
every run at one x."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from odeprop.core.presets import default_experiment
from odeprop.core.run import Run


def _run_to_end(qtbot, window):
    window.set_experiment(default_experiment())
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        assert window.start()


def _image(widget):
    return widget.grab().toImage()


def test_replay_moves_the_data_view_and_the_network_view(qtbot, window):
    _run_to_end(qtbot, window)
    assert window.timeline.isEnabled()
    live_final = _image(window.data_view)
    tabs = window.network_view.parentWidget().parentWidget()
    tabs.setCurrentWidget(window.network_view)
    window.network_view.refresh(force=True)  # the live run's last θ, drawn now it shows
    net_final = _image(window.network_view)
    tabs.setCurrentIndex(0)

    assert window.replay_at(0.1)
    early = _image(window.data_view)
    assert window.time_marker.x is not None
    assert window.time_marker.x < window.session.last.t
    assert window.replay_at(1.0)
    assert _image(window.data_view) != early
    assert _image(window.data_view) == live_final  # the end is the live run's last picture
    assert window.time_marker.x == window.session.last.t

    tabs.setCurrentWidget(window.network_view)
    window.replay_at(0.1)
    assert _image(window.network_view) != net_final
    window.replay_at(1.0)
    assert _image(window.network_view) == net_final


def test_the_slider_drives_the_marker_and_the_caption(qtbot, window):
    _run_to_end(qtbot, window)
    window.timeline.slider.setValue(500)  # as a user drags it
    index = window.replay.index_at(0.5)
    assert window.time_marker.x == window.replay.columns["t"][index]
    step = int(window.replay.columns["step"][index])
    assert window.timeline.caption.text().startswith(f"step {step}")


def test_reset_and_a_new_run_leave_the_replay(qtbot, window):
    _run_to_end(qtbot, window)
    window.reset()
    assert window.replay is None and not window.timeline.isEnabled()
    assert not window.replay_at(0.5)


def test_the_comparison_slider_moves_every_run_to_one_x(qtbot):
    from odeprop.gui.comparison.plots import ComparisonPlots
    from odeprop.gui.comparison.replay_cursor import ComparisonCursor

    snaps = []
    run = Run(default_experiment())
    run.run_to_end(snaps.append)
    plots = ComparisonPlots()
    qtbot.addWidget(plots)
    plots.set_runs([("a", "#0072b2"), ("b", "#d55e00")])
    plots.append(0, snaps)
    plots.append(1, [replace(s, n_grad=3 * s.n_grad) for s in snaps])  # a costlier run
    plots.set_x_mode("n_grad")
    cursor = ComparisonCursor(plots)
    cursor.set_x_mode("n_grad")
    cursor.timeline.set_fraction(0.5)
    lo, hi = snaps[0].n_grad, 3 * snaps[-1].n_grad
    assert cursor.x == pytest.approx((lo + hi) / 2)
    assert [line.value() for line in cursor.marker.lines] == pytest.approx(
        [cursor.x] * len(cursor.marker.lines))
    assert all(line.isVisible() for line in cursor.marker.lines)
    assert "1: step" in cursor.timeline.toolTip() and "2: step" in cursor.timeline.toolTip()
    # the x-axis switch moves every run to the same fraction of the new axis
    plots.set_x_mode("step")
    cursor.set_x_mode("step")
    assert cursor.x == pytest.approx(snaps[-1].step / 2)
    assert np.isclose(cursor.marker.lines[0].value(), cursor.x)


def test_a_paced_lab_run_shows_the_unpaced_runs_snapshots_over_its_pace(qtbot, window):
    _run_to_end(qtbot, window)
    fast = window.session.read_snapshots()
    fast_theta = window.session.report.theta
    window.pace_box.set_seconds(2.0)
    assert window.pace_box.box.currentText() == "over 2 s"
    begin = time.perf_counter()
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        assert window.start()
    took = time.perf_counter() - begin
    paced = window.session.read_snapshots()
    clocks = ("wall", "solver_wall")
    assert ([{k: v for k, v in vars(s).items() if k not in clocks} for s in paced]
            == [{k: v for k, v in vars(s).items() if k not in clocks} for s in fast])
    assert np.array_equal(window.session.report.theta, fast_theta)
    assert took >= 0.8 * 2.0
    window.pace_box.set_seconds(None)
    assert window.pace_box.box.currentText() == "full speed"


def test_the_lens_and_the_replay_show_one_moment(qtbot, window):
    window.lens_dock.show()
    _run_to_end(qtbot, window)
    spectra = window.lens.run.spectra
    assert len(spectra) > 3
    window.replay_at(0.5)  # the lens follows: the last spectrum at or before the moment
    step = int(window.replay.columns["step"][window.replay.index_at(0.5)])
    shown = spectra[window.lens.slider.value()].step
    assert shown <= step
    assert all(s.step > step for s in spectra[window.lens.slider.value() + 1:])
    assert window.time_marker.x == window.replay.columns["t"][window.replay.index_at(0.5)]
    target = window.lens.slider.value() + 2
    window.lens.slider.setValue(target)  # and the replay follows the lens
    assert window.replay.columns["step"][window._replay_index] == spectra[target].step
    assert window.time_marker.x == spectra[target].t
    assert window.timeline.fraction == pytest.approx(
        window.replay.fractions[window._replay_index], abs=1e-3)


def test_a_reopened_run_replays_from_its_record_and_discard_removes_its_thetas(
        qtbot, window, recovery_folder):
    import gc

    from odeprop.core.recording import SnapshotRecorder, forget
    from odeprop.core.theta_record import ThetaRecorder, theta_path

    exp = default_experiment()
    rec = SnapshotRecorder(recovery_folder, "left", exp.to_toml(), label="left")
    run = Run(exp)
    thetas = ThetaRecorder(theta_path(rec.path), run.net.n_params)
    snap = run.start()
    while True:  # what a live run's session writes
        rec.append([snap])
        thetas.append(snap.step, snap.t, run.theta, force=run.done)
        if run.done:
            break
        snap = run.step()
    thetas.close()
    del rec  # abandoned, as a crash leaves it
    gc.collect()
    path = recovery_folder / "left.csv"
    assert window.reopen_recording(path)
    assert window.timeline.isEnabled()
    window.replay_at(1.0)
    assert np.array_equal(window.replay.theta(len(window.replay) - 1), run.theta)
    end = _image(window.data_view)
    window.replay_at(0.1)
    assert _image(window.data_view) != end
    window.reset()
    forget(path)  # what Discard does
    assert not theta_path(path).exists()


def test_closing_the_lens_keeps_the_replays_own_moment_marked(qtbot, window):
    window.lens_dock.show()
    _run_to_end(qtbot, window)
    window.replay_at(0.5)
    moment = window.time_marker.x
    window.lens_dock.hide()  # the replay set this moment, not the lens: it stays
    assert window.time_marker.x == moment
    assert all(line.isVisible() for line in window.time_marker.lines)
