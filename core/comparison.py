"""Side by side: several solvers on one network from bitwise identical initial weights.

A :class:`Comparison` is one dataset, one network, shared stop conditions and probes, targets for
the summary table, and up to :data:`MAX_RUNS` runs, each with its own solver settings and colour.
It loads and saves as TOML like an :class:`~odeprop.core.config.Experiment`::

    name = "..."
    [dataset] ... [network] ... [stop] ... [probe] ...
    [[targets]]                 # the summary reports wall time and gradient calls to each
    kind = "loss"               # loss, accuracy or rms
    value = 1e-3
    [[runs]]
    label = "BDF, exact J"
    color = "#1f77b4"           # optional
    [runs.solver]
    method = "BDF"
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .config import (
    DatasetConfig,
    Experiment,
    NetworkConfig,
    ProbeConfig,
    SolverConfig,
    StopConfig,
    TomlDocument,
    _check,
)

#: The teaching preset "The 2019 article and its critique" puts eight runs side by side.
MAX_RUNS = 8
TARGET_KINDS = ("loss", "accuracy", "rms")
#: Distinct colours (Tableau 10), assigned in order to runs that do not choose one.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")


@dataclass(frozen=True)
class Target:
    """A level the summary table reports time and work to reach (first snapshot at or past it)."""

    kind: str
    value: float

    def __post_init__(self):
        _check(self.kind in TARGET_KINDS, "targets.kind",
               f"choose one of {', '.join(TARGET_KINDS)}, got {self.kind!r}")
        _check(self.value > 0 and (self.kind != "accuracy" or self.value <= 1), "targets.value",
               f"must be positive (a fraction ≤ 1 for accuracy), got {self.value!r}")

    @property
    def label(self) -> str:
        if self.kind == "accuracy":
            return f"accuracy ≥ {self.value:.1%}"
        return f"{'RMS error' if self.kind == 'rms' else 'loss'} ≤ {self.value:g}"

    def reached(self, snap) -> bool:
        if self.kind == "loss":
            return snap.loss_train <= self.value
        if self.kind == "accuracy":
            return snap.accuracy_train is not None and snap.accuracy_train >= self.value
        return snap.rms_train is not None and snap.rms_train <= self.value


@dataclass(frozen=True)
class RunSpec:
    """One run of a comparison: its label, colour and solver settings."""

    label: str
    solver: SolverConfig = field(default_factory=SolverConfig)
    color: str = ""

    def __post_init__(self):
        _check(bool(self.label.strip()), "runs.label", "every run needs a label")


@dataclass(frozen=True)
class Comparison(TomlDocument):
    """Runs that share data, network, initial weights, stop conditions and probes."""

    name: str = "Comparison"
    description: str = ""
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    stop: StopConfig = field(default_factory=StopConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    targets: tuple[Target, ...] = ()
    runs: tuple[RunSpec, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "runs", tuple(self.runs))
        _check(1 <= len(self.runs) <= MAX_RUNS, "runs",
               f"a comparison holds 1 to {MAX_RUNS} runs, got {len(self.runs)}")
        labels = [r.label for r in self.runs]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        _check(not dupes, "runs.label", f"labels must differ; repeated: {', '.join(dupes)}")
        for i in range(len(self.runs)):
            self.experiment(i)  # every run must be a valid experiment on its own

    def experiment(self, index: int) -> Experiment:
        """Run ``index`` as a stand-alone experiment (same data, network, stop and probes)."""
        spec = self.runs[index]
        try:
            return Experiment(name=f"{self.name}: {spec.label}", dataset=self.dataset,
                              network=self.network, solver=spec.solver, stop=self.stop,
                              probe=self.probe)
        except ValueError as exc:
            raise ValueError(f"runs[{index}] ({spec.label}): {exc}") from None

    def refusals(self, n_params: int, n_outputs: int | None = None) -> list[tuple[int, str]]:
        """Runs that cannot run on this comparison's network of ``n_params`` parameters and
        ``n_outputs`` training values (the engine's size rule for dense matrices,
        :func:`~odeprop.core.solvers.dense_jacobian_refusal`), as
        ``(index, "runs[i] (label): why")``: checked before any run starts."""
        from .solvers import dense_jacobian_refusal

        refused = []
        for index, spec in enumerate(self.runs):
            why = dense_jacobian_refusal(spec.solver, n_params, n_outputs)
            if why:
                refused.append((index, f"runs[{index}] ({spec.label}): {why}"))
        return refused

    def color(self, index: int) -> str:
        return self.runs[index].color or PALETTE[index % len(PALETTE)]

    def with_runs(self, runs) -> Comparison:
        return replace(self, runs=tuple(runs))


def is_comparison(data: dict) -> bool:
    """Whether a parsed TOML document describes a comparison (it has [[runs]])."""
    return "runs" in data
