"""Guard against the PySide6 6.12 crash: the binding dropping references to None on setData.

On CPython 3.11 None is not immortal; 6.12.0 lost ~10 references per PlotDataItem.setData and a
live plot died with "deallocating None" within seconds (SOLVER-NOTES). Measure the drift.
"""

import sys

import numpy as np
import pyqtgraph as pg

from odeprop.gui.common.plots import SPECS, LivePlot, SnapshotColumns


def test_set_data_keeps_references_to_none(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    item = plot.plot([], [], pen="b")
    x = np.arange(200.0)
    y = np.sin(x)
    for _ in range(20):  # warm up caches
        item.setData(x, y)
    before = sys.getrefcount(None)
    for i in range(500):
        item.setData(x, y + i)
        item.update()
    drift = sys.getrefcount(None) - before
    assert abs(drift) < 50, f"None refcount drifted by {drift} over 500 setData calls"


def test_live_plot_refresh_keeps_references_to_none(qtbot):
    plot = LivePlot(SPECS[0])
    qtbot.addWidget(plot)
    columns = SnapshotColumns(4)
    columns._data["t"][:4] = [0, 1, 2, 3]
    columns._data["step"][:4] = [0, 1, 2, 3]
    columns._data["loss_train"][:4] = [1, 0.5, 0.25, 0.1]
    columns.n = 4
    modes = ("t", "step")  # a refresh with unchanged data skips setData; a new x axis does not
    for i in range(10):
        plot.refresh(columns, modes[i % 2])
    before = sys.getrefcount(None)
    for i in range(200):
        plot.refresh(columns, modes[i % 2])
    assert abs(sys.getrefcount(None) - before) < 50


def test_growing_live_plot_never_loses_references_to_none(qtbot):
    """New points at every refresh, through the few-points-with-dots range and past it.

    (PySide6 6.11 + pyqtgraph 0.14 *gain* one reference per setData while arrays grow: a
    harmless count, no objects leak. The crash of 6.12 was references lost.)"""
    plot = LivePlot(SPECS[0])
    qtbot.addWidget(plot)
    columns = SnapshotColumns(512)
    columns._data["t"][:500] = np.arange(500.0)
    columns._data["loss_train"][:500] = np.geomspace(1, 1e-3, 500)
    columns._data["loss_test"][:500] = np.geomspace(1, 1e-3, 500)
    for n in range(1, 11):
        columns.n = n
        plot.refresh(columns, "t")
    before = sys.getrefcount(None)
    for n in range(11, 211):
        columns.n = n
        plot.refresh(columns, "t")
    assert sys.getrefcount(None) - before > -50
