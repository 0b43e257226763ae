"""The comparison's summary table: time and work to each target, where each run ended, and how
far apart the runs' final weights are (the critique's "different local minima" made visible).

Wall times are the solver's own (``solver_wall``): the lab's measurements (metrics, stiffness
probes) are left out so that they do not favour cheap-per-step methods.

With seeds or timing repeats, the costs and wall times (to each target, and at the end: steps,
∇L, wall) are medians over every making of the run, shown with their range [min–max] and, when
some makings did not reach a target, how many did; where each run ended (losses, λmin), the
distance matrix and the distance from the flow are the first seed's. The table leads with the
final target's columns (then the distance from the flow, then the other targets).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

from .comparison import Comparison, Target
from .comparison_runner import RunResult
from .fidelity import FOLLOWS, follows_text


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
#: Integer columns whose median (over the makings of a repeated run) may fall between two
#: counts.
_COUNTS = ("steps", "grads")


@dataclass(frozen=True)
class ComparisonSummary:
    """One row per run plus the matrix of distances between final weights."""

    comparison: Comparison
    rows: list[dict]
    distances: np.ndarray  # (runs, runs); NaN where a run has no final θ
    reference: int | None  # the run the ratio columns compare against

    @property
    def repeated(self) -> bool:
        return self.comparison.samples_per_run > 1

    def target_columns(self):
        """Each target's columns, the final (tightest) target's first."""
        cols = []
        targets = list(enumerate(self.comparison.targets))
        for j, target in targets[-1:] + targets[:-1]:
            cols += [(f"t{j}_wall", f"wall s to {target.label}", ".3f"),
                     (f"t{j}_grads", f"∇L to {target.label}", ".6g" if self.repeated else "d")]
            if self.reference is not None:
                ref = self.rows[self.reference]["label"]
                cols += [(f"t{j}_grad_ratio", f"∇L ratio {ref} ÷ run", ".2f"),
                         (f"t{j}_speedup", f"wall ratio {ref} ÷ run", ".2f")]
        return cols

    def columns(self):
        targets = self.target_columns()
        final = len(targets) // max(1, len(self.comparison.targets))  # the final target's
        per_run = [(k, h, ".6g" if self.repeated and k in _COUNTS else f) for k, h, f in COLUMNS]
        return [("label", "run", "s"), ("method", "method", "s"), *targets[:final],
                *self.flow_columns(), *targets[final:], *per_run]

    def flow_columns(self):
        """The distance from the reference flow (when the comparison has one)."""
        if self.comparison.reference is None:
            return []
        cols = []
        if self.comparison.targets:
            j = len(self.comparison.targets) - 1
            cols.append((f"flow_t{j}", f"from flow at {self.comparison.targets[j].label}",
                         ".2%"))
        return cols + [("flow_end", "from flow at end", ".2%"),
                       ("follows", f"follows the flow (≤ {FOLLOWS:.0%})", "s"),
                       ("flow_max", "from flow, largest", ".2%")]

    def text(self, row: dict, key: str, spec: str) -> str:
        """A cell as shown: the value in ``spec``, and for a median its [min–max] range and,
        when not every making counted, how many did (e.g. ``0.12 [0.10–0.15] 4/5``)."""
        shown = _fmt(row.get(key), spec)
        spread = row.get(f"{key}_range")
        if spread is None:
            return shown
        low, high, count, total = spread
        if count:
            shown += f" [{_fmt(low, spec)}–{_fmt(high, spec)}]"
        return shown + (f" {count}/{total}" if count < total else "")

    @property
    def notes(self) -> list[str]:
        """What the table's numbers are: repeats, seeds, the reference flow."""
        comparison, notes = self.comparison, []
        seeds = comparison.seed_list()
        if self.repeated:
            notes.append(
                f"Costs and wall times: median [min–max] over {len(seeds)} seed"
                f"{'s' if len(seeds) > 1 else ''} ({', '.join(map(str, seeds))}) × "
                f"{comparison.repeats} timing repeat{'s' if comparison.repeats > 1 else ''} "
                f"per run; k/n: how many reached it. Where each run ended, the distances "
                f"between final weights and from the flow: seed {seeds[0]}.")
        if comparison.reference is not None:
            notes.append(
                f"From flow: ‖θ(t) − θflow(t)‖ / ‖θflow(t)‖ against a {comparison.reference.label}"
                f" solution from the same θ0 (seed {seeds[0]}), at the same t; follows: at most "
                f"{FOLLOWS:.0%} off at the final target and at the end; largest: at any "
                "snapshot.")
        return notes

    def to_markdown(self) -> str:
        cols = [c for c in self.columns() if any(r.get(c[0]) is not None for r in self.rows)]
        lines = ["| " + " | ".join(_cell(h) for _, h, _ in cols) + " |",
                 "|" + "|".join("---" for _ in cols) + "|"]
        for row in self.rows:
            lines.append("| " + " | ".join(_cell(self.text(row, k, f)) for k, _, f in cols)
                         + " |")
        if self.notes:
            lines += ["", *self.notes]
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
        ranged = {k for k, _, _ in cols if any(f"{k}_range" in r for r in self.rows)}
        heads = []
        for k, h, _ in cols:
            heads += [h] + ([f"{h} min", f"{h} max", f"{h} samples"] if k in ranged else [])
        writer.writerow(heads + [f"distance to {lab}" for lab in labels])
        for row, dist in zip(self.rows, self.distances, strict=True):
            cells = []
            for k, _, _ in cols:
                cells.append(_csv(row.get(k)))
                if k in ranged:
                    low, high, count, _total = row.get(f"{k}_range") or (None, None, 0, 0)
                    cells += [_csv(low), _csv(high), count]
            writer.writerow(cells + [_csv(d) for d in dist])
        return buf.getvalue()


def summarize(comparison: Comparison, results: list[RunResult],
              reference: int | None = None) -> ComparisonSummary:
    """Build the table from what the runs sent (live: so far), from the snapshots each
    :class:`RunResult` keeps: its first hit of each target and its last."""
    if reference is None:
        methods = [spec.solver.method for spec in comparison.runs]
        reference = methods.index("gd") if "gd" in methods else None
    rows = [_row(comparison, r) for r in results]
    for row, result in zip(rows, results, strict=True):
        if comparison.samples_per_run > 1:
            _use_medians(comparison, row, result)
        if comparison.reference is not None:
            _add_flow(comparison, row, result)
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


def _use_medians(comparison: Comparison, row: dict, result: RunResult) -> None:
    """Costs and wall times as medians over every making of the run (the first seed's first
    and its ``samples``), each with ``{key}_range`` = (min, max, counted, makings)."""
    makings = [result, *result.samples]
    total = comparison.samples_per_run
    values: dict[str, list] = {}
    for j in range(len(comparison.targets)):
        hits = [m.hits[j] for m in makings if m.hits[j] is not None]
        values[f"t{j}_wall"] = [h.solver_wall for h in hits]
        values[f"t{j}_grads"] = [h.n_grad for h in hits]
    ends = [m.report.final if m.report is not None else m.last for m in makings]
    ends = [e for e in ends if e is not None]
    if not ends:
        return  # nothing arrived yet: no range to show
    values.update(steps=[e.step for e in ends], grads=[e.n_grad for e in ends],
                  wall=[e.solver_wall for e in ends])
    for key, found in values.items():
        row[key] = float(np.median(found)) if found else None
        row[f"{key}_range"] = ((min(found), max(found), len(found), total) if found
                               else (None, None, 0, total))


def _add_flow(comparison: Comparison, row: dict, result: RunResult) -> None:
    """The first seed's distance from the reference flow (from its report, at its end)."""
    track = getattr(result.report, "flow", None)
    if track is None:
        return
    if comparison.targets:
        j = len(comparison.targets) - 1
        row[f"flow_t{j}"] = track.at_targets[j]
    row["flow_end"] = track.at_end
    row["follows"] = follows_text(track)
    row["flow_max"] = track.largest


def _fmt(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format(value, spec)


def _csv(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value
