"""The live plots as a class sees them: legible log axes, legends off the data, notes, dots."""

import math

import numpy as np
import pyqtgraph as pg
import pytest
from conftest import SHORT_BDF
from PySide6.QtGui import QImage, QPainter

from odeprop.core.config import Experiment
from odeprop.gui.common.log_axis import LogAxis, compact, log_ticks, tick_labels
from odeprop.gui.common.plot_parts import nice_linear_range, nice_log_range, nice_x_range
from odeprop.gui.common.plots import IMPLICIT_NOTE, NOT_REPORTED, SPECS, LivePlot, SnapshotColumns


def columns_with(n=200, **fields) -> SnapshotColumns:
    """Columns holding ``n`` snapshots: t = 0 … n-1 and the given fields (NaN elsewhere)."""
    cols = SnapshotColumns(max(n, 4))
    cols._data["t"][:n] = np.arange(n, dtype=float)
    for name, values in fields.items():
        cols._data[name][:n] = values
    cols.n = n
    return cols


def drawn_labels(axis) -> list[tuple]:
    """The tick labels the axis really paints: (text, rect) from its draw specs."""
    image = QImage(400, 400, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [(text, rect) for rect, _flags, text in specs[2] if text]


def shown_plot(qtbot, key: str, width=340, height=260) -> LivePlot:
    plot = LivePlot(next(s for s in SPECS if s.key == key))
    qtbot.addWidget(plot)
    plot.resize(width, height)
    plot.show()
    qtbot.waitExposed(plot, timeout=30_000)
    return plot


# -- the log axis ----------------------------------------------------------------------------
@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (1e-4, 1e2, ["10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰", "10¹", "10²"]),
    (1e-3, 1.0, ["10⁻³", "10⁻²", "10⁻¹", "10⁰"]),
    (0.2, 1.0, ["0.2", "0.5", "1"]),
    (0.45, 1.5, ["0.5", "1", "1.5"]),
    (0.48, 0.52, ["0.48", "0.5", "0.52"]),
    (1.0, 1e12, ["10⁰", "10²", "10⁴", "10⁶", "10⁸", "10¹⁰", "10¹²"]),
])
def test_log_ticks_label_decades_or_1_2_5_and_never_fewer_than_two(lo, hi, expected):
    major, minor = log_ticks(math.log10(lo), math.log10(hi), 200)
    assert tick_labels([10 ** v for v in major]) == expected
    assert not set(np.round(major, 9)) & set(np.round(minor, 9))


def test_log_ticks_thin_decades_to_the_space_there_is():
    major, minor = log_ticks(-9, 3, 100)  # twelve decades in 100 px
    gaps = np.diff(major) * 100 / 12
    assert len(major) >= 2 and gaps.min() >= 24
    assert minor  # the skipped decades are still marked, unlabelled


@pytest.mark.parametrize("type_scale", [1.0, 1.6])
def test_a_short_log_axis_keeps_its_labels_apart_in_any_type(type_scale):
    """A lesson's loss plot in presenter type: 1.8 decades on 122 px ran "0.2 0.4 0.6 0.8 1"
    together (no candidate was spaced, and the finest was taken)."""
    lo, hi, size = -1.767, 0.068, 122.0
    major, _ = log_ticks(lo, hi, size, vertical=True, type_scale=type_scale)
    gaps = np.diff(major) * size / (hi - lo)
    assert len(major) >= 2 and gaps.min() >= 24 * type_scale, tick_labels(10 ** np.array(major))


def test_tick_labels_use_one_style_on_every_axis_whatever_its_range():
    """Decades read the same on every axis (they were "100, 10, 1" on one plot and "1e0,
    1e-2" on another, as the range decided): powers of ten; 1-2-5 steps as decimals."""
    assert tick_labels([1.0, 10.0, 100.0]) == ["10⁰", "10¹", "10²"]
    assert tick_labels([1e-2, 1.0]) == ["10⁻²", "10⁰"]
    assert tick_labels([1e-6, 1e-3, 1.0]) == ["10⁻⁶", "10⁻³", "10⁰"]
    assert tick_labels([0.2, 0.5, 1.0]) == ["0.2", "0.5", "1"]
    assert tick_labels([2e5, 5e5]) == ["2·10⁵", "5·10⁵"]
    assert tick_labels([0.0, -100.0, 100.0]) == ["0", "−10²", "10²"]
    assert compact(1000.0) == "1000" and compact(837.2) == "837.2"
    assert compact(1.234e7) == "1.234e7" and compact(None) == "—"


def test_nice_ranges_grow_in_steps():
    assert nice_x_range(0, 837) == (0, 1000)
    assert nice_x_range(0, 0.00031) == (0, pytest.approx(0.0004))
    assert nice_linear_range(27, 100) == (20, 100)
    lo, hi = nice_log_range(math.log10(0.000928), 0.0)
    assert (10 ** lo, 10 ** hi) == (pytest.approx(0.0005), pytest.approx(1.0))
    lo, hi = nice_log_range(math.log10(0.5), math.log10(0.5))  # a constant step size
    assert 10 ** lo < 0.5 < 10 ** hi


def test_every_log_plot_uses_the_log_axis_and_paints_few_clean_labels(qtbot):
    for spec in SPECS:
        plot = LivePlot(spec)
        qtbot.addWidget(plot)
        assert isinstance(plot.getPlotItem().getAxis("left"), LogAxis) == spec.log_y
    plot = shown_plot(qtbot, "work", height=290)  # its footnote now wraps (was cut at 340 px)
    grad = np.geomspace(4, 120, 200)  # the solver-work curve that piled up "2·10¹ … 9·10¹"
    plot.refresh(columns_with(n_grad=grad), "t")
    qtbot.wait(50)
    labels = drawn_labels(plot.getPlotItem().getAxis("left"))
    texts = [t for t, _ in labels]
    assert "10" in texts and "100" in texts, texts
    assert set(texts) <= {"2", "5", "10", "20", "50", "100", "200"}, texts  # no 3·10¹ …
    rects = [r for _, r in labels]
    assert all(not a.intersects(b) for a, b in zip(rects, rects[1:], strict=False))


def test_a_log_axis_inside_one_decade_still_labels_its_values(qtbot):
    plot = shown_plot(qtbot, "lambda")
    plot.refresh(columns_with(n=8, lambda_max=np.linspace(0.9, 0.45, 8)), "t")
    qtbot.wait(50)
    texts = [t for t, _ in drawn_labels(plot.getPlotItem().getAxis("left"))]
    assert len(texts) >= 2, texts
    assert all(len(t) <= 5 and "·" not in t for t in texts), texts


# -- titles, notes, legends, dots ------------------------------------------------------------
def test_order_plot_title_stays_short_and_says_not_reported_inside(qtbot):
    plot = shown_plot(qtbot, "order")
    plot.refresh(columns_with(loss_train=np.ones(200)), "t")  # the method reports no order
    assert plot.getPlotItem().titleLabel.text == "Order in use"
    assert plot.note.isVisible() and plot.note.text == NOT_REPORTED
    note = plot.note.sceneBoundingRect()
    assert plot.getPlotItem().getViewBox().sceneBoundingRect().contains(note.center())
    plot.refresh(columns_with(order=np.full(200, 3.0)), "t")
    assert not plot.note.isVisible()
    ticks = plot.getPlotItem().getAxis("left")._tickLevels[0]
    assert [label for _, label in ticks] == ["0", "1", "2", "3", "4"]


def test_curves_of_few_points_get_dots(qtbot):
    plot = shown_plot(qtbot, "lambda")
    lam = np.full(200, np.nan)
    lam[[0, 10, 20]] = [2.0, 1.5, 1.2]
    plot.refresh(columns_with(lambda_max=lam), "t")
    _, item = plot.curves[0]
    assert item.dots.isVisible()
    xs, ys = item.dots.getData()
    np.testing.assert_array_equal(xs, [0, 10, 20])
    np.testing.assert_allclose(ys, np.log10([2.0, 1.5, 1.2]))  # the log view's coordinates
    plot.refresh(columns_with(lambda_max=np.linspace(2, 1, 200)), "t")
    assert not item.dots.isVisible()


def test_implicit_methods_say_why_there_is_no_stability_bound_outside_the_data(qtbot, window):
    window.set_experiment(SHORT_BDF)
    hlam = window.plots.plots["hlam"]
    qtbot.wait(50)
    text = hlam.legend.footnote_text.replace("<br>", " ")
    assert text == IMPLICIT_NOTE and not hlam.note.isVisible()  # a box over the data greyed
    assert legend_clear_of_data(hlam.getPlotItem(), hlam.legend.footnote)  # the curve out
    assert not hlam.lines
    window.set_experiment(SHORT_BDF.with_changes(solver={"method": "RK45"}))
    assert not hlam.legend.footnote_text
    assert hlam.legend_names()[-1] == "stability bound = 3.31"


@pytest.mark.parametrize(("method", "changes", "edge", "name"), [
    ("gd", {"learning_rate": 0.5}, 4.0, "edge of stability 2/η = 4"),
    ("momentum", {"learning_rate": 0.3, "momentum": 0.9}, 2 * 1.9 / 0.3,
     "edge of stability 2(1+β)/η = 12.7"),
    ("RK45", {}, None, None),
    ("adam", {}, None, None),
])
def test_edge_of_stability_line_only_for_gd_and_momentum(window, method, changes, edge, name):
    exp = Experiment().with_changes(solver={"method": method, **changes})
    window.set_experiment(exp)
    plot = window.plots.plots["lambda"]
    if edge is None:
        assert not plot.lines
        assert plot.legend_names() == ["λmax"]
        return
    assert len(plot.lines) == 1
    assert plot.lines[0].value() == pytest.approx(math.log10(edge))  # a log plot
    assert plot.legend_names() == ["λmax", name]
    assert plot.legend.legend.isVisible()
    if method == "momentum":
        hlam = window.plots.plots["hlam"]
        assert hlam.lines[0].value() == pytest.approx(3.8)


def legend_clear_of_data(plot_item, legend) -> bool:
    view = plot_item.getViewBox().sceneBoundingRect()
    axis = plot_item.getAxis("bottom").sceneBoundingRect()
    box = legend.sceneBoundingRect()
    return not box.intersects(view) and box.top() >= axis.bottom() - 1


def test_legends_sit_below_the_plots_never_over_the_data(qtbot, window):
    window.set_experiment(SHORT_BDF.with_changes(solver={"method": "gd"}))
    qtbot.wait(100)
    shown = 0
    for key, plot in window.plots.plots.items():
        legend = plot.legend.legend
        assert legend.isVisible() == (len(legend.items) >= 2), key
        if legend.isVisible():
            shown += 1
            assert legend_clear_of_data(plot.getPlotItem(), legend), key
            assert legend.width() <= plot.getPlotItem().width(), key
    assert shown >= 4
    view = window.data_view
    assert view.mode == "surface"
    assert view.legend.names() == ["train points", "test points"]
    assert legend_clear_of_data(view.getPlotItem(), view.legend.legend)


def test_unreported_and_zero_counts_are_told_apart_in_the_legend(qtbot):
    plot = shown_plot(qtbot, "work", width=700)
    cols = columns_with(n_grad=np.arange(1.0, 201.0), jac_evals=np.zeros(200))
    plot.refresh(cols, "t")
    assert plot.legend_names() == ["gradient evals", "Jacobian evals (0 so far)"]
    assert plot.legend.footnote_text == ("not reported by this method: LU factorisations, "
                                         "rejected steps, Newton failures")
    foot = plot.legend.footnote.sceneBoundingRect()
    assert legend_clear_of_data(plot.getPlotItem(), plot.legend.footnote)
    assert foot.top() >= plot.legend.legend.sceneBoundingRect().bottom() - 1
    cols.n = 0  # a new run: nothing known yet, every curve named in the legend
    plot.refresh(cols, "t")
    assert len(plot.legend_names()) == 5 and not plot.legend.footnote_text


def test_hv_products_are_named_only_for_a_method_that_computes_them(qtbot):
    """A matrix-free method's Jacobian work is Hessian-vector products: drawn and named in
    the work plot; a method that never computes one gets no "Hv products (0 so far)"."""
    plot = shown_plot(qtbot, "work", width=700)
    cols = columns_with(n_grad=np.arange(1.0, 201.0), n_hvp=np.zeros(200),
                        jac_evals=np.zeros(200))
    plot.refresh(cols, "t")
    assert plot.legend_names() == ["gradient evals", "Jacobian evals (0 so far)"]
    cols._data["n_hvp"][:200] = 3.0 * np.arange(200)
    plot.refresh(cols, "t")
    assert plot.legend_names() == ["gradient evals", "Hv products",
                                   "Jacobian evals (0 so far)"]
    item = next(item for curve, item in plot.curves if curve.field == "n_hvp")
    x, y = item.getData()
    assert len(x) == 199 and 10 ** y[-1] == pytest.approx(597.0)  # no 0 on a log axis


def test_a_sparse_curve_s_x_axis_follows_the_run(qtbot):
    """λmax, probed a few times in a long run of a big network: its x axis still grows with
    the run (it used to stop where the last probe was, beside plots reaching 30 times
    further)."""
    plot = shown_plot(qtbot, "lambda")
    lam = np.full(200, np.nan)
    lam[[0, 4]] = [0.5, 0.4]
    cols = columns_with(n=5, lambda_max=lam[:5])
    plot.refresh(cols, "t")
    qtbot.wait(10)  # painted: the range is settled
    assert plot.getViewBox().viewRange()[0][1] < 6
    cols = columns_with(n=150, lambda_max=lam[:150])
    plot.refresh(cols, "t")  # the same two points, a longer run
    qtbot.wait(10)
    assert plot.getViewBox().viewRange()[0][1] >= 149


def test_all_plots_share_one_x_range_from_zero(qtbot, window):
    from test_run_window import run_to_end

    run_to_end(qtbot, window, SHORT_BDF)
    qtbot.wait(100)
    ranges = {key: tuple(np.round(plot.getPlotItem().getViewBox().viewRange()[0], 6))
              for key, plot in window.plots.plots.items()}
    assert len(set(ranges.values())) == 1, ranges
    low, high = next(iter(ranges.values()))
    assert low < 0 <= 0.05 * (high - low) + low and high >= window.plots.columns["t"][-1]


def test_curves_downsample_clip_and_skip_the_finite_check(window):
    for key, plot in window.plots.plots.items():
        for _, item in plot.curves:
            assert item.opts["autoDownsample"] and item.opts["downsampleMethod"] == "peak", key
            assert item.opts["clipToView"] and item.opts["skipFiniteCheck"], key


def test_confusion_matrix_class_names_do_not_run_into_each_other(window):
    window.set_experiment(Experiment().with_changes(dataset={"kind": "iris"},
                                                    network={"loss": "softmax_ce"}))
    assert window.data_view.mode == "confusion"
    bottom = window.data_view.getPlotItem().getAxis("bottom")._tickLevels[0]
    left = window.data_view.getPlotItem().getAxis("left")._tickLevels[0]
    assert [name for _, name in bottom] == ["setosa", "versico.", "virgini."]
    assert [name for _, name in left] == ["setosa", "versicolor", "virginica"]


@pytest.mark.parametrize("train", [np.ones(200), np.linspace(0.4, 1.0, 200), np.r_[1.0, 1.0, 1.0],
                                   np.linspace(0.0, 0.02, 200)])
def test_the_accuracy_axis_stays_within_0_and_100_percent(qtbot, train):
    """Accuracy is a share: the y axis never runs past 100 % (nor below 0), plus its few
    per cent of padding, however the data sit (at 100 % throughout it went up to 120 %), and
    every point stays in view; RMS errors in the same plot are not held to it."""
    plot = shown_plot(qtbot, "metric")
    plot.refresh(columns_with(len(train), accuracy_train=train, accuracy_test=train * 0.95),
                 "t")
    qtbot.wait(20)
    low, high = plot.view.viewRange()[1]
    assert -4.0 - 1e-9 <= low and high <= 104.0 + 1e-9, (low, high)
    assert low <= 95 * train.min() and high >= 100 * train.max()  # the curves whole
    plot.view.scaleBy(y=4.0)  # zoomed out: held at the limits still
    low, high = plot.view.viewRange()[1]
    assert -4.0 - 1e-9 <= low and high <= 104.0 + 1e-9, (low, high)
    plot.show_metric(False)
    plot.refresh(columns_with(200, rms_train=np.linspace(300.0, 200.0, 200)), "t")
    qtbot.wait(20)
    assert plot.view.viewRange()[1][1] >= 300.0


def test_a_redraw_budget_draws_the_runs_in_turns_and_then_all_of_them(qtbot):
    """With its budget spent (here: none at all) a tick hands new data to one run's curves at
    a time, the next tick going on with the next run, until every run is drawn."""
    from odeprop.gui.comparison.plots import ComparisonPlots

    panel = ComparisonPlots()
    qtbot.addWidget(panel)
    panel.set_runs([("a", "#1f77b4"), ("b", "#ff7f0e"), ("c", "#2ca02c")])
    sizes = (50, 60, 70)
    panel.columns = [columns_with(n + 5, loss_train=np.linspace(1, 0.1, n + 5)) for n in sizes]
    for cols, n in zip(panel.columns, sizes, strict=True):
        cols.n = n
    panel.set_x_mode("t")  # redraws everything at once, as x-axis switches do
    for cols in panel.columns:  # then 5 new snapshots for every run
        cols.n += 5
    panel._mark_stale()
    loss = panel.plots["loss"]

    def drawn():
        return [len(item.getData()[0]) for item in loss.run_curves()]

    panel._stale = {"loss": None}  # the loss plot alone, to follow its turns
    turns = []
    while panel.refresh_some(budget=0.0):
        turns.append(drawn())
    turns.append(drawn())
    assert turns == [[55, 60, 70], [55, 65, 70], [55, 65, 75]]


def test_a_one_step_spike_does_not_set_the_y_range_until_asked(qtbot):
    """h·λmax at about 1 with one step at 200 (edge-of-stability's early spike flattened every
    curve): the auto-range leaves the spike out; the right-click menu brings every point."""
    plot = shown_plot(qtbot, "hlam")
    values = 1.0 + 0.5 * np.sin(np.arange(300) / 20)
    values[5] = 200.0
    plot.refresh(columns_with(300, h_lambda_max=values), "t")
    qtbot.wait(50)
    low, high = plot.view.viewRange()[1]
    assert 1.5 < high < 5 and low <= 0.5
    plot.view.spikes_action.trigger()  # unticked: every point
    qtbot.wait(50)
    assert plot.view.viewRange()[1][1] >= 200


def test_a_falling_loss_keeps_its_start_and_end_in_the_y_range(qtbot):
    plot = shown_plot(qtbot, "loss")
    loss = np.geomspace(10.0, 1e-3, 400)
    loss[:4] = [40.0, 20.0, 15.0, 12.0]  # a fast start is no spike
    plot.refresh(columns_with(400, loss_train=loss), "t")
    qtbot.wait(50)
    low, high = plot.view.viewRange()[1]
    assert low <= -3 and high >= math.log10(40)


def test_log_x_draws_every_plot_from_its_first_positive_x(qtbot):
    """Log x on every plot of a panel: the point at x = 0 has no place and is left out (not a
    -inf that breaks the range); the axis is labelled in the lab's log style; the lens' time
    marker follows; back to linear, every point is back."""
    from odeprop.gui.common.marker import TimeMarker
    from odeprop.gui.common.plots import PlotPanel

    panel = PlotPanel()
    qtbot.addWidget(panel)
    panel.resize(900, 600)
    panel.show()
    qtbot.waitExposed(panel, timeout=30_000)
    panel.columns = columns_with(1000, loss_train=np.geomspace(1, 1e-2, 1000))
    marker = TimeMarker([p.getPlotItem() for p in panel.plots.values()])
    marker.show_at(type("Snapshot", (), {"t": 100.0})())
    panel.set_log_x(True)
    qtbot.wait(50)
    loss = panel.plots["loss"]
    x = loss.curves[0][1].xData
    assert len(x) == 999 and x.min() == 1.0  # t = 0 left out
    assert np.isfinite(loss.curves[0][1].getData()[0]).all()
    x0, x1 = loss.view.viewRange()[0]
    assert x0 <= 0 and 2.99 <= x1 <= 3.4  # 1 … 1000 (and a little room)
    assert loss.getPlotItem().getAxis("bottom").labelled_ticks() == ["10⁰", "10¹", "10²", "10³"]
    assert {line.value() for line in marker.lines} == {2.0}
    panel.set_log_x(False)
    qtbot.wait(50)
    assert len(loss.curves[0][1].xData) == 1000
    assert {line.value() for line in marker.lines} == {100.0}


@pytest.mark.parametrize("n", [3, 400])
def test_the_step_size_is_drawn_as_a_staircase_for_few_steps_and_many(qtbot, n):
    """h belongs to the step that ended at its snapshot: held from the step before, a stair
    both while stepping (few points: they were joined by slopes) and for a whole run."""
    from odeprop.gui.comparison.plots import ComparisonPlots

    h = np.geomspace(0.01, 1.0, n)
    plot = shown_plot(qtbot, "h")
    plot.refresh(columns_with(n, h=h), "t")
    panel = ComparisonPlots()
    qtbot.addWidget(panel)
    panel.set_runs([("a", "#1f77b4")])
    panel.columns = [columns_with(n, h=h, n_grad=np.arange(n) + 1.0)]
    panel.refresh()
    for curve in (plot.curves[0][1], panel.plots["h"].run_curves()[0]):
        path = curve.curve.getPath()  # the line as drawn
        x, y = (np.array([getattr(path.elementAt(i), c) for i in range(path.elementCount())])
                for c in "xy")
        flat, upright = np.diff(y) == 0, np.diff(x) == 0
        assert (flat | upright).all() and upright[1:].any()


def _colour_pixels(plot, colour: str) -> int:
    """Pixels of ``colour`` inside the plot's data area (not its legend)."""
    from PySide6.QtGui import QColor

    rect = plot.mapFromScene(plot.view.sceneBoundingRect()).boundingRect()
    image = plot.grab(rect).toImage()
    want = QColor(colour)
    return sum(image.pixelColor(x, y) == want for x in range(image.width())
               for y in range(0, image.height(), 2))


def test_coinciding_work_curves_both_show(qtbot):
    """lsoda's Jacobian evaluations equal its LU factorisations step for step, lm's Jacobian
    evaluations its gradient evaluations: every curve still shows where they coincide."""
    plot = shown_plot(qtbot, "work", 500, 320)
    counts = np.arange(1.0, 201.0)
    plot.refresh(columns_with(200, n_grad=counts, jac_evals=counts, lu_decomps=counts,
                              rejected=np.zeros(200), newton_failures=np.zeros(200)), "t")
    qtbot.wait(50)
    assert all(_colour_pixels(plot, c) > 30 for c in ("#1f77b4", "#ff7f0e", "#2ca02c"))


def test_the_fitted_curve_of_sin_2pi_x_is_drawn_in_x_s_own_units(qtbot):
    """x is uniform in [0, 1]: points and curve lie there (they sat on a standardised −2…1.6
    axis under a title in the original units)."""
    from odeprop.core.run import Problem
    from odeprop.gui.lab.data_view import DataView

    problem = Problem.build(Experiment().with_changes(
        dataset={"kind": "sin"}, network={"loss": "mse"}))
    view = DataView()
    qtbot.addWidget(view)
    view.set_problem(problem)
    view.set_theta(problem.theta0)
    view.refresh(force=True)
    assert view.mode == "curve"
    x, _ = view.fit.getData()
    points = [item for item in view.getPlotItem().items if isinstance(item, pg.ScatterPlotItem)]
    xs = np.concatenate([item.getData()[0] for item in points] + [x])
    assert xs.min() >= 0 and xs.max() <= 1 and xs.max() - xs.min() > 0.9
    assert "standardised" not in view.getPlotItem().getAxis("bottom").labelText


def test_csv_column_names_are_shown_as_typed_in_the_data_view(qtbot, tmp_path):
    """Column names "<b>a</b>" and "<img src=x>" read as typed under the axes (pyqtgraph's
    labels read HTML: one was bold, the other an image)."""
    from odeprop.core.run import Problem
    from odeprop.gui.lab.data_view import DataView

    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{int(a > b)}" for a, b in rng.normal(size=(40, 2)))
    path = tmp_path / "tags.csv"
    path.write_text(f"<b>a</b>,<img src=x>,<i>t</i>\n{rows}\n")
    problem = Problem.build(Experiment().with_changes(dataset={
        "kind": "csv", "csv_path": str(path), "target_column": "<i>t</i>"}))
    view = DataView()
    qtbot.addWidget(view)
    view.set_problem(problem)
    assert view.mode == "surface"
    item = view.getPlotItem()
    assert item.getAxis("bottom").label.toPlainText().startswith("<b>a</b>")
    assert item.getAxis("left").label.toPlainText().startswith("<img src=x>")


def test_a_footnote_too_long_for_its_plot_wraps_inside_it(qtbot):
    plot = shown_plot(qtbot, "lambda", width=320)
    long_note = "dashed: each fixed-step run's edge of stability, where its step is 2/η"
    plot.fixed_note = long_note
    qtbot.wait(20)
    lines = plot.legend.footnote_text.split("<br>")
    assert len(lines) >= 2 and " ".join(lines) == long_note  # broken between words only
    foot = plot.legend.footnote.sceneBoundingRect()
    assert foot.width() <= plot.getPlotItem().sceneBoundingRect().width()  # was cut at both ends
    assert legend_clear_of_data(plot.getPlotItem(), plot.legend.footnote)
    plot.resize(1200, 300)
    qtbot.waitUntil(lambda: plot.legend.footnote_text == long_note,
                    timeout=30_000)  # one line when it fits
