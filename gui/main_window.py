"""The lab's main window: configuration on the left, run controls, live plots and the data view.

It owns at most one :class:`RunSession` (a worker process) at a time, appends each received batch
to the plot buffers and redraws from one ~33 ms timer when something changed. It never waits on
the worker: Stop sends a command, closing terminates the worker within about half a second.
Every run is recorded on disk as it streams (:mod:`odeprop.gui.run_session`); a window that
crashed leaves its records behind, and the next window offers to reopen them (a bar above the
plots, never a blocking dialog). A worker that dies leaves the window running with the run's data.
"""

from __future__ import annotations

import math
import platform
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from odeprop.core.config import Experiment
from odeprop.core.presets import default_experiment, load_preset, preset_names
from odeprop.core.recording import (
    RecordReader,
    SnapshotRecorder,
    forget,
    read_meta,
    unfinished_recordings,
)
from odeprop.core.run import Problem
from odeprop.core.worker import RunProcess

from .comparison_menus import add_comparison_actions, comparisons_menu
from .config_panel import ConfigPanel
from .data_view import DataView
from .document_window import DocumentWindow
from .exports import export_error, write_atomically
from .lens import StiffnessLens
from .lens_marker import TimeMarker
from .log_axis import compact
from .plots import X_MODES, PlotPanel
from .recovery_bar import RecoveryBar
from .run_controls import RunControls
from .run_session import RecordedRun, RunSession

REDRAW_MS = 33
PLOTS_PER_TICK = 4  # plots redrawn per timer tick (the rest wait for the next tick)
STATUS_SECONDS = 0.2  # the status line and progress bar change at most ~5 times a second
MAX_RECENT = 8
REOPEN_CHUNK = 20_000  # snapshots read from a record at a time when reopening it
STATUS_TITLES = {"finished": "Finished", "failed": "Run failed", "stopped": "Stopped",
                 "died": "Worker died"}


def _render_svg(widget: QWidget, path: str, title: str) -> None:
    """Draw ``widget`` as vector graphics (pyqtgraph's own SVG exporter trips on empty curves)."""
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(widget.size())
    generator.setViewBox(widget.rect())
    generator.setTitle(f"odeprop: {title}")
    painter = QPainter(generator)
    try:
        widget.render(painter)
    finally:
        painter.end()


class MainWindow(DocumentWindow):
    """The lab window; ``settings`` defaults to the user's QSettings (tests pass their own)."""

    DOCUMENT = "experiment"

    run_ended = Signal(str, str)  # status, message (after the window has shown it)
    #: makes a run's worker; benchmarks substitute one that streams synthetic snapshots
    process_factory = RunProcess

    def __init__(self, settings: QSettings | None = None, restore: bool = True,
                 persist: bool = True, icon=None, offer_recovery: bool = True):
        super().__init__()
        self.settings = settings if settings is not None else QSettings()
        self.persist = persist
        self.session: RunSession | RecordedRun | None = None
        self.error_dialog: QMessageBox | None = None  # the last error shown in a dialog
        self.problem: Problem | None = None
        self._built: tuple[tuple, Problem] | None = None  # the last problem built, by its key
        self._previewed: Problem | None = None  # the problem the data view shows at θ0
        self.current_path: Path | None = None
        self.dirty = False
        self._status_at = 0.0
        self.tick_times: list[float] | None = None  # benchmarks record redraw ticks here
        self.state = "idle"
        if icon is not None:
            self.setWindowIcon(icon)

        self.config_panel = ConfigPanel()
        dock = QDockWidget("Experiment", self)
        dock.setObjectName("experiment_dock")
        dock.setWidget(self.config_panel)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        self.controls = RunControls()
        self.data_view = DataView()
        self.plots = PlotPanel(self.data_view)
        self.make_banner()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.controls)
        self.recovery_bar = RecoveryBar()
        self.recovery_bar.reopen_requested.connect(self.reopen_recording)
        self.recovery_bar.discard_requested.connect(self.discard_recording)
        layout.addWidget(self.recovery_bar)
        layout.addWidget(self.banner)
        layout.addWidget(self.plots, 1)
        self.setCentralWidget(central)
        self.status_label = QLabel("Ready: press Start (F5).")
        # a new text never resizes anything: no relayout of the window while a run streams
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                        QSizePolicy.Policy.Preferred)
        self.statusBar().addWidget(self.status_label, 1)
        self.lens = StiffnessLens()  # opened from View ▸ Stiffness lens; runs then measure spectra
        self.lens_dock = QDockWidget("Stiffness lens", self)
        self.lens_dock.setObjectName("stiffness_lens_dock")
        self.lens_dock.setWidget(self.lens)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.lens_dock)
        self.lens_dock.hide()
        self.time_marker = TimeMarker([p.getPlotItem() for p in self.plots.plots.values()])
        self.lens.moment_selected.connect(self.time_marker.show_at)
        self.lens.message.connect(self.status_label.setText)

        self.controls.start_requested.connect(self.start)
        self.controls.pause_requested.connect(self.pause)
        self.controls.resume_requested.connect(self.resume)
        self.controls.step_requested.connect(self.step)
        self.controls.stop_requested.connect(self.stop)
        self.controls.reset_requested.connect(self.reset)
        self.controls.x_mode_changed.connect(self.set_x_mode)
        self.config_panel.changed.connect(self._config_changed)

        self.redraw_timer = QTimer(self)
        self.redraw_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.redraw_timer.setInterval(REDRAW_MS)
        self.redraw_timer.timeout.connect(self._redraw)
        self.redraw_timer.start()
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(250)
        self._preview_timer.timeout.connect(self._preview_problem)

        self._build_menus()
        self.resize(1400, 900)
        if restore:
            self._restore_settings()
        self._config_changed()
        self._preview_problem()
        if offer_recovery:
            self.check_recovery()

    # -- menus -------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._menu_action(file_menu, "&New (default experiment)", QKeySequence.StandardKey.New,
                          lambda: self.set_experiment(default_experiment()))
        self._menu_action(file_menu, "&Open experiment…", QKeySequence.StandardKey.Open,
                          self._open_dialog)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.presets_menu = file_menu.addMenu("Open p&reset")
        self.presets_menu.setToolTipsVisible(True)
        for name in preset_names():
            try:
                preset = load_preset(name)
            except ValueError:
                continue
            text = f"{name} — {preset.name}".replace("&", "&&")  # "&" marks a shortcut key
            action = self._menu_action(self.presets_menu, text, None,
                                       lambda _=False, n=name: self.open_preset(n))
            action.setObjectName(f"preset_{name}")
            action.setToolTip(" ".join(preset.description.split()))
        self._menu_action(file_menu, "&Save experiment", QKeySequence.StandardKey.Save,
                          self._save)
        self._menu_action(file_menu, "Save experiment &as…", QKeySequence.StandardKey.SaveAs,
                          self._save_dialog)
        file_menu.addSeparator()
        add_comparison_actions(self, file_menu)  # New comparison…, Open comparison…
        file_menu.addSeparator()
        self._menu_action(file_menu, "&Export run data (CSV)…", "Ctrl+E", self._export_csv_dialog)
        plot_menu = file_menu.addMenu("Export &plot (PNG, SVG)")
        for key, plot in [("data", self.data_view), *self.plots.plots.items()]:
            title = "Data view" if key == "data" else plot.title
            self._menu_action(plot_menu, f"{title}…", None,
                              lambda _=False, k=key: self._export_plot_dialog(k))
        file_menu.addSeparator()
        self._menu_action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        run_menu = bar.addMenu("&Run")
        for action in self.controls.actions_:
            run_menu.addAction(action)
        bar.addMenu(comparisons_menu(self))  # the teaching comparisons, each in its window
        view_menu = bar.addMenu("&View")
        for key, (label, _, _) in X_MODES.items():
            self._menu_action(view_menu, f"x axis: {label}", None,
                              lambda _=False, k=key: self.set_x_mode(k))
        view_menu.addSeparator()
        lens_action = self.lens_dock.toggleViewAction()
        lens_action.setShortcut(QKeySequence("Ctrl+L"))
        view_menu.addAction(lens_action)
        help_menu = bar.addMenu("&Help")
        self._menu_action(help_menu, "&About odeprop", None, self.show_about)
        self._update_recent_menu()

    # -- the experiment ----------------------------------------------------------------------
    def experiment(self) -> Experiment:
        return self.config_panel.experiment()

    def set_experiment(self, experiment: Experiment) -> None:
        if self.state in ("running", "paused", "starting"):
            self.stop()
        self.config_panel.set_experiment(experiment)
        self._preview_problem()

    def open_preset(self, name: str) -> None:
        """A shipped experiment in the form (not started); saving asks for a file name."""
        self.set_experiment(load_preset(name))
        self.current_path = None
        self.status_label.setText(f"Preset {name}: press Start (F5) to run it.")

    def build_problem(self, exp: Experiment) -> Problem:
        """Data, network and θ0 of ``exp``; the last one built is reused while its dataset and
        network settings stay the same (784-D data take a quarter of a second to draw, on
        this thread). A CSV file is read again each time: it may have changed on disk."""
        key = (exp.dataset, exp.network)
        if exp.dataset.kind != "csv" and self._built is not None and self._built[0] == key:
            return self._built[1]
        problem = Problem.build(exp)
        self._built = (key, problem)
        return problem

    def _config_changed(self) -> None:
        errors = self.config_panel.errors
        self._show_blocker()
        if errors:
            self.config_panel.show_network_size(None, None)  # no network to count
        else:
            exp = self.config_panel.experiment()
            self.setWindowTitle(f"odeprop — {exp.name}")
            if self.state in ("idle", "ended"):
                self._preview_timer.start()

    def _show_blocker(self) -> None:
        """What keeps Start from running, beside the button: a bad field, or a method that
        cannot run a network this big."""
        blockers = self.config_panel.errors or [self.config_panel.size_error()]
        self.controls.set_blocker(blockers[0] or "")

    def _preview_problem(self) -> None:
        """Show the data (and the initial weights' view) before a run starts."""
        if self.state not in ("idle", "ended") or self.config_panel.errors:
            return
        exp = self.config_panel.experiment()
        try:
            problem = self.build_problem(exp)
        except ValueError as exc:
            self.show_banner(f"The data cannot be loaded: {exc}", "error")
            self.data_view.set_problem(None)
            self._previewed = None
            self.config_panel.show_network_size(None, None)
            return
        self.config_panel.show_network_size(problem.net.sizes, problem.net.n_params)
        self._show_blocker()
        if self.state == "idle":
            if problem is not self._previewed:  # the same data and θ0 need no new drawing
                self.problem = self._previewed = problem
                self.data_view.set_problem(problem)
            self.plots.set_task(problem.dataset.task)
            self.plots.set_experiment(exp)

    # -- running -----------------------------------------------------------------------------
    def start(self, start_paused: bool = False) -> bool:
        """Start a new run of the configured experiment; False (and a message) if blocked."""
        if self.state in ("running", "paused", "starting"):
            return False
        errors = self.config_panel.validate()
        if errors:
            self.controls.set_blocker(errors[0])
            self.show_banner(f"Cannot start: {errors[0]}", "error")
            return False
        exp = self.config_panel.experiment()
        try:
            problem = self.build_problem(exp)
        except ValueError as exc:
            self.show_banner(f"Cannot start: the data cannot be loaded: {exc}", "error")
            if exp.dataset.kind == "csv":  # and beside the field that chose the data
                self.config_panel.show_message("dataset.csv_path", str(exc))
            return False
        self.config_panel.show_network_size(problem.net.sizes, problem.net.n_params)
        too_big = self.config_panel.size_error()
        if too_big:  # 77 GiB of Jacobian would take the machine down, not just the run
            self.controls.set_blocker(too_big)
            self.show_banner(f"Cannot start: {too_big}", "error")
            return False
        self.problem = problem
        exp = self.lens.experiment_for_run(exp)  # whole Hessian spectra while the lens is open
        self._previewed = None  # the run draws its own weights
        self._discard_session()
        self.plots.clear()
        self.plots.set_task(self.problem.dataset.task)
        self.plots.set_experiment(exp)
        self.data_view.set_problem(self.problem)
        self.hide_banner()
        try:
            self.session = RunSession(exp, start_paused=start_paused, parent=self,
                                      process_factory=self.process_factory,
                                      model_view=self.data_view.model_view())
        except OSError as exc:  # no process could be started (out of memory, no more pids)
            self.show_banner(f"Cannot start: no worker process ({exc})", "error")
            return False
        self._connect(self.session)
        if self.session.record_error:
            self.show_banner(f"Note: {self.session.record_error}.", "info")
        self.lens.start_run(exp, self.problem.net.n_params)
        self._set_state("paused" if start_paused else "running")
        spectra = ", measuring Hessian spectra for the lens" if exp.probe.full_spectrum else ""
        self.status_label.setText(f"Starting {exp.solver.info.label}{spectra}…")
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
        if self.session and self.state in ("running", "paused", "starting"):
            self.session.stop()
            self.status_label.setText("Stopping…")

    def reset(self) -> None:
        """Back to the start: no run, empty plots, the initial weights of the seed."""
        self._discard_session()
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
        if self.sender() is not self.session or getattr(self.session, "model_view", None):
            return  # the session computes the view itself (off this thread): _on_view
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
        kind = {"finished": "ok", "failed": "error", "died": "error"}.get(status, "info")
        title = STATUS_TITLES.get(status, status)
        n = self.session.count if self.session else 0
        again = "; Start runs it again" if status == "died" else ""
        self.show_banner(f"{title}: {message}  ({n} snapshots kept; File ▸ Export run data "
                         f"saves them{again})", kind)
        self.run_ended.emit(status, message)

    def _on_record_failed(self, message: str) -> None:
        if self.sender() is self.session:
            self.show_banner(f"Note: {message}. Export the run before closing the window.",
                             "info")

    # -- drawing -----------------------------------------------------------------------------
    def _redraw(self) -> None:
        now = time.perf_counter()
        if self.tick_times is not None:
            self.tick_times.append(now)
        if self.data_view.refresh():
            return  # the data view was this tick's drawing; the plots wait for the next one
        self.plots.refresh_some(PLOTS_PER_TICK)
        if self.dirty and now - self._status_at >= STATUS_SECONDS:
            self.dirty = False
            self._status_at = now
            self._update_status()

    def set_x_mode(self, mode: str) -> None:
        self.plots.set_x_mode(mode)
        self.controls.set_x_mode(mode)
        self.time_marker.set_x_mode(mode)

    def _update_status(self) -> None:
        snap = self.session.last if self.session else None
        if snap is None:
            return
        parts = [f"step {snap.step}", f"t = {compact(snap.t)}", f"h = {compact(snap.h, 3)}",
                 f"loss {compact(snap.loss_train)}"]
        if snap.accuracy_train is not None:
            parts.append(f"accuracy {snap.accuracy_train:.1%}")
        if snap.rms_train is not None:
            parts.append(f"RMS {compact(snap.rms_train, 3)}")
        parts.append(f"∇L evals {snap.n_grad}")
        if snap.n_hvp:  # a matrix-free method's Jacobian work
            parts.append(f"Hv {snap.n_hvp}")
        for name, value in (("rejected", snap.rejected), ("Jacobians", snap.jac_evals),
                            ("LU", snap.lu_decomps), ("Newton failures", snap.newton_failures),
                            ("order", snap.order)):
            if value is not None:
                parts.append(f"{name} {value}")
        if snap.method_in_use:
            parts.append(f"using {snap.method_in_use}")
        if self.state in ("running", "paused") and snap.status != "running":
            # the worker is writing its report: λmin and λmax at the end (a second or two
            # of Hessian-vector products for a big network)
            parts.append(f"{snap.status}; measuring the Hessian at the end…")
        else:
            parts.append(self.state)
        self.status_label.setText("  ·  ".join(parts))
        fraction, text = self._progress(snap)
        self.controls.set_progress(fraction, snap.wall, text)

    def _progress(self, snap) -> tuple[float, str]:
        """How far the run is toward t_end or its nearest target (the largest fraction)."""
        stop = self.session.experiment.stop
        first = self.session.first or snap
        candidates = [(snap.t / stop.t_end, f"t = {compact(snap.t, 3)} of {compact(stop.t_end)}")]

        def toward(now, start, target, name):
            if target is None or now is None or start is None or not start > target > 0:
                return
            if now > 0 and math.isfinite(now):
                candidates.append((math.log(start / now) / math.log(start / target),
                                   f"{name} {compact(now, 3)} → {compact(target)}"))

        toward(snap.loss_train, first.loss_train, stop.target_loss, "loss")
        toward(snap.rms_train, first.rms_train, stop.target_rms, "RMS")
        if stop.target_accuracy and snap.accuracy_train is not None:
            candidates.append((snap.accuracy_train / stop.target_accuracy,
                               f"accuracy → {stop.target_accuracy:.0%}"))
        if stop.max_steps:
            candidates.append((snap.step / stop.max_steps, f"step {snap.step} of "
                               f"{stop.max_steps}"))
        if stop.max_wall_time:
            candidates.append((snap.wall / stop.max_wall_time, "wall-time limit"))
        fraction, text = max(candidates, key=lambda c: c[0])
        return (1.0 if self.state == "ended" and snap.status == "finished" else fraction), text

    # -- files -------------------------------------------------------------------------------
    def open_experiment(self, path: str | Path) -> bool:
        """Load a TOML experiment; a bad file leaves the current one and says why."""
        try:
            exp = Experiment.load(path)
        except ValueError as exc:
            from odeprop.core.cli import wrong_kind

            why = wrong_kind(path, "experiment")
            why = f"{why}; open it with File ▸ Open comparison…" if why else str(exc)
            self.show_banner(f"Cannot open the experiment: {why}", "error")
            return False
        self.set_experiment(exp)
        self.current_path = Path(path)
        self._add_recent(str(path))
        self.show_banner(f"Opened {path}", "info")
        return True

    def save_experiment(self, path: str | Path) -> bool:
        try:
            self.experiment().save(path)
        except (ValueError, OSError) as exc:
            self.show_banner(f"Cannot save the experiment: {exc}", "error")
            return False
        self.current_path = Path(path)
        self._add_recent(str(path))
        self.status_label.setText(f"Saved {path}")
        return True

    open_document = open_experiment  # what DocumentWindow's Open… and Save… dialogs call
    save_document = save_experiment

    def export_csv(self, path: str | Path) -> int:
        """Every snapshot received so far as CSV; returns how many rows were written.

        Copied from the run's record through a temporary file renamed at the end: an
        unwritable folder or a full disk gives an error dialog and leaves no partial file."""
        if self.session is None:
            self.show_banner("Nothing to export yet: start a run first.", "info")
            return 0
        try:
            rows = self.session.export_csv(path)
        except OSError as exc:
            self.show_error("Cannot export the run data", export_error(path, exc))
            return 0
        self.status_label.setText(f"Exported {rows} snapshots to {path}")
        return rows

    # -- recovery after a crash ----------------------------------------------------------------
    def check_recovery(self) -> list:
        """Offer the runs a crashed window left unsaved (a bar above the plots)."""
        try:
            records = unfinished_recordings()
        except OSError:
            records = []
        self.recovery_bar.set_records(records)
        return records

    def discard_recording(self, path: str | Path) -> None:
        forget(Path(path))
        self.check_recovery()

    def reopen_recording(self, path: str | Path) -> bool:
        """Load a record left by a crash as a finished, view-only run (its experiment goes into
        the form): it can be exported, or started again. The window takes the record over (it
        is read once, not copied) and deletes it when the user is done with the run."""
        path = Path(path)
        if self.state in ("running", "paused", "starting"):
            self.show_banner("Stop the current run before reopening a recorded one.", "info")
            return False
        chunks = None
        try:
            meta = read_meta(path)
            exp = Experiment.from_toml(str(meta.get("experiment", "")))
            # a long record is read thinned to what the plots keep (every k-th row and the
            # last; the others are only checked): a million rows in seconds
            every = max(1, -(-_lines_in(path) // self.plots.columns.max_points))
            reader = RecordReader(path, REOPEN_CHUNK, every=every)
            chunks = iter(reader)
            chunk = next(chunks, [])
            recorder = SnapshotRecorder.adopt(path)  # this window owns the record now
        except (OSError, ValueError) as exc:
            if chunks is not None:
                chunks.close()
            self.show_banner(f"Cannot reopen {path.name}: {exc}", "error")
            return False
        self._discard_session()
        self.plots.clear()
        self.lens.clear()
        self.config_panel.set_experiment(exp)
        try:
            self.problem = self.build_problem(exp)
            self._previewed = None
            task = self.problem.dataset.task
            self.data_view.set_problem(self.problem)
        except ValueError:  # its data file is gone: the curves can still be shown
            self.problem = None
            self.data_view.set_problem(None)
            task = ("classification" if chunk and chunk[0].accuracy_train is not None
                    else "regression")
        self.plots.set_task(task)
        self.plots.set_experiment(exp)
        run = RecordedRun(exp, label=meta.get("label") or exp.name, parent=self,
                          recorder=recorder)
        self._connect(run)
        self.session = run
        try:
            while chunk:
                run.add(chunk)
                self.plots.append(chunk)
                chunk = next(chunks, [])
        except (OSError, ValueError):
            pass  # a damaged tail: what was read is shown
        finally:
            chunks.close()
        recorder.settle(reader.size, reader.rows)  # a torn last line is cut off
        run.count = reader.rows
        last = run.last
        status = meta.get("status") or "stopped"
        message = meta.get("message") or (
            "the window closed during the run" + (f", at step {last.step}" if last else ""))
        run.end(status, message)
        self.check_recovery()
        self._set_state("ended")
        self.plots.refresh()
        self._update_status()
        self.show_banner(f"Reopened “{meta.get('label') or exp.name}”: {run.count} snapshots "
                         f"({STATUS_TITLES.get(status, status).lower()}: {message}). View only: "
                         "File ▸ Export run data saves them; Start runs the experiment again.",
                         "info")
        return True

    def export_plot(self, key: str, path: str | Path) -> bool:
        """One plot as PNG or SVG (by the file's extension)."""
        widget = self.data_view if key == "data" else self.plots.plots[key]
        path = str(path)

        def write(tmp: str) -> None:
            if path.lower().endswith(".svg"):
                _render_svg(widget, tmp, widget.title if key != "data" else "data view")
            elif not widget.grab().save(tmp):
                raise OSError(f"could not write {path}")

        try:
            write_atomically(path, write)
        except OSError as exc:
            self.show_error("Cannot export the plot", export_error(path, exc))
            return False
        except Exception as exc:  # exporter failures are reported, never fatal
            self.show_banner(f"Cannot export the plot: {exc}", "error")
            return False
        self.status_label.setText(f"Exported the plot to {path}")
        return True

    def _export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export run data", self._last_dir(),
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def _export_plot_dialog(self, key: str) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export plot", self._last_dir(), "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            if not path.lower().endswith((".png", ".svg")):
                path += ".svg" if "svg" in chosen.lower() else ".png"
            self.export_plot(key, path)

    def _add_recent(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self._update_recent_menu()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for path in recent:
            self._menu_action(self.recent_menu, path, None,
                              lambda _=False, p=path: self.open_experiment(p))
        self.recent_menu.setEnabled(bool(recent))

    # -- about, settings, closing ------------------------------------------------------------
    def about_text(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        import numpy
        import pyqtgraph
        import PySide6
        import scipy
        from PySide6.QtCore import qVersion

        try:
            ours = version("odeprop")
        except PackageNotFoundError:
            ours = "development"
        return (f"<h3>odeprop {ours}</h3><p>Train a neural network by integrating its "
                "gradient-flow ODE dθ/dt = −∇L(θ) with real ODE solvers, and watch it.</p>"
                f"<p>Qt {qVersion()} (PySide6 {PySide6.__version__})<br>"
                f"pyqtgraph {pyqtgraph.__version__}<br>numpy {numpy.__version__}<br>"
                f"scipy {scipy.__version__}<br>Python {platform.python_version()}</p>")

    def show_about(self) -> None:
        QMessageBox.about(self, "About odeprop", self.about_text())

    def _restore_settings(self) -> None:
        text = self.settings.value("last_experiment")
        if text:
            try:
                self.config_panel.set_experiment(Experiment.from_toml(str(text)))
            except ValueError:
                pass  # an old or broken remembered experiment: start from the default
        self.restore_window_state(X_MODES)

    def save_settings(self) -> None:
        self.remember_window_state()
        if not self.config_panel.errors:
            self.settings.setValue("last_experiment", self.experiment().to_toml())
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """End the worker (at most about half a second), remember the window, then close."""
        self.redraw_timer.stop()
        if self.session is not None:
            self.session.shutdown(0.5)
            self.session.dispose()  # a clean close: the record is not offered again
        if self.persist:
            self.save_settings()
        super().closeEvent(event)


def _lines_in(path: Path) -> int:
    """Lines in a file, counted in blocks (a 150 MB record in a fraction of a second)."""
    with open(path, "rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
