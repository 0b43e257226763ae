"""Presenter mode on the lab and the comparison workspace: F11 on, type and lines scaled (point
sizes measured), the editors hidden, the controls and status kept, and F11 off restores it
all exactly."""

import pyqtgraph as pg
import pytest
from conftest import SHORT_BDF
from PySide6.QtCore import Qt
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
    qtbot.waitUntil(window.isActiveWindow)
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
    qtbot.waitUntil(lambda: win.size().toTuple() == (1280, 720))
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
    qtbot.waitUntil(lambda: not win.isFullScreen())
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
    qtbot.waitUntil(presentable.isActiveWindow)
    qtbot.keyClick(presentable.plots, Qt.Key.Key_PageDown)
    qtbot.keyClick(presentable.plots, Qt.Key.Key_PageDown)
    assert zoom.large is zoom.cells()[1]
    presentable.presenter.set_active(False)
    assert [s.toString() for s in zoom.next_action.shortcuts()] == ["]"]


def test_a_window_closed_while_presenting_remembers_its_own_size(qtbot, presentable):
    presentable.resize(1280, 720)
    qtbot.waitUntil(lambda: presentable.size().toTuple() == (1280, 720))
    presentable.presenter.set_active(True)
    presentable.persist = True
    presentable.close()
    assert not presentable.presenter.active
    assert presentable.size().toTuple() == (1280, 720)
