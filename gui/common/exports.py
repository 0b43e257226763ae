"""Files the lab writes for the user (run data, summaries, plots): whole, or not at all.

Every export is written to a temporary file beside its target and renamed over it at the end
(:func:`odeprop.core.io.write_text_atomic` for text), so a full disk, a read-only folder or a
crash leaves either the old file or the new one, never a half-written file that looks complete.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QWidget


def write_atomically(path, write) -> None:
    """Have ``write(temporary_path)`` write the file (Qt's image and SVG writers need a file
    name; the temporary one keeps the suffix that tells them the format), then rename it over
    ``path``; ``OSError`` and no file left when writing fails."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp",
                               dir=path.parent or ".")
    os.close(fd)
    try:
        write(tmp)
        if os.path.getsize(tmp) == 0:
            raise OSError(f"could not write {path}")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def export_error(path, exc: OSError) -> str:
    """What went wrong writing ``path``, and that nothing half-written was left there."""
    why = exc.strerror or str(exc)
    return (f"Cannot export to {path}: {why}. Nothing was written there; the run's data is "
            "still here — choose another folder or free some space, then export again.")


def render_svg(widget: QWidget, path: str, title: str) -> None:
    """Draw ``widget`` as vector graphics: a plot's scene, or a panel with every child in its
    place (pyqtgraph's own SVG exporter trips on empty curves)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator
    from PySide6.QtWidgets import QGraphicsView

    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(widget.size())
    generator.setViewBox(widget.rect())
    generator.setTitle(f"odeprop: {title}")
    painter = QPainter(generator)
    try:
        if isinstance(widget, QGraphicsView):  # a plot: its scene, as vectors
            widget.render(painter)
        else:  # a panel of plots and labels: every child in its place
            QWidget.render(widget, painter, QPoint())
    finally:
        painter.end()
