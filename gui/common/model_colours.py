"""Colours and cadence shared by the views of what the network has learnt (data and network
views): one colour per class, the binary probability map, how often the views are recomputed."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

CLASS_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
                "#7f7f7f", "#bcbd22", "#17becf")
#: The data view is recomputed at most this often (seconds): θ arrives about every 0.5 s.
REFRESH_SECONDS = 0.4


def binary_map() -> pg.ColorMap:
    """Blue (class 0) through white (undecided) to red (class 1)."""
    return pg.ColorMap([0.0, 0.5, 1.0], [(80, 130, 200), (250, 250, 250), (215, 90, 90)])


def class_map(n: int) -> pg.ColorMap:
    """Light tints of :data:`CLASS_COLORS` for the regions of ``n`` classes."""
    colors = [pg.mkColor(CLASS_COLORS[i % len(CLASS_COLORS)]) for i in range(n)]
    light = [pg.mkColor(int(c.red() * 0.4 + 153), int(c.green() * 0.4 + 153),
                        int(c.blue() * 0.4 + 153)) for c in colors]
    return pg.ColorMap(np.linspace(0, 1, max(n, 2)), light if n > 1 else light * 2)
