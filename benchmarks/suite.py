"""The race: when does integrating the gradient flow beat gradient descent and Adam in wall time?

For each problem, every method starts from the same initial weights and runs to the problem's
target; wall time is the solver's own (``solver_wall`` of the first snapshot at the target, the
lab's measurements left out). Gradient descent and Adam are tuned on a factor-2 grid of learning
rates, one run per rate: the grid's cost (what tuning took) is reported. Then the best GD, the
best Adam and every ODE configuration are run side by side, one run each per round, for
--repeats rounds: the machine's slow spells hit them alike, and each gets its median.

Prints one table per problem and a summary with best-ODE ÷ best-GD and best-ODE ÷ best-Adam, and
writes them as Markdown (and a PNG chart, when Qt is available) to --out (default
benchmarks/results).

Run: python benchmarks/suite.py [--problems xor,moons] [--repeats 3] [--limit 30]
"""

from __future__ import annotations

import os

# As the lab's worker processes do: threaded BLAS stalls on the ~150×150 solves here (a 2-core,
# shared machine), and one run per core is the intended use. Must precede numpy's import.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from odeprop.core.config import Experiment
from odeprop.core.methods import METHODS
from odeprop.core.run import Problem, Run


@dataclass(frozen=True)
class Bench:
    """One problem of the suite: an experiment without a solver, and its target."""

    name: str
    experiment: Experiment
    target: str  # human label

    def with_solver(self, solver: dict, wall_limit: float) -> Experiment:
        return self.experiment.with_changes(solver=solver, stop={"max_wall_time": wall_limit})


def _exp(dataset, hidden, activations, loss, stop, output="linear", init="xavier_uniform",
         seed=0):
    return Experiment.from_dict({
        "dataset": dataset,
        "network": {"hidden": hidden, "activations": activations, "loss": loss,
                    "output": output, "init": init, "init_seed": seed},
        "stop": {"t_end": 1e9, **stop},
        "probe": {"stiffness_every": 0, "metrics_every": 1000000},
    })


def problems() -> list[Bench]:
    sigmoid_mse = {"activations": ["sigmoid"], "loss": "mse", "output": "sigmoid",
                   "init": "uniform", "seed": 1}
    return [
        Bench("xor", _exp({"kind": "xor", "standardize": False}, [2], stop={"target_rms": 0.01},
                          **sigmoid_mse), "XOR 2-2-1 sigmoid, squared error → RMS 1 %"),
        Bench("encoder", _exp({"kind": "encoder", "standardize": False}, [2],
                              stop={"target_rms": 0.01}, **sigmoid_mse),
              "4-2-4 encoder sigmoid, squared error → RMS 1 %"),
        Bench("moons", _exp({"kind": "moons"}, [16, 16], ["tanh"], "bce",
                            {"target_loss": 1e-3}), "two moons 2-16-16-1 tanh, BCE → loss 1e-3"),
        Bench("spirals", _exp({"kind": "spirals"}, [32, 32], ["tanh"], "bce",
                              {"target_loss": 1e-3}),
              "two spirals 2-32-32-1 tanh, BCE → loss 1e-3"),
        Bench("sin", _exp({"kind": "sin", "noise": 0.0}, [16, 16], ["tanh"], "mse",
                          {"target_rms": 0.01}),
              "sin(2πx) 1-16-16-1 tanh, squared error (noise 0) → RMS 1 %"),
        Bench("iris", _exp({"kind": "iris"}, [16], ["tanh"], "softmax_ce",
                           {"target_loss": 1e-2}), "iris 4-16-3 tanh, softmax CE → loss 1e-2"),
        Bench("digits", _exp({"kind": "digits"}, [32], ["tanh"], "softmax_ce",
                             {"target_loss": 1e-2}),
              "digits 64-32-10 tanh, softmax CE → loss 1e-2"),
    ]


ODE_METHODS = [
    ("RK45, 1e-4", {"method": "RK45", "rtol": 1e-4, "atol": 1e-4}),
    ("BDF exact J, 1e-4", {"method": "BDF", "rtol": 1e-4, "atol": 1e-4}),
    ("LSODA exact J, 1e-4", {"method": "LSODA", "rtol": 1e-4, "atol": 1e-4}),
    ("CVODE dense exact J, 1e-4", {"method": "cvode-dense", "rtol": 1e-4, "atol": 1e-4}),
    ("CVODE GMRES exact Hv, 1e-4", {"method": "cvode-gmres", "rtol": 1e-4, "atol": 1e-4}),
    ("2019: zvode BDF FD J, 1e-6/1e-8", {"method": "zvode-bdf", "rtol": 1e-6, "atol": 1e-8,
                                         "jacobian": "fd"}),
]
#: Extra ODE configurations, included when the engine has the method.
OPTIONAL = [
    ("ROS2 sampled GN, 1e-1", {"method": "ros2-gn", "rtol": 1e-1, "atol": 1e-1}),
    ("ROS2 sampled GN, 1e-2", {"method": "ros2-gn", "rtol": 1e-2, "atol": 1e-2}),
    ("ROS2 sampled GN, 1e-3", {"method": "ros2-gn", "rtol": 1e-3, "atol": 1e-3}),
    ("ROS2 whole GN, 1e-2", {"method": "ros2-gn", "rtol": 1e-2, "atol": 1e-2,
                             "jacobian": "gauss-newton"}),
    ("ROS34PW2 sampled GN, 1e-2", {"method": "ros34pw2-gn", "rtol": 1e-2, "atol": 1e-2}),
]
GD_RATES = [2.0**k for k in range(-3, 8)]
ADAM_RATES = [1e-3 * 2.0**k for k in range(0, 10)]


@dataclass
class Outcome:
    label: str
    wall: float | None  # solver seconds to the target (median of repeats), None if not reached
    grads: int | None
    hvp: int | None
    hess: int | None
    note: str = ""


def run_once(bench: Bench, problem: Problem, solver: dict, limit: float):
    """One run to the target: (solver seconds or None if not reached, its report)."""
    run = Run(bench.with_solver(solver, limit), problem)
    report = run.run_to_end()
    run.close()
    reached = report.status == "finished" and "t_end" not in report.message
    return (report.final.solver_wall if reached else None), report


def measure_side_by_side(bench, problem, contenders, repeats, limit) -> list[Outcome]:
    """Every contender ``(label, solver)`` run ``repeats`` times in turn, round after round, so
    that the machine's slow spells (this one is shared: the same run can take twice as long
    from one minute to the next) hit them all alike; the median of each one's walls."""
    walls: list[list[float]] = [[] for _ in contenders]
    last: list = [None] * len(contenders)
    failed: list[str | None] = [None] * len(contenders)
    for _ in range(repeats):
        for i, (_, solver) in enumerate(contenders):
            if failed[i] is not None:
                continue
            wall, report = run_once(bench, problem, solver, limit)
            if wall is None:
                failed[i] = _short(report)
            else:
                walls[i].append(wall)
                last[i] = report.final
    outcomes = []
    for (label, _), w, f, fail in zip(contenders, walls, last, failed, strict=True):
        if fail is not None:
            outcomes.append(Outcome(label, None, None, None, None, fail))
        else:
            outcomes.append(Outcome(label, statistics.median(w), f.n_grad, f.n_hvp, f.n_hess))
    return outcomes


def _short(report) -> str:
    return f"{report.status}: {report.message}"[:70]


def tune(bench, problem, name, rates, limit) -> tuple[tuple[str, dict] | None, float]:
    """The best rate of a grid, one run each, as ``(label, solver)``, and the grid's cost.

    Rates are tried from the largest down (they win or diverge quickly); a rate is abandoned
    once it has run three times as long as the best so far, as anyone tuning by hand would."""
    best, best_wall, cost = None, None, 0.0
    for rate in sorted(rates, reverse=True):
        begin = time.perf_counter()
        budget = limit if best is None else min(limit, 3 * best_wall + 0.2)
        solver = {"method": name, "learning_rate": rate}
        wall, _ = run_once(bench, problem, solver, budget)
        cost += time.perf_counter() - begin
        if wall is not None and (best is None or wall < best_wall):
            best, best_wall = (f"{name}, lr {rate:g}", solver), wall
    return best, cost


def fmt_wall(x):
    return "—" if x is None else (f"{x * 1e3:.1f} ms" if x < 1 else f"{x:.2f} s")


def run_suite(names, repeats, limit, log=print):
    rows = []
    for bench in problems():
        if names and bench.name not in names:
            continue
        problem = Problem.build(bench.experiment)
        log(f"\n## {bench.target} ({problem.net.n_params} parameters)")
        gd, gd_cost = tune(bench, problem, "gd", GD_RATES, limit)
        adam, adam_cost = tune(bench, problem, "adam", ADAM_RATES, limit)
        odes = ODE_METHODS + [o for o in OPTIONAL if o[1]["method"] in METHODS]
        tuned = [c for c in (gd, adam) if c is not None]
        outcomes = measure_side_by_side(bench, problem, tuned + odes, repeats, limit)
        by_label = {o.label: o for o in outcomes}
        gd_out = by_label[gd[0]] if gd else Outcome("gd (no rate reached the target)",
                                                    None, None, None, None)
        adam_out = by_label[adam[0]] if adam else Outcome("adam (no rate reached the target)",
                                                          None, None, None, None)
        ode_outs = outcomes[len(tuned):]
        table = ["| method | wall to target | ∇L | Hv | Hessians | note |",
                 "|---|---|---|---|---|---|"]
        for out, extra in [(gd_out, f"tuning {len(GD_RATES)} rates took {gd_cost:.2f} s"),
                           (adam_out, f"tuning {len(ADAM_RATES)} rates took {adam_cost:.2f} s"),
                           *[(o, o.note) for o in ode_outs]]:
            table.append(f"| {out.label} | {fmt_wall(out.wall)} | {_n(out.grads)} | "
                         f"{_n(out.hvp)} | {_n(out.hess)} | {extra} |")
        log("\n".join(table))
        reached = [o for o in ode_outs if o.wall is not None]
        best = min(reached, key=lambda o: o.wall) if reached else None
        rows.append((bench, gd_out, adam_out, best))
    return rows


def _n(x):
    return "—" if x is None else str(x)


def summary(rows) -> str:
    lines = ["| problem | best GD | best Adam | best ODE solver | ODE ÷ GD | ODE ÷ Adam |",
             "|---|---|---|---|---|---|"]
    for bench, gd, adam, best in rows:
        ratio_gd = (best.wall / gd.wall) if best and gd.wall else None
        ratio_adam = (best.wall / adam.wall) if best and adam.wall else None
        lines.append(
            f"| {bench.target} | {fmt_wall(gd.wall)} ({gd.label}) | {fmt_wall(adam.wall)} "
            f"({adam.label}) | {fmt_wall(best.wall) if best else '—'} "
            f"({best.label if best else 'none reached'}) | {_ratio(ratio_gd)} | "
            f"{_ratio(ratio_adam)} |")
    return "\n".join(lines)


def _ratio(x):
    return "—" if x is None or not math.isfinite(x) else f"{x:.2f}"


def chart(rows, path: Path) -> bool:
    """Bars of best GD / Adam / ODE wall time per problem (log scale), as a PNG; needs Qt."""
    try:
        import os

        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        import numpy as np
        import pyqtgraph as pg
        import pyqtgraph.exporters
        from PySide6.QtWidgets import QApplication
    except ImportError:
        return False
    QApplication.instance() or QApplication([])
    pg.setConfigOptions(background="w", foreground="k", antialias=True)
    plot = pg.PlotWidget(title="Wall time to target (solver time, log scale; lower is better)")
    plot.resize(1100, 550)
    plot.addLegend(offset=(10, 10))
    colours = {"best GD": "#7f7f7f", "best Adam": "#ff7f0e", "best ODE": "#1f77b4"}
    for k, (name, colour) in enumerate(colours.items()):
        x = np.arange(len(rows)) + (k - 1) * 0.27
        outs = [r[1 + k] for r in rows]
        ms = np.array([o.wall * 1e3 if o and o.wall else np.nan for o in outs])
        ok = np.isfinite(ms)
        bars = pg.BarGraphItem(x=x[ok], height=np.log10(ms[ok]) + 1, y0=-1, width=0.25,
                               brush=colour, name=name)  # bars from 0.1 ms, in log10 units
        plot.addItem(bars)
    plot.getAxis("bottom").setTicks([[(i, r[0].name) for i, r in enumerate(rows)]])
    left = plot.getAxis("left")  # bars are drawn in log10 units: label them in milliseconds
    left.setTicks([[(k, f"{10.0 ** k:,g}") for k in range(-1, 6)]])
    plot.setLabel("left", "milliseconds")  # short: a long label runs into the tick labels
    exporter = pg.exporters.ImageExporter(plot.plotItem)
    exporter.parameters()["width"] = 1100
    exporter.export(str(path))
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="", help="comma-separated subset, e.g. xor,moons")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=float, default=30.0, help="wall seconds per run")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    names = [n for n in args.problems.split(",") if n]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_lines = []

    def log(text):
        print(text, flush=True)
        log_lines.append(text)

    begin = time.perf_counter()
    rows = run_suite(names, args.repeats, args.limit, log)
    log("\n## Summary\n")
    log(summary(rows))
    log(f"\n(suite took {time.perf_counter() - begin:.0f} s; python {sys.version.split()[0]})")
    (out / "suite.md").write_text("\n".join(log_lines) + "\n", encoding="utf-8")
    if chart(rows, out / "suite.png"):
        print(f"wrote {out / 'suite.md'} and {out / 'suite.png'}")


if __name__ == "__main__":
    main()
