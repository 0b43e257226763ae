"""The measurements section: how often a run measures its test metrics and its stiffness."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QSpinBox

from odeprop.core.config import STIFFNESS_METHODS, ProbeConfig

from ..config_widgets import NumberEdit
from .section import ConfigSection, FieldReader

STIFFNESS_LABELS = {"power": "power iteration (fast)", "lanczos": "Lanczos (more accurate)"}


class ProbeSection(ConfigSection):
    """Edits a :class:`~odeprop.core.config.ProbeConfig`."""

    def __init__(self):
        super().__init__("Measurements", ProbeConfig())
        self.setToolTip("How often the run measures itself while it trains. Measuring costs "
                        "time, so long runs may measure less often.")
        self.metrics_every = QSpinBox()
        self.metrics_every.setRange(1, 100_000)
        self.metrics_every.setSuffix(" steps")
        self.add("probe.metrics_every", "Test metrics every", self.metrics_every, "metrics_every")
        self.stiffness_every = QSpinBox()
        self.stiffness_every.setRange(0, 100_000)
        self.stiffness_every.setSpecialValueText("off")
        self.stiffness_every.setSuffix(" steps")
        self.add("probe.stiffness_every", "λmax every", self.stiffness_every, "stiffness_every")
        self.stiffness_every_dt = NumberEdit("by steps only")
        self.add("probe.stiffness_every_dt", "λmax every Δt", self.stiffness_every_dt,
                 "stiffness_every_dt")
        self.stiffness_method = QComboBox()
        for name in STIFFNESS_METHODS:
            self.stiffness_method.addItem(STIFFNESS_LABELS.get(name, name), name)
        self.add("probe.stiffness_method", "λmax method", self.stiffness_method,
                 "stiffness_method")
        self.stiffness_budget = NumberEdit("no limit")
        self.add("probe.stiffness_budget", "λmax time budget", self.stiffness_budget,
                 "stiffness_budget")

    def fill(self, p: ProbeConfig) -> None:
        self.metrics_every.setValue(p.metrics_every)
        self.stiffness_every.setValue(p.stiffness_every)
        self.stiffness_every_dt.set_value(p.stiffness_every_dt)
        self.stiffness_method.setCurrentIndex(
            max(self.stiffness_method.findData(p.stiffness_method), 0))
        self.stiffness_budget.set_value(p.stiffness_budget or None)  # 0: no limit, empty

    def build(self, reader: FieldReader) -> ProbeConfig | None:
        return reader.build(
            self.base, metrics_every=self.metrics_every.value(),
            stiffness_every=self.stiffness_every.value(),
            stiffness_every_dt=reader.number("probe.stiffness_every_dt", self.stiffness_every_dt),
            stiffness_method=self.stiffness_method.currentData() or self.base.stiffness_method,
            stiffness_budget=reader.number("probe.stiffness_budget", self.stiffness_budget, 0.0))

    def refresh(self) -> None:
        """Grey the probe's method and budget while it is off."""
        off = (self.stiffness_every.value() == 0 and not self.stiffness_every_dt.text().strip())
        reason = ("The stiffness probe is off: set “λmax every” or “λmax every Δt” first."
                  if off else None)
        self.grey({"probe.stiffness_method": reason, "probe.stiffness_budget": reason})
