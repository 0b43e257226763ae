"""Shareable state: a window's document copied to the clipboard as TOML, a TOML document opened
from the clipboard, and a TOML file dropped on the window opened (Edit menu; Ctrl+Shift+C,
Ctrl+Shift+V). What the text is (an experiment, a comparison, a lesson) is the window's call:
it gets the parsed document and the folder its files are relative to (a dropped file's; none
for the clipboard)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QGuiApplication

from odeprop.core.config import parse_toml, read_toml


def add_sharing(window, menu_bar, copy_label: str, copy_text, open_data) -> None:
    """The Edit menu's Copy ``copy_label`` as TOML (``copy_text()`` → str) and Open from the
    clipboard, and drops of one ``.toml`` file on ``window``; both call
    ``open_data(data, folder)``. A bad document is the window's banner, never a traceback."""
    def copy():
        try:
            QGuiApplication.clipboard().setText(copy_text())
        except ValueError as exc:
            window.show_banner(f"Nothing copied: {exc}", "error")
            return
        window.status_label.setText(f"Copied the {copy_label} to the clipboard as TOML.")

    def paste():
        text = QGuiApplication.clipboard().text()
        try:
            data = parse_toml(text)
        except ValueError as exc:
            window.show_banner(f"The clipboard holds no document: {exc}", "error")
            return
        open_data(data, None)

    menu = menu_bar.addMenu("&Edit")
    window.copy_action = window._menu_action(menu, f"&Copy {copy_label} as TOML",
                                             "Ctrl+Shift+C", copy)
    window.paste_action = window._menu_action(
        menu, "&Open from the clipboard (experiment, comparison or lesson)", "Ctrl+Shift+V",
        paste)
    window.setAcceptDrops(True)
    # owned by the window (Qt parent): no Python attribute, so no reference cycle keeps a
    # closed window's wrapper alive
    window.installEventFilter(TomlDrops(window, open_data))


def dropped_toml(mime) -> Path | None:
    """The one local ``.toml`` file a drag carries, else None."""
    urls = mime.urls() if mime.hasUrls() else []
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = Path(urls[0].toLocalFile())
    return path if path.suffix.lower() == ".toml" else None


class TomlDrops(QObject):
    """An event filter: a ``.toml`` file dragged over the window is accepted, dropped is read
    (size-limited, one-line errors) and handed on."""

    def __init__(self, window, open_data):
        super().__init__(window)
        self.open_data = open_data

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt naming)
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove):
            if dropped_toml(event.mimeData()) is not None:
                event.acceptProposedAction()
                return True
        elif kind == QEvent.Type.Drop:
            path = dropped_toml(event.mimeData())
            if path is not None:
                event.acceptProposedAction()
                self.open_path(path)
                return True
        return False

    def open_path(self, path: Path) -> None:
        try:
            data = read_toml(path)
        except ValueError as exc:
            self.parent().show_banner(str(exc), "error")
            return
        self.open_data(data, path.parent)
