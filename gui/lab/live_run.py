"""The lab window's one live run: Start, Pause, Resume, Step, Stop and Reset, and what the
worker sends back while it runs (batches, weights, spectra, the end).

:class:`LiveRun` is mixed into :class:`~odeprop.gui.lab.main_window.MainWindow`; it uses the
window's ``config_panel``, ``controls``, ``plots``, ``data_view``, ``network_view``, ``lens``,
``status_label`` and banner, and owns ``session`` and ``state``. A message from a session the
window has already let go of is ignored (``sender()`` is checked), so a reset never mixes two
runs' curves.
"""

from __future__ import annotations

from .problem_builds import file_error
from .run_session import RecordedRun, RunSession
from .run_status import ending, run_progress, starting_line, status_line


class LiveRun:
    """Start/pause/step/stop/reset of the window's run, and the worker's messages."""

    def start(self, start_paused: bool = False) -> bool:
        """Start a new run of the configured experiment; False (and a message) if blocked."""
        if self.state in ("running", "paused", "starting"):
            return False
        errors = self.config_panel.validate()
        if errors:
            self.controls.set_blocker(errors[0])
            self.show_banner(f"Cannot start: {errors[0]}", "error")
            return False
        future, built = self.build_problem(self.config_panel.experiment())
        if built is None:  # large data: the run starts when they are ready (Stop cancels)
            self._preview_future = None
            self._start_future = (future, start_paused)
            self._set_state("starting")
            self.status_label.setText("Reading the data and building the network for the "
                                      "run…")
            return True
        return self._start_built(built, start_paused)

    def _start_built(self, built, start_paused: bool) -> bool:
        """Start the run of a built experiment; False (and a message) if it has no problem."""
        exp, problem = built.experiment, built.problem
        if self.state == "starting":  # it waited for its build
            self._set_state("ended" if self.session is not None else "idle")
        if problem is None:
            self.show_banner(f"Cannot start: {built.error}", "error")
            self._build_banner = self.banner.text()  # hidden once the experiment builds
            self.status_label.setText(f"Not ready: {built.error}")
            if exp.dataset.kind == "csv" and not built.data_loaded:  # beside the file's field
                self.config_panel.show_csv_error(file_error(built.error))
            return False
        self.config_panel.show_network_size(problem.net.sizes, problem.net.n_params,
                                            problem.T_train.size)
        self.config_panel.show_data_classes(exp.dataset, problem.dataset)
        too_big = self.config_panel.size_error()
        if too_big:  # core would refuse it too; say so before any worker starts
            self.controls.set_blocker(too_big)
            self.show_banner(f"Cannot start: {too_big}", "error")
            return False
        self.problem = problem
        exp = self.lens.experiment_for_run(exp)  # whole Hessian spectra while the lens is open
        self._previewed = None  # the run draws its own weights
        self._discard_session()
        self._leave_replay()
        self.plots.clear()
        self.plots.set_task(self.problem.dataset.task)
        self.plots.set_experiment(exp)
        self.hide_banner()
        self._draw_problem(self.problem)  # (a view it cannot draw is said; the run goes on)
        try:
            self.session = RunSession(exp, start_paused=start_paused, parent=self,
                                      process_factory=self.process_factory,
                                      model_view=self.data_view.model_view(),
                                      pace=self.pace_box.seconds,
                                      n_params=self.problem.net.n_params)
        except OSError as exc:  # no process could be started (out of memory, no more pids)
            self.show_banner(f"Cannot start: no worker process ({exc})", "error")
            return False
        self._connect(self.session)
        if self.session.record_error:
            self.show_banner(f"Note: {self.session.record_error}.", "info")
        self.lens.start_run(exp, self.problem.net.n_params)
        self._set_state("paused" if start_paused else "running")
        self.status_label.setText(starting_line(exp, self.problem.net.n_params))
        return True

    def pause(self) -> None:
        if self.session and self.state == "running":
            self.session.pause()
            self._set_state("paused")

    def resume(self) -> None:
        if self.session and self.state == "paused":
            self.session.go()
            self._set_state("running")

    def step(self) -> None:
        """Exactly one solver step (starting a paused run first if there is none)."""
        if self.state in ("idle", "ended"):
            if not self.start(start_paused=True):
                return
        if self.session and self.state in ("paused", "running"):
            self.session.step()
            self._set_state("paused")

    def stop(self) -> None:
        if self._start_future is not None:  # still reading the data: no run began
            self._start_future[0].cancel()
            self._start_future = None
            self._set_state("ended" if self.session is not None else "idle")
            self.status_label.setText("Start cancelled while the data were being read.")
            return
        if self.session and self.state in ("running", "paused", "starting"):
            self.session.stop()
            self.status_label.setText("Stopping…")

    def reset(self) -> None:
        """Back to the start: no run, empty plots, the initial weights of the seed."""
        self._discard_session()
        self._leave_replay()
        self.plots.clear()
        self.lens.clear()
        self._set_state("idle")
        self.hide_banner()
        self.controls.set_progress(None, None, "ready")
        self.status_label.setText("Reset: the initial weights of the seed. Press Start (F5).")
        self._preview_problem()

    def _discard_session(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            for signal in (session.batch, session.theta, session.view_ready,
                           session.spectra_batch, session.ended, session.record_failed):
                signal.disconnect()
            session.shutdown(0.3)
            session.dispose()  # its record: the user is done with the run
            session.deleteLater()
            if isinstance(session, RecordedRun):  # not exported: its record is offered again
                self.check_recovery()

    def _connect(self, session) -> None:
        session.batch.connect(self._on_batch)
        session.theta.connect(self._on_theta)
        session.view_ready.connect(self._on_view)
        session.spectra_batch.connect(self._on_spectra)
        session.ended.connect(self._on_ended)
        session.record_failed.connect(self._on_record_failed)

    def _set_state(self, state: str) -> None:
        self.state = state
        self.controls.set_state(state)
        self.config_panel.setEnabled(state in ("idle", "ended"))
        self.pace_box.setEnabled(state in ("idle", "ended"))  # a pace is chosen before Start

    # -- messages from the worker ------------------------------------------------------------
    def _on_batch(self, snapshots: list) -> None:
        if self.sender() is not self.session:
            return
        self.plots.append(snapshots)
        self.lens.add_snapshots(snapshots)
        self.dirty = True

    def _on_spectra(self, spectra: list) -> None:
        if self.sender() is self.session:
            self.lens.add_spectra(spectra)

    def _on_theta(self, _step: int, theta) -> None:
        if self.sender() is not self.session:
            return
        self.network_view.set_theta(theta)
        if not getattr(self.session, "model_view", None):  # else computed off this thread
            self.data_view.set_theta(theta)

    def _on_view(self, _step: int, view) -> None:
        if self.sender() is self.session:
            self.data_view.set_view(view)

    def _on_ended(self, status: str, message: str) -> None:
        if self.sender() is not self.session:
            return
        self._set_state("ended")
        self.plots.refresh()
        self._update_status()
        self.data_view.refresh(force=True)
        self._enter_replay()
        session = self.session
        kind, text = ending(status, message, session.first, session.last,
                            session.experiment.stop)
        again = "; Start runs it again" if status == "died" else ""
        self.show_banner(f"{text}  ({session.count} snapshots kept; File ▸ Export run data "
                         f"saves them{again})", kind)
        self.run_ended.emit(status, message)

    def _on_record_failed(self, message: str) -> None:
        if self.sender() is self.session:
            self.show_banner(f"Note: {message}. Export the run before closing the window.",
                             "info")

    # -- the status line and the progress bar ------------------------------------------------
    def _update_status(self) -> None:
        snap = self.session.last if self.session else None
        if snap is None:
            return
        self.status_label.setText(status_line(snap, self.state))
        fraction, text = self._progress(snap)
        self.controls.set_progress(fraction, snap.wall, text)

    def _progress(self, snap) -> tuple[float, str]:
        """How far the run is toward t_end or its nearest target (the largest fraction)."""
        return run_progress(snap, self.session.first or snap, self.session.experiment.stop,
                            self.state)
