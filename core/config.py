"""Experiment configuration: frozen dataclasses, validated when built, saved and loaded as TOML.

The same file drives the GUI, the command line and the tests. Every refusal is a ``ValueError``
whose message starts with the dotted name of the field (``solver.rtol: ...``) and says what is
allowed.
"""

from __future__ import annotations

import math
import os
import tomllib
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path

import tomli_w

from .budget import size_refusal
from .methods import METHODS, method_info

DATASET_KINDS = (
    "moons", "circles", "xor", "xor_quadrants", "blobs", "spirals", "sin", "encoder",
    "iris", "digits", "clusters", "csv",
)
ACTIVATIONS = ("tanh", "sigmoid", "relu", "softplus", "linear")
LOSSES = ("bce", "softmax_ce", "mse")
OUTPUTS = ("linear", "sigmoid")
INIT_SCHEMES = ("xavier_uniform", "xavier_normal", "he_normal", "lecun_normal", "uniform")
JACOBIAN_MODES = ("exact", "fd", "none")
STIFFNESS_METHODS = ("lanczos", "power")
TASKS = ("auto", "classification", "regression")
#: Experiment and comparison documents over this size are refused before they are parsed (the
#: shipped ones are a few kB): a 200 MB file would be read, then copied into every output.
MAX_DOCUMENT_BYTES = 4_000_000
#: Shorter flows end before any solver can take its first step (CVODE refuses them outright).
MIN_T_END = 1e-9


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {message}")


def _positive(value: float, name: str) -> None:
    _check(math.isfinite(value) and value > 0, name, f"must be a positive number, got {value!r}")


class TomlDocument:
    """Saving and loading a frozen configuration dataclass as TOML (mixed into Experiment and
    Comparison). None values are left out, since TOML has no null; every optional field defaults
    to None, so leaving it out loads back the same document."""

    def to_dict(self) -> dict:
        return _drop_none(asdict(self))

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def save(self, path: str | Path) -> None:
        """Write the TOML atomically (a temporary file, then a rename)."""
        from .io import write_text_atomic

        write_text_atomic(Path(path), self.to_toml())

    @classmethod
    def from_dict(cls, data: dict):
        return _build(cls, data, "")

    @classmethod
    def from_toml(cls, text: str):
        return cls.from_dict(parse_toml(text))

    @classmethod
    def load(cls, path: str | Path):
        data = read_toml(path)
        try:
            return cls.from_dict(data)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


def parse_toml(text: str) -> dict:
    """A TOML document as a dict, or a one-line ``ValueError``: a UTF-8 byte-order mark at the
    start is accepted (Notepad writes one); a document over :data:`MAX_DOCUMENT_BYTES` or
    nested too deeply for the parser is refused."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"the document holds {len(text):,} characters; experiment and "
                         f"comparison files are limited to {MAX_DOCUMENT_BYTES / 1e6:g} MB")
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ValueError("not valid TOML here: arrays or tables are nested too deeply") \
            from None


def read_toml(path: str | Path) -> dict:
    """The TOML file at ``path`` as a dict (:func:`parse_toml`), or a ``ValueError`` naming the
    file: refused before anything is read if it is not a regular file (a FIFO would block) or
    is over :data:`MAX_DOCUMENT_BYTES`."""
    from .io import NotARegularFile, open_regular_file

    path = Path(path)
    try:
        with open_regular_file(path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_DOCUMENT_BYTES:
                raise ValueError(f"{path}: the file is {size / 1e6:,.1f} MB; experiment and "
                                 f"comparison files over {MAX_DOCUMENT_BYTES / 1e6:g} MB are "
                                 "refused")
            text = fh.read(MAX_DOCUMENT_BYTES + 1).decode("utf-8")  # bounded if it grows
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except NotARegularFile as exc:
        raise ValueError(f"{path}: is {exc}, not a TOML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read it ({exc})") from None
    try:
        return parse_toml(text)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def apply_settings(document, settings) -> TomlDocument:
    """``document`` (an experiment or a comparison) with ``SECTION.KEY=VALUE`` settings on top,
    each value parsed as TOML (bare words such as method names as text), validated again;
    ``ValueError`` names a setting not in that form (``'rtol=1': write SECTION.KEY=VALUE``)."""
    data = document.to_dict()
    for item in settings:
        key, sep, raw = item.partition("=")
        section, dot, name = key.strip().partition(".")
        if not sep or not dot or not isinstance(data.get(section), dict):
            raise ValueError(f"{item!r}: write SECTION.KEY=VALUE, e.g. solver.rtol=1e-2")
        try:
            value = tomllib.loads(f"v = {raw.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()  # bare words such as method names
        data[section][name] = value
    return type(document).from_dict(data)


def _seed(value: int, name: str) -> None:
    _check(isinstance(value, int) and value >= 0, name,
           f"a seed is a whole number ≥ 0, got {value!r}")


@dataclass(frozen=True)
class DatasetConfig:
    """Which data to train on and how to split it."""

    kind: str = "moons"
    n_samples: int = 200
    noise: float = 0.1
    seed: int = 0
    test_fraction: float = 0.25
    n_classes: int = 3  # blobs and clusters
    n_features: int = 784  # clusters only
    standardize: bool = True
    csv_path: str = ""
    target_column: str = ""
    task: str = "auto"  # csv only: classification or regression; auto guesses from the column

    def __post_init__(self):
        _check(self.kind in DATASET_KINDS, "dataset.kind",
               f"unknown dataset {self.kind!r}; choose one of {', '.join(DATASET_KINDS)}")
        _check(4 <= self.n_samples <= 100_000, "dataset.n_samples",
               f"must be between 4 and 100000, got {self.n_samples}")
        _check(math.isfinite(self.noise) and 0 <= self.noise <= 10, "dataset.noise",
               f"must be between 0 and 10, got {self.noise}")
        _check(0 <= self.test_fraction < 1, "dataset.test_fraction",
               f"must be at least 0 and below 1, got {self.test_fraction}")
        _check(2 <= self.n_classes <= 20, "dataset.n_classes",
               f"must be between 2 and 20, got {self.n_classes}")
        _check(1 <= self.n_features <= 10_000, "dataset.n_features",
               f"must be between 1 and 10000, got {self.n_features}")
        _check(self.task in TASKS, "dataset.task", f"must be one of {', '.join(TASKS)}")
        _seed(self.seed, "dataset.seed")
        if self.kind == "csv":
            _check(bool(self.csv_path), "dataset.csv_path", "a CSV dataset needs a file path")
            _check(bool(self.target_column), "dataset.target_column",
                   "a CSV dataset needs the name of its label/target column")


@dataclass(frozen=True)
class NetworkConfig:
    """A multilayer perceptron: hidden widths and activations, loss, penalty, initialisation."""

    hidden: tuple[int, ...] = (16, 16)
    activations: tuple[str, ...] = ("tanh", "tanh")
    loss: str = "bce"
    output: str = "linear"  # output unit for "mse": linear or sigmoid (Owens & Filkin)
    l2: float = 0.0
    init: str = "xavier_uniform"
    init_seed: int = 0

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(self.hidden))
        acts = (self.activations,) if isinstance(self.activations, str) else self.activations
        if len(set(acts)) == 1 and len(acts) != len(self.hidden):
            acts = (acts[0],) * len(self.hidden)  # one activation for every layer
        object.__setattr__(self, "activations", tuple(acts))
        for i, width in enumerate(self.hidden):
            _check(isinstance(width, int) and 1 <= width <= 4096, f"network.hidden[{i}]",
                   f"a layer width must be an integer from 1 to 4096, got {width!r}")
        _check(len(self.activations) == len(self.hidden), "network.activations",
               f"give one activation per hidden layer ({len(self.hidden)}), "
               f"got {len(self.activations)}")
        for i, act in enumerate(self.activations):
            _check(act in ACTIVATIONS, f"network.activations[{i}]",
                   f"unknown activation {act!r}; choose one of {', '.join(ACTIVATIONS)}")
        _check(self.loss in LOSSES, "network.loss",
               f"unknown loss {self.loss!r}; choose one of {', '.join(LOSSES)}")
        _check(self.output in OUTPUTS, "network.output",
               f"unknown output unit {self.output!r}; choose one of {', '.join(OUTPUTS)}")
        _check(math.isfinite(self.l2) and 0 <= self.l2 <= 10, "network.l2",
               f"must be between 0 and 10, got {self.l2}")
        _check(self.init in INIT_SCHEMES, "network.init",
               f"unknown initialisation {self.init!r}; choose one of {', '.join(INIT_SCHEMES)}")
        _seed(self.init_seed, "network.init_seed")


@dataclass(frozen=True)
class TolerancePhase:
    """Tolerances that hold from the start (or the previous phase) until the loss falls below
    ``until_loss``: the critique's point that strict tolerances from a random start buy nothing."""

    until_loss: float
    rtol: float
    atol: float

    def __post_init__(self):
        _positive(self.until_loss, "solver.schedule.until_loss")
        _check_tolerances(self.rtol, self.atol, "solver.schedule")


def _check_tolerances(rtol: float, atol: float, prefix: str) -> None:
    _check(math.isfinite(rtol) and 1e-14 <= rtol <= 0.5, f"{prefix}.rtol",
           f"must be between 1e-14 and 0.5, got {rtol!r}")
    _check(math.isfinite(atol) and 0 < atol <= 1, f"{prefix}.atol",
           f"must be above 0 and at most 1, got {atol!r}")


#: Methods whose tolerances cannot change during a run (Hairer's codes take them once).
FIXED_TOLERANCE_METHODS = ("dopri5", "dop853")


@dataclass(frozen=True)
class SolverConfig:
    """The integration method and its settings; settings a method lacks are refused."""

    method: str = "cvode-gmres"
    rtol: float = 1e-4
    atol: float = 1e-4
    first_step: float | None = None  # None: the solver chooses
    max_step: float = math.inf
    max_order: int | None = None  # None: the method's own maximum
    jacobian: str | None = None  # None: the method's preferred mode (see jacobian_mode)
    learning_rate: float = 0.1
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    krylov_dim: int = 10
    schedule: tuple[TolerancePhase, ...] = ()  # looser tolerances first, then rtol/atol

    def __post_init__(self):
        info = method_info(self.method)
        object.__setattr__(self, "schedule", tuple(
            p if isinstance(p, TolerancePhase) else TolerancePhase(**p) for p in self.schedule))
        if info.tolerances:
            _check_tolerances(self.rtol, self.atol, "solver")
        if self.schedule:
            _check(info.tolerances and self.method not in FIXED_TOLERANCE_METHODS,
                   "solver.schedule", f"{self.method} cannot change its tolerances during a run")
            losses = [phase.until_loss for phase in self.schedule]
            _check(losses == sorted(losses, reverse=True) and len(set(losses)) == len(losses),
                   "solver.schedule", f"until_loss must decrease from phase to phase, got {losses}")
        if self.first_step is not None:
            _check(info.first_step, "solver.first_step", f"{self.method} has no first step")
            _positive(self.first_step, "solver.first_step")
        _check(self.max_step > 0 and not math.isnan(self.max_step), "solver.max_step",
               f"must be positive (inf for no limit), got {self.max_step!r}")
        if self.max_step != math.inf:
            _check(info.max_step, "solver.max_step", f"{self.method} has no maximum step")
        if self.max_order is not None:
            _check(info.max_order is not None, "solver.max_order",
                   f"{self.method} has no settable maximum order")
            _check(isinstance(self.max_order, int) and 1 <= self.max_order <= info.max_order,
                   "solver.max_order",
                   f"must be an integer from 1 to {info.max_order} for {self.method}, "
                   f"got {self.max_order!r}")
        _check(self.jacobian is None or self.jacobian in info.jacobian_modes, "solver.jacobian",
               f"{self.method} takes {' or '.join(map(repr, info.jacobian_modes))}, "
               f"got {self.jacobian!r}")
        _positive(self.learning_rate, "solver.learning_rate")
        _check(0 <= self.momentum < 1, "solver.momentum", f"must be in [0, 1), got {self.momentum}")
        _check(0 <= self.beta1 < 1, "solver.beta1", f"must be in [0, 1), got {self.beta1}")
        _check(0 <= self.beta2 < 1, "solver.beta2", f"must be in [0, 1), got {self.beta2}")
        _positive(self.eps, "solver.eps")
        _check(1 <= self.krylov_dim <= 500, "solver.krylov_dim",
               f"must be an integer from 1 to 500, got {self.krylov_dim}")

    @property
    def info(self):
        return METHODS[self.method]

    def tolerances(self, phase: int) -> tuple[float, float]:
        """(rtol, atol) in force during schedule phase ``phase`` (past the last: the base ones)."""
        if phase < len(self.schedule):
            return self.schedule[phase].rtol, self.schedule[phase].atol
        return self.rtol, self.atol

    @property
    def jacobian_mode(self) -> str:
        """The Jacobian mode in force: the one set, or the method's preferred one."""
        return self.jacobian or self.info.jacobian_modes[0]


@dataclass(frozen=True)
class StopConfig:
    """When a run ends: the end of ODE time, or the first target or limit reached."""

    t_end: float = 1000.0
    target_loss: float | None = None  # stop when the training loss falls to this
    target_accuracy: float | None = None  # classification: stop when train accuracy ≥ this
    target_rms: float | None = None  # squared-error losses: stop when train RMS error ≤ this
    max_wall_time: float | None = None  # seconds
    max_steps: int | None = None

    def __post_init__(self):
        _positive(self.t_end, "stop.t_end")
        _check(self.t_end >= MIN_T_END, "stop.t_end", f"must be at least {MIN_T_END:g} (a "
               f"shorter flow ends before a solver's first step), got {self.t_end!r}")
        if self.target_loss is not None:
            _positive(self.target_loss, "stop.target_loss")
        if self.target_accuracy is not None:
            _check(0 < self.target_accuracy <= 1, "stop.target_accuracy",
                   f"must be a fraction in (0, 1], got {self.target_accuracy}")
        if self.target_rms is not None:
            _positive(self.target_rms, "stop.target_rms")
        if self.max_wall_time is not None:
            _positive(self.max_wall_time, "stop.max_wall_time")
        if self.max_steps is not None:
            _check(self.max_steps >= 1, "stop.max_steps",
                   f"must be at least 1, got {self.max_steps}")


@dataclass(frozen=True)
class ProbeConfig:
    """How often the run measures itself: test metrics and Hessian stiffness estimates."""

    metrics_every: int = 5  # evaluate test loss/accuracy every k accepted steps
    stiffness_every: int = 10  # λmax/λmin every k steps (0: only by time, or never)
    stiffness_every_dt: float | None = None  # ... or every Δt of ODE time
    stiffness_method: str = "lanczos"  # warm-started Lanczos (~8 Hv) or power iteration (4–50)
    stiffness_budget: float = 0.01  # skip due probes while they cost more than this share of the
    # solver's time (0: no limit, every due probe runs)
    full_spectrum: bool = False  # the whole Hessian spectrum (up to a few thousand parameters)

    def __post_init__(self):
        _check(self.metrics_every >= 1, "probe.metrics_every",
               f"must be at least 1, got {self.metrics_every}")
        _check(self.stiffness_every >= 0, "probe.stiffness_every",
               f"must be 0 (off) or a positive number of steps, got {self.stiffness_every}")
        if self.stiffness_every_dt is not None:
            _positive(self.stiffness_every_dt, "probe.stiffness_every_dt")
        _check(math.isfinite(self.stiffness_budget) and self.stiffness_budget >= 0,
               "probe.stiffness_budget",
               f"must be a fraction ≥ 0 (0: no limit), got {self.stiffness_budget!r}")
        _check(self.stiffness_method in STIFFNESS_METHODS, "probe.stiffness_method",
               f"choose one of {', '.join(STIFFNESS_METHODS)}, got {self.stiffness_method!r}")


@dataclass(frozen=True)
class Experiment(TomlDocument):
    """One training run: what to learn, with which network, integrated how, stopped when."""

    name: str = "Two moons, CVODE Newton–Krylov"
    description: str = ""
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    solver: SolverConfig = field(default_factory=SolverConfig)
    stop: StopConfig = field(default_factory=StopConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)

    def __post_init__(self):
        _check(self.network.loss != "bce" or self.dataset.kind not in ("sin", "encoder"),
               "network.loss", f"binary cross-entropy needs class labels; {self.dataset.kind} "
               "is a regression dataset, use mse")
        if self.stop.target_rms is not None:
            _check(self.network.loss == "mse", "stop.target_rms",
                   "an RMS-error target needs the squared-error loss (network.loss = 'mse')")
        first = self.solver.first_step
        _check(first is None or first <= self.stop.t_end, "solver.first_step",
               f"{first:g} is longer than the whole flow (stop.t_end = {self.stop.t_end:g}); "
               "make the first step shorter or stop.t_end longer" if first is not None else "")
        refusal = size_refusal(self)
        if refusal:
            raise ValueError(refusal)

    def with_changes(self, **sections) -> Experiment:
        """A copy with some sections' fields replaced: ``with_changes(solver={"rtol": 1e-2})``."""
        updated = {}
        for name, changes in sections.items():
            current = getattr(self, name)
            updated[name] = replace(current, **changes) if isinstance(changes, dict) else changes
        return replace(self, **updated)


def _drop_none(value):
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, tuple):
        return [_drop_none(v) for v in value]
    return value


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(value, tp, name: str):
    """Check one TOML value against a field's annotation; ints are accepted for floats."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(tp):
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _coerce(value, options[0], name)
    if origin is tuple:
        (item_tp, _) = typing.get_args(tp)
        if isinstance(value, str) and item_tp is str:
            return (value,)
        _check(isinstance(value, list), name, f"must be a list, got {value!r}")
        items = []
        for i, v in enumerate(value):
            try:
                items.append(_coerce(v, item_tp, f"{name}[{i}]"))
            except ValueError as exc:
                if not _dataclass(item_tp) or str(exc).startswith(name):
                    raise
                raise ValueError(f"{name}[{i}]: {exc}") from None  # which table of the list
        return tuple(items)
    if dataclass_type := _dataclass(tp):
        _check(isinstance(value, dict), name, f"must be a table ([{name}]), got {value!r}")
        return _build(dataclass_type, value, name)
    if tp is float:
        _check(isinstance(value, int | float) and not isinstance(value, bool), name,
               f"must be a number, got {value!r}")
        return float(value)
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        if isinstance(value, float) and value.is_integer():
            value, ok = int(value), True
        _check(ok, name, f"must be an integer, got {value!r}")
        return value
    if tp is bool:
        _check(isinstance(value, bool), name, f"must be true or false, got {value!r}")
        return value
    if tp is str:
        _check(isinstance(value, str), name, f"must be text, got {value!r}")
        return value
    raise TypeError(f"unsupported field type {_type_name(tp)} for {name}")


def _dataclass(tp):
    return tp if isinstance(tp, type) and hasattr(tp, "__dataclass_fields__") else None


def _build(cls, data: dict, prefix: str):
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    where = f"[{prefix}]" if prefix else "the top level"
    for key in data:
        _check(key in known, f"{prefix}.{key}" if prefix else key,
               f"unknown key in {where}; allowed: {', '.join(known)}")
    kwargs = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else key
        kwargs[key] = _coerce(value, hints[key], full)
    missing = [f.name for f in known.values()
               if f.name not in kwargs and f.default is MISSING and f.default_factory is MISSING]
    _check(not missing, prefix or "experiment", f"missing keys: {', '.join(missing)}")
    return cls(**kwargs)
