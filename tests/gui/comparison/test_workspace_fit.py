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
    qtbot.waitUntil(lambda: workspace.size().toTuple() == PROJECTOR)
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
    qtbot.waitUntil(lambda: plot.width() > 2 * small.width())
    qtbot.mouseDClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(40, 40))
    assert zoom.large is None and all(p.isVisible() for p in others)
    qtbot.waitUntil(lambda: plot.size() == small)
