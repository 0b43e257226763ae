"""One cell of a sweep, run to its end on the engine and turned into one row of the results
table: costs to each target, final metrics, λmin, distance from the flow and the final weights.

Pure engine code (no Dask): the executor calls :func:`run_cells` on its workers, and the tests and
the benchmark call it directly for the sequential baseline.
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np

from .comparison import ReferenceFlow
from .fidelity import distances_from_flow
from .run import Problem, Run, warm_up
from .sweep import Cell, Sweep, axis_value_text

#: Final weights are kept in the table (for clustering) up to this many parameters.
THETA_KEPT = 10_000
#: A reference integration gives up after this many steps (its distance is then left empty).
REFERENCE_MAX_STEPS = 200_000
#: Costs recorded at each target's first hit (column suffixes).
TARGET_COSTS = ("grads", "hvp", "jac_evals", "lu_decomps", "steps", "wall")
#: Per-run columns after the axis values and before the targets.
RUN_COLUMNS = ("status", "message", "n_params", "steps", "t", "grads", "hvp", "hess",
               "jac_evals", "lu_decomps", "rejected", "newton_failures", "wall", "loss_train",
               "loss_test", "accuracy_train", "accuracy_test", "rms_train", "rms_test",
               "lambda_min", "lambda_max", "indefinite", "flow_distance")


def target_key(target) -> str:
    """A column-name prefix for a target, e.g. ``rms0.02``, ``loss0.001``."""
    return f"{target.kind}{target.value:g}"


def run_cells(sweep_toml: str, indices: list[int]) -> tuple[list[dict], float]:
    """Run the cells ``indices`` of the sweep given as TOML text (one Dask task); the rows and
    the seconds they took (the executor sizes its batches from them)."""
    begin = time.perf_counter()
    sweep, cells = _parsed(sweep_toml)
    return [run_cell(sweep, cells[i]) for i in indices], time.perf_counter() - begin


@functools.lru_cache(maxsize=4)
def _parsed(sweep_toml: str) -> tuple[Sweep, list[Cell]]:
    sweep = Sweep.from_toml(sweep_toml)
    return sweep, list(sweep.cells())


def run_cell(sweep: Sweep, cell: Cell) -> dict:
    """Run one cell to its end; a failure is a row with its message, never an exception."""
    row = blank_row(sweep, cell)
    try:
        _run(sweep, cell, row)
    except Exception as exc:  # a bug or a library fault: the row says so, the sweep goes on
        row["status"] = "failed"
        row["message"] = f"{type(exc).__name__}: {exc}"
    return row


def blank_row(sweep: Sweep, cell: Cell, status: str | None = None, message: str = "") -> dict:
    """A cell's row before (or instead of) running it: its identity, every figure empty."""
    spec = sweep.methods[cell.method]
    row = {"cell": cell.index, "configuration": sweep.configuration(cell),
           "method_label": spec.label, "method": spec.solver.method, "repeat": cell.repeat}
    for name, value in zip(sweep.axis_names, cell.values, strict=True):
        row[name] = axis_value_text(value)
    row.update(dict.fromkeys(RUN_COLUMNS))
    for target in sweep.targets:
        row[f"{target_key(target)}_reached"] = False
        row.update(dict.fromkeys(f"{target_key(target)}_{c}" for c in TARGET_COSTS))
    row["theta"] = row["cluster"] = None  # the cluster is decided when the sweep ends
    row["status"], row["message"] = status, message if status else None
    return row


def _run(sweep: Sweep, cell: Cell, row: dict) -> None:
    experiment = sweep.experiment(cell)
    problem = Problem.build(experiment)
    warm_up(experiment, problem)  # this worker's first calls of the method, untimed
    run = Run(experiment, problem)
    hits = [None] * len(sweep.targets)

    def watch(snap):
        for j, target in enumerate(sweep.targets):
            if hits[j] is None and target.reached(snap):
                hits[j] = snap

    try:
        report = run.run_to_end(watch)
    finally:
        run.close()
    last = report.final
    row.update(
        status=report.status, message=report.message, n_params=report.n_params,
        steps=last.step, t=last.t, grads=last.n_grad, hvp=last.n_hvp, hess=last.n_hess,
        jac_evals=last.jac_evals, lu_decomps=last.lu_decomps, rejected=last.rejected,
        newton_failures=last.newton_failures, wall=last.solver_wall, loss_train=last.loss_train,
        loss_test=last.loss_test, accuracy_train=last.accuracy_train,
        accuracy_test=last.accuracy_test, rms_train=last.rms_train, rms_test=last.rms_test,
        lambda_min=report.lambda_min_final, lambda_max=report.lambda_max_final,
        indefinite=report.indefinite)
    for target, hit in zip(sweep.targets, hits, strict=True):
        if hit is not None:
            key = target_key(target)
            row[f"{key}_reached"] = True
            row.update({f"{key}_grads": hit.n_grad, f"{key}_hvp": hit.n_hvp,
                        f"{key}_jac_evals": hit.jac_evals, f"{key}_lu_decomps": hit.lu_decomps,
                        f"{key}_steps": hit.step, f"{key}_wall": hit.solver_wall})
    theta = report.theta
    finite = bool(np.all(np.isfinite(theta)))
    if sweep.reference is not None and finite:
        row["flow_distance"] = flow_distance(run, theta, last.t, sweep.reference)
    if finite and report.status != "failed" and theta.size <= THETA_KEPT:
        row["theta"] = theta.tolist()


def flow_distance(run: Run, theta: np.ndarray, t: float, reference: ReferenceFlow):
    """‖θ − θ_ref(t)‖ / ‖θ_ref(t)‖ at the run's end (:func:`~odeprop.core.fidelity.
    distances_from_flow`, the comparisons' reference); None if the reference fails or does not
    get there within :data:`REFERENCE_MAX_STEPS` steps."""
    if not (t > 0 and math.isfinite(t)):
        return None
    distance = distances_from_flow(run.problem, [(t, theta)], reference,
                                   max_steps=REFERENCE_MAX_STEPS)[0]
    return distance if isinstance(distance, float) else None
