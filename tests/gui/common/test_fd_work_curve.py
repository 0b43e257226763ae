"""The work plot splits off the gradient calls a finite-difference Jacobian costs."""

import numpy as np
import pytest

from odeprop.core.presets import load_preset
from odeprop.core.run import Run
from odeprop.gui.common.plots import SPECS, LivePlot, SnapshotColumns


def _work_plot(qtbot) -> LivePlot:
    plot = LivePlot(next(s for s in SPECS if s.key == "work"))
    qtbot.addWidget(plot)
    plot.resize(700, 300)
    plot.show()
    qtbot.waitExposed(plot, timeout=30_000)
    return plot


def _run(solver: dict) -> list:
    experiment = load_preset("article-2019").with_changes(
        solver=solver, stop={"target_loss": 0.1}, probe={"stiffness_every_dt": None})
    snaps = []
    Run(experiment).run_to_end(snaps.append)
    return snaps


def test_the_finite_difference_jacobian_s_calls_get_their_own_curve(qtbot):
    plot = _work_plot(qtbot)
    snaps = _run({"method": "zvode-bdf", "jacobian": "fd"})
    columns = SnapshotColumns()
    columns.append(snaps)
    plot.refresh(columns, "step")
    assert "of which for FD Jacobians" in plot.legend_names()
    item = next(item for curve, item in plot.curves if curve.field == "n_grad_fd")
    _, y = item.getData()
    assert 10 ** y[-1] == pytest.approx(snaps[-1].n_grad_fd) and snaps[-1].n_grad_fd > 0
    assert np.all(np.diff(y) >= 0)


def test_a_run_with_the_exact_jacobian_names_no_such_curve(qtbot):
    plot = _work_plot(qtbot)
    columns = SnapshotColumns()
    columns.append(_run({"method": "zvode-bdf", "jacobian": "exact"}))
    plot.refresh(columns, "step")
    assert not any("FD" in name for name in plot.legend_names())


def test_the_comparison_work_plot_can_show_the_finite_difference_share(qtbot):
    from odeprop.gui.comparison.plots import ComparisonPlots

    plots = ComparisonPlots()
    qtbot.addWidget(plots)
    fd, exact = _run({"method": "zvode-bdf", "jacobian": "fd"}), _run({"method": "zvode-bdf",
                                                                       "jacobian": "exact"})
    plots.set_runs([("FD J", "#1f77b4"), ("exact J", "#ff7f0e")])
    plots.append(0, fd)
    plots.append(1, exact)
    plots.set_x_mode("n_grad")
    plots.set_work("n_grad_fd")
    work = plots.plots["work"]
    assert work.title == "Solver work: gradient evaluations for FD Jacobians"
    fd_curve, exact_curve = work.run_curves()
    _, y = fd_curve.getData()
    assert 10 ** y[-1] == pytest.approx(fd[-1].n_grad_fd)
    assert exact_curve.getData()[1] is None or len(exact_curve.getData()[1]) == 0  # all zero
