"""The network view: the network drawn at the run's latest weights, beside the data view.

:class:`NetworkView` draws a :class:`~odeprop.core.network_picture.NetworkPicture` it is given
(``show_picture``): edge by edge (:class:`~odeprop.gui.classroom.network_diagram.NetworkDiagram`)
or, past :data:`~odeprop.core.network_picture.EDGE_LIMIT` weights, as a summary
(:class:`~odeprop.gui.classroom.network_summary.WeightSummary`). :class:`NetworkPanel` feeds it: the
lab hands it the problem and each θ the run sends, and it asks core for a picture at the data view's
cadence, only while it is on screen. :func:`model_tabs` puts it in a tab beside the data view.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QWidget

from odeprop.core.network_picture import NetworkPicture, network_picture
from odeprop.core.run import Problem

from ..common.model_colours import REFRESH_SECONDS
from .network_diagram import NetworkDiagram
from .network_summary import WeightSummary


class NetworkView(QStackedWidget):
    """The network as a diagram, or as a summary for a big network; draws what it is given."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.empty = QLabel("No network: the data are not loaded.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.diagram = NetworkDiagram()
        self.summary = WeightSummary()
        for page in (self.empty, self.diagram, self.summary):
            self.addWidget(page)
        self.picture: NetworkPicture | None = None

    def show_picture(self, picture: NetworkPicture | None) -> None:
        """Draw ``picture`` (None: no network to draw)."""
        self.picture = picture
        if picture is None:
            self.setCurrentWidget(self.empty)
            return
        page = self.summary if picture.summary else self.diagram
        page.show_picture(picture)
        self.setCurrentWidget(page)


class NetworkPanel(NetworkView):
    """A :class:`NetworkView` fed by the lab: ``set_problem`` (drawn at θ0), ``set_theta`` for
    each θ of the run, and ``refresh`` from the window's redraw timer."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.problem: Problem | None = None
        self._theta: np.ndarray | None = None
        self._pending = False
        self._last_draw = -np.inf
        self.updates = 0  # pictures drawn (tests)

    def set_problem(self, problem: Problem | None) -> None:
        """A new network and data (None: nothing loaded); drawn at its initial weights."""
        self.problem = problem
        if problem is None:
            self._theta, self._pending = None, False
            self.show_picture(None)
        else:
            self.set_theta(problem.theta0)

    def set_theta(self, theta) -> None:
        """New weights; drawn at the next :meth:`refresh` that is due."""
        self._theta = np.asarray(theta)
        self._pending = True

    def refresh(self, force: bool = False) -> bool:
        """Draw the newest weights if new ones came, the view is on screen (or ``force``) and
        the last drawing is older than the data view's cadence. Diverged weights (not finite)
        leave the last sensible picture. True when it drew."""
        if not self._pending or self.problem is None or not (force or self.isVisible()):
            return False
        now = time.perf_counter()
        if not force and now - self._last_draw < REFRESH_SECONDS:
            return False
        self._pending, self._last_draw = False, now
        if not np.all(np.isfinite(self._theta)):
            return False
        self.show_picture(network_picture(self.problem, self._theta))
        self.updates += 1
        return True


def model_tabs(data_view: QWidget, network: NetworkPanel) -> QTabWidget:
    """The data view and the network view as two tabs of one cell ("Data", "Network")."""
    tabs = QTabWidget()
    tabs.setDocumentMode(True)
    tabs.addTab(data_view, "Data")
    tabs.addTab(network, "Network")
    tabs.setTabToolTip(1, "The network at the run's latest weights: every weight an edge "
                          "(blue positive, vermillion negative, thicker = larger), every neuron "
                          "its activation over the plane. Hover for values.")
    return tabs
