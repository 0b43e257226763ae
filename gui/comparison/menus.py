"""How the lab's main window opens comparisons: File ▸ New comparison…, File ▸ Open
comparison… and the Comparisons menu of shipped teaching comparisons, each in its own
:class:`~odeprop.gui.comparison.window.ComparisonWindow`."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu

from odeprop.core.comparison import Comparison
from odeprop.core.presets import comparison_names, default_experiment, load_comparison

from .window import ComparisonWindow, comparison_from_experiment


def open_comparison_window(owner, comparison: Comparison | None = None,
                           path: str | None = None) -> ComparisonWindow:
    """A new comparison window kept alive by ``owner`` (the lab window) until it closes."""
    window = ComparisonWindow(settings=getattr(owner, "settings", None),
                              persist=getattr(owner, "persist", True),
                              icon=owner.windowIcon() if owner is not None else None)
    window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    window.open_lessons = getattr(owner, "open_lessons", None)
    window.open_elsewhere = getattr(owner, "open_shared", None)
    if path is not None:
        window.open_comparison(path)
    elif comparison is not None:
        window.set_comparison(comparison)
    windows = getattr(owner, "comparison_windows", None)
    if windows is None:
        windows = owner.comparison_windows = []
    windows.append(window)
    window.destroyed.connect(lambda *_: windows.remove(window) if window in windows else None)
    window.show()
    return window


def add_comparison_actions(owner, file_menu) -> None:
    """File ▸ New comparison… (from the lab's experiment) and File ▸ Open comparison…."""
    def new():
        try:
            exp = owner.experiment()
        except ValueError:
            exp = default_experiment()
        open_comparison_window(owner, comparison_from_experiment(exp))

    def open_file():
        path, _ = QFileDialog.getOpenFileName(owner, "Open comparison", "",
                                              "Comparisons (*.toml);;All files (*)")
        if path:
            open_comparison_window(owner, path=path)

    for text, slot in (("New &comparison…", new), ("Open compar&ison…", open_file)):
        action = QAction(text, owner)
        action.triggered.connect(slot)
        file_menu.addAction(action)


def comparisons_menu(owner):
    """The Comparisons menu: every shipped teaching comparison, each in a new window."""
    menu = QMenu("&Comparisons", owner)
    for name in comparison_names():
        action = QAction(name, owner)
        action.setObjectName(f"comparison_{name}")
        action.triggered.connect(
            lambda _=False, n=name: open_comparison_window(owner, load_comparison(n)))
        menu.addAction(action)
    return menu
