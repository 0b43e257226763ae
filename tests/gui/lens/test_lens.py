"""The stiffness lens: spectra from real runs, the stability regions it draws, the time slider
that moves both views and the marker in the window's plots, export and help."""

import csv
import io
from dataclasses import fields

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from odeprop.core import stability
from odeprop.core.config import Experiment
from odeprop.core.snapshot import Snapshot, Spectrum
from odeprop.gui.lens.axes import SymLogAxis, symlog, symlog_inverse
from odeprop.gui.lens.regions import region_for
from odeprop.gui.lens.views import SADDLE, STABLE, UNSTABLE, SpectrumView
from odeprop.gui.lens.window import TIPS, StiffnessLens, help_html

#: Gradient descent on two moons with η = 3: λmax starts near 0.87, so η·λmax ≈ 2.6 is past
#: the edge of stability 2 (a point outside the disc), then training brings it back inside.
GD_AT_THE_EDGE = Experiment().with_changes(
    dataset={"kind": "moons"}, network={"hidden": (8,), "activations": ("tanh",)},
    solver={"method": "gd", "learning_rate": 3.0},
    stop={"t_end": 1e9, "target_loss": None, "max_steps": 200},
    probe={"stiffness_every": 5, "stiffness_budget": 0.0})


def run_with_lens(qtbot, window, experiment, timeout=30_000):
    window.lens_dock.show()
    window.set_experiment(experiment)
    with qtbot.waitSignal(window.run_ended, timeout=timeout) as blocker:
        assert window.start()
    qtbot.waitUntil(lambda: len(window.lens.run.spectra) == len(window.session.spectra) > 0,
                    timeout=30_000)
    window.lens.refresh()
    return blocker.args


def snapshot(step: int, order=None, h=0.5, method_in_use=None) -> Snapshot:
    values = {f.name: None for f in fields(Snapshot)}
    values.update(step=step, t=float(step), h=h, wall=0.01 * step, solver_wall=0.0,
                  loss_train=1.0, n_grad=2 * step, n_hvp=0, n_hess=0, probe_hvp=0,
                  probe_hess=0, status="running", order=order, method_in_use=method_in_use)
    return Snapshot(**values)


def spectrum(step: int, eigenvalues, h=0.5) -> Spectrum:
    return Spectrum(step, float(step), h, np.sort(np.asarray(eigenvalues, dtype=float)), True)


def boundary_z(view) -> np.ndarray:
    x, y = view.boundary.getData()
    z = x + 1j * y
    return z[np.isfinite(z)]


# -- a real run --------------------------------------------------------------------------------
def test_the_lens_plots_minus_h_lambda_of_a_real_run(qtbot, window):
    status, message = run_with_lens(qtbot, window, GD_AT_THE_EDGE)
    assert status == "stopped", message
    assert window.session.experiment.probe.full_spectrum  # the open lens asked for spectra
    lens = window.lens
    assert "measures the Hessian spectrum (all 33 eigenvalues) every 5 steps" in \
        lens.status.text()
    spectra = window.session.spectra
    assert len(spectra) == 41 and [s.step for s in spectra] == list(range(0, 201, 5))
    by_step = {s.step: s for s in window.session.read_snapshots()}
    lens.scale_box.setCurrentIndex(lens.scale_box.findData("linear"))
    for index in (0, 7, len(spectra) - 1):
        lens.select(index)
        spec = spectra[index]
        snap = by_step[spec.step]
        assert spec.h == snap.h == 3.0
        np.testing.assert_array_equal(lens.region_view.points, -snap.h * spec.eigenvalues)
        x, y = lens.region_view.scatters[STABLE].getData()
        drawn = np.concatenate([s.getData()[0] for s in lens.region_view.scatters.values()])
        np.testing.assert_allclose(np.sort(drawn), np.sort(-snap.h * spec.eigenvalues))
        np.testing.assert_array_equal(y, 0.0)
        np.testing.assert_array_equal(lens.spectrum_view.points[1], spec.eigenvalues)
        assert lens.current[1] == snap
    # at step 0, η·λmax ≈ 2.6: the sharpest direction lies outside the disc, and is red
    lens.select(0)
    kinds = lens.region_view.kinds
    assert kinds[np.argmin(lens.region_view.points)] == UNSTABLE
    assert lens.region_view.points.min() < -2.0
    assert "outside the region: unstable" in lens.region_facts.text()
    assert (kinds == SADDLE).sum() == (spectra[0].eigenvalues < 0).sum() > 0
    # the region of gradient descent: the disc |1 + z| ≤ 1, bound −2
    z = boundary_z(lens.region_view)
    assert len(z) > 100
    np.testing.assert_allclose(np.abs(1 + z), 1.0, atol=1e-3)
    assert z.real.min() == pytest.approx(-2.0, abs=1e-2)
    assert lens.region_view.bound_line.value() == pytest.approx(-2.0)
    assert lens.region_view.bound_line.isVisible()
    assert lens.region_view.bound_line.label.toPlainText() == "−2"
    # the spectrum's dashed limit is the edge of stability 2/η
    assert lens.spectrum_view.limit.value() == pytest.approx(
        float(symlog(2.0 / 3.0, lens.spectrum_view.threshold)))
    assert any("edge of stability 2/η = 0.667" in n for n in lens.spectrum_view.legend.names())


def test_the_slider_moves_both_views_and_the_marker_in_every_plot(qtbot, window):
    run_with_lens(qtbot, window, GD_AT_THE_EDGE)
    lens, spectra = window.lens, window.session.spectra
    by_step = {s.step: s for s in window.session.read_snapshots()}
    assert lens.slider.maximum() == len(spectra) - 1
    assert lens.slider.value() == lens.slider.maximum()  # it followed the run to its end
    seen = []
    for value in (0, 20, lens.slider.maximum()):
        if value == 0:  # the keyboard drives it as well as the mouse
            lens.slider.setFocus()
            qtbot.keyClick(lens.slider, Qt.Key.Key_Home)
        else:
            lens.slider.setValue(value)
        assert lens.slider.value() == value
        spec = spectra[value]
        region_x = lens.region_view.points.copy()
        spectrum_y = lens.spectrum_view.points[1].copy()
        np.testing.assert_array_equal(region_x, -spec.h * spec.eigenvalues)
        assert f"step {spec.step}," in lens.moment.text()
        assert lens.spectrum_view.getPlotItem().titleLabel.text.endswith(f"at step {spec.step}")
        marker = window.time_marker
        assert marker.x == by_step[spec.step].t
        assert len(marker.lines) == len(window.plots.plots)
        for line in marker.lines:
            assert line.isVisible() and line.value() == pytest.approx(by_step[spec.step].t)
        seen.append((region_x, spectrum_y))
    for (a, b), (c, d) in zip(seen, seen[1:], strict=False):
        assert not np.array_equal(a, c) and not np.array_equal(b, d)
    # the marker follows the window's x axis
    lens.slider.setValue(20)
    window.set_x_mode("step")
    assert all(line.value() == spectra[20].step for line in window.time_marker.lines)
    window.set_x_mode("n_grad")
    assert window.time_marker.x == by_step[spectra[20].step].n_grad
    # the arrow buttons step through the spectra
    lens.back.click()
    assert lens.slider.value() == 19
    # closing the lens takes its marker out of the plots; opening it puts the marker back
    window.lens_dock.toggleViewAction().trigger()
    assert not window.lens_dock.isVisible()
    assert all(not line.isVisible() for line in window.time_marker.lines)
    window.lens_dock.toggleViewAction().trigger()
    assert window.time_marker.x == by_step[spectra[19].step].n_grad
    assert all(line.isVisible() for line in window.time_marker.lines)
    # Reset forgets the run: no spectra, no marker
    window.reset()
    assert lens.run is None and not lens.slider.isEnabled()
    assert all(not line.isVisible() for line in window.time_marker.lines)


def test_a_live_run_is_followed_until_the_slider_is_moved_back(qtbot, window):
    endless = GD_AT_THE_EDGE.with_changes(
        solver={"learning_rate": 0.5}, stop={"max_steps": None, "max_wall_time": 30.0})
    window.lens_dock.show()
    window.set_experiment(endless)
    window.start()
    lens = window.lens
    qtbot.waitUntil(lambda: lens.run is not None and len(lens.run.spectra) >= 5, timeout=30_000)
    qtbot.waitUntil(lambda: lens.slider.value() == len(lens.run.spectra) - 1 >= 4,
                    timeout=30_000)
    assert "newest" in lens.moment.text()
    lens.slider.setValue(1)
    count = len(lens.run.spectra)
    qtbot.waitUntil(lambda: lens.slider.maximum() > count + 3, timeout=30_000)
    assert lens.slider.value() == 1  # looking back: the view stays where the student put it
    assert lens.current[0].step == 5
    lens.slider.setValue(lens.slider.maximum())  # back at the end: following again
    qtbot.waitUntil(lambda: lens.slider.maximum() > count + 10, timeout=30_000)
    qtbot.waitUntil(lambda: lens.slider.value() == lens.slider.maximum(), timeout=30_000)
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        window.stop()


def test_a_run_started_with_the_lens_closed_measures_no_spectra(qtbot, window):
    short = GD_AT_THE_EDGE.with_changes(stop={"max_steps": 20})
    window.set_experiment(short)
    assert not window.lens_dock.isVisible()
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        window.start()
    assert not window.session.experiment.probe.full_spectrum
    assert window.session.spectra == []
    window.lens_dock.show()
    assert "started with the lens closed" in window.lens.status.text()
    assert "Start it again" in window.lens.spectrum_view.note.text
    # the check box asks for spectra with the lens closed
    window.lens_dock.hide()
    window.lens.measure_box.setChecked(True)
    assert window.lens.experiment_for_run(short).probe.full_spectrum


def test_the_bdf_locus_follows_the_order_of_a_real_run(qtbot, window):
    bdf = Experiment().with_changes(
        solver={"method": "BDF", "rtol": 1e-4, "atol": 1e-4},
        stop={"t_end": 60.0, "target_loss": None},
        probe={"stiffness_every": 2, "stiffness_budget": 0.0})
    run_with_lens(qtbot, window, bdf)
    lens = window.lens
    by_step = {s.step: s for s in window.session.read_snapshots()}
    orders = set()
    for index, spec in enumerate(window.session.spectra):
        order = by_step[spec.step].order
        if order is None:
            continue
        lens.select(index)
        orders.add(order)
        expected = stability.boundary_locus("bdf", order=order, n=1441)
        np.testing.assert_allclose(boundary_z(lens.region_view), expected, atol=1e-12)
        title = lens.region_view.getPlotItem().titleLabel.text.replace("<br>", " ")
        assert title.startswith(f"Stability region: BDF-{order} ")
        assert lens.current[2].stable_inside is False
    assert len(orders) >= 2, orders  # the solver changed its order, and the lens followed


# -- regions, scales, synthetic spectra -----------------------------------------------------
def test_bdf_region_follows_the_reported_order_and_says_when_there_is_none(qtbot):
    lens = StiffnessLens()
    qtbot.addWidget(lens)
    exp = Experiment().with_changes(solver={"method": "cvode-gmres"})
    lens.start_run(exp, n_params=3)
    lens.add_snapshots([snapshot(0, order=None), snapshot(1, order=3), snapshot(2, order=1)])
    lens.add_spectra([spectrum(s, [-0.5, 1.0, 4.0]) for s in (0, 1, 2)])
    lens.refresh()
    lens.select(0)
    np.testing.assert_allclose(boundary_z(lens.region_view),
                               stability.boundary_locus("bdf", order=5, n=1441))
    assert lens.region_view.note.text == "order not reported, showing BDF-5 (worst case)"
    lens.select(1)
    np.testing.assert_allclose(boundary_z(lens.region_view),
                               stability.boundary_locus("bdf", order=3, n=1441))
    assert "86.0°" in lens.region_view.getPlotItem().titleLabel.text
    lens.select(2)
    np.testing.assert_allclose(boundary_z(lens.region_view),
                               stability.boundary_locus("bdf", order=1, n=1441))
    # BDF is stable on the whole negative real axis: no bound line; the one saddle point (z > 0)
    assert not lens.region_view.bound_line.isVisible()
    assert list(lens.region_view.kinds) == [SADDLE, STABLE, STABLE]  # z = −h·λ: descending


@pytest.mark.parametrize("method", ["RK23", "RK45", "DOP853", "Radau"])
def test_one_step_regions_are_the_level_set_of_the_stability_function(method):
    region = region_for(method)
    from odeprop.gui.lens.regions import outline

    for curve in outline(region):
        np.testing.assert_allclose(stability.amplification(region.family, curve), 1.0,
                                   atol=2e-3)
    if method == "Radau":
        assert region.bound is None and not region.stable_inside
    else:
        assert region.bound == pytest.approx(stability.real_axis_interval(region.family),
                                             abs=1e-3)


def test_momentum_region_uses_the_runs_beta_and_methods_without_one_say_so():
    region = region_for("momentum", momentum=0.5)
    assert region.bound == pytest.approx(3.0)
    assert region.beta == 0.5
    assert region_for("adam").family is None and "no fixed region" in region_for("adam").note
    lsoda = region_for("LSODA", snapshot(3, order=2, method_in_use="BDF"))
    assert lsoda.family == "bdf" and lsoda.order == 2
    assert region_for("LSODA", snapshot(3, order=4, method_in_use="Adams")).family is None


def test_scales_frame_the_points_and_symlog_keeps_their_values(qtbot):
    lens = StiffnessLens()
    qtbot.addWidget(lens)
    lens.resize(500, 800)
    lens.start_run(Experiment().with_changes(solver={"method": "BDF"}), n_params=4)
    lens.add_snapshots([snapshot(4, order=2, h=50.0)])
    lens.add_spectra([spectrum(4, [1e-4, 0.3, 20.0, 300.0], h=50.0)])
    lens.refresh()
    view = lens.region_view
    assert view.scale_in_use == "symlog"  # z reaches −15000, the BDF-2 locus only 4
    assert view.x_axis.threshold is not None
    drawn = np.concatenate([s.getData()[0] for s in view.scatters.values()])
    np.testing.assert_allclose(np.sort(symlog_inverse(drawn, view.x_axis.threshold)),
                               np.sort(-50.0 * np.array([1e-4, 0.3, 20.0, 300.0])))
    lens.scale_box.setCurrentIndex(lens.scale_box.findData("points"))
    assert view.scale_in_use == "points" and view.x_axis.threshold is None
    (x0, x1), _ = view.view.viewRange()
    assert x0 <= -15000 and x1 >= 0 and x0 > -20000
    lens.scale_box.setCurrentIndex(lens.scale_box.findData("linear"))
    assert view.x_axis.threshold is None


def test_symlog_axis_labels_real_values():
    axis = SymLogAxis("left")
    axis.set_threshold(0.01)
    levels = axis.tickValues(float(symlog(-10.0, 0.01)), float(symlog(100.0, 0.01)), 400)
    major = levels[0][1]
    labels = axis.tickStrings(major, 1.0, levels[0][0])
    assert "0" in labels and "10²" in labels and "−10¹" in labels  # the lab's style
    assert symlog_inverse(symlog(np.array([-3.0, 0.0, 5e-5, 7.0]), 0.1), 0.1) == \
        pytest.approx([-3.0, 0.0, 5e-5, 7.0])


def test_a_spectrum_before_the_first_step_has_no_points_and_says_why(qtbot):
    lens = StiffnessLens()
    qtbot.addWidget(lens)
    lens.start_run(Experiment().with_changes(solver={"method": "RK45"}), n_params=3)
    lens.add_snapshots([snapshot(0, h=None)])
    lens.add_spectra([spectrum(0, [0.1, 1.0, 2.0], h=None)])
    lens.refresh()
    assert len(lens.region_view.points) == 0
    assert len(lens.spectrum_view.points[1]) == 3
    assert "no step taken yet" in lens.region_view.note.text
    assert "no step taken yet" in lens.region_facts.text()


def test_lanczos_ends_sit_at_their_true_indices(qtbot):
    lens = StiffnessLens()
    qtbot.addWidget(lens)
    exp = Experiment().with_changes(solver={"method": "RK45"}, probe={"full_spectrum": True})
    lens.start_run(exp, n_params=5000)
    lens.add_snapshots([snapshot(3)])
    ends = np.concatenate([np.linspace(-1, -0.1, 16), np.linspace(1, 50, 16)])
    lens.add_spectra([Spectrum(3, 3.0, 0.05, ends, False)])
    lens.refresh()
    index, lam = lens.spectrum_view.points
    assert list(index[:16]) == list(range(1, 17)) and list(index[16:]) == list(range(4985, 5001))
    assert "Lanczos" in lens.status.text() and "5,000" in lens.status.text()
    assert "16 of 5,000" in lens.spectrum_facts.text()
    item = lens.spectrum_view.getPlotItem()
    assert item.titleLabel.text == "Hessian spectrum at step 3"
    assert item.getAxis("bottom").labelText == "index i of 5,000 (both ends, by Lanczos)"
    x0, x1 = lens.spectrum_view.getViewBox().viewRange()[0]
    assert x0 < -50 and x1 > 5050  # the markers at index 1 and 5,000 are drawn whole


def test_the_largest_eigenvalue_of_a_big_network_is_inside_a_narrow_lens(qtbot):
    """At the lens's narrowest, the spectrum plot stays inside its widget: a long title made
    it wider, and λmax, drawn at index 101,770 on the right, fell off the edge."""
    view = SpectrumView()
    qtbot.addWidget(view)
    view.resize(280, 220)
    view.show()
    qtbot.waitExposed(view, timeout=30_000)
    view.show_spectrum(Spectrum(18, 107.8, 20.7, np.array([-0.002173, 0.02602]), False),
                       101_770)
    qtbot.wait(20)
    assert view.getPlotItem().width() <= view.width()
    box = view.getViewBox()
    right = box.mapViewToScene(QPointF(101_770, 0)).x()
    assert 0 < right < box.sceneBoundingRect().right() <= view.width()


def test_a_new_spectrum_of_the_same_kinds_keeps_both_legends(qtbot):
    """Each spectrum of a long run redraws the points, not the legends (rebuilding them was
    half the cost of a lens update, a redraw tick's worth for a big network's run)."""
    lens = StiffnessLens()
    qtbot.addWidget(lens)
    lens.start_run(Experiment().with_changes(solver={"method": "RK45"}), n_params=3)
    lens.add_snapshots([snapshot(1), snapshot(2), snapshot(3)])
    lens.add_spectra([spectrum(1, [0.1, 1.0, 2.0])])
    lens.refresh()
    labels = [[label for _, label in view.legend.legend.items]
              for view in (lens.spectrum_view, lens.region_view)]
    lens.add_spectra([spectrum(2, [0.2, 1.5, 2.5])])
    lens.refresh()
    assert [[label for _, label in view.legend.legend.items]
            for view in (lens.spectrum_view, lens.region_view)] == labels  # the same objects
    lens.add_spectra([spectrum(3, [-1.0, 1.5, 2.5])])  # a saddle: a new entry
    lens.refresh()
    names = lens.spectrum_view.legend.names()
    assert any("saddle" in name for name in names) and len(names) == len(labels[0]) + 1


def test_longer_facts_do_not_widen_the_lens_or_move_the_plots(qtbot, window):
    """Every spectrum changes the facts under the plots; they wrap inside the lens instead of
    widening its dock, which relaid out (and repainted) the whole window at every spectrum."""
    window.lens_dock.show()
    lens = window.lens
    lens.start_run(Experiment().with_changes(solver={"method": "RK45"},
                                             probe={"full_spectrum": True}), n_params=101_770)
    qtbot.wait(20)
    sizes = None
    for step, (lam, h) in enumerate([([-0.13, 0.41], 1.3), ([-0.1234567, 0.35], 2.3),
                                     ([-0.000412345, 0.00521234], 106.0)], start=1):
        lens.add_snapshots([snapshot(step, h=h)])
        lens.add_spectra([Spectrum(step, float(step), h, np.array(lam), False)])
        lens.refresh()
        qtbot.wait(20)
        now = (window.lens_dock.width(), window.plots.size(), lens.region_view.width())
        assert sizes is None or now == sizes, step
        sizes = now
    assert "0.005212" in lens.spectrum_facts.text()


# -- export, help, tooltips -----------------------------------------------------------------
def test_spectra_export_round_trip_and_both_views_as_images(qtbot, window, tmp_path):
    run_with_lens(qtbot, window, GD_AT_THE_EDGE.with_changes(stop={"max_steps": 30}))
    lens = window.lens
    path = tmp_path / "spectra.csv"
    rows = lens.export_spectra_csv(path)
    spectra = window.session.spectra
    assert rows == sum(len(s.eigenvalues) for s in spectra) == 7 * 33
    table = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    for spec in spectra:
        mine = [r for r in table if int(r["step"]) == spec.step]
        np.testing.assert_array_equal([float(r["eigenvalue"]) for r in mine], spec.eigenvalues)
        np.testing.assert_array_equal([float(r["minus_h_lambda"]) for r in mine],
                                      -spec.h * spec.eigenvalues)
    assert window.session.spectra_csv() == path.read_text(encoding="utf-8")
    for which in ("spectrum", "region", "both"):
        for ext in ("png", "svg"):
            out = tmp_path / f"{which}.{ext}"
            assert lens.export_view(which, out)
            assert out.stat().st_size > 1000
    assert (tmp_path / "region.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_help_panel_and_tooltips(qtbot):
    lens = StiffnessLens()
    qtbot.addWidget(lens)
    text = lens.help.toPlainText()
    for phrase in ("Stiffness", "region of absolute stability", "A-stable",
                   "Dahlquist", "2/λmax", "edge of stability", "|1 + z|"):
        assert phrase in text, phrase
    assert "<h2>" in help_html()
    assert lens.tabs.tabText(1) == "Explanations"
    for widget in (lens.spectrum_view, lens.region_view, lens.slider, lens.measure_box,
                   lens.scale_box, lens.export_button, lens.spectrum_facts, lens.region_facts,
                   lens.status, lens.help, lens.moment, lens.back, lens.forward, lens.run_box):
        assert widget.toolTip(), widget
    assert all(TIPS.values())


def test_the_view_menu_toggles_the_lens(window):
    action = window.lens_dock.toggleViewAction()
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert action in view_menu.actions()
    assert not window.lens_dock.isVisible()
    action.trigger()
    assert window.lens_dock.isVisible() and window.lens.wants_spectra()


def test_a_long_title_wraps_and_nothing_is_cut_at_a_narrow_dock_s_edge(qtbot):
    """At the dock's narrowest the region's title ("Stability region: BDF-5 (A(α)-stable, α =
    51.8°)") widened the plot past its widget: title, legend and note were cut at the edge."""
    lens = StiffnessLens()
    qtbot.addWidget(lens)
    exp = Experiment().with_changes(solver={"method": "cvode-gmres"})
    lens.start_run(exp, n_params=3)
    lens.add_snapshots([snapshot(0, order=None)])
    lens.add_spectra([spectrum(0, [-0.5, 1.0, 4.0])])
    lens.resize(lens.minimumSizeHint().width(), 700)
    lens.show()
    qtbot.waitExposed(lens, timeout=30_000)
    lens.refresh()
    qtbot.wait(50)
    for view in (lens.region_view, lens.spectrum_view):
        item = view.getPlotItem()
        assert item.sceneBoundingRect().width() <= view.width() + 1
    title = lens.region_view.getPlotItem().titleLabel.text
    assert "<br>" in title and title.replace("<br>", " ").startswith("Stability region: BDF-5 (")
