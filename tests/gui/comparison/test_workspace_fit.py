"""The comparison workspace on a 1280×720 projector."""

import pytest
from PySide6.QtCore import QPoint, Qt

from odeprop.gui.comparison.window import ComparisonWindow

PROJECTOR = (1280, 720)


@pytest.fixture
def workspace(qtbot, settings):
    win = ComparisonWindow(settings=settings, persist=False, restore=False)
    qtbot.addWidget(win)
    win.show()
    return win


def test_the_workspace_fits_a_projector(qtbot, workspace):
    hint = workspace.minimumSizeHint()
    assert hint.width() <= PROJECTOR[0] and hint.height() <= PROJECTOR[1], hint
    workspace.resize(*PROJECTOR)
    qtbot.waitUntil(lambda: workspace.size().toTuple() == PROJECTOR, timeout=30_000)
    for plot in workspace.plots.plots.values():
        if plot.isVisible():
            assert plot.width() >= plot.minimumSizeHint().width(), plot.spec.key


def test_a_double_click_makes_a_comparison_plot_large_and_back(qtbot, workspace):
    zoom, plot = workspace.plots.zoom, workspace.plots.plots["loss"]
    others = [p for p in workspace.plots.plots.values() if p is not plot and p.isVisible()]
    small = plot.size()
    qtbot.mouseDClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(40, 40))
    assert zoom.large is plot
    assert not any(p.isVisible() for p in others)
    qtbot.waitUntil(lambda: plot.width() > 2 * small.width(), timeout=30_000)
    qtbot.mouseDClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(40, 40))
    assert zoom.large is None and all(p.isVisible() for p in others)
    qtbot.waitUntil(lambda: plot.size() == small, timeout=30_000)


def test_the_flow_plot_takes_a_row_s_share_and_no_row_when_hidden(qtbot, workspace):
    """With a reference flow the distance plot is a third row as tall as the others (it took
    three quarters of the height and left the six plots as slivers); without one, its empty row
    leaves no gap."""
    from odeprop.core.presets import load_comparison

    workspace.resize(1600, 900)
    plots = workspace.plots.plots
    workspace.set_comparison(load_comparison("race-sine"))  # has a reference flow
    qtbot.waitUntil(lambda: plots["flow"].isVisible(), timeout=30_000)
    qtbot.waitUntil(lambda: abs(plots["flow"].height() - plots["loss"].height()) <= 4,
                    timeout=30_000)
    with_flow = plots["loss"].height()
    workspace.set_comparison(load_comparison("edge-of-stability"))  # has none
    qtbot.waitUntil(lambda: not plots["flow"].isVisible(), timeout=30_000)
    qtbot.waitUntil(lambda: plots["loss"].height() > 1.3 * with_flow, timeout=30_000)
