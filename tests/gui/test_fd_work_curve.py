"""The work plot splits off the gradient calls a finite-difference Jacobian costs."""

import numpy as np
import pytest

from odeprop.core.presets import load_preset
from odeprop.core.run import Run
from odeprop.gui.plots import SPECS, LivePlot, SnapshotColumns


def _work_plot(qtbot) -> LivePlot:
    plot = LivePlot(next(s for s in SPECS if s.key == "work"))
    qtbot.addWidget(plot)
    plot.resize(700, 300)
    plot.show()
    qtbot.waitExposed(plot)
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
