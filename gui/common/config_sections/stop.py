"""The stopping section: the end of ODE time, and the targets and limits that end a run sooner."""

from __future__ import annotations

from odeprop.core.config import StopConfig

from ..config_widgets import NumberEdit
from .section import ConfigSection, FieldReader

#: the optional targets and limits: each a number field of the same name, empty for none
LIMITS = ("target_loss", "target_accuracy", "target_rms", "max_wall_time", "max_steps")


class StopSection(ConfigSection):
    """Edits a :class:`~odeprop.core.config.StopConfig`."""

    def __init__(self):
        super().__init__("Stopping", StopConfig())
        self.t_end = NumberEdit()
        self.add("stop.t_end", "End time t_end", self.t_end, "t_end")
        self.target_loss = NumberEdit("none")
        self.add("stop.target_loss", "Target loss", self.target_loss, "target_loss")
        self.target_accuracy = NumberEdit("none")
        self.add("stop.target_accuracy", "Target accuracy", self.target_accuracy,
                 "target_accuracy")
        self.target_rms = NumberEdit("none")
        self.add("stop.target_rms", "Target RMS", self.target_rms, "target_rms")
        self.max_wall_time = NumberEdit("no limit")
        self.add("stop.max_wall_time", "Max wall time (s)", self.max_wall_time, "max_wall_time")
        self.max_steps = NumberEdit("no limit", integer=True)
        self.add("stop.max_steps", "Max steps", self.max_steps, "max_steps")

    def fill(self, st: StopConfig) -> None:
        self.show_numbers(st, ("t_end", *LIMITS))

    def build(self, reader: FieldReader) -> StopConfig | None:
        t_end = reader.number("stop.t_end", self.t_end, reader.MISSING)  # empty: "give a value"
        limits = {name: reader.number(f"stop.{name}", getattr(self, name)) for name in LIMITS}
        return reader.build(self.base, t_end=t_end, **limits)

    def follow_loss(self, loss: str) -> None:
        """Grey the RMS-error target unless the network's ``loss`` is squared error."""
        self.grey({"stop.target_rms": None if loss == "mse" else
                   "An RMS-error target needs the squared-error loss (mse)."})
