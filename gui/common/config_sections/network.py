"""The network section: hidden layers, loss, output unit, initialisation and L2 penalty.

A loss the chosen data cannot take is switched to one that fits, with a note under it.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QLabel, QSpinBox

from odeprop.core.config import INIT_SCHEMES, LOSSES, OUTPUTS, NetworkConfig

from ..config_widgets import NOTE_STYLE, LayerEditor, NumberEdit
from ..tooltips import tip
from .section import ConfigSection, FieldReader

LOSS_NAMES = {"bce": "binary cross-entropy", "softmax_ce": "softmax cross-entropy",
              "mse": "squared error (mse)"}


def fitting_loss(loss: str, classes: int | str) -> tuple[str, str]:
    """The loss data with ``classes`` (a count, "regression" or "unknown") can take, and why it
    is not ``loss`` ("" when ``loss`` fits): cross-entropy needs class labels, and binary
    cross-entropy two classes."""
    if classes == "regression" and loss in ("bce", "softmax_ce"):
        return "mse", "regression targets"
    if isinstance(classes, int) and classes > 2 and loss == "bce":
        return "softmax_ce", f"{classes} classes"
    return loss, ""


class NetworkSection(ConfigSection):
    """Edits a :class:`~odeprop.core.config.NetworkConfig`."""

    def __init__(self):
        super().__init__("Network", NetworkConfig())
        #: the layer sizes and the parameter count, once the window has built the problem
        self.params_label = QLabel("")
        self.params_label.setToolTip(tip("n_params"))
        self.form.addRow(self.params_label)
        self.layers = LayerEditor()
        self.add("network.hidden", "Hidden layers", self.layers, "layers")
        self.fields["network.activations"] = self.layers  # the same editor: one message
        self.messages["network.activations"] = self.messages["network.hidden"]
        self.loss = QComboBox()
        self.loss.addItems(LOSSES)
        self.add("network.loss", "Loss", self.loss, "loss")
        #: says so when the form switched the loss to one the data can take (:meth:`fit_loss`)
        self.loss_note = QLabel("")
        self.loss_note.setObjectName("note:network.loss")
        self.loss_note.setWordWrap(True)
        self.loss_note.setStyleSheet(NOTE_STYLE)
        self.form.addRow(self.loss_note)
        self.form.setRowVisible(self.loss_note, False)
        self._note_kind: str | None = None  # the data kind the note was written for
        self.loss.activated.connect(lambda _: self._show_loss_note(None))  # the user's choice
        self.output = QComboBox()
        self.output.addItems(OUTPUTS)
        self.add("network.output", "Output unit", self.output, "output")
        self.init = QComboBox()
        self.init.addItems(INIT_SCHEMES)
        self.add("network.init", "Initialisation", self.init, "init")
        self.init_seed = QSpinBox()
        self.init_seed.setRange(0, 2**31 - 1)
        self.add("network.init_seed", "Weight seed", self.init_seed, "init_seed")
        self.l2 = NumberEdit()
        self.add("network.l2", "L2 penalty", self.l2, "l2")

    def fill(self, n: NetworkConfig) -> None:
        self._show_loss_note(None)
        self.layers.set_layers(n.hidden, n.activations)
        self.loss.setCurrentText(n.loss)
        self.output.setCurrentText(n.output)
        self.init.setCurrentText(n.init)
        self.init_seed.setValue(n.init_seed)
        self.l2.set_value(n.l2)

    def build(self, reader: FieldReader) -> NetworkConfig | None:
        hidden, activations = self.layers.layers()
        if not hidden:
            reader.errors.append("network.hidden: add at least one hidden layer")
            return None
        return reader.build(self.base, hidden=hidden, activations=activations,
                            loss=self.loss.currentText(), output=self.output.currentText(),
                            init=self.init.currentText(), init_seed=self.init_seed.value(),
                            l2=reader.number("network.l2", self.l2, 0.0))

    def refresh(self) -> None:
        self.grey({"network.output": None if self.loss.currentText() == "mse" else
                   "The output unit is chosen by the loss; it is settable for mse only."})

    def show_size(self, sizes: tuple[int, ...] | None, n_params: int | None) -> None:
        """Layer sizes and parameter count of the network the form describes (or nothing)."""
        if sizes is None or n_params is None:
            self.params_label.setText("")
        else:
            self.params_label.setText(f"{'-'.join(map(str, sizes))}: {n_params:,} parameters")

    def fit_loss(self, kind: str, classes: int | str, data_name: str) -> None:
        """Switch a loss the data of ``kind`` cannot take (binary cross-entropy on iris' 3
        classes, cross-entropy on regression targets) to the one that fits, and say so under
        it, naming the data (``data_name``); the note goes when the kind does."""
        fit, why = fitting_loss(self.loss.currentText(), classes)
        if why:
            self.loss.blockSignals(True)
            self.loss.setCurrentText(fit)
            self.loss.blockSignals(False)
            self._note_kind = kind
            self._show_loss_note(f"Loss switched to {LOSS_NAMES[fit]} for {why} ({data_name}).")
        elif kind != self._note_kind:
            self._show_loss_note(None)

    def _show_loss_note(self, text: str | None) -> None:
        if text is None:
            self._note_kind = None
        self.loss_note.setText(text or "")
        self.form.setRowVisible(self.loss_note, bool(text))
