"""The bar that offers, on start-up, the runs a crashed window left unsaved: Reopen or Discard.

It never blocks: the lab is usable while it shows, and it hides once no record is left. The
records themselves are :func:`odeprop.core.recording.unfinished_recordings`.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton

STYLE = ("QFrame#recovery_bar { background: #fff8e1; border: 1px solid #f0b400; }"
         " QLabel { color: #4e3b00; }")


def describe(path: Path, meta: dict) -> str:
    """One line for a record: its label, when it started, how large it is, how it ended."""
    label = meta.get("label") or path.stem
    started = meta.get("started")
    when = time.strftime("%d %b %H:%M", time.localtime(started)) if started else "unknown time"
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    ended = meta.get("status") or "interrupted"
    cut = meta.get("cut_short")
    if isinstance(cut, dict):
        ended += f", record cut short at step {cut.get('step')}"
    return f"{label} — started {when}, {_size(size)}, {ended}"


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n} bytes"


class RecoveryBar(QFrame):
    """“N runs were not saved when odeprop last closed” with the records, Reopen and Discard."""

    reopen_requested = Signal(object)  # Path of the record
    discard_requested = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("recovery_bar")
        self.setStyleSheet(STYLE)
        self.records: list[tuple[Path, dict]] = []
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        self.text = QLabel("")
        self.text.setWordWrap(True)
        self.choice = QComboBox()
        self.choice.setToolTip("The run to reopen or discard.")
        self.reopen_button = QPushButton("Reopen")
        self.reopen_button.setToolTip("Load the run's data and experiment into the window, "
                                      "view only: export it, or start the experiment again.")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Delete this run's record for good.")
        self.later_button = QPushButton("Later")
        self.later_button.setToolTip("Hide this bar; the records are offered again next time.")
        layout.addWidget(self.text, 1)
        layout.addWidget(self.choice)
        layout.addWidget(self.reopen_button)
        layout.addWidget(self.discard_button)
        layout.addWidget(self.later_button)
        self.reopen_button.clicked.connect(lambda: self._emit(self.reopen_requested))
        self.discard_button.clicked.connect(lambda: self._emit(self.discard_requested))
        self.later_button.clicked.connect(self.hide)
        self.hide()

    def set_records(self, records: list[tuple[Path, dict]]) -> None:
        """Offer these records (newest first); none hides the bar."""
        self.records = list(records)
        self.choice.clear()
        for path, meta in self.records:
            self.choice.addItem(describe(path, meta), str(path))
        n = len(self.records)
        self.choice.setVisible(n > 1)
        if n == 1:
            self.text.setText("A run was not saved when odeprop last closed: "
                              f"{describe(*self.records[0])}. Reopen it?")
        elif n:
            self.text.setText(f"{n} runs were not saved when odeprop last closed. Reopen them "
                              "one by one:")
        self.setVisible(n > 0)

    def selected(self) -> Path | None:
        data = self.choice.currentData()
        return Path(data) if data else None

    def _emit(self, signal) -> None:
        path = self.selected()
        if path is not None:
            signal.emit(path)
