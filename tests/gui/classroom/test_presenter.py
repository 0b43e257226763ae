"""Presenter mode on the lab and the comparison workspace: F11 on, type and lines scaled (point
sizes measured), the editors hidden, the controls and status kept, and F11 off restores it
all exactly."""

import pyqtgraph as pg
import pytest
from conftest import SHORT_BDF
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QTableView

from odeprop.gui.classroom.presenter import CONTROLS_SCALE, SCALE
from odeprop.gui.common.presentation import OKABE_ITO
from odeprop.gui.comparison.window import ComparisonWindow


def look(window):
    """What presenter mode changes, as numbers."""
    plot = window.plots.plots["loss"]
    item = plot.getPlotItem()
    curves = [c for c in item.listDataItems() if isinstance(c, pg.PlotDataItem)]
    axis = item.getAxis("bottom")
    tick = axis.style["tickFont"]
    return {
        "status pt": window.status_label.font().pointSizeF(),
        "controls pt": window.controls.font().pointSizeF(),
        "title": item.titleLabel.opts.get("size"),
        "axis label": axis.labelStyle.get("font-size"),
        "tick pt": None if tick is None else tick.pointSizeF(),
        "pens": [(c.opts["pen"].widthF(), c.opts["pen"].color().name()) for c in curves],
        "panel": window.side_panel.isVisible(),
        "geometry": window.geometry(),
        "full screen": window.isFullScreen(),
        "columns": [[t.horizontalHeader().sectionSize(i)
                     for i in range(t.horizontalHeader().count())]
                    for t in window.findChildren(QTableView)],
    }


def points(size: str) -> float:
    return float(size.rstrip("pt"))


def press_f11(qtbot, window):
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=30_000)
    qtbot.keyClick(window.plots, Qt.Key.Key_F11)


@pytest.fixture(params=["lab", "comparison"])
def presentable(request, qtbot, settings):
    if request.param == "lab":
        win = request.getfixturevalue("window")
        win.set_experiment(SHORT_BDF)
        with qtbot.waitSignal(win.run_ended, timeout=30_000):
            assert win.start()
        return win
    win = ComparisonWindow(settings=settings, persist=False, restore=False)
    qtbot.addWidget(win)
    win.show()
    return win


def test_presenter_mode_scales_type_and_lines_and_comes_back_exactly(qtbot, presentable):
    win = presentable
    win.resize(1280, 720)
    qtbot.waitUntil(lambda: win.size().toTuple() == (1280, 720), timeout=30_000)
    win.show_banner("A message for the class.", "info")
    before = look(win)
    assert before["pens"] and not before["full screen"]
    press_f11(qtbot, win)
    assert win.presenter.active and win.presenter.action.isChecked()
    on = look(win)
    assert on["full screen"] and not on["panel"]
    assert win.controls.isVisible() and win.status_label.isVisible()
    assert on["status pt"] == pytest.approx(SCALE * before["status pt"])
    assert on["controls pt"] == pytest.approx(CONTROLS_SCALE * before["controls pt"])
    assert points(on["title"]) == pytest.approx(SCALE * points(before["title"]), abs=0.05)
    assert points(on["axis label"]) > points(before["axis label"] or "9pt")
    assert on["tick pt"] >= SCALE * 9 - 0.05
    for (width, colour), (new_width, new_colour) in zip(before["pens"], on["pens"],
                                                        strict=True):
        assert new_width == pytest.approx(SCALE * max(width, 1.0))
        assert new_colour == OKABE_ITO.get(colour, colour)
    assert f"{11 * SCALE:.1f}pt" in win.banner.styleSheet()
    for table in win.findChildren(QTableView):  # headings widened for the larger type
        header = table.horizontalHeader()
        for i in range(header.count()):
            if not header.isSectionHidden(i):
                assert header.sectionSize(i) >= header.sectionSizeHint(i), (table, i)
    press_f11(qtbot, win)
    assert not win.presenter.active and not win.presenter.action.isChecked()
    qtbot.waitUntil(lambda: not win.isFullScreen(), timeout=30_000)
    assert look(win) == before
    assert "font-size: 11.0pt" in win.banner.styleSheet()


def test_presenter_mode_keeps_a_hidden_panel_hidden(qtbot, presentable):
    presentable.panel_action.trigger()
    assert not presentable.side_panel.isVisible()
    presentable.presenter.set_active(True)
    presentable.presenter.set_active(False)
    assert not presentable.side_panel.isVisible()
    assert not presentable.panel_action.isChecked()


def test_page_down_steps_through_the_plots_while_presenting(qtbot, presentable):
    zoom = presentable.plots.zoom
    presentable.presenter.set_active(True)
    presentable.activateWindow()
    qtbot.waitUntil(presentable.isActiveWindow, timeout=30_000)
    qtbot.keyClick(presentable.plots, Qt.Key.Key_PageDown)
    qtbot.keyClick(presentable.plots, Qt.Key.Key_PageDown)
    assert zoom.large is zoom.cells()[1]
    presentable.presenter.set_active(False)
    assert [s.toString() for s in zoom.next_action.shortcuts()] == ["]"]


def test_a_window_closed_while_presenting_remembers_its_own_size(qtbot, presentable):
    presentable.resize(1280, 720)
    qtbot.waitUntil(lambda: presentable.size().toTuple() == (1280, 720), timeout=30_000)
    presentable.presenter.set_active(True)
    presentable.persist = True
    presentable.close()
    assert not presentable.presenter.active
    assert presentable.size().toTuple() == (1280, 720)


def present_at(qtbot, win, size):
    """Presenter mode in a window of exactly ``size`` (as `odeprop --presenter --size` does)."""
    win.presenter.set_active(True)
    win.showNormal()
    win.resize(*size)
    qtbot.waitUntil(lambda: win.size().toTuple() == size, timeout=30_000)
    qtbot.wait(50)  # the grid's layout settles


def data_rect(cell):
    """The on-screen size of a cell's data area (its plot's view box), in pixels."""
    plot = cell if hasattr(cell, "getPlotItem") else cell.currentWidget()  # the data tabs
    return plot.getPlotItem().getViewBox().sceneBoundingRect()


@pytest.fixture
def default_lab(qtbot, window):
    """The lab after a run of the default experiment (what `odeprop --presenter` shows)."""
    from odeprop.core.presets import default_experiment

    window.set_experiment(default_experiment())
    with qtbot.waitSignal(window.run_ended, timeout=60_000):
        assert window.start()
    return window


def test_presenting_at_1280x720_shows_fewer_plots_each_legible(qtbot, default_lab):
    win = default_lab
    present_at(qtbot, win, (1280, 720))
    zoom = win.plots.zoom
    shown = [c for c in zoom.cells() if c.isVisible()]
    assert win.plots.plots["work"] not in shown and win.plots.plots["order"] not in shown
    for cell in shown:  # three rows left the surface 25 px of data
        assert data_rect(cell).height() >= 100, cell
    view = win.data_view.getPlotItem().getViewBox()
    (x0, x1), (y0, y1) = view.viewRange()
    assert x1 - x0 < 25 and y1 - y0 < 10  # the moons span about ±2.5 (before: ±100)
    bar = win.data_view._bar.axis  # the colour bar's 0 … 1 labels apart, not run together
    assert bar.sceneBoundingRect().height() >= 6 * QFontMetrics(bar.style["tickFont"]).height()
    zoom.cycle(-1)  # the last plot, set aside, still comes large with [ (PageUp)
    assert zoom.large is win.plots.plots["order"] and zoom.large.isVisible()
    zoom.restore()
    assert not win.plots.plots["order"].isVisible()
    win.presenter.set_active(False)
    assert all(c.isVisible() for c in zoom.cells())


def test_presenting_at_1920x1080_shows_every_plot_legible(qtbot, default_lab):
    win = default_lab
    present_at(qtbot, win, (1920, 1080))
    cells = win.plots.zoom.cells()
    assert all(c.isVisible() for c in cells)
    for cell in cells:
        assert data_rect(cell).height() >= 100, cell


def test_the_run_key_grows_with_the_type_and_still_fits_1280x720(qtbot, settings):
    from odeprop.core.presets import load_comparison

    win = ComparisonWindow(settings=settings, persist=False, restore=False)
    qtbot.addWidget(win)
    win.set_comparison(load_comparison("article-and-critique"))  # eight runs, long labels
    win.show()
    key = win.plots.key
    before = key.buttons[0].font().pointSizeF(), key.buttons[0].iconSize().height()
    present_at(qtbot, win, (1280, 720))
    button = key.buttons[0]
    assert button.font().pointSizeF() == pytest.approx(SCALE * before[0])  # was: unchanged
    assert button.iconSize().height() == round(SCALE * before[1])
    assert win.minimumSizeHint().width() <= 1280  # fewer entries to a row (four: 1,380 px)
    assert all(b.geometry().right() <= key.width() for b in key.buttons)
    shown = [c for c in win.plots.zoom.cells() if c.isVisible()]
    assert [c.spec.key for c in shown] == ["loss", "work", "hlam"]  # one row, each large
    for cell in shown:
        assert data_rect(cell).height() >= 150, cell.spec.key
    win.presenter.set_active(False)
    assert key.buttons[0].font().pointSizeF() == pytest.approx(before[0])
    assert key.buttons[0].iconSize().height() == before[1]


def test_the_distance_table_keeps_room_for_its_values_while_presenting(qtbot, settings):
    from odeprop.core.presets import load_comparison
    from odeprop.gui.comparison.table import DistanceTable

    win = ComparisonWindow(settings=settings, persist=False, restore=False)
    qtbot.addWidget(win)
    win.set_comparison(load_comparison("article-and-critique"))
    win.show()
    table = win.findChild(DistanceTable)
    present_at(qtbot, win, (1280, 720))
    need = table.fontMetrics().horizontalAdvance("0.00629")  # in presenter type
    widths = [table.columnWidth(j) for j in range(table.columnCount())]
    assert len(widths) == 8 and min(widths) >= need  # was sized to "—": values came as "3…"


def test_a_lesson_presented_at_1280x720_keeps_beside_its_large_plot_what_fits(qtbot, window):
    window.start_lesson("01-euler", 0, run=False)  # h large; the data, loss, λmax, h·λmax
    plots, tabs = window.plots.plots, window.model_tabs
    present_at(qtbot, window, (1280, 720))
    shown = {c for c in window.plots.zoom.cells() if c.isVisible()}
    assert shown == {plots["h"], tabs, plots["loss"]}  # the data tab first: the step names it
    for cell in shown:  # four beside the large one left each ~10 px of data
        assert data_rect(cell).height() >= 100, cell
    assert plots["h"].height() > 1.8 * plots["loss"].height()  # the large one: two rows tall
    window.plots.zoom.cycle(-1)  # the last named, set aside, still comes large
    assert window.plots.zoom.large is plots["hlam"] and plots["hlam"].isVisible()
    window.plots.zoom.restore()
    window.presenter.set_active(False)
    qtbot.waitUntil(lambda: plots["hlam"].isVisible() and plots["lambda"].isVisible(),
                    timeout=30_000)
    window.leave_lesson()
    assert all(c.isVisible() for c in window.plots.zoom.cells())


def test_a_lesson_s_comparison_step_presents_as_the_lab_does(qtbot, window):
    present_at(qtbot, window, (1280, 720))
    window.start_lesson("02-stiffness", 2, run=False)  # a comparison, in the lesson's window
    host = window.lesson_driver.host
    assert host is window.lesson_driver.comparison_window
    assert host.presenter.active  # was: 9 pt type in a window of its own size
    qtbot.waitUntil(lambda: host.size().toTuple() == (1280, 720), timeout=30_000)
    assert host.plots.key.buttons[0].font().pointSizeF() == pytest.approx(
        SCALE * window.lesson_driver.panel.buttons["next"].font().pointSizeF() / 1.25, rel=0.05)
    window.leave_lesson()
    assert window.lesson_driver.comparison_window is None


@pytest.mark.parametrize("how", ["leave", "close"])
def test_the_lesson_panel_outlives_its_comparison_window(qtbot, window, how):
    """The panel sat in the lesson's comparison window when it closed, and went with it:
    presenter mode then touched its deleted labels (a RuntimeError, a crash at exit)."""
    present_at(qtbot, window, (1280, 720))
    window.start_lesson("02-stiffness", 2, run=False)
    driver = window.lesson_driver
    if how == "leave":
        window.leave_lesson()
    else:  # the teacher closes the comparison window: the lesson goes on in the lab
        driver.comparison_window.close()
        assert driver.panel.window() is window and driver.panel.isVisible()
    qtbot.wait(50)
    window.presenter.set_active(False)
    assert driver.panel.title.text() == "Side by side: the cost of stiffness"
