"""Experiments shipped in ``odeprop.resources.presets``: the default one and the teaching set."""

from __future__ import annotations

from importlib import resources

from .config import Experiment


def preset_names() -> list[str]:
    folder = resources.files("odeprop.resources.presets")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_preset(name: str) -> Experiment:
    """A shipped experiment by file name (without .toml); ValueError lists the known ones."""
    path = resources.files("odeprop.resources.presets") / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"no preset named {name!r}; presets are: {', '.join(preset_names())}")
    return Experiment.from_toml(path.read_text(encoding="utf-8"))


def default_experiment() -> Experiment:
    """What the lab opens on and ``odeprop run --preset default`` runs."""
    return load_preset("default")
