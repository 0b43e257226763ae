"""A sweep's summary: per configuration (a method and its non-seed axis values), the median and
interquartile range of each cost to each target, the fraction of runs reaching it, how many
distinct minima the runs ended in, how often they ended in the same basin as the reference method
from the same θ0, and plots written without a display (matplotlib's Agg backend).

Final weights are clustered within each problem (the same data and network shape), with the
cut at ``cluster_threshold`` × the median ‖θ‖ of the problem's runs: every two runs in one cluster
ended closer than that (Euclidean distance between final weight vectors; see :func:`_cluster`).
Hidden-unit permutations of one minimum count as different minima.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .sweep import Sweep
from .sweep_cell import TARGET_COSTS, target_key

COST_LABELS = {"grads": "∇L", "hvp": "Hv", "jac_evals": "Jacobians", "lu_decomps": "LU",
               "steps": "steps", "wall": "wall ms"}


def cluster_final_weights(sweep: Sweep, rows: list[dict]) -> dict[int, int]:
    """Cell → cluster number (1, 2, …, unique within the sweep) for every run with final θ.

    ``rows`` need ``cell``, ``status``, ``theta`` and the dataset/network axis columns."""
    problems = defaultdict(list)
    problem_axes = [a.name for a in sweep.axes if a.section in ("dataset", "network")
                    and a.name != "network.init_seed"]
    for row in rows:
        if row.get("theta") is not None and row["status"] != "failed":
            problems[tuple(row[n] for n in problem_axes)].append(row)
    clusters, offset = {}, 0
    for members in problems.values():
        thetas = np.array([r["theta"] for r in members])
        scale = float(np.median(np.linalg.norm(thetas, axis=1))) or 1.0
        labels = _cluster(thetas, sweep.cluster_threshold * scale)
        for row, label in zip(members, labels, strict=True):
            clusters[row["cell"]] = offset + int(label)
        offset += int(labels.max())
    return clusters


def _cluster(thetas: np.ndarray, cut: float) -> np.ndarray:
    """Leader clustering: in cell order, each point joins the first representative within
    ``cut``/2, or becomes one. Every two members of a cluster are then within ``cut`` of each
    other (the triangle inequality), as in complete linkage cut at ``cut``, but memory grows with
    the runs, not with their square (a 10,000-run sweep's pairwise distances take 400 MB)."""
    reps = np.empty_like(thetas)
    labels = np.empty(len(thetas), dtype=int)
    count = 0
    for i, theta in enumerate(thetas):
        dist = np.linalg.norm(reps[:count] - theta, axis=1)
        near = np.flatnonzero(dist <= cut / 2)
        if near.size:
            labels[i] = near[0] + 1
        else:
            reps[count] = theta
            count += 1
            labels[i] = count
    return labels


def basin_reference(sweep: Sweep) -> str:
    """The method the "same basin" column compares with: gradient descent if swept, else the
    first method."""
    return next((m.label for m in sweep.methods if m.solver.method == "gd"),
                sweep.methods[0].label)


@dataclass(frozen=True)
class SweepSummary:
    """One dict per configuration, in the sweep's order, and what they were computed from."""

    sweep: Sweep
    configurations: list[dict]
    total: int  # runs in the grid
    present: int  # runs in the table

    def to_markdown(self) -> str:
        sweep, targets = self.sweep, self.sweep.targets
        lines = [f"# {sweep.name}", "",
                 f"{self.present} of {self.total} runs; costs are medians with the interquartile "
                 "range [Q1–Q3] over the runs that reached the target; wall times are the "
                 "solver's own.", ""]
        head = ["configuration", "runs", "failed", *(f"reached {t.label}" for t in targets)]
        lines += _md_table(head, [[c["configuration"], c["runs"], c["failed"],
                                   *(_pct(c[f"{target_key(t)}_reached"]) for t in targets)]
                                  for c in self.configurations])
        for target in targets:
            key = target_key(target)
            lines += ["", f"## Cost to {target.label}", ""]
            head = ["configuration", *(COST_LABELS[c] for c in TARGET_COSTS)]
            ratio = [f"∇L ÷ {sweep.ratio_to}, same θ0"] if sweep.ratio_to else []
            lines += _md_table(head + ratio, [
                [c["configuration"], *(_iqr(c.get(f"{key}_{cost}")) for cost in TARGET_COSTS),
                 *([_iqr(c.get(f"{key}_ratio"), ".3g")] if ratio else [])]
                for c in self.configurations])
        ref = basin_reference(sweep)
        lines += ["", "## Where the runs ended", "",
                  f"Distinct minima: clusters of final weights, every two runs in one within "
                  f"{sweep.cluster_threshold:g} × median ‖θ‖ of each other. Same basin: the "
                  "share of θ0 "
                  f"from which the run ended in the same cluster as “{ref}”.", ""]
        head = ["configuration", "distinct minima", f"same basin as {ref}",
                "distance from the flow", "λmin at the end", "indefinite"]
        lines += _md_table(head, [[c["configuration"], _num(c["minima"]),
                                   _pct(c["same_basin"]), _iqr(c["flow_distance"], ".3g"),
                                   _iqr(c["lambda_min"], ".3g"), _pct(c["indefinite"])]
                                  for c in self.configurations])
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        keys = list(self.configurations[0]) if self.configurations else []
        columns = []
        for key in keys:
            if isinstance(self.configurations[0][key], tuple):
                columns += [f"{key}_median", f"{key}_q1", f"{key}_q3"]
            else:
                columns.append(key)
        writer.writerow(columns)
        for conf in self.configurations:
            out = []
            for key in keys:
                value = conf[key]
                if isinstance(value, tuple):
                    out += ["" if v is None else repr(v) for v in value]
                else:
                    out.append("" if value is None else value)
            writer.writerow(out)
        return buf.getvalue()


def summarize_sweep(sweep: Sweep, rows: list[dict], clusters: dict[int, int]) -> SweepSummary:
    """Per-configuration statistics of the rows present (a cut-short sweep: those so far)."""
    cells = list(sweep.cells())
    by_conf = defaultdict(list)
    for row in rows:
        by_conf[row["configuration"]].append(row)
    order = list(dict.fromkeys(sweep.configuration(c) for c in cells))
    same = _same_basin(sweep, rows, clusters)
    ratios = {target_key(t): _ratios(sweep, rows, target_key(t)) for t in sweep.targets}
    configurations = []
    for name in order:
        members = by_conf.get(name, [])
        conf = {"configuration": name, "method": members[0]["method_label"] if members else None,
                "n_params": _median([r["n_params"] for r in members]), "runs": len(members),
                "failed": sum(r["status"] == "failed" for r in members)}
        for target in sweep.targets:
            key = target_key(target)
            hit = [r for r in members if r[f"{key}_reached"]]
            conf[f"{key}_reached"] = len(hit) / len(members) if members else None
            for cost in TARGET_COSTS:
                scale = 1000.0 if cost == "wall" else 1.0
                conf[f"{key}_{cost}"] = _quartiles(
                    [r[f"{key}_{cost}"] * scale for r in hit if r[f"{key}_{cost}"] is not None])
            if sweep.ratio_to:
                conf[f"{key}_ratio"] = _quartiles([ratios[key][r["cell"]] for r in members
                                                   if r["cell"] in ratios[key]])
        labels = {clusters[r["cell"]] for r in members if r["cell"] in clusters}
        conf["minima"] = len(labels) if labels else None
        verdicts = [same[r["cell"]] for r in members if r["cell"] in same]
        conf["same_basin"] = sum(verdicts) / len(verdicts) if verdicts else None
        conf["flow_distance"] = _quartiles([r["flow_distance"] for r in members
                                            if r["flow_distance"] is not None])
        conf["lambda_min"] = _quartiles([r["lambda_min"] for r in members
                                         if r["lambda_min"] is not None])
        flags = [r["indefinite"] for r in members if r["indefinite"] is not None]
        conf["indefinite"] = sum(flags) / len(flags) if flags else None
        configurations.append(conf)
    return SweepSummary(sweep, configurations, len(cells), len(rows))


def _start(sweep: Sweep, row: dict) -> tuple:
    """What identifies a run's θ0 and settings across methods: its axis values and repeat."""
    return (*(row[n] for n in sweep.axis_names), row["repeat"])


def _ratios(sweep: Sweep, rows: list[dict], key: str) -> dict[int, float]:
    """Cell → its gradients to target ``key`` ÷ those of ``ratio_to`` from the same θ0 (where
    both reached it)."""
    grads = f"{key}_grads"
    ref = {_start(sweep, r): r[grads] for r in rows if r["method_label"] == sweep.ratio_to}
    out = {}
    for row in rows:
        theirs = ref.get(_start(sweep, row))
        if row[grads] is not None and theirs:
            out[row["cell"]] = row[grads] / theirs
    return out


def _same_basin(sweep: Sweep, rows: list[dict], clusters: dict[int, int]) -> dict[int, bool]:
    """Cell → whether it ended in the reference method's cluster from the same θ0."""
    ref = basin_reference(sweep)
    ref_cluster = {_start(sweep, r): clusters.get(r["cell"]) for r in rows
                   if r["method_label"] == ref}
    verdicts = {}
    for row in rows:
        mine, theirs = clusters.get(row["cell"]), ref_cluster.get(_start(sweep, row))
        if row["method_label"] != ref and mine is not None and theirs is not None:
            verdicts[row["cell"]] = mine == theirs
    return verdicts


def _quartiles(values):
    """(median, Q1, Q3) or None."""
    if not values:
        return None
    q1, med, q3 = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return float(med), float(q1), float(q3)


def _median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _md_table(head, rows) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(str(v) for v in row) + " |" for row in rows)]


def _pct(value) -> str:
    return "—" if value is None else f"{value:.0%}"


def _num(value, spec: str = "g") -> str:
    return "—" if value is None else format(value, spec)


def _iqr(stats, spec: str = ".4g") -> str:
    if stats is None:
        return "—"
    med, q1, q3 = stats
    return f"{med:{spec}} [{q1:{spec}}–{q3:{spec}}]"


def width_axis_present(sweep: Sweep) -> bool:
    """Whether the sweep varies the network's size (the cost-against-width plot applies)."""
    return any(a.name == "network.hidden" and len(a.values) > 1 for a in sweep.axes)


def write_plots(summary: SweepSummary, rows: list[dict], out) -> list[str]:
    """Cost distributions per configuration, success rates and (with a width axis) cost against
    the parameter count, each as PNG and SVG; returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    sweep = summary.sweep
    written = []
    last = sweep.targets[-1] if sweep.targets else None
    names = [c["configuration"] for c in summary.configurations]
    height = 1.2 + 0.35 * len(names)

    def save(fig, stem):
        fig.tight_layout()
        for ext in ("png", "svg"):
            fig.savefig(out / f"{stem}.{ext}", dpi=110)
            written.append(f"{stem}.{ext}")
        plt.close(fig)

    if last is not None:
        key = f"{target_key(last)}_grads"
        data = [[r[key] for r in rows if r["configuration"] == n and r[key] is not None]
                for n in names]
        fig, ax = plt.subplots(figsize=(8, height))
        ax.boxplot([d or [math.nan] for d in data], orientation="horizontal", tick_labels=names)
        ax.set_xscale("log")
        ax.invert_yaxis()  # the sweep's order, top down
        ax.set_xlabel(f"gradient evaluations to {last.label}")
        ax.set_title(sweep.name)
        save(fig, "costs")
        fig, ax = plt.subplots(figsize=(9.5, height))
        step = 0.8 / len(sweep.targets)
        for j, target in enumerate(sweep.targets):
            shares = [c[f"{target_key(target)}_reached"] or 0.0 for c in summary.configurations]
            ax.barh(np.arange(len(names)) + j * step, shares, height=step, label=target.label)
        ax.set_yticks(np.arange(len(names)) + 0.4 - step / 2, names)
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.set_xlabel("fraction of runs reaching the target")
        ax.set_title(sweep.name)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
        save(fig, "success")
    if last is not None and width_axis_present(sweep):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        by_method = defaultdict(list)
        for conf in summary.configurations:
            cost = conf.get(f"{target_key(last)}_wall")
            if cost is not None and conf["n_params"] is not None:
                by_method[conf["method"]].append((conf["n_params"], cost[0]))
        for method, points in by_method.items():
            points.sort()
            ax.loglog(*zip(*points, strict=True), marker="o", label=method)
        ax.set_xlabel("parameters")
        ax.set_ylabel(f"median solver wall ms to {last.label}")
        ax.set_title(sweep.name)
        ax.legend()
        save(fig, "width")
    return written
