"""Does a run follow the gradient flow? Its distance from a tight solution of the flow.

A :class:`ReferenceSolution` integrates dθ/dt = −∇L(θ) from the run's own θ0 with a scipy
integrator at tight tolerances, forward only and lazily: asked for θ_ref(t) at increasing t, it
steps just past t and evaluates that step's dense output (nothing is stored per step). A
:class:`TrackedRun` is a :class:`~odeprop.core.run.Run` that, after each snapshot, measures the
relative distance ‖θ_run(t) − θ_ref(t)‖ / ‖θ_ref(t)‖ at the snapshot's t (for GD, Adam and
momentum t is the sum of the learning rates; for ``lm`` the sum of 1/damping). The measuring is
outside the run's clocks and its evaluation counts (the reference has its own objective), and
its result, a :class:`FlowTrack`, comes back in the run's report (:class:`TrackedReport`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, Radau

from .comparison import ReferenceFlow, Target
from .flow import GradientFlow, Objective
from .run import Run, warm_up
from .snapshot import RunReport

_CLASSES = {"RK23": RK23, "RK45": RK45, "DOP853": DOP853, "Radau": Radau, "BDF": BDF,
            "LSODA": LSODA}
_IMPLICIT = ("Radau", "BDF", "LSODA")  # given the exact Jacobian −H
#: A run "follows the flow" when its relative distance from it at the final target and at the
#: end are at or below this. (Along the way a loose solver can be further off for a while: on
#: Owens & Filkin's XOR, dopri5 at 1e-2 is 54 % off at t ≈ 960, where the flow leaves its
#: plateau, and 0.3 % at the end; the largest distance is reported beside.)
FOLLOWS = 0.10
#: The flow the benchmarks' races measure against: tight enough for distances of 0.1 % and up,
#: and one integration per problem serves every configuration (``distances_from_flow``).
RACE_REFERENCE = ReferenceFlow(method="Radau", rtol=1e-8, atol=1e-10)
#: Kept samples are at least this factor apart in t (about 50 a decade), plus the last one.
SPACING = 1.05


class ReferenceFailed(RuntimeError):
    """The reference integrator could not go on (a step size too small, a bad value)."""


class ReferenceSolution:
    """θ_ref(t) of the flow from ``theta0``, for t asked for in increasing order."""

    def __init__(self, objective: Objective, theta0: np.ndarray, spec: ReferenceFlow,
                 t_end: float, max_steps: int | None = None):
        """``max_steps``: give up (:class:`ReferenceFailed`) past this many steps, for callers
        that measure thousands of runs and would rather leave a distance empty than wait."""
        self.flow = GradientFlow(objective)  # its own counts: the run's stay the run's
        self.max_steps = max_steps
        self.steps = 0
        self.theta0 = np.array(theta0, dtype=float)
        options = {"rtol": spec.rtol, "atol": spec.atol}
        if spec.method in _IMPLICIT:
            options["jac"] = self.flow.jac  # exact: −H
        self.solver = _CLASSES[spec.method](self.flow.rhs, 0.0, self.theta0.copy(), t_end,
                                            **options)
        self._dense = None  # the interpolant of the last step taken

    @property
    def t(self) -> float:
        return float(self.solver.t)

    def at(self, t: float) -> np.ndarray:
        """θ_ref(t); :class:`ReferenceFailed` when the integrator stops before ``t``."""
        if t <= 0.0:
            return self.theta0
        solver = self.solver
        while solver.t < t:
            if solver.status != "running":
                raise ReferenceFailed(f"the reference ended at t = {solver.t:.6g} before "
                                      f"t = {t:.6g}")
            if self.max_steps is not None and self.steps >= self.max_steps:
                raise ReferenceFailed(f"the reference took {self.steps} steps and reached only "
                                      f"t = {solver.t:.6g} of {t:.6g}")
            with np.errstate(all="ignore"):
                message = solver.step()
            self.steps += 1
            if solver.status == "failed" or not np.all(np.isfinite(solver.y)):
                raise ReferenceFailed(f"the reference failed at t = {solver.t:.6g}: "
                                      f"{message or 'a value became infinite'}")
            self._dense = None
        if self._dense is None:
            self._dense = solver.dense_output()
        return self._dense(t)


def relative_distance(theta: np.ndarray, reference: np.ndarray) -> float:
    """‖θ − θ_ref‖ / ‖θ_ref‖ (the absolute distance when θ_ref is 0)."""
    scale = float(np.linalg.norm(reference))
    gap = float(np.linalg.norm(theta - reference))
    return gap / scale if scale > 0 else gap


@dataclass(frozen=True)
class FlowSample:
    """The distance from the flow at one snapshot; x-axis fields named as the snapshot's."""

    step: int
    t: float
    n_grad: int
    wall: float
    flow_distance: float


@dataclass(frozen=True)
class FlowTrack:
    """How far one run was from the flow: samples along it (log-spaced in t, the last
    always), the distance at each target's first hit and at the end, the largest seen at any
    snapshot, and why measuring stopped early (``failed``), if it did."""

    samples: tuple[FlowSample, ...]
    at_targets: tuple[float | None, ...]
    at_end: float | None
    largest: float | None
    failed: str = ""

    @property
    def follows(self) -> bool | None:
        """Whether the run is within :data:`FOLLOWS` of the flow at the final target (when it
        reached it) and at its end (None: not measured to its end)."""
        if self.at_end is None:
            return None
        final = self.at_targets[-1] if self.at_targets else None
        return all(d <= FOLLOWS for d in (final, self.at_end) if d is not None)


class FlowTracker:
    """Measures each new snapshot's distance from a :class:`ReferenceSolution`."""

    def __init__(self, reference: ReferenceSolution, targets=()):
        self.reference = reference
        self.targets = tuple(targets)
        self.at_targets: list[float | None] = [None] * len(self.targets)
        self.samples: list[FlowSample] = []
        self.latest: FlowSample | None = None
        self.largest: float | None = None
        self.failed = ""
        self._seen = None

    def see(self, snap, theta: np.ndarray) -> None:
        if snap is self._seen or self.failed or not np.all(np.isfinite(theta)):
            return
        self._seen = snap
        try:
            distance = relative_distance(theta, self.reference.at(snap.t))
        except ReferenceFailed as exc:
            self.failed = str(exc)
            return
        sample = FlowSample(snap.step, snap.t, snap.n_grad, snap.wall, distance)
        self.largest = distance if self.largest is None else max(self.largest, distance)
        for j, target in enumerate(self.targets):
            if self.at_targets[j] is None and target.reached(snap):
                self.at_targets[j] = distance
        kept = self.samples[-1] if self.samples else None
        if kept is None or kept.t <= 0 or sample.t >= kept.t * SPACING:
            self.samples.append(sample)
        self.latest = sample

    def track(self) -> FlowTrack:
        samples = list(self.samples)
        if self.latest is not None and (not samples or samples[-1] is not self.latest):
            samples.append(self.latest)
        at_end = None if self.failed or self.latest is None else self.latest.flow_distance
        return FlowTrack(tuple(samples), tuple(self.at_targets), at_end, self.largest,
                         self.failed)


@dataclass(frozen=True)
class TrackedReport(RunReport):
    """A run's report with its distance from the flow."""

    flow: FlowTrack | None = None


class TrackedRun(Run):
    """A run that measures, after each snapshot, how far it is from the reference flow."""

    def __init__(self, experiment, problem=None, reference: ReferenceFlow | None = None,
                 targets=()):
        super().__init__(experiment, problem)
        p = self.problem
        solution = ReferenceSolution(Objective(p.net, p.dataset.X_train, p.T_train),
                                     p.theta0, reference or ReferenceFlow(),
                                     experiment.stop.t_end)
        self.tracker = FlowTracker(solution, targets)

    def start(self):
        snap = super().start()
        self.tracker.see(snap, self.theta)
        return snap

    def step(self):
        snap = super().step()
        self.tracker.see(snap, self.theta)
        return snap

    def report(self) -> TrackedReport:
        base = super().report()
        values = {f.name: getattr(base, f.name) for f in fields(RunReport)}
        return TrackedReport(**values, flow=self.tracker.track())


@dataclass(frozen=True)
class FlowTracking:
    """What a worker needs to make its run a :class:`TrackedRun` (picklable)."""

    reference: ReferenceFlow
    targets: tuple[Target, ...] = ()

    def make_run(self, experiment, problem) -> TrackedRun:
        return TrackedRun(experiment, problem, self.reference, self.targets)


def follows_text(track: FlowTrack | None) -> str | None:
    """"yes"/"no" for the summary, None when not measured."""
    if track is None:
        return None
    follows = track.follows
    return None if follows is None else ("yes" if follows else "no")




def stop_targets(stop) -> tuple[Target, ...]:
    """An experiment's own targets (its ``[stop]`` loss, accuracy and RMS) as :class:`Target`."""
    wanted = (("loss", stop.target_loss), ("accuracy", stop.target_accuracy),
              ("rms", stop.target_rms))
    return tuple(Target(kind, value) for kind, value in wanted if value is not None)


@dataclass(frozen=True)
class RaceRun:
    """One run of a race to its target: where it ended, the thread CPU seconds on its clock
    (robust on a loaded machine; ``final.solver_wall`` is the wall seconds), θ at the end."""

    final: object  # the last Snapshot
    cpu: float
    theta: np.ndarray
    stepper: object

    @property
    def reached(self) -> bool:
        return (self.final.status == "finished"
                and self.final.message.startswith("reached the target"))


def race_run(experiment, problem) -> RaceRun:
    """Run ``experiment`` from ``problem``'s θ0 to its end (no final report's Hessian), warmed
    up first (:func:`~odeprop.core.run.warm_up`)."""
    warm_up(experiment, problem)
    run = Run(experiment, problem)
    try:
        run.start()
        while not run.done:
            run.step()
    finally:
        run.close()
    return RaceRun(run.last, run.clock.cpu, run.theta, run.stepper)


def distances_from_flow(problem, ends, spec: ReferenceFlow | None = None,
                        max_steps: int | None = None) -> list:
    """The relative distance of each ``(t, θ)`` in ``ends`` from one tight solution of the flow
    from ``problem``'s θ0 (integrated once, to the largest t, visited in increasing t): a float,
    or the reason it could not be measured. A race's runs stop at their target, so this is the
    distance both at the target and at the end."""
    solution = ReferenceSolution(Objective(problem.net, problem.dataset.X_train,
                                           problem.T_train), problem.theta0,
                                 spec or RACE_REFERENCE, max(t for t, _ in ends), max_steps)
    out: list = [None] * len(ends)
    for i in sorted(range(len(ends)), key=lambda i: ends[i][0]):
        t, theta = ends[i]
        try:
            out[i] = relative_distance(theta, solution.at(t))
        except ReferenceFailed as exc:
            out[i] = str(exc)
    return out


def distance_text(distance) -> str:
    """"4.1 % (follows)" or "311 % (leaves)", against :data:`FOLLOWS`."""
    if distance is None:
        return "—"
    if isinstance(distance, str):
        return f"not measured ({distance[:50]})"
    return f"{distance:.1%} ({'follows' if distance <= FOLLOWS else 'leaves'})".replace("%", " %")
