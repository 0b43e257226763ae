"""The comparison workspace: one dataset, one network, one θ0, up to eight solvers side by side.

The dock on the left edits the runs (label, colour, solver settings, tolerance schedule) and what
they share (data, network, stopping rules, measurements, the summary's targets). Start builds a
core :class:`~odeprop.core.comparison.Comparison` and a :class:`ComparisonSession` (worker
processes, a receiving thread); every batch goes to the run's plot buffers and to the window's
copy of the results, and one ~33 ms timer redraws the plots and, a few times a second, the
summary table and the distance matrix. Closing ends the workers within a second and keeps what
arrived.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QGroupBox,
    QLabel,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from odeprop.core.comparison import Comparison, RunSpec, Target, is_comparison
from odeprop.core.comparison_runner import RunsRefused, refuse_oversized
from odeprop.core.config import Experiment, SolverConfig
from odeprop.core.io import write_text_atomic
from odeprop.core.presets import comparison_names, default_experiment, load_comparison
from odeprop.core.run import Problem
from odeprop.core.snapshot import snapshots_to_csv

from ..classroom.presenter import PresenterMode
from ..common.document_window import DocumentWindow
from ..common.exports import export_error
from ..common.log_axis import compact
from ..common.plots import X_MODES
from ..common.sharing import add_sharing
from .controls import ComparisonControls
from .editors import RunsEditor, SharedEditor
from .plots import ComparisonPlots
from .replay_cursor import ComparisonCursor
from .session import ComparisonSession
from .table import DistanceTable, LiveSummary, SummaryTable

PLOTS_PER_TICK = 2  # plots redrawn per timer tick (six plots of up to 16 curves each)
#: The most a redraw tick spends handing new data to curves (seconds); the runs' curves take
#: turns, the rest wait for the next tick. With 8 runs streaming on a busy machine, redrawing
#: everything that changed took up to 57 ms a tick (benchmarks/compare.py --gui-runs 8).
FRAME_BUDGET = 0.010
SUMMARY_SECONDS = 0.25  # the table, distances and run statuses change at most 4 times a second


def comparison_from_experiment(exp: Experiment) -> Comparison:
    """A comparison to start from: the experiment's solver against RK45 and gradient descent,
    on its data and network, with its target loss (if any) as the summary's target."""
    runs = [RunSpec(exp.solver.info.label, exp.solver)]
    for solver in (SolverConfig(method="RK45"), SolverConfig(method="gd", learning_rate=0.1)):
        if solver.method != exp.solver.method:
            label = "GD, lr 0.1" if solver.method == "gd" else solver.info.label
            runs.append(RunSpec(label, solver))
    targets = (Target("loss", exp.stop.target_loss),) if exp.stop.target_loss else ()
    return Comparison(name=f"{exp.name}: comparison", dataset=exp.dataset, network=exp.network,
                      stop=exp.stop, probe=exp.probe, targets=targets, runs=tuple(runs))


def default_comparison() -> Comparison:
    """What a new comparison window opens on: the default experiment's solver against RK45
    and gradient descent."""
    return comparison_from_experiment(default_experiment())


def metric_kind(comparison: Comparison, task: str | None = None) -> str:
    """What the second plot shows: "rms" for regression or RMS targets, else "accuracy"."""
    if task is None:
        task = comparison.dataset.task
        if task == "auto":
            task = "regression" if comparison.dataset.kind in ("sin", "encoder") else "auto"
    rms_targets = any(t.kind == "rms" for t in comparison.targets)
    return "rms" if task == "regression" or rms_targets else "accuracy"


def file_stem(text: str) -> str:
    """A run label as a safe file name part."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:60] or "run"


class ComparisonWindow(DocumentWindow):
    """The comparison workspace; ``settings`` defaults to the user's QSettings."""

    DOCUMENT = "comparison"
    SETTINGS_PREFIX = "comparison/"
    PANEL = "Comparison"

    comparison_ended = Signal()  # every run is done (after the window has shown it)

    def __init__(self, settings: QSettings | None = None, persist: bool = True,
                 restore: bool = True, icon=None, max_parallel: int | None = None, parent=None):
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.persist = persist
        self.max_parallel = max_parallel
        self.session: ComparisonSession | None = None
        self.error_dialog: QMessageBox | None = None  # the last error shown in a dialog
        self.live: LiveSummary | None = None
        self.current_path: Path | None = None
        self.state = "idle"
        #: the lab's Help ▸ Lessons and its opening of experiments and lessons, when a lab
        #: opened this window (set by :func:`~odeprop.gui.comparison.menus.open_comparison_window`)
        self.open_lessons = self.open_elsewhere = None
        self._summary_dirty = False
        self._summary_at = 0.0
        if icon is not None:
            self.setWindowIcon(icon)

        self.runs_editor = RunsEditor()
        self.shared = SharedEditor()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.runs_editor, "Runs")
        self.tabs.addTab(self.shared, "Shared settings")
        self.side_panel = dock = QDockWidget("Comparison", self)  # View ▸ Comparison panel
        dock.setObjectName("comparison_dock")
        dock.setWidget(self.tabs)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

        self.controls = ComparisonControls()
        self.make_banner()
        self.plots = ComparisonPlots()
        self.table = SummaryTable()
        self.distances = DistanceTable()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.plots)
        self.bottom = bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(_boxed("Summary (click a heading to sort)", self.table))
        bottom.addWidget(_boxed("Distance between final weights ‖θi − θj‖", self.distances))
        bottom.setStretchFactor(0, 4)
        bottom.setStretchFactor(1, 1)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.controls)
        self.cursor = ComparisonCursor(self.plots)  # the replay slider: every run at one x
        layout.addWidget(self.cursor.timeline)
        layout.addWidget(self.banner)
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.status_label = QLabel("Ready: press Start (F5).")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)  # run labels as typed
        self.status_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                        QSizePolicy.Policy.Preferred)
        self.statusBar().addWidget(self.status_label, 1)

        self.controls.start_requested.connect(self.start)
        self.controls.stop_requested.connect(self.stop)
        self.controls.x_mode_changed.connect(self.set_x_mode)
        self.controls.x_mode_changed.connect(self.cursor.set_x_mode)
        self.controls.work_changed.connect(self.plots.set_work)
        self.runs_editor.changed.connect(self._edited)
        self.runs_editor.notice.connect(self.status_label.setText)
        self.shared.changed.connect(self._edited)

        self._start_timers(self._preview)

        self._build_menus()
        self.resize(1600, 1000)
        self.resizeDocks([dock], [350], Qt.Orientation.Horizontal)
        self.splitter.setSizes([650, 300])
        # in ODE time t every solver follows the same flow; the cost is what differs
        self.set_x_mode("n_grad")
        self.set_comparison(default_comparison())
        if restore:
            self._restore_settings()

    # -- menus -------------------------------------------------------------------------------
    def set_type_scale(self, scale: float) -> None:
        """The banner's and the run key's type ``scale`` times (presenter mode)."""
        super().set_type_scale(scale)
        self.plots.key.set_type_scale(scale)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._menu_action(file_menu, "&New comparison", QKeySequence.StandardKey.New,
                          lambda: self._replace(default_comparison()))
        self._menu_action(file_menu, "&Open comparison…", QKeySequence.StandardKey.Open,
                          self._open_dialog)
        self._menu_action(file_menu, "&Save comparison", QKeySequence.StandardKey.Save,
                          self._save)
        self._menu_action(file_menu, "Save comparison &as…", QKeySequence.StandardKey.SaveAs,
                          self._save_dialog)
        file_menu.addSeparator()
        self._menu_action(file_menu, "Export summary (&CSV)…", "Ctrl+E",
                          lambda: self._export_summary_dialog("csv"))
        self._menu_action(file_menu, "Export summary (&Markdown)…", "Ctrl+Shift+E",
                          lambda: self._export_summary_dialog("md"))
        self._menu_action(file_menu, "Export each run's &data (CSV)…", None,
                          self._export_runs_dialog)
        file_menu.addSeparator()
        self._menu_action(file_menu, "&Close window", QKeySequence.StandardKey.Close, self.close)
        add_sharing(self, bar, "comparison", lambda: self.comparison().to_toml(),
                    self.open_shared)
        self.presets_menu = bar.addMenu("&Presets")
        for name in comparison_names():
            action = self._menu_action(self.presets_menu, name, None,
                                       lambda _=False, n=name: self.open_preset(n))
            action.setObjectName(f"preset_{name}")
        run_menu = bar.addMenu("&Run")
        run_menu.addAction(self.controls.start_action)
        run_menu.addAction(self.controls.stop_action)
        view_menu = self._add_view_menu(bar, X_MODES)
        self._add_layout_actions(view_menu)  # the comparison panel, one plot large
        self.presenter = PresenterMode(self, view_menu)  # F11
        help_menu = bar.addMenu("&Help")
        self._menu_action(help_menu, "&Lessons…", "F1", lambda: self._in_lab(
            self.open_lessons, "Lessons open in the lab: start odeprop, then Help ▸ Lessons."))

    def _in_lab(self, hook, otherwise: str, *args) -> None:
        """What the lab does (``hook``, set by the lab that opened this window), or a banner
        saying where to do it."""
        if hook is None:
            self.show_banner(otherwise, "info")
        else:
            hook(*args)

    def open_shared(self, data: dict, folder=None) -> None:
        """A comparison pasted or dropped opens here; an experiment or a lesson in the lab."""
        if "steps" in data or not is_comparison(data):
            self._in_lab(self.open_elsewhere, "That is an experiment or a lesson: open it in "
                         "the lab (Edit ▸ Open from the clipboard there).", data, folder)
            return
        try:
            self._replace(Comparison.from_dict(data))
        except ValueError as exc:
            self.show_banner(f"Cannot open it: {exc}", "error")

    # -- the comparison ----------------------------------------------------------------------
    def comparison(self) -> Comparison:
        """The comparison the editors describe; ValueError naming the first bad field."""
        return Comparison(**self.shared.shared(), runs=self.runs_editor.runs())

    def set_comparison(self, comparison: Comparison) -> None:
        """Show ``comparison`` in the editors, plots and table (any running one ends)."""
        self._discard_session()
        self.shared.set_comparison(comparison)
        colors = [comparison.color(i) for i in range(len(comparison.runs))]
        self.runs_editor.set_runs(comparison.runs, colors)
        self.tabs.setCurrentIndex(0)
        self.hide_banner()
        self._set_state("idle")
        self._preview()

    def _replace(self, comparison: Comparison, path: Path | None = None) -> None:
        self.set_comparison(comparison)
        self.current_path = path

    def open_preset(self, name: str) -> bool:
        try:
            comparison = load_comparison(name)
        except ValueError as exc:
            self.show_banner(f"Cannot open the preset: {exc}", "error")
            return False
        self._replace(comparison)
        self.show_banner(f"Opened the teaching comparison “{comparison.name}”: press Start (F5).",
                         "info")
        return True

    def _checked_comparison(self) -> Comparison | None:
        """The edited comparison, named in the title; None (and why, beside Start) if a value
        is wrong."""
        try:
            comparison = self.comparison()
        except ValueError as exc:
            self.controls.set_blocker(str(exc))
            return None
        self.controls.set_blocker("")
        self.setWindowTitle(f"odeprop comparison — {comparison.name}")
        return comparison

    def _edited(self) -> None:
        if self._checked_comparison() is not None and self.state == "idle":
            self._preview_timer.start()

    def _preview(self) -> None:
        """Before a start: the plots' legends and the table's rows for the edited runs."""
        if self.state != "idle":
            return
        comparison = self._checked_comparison()
        if comparison is None:
            return
        self._show_comparison(comparison, metric_kind(comparison))
        self.controls.counts.setText(f"{len(comparison.runs)} runs from one θ0 · press Start")

    def _show_comparison(self, comparison: Comparison, metric: str) -> None:
        self.live = LiveSummary(comparison)
        colors = [comparison.color(i) for i in range(len(comparison.runs))]
        self.plots.set_runs([(spec.label, c) for spec, c in zip(comparison.runs, colors,
                                                                 strict=True)])
        self.plots.set_metric(metric)
        self.plots.set_comparison(comparison)
        self.distances.set_runs([s.label for s in comparison.runs], colors)
        total = sum(self.bottom.sizes())
        if total > 0:  # the matrix whole, the summary table the rest
            matrix = min(self.distances.wanted_width() + 12, int(total * 0.5))
            self.bottom.setSizes([total - matrix, matrix])
        self._update_summary()

    # -- running -----------------------------------------------------------------------------
    def start(self) -> bool:
        """Start every run from the same θ0; False (and the reason shown) when blocked."""
        if self.state in ("running", "stopping"):
            return False
        try:
            comparison = self.comparison()
        except ValueError as exc:
            self.controls.set_blocker(str(exc))
            self.show_banner(f"Cannot start: {exc}", "error")
            return False
        # The data, network and θ0 first: a run the network is too big for is refused (as the
        # lab does, with the engine's own rule) before anything starts and before the last
        # comparison's results go.
        try:
            problem = Problem.build(comparison.experiment(0))
        except ValueError as exc:
            self.show_banner(f"Cannot start: the data cannot be loaded: {exc}", "error")
            return False
        try:
            refuse_oversized(comparison, problem)
        except RunsRefused as exc:
            self.refuse_runs(exc)
            return False
        self._discard_session()
        self.cursor.show(False)
        session = ComparisonSession(comparison, max_parallel=self.max_parallel, parent=self,
                                    problem=problem)
        self.session = session
        self._show_comparison(comparison,
                              metric_kind(comparison, session.runner.problem.dataset.task))
        session.events.connect(self._on_events)
        session.ended.connect(self._on_ended)
        self.hide_banner()
        self._set_state("running")
        self.status_label.setText(f"Starting {len(comparison.runs)} runs, "
                                  f"{session.max_parallel} at a time…")
        return True

    def refuse_runs(self, refusal: RunsRefused) -> None:
        """Say why Start refused: the first run's reason above the plots and beside Start,
        each refused run's own in the run list (until the next edit)."""
        self.controls.set_blocker(str(refusal))
        self.show_banner(f"Cannot start: {refusal}", "error")
        for index, message in refusal.refused:
            self.runs_editor.set_status(index, "refused", message.split(": ", 1)[1])

    def stop(self) -> None:
        if self.session is not None and self.state == "running":
            self.session.stop()
            self._set_state("stopping")
            self.status_label.setText("Stopping: the runs send what they have…")

    def _discard_session(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            for signal in (session.events, session.ended):
                try:
                    signal.disconnect()
                except (RuntimeError, TypeError):
                    pass
            session.shutdown(0.3)
            session.dispose()
            session.deleteLater()

    def _set_state(self, state: str) -> None:
        self.state = state
        self.controls.set_state(state)
        editable = state in ("idle", "ended")
        self.runs_editor.set_editable(editable)
        self.shared.setEnabled(editable)

    def _on_events(self, events, statuses) -> None:
        if self.sender() is not self.session or self.live is None:
            return
        self.live.apply(events, statuses)
        for event in events:
            if event.kind == "batch":
                self.plots.append(event.index, event.payload)
            elif event.kind == "done":  # its distance from the flow, when measured
                self.plots.set_flow(event.index, getattr(event.payload, "flow", None))
            elif event.kind == "record_failed":  # the run goes on, its rows kept in memory
                self.show_banner(f"Note: {event.payload}. Export the runs' data before closing "
                                 "the window.", "info")
        self._summary_dirty = True

    def _on_ended(self) -> None:
        if self.sender() is not self.session:
            return
        self._set_state("ended")
        self.plots.refresh()
        self.cursor.show(True)
        self._update_summary()
        results = self.live.results
        counts = {s: sum(r.status == s for r in results) for s in
                  ("finished", "failed", "stopped", "died")}
        text = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        failed = counts["failed"] + counts["died"]
        refused = self.session.record_errors
        disk = (f" Note: {next(iter(refused.values()))}" + (
            f" (and {len(refused) - 1} more runs)" if len(refused) > 1 else "")
            + "; export the runs' data before closing the window." if refused else "")
        self.show_banner(f"Done: {text}. File ▸ Export saves the summary (CSV, Markdown) and "
                         f"each run's data.{disk}", "error" if failed == len(results) else
                         "info" if failed or refused else "ok")
        self.status_label.setText(f"Done: {text}.")
        self.comparison_ended.emit()

    # -- drawing -----------------------------------------------------------------------------
    def _redraw(self) -> None:
        now = self._tick()
        if self._summary_dirty and now - self._summary_at >= SUMMARY_SECONDS:
            self._update_summary()  # this tick's work: the plots go on at the next
            return
        self.plots.refresh_some(PLOTS_PER_TICK, FRAME_BUDGET)

    def _update_summary(self) -> None:
        """The table, the distance matrix and the run list's statuses from what arrived."""
        if self.live is None:
            return
        self._summary_dirty = False
        self._summary_at = time.perf_counter()
        summary = self.live.summary()
        comparison = self.live.comparison
        colors = [comparison.color(i) for i in range(len(comparison.runs))]
        results = self.live.results
        self.table.set_summary(summary, colors, [r.message for r in results])
        self.distances.set_distances(summary.distances)
        started = self.session is not None
        if len(results) == len(self.runs_editor.specs):
            for i, result in enumerate(results):
                last = result.last
                status = result.status if started else ""
                detail = ""
                if status == "running":
                    detail = (f"step {last.step} · loss {compact(last.loss_train, 3)}"
                              if last is not None else "starting")
                elif status in ("finished", "stopped") and last is not None:
                    # short enough for the column; why it ended is in the tooltip and the table
                    detail = f"loss {compact(last.loss_train, 3)}"
                self.runs_editor.set_status(i, status, result.message, detail)
        if started:
            by = {s: sum(r.status == s for r in results) for s in
                  ("running", "queued", "finished", "failed", "stopped", "died")}
            parts = [f"{n} {s}" for s, n in by.items() if n]
            extra = len(results) * (self.live.comparison.samples_per_run - 1)
            if extra:  # the other seeds and timing repeats, after the first makings
                parts.append(f"repeats {sum(len(r.samples) for r in results)}/{extra} done")
            self.controls.counts.setText(
                f"{len(results)} runs from one θ0 · " + " · ".join(parts)
                + f" · {self.session.max_parallel} at a time")

    # -- files -------------------------------------------------------------------------------
    def open_comparison(self, path: str | Path) -> bool:
        """Load a comparison TOML; a bad file leaves the current one and says why."""
        try:
            comparison = Comparison.load(path)
        except ValueError as exc:
            from odeprop.core.cli import wrong_kind

            why = wrong_kind(path, "comparison")
            why = f"{why}; open it with File ▸ Open experiment…" if why else str(exc)
            self.show_banner(f"Cannot open the comparison: {why}", "error")
            return False
        self._replace(comparison, Path(path))
        self.show_banner(f"Opened {path}", "info")
        return True

    def save_comparison(self, path: str | Path) -> bool:
        try:
            self.comparison().save(path)
        except (ValueError, OSError) as exc:
            self.show_banner(f"Cannot save the comparison: {exc}", "error")
            return False
        self.current_path = Path(path)
        self.status_label.setText(f"Saved {path}")
        return True

    open_document = open_comparison  # what DocumentWindow's Open… and Save… dialogs call
    save_document = save_comparison

    def export_summary(self, path: str | Path) -> bool:
        """The summary over everything received, as Markdown (.md) or CSV (otherwise)."""
        if self.live is None or not any(r.count for r in self.live.results):
            self.show_banner("Nothing to export yet: start the comparison first.", "info")
            return False
        summary = self.live.summary()
        path = Path(path)
        if path.suffix.lower() in (".md", ".markdown"):
            text = f"# {self.live.comparison.name}\n\n{summary.to_markdown()}"
        else:
            text = summary.to_csv()
        try:
            write_text_atomic(path, text)
        except OSError as exc:
            self.show_error("Cannot export the summary", export_error(path, exc))
            return False
        self.status_label.setText(f"Exported the summary to {path}")
        return True

    def export_runs(self, folder: str | Path) -> list[Path]:
        """Every received snapshot of every run, one CSV per run (``01-label.csv``, …), copied
        from the runs' records on disk."""
        if self.live is None:
            return []
        folder = Path(folder)
        written = []
        try:
            for result in self.live.results:
                path = folder / f"{result.index + 1:02d}-{file_stem(result.label)}.csv"
                if self.session is not None:
                    self.session.export_run(result.index, path)
                else:  # nothing started: the header alone
                    write_text_atomic(path, snapshots_to_csv([]))
                written.append(path)
        except OSError as exc:
            done = f" ({len(written)} of {len(self.live.results)} runs were exported whole)" \
                if written else ""
            self.show_error("Cannot export the runs' data", export_error(path, exc) + done)
            return written
        if self.session is not None and self.state == "ended":
            self.session.mark_exported()
        self.status_label.setText(f"Exported {len(written)} runs' data to {folder}")
        return written

    def _export_summary_dialog(self, kind: str) -> None:
        pattern = "Markdown (*.md)" if kind == "md" else "CSV files (*.csv)"
        path, _ = QFileDialog.getSaveFileName(self, "Export summary", self._last_dir(), pattern)
        if path:
            self.export_summary(path if path.lower().endswith(f".{kind}") else f"{path}.{kind}")

    def _export_runs_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export each run's data to a folder",
                                                  self._last_dir())
        if folder:
            self.export_runs(folder)

    # -- settings, closing -------------------------------------------------------------------
    def _restore_settings(self) -> None:
        self.restore_window_state(X_MODES)

    def save_settings(self) -> None:
        self.remember_window_state()
        self.settings.sync()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """End every worker (within about a second), keep what arrived, then close."""
        self.redraw_timer.stop()
        if self.session is not None:
            self.session.shutdown(0.3)
            self.session.dispose()  # a clean close: the records are not offered again
            if self.state in ("running", "stopping"):
                self._set_state("ended")
        if self.persist:
            self.save_settings()
        super().closeEvent(event)


def _boxed(title: str, widget: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.addWidget(widget)
    return box
