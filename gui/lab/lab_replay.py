"""The lab's pace box and replay bar (a row under the run controls): a finished or reopened run
plays back from its record.

:class:`LabReplay` is mixed into :class:`~odeprop.gui.lab.main_window.MainWindow`. Every view
follows one moment: the time marker in every plot (the stiffness lens's marker: the lens and the
replay share it, each moving the other), the data view and the network view drawn from θ at that
moment (:class:`~odeprop.gui.classroom.replay.RunReplay`). At 100 % the views show the run's
final weights, exactly what the live run showed last.
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QWidget

from ..classroom.pace import PaceBox
from ..classroom.replay import RunReplay
from ..common.timeline import ReplayTimeline


class LabReplay:
    """Pace (before a run) and replay (after it) for the lab window."""

    def _build_replay(self) -> None:
        """A row under the run controls: the pace box, then the replay bar (usable once a run
        has ended). A row of its own: the controls' row keeps its width."""
        self.pace_box = PaceBox()
        self.replay: RunReplay | None = None
        self._replay_index: int | None = None
        self._lens_driven = False
        self._lens_set_moment = False  # the moment shown came from the lens's slider
        self.timeline = ReplayTimeline(what="the run")
        self.timeline.moved.connect(self._replay_moved)
        self.timeline.setEnabled(False)
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(4, 0, 0, 0)
        line.addWidget(self.pace_box)
        line.addSpacing(12)
        line.addWidget(self.timeline, 1)
        layout = self.controls.parentWidget().layout()
        layout.insertWidget(layout.indexOf(self.controls) + 1, row)
        self.lens.moment_selected.connect(self._lens_moment)

    def _enter_replay(self) -> None:
        """The run has ended (or was reopened): read its record for replay, at its end."""
        session = self.session
        self.replay, self._replay_index = None, None
        if session is None or session.recorder is None or session.record_error:
            return
        try:
            self.replay = RunReplay(session.recorder.path, session.experiment.stop,
                                    session.count)
        except (OSError, ValueError):
            return  # no replay; the run's data stays shown
        self.timeline.set_fraction(1.0, emit=False)
        self.timeline.set_caption("")
        self.timeline.setEnabled(True)

    def _leave_replay(self) -> None:
        self.timeline.play(False)
        self.timeline.setEnabled(False)
        self.timeline.set_caption("")
        self.replay, self._replay_index = None, None

    def replay_at(self, fraction: float) -> bool:
        """Show the moment ``fraction`` (0–1) along the ended run; False if there is none."""
        if self.replay is None:
            return False
        self.timeline.set_fraction(fraction)
        return True

    def set_pace(self, seconds: float | None) -> None:
        """A lesson step's pace, chosen as the user would in the pace box."""
        self.pace_box.set_seconds(seconds)

    def replay_to(self, fraction: float) -> None:
        """A lesson step's replay point: now, or once the ended run can be replayed."""
        if not self.replay_at(fraction):
            QTimer.singleShot(0, lambda: self.replay_at(fraction))

    def _replay_moved(self, fraction: float) -> None:
        """The slider moved: every view to the moment there (nothing to redraw while the
        slider stays within one moment: a short run has fewer moments than positions)."""
        if self.replay is None:
            return
        index = self.replay.index_at(fraction)
        if index != self._replay_index:
            self._show_moment(index, move_lens=True)
            self._lens_set_moment = False

    def _show_moment(self, index: int, move_lens: bool) -> None:
        """Every view at moment ``index`` of the replay."""
        replay = self.replay
        self._replay_index = index
        moment = replay.moment(index)
        if move_lens:
            self._lens_to(moment.step)
        self.time_marker.show_at(moment)
        self.timeline.set_caption(f"step {int(moment.step)}, t = {moment.t:.3g}")
        theta = replay.theta(index)
        if theta is not None and self.data_view.problem is not None:
            # drawn now where on screen; a hidden tab draws when the redraw timer next may
            self.data_view.set_theta(theta)
            if self.data_view.isVisible():
                self.data_view.refresh(force=True)
            self.network_view.set_theta(theta)
            self.network_view.refresh(force=self.network_view.isVisible())

    def _lens_to(self, step: float) -> None:
        """The lens at the last spectrum measured at or before ``step`` (it marks no moment of
        its own meanwhile: the replay's is shown)."""
        run = self.lens.run
        if run is None or not run.spectra or not self.lens.isVisible():
            return
        index = bisect.bisect_right([s.step for s in run.spectra], step) - 1
        self._lens_driven = True
        try:
            self.lens.select(max(index, 0))
        finally:
            self._lens_driven = False

    def _lens_moment(self, snap) -> None:
        """The lens's slider moved (or the lens closed): the marker, and the replay with it."""
        if self._lens_driven:
            return
        if snap is None:  # the lens closed: its mark goes, one the replay set itself stays
            if self._replay_index is not None and not self._lens_set_moment:
                self.time_marker.show_at(self.replay.moment(self._replay_index))
            else:
                self.time_marker.show_at(None)
            return
        if self.replay is None:
            self.time_marker.show_at(snap)
            return
        index = self.replay.index_of_step(snap.step)
        self.timeline.set_fraction(float(self.replay.fractions[index]), emit=False)
        self._show_moment(index, move_lens=False)
        self._lens_set_moment = True
