"""A sweep's results folder in the lab (File ▸ Open sweep results…): the summary the command
line wrote — per-configuration costs, success rates, distinct minima — and its plots.

The summary is recomputed by core from the folder's table (so a sweep cut short shows what it
kept); the plots are the PNGs `odeprop sweep` drew. Reading the table needs pyarrow (the
``sweep`` extra); without it the window says what to install.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QScrollArea,
    QTabWidget,
    QTextBrowser,
)

PLOTS = (("costs", "Cost per configuration"), ("success", "Success rate"),
         ("width", "Cost against width"))


class SweepResultsWindow(QMainWindow):
    """The summary of one results folder, and a tab per plot found there."""

    def __init__(self, folder: str | Path, parent=None):
        super().__init__(parent)
        self.tabs = QTabWidget()
        self.setCentralWidget(self.tabs)
        self.summary = QTextBrowser()
        self.summary.setObjectName("sweep_summary")
        self.markdown = ""  # the summary shown, as Markdown
        self.tabs.addTab(self.summary, "Summary")
        self.resize(1000, 700)
        self.open_folder(Path(folder))

    def open_folder(self, folder: Path) -> None:
        self.setWindowTitle(f"Sweep results — {folder.name}")
        try:
            from odeprop.core.sweep_results import read_results_folder
            from odeprop.core.sweep_summary import summarize_sweep
        except ImportError:
            self.summary.setPlainText("Reading a sweep's results needs pyarrow: "
                                      "pip install 'odeprop[sweep]'")
            return
        try:
            sweep, rows, clusters = read_results_folder(folder)
        except (OSError, ValueError) as exc:
            self.summary.setPlainText(f"Cannot open these results: {exc}")
            return
        self.markdown = summarize_sweep(sweep, rows, clusters).to_markdown()
        self.summary.setMarkdown(self.markdown)
        for stem, title in PLOTS:
            path = folder / f"{stem}.png"
            if path.is_file():
                picture = QLabel()
                picture.setPixmap(QPixmap(str(path)))
                picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
                scroll = QScrollArea()
                scroll.setWidget(picture)
                scroll.setWidgetResizable(True)
                self.tabs.addTab(scroll, title)


def add_sweep_results_action(owner, file_menu) -> None:
    """File ▸ Open sweep results…: a folder written by `odeprop sweep --out`, in its window."""
    def open_folder():
        folder = QFileDialog.getExistingDirectory(owner, "Open sweep results")
        if folder:
            open_sweep_results(owner, folder)

    action = QAction("Open s&weep results…", owner)
    action.triggered.connect(open_folder)
    file_menu.addAction(action)


def open_sweep_results(owner, folder) -> SweepResultsWindow:
    """A results window of its own, owned by ``owner`` (the lab) and deleted when closed."""
    window = SweepResultsWindow(folder, parent=owner)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.show()
    return window
