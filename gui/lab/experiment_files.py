"""The lab's experiment files: open and save TOML experiments, the recent-files menu and the
shipped presets.

:class:`ExperimentFiles` is mixed into :class:`~odeprop.gui.lab.main_window.MainWindow`; the recent
files live in the window's ``settings``. A file that cannot be opened or saved leaves the current
experiment and says why in the banner.
"""

from __future__ import annotations

from pathlib import Path

from odeprop.core.config import Experiment
from odeprop.core.presets import load_preset, preset_names

MAX_RECENT = 8


class ExperimentFiles:
    """File ▸ Open experiment…, Open recent, Open preset, Save experiment (as…)."""

    def _add_open_menus(self, file_menu) -> None:
        """File ▸ Open recent and File ▸ Open preset (one action per shipped preset)."""
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.presets_menu = file_menu.addMenu("Open p&reset")
        self.presets_menu.setToolTipsVisible(True)
        for name in preset_names():
            try:
                preset = load_preset(name)
            except ValueError:
                continue
            text = f"{name} — {preset.name}".replace("&", "&&")  # "&" marks a shortcut key
            action = self._menu_action(self.presets_menu, text, None,
                                       lambda _=False, n=name: self.open_preset(n))
            action.setObjectName(f"preset_{name}")
            action.setToolTip(" ".join(preset.description.split()))

    def open_preset(self, name: str) -> None:
        """A shipped experiment in the form (not started); saving asks for a file name."""
        self.set_experiment(load_preset(name))
        self.current_path = None
        self.status_label.setText(f"Preset {name}: press Start (F5) to run it.")

    def open_experiment(self, path: str | Path) -> bool:
        """Load a TOML experiment; a bad file leaves the current one and says why."""
        try:
            exp = Experiment.load(path)
        except ValueError as exc:
            from odeprop.core.cli import wrong_kind

            why = wrong_kind(path, "experiment")
            why = f"{why}; open it with File ▸ Open comparison…" if why else str(exc)
            self.show_banner(f"Cannot open the experiment: {why}", "error")
            return False
        self.set_experiment(exp)
        self.current_path = Path(path)
        self._add_recent(str(path))
        self.show_banner(f"Opened {path}", "info")
        return True

    def save_experiment(self, path: str | Path) -> bool:
        try:
            self.experiment().save(path)
        except (ValueError, OSError) as exc:
            self.show_banner(f"Cannot save the experiment: {exc}", "error")
            return False
        self.current_path = Path(path)
        self._add_recent(str(path))
        self.status_label.setText(f"Saved {path}")
        return True

    open_document = open_experiment  # what DocumentWindow's Open… and Save… dialogs call
    save_document = save_experiment

    def _add_recent(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]
        recent.insert(0, path)
        self.settings.setValue("recent_files", recent[:MAX_RECENT])
        self._update_recent_menu()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent_files", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value or []]

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        for path in recent:
            self._menu_action(self.recent_menu, path, None,
                              lambda _=False, p=path: self.open_experiment(p))
        self.recent_menu.setEnabled(bool(recent))
