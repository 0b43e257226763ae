"""Any plot of a grid made large and back: a double-click, and the keys F, ] and [ (the lab's
grid here; the comparison workspace's in tests/gui/comparison/test_workspace_fit.py)."""

from PySide6.QtCore import QPoint, Qt


def press(qtbot, window, key):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=30_000)
    qtbot.keyClick(window.plots, key)


def cells_shown(window):
    return [c for c in window.plots.zoom.cells() if c.isVisible()]


def places(window):
    grid = window.plots.zoom.grid
    return [grid.getItemPosition(grid.indexOf(c)) for c in window.plots.zoom.cells()]


def test_a_double_click_makes_a_plot_fill_the_plot_area_and_back(qtbot, window):
    zoom, plot = window.plots.zoom, window.plots.plots["lambda"]
    area = window.plots.size()
    before = places(window)
    qtbot.mouseDClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(60, 60))
    assert zoom.large is plot and cells_shown(window) == [plot]
    qtbot.waitUntil(lambda: plot.size() == area, timeout=30_000)  # the whole plot area
    qtbot.mouseDClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(60, 60))
    assert zoom.large is None and cells_shown(window) == zoom.cells()
    assert places(window) == before  # every plot back in its row and column
    qtbot.waitUntil(lambda: plot.width() < area.width() / 2, timeout=30_000)


def test_the_decision_surface_too(qtbot, window):
    tabs = window.plots.zoom.cells()[0]
    assert window.data_view in tabs.findChildren(type(window.data_view))
    qtbot.mouseDClick(window.data_view.viewport(), Qt.MouseButton.LeftButton,
                      pos=QPoint(60, 60))
    assert window.plots.zoom.large is tabs and cells_shown(window) == [tabs]


def test_keys_make_the_plot_under_the_mouse_large_and_cycle(qtbot, window):
    zoom = window.plots.zoom
    cells = zoom.cells()
    press(qtbot, window, Qt.Key.Key_F)  # nothing chosen, no mouse over a plot: the first
    assert zoom.large is cells[0]
    press(qtbot, window, Qt.Key.Key_BracketRight)
    assert zoom.large is cells[1] and cells_shown(window) == [cells[1]]
    press(qtbot, window, Qt.Key.Key_BracketLeft)
    press(qtbot, window, Qt.Key.Key_BracketLeft)  # before the first: the last
    assert zoom.large is cells[-1]
    press(qtbot, window, Qt.Key.Key_F)  # the same key restores
    assert zoom.large is None and cells_shown(window) == cells
    view_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    assert window.plots.zoom.maximise_action in view_menu.actions()

