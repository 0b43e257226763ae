"""Machine-checkable claims about a lesson step's run, and the headless walk that tests them.

A step's ``check = { kind = "h_lambda_on_bound", tolerance = 0.05 }`` names one of
:data:`CHECKS`; its other keys are the kind's parameters (``run`` and ``than`` name runs of a
comparison by label; an experiment has one run and no ``run``). :func:`walk_step` runs what a
step runs, in this process, one run after the other from the same θ0 (a comparison's first
seed; no timing repeats), keeping every snapshot, and :func:`evaluate` says whether the claim
holds, with the measured figures in one line.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from .comparison import Comparison, ReferenceFlow, Target
from .config import Experiment, SolverConfig
from .fidelity import TrackedRun
from .run import Problem, Run
from .snapshot import RunReport, Snapshot

#: The flow an experiment's step is measured against (a comparison's own ``reference`` for a
#: comparison): on the two moons, RK45 at 1e-8 follows the flow to t = 175 in about 0.3 s.
LESSON_REFERENCE = ReferenceFlow("RK45", rtol=1e-8, atol=1e-10)


@dataclass(frozen=True)
class Check:
    """A claim about a step's run: its kind and the parameters that kind takes."""

    kind: str
    run: str | None = None  # a comparison's run, by label
    than: str | None = None  # the run it is compared with
    tolerance: float | None = None
    at_least: float | None = None
    at_most: float | None = None


@dataclass(frozen=True)
class RunOutcome:
    """One run of a step, walked headless: every snapshot and the report."""

    label: str
    solver: SolverConfig
    snapshots: tuple[Snapshot, ...]
    report: RunReport
    goal: Target | None  # the step's final target: the comparison's last, the stop's own

    @property
    def final(self) -> Snapshot:
        return self.snapshots[-1]

    def lambdas(self) -> list[float]:
        return [s.lambda_max for s in self.snapshots if s.lambda_max is not None]

    def h_lambdas(self) -> list[float]:
        return [s.h_lambda_max for s in self.snapshots if s.h_lambda_max is not None]

    def grads_to_goal(self) -> int | None:
        """Gradient evaluations to the first snapshot at the goal (the end without one)."""
        if self.goal is None:
            return self.final.n_grad
        return next((s.n_grad for s in self.snapshots if self.goal.reached(s)), None)

    @property
    def edge(self) -> float | None:
        """Gradient descent's edge of stability 2/η (None: not a learning-rate method)."""
        return 2.0 / self.solver.learning_rate if self.solver.method == "gd" else None


@dataclass(frozen=True)
class StepOutcome:
    """Every run of one step."""

    runs: tuple[RunOutcome, ...]

    def pick(self, label: str | None) -> RunOutcome:
        if label is None:
            return self.runs[0]
        return next(r for r in self.runs if r.label == label)


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    detail: str


@dataclass(frozen=True)
class CheckKind:
    """One named claim: its function (docstring: what it asserts), the parameters it takes
    and needs, whether it measures the distance from the flow, and whether, without ``run``, a
    comparison's claim is about every run it applies to."""

    name: str
    test: Callable[[StepOutcome, Check], CheckResult]
    params: tuple[str, ...]
    required: tuple[str, ...] = ()
    flow: bool = False
    every_run: bool = False

    @property
    def summary(self) -> str:
        return " ".join((self.test.__doc__ or "").split("\n\n")[0].split())


CHECKS: dict[str, CheckKind] = {}
_PARAMS = tuple(f.name for f in fields(Check) if f.name != "kind")


def _claim(params=(), required=(), flow=False, every_run=False):
    def register(test):
        CHECKS[test.__name__] = CheckKind(test.__name__, test, ("run", *params), required,
                                          flow, every_run)
        return test
    return register


def _ok(passed, detail: str) -> CheckResult:
    return CheckResult(bool(passed), detail)


def _pct(value: float) -> str:
    return f"{100 * value:.2g} %" if value < 0.1 else f"{100 * value:.0f} %"


# -- the claims ------------------------------------------------------------------------------
@_claim()
def fixed_step(outcome: StepOutcome, check: Check) -> CheckResult:
    """Every step's h is the learning rate η and t = steps × η: gradient descent is explicit
    Euler with step η."""
    run = outcome.pick(check.run)
    eta, snaps = run.solver.learning_rate, run.snapshots[1:]
    if not snaps:
        return _ok(False, "the run took no step")
    bad = [s for s in snaps if s.h is None or abs(s.h - eta) > 1e-12 * eta
           or abs(s.t - s.step * eta) > 1e-9 * max(s.t, 1.0)]
    last = snaps[-1]
    return _ok(not bad, f"h = η = {eta:g} at all {len(snaps)} steps; t = {last.t:g} = "
               f"{last.step} × {eta:g}" if not bad else
               f"step {bad[0].step}: h = {bad[0].h}, t = {bad[0].t:g}, η = {eta:g}")


@_claim(("at_least", "at_most"), flow=True)
def flow_distance(outcome: StepOutcome, check: Check) -> CheckResult:
    """The run's weights at its end are within [at_least, at_most] of the flow's at the same t
    (relative distance ‖θ − θflow‖ / ‖θflow‖)."""
    run = outcome.pick(check.run)
    track = getattr(run.report, "flow", None)
    if track is None or track.at_end is None:
        return _ok(False, "the distance from the flow was not measured to the end"
                   + (f" ({track.failed})" if track is not None and track.failed else ""))
    d = track.at_end
    return _ok(_within(d, check), f"{run.label}: ends {_pct(d)} from the flow (largest on the "
               f"way {_pct(track.largest)}){_bounds(check, _pct)}")


@_claim(("tolerance",))
def h_lambda_on_bound(outcome: StepOutcome, check: Check) -> CheckResult:
    """Over the last half of the run's probes the median h·λmax lies within ``tolerance``
    (relative, default 0.1) of the method's stability bound: the step is stability-limited."""
    run, tol = outcome.pick(check.run), check.tolerance or 0.1
    values, bound = run.h_lambdas(), run.final.stability_bound
    if bound is None:
        return _ok(False, f"{run.solver.method} has no stability bound on the real axis")
    if len(values) < 4:
        return _ok(False, f"only {len(values)} probes of h·λmax")
    median = statistics.median(values[len(values) // 2:])
    return _ok(abs(median - bound) <= tol * bound,
               f"h·λmax over the last half: median {median:.3g} against the bound {bound:.3g} "
               f"(within {tol:.0%}: {abs(median - bound) <= tol * bound})")


@_claim(("at_least",), required=("at_least",))
def h_lambda_beyond(outcome: StepOutcome, check: Check) -> CheckResult:
    """The run's largest h·λmax is at least ``at_least``: its steps go far past every explicit
    method's bound (2 for GD, 3.31 for RK45)."""
    run = outcome.pick(check.run)
    values = run.h_lambdas()
    top = max(values, default=math.nan)
    return _ok(top >= check.at_least, f"largest h·λmax {top:.3g} (at least {check.at_least:g})")


@_claim(("tolerance",), every_run=True)
def lambda_rises_to_edge(outcome: StepOutcome, check: Check) -> CheckResult:
    """Gradient descent's sharpness η·λmax starts below 2 − ``tolerance`` (default 0.1) and its
    median over the last half of the probes lies within ``tolerance`` of 2: it rises to the edge
    of stability and stays there. Without ``run``: every gradient-descent run."""
    tol = check.tolerance if check.tolerance is not None else 0.1
    runs = [outcome.pick(check.run)] if check.run else [r for r in outcome.runs if r.edge]
    parts, passed = [], bool(runs)
    for run in runs:
        sharp = [run.solver.learning_rate * lam for lam in run.lambdas()]
        if len(sharp) < 4:
            return _ok(False, f"{run.label}: only {len(sharp)} probes of λmax")
        median = statistics.median(sharp[len(sharp) // 2:])
        passed &= sharp[0] < 2 - tol and abs(median - 2) <= tol
        parts.append(f"η = {run.solver.learning_rate:g}: η·λmax {sharp[0]:.2f} → median "
                     f"{median:.3f}")
    return _ok(passed, "; ".join(parts) or "no gradient-descent run")


@_claim()
def lambda_passes_edges(outcome: StepOutcome, check: Check) -> CheckResult:
    """The run's λmax starts below every gradient-descent run's edge 2/η and ends above all of
    them: the flow sharpens on where gradient descent stops."""
    run = outcome.pick(check.run)
    edges = [r.edge for r in outcome.runs if r.edge]
    lambdas = run.lambdas()
    if not edges or len(lambdas) < 2:
        return _ok(False, "needs gradient-descent runs beside it and λmax probes")
    return _ok(lambdas[0] < min(edges) and lambdas[-1] > max(edges),
               f"{run.label}: λmax {lambdas[0]:.3g} → {lambdas[-1]:.3g}; edges 2/η "
               f"{', '.join(f'{e:.3g}' for e in sorted(edges))}")


@_claim(("than", "at_least", "at_most"), required=("run", "than", "at_least"))
def fewer_gradients(outcome: StepOutcome, check: Check) -> CheckResult:
    """``run`` needs at least ``at_least`` (and at most ``at_most``) times fewer gradient
    evaluations than ``than`` to the step's final target (to the end without a target)."""
    run, other = outcome.pick(check.run), outcome.pick(check.than)
    mine, theirs = run.grads_to_goal(), other.grads_to_goal()
    if mine is None or theirs is None:
        missed = run.label if mine is None else other.label
        return _ok(False, f"{missed} did not reach {run.goal.label if run.goal else 'the end'}")
    ratio = theirs / max(mine, 1)
    return _ok(_within(ratio, check), f"∇L to {run.goal.label if run.goal else 'the end'}: "
               f"{mine:,} against {theirs:,} ({ratio:.1f}×){_bounds(check, '{:g}×'.format)}")


@_claim(("than",), required=("run", "than"))
def same_steps(outcome: StepOutcome, check: Check) -> CheckResult:
    """``run`` and ``than`` take the same number of steps and gradient evaluations."""
    a, b = outcome.pick(check.run).final, outcome.pick(check.than).final
    return _ok((a.step, a.n_grad) == (b.step, b.n_grad),
               f"steps {a.step} and {b.step}; ∇L {a.n_grad:,} and {b.n_grad:,}")


@_claim(("at_least",), required=("at_least",))
def fd_share(outcome: StepOutcome, check: Check) -> CheckResult:
    """At least ``at_least`` of the run's gradient evaluations built finite-difference
    Jacobians."""
    final = outcome.pick(check.run).final
    share = final.n_grad_fd / max(final.n_grad, 1)
    return _ok(share >= check.at_least, f"{final.n_grad_fd:,} of {final.n_grad:,} gradient "
               f"evaluations for finite-difference Jacobians ({share:.0%})")


@_claim()
def reaches_target(outcome: StepOutcome, check: Check) -> CheckResult:
    """The run reaches the step's final target."""
    run = outcome.pick(check.run)
    grads = run.grads_to_goal() if run.goal else None
    if run.goal is None:
        return _ok(False, "the step has no target")
    return _ok(grads is not None, f"{run.label}: {run.goal.label} after {grads:,} gradient "
               "evaluations" if grads is not None else f"{run.label}: {run.final.message}")


@_claim(("than", "at_least", "at_most"), required=("run", "than"))
def weights_apart(outcome: StepOutcome, check: Check) -> CheckResult:
    """The final weights of ``run`` and ``than`` are between ``at_least`` and ``at_most`` apart
    (‖θrun − θthan‖): the same θ0, different places."""
    a, b = outcome.pick(check.run), outcome.pick(check.than)
    gap = float(np.linalg.norm(a.report.theta - b.report.theta))
    return _ok(_within(gap, check), f"‖θ({a.label}) − θ({b.label})‖ = {gap:.3g}"
               f"{_bounds(check, '{:g}'.format)}")


def _hessian_end(run: RunOutcome) -> str:
    return (f"{run.label}: λmin {run.report.lambda_min_final:.3g}, λmax "
            f"{run.report.lambda_max_final:.3g} at the end")


@_claim()
def negative_curvature_at_end(outcome: StepOutcome, check: Check) -> CheckResult:
    """The Hessian where the run ends has a clearly negative eigenvalue: not a minimum (a
    saddle, or still on a slope)."""
    run = outcome.pick(check.run)
    return _ok(run.report.indefinite is True, _hessian_end(run))


@_claim()
def no_negative_curvature_at_end(outcome: StepOutcome, check: Check) -> CheckResult:
    """The Hessian where the run ends has no clearly negative eigenvalue (a minimum, as far as
    the curvature tells)."""
    run = outcome.pick(check.run)
    return _ok(run.report.indefinite is False, _hessian_end(run))


@_claim()
def matrix_free(outcome: StepOutcome, check: Check) -> CheckResult:
    """The run used Hessian-vector products and never formed a Hessian or a Jacobian."""
    final = outcome.pick(check.run).final
    return _ok(final.n_hvp > 0 and final.n_hess == 0 and not final.jac_evals,
               f"{final.n_hvp:,} Hv products, {final.n_hess} Hessians, "
               f"{final.jac_evals or 0} Jacobians")


def _within(value: float, check: Check) -> bool:
    return ((check.at_least is None or value >= check.at_least)
            and (check.at_most is None or value <= check.at_most))


def _bounds(check: Check, fmt) -> str:
    parts = ([f"at least {fmt(check.at_least)}"] if check.at_least is not None else []) + \
            ([f"at most {fmt(check.at_most)}"] if check.at_most is not None else [])
    return f" ({', '.join(parts)})" if parts else ""


# -- validation --------------------------------------------------------------------------------
def check_problem(check: Check, document) -> tuple[str, str] | None:
    """What is wrong with ``check`` on a step that loads ``document``, as (field, message), or
    None: an unknown kind, a parameter the kind does not take or needs, a run label the
    comparison lacks, a flow check on a comparison without a reference."""
    kind = CHECKS.get(check.kind)
    if kind is None:
        return "kind", f"no check named {check.kind!r}; choose one of {', '.join(CHECKS)}"
    given = [p for p in _PARAMS if getattr(check, p) is not None]
    for param in given:
        if param not in kind.params:
            return param, f"{kind.name} takes {', '.join(kind.params)}, not {param}"
    comparison = isinstance(document, Comparison)
    needed = [p for p in kind.required if comparison or p != "run"]
    if comparison and not kind.every_run and "run" not in needed:
        needed.insert(0, "run")
    for param in needed:
        if param not in given:
            return param, f"{kind.name} needs {param}" + (
                " (a run's label)" if param in ("run", "than") else "")
    for param in ("run", "than"):
        label = getattr(check, param)
        if label is None:
            continue
        if not comparison:
            return param, ("names a run of a comparison; this step loads an experiment (one "
                           "run): leave it out" if param == "run" else
                           f"{kind.name} compares two runs of a comparison")
        labels = [spec.label for spec in document.runs]
        if label not in labels:
            return param, f"no run labelled {label!r}; the runs are {', '.join(labels)}"
    if kind.flow and comparison and document.reference is None:
        return "kind", (f"{kind.name} measures the distance from the flow: give the comparison "
                        "a reference (reference = true)")
    return None


# -- the walk ----------------------------------------------------------------------------------
def _goal(stop) -> Target | None:
    for kind, value in (("loss", stop.target_loss), ("accuracy", stop.target_accuracy),
                        ("rms", stop.target_rms)):
        if value is not None:
            return Target(kind, value)
    return None


def walk_step(lesson, index: int) -> StepOutcome:
    """Run what step ``index`` of ``lesson`` runs, headless, and keep every snapshot."""
    document, check = lesson.run_document(index), lesson.steps[index].check
    flow = check is not None and CHECKS[check.kind].flow
    if isinstance(document, Experiment):
        jobs = [(document.solver.method, document)]
        goal, reference = _goal(document.stop), LESSON_REFERENCE
    else:
        seed = document.seed_list()[0]
        jobs = [(spec.label, document.experiment(i, seed=seed))
                for i, spec in enumerate(document.runs)]
        goal = document.targets[-1] if document.targets else _goal(document.stop)
        reference = document.reference
    problem = Problem.build(jobs[0][1])
    runs = []
    for label, experiment in jobs:
        run = TrackedRun(experiment, problem, reference, (goal,) if goal else ()) if flow \
            else Run(experiment, problem)
        try:
            snaps = [run.start()]
            while not run.done:
                snaps.append(run.step())
            runs.append(RunOutcome(label, experiment.solver, tuple(snaps), run.report(), goal))
        finally:
            run.close()
    return StepOutcome(tuple(runs))


def evaluate(check: Check, outcome: StepOutcome) -> CheckResult:
    """Whether ``check`` holds on a walked step."""
    return CHECKS[check.kind].test(outcome, check)
