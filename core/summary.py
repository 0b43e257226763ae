"""The comparison's summary table: time and work to each target, where each run ended, and how
far apart the runs' final weights are (the critique's "different local minima" made visible).

Wall times are the solver's own (``solver_wall``): the lab's measurements (metrics, stiffness
probes) are left out so that they do not favour cheap-per-step methods.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from .comparison import Comparison, Target
from .comparison_runner import RunResult


@dataclass(frozen=True)
class TargetHit:
    """When a run first reached a target: solver wall time, gradient calls and step."""

    wall: float
    grads: int
    step: int


def first_hit(snapshots, target: Target) -> TargetHit | None:
    """The first of ``snapshots`` (in step order) that reaches ``target``, or None."""
    for snap in snapshots:
        if target.reached(snap):
            return TargetHit(snap.solver_wall, snap.n_grad, snap.step)
    return None


#: (column, heading, format) of the per-run part of the table, after the target columns.
COLUMNS = [
    ("status", "status", "s"), ("steps", "steps", "d"), ("grads", "∇L evals", "d"),
    ("grads_fd", "of which FD J", "d"),
    ("hvp", "Hv evals", "d"), ("hess", "Hessians", "d"), ("jac_evals", "Jacobians", "d"),
    ("lu_decomps", "LU", "d"), ("rejected", "rejected", "d"),
    ("newton_failures", "Newton fails", "d"), ("wall", "wall s", ".3f"),
    ("loss_train", "loss train", ".4g"), ("loss_test", "loss test", ".4g"),
    ("accuracy_train", "acc train", ".1%"), ("accuracy_test", "acc test", ".1%"),
    ("rms_train", "RMS train", ".4g"), ("rms_test", "RMS test", ".4g"),
    ("lambda_min", "λmin end", ".3g"), ("hessian_end", "Hessian at end", "s"),
]


@dataclass(frozen=True)
class ComparisonSummary:
    """One row per run plus the matrix of distances between final weights."""

    comparison: Comparison
    rows: list[dict]
    distances: np.ndarray  # (runs, runs); NaN where a run has no final θ
    reference: int | None  # the run the ratio columns compare against

    def target_columns(self):
        cols = []
        for j, target in enumerate(self.comparison.targets):
            cols += [(f"t{j}_wall", f"wall s to {target.label}", ".3f"),
                     (f"t{j}_grads", f"∇L to {target.label}", "d")]
            if self.reference is not None:
                ref = self.rows[self.reference]["label"]
                cols += [(f"t{j}_grad_ratio", f"∇L ratio {ref} ÷ run", ".2f"),
                         (f"t{j}_speedup", f"wall ratio {ref} ÷ run", ".2f")]
        return cols

    def columns(self):
        return [("label", "run", "s"), ("method", "method", "s"), *self.target_columns(),
                *COLUMNS]

    def to_markdown(self) -> str:
        cols = [c for c in self.columns() if any(r.get(c[0]) is not None for r in self.rows)]
        lines = ["| " + " | ".join(_cell(h) for _, h, _ in cols) + " |",
                 "|" + "|".join("---" for _ in cols) + "|"]
        for row in self.rows:
            lines.append("| " + " | ".join(_cell(_fmt(row.get(k), f)) for k, _, f in cols)
                         + " |")
        labels = [_cell(r["label"]) for r in self.rows]
        lines += ["", "Distance between final weights ‖θi − θj‖:", "",
                  "| | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
        for label, dist in zip(labels, self.distances, strict=True):
            lines.append(f"| {label} | " + " | ".join(_fmt(d, ".3g") for d in dist) + " |")
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        cols = self.columns()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        labels = [r["label"] for r in self.rows]
        writer.writerow([h for _, h, _ in cols] + [f"distance to {lab}" for lab in labels])
        for row, dist in zip(self.rows, self.distances, strict=True):
            writer.writerow([_csv(row.get(k)) for k, _, _ in cols] + [_csv(d) for d in dist])
        return buf.getvalue()


def summarize(comparison: Comparison, results: list[RunResult],
              reference: int | None = None) -> ComparisonSummary:
    """Build the table from what the runs sent (live: so far), from the snapshots each
    :class:`RunResult` keeps: its first hit of each target and its last."""
    if reference is None:
        methods = [spec.solver.method for spec in comparison.runs]
        reference = methods.index("gd") if "gd" in methods else None
    rows = [_row(comparison, r) for r in results]
    if reference is not None:
        for row in rows:
            for j in range(len(comparison.targets)):
                for key, ratio in ((f"t{j}_wall", f"t{j}_speedup"),
                                   (f"t{j}_grads", f"t{j}_grad_ratio")):
                    ref, mine = rows[reference][key], row[key]
                    row[ratio] = ref / mine if ref is not None and mine else None
    thetas = [r.theta for r in results]
    n = len(results)
    distances = np.full((n, n), math.nan)
    for i in range(n):
        for j in range(n):
            if thetas[i] is not None and thetas[j] is not None:
                distances[i, j] = float(np.linalg.norm(thetas[i] - thetas[j]))
    return ComparisonSummary(comparison, rows, distances, reference)


def _row(comparison: Comparison, result: RunResult) -> dict:
    spec = comparison.runs[result.index]
    row = {"label": spec.label, "method": spec.solver.method, "status": result.status}
    if len(result.hits) != len(comparison.targets):
        raise ValueError(f"run {result.index + 1}: its results track {len(result.hits)} "
                         f"targets, the comparison has {len(comparison.targets)}")
    for j, target in enumerate(comparison.targets):
        hit = first_hit([result.hits[j]] if result.hits[j] is not None else [], target)
        row[f"t{j}_wall"] = hit.wall if hit else None
        row[f"t{j}_grads"] = hit.grads if hit else None
    last = result.report.final if result.report is not None else result.last
    if last is not None:
        row.update(steps=last.step, grads=last.n_grad, hvp=last.n_hvp, hess=last.n_hess,
                   jac_evals=last.jac_evals, lu_decomps=last.lu_decomps, rejected=last.rejected,
                   newton_failures=last.newton_failures, wall=last.solver_wall,
                   loss_train=last.loss_train, loss_test=last.loss_test,
                   accuracy_train=last.accuracy_train, accuracy_test=last.accuracy_test,
                   rms_train=last.rms_train, rms_test=last.rms_test,
                   grads_fd=last.n_grad_fd or None)  # "—" for runs with exact derivatives
    if result.report is not None:
        row["lambda_min"] = result.report.lambda_min_final
        row["hessian_end"] = {True: "indefinite", False: "PSD", None: None}[
            result.report.indefinite]
    return row


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell: ``|`` escaped, line breaks as spaces (a label
    holding either would break the table)."""
    return " ".join(text.replace("|", "\\|").splitlines())


def _fmt(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format(value, spec)


def _csv(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value
