"""A sweep: one base problem, several methods, and axes of settings crossed (or zipped) into a
grid of runs — the statistical questions a single comparison cannot answer.

A :class:`Sweep` loads and saves as TOML like an experiment or a comparison; its shared sections
are a comparison's, its ``[[methods]]`` are a comparison's ``[[runs]]``::

    name = "..."
    repeats = 1                       # each cell run this many times (for wall times)
    max_runs = 10000                  # the grid is refused beyond this (at most MAX_RUNS_LIMIT)
    zip = [["dataset.seed", "network.init_seed"]]   # axes that advance together (else crossed)
    [dataset] ... [network] ... [stop] ... [probe] ...
    [axes]
    "network.init_seed" = { start = 0, count = 50 }  # or a list of values
    "solver.rtol" = [1e-2, 1e-4]                     # applies to every method that has it
    [[targets]]
    kind = "rms"
    value = 0.02
    [[methods]]
    label = "GD, lr 5"
    [methods.solver]
    method = "gd"
    learning_rate = 5.0
    [reference]                       # optional: the flow the distance column measures against
    method = "RK45"
    rtol = 1e-8
    atol = 1e-10

Every cell is validated as a stand-alone experiment when the sweep is built, so a bad axis value
is refused, naming the axis, before anything runs.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass, fields, replace

from .comparison import ReferenceFlow, RunSpec, SharedProblem
from .config import (
    DatasetConfig,
    Experiment,
    NetworkConfig,
    ProbeConfig,
    SolverConfig,
    StopConfig,
    _build,
    _check,
    _drop_none,
)

#: What ``max_runs`` defaults to, and the most it may be raised to.
DEFAULT_MAX_RUNS = 10_000
MAX_RUNS_LIMIT = 1_000_000
#: Sections an axis may vary; "solver" axes apply to every method.
AXIS_SECTIONS = {"dataset": DatasetConfig, "network": NetworkConfig, "solver": SolverConfig,
                 "stop": StopConfig, "probe": ProbeConfig}
#: Axes that only pick a different draw of the same problem: the summary pools over them.
SEED_AXES = ("dataset.seed", "network.init_seed")


@dataclass(frozen=True)
class Axis:
    """One swept setting: a dotted field name and its values (in order)."""

    name: str
    values: tuple

    def __post_init__(self):
        where = f"axes.{self.name!r}"
        section, dot, key = self.name.partition(".")
        _check(bool(dot) and section in AXIS_SECTIONS, where,
               f"an axis is SECTION.FIELD with SECTION one of {', '.join(AXIS_SECTIONS)}")
        allowed = [f.name for f in fields(AXIS_SECTIONS[section])]
        _check(key in allowed, where, f"{section} has no field {key!r}; allowed: "
               f"{', '.join(allowed)}")
        _check(len(self.values) >= 1, where, "give at least one value")
        keys = [json.dumps(v) for v in self.values]
        _check(len(set(keys)) == len(keys), where, "values repeat")

    @property
    def section(self) -> str:
        return self.name.partition(".")[0]

    @property
    def key(self) -> str:
        return self.name.partition(".")[2]


@dataclass(frozen=True)
class Cell:
    """One run of the grid: its index, the method's index, the axis values, the repeat."""

    index: int
    method: int
    values: tuple  # one per axis, in the sweep's axis order
    repeat: int


@dataclass(frozen=True)
class Sweep(SharedProblem):
    """Methods × axes × repeats on one base problem; see the module docstring."""

    name: str = "Sweep"
    methods: tuple[RunSpec, ...] = ()
    axes: tuple[Axis, ...] = ()
    zip: tuple[tuple[str, ...], ...] = ()
    repeats: int = 1
    max_runs: int = DEFAULT_MAX_RUNS
    reference: ReferenceFlow | None = None
    cluster_threshold: float = 0.05  # relative distance within which final weights are one minimum
    ratio_to: str = ""  # a method's label: the summary gives each run's ∇L ÷ that method's

    def __post_init__(self):
        for name in ("targets", "methods", "axes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "zip", tuple(tuple(group) for group in self.zip))
        _check(len(self.methods) >= 1, "methods", "a sweep needs at least one [[methods]]")
        labels = [m.label for m in self.methods]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        _check(not dupes, "methods.label", f"labels must differ; repeated: {', '.join(dupes)}")
        names = [a.name for a in self.axes]
        _check(len(set(names)) == len(names), "axes", "an axis is named twice")
        _check(1 <= self.repeats <= 1000, "repeats", f"must be 1 to 1000, got {self.repeats}")
        _check(1 <= self.max_runs <= MAX_RUNS_LIMIT, "max_runs",
               f"must be 1 to {MAX_RUNS_LIMIT}, got {self.max_runs}")
        _check(0 < self.cluster_threshold < 10, "cluster_threshold",
               f"must be above 0 and below 10, got {self.cluster_threshold}")
        _check(not self.ratio_to or self.ratio_to in labels, "ratio_to",
               f"{self.ratio_to!r} is not a method's label; they are: {', '.join(labels)}")
        self._check_zip(names)
        self._check_size()
        self._check_cells()

    def _check_zip(self, names: list[str]) -> None:
        seen = set()
        for group in self.zip:
            _check(len(group) >= 2, "zip", f"a zipped group needs two axes or more, got {group}")
            for name in group:
                _check(name in names, "zip", f"{name!r} is not an axis")
                _check(name not in seen, "zip", f"{name!r} is in two zipped groups")
                seen.add(name)
            lengths = {len(self.axis(name).values) for name in group}
            _check(len(lengths) == 1, f"axes.{group[0]!r}",
                   f"zipped axes {', '.join(group)} must have the same number of values, got "
                   + ", ".join(f"{n}: {len(self.axis(n).values)}" for n in group))

    def _check_size(self) -> None:
        if self.n_runs <= self.max_runs:
            return
        factors = [f"{len(g[0].values)} × {' + '.join(a.name for a in g)}"
                   for g in self._groups()]
        factors += [f"{len(self.methods)} methods", f"{self.repeats} repeats"]
        biggest = max(self._groups(), key=lambda g: len(g[0].values), default=None)
        where = f"axes.{biggest[0].name!r}" if biggest else "methods"
        raise ValueError(f"{where}: the grid has {self.n_runs:,} runs ({', '.join(factors)}), "
                         f"more than max_runs = {self.max_runs:,}; shrink that axis or raise "
                         f"max_runs (at most {MAX_RUNS_LIMIT:,})")

    def _check_cells(self) -> None:
        """Every value of every axis, and every combination, builds a valid experiment."""
        for axis in self.axes:  # one axis at a time first, so the message names the culprit
            for i, value in enumerate(axis.values):
                for m in range(len(self.methods)):
                    try:
                        self._experiment(m, {axis.name: value})
                    except ValueError as exc:
                        raise ValueError(f"axes.{axis.name!r}[{i}] = {value!r}: {exc}") from None
        for combo in self._combinations():
            for m in range(len(self.methods)):
                try:
                    self._experiment(m, dict(zip(self.axis_names, combo, strict=True)))
                except ValueError as exc:
                    shown = ", ".join(f"{n} = {v!r}" for n, v in zip(self.axis_names, combo,
                                                                       strict=True))
                    raise ValueError(f"axes ({shown}): {exc}") from None

    # -- the grid ----------------------------------------------------------------------------
    @property
    def axis_names(self) -> list[str]:
        return [a.name for a in self.axes]

    def axis(self, name: str) -> Axis:
        return next(a for a in self.axes if a.name == name)

    def _groups(self) -> list[list[Axis]]:
        """Axes in the order they vary: zipped axes as one group, every other one alone."""
        groups, done = [], set()
        for axis in self.axes:
            if axis.name in done:
                continue
            group = next((g for g in self.zip if axis.name in g), (axis.name,))
            groups.append([self.axis(n) for n in group])
            done.update(group)
        return groups

    @property
    def n_runs(self) -> int:
        n = len(self.methods) * self.repeats
        for group in self._groups():
            n *= len(group[0].values)
        return n

    def _combinations(self):
        """Axis values for every point of the grid, in the sweep's axis order."""
        groups = self._groups()
        position = {a.name: (g, k) for g, group in enumerate(groups) for k, a in enumerate(group)}
        for choice in itertools.product(*(range(len(g[0].values)) for g in groups)):
            yield tuple(self.axis(n).values[choice[position[n][0]]] for n in self.axis_names)

    def cells(self):
        """Every run, in a fixed order (its index is its identity for ``--resume``)."""
        index = 0
        for combo in self._combinations():
            for method in range(len(self.methods)):
                for repeat in range(self.repeats):
                    yield Cell(index, method, combo, repeat)
                    index += 1

    def experiment(self, cell: Cell) -> Experiment:
        """The stand-alone experiment one cell runs."""
        return self._experiment(cell.method, dict(zip(self.axis_names, cell.values, strict=True)))

    def _experiment(self, method: int, values: dict) -> Experiment:
        spec = self.methods[method]
        changes = {name: {} for name in AXIS_SECTIONS}
        for name, value in values.items():
            section, _, key = name.partition(".")
            changes[section][key] = value
        solver = spec.solver
        if changes["solver"]:  # only the settings this method has (rtol means nothing to GD)
            info = solver.info
            kept = {k: v for k, v in changes["solver"].items()
                    if not (k in ("rtol", "atol", "schedule") and not info.tolerances)
                    and not (k == "learning_rate" and not info.learning_rate)}
            solver = replace(solver, **kept)
        sections = {"dataset": self.dataset, "network": self.network, "stop": self.stop,
                    "probe": self.probe}
        for name, config in sections.items():
            if changes[name]:
                data = {**_plain(config), **_drop_none(changes[name])}
                sections[name] = _build(AXIS_SECTIONS[name], data, name)
        return Experiment(name=f"{self.name}: {spec.label}", solver=solver, **sections)

    def configuration(self, cell: Cell) -> str:
        """What the summary groups by: the method and every axis value except the seeds."""
        parts = [self.methods[cell.method].label]
        parts += [f"{n} = {_show(v)}" for n, v in zip(self.axis_names, cell.values, strict=True)
                  if n not in SEED_AXES]
        return ", ".join(parts)

    # -- TOML --------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict) -> Sweep:
        data = dict(data)
        raw_axes = data.pop("axes", {})
        _check(isinstance(raw_axes, dict), "axes",
               'must be a table: [axes] with "section.field" = [values]')
        axes = tuple(Axis(name, _axis_values(name, spec)) for name, spec in raw_axes.items())
        no_axes = _build(cls, {k: v for k, v in data.items() if k != "zip"}, "")
        zipped = data.get("zip", [])
        _check(isinstance(zipped, list) and all(isinstance(g, list) for g in zipped), "zip",
               'a list of lists of axis names, e.g. [["dataset.seed", "network.init_seed"]]')
        return replace(no_axes, axes=axes, zip=tuple(tuple(g) for g in zipped))

    def to_dict(self) -> dict:
        data = super().to_dict()
        data["axes"] = {a.name: list(a.values) for a in self.axes}
        if not self.zip:
            data.pop("zip")
        return data


def _axis_values(name: str, spec) -> tuple:
    if isinstance(spec, dict):  # { start = 0, count = 50 }: consecutive integers (seeds)
        _check(set(spec) == {"start", "count"}, f"axes.{name!r}",
               "a range is { start = FIRST, count = N }")
        start, count = spec["start"], spec["count"]
        _check(all(isinstance(x, int) and not isinstance(x, bool) for x in (start, count))
               and count >= 1, f"axes.{name!r}", "start and count must be integers, count ≥ 1")
        return tuple(range(start, start + count))
    _check(isinstance(spec, list), f"axes.{name!r}",
           f"must be a list of values or {{ start, count }}, got {spec!r}")
    return tuple(tuple(v) if isinstance(v, list) else v for v in spec)


def _plain(config) -> dict:
    """A config dataclass as the dict ``_build`` takes (tuples as lists, None left out)."""
    return _drop_none(asdict(config))


def _show(value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}" if math.isfinite(value) else str(value)
    return str(value)


def axis_value_text(value) -> str | int | float | bool:
    """An axis value as a table cell: lists (layer widths) as text, scalars as they are."""
    return _show(value) if isinstance(value, tuple) else value
