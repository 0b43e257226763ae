"""Shipped experiments (``odeprop.resources.presets``) and teaching comparisons
(``odeprop.resources.comparisons``)."""

from __future__ import annotations

from importlib import resources

from .comparison import Comparison
from .config import Experiment

_EXPERIMENTS = "odeprop.resources.presets"
_COMPARISONS = "odeprop.resources.comparisons"
_SWEEPS = "odeprop.resources.sweeps"


def _names(package: str) -> list[str]:
    return sorted(p.name[:-5] for p in resources.files(package).iterdir()
                  if p.name.endswith(".toml"))


def _text(package: str, name: str, what: str) -> str:
    path = resources.files(package) / f"{name}.toml"
    if not path.is_file():
        raise ValueError(f"no {what} named {name!r}; they are: {', '.join(_names(package))}")
    return path.read_text(encoding="utf-8")


def preset_names() -> list[str]:
    return _names(_EXPERIMENTS)


def load_preset(name: str) -> Experiment:
    """A shipped experiment by file name (without .toml); ValueError lists the known ones."""
    return Experiment.from_toml(_text(_EXPERIMENTS, name, "preset"))


def comparison_names() -> list[str]:
    return _names(_COMPARISONS)


def load_comparison(name: str) -> Comparison:
    """A shipped comparison by file name (without .toml)."""
    return Comparison.from_toml(_text(_COMPARISONS, name, "comparison preset"))


def sweep_names() -> list[str]:
    return _names(_SWEEPS)


def load_sweep(name: str):
    """A shipped sweep by file name (without .toml)."""
    from .sweep import Sweep

    return Sweep.from_toml(_text(_SWEEPS, name, "shipped sweep"))


def default_experiment() -> Experiment:
    """What the lab opens on and ``odeprop run --preset default`` runs."""
    return load_preset("default")
