"""The lab window's exports: the run's data as CSV and any one plot as PNG or SVG, each written
whole or not at all (:mod:`odeprop.gui.common.exports`), with an error dialog when writing fails.

:class:`RunExports` is mixed into :class:`~odeprop.gui.lab.main_window.MainWindow`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from ..common.exports import export_error, render_svg, write_atomically


class RunExports:
    """File ▸ Export run data (CSV) and File ▸ Export plot (PNG, SVG)."""

    def _add_export_actions(self, file_menu) -> None:
        self._menu_action(file_menu, "&Export run data (CSV)…", "Ctrl+E", self._export_csv_dialog)
        plot_menu = file_menu.addMenu("Export &plot (PNG, SVG)")
        for key, plot in [("data", self.data_view), *self.plots.plots.items()]:
            title = "Data view" if key == "data" else plot.title
            self._menu_action(plot_menu, f"{title}…", None,
                              lambda _=False, k=key: self._export_plot_dialog(k))

    def export_csv(self, path: str | Path) -> int:
        """Every snapshot received so far as CSV; returns how many rows were written.

        Copied from the run's record through a temporary file renamed at the end: an
        unwritable folder or a full disk gives an error dialog and leaves no partial file."""
        if self.session is None:
            self.show_banner("Nothing to export yet: start a run first.", "info")
            return 0
        try:
            rows = self.session.export_csv(path)
        except OSError as exc:
            self.show_error("Cannot export the run data", export_error(path, exc))
            return 0
        self.status_label.setText(f"Exported {rows} snapshots to {path}")
        return rows

    def export_plot(self, key: str, path: str | Path) -> bool:
        """One plot as PNG or SVG (by the file's extension)."""
        widget = self.data_view if key == "data" else self.plots.plots[key]
        path = str(path)

        def write(tmp: str) -> None:
            if path.lower().endswith(".svg"):
                render_svg(widget, tmp, widget.title if key != "data" else "data view")
            elif not widget.grab().save(tmp):
                raise OSError(f"could not write {path}")

        try:
            write_atomically(path, write)
        except OSError as exc:
            self.show_error("Cannot export the plot", export_error(path, exc))
            return False
        except Exception as exc:  # exporter failures are reported, never fatal
            self.show_banner(f"Cannot export the plot: {exc}", "error")
            return False
        self.status_label.setText(f"Exported the plot to {path}")
        return True

    def _export_csv_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export run data", self._last_dir(),
                                              "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def _export_plot_dialog(self, key: str) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export plot", self._last_dir(), "PNG image (*.png);;SVG drawing (*.svg)")
        if path:
            if not path.lower().endswith((".png", ".svg")):
                path += ".svg" if "svg" in chosen.lower() else ".png"
            self.export_plot(key, path)
