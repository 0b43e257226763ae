"""Guard against the PySide6 6.12 crash: the binding dropping references to None on setData.

On CPython 3.11 None is not immortal; 6.12.0 lost ~10 references per PlotDataItem.setData and a
live plot died with "deallocating None" within seconds (SOLVER-NOTES). Measure the drift.
"""

import sys

import numpy as np
import pyqtgraph as pg

from odeprop.gui.plots import SPECS, LivePlot, SnapshotColumns


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
    columns._data["loss_train"][:4] = [1, 0.5, 0.25, 0.1]
    columns.n = 4
    for _ in range(10):
        plot.refresh(columns, "t")
    before = sys.getrefcount(None)
    for _ in range(200):
        plot.refresh(columns, "t")
    assert abs(sys.getrefcount(None) - before) < 50
