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

Optional, for honest numbers (absent: one run each, as before)::

    seeds = [0, 1, 2]           # or n_seeds = 3 (network.init_seed, +1, +2): every run repeats
                                # from the same θ0 of each seed
    timing_repeats = 3          # each (run, seed) again, for wall times that are not one sample
    reference = true            # or { method = "RK45", rtol = 1e-9, atol = 1e-12 }: how far
                                # each run's weights are from the flow's at the same t
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
#: At most this many samples (seeds × timing repeats) per run: each is a worker process.
MAX_SAMPLES = 50
#: The reference flow's methods: scipy's integrators, which give a dense output per step.
REFERENCE_METHODS = ("Radau", "BDF", "LSODA", "RK45", "DOP853", "RK23")
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
class ReferenceFlow:
    """A tight solution of the flow from each seed's θ0, to measure how far runs leave it.

    The default, Radau with the exact Hessian at rtol 1e-9, is not stability-limited on the
    stiff late phase: measured (loaded 2-core machine) on the sine race's ``lm`` run to
    t ≈ 7,100, Radau 30 s, LSODA 20 s, RK45 104 s; on moons (337 parameters) GD to t = 175,
    Radau 4 s, LSODA 0.6 s, RK45 0.3 s. LSODA cannot beside a run of LSODA or lsoda: its
    Fortran state is one per process."""

    method: str = "Radau"
    rtol: float = 1e-9
    atol: float = 1e-12

    def __post_init__(self):
        _check(self.method in REFERENCE_METHODS, "reference.method",
               f"choose one of {', '.join(REFERENCE_METHODS)}, got {self.method!r}")
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            _check(isinstance(value, int | float) and 0 < value <= 1e-4, f"reference.{name}",
                   f"a reference must be tight: a number above 0 and at most 1e-4 (e.g. "
                   f"1e-9), got {value!r}")

    @property
    def label(self) -> str:
        return f"{self.method}, rtol {self.rtol:g}, atol {self.atol:g}"


@dataclass(frozen=True)
class RunSpec:
    """One run of a comparison: its label, colour and solver settings."""

    label: str
    solver: SolverConfig = field(default_factory=SolverConfig)
    color: str = ""

    def __post_init__(self):
        _check(bool(self.label.strip()), "runs.label", "every run needs a label")


@dataclass(frozen=True)
class SharedProblem(TomlDocument):
    """What every run of a comparison or a sweep shares: the data, the network (and so θ0),
    the stop conditions, the probes and the targets of the summary."""

    name: str = "Comparison"
    description: str = ""
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    stop: StopConfig = field(default_factory=StopConfig)
    probe: ProbeConfig = field(default_factory=ProbeConfig)
    targets: tuple[Target, ...] = ()


@dataclass(frozen=True)
class Comparison(SharedProblem):
    """Runs that share data, network, initial weights, stop conditions and probes."""

    runs: tuple[RunSpec, ...] = ()
    seeds: tuple[int, ...] | None = None  # initial-weight seeds every run repeats over
    n_seeds: int | None = None  # or this many, from network.init_seed on
    timing_repeats: int | None = None  # each (run, seed) this many times, for wall times
    reference: ReferenceFlow | None = None  # the flow's tight solution, for "follows the flow"

    def __post_init__(self):
        object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "runs", tuple(self.runs))
        self._check_repeats()
        _check(1 <= len(self.runs) <= MAX_RUNS, "runs",
               f"a comparison holds 1 to {MAX_RUNS} runs, got {len(self.runs)}")
        labels = [r.label for r in self.runs]
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        _check(not dupes, "runs.label", f"labels must differ; repeated: {', '.join(dupes)}")
        for i in range(len(self.runs)):
            self.experiment(i)  # every run must be a valid experiment on its own
        self._check_reference()

    def _check_repeats(self) -> None:
        if self.seeds is not None:
            object.__setattr__(self, "seeds", tuple(self.seeds))
            _check(self.n_seeds is None, "seeds", "give seeds or n_seeds, not both")
            _check(len(self.seeds) >= 1, "seeds", "list at least one seed, e.g. seeds = [0, 1, 2]")
            bad = [s for s in self.seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
            _check(not bad, "seeds", f"seeds are whole numbers ≥ 0, got {bad[0]!r}" if bad else "")
            repeated = sorted({s for s in self.seeds if self.seeds.count(s) > 1})
            _check(not repeated, "seeds", f"seeds must differ; repeated: {repeated}")
        if self.n_seeds is not None:
            _check(self.n_seeds >= 1, "n_seeds", f"must be at least 1, got {self.n_seeds}")
        if self.timing_repeats is not None:
            _check(self.timing_repeats >= 1, "timing_repeats",
                   f"must be at least 1, got {self.timing_repeats}")
        samples = len(self.seed_list()) * self.repeats
        _check(samples <= MAX_SAMPLES, "timing_repeats" if self.repeats > 1 else "seeds",
               f"seeds × timing repeats is {samples}; at most {MAX_SAMPLES} per run (each "
               "is a process of its own): use fewer")

    def _check_reference(self) -> None:
        """LSODA keeps one problem per process (Fortran state): a reference of it would take
        over a run's own LSODA or lsoda in the same worker."""
        if self.reference is None or self.reference.method != "LSODA":
            return
        clash = [r.label for r in self.runs if r.solver.method in ("LSODA", "lsoda")]
        _check(not clash, "reference.method",
               f"LSODA cannot measure runs that use LSODA or lsoda themselves ({', '.join(clash)}"
               "): its Fortran state is one per process; choose Radau or BDF")

    @classmethod
    def from_dict(cls, data: dict):
        """As :meth:`TomlDocument.from_dict`; ``reference = true`` is the default reference
        flow, ``false`` none."""
        reference = data.get("reference")
        if isinstance(reference, bool):
            data = {k: v for k, v in data.items() if k != "reference" or v}
            if reference:
                data["reference"] = {}
        return super().from_dict(data)

    def seed_list(self) -> tuple[int, ...]:
        """The initial-weight seeds every run uses, the first one for the record, the plots,
        "where it ended" and the distances; without seeds, network.init_seed alone."""
        if self.seeds is not None:
            return self.seeds
        first = self.network.init_seed
        return tuple(range(first, first + (self.n_seeds or 1)))

    @property
    def repeats(self) -> int:
        return self.timing_repeats or 1

    @property
    def samples_per_run(self) -> int:
        """How many times each run is made: seeds × timing repeats."""
        return len(self.seed_list()) * self.repeats

    def experiment(self, index: int, seed: int | None = None) -> Experiment:
        """Run ``index`` as a stand-alone experiment (same data, network, stop and probes);
        ``seed``: its initial weights from that seed instead of network.init_seed."""
        spec = self.runs[index]
        network = self.network if seed is None else replace(self.network, init_seed=seed)
        try:
            return Experiment(name=f"{self.name}: {spec.label}", dataset=self.dataset,
                              network=network, solver=spec.solver, stop=self.stop,
                              probe=self.probe)
        except ValueError as exc:
            raise ValueError(f"runs[{index}] ({spec.label}): {exc}") from None

    def refusals(self, n_params: int, n_outputs: int | None = None) -> list[tuple[int, str]]:
        """Runs that cannot run on this comparison's network of ``n_params`` parameters and
        ``n_outputs`` training values (the engine's size rule for dense matrices,
        :func:`~odeprop.core.dense_limits.dense_jacobian_refusal`), as
        ``(index, "runs[i] (label): why")``: checked before any run starts."""
        from .dense_limits import dense_jacobian_refusal

        refused = []
        for index, spec in enumerate(self.runs):
            why = dense_jacobian_refusal(spec.solver, n_params, n_outputs)
            if why:
                refused.append((index, f"runs[{index}] ({spec.label}): {why}"))
        return refused

    def reference_refusal(self, n_params: int) -> str | None:
        """Why the reference flow's method cannot run on a network of ``n_params`` parameters
        (an implicit one keeps a dense P × P Jacobian), or None."""
        from .dense_limits import DENSE_JACOBIAN_LIMIT

        ref = self.reference
        dense = ref is not None and ref.method in ("Radau", "BDF", "LSODA")
        if not dense or n_params <= DENSE_JACOBIAN_LIMIT:
            return None
        return (f"reference.method: {ref.method} keeps a dense {n_params:,} × {n_params:,} "
                f"Jacobian for this {n_params:,}-parameter network (dense Jacobians are limited "
                f"to {DENSE_JACOBIAN_LIMIT:,} parameters); use method = \"RK45\" or \"DOP853\"")

    def color(self, index: int) -> str:
        return self.runs[index].color or PALETTE[index % len(PALETTE)]

    def with_runs(self, runs) -> Comparison:
        return replace(self, runs=tuple(runs))


def is_comparison(data: dict) -> bool:
    """Whether a parsed TOML document describes a comparison (it has [[runs]])."""
    return "runs" in data
