"""The stiffness lens: a run's Hessian spectra inside its solver's region of absolute stability.

The lens keeps, per run, the spectra it is handed and the snapshots at their steps
(``add_spectra``, ``add_snapshots``; other snapshots are not kept, so a long run costs the lens
nothing), and a time slider over the spectra moves both views and reports the chosen
moment (``moment_selected``) so the window can mark it in its time plots. Runs measure whole
spectra only when asked (``probe.full_spectrum``): :meth:`StiffnessLens.experiment_for_run`
asks while the lens is open or its check box is on. Several runs (a comparison) each get an
entry in a run selector; a single run hides it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QSlider,
    QTabWidget,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from odeprop.core.config import Experiment
from odeprop.core.io import write_text_atomic
from odeprop.core.snapshot import Snapshot, Spectrum, spectra_to_csv
from odeprop.core.stiffness import LANCZOS_STEPS, SPECTRUM_ENDS, SPECTRUM_LIMIT

from ..common.exports import render_svg, write_atomically
from ..common.log_axis import compact
from .regions import Region, outside, region_for
from .views import SADDLE, SCALES, UNSTABLE, RegionView, SpectrumView, classify

HELP_FILE = ("help", "stiffness_lens.html")
REDRAW_MS = 40  # spectra arrive with the batches (~every 45 ms); one redraw per burst

TIPS = {
    "spectrum": "The eigenvalues λᵢ of the loss Hessian at the chosen step, smallest first. "
                "Symmetric-log axis: linear near 0, logarithmic beyond. Red diamonds: "
                "negative eigenvalues (directions in which the loss curves down: a saddle). "
                "Dashed: the largest λ the method's step h keeps stable (bound/h).",
    "region": "The complex plane z = h·λ_J with λ_J = −λᵢ(H), the flow's Jacobian being −H. "
              "Green: where the method is stable (|R(z)| ≤ 1). Each dot is one eigenvalue at "
              "z = −h·λᵢ; the ringed dot is −h·λmax, the first to leave the region. Red "
              "diamonds lie outside: those directions grow from step to step.",
    "slider": "Every spectrum measured in this run, in time order. Drag to look back: both "
              "plots follow, and an orange dashed line marks the moment in the other plots. "
              "At the right end the lens follows the newest spectrum.",
    "measure": "Measuring the whole spectrum costs a dense Hessian and its eigenvalues at "
               "every stiffness probe. Runs measure it while the lens is open; tick this to "
               "measure it with the lens closed as well. Takes effect at the next Start.",
    "scale": "How the stability plane is framed. Auto: region and points together, switching "
             "to a symmetric-log plane when the points lie far beyond the region. Zoom to the "
             "points: frame only the points (most sit near 0).",
    "export": "Save the run's spectra as CSV (one row per eigenvalue, with z = −h·λ), or a "
              "plot as PNG or SVG.",
    "facts": "λmax and λmin: the largest and smallest Hessian eigenvalues. Negative: how many "
             "lie clearly below 0 (below −10⁻⁶·max|λ|; round-off leaves ±10⁻¹² on zeros).",
    "plane_facts": "h: the step the solver just took. −h·λmax: where the sharpest direction "
                   "sits; an explicit method is stable while it stays right of the real-axis "
                   "bound.",
    "status": "Whether the current run measures whole Hessian spectra, and how often.",
    "help": "Stiffness, regions of absolute stability, A-stability of BDF and the edge of "
            "stability of gradient descent, in a page.",
    "run": "Which run of the comparison the lens shows.",
}


@dataclass
class LensRun:
    """What the lens holds of one run."""

    label: str
    experiment: Experiment
    n_params: int | None = None
    spectra: list[Spectrum] = field(default_factory=list)
    snapshots: dict[int, Snapshot] = field(default_factory=dict)  # at the spectra's steps
    last: Snapshot | None = None
    #: recent snapshots, waiting for their spectrum (sent just after their batch)
    pending: dict[int, Snapshot] = field(default_factory=dict)


#: Recent snapshots the lens holds while their spectra may still arrive (and as many older
#: probed ones): a bound, however long the run.
PENDING_SNAPSHOTS = 2048


def help_html() -> str:
    """The help page shipped in ``odeprop.resources/help``."""
    return resources.files("odeprop.resources").joinpath(*HELP_FILE).read_text(encoding="utf-8")


class StiffnessLens(QWidget):
    """Spectrum view, stability-region view, time slider, help, export."""

    moment_selected = Signal(object)  # the Snapshot at the chosen spectrum's step, or None
    message = Signal(str)  # a line for the window's status bar (exports)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.runs: dict[str, LensRun] = {}
        self.current: tuple[Spectrum, Snapshot | None, Region | None] | None = None
        self._follow = True
        self._shown_moment = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self.refresh)

        self.run_box = QComboBox()
        self.run_box.setToolTip(TIPS["run"])
        self.run_box.currentIndexChanged.connect(self._run_changed)
        self.run_box.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setToolTip(TIPS["status"])
        self.spectrum_view = SpectrumView()
        self.spectrum_view.setToolTip(TIPS["spectrum"])
        self.spectrum_facts = QLabel()
        self.spectrum_facts.setToolTip(TIPS["facts"])
        self.region_view = RegionView()
        self.region_view.setToolTip(TIPS["region"])
        self.region_facts = QLabel()
        self.region_facts.setWordWrap(True)
        self.region_facts.setToolTip(TIPS["plane_facts"])
        # texts that change with every spectrum wrap within the lens's width rather than widen
        # it: a wider dock relaid out the whole window (a 20–30 ms repaint at every spectrum)
        self.spectrum_facts.setWordWrap(True)
        for label in (self.spectrum_facts, self.region_facts):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.setContentsMargins(6, 0, 6, 0)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip(TIPS["slider"])
        self.slider.setRange(0, 0)
        self.slider.setPageStep(10)
        self.slider.valueChanged.connect(self._slider_moved)
        self.back = self._arrow(Qt.ArrowType.LeftArrow, -1, "Previous spectrum")
        self.forward = self._arrow(Qt.ArrowType.RightArrow, 1, "Next spectrum")
        self.moment = QLabel("no spectra")
        self.moment.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.moment.setToolTip(TIPS["slider"])

        self.measure_box = QCheckBox("Measure spectra with the lens closed too")
        self.measure_box.setToolTip(TIPS["measure"])
        self.measure_box.toggled.connect(self._update_status)
        self.scale_box = QComboBox()
        for key, text in SCALES.items():
            self.scale_box.addItem(text, key)
        self.scale_box.setToolTip(TIPS["scale"])
        self.scale_box.currentIndexChanged.connect(self.refresh)
        self.export_button = QToolButton()
        self.export_button.setText("Export ▾")
        # the style's own arrow was drawn over the word ("Expor⌄")
        self.export_button.setStyleSheet("QToolButton::menu-indicator { image: none; }")
        self.export_button.setToolTip(TIPS["export"])
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Spectra of the run (CSV)…", self._export_csv_dialog)
        menu.addAction("Spectrum plot (PNG, SVG)…", lambda: self._export_view_dialog("spectrum"))
        menu.addAction("Stability plot (PNG, SVG)…", lambda: self._export_view_dialog("region"))
        menu.addAction("Both plots (PNG, SVG)…", lambda: self._export_view_dialog("both"))
        self.export_button.setMenu(menu)

        self.help = QTextBrowser()
        self.help.setOpenExternalLinks(True)
        self.help.setHtml(help_html())
        self.help.setToolTip(TIPS["help"])
        self._build_layout()
        self._update_status()
        self.refresh()

    def _arrow(self, arrow, delta: int, tip: str) -> QToolButton:
        button = QToolButton()
        button.setArrowType(arrow)
        button.setToolTip(tip)
        button.setAutoRepeat(True)
        button.clicked.connect(lambda: self.slider.setValue(self.slider.value() + delta))
        return button

    def _build_layout(self) -> None:
        self.views = QWidget()  # both plots and their facts: the "both" export
        views = QVBoxLayout(self.views)
        views.setContentsMargins(0, 0, 0, 0)
        views.setSpacing(2)
        views.addWidget(self.spectrum_view, 3)
        views.addWidget(self.spectrum_facts)
        views.addWidget(self.region_view, 5)
        views.addWidget(self.region_facts)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.views, 1)
        time_row = QHBoxLayout()
        time_row.addWidget(self.back)
        time_row.addWidget(self.slider, 1)
        time_row.addWidget(self.forward)
        layout.addLayout(time_row)
        layout.addWidget(self.moment)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Scale"))
        controls.addWidget(self.scale_box)
        controls.addStretch(1)
        controls.addWidget(self.export_button)
        layout.addLayout(controls)
        layout.addWidget(self.measure_box)
        self.tabs = QTabWidget()
        self.tabs.addTab(page, "Lens")
        self.tabs.addTab(self.help, "Explanations")
        self.tabs.setTabToolTip(0, TIPS["region"])
        self.tabs.setTabToolTip(1, TIPS["help"])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        outer.addWidget(self.run_box)
        outer.addWidget(self.status)
        outer.addWidget(self.tabs, 1)

    # -- runs --------------------------------------------------------------------------------
    def wants_spectra(self) -> bool:
        """Whether the next run should measure whole spectra: the lens is open, or asked to."""
        return self.isVisible() or self.measure_box.isChecked()

    def experiment_for_run(self, experiment: Experiment) -> Experiment:
        """``experiment`` with ``probe.full_spectrum`` on when the lens wants spectra (never
        turned off: an experiment that asks for them keeps them)."""
        if experiment.probe.full_spectrum or not self.wants_spectra():
            return experiment
        return experiment.with_changes(probe={"full_spectrum": True})

    def start_run(self, experiment: Experiment, n_params: int | None = None,
                  key: str = "run", label: str | None = None) -> None:
        """A new run under ``key`` (replacing an earlier one of that key)."""
        self.runs[key] = LensRun(label or experiment.name, experiment, n_params)
        self._fill_run_box(key)
        self._follow = True
        self.refresh()

    def clear(self) -> None:
        """Forget every run (the window's Reset)."""
        self.runs.clear()
        self._fill_run_box(None)
        self.refresh()

    def add_snapshots(self, snapshots, key: str = "run") -> None:
        run = self.runs.get(key)
        if run is not None:
            for snap in snapshots:
                if snap.step in run.snapshots:  # the same step again (a stop's snapshot)
                    run.snapshots[snap.step] = snap
                else:  # its spectrum, if measured, follows its batch
                    run.pending[snap.step] = snap
            if len(run.pending) > PENDING_SNAPSHOTS:  # the newest, and older probed ones
                items = list(run.pending.items())
                older, newer = items[:-PENDING_SNAPSHOTS], items[-PENDING_SNAPSHOTS:]
                run.pending = {step: snap for step, snap in older[-PENDING_SNAPSHOTS:]
                               if snap.lambda_max is not None} | dict(newer)
            if snapshots:
                run.last = snapshots[-1]

    def add_spectra(self, spectra, key: str = "run") -> None:
        run = self.runs.get(key)
        if run is None:
            return
        run.spectra.extend(spectra)
        for spectrum in spectra:
            snap = run.pending.pop(spectrum.step, None)
            if snap is not None:
                run.snapshots[spectrum.step] = snap
        if key == self.run_box.currentData() and not self._timer.isActive():
            self._timer.start()

    @property
    def run(self) -> LensRun | None:
        return self.runs.get(self.run_box.currentData())

    def _fill_run_box(self, select: str | None) -> None:
        self.run_box.blockSignals(True)
        self.run_box.clear()
        for key, run in self.runs.items():
            self.run_box.addItem(run.label, key)
        if select is not None:
            self.run_box.setCurrentIndex(self.run_box.findData(select))
        self.run_box.blockSignals(False)
        self.run_box.setVisible(len(self.runs) > 1)

    def _run_changed(self) -> None:
        self._follow = True
        self.refresh()

    # -- the slider --------------------------------------------------------------------------
    def select(self, index: int) -> None:
        """Show spectrum ``index`` of the run (negative: from the end)."""
        run = self.run
        if run is None or not run.spectra:
            return
        n = len(run.spectra)
        index %= n
        self._follow = index == n - 1
        self.slider.blockSignals(True)  # the range may lag behind spectra not yet drawn
        self.slider.setRange(0, n - 1)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.refresh()

    def _slider_moved(self, value: int) -> None:
        self._follow = value >= self.slider.maximum()
        self.refresh()

    # -- drawing -----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Bring the slider, both views and the texts up to date with the data."""
        self._timer.stop()
        run = self.run
        n = len(run.spectra) if run else 0
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(n - 1, 0))
        if self._follow:
            self.slider.setValue(max(n - 1, 0))
        self.slider.blockSignals(False)
        for widget in (self.slider, self.back, self.forward):
            widget.setEnabled(n > 1)
        self._update_status()
        if n == 0:
            self.current = None
            why = self._why_no_spectra(run)
            self.spectrum_view.show_spectrum(None, note=why)
            region = region_for(run.experiment.solver.method,
                                momentum=run.experiment.solver.momentum,
                                max_order=run.experiment.solver.max_order) if run else None
            self.region_view.show_points(region, np.empty(0), np.empty(0, dtype=int),
                                         scale=self.scale_box.currentData())
            self.spectrum_facts.setText("")
            self.region_facts.setText("")
            self.moment.setText("no spectra yet" if run else "no run")
            self._emit_moment(None)
            return
        index = self.slider.value()
        spectrum = run.spectra[index]
        snap = run.snapshots.get(spectrum.step)
        solver = run.experiment.solver
        region = region_for(solver.method, snap, momentum=solver.momentum,
                            max_order=solver.max_order)
        self.current = (spectrum, snap, region)
        lam = np.asarray(spectrum.eigenvalues, dtype=float)
        z = spectrum.scaled()
        limit = None
        if region.bound is not None and spectrum.h:
            name = {"euler": "edge of stability 2/η",
                    "momentum": "edge 2(1+β)/η"}.get(region.family, "stability limit bound/h")
            value = region.bound / spectrum.h
            limit = (value, f"{name} = {compact(value, 3)}")
        out = outside(region, z) if z is not None and region.family else None
        kinds = classify(lam, out)
        self.spectrum_view.show_spectrum(spectrum, run.n_params, limit, out)
        if z is None:
            self.region_view.show_points(region, np.empty(0), np.empty(0, dtype=int),
                                         scale=self.scale_box.currentData(),
                                         note=self._no_h(spectrum))
        else:
            self.region_view.show_points(region, z, kinds, scale=self.scale_box.currentData())
        self._facts(spectrum, lam, z, kinds, region, run)
        live = " — newest" if index == n - 1 and self._is_live() else ""
        self.moment.setText(f"step {spectrum.step}, t = {compact(spectrum.t)}   "
                            f"(spectrum {index + 1} of {n}{live})")
        self._emit_moment(snap)

    def _is_live(self) -> bool:
        run = self.run
        return run is not None and run.last is not None and run.last.status == "running"

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """A closed lens marks no moment in the plots (its line stayed in every plot)."""
        super().hideEvent(event)
        self._emit_moment(None)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        self.refresh()  # the marker back at the spectrum shown

    def _emit_moment(self, snap) -> None:
        if snap is not self._shown_moment:
            self._shown_moment = snap
            self.moment_selected.emit(snap)

    def _facts(self, spectrum, lam, z, kinds, region: Region, run: LensRun) -> None:
        finite = lam[np.isfinite(lam)]
        neg = int(np.count_nonzero(kinds == SADDLE))
        total = run.n_params or len(lam)
        if spectrum.complete or neg < len(lam) // 2:
            neg_text = f"{neg:,} of {total:,}"
        else:
            neg_text = f"at least {neg:,} of {total:,}"
        neg_html = f'<span style="color:#6a3d9a"><b>{neg_text}</b></span>' if neg else neg_text
        lam_max = float(finite[-1]) if len(finite) else math.nan
        lam_min = float(finite[0]) if len(finite) else math.nan
        self.spectrum_facts.setText(
            f"λmax = <b>{compact(lam_max)}</b> &nbsp;·&nbsp; λmin = <b>{compact(lam_min)}</b>"
            f" &nbsp;·&nbsp; negative eigenvalues: {neg_html}")
        if z is None:
            self.region_facts.setText(self._no_h(spectrum))
            return
        parts = [f"h = {compact(spectrum.h)}",
                 f"−h·λmax = <b>{compact(-spectrum.h * lam_max, 4)}</b> (ringed)"]
        if region.bound is not None:
            parts.append(f"bound −{compact(region.bound, 3)}")
        unstable = int(np.count_nonzero(kinds == UNSTABLE))
        if region.family is None:
            parts.append("no region for this method")
        elif unstable:
            parts.append(f'<span style="color:#d62728"><b>{unstable} of {len(z)} outside the '
                         "region: unstable</b></span>")
        else:
            rest = len(z) - neg
            parts.append(f"all {rest} with λ ≥ 0 inside" if neg else f"all {rest} inside")
        self.region_facts.setText(" &nbsp;·&nbsp; ".join(parts))

    @staticmethod
    def _no_h(spectrum: Spectrum) -> str:
        if spectrum.step == 0:
            return "no step taken yet: the points need a step size h (from step 1 on)"
        return "the method does not report its step size h: the points cannot be placed"

    def _why_no_spectra(self, run: LensRun | None) -> str:
        if run is None:
            return "Start a run (F5) to see its Hessian spectra."
        probe = run.experiment.probe
        if not probe.full_spectrum:
            return ("This run does not measure whole spectra (it started with the lens closed)."
                    " Start it again (F5) with the lens open.")
        if probe.stiffness_every == 0 and probe.stiffness_every_dt is None:
            return "The stiffness probe is off (Experiment ▸ Measurements ▸ λmax every)."
        return "No spectrum measured yet: the first comes with the first stiffness probe."

    def _update_status(self, *_args) -> None:
        run = self.run
        if run is None:
            text = ("Runs started while the lens is open measure the whole Hessian spectrum at "
                    "every stiffness probe.")
        else:
            exp = run.experiment
            if not exp.probe.full_spectrum:
                text = "This run measures no spectra: it was started with the lens closed."
            else:
                text = (f"This run measures the Hessian spectrum {self._cadence(exp, run)}; "
                        f"{len(run.spectra)} so far.")
        self.status.setText(text)

    @staticmethod
    def _cadence(exp: Experiment, run: LensRun) -> str:
        probe = exp.probe
        every = []
        if probe.stiffness_every:
            every.append(f"every {probe.stiffness_every} steps")
        if probe.stiffness_every_dt is not None:
            every.append(f"every Δt = {compact(probe.stiffness_every_dt)}")
        when = " and ".join(every) or "never (the stiffness probe is off)"
        n = run.n_params
        if n is not None and n > SPECTRUM_LIMIT:
            what = (f"(both ends of its {n:,} eigenvalues: as many of the largest and smallest, "
                    f"up to {SPECTRUM_ENDS} each, as one Lanczos run of {LANCZOS_STEPS} "
                    "Hessian-vector products resolves)")
        elif n is not None:
            what = f"(all {n:,} eigenvalues)"
        else:
            what = ""
        budget = (f", fewer while probes would cost over {probe.stiffness_budget:.0%} of the "
                  "solver's time" if probe.stiffness_budget else "")
        return " ".join(p for p in (what, when) if p) + budget

    # -- export ------------------------------------------------------------------------------
    def spectra_csv(self) -> str:
        run = self.run
        return spectra_to_csv(run.spectra if run else [])

    def export_spectra_csv(self, path: str | Path) -> int:
        """The shown run's spectra as CSV; returns how many rows (eigenvalues) were written."""
        text = self.spectra_csv()
        try:
            write_text_atomic(Path(path), text)
        except OSError as exc:
            self.message.emit(f"Cannot export the spectra: {exc}")
            return 0
        rows = text.count("\n") - 1
        self.message.emit(f"Exported {rows} eigenvalues to {path}")
        return rows

    def export_view(self, which: str, path: str | Path) -> bool:
        """A plot ("spectrum", "region" or "both") as PNG or SVG, by the file's extension."""
        widget = {"spectrum": self.spectrum_view, "region": self.region_view,
                  "both": self.views}[which]
        path = str(path)

        def write(tmp: str) -> None:
            if path.lower().endswith(".svg"):
                render_svg(widget, tmp, f"stiffness lens, {which}")
            elif not widget.grab().save(tmp):
                raise OSError(f"could not write {path}")

        try:
            write_atomically(path, write)
        except Exception as exc:  # exporter failures are reported, never fatal
            self.message.emit(f"Cannot export the plot: {exc}")
            return False
        self.message.emit(f"Exported the plot to {path}")
        return True

    def _export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export spectra", "", "CSV files (*.csv)")
        if path:
            self.export_spectra_csv(path if path.lower().endswith(".csv") else path + ".csv")

    def _export_view_dialog(self, which: str) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export plot", "", "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            if not path.lower().endswith((".png", ".svg")):
                path += ".svg" if "svg" in chosen.lower() else ".png"
            self.export_view(which, path)
