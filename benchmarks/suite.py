"""The race: when does integrating the gradient flow beat gradient descent and Adam in time?

For each problem, every method starts from the same initial weights and runs to the problem's
target. Time is the run's one clock (``Run.clock``: the set-up, every step and the loss at every
accepted point, for every method alike; the lab's measurements left out), in thread CPU
seconds: this machine is shared, and CPU time does not count the spells another process holds
the core. Gradient descent and Adam are tuned on a factor-2 grid of learning rates, one run per
rate: the grid's cost (what tuning took) is reported. Then the best GD, the best Adam and every
ODE configuration are run side by side, one run each per round, for --repeats rounds: the
machine's slow spells hit them alike, and each gets its median.

Every configuration that reaches the target is then measured against the flow itself: the
relative distance ‖θ − θ_flow(t)‖ / ‖θ_flow(t)‖ of its weights at the target (where it stops:
the end) from one tight solution of dθ/dt = −∇L(θ) from the same θ0 (Radau with the exact
Hessian, rtol 1e-8, atol 1e-10). A configuration within 10 % "follows the flow"; the others,
the tuned baselines among them, are optimisers that "leave the flow", and race in that class.

Prints one table per problem and a summary (best GD, best Adam, the best flow-follower and the
best flow-leaver with their ratios to GD and Adam), and writes them as Markdown (and a PNG chart,
when Qt is available) to --out (default benchmarks/results).

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

from odeprop.core.comparison import ReferenceFlow
from odeprop.core.config import Experiment
from odeprop.core.fidelity import FOLLOWS, distance_text, distances_from_flow, race_run
from odeprop.core.methods import METHODS
from odeprop.core.run import Problem

#: The flow the configurations are measured against.
REFERENCE = ReferenceFlow(method="Radau", rtol=1e-8, atol=1e-10)


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
    ("CVODE GMRES exact Hv, 1e-4", {"method": "cvode-gmres", "rtol": 1e-4, "atol": 1e-4}),
    ("CVODE GMRES exact Hv, 1e-3", {"method": "cvode-gmres", "rtol": 1e-3, "atol": 1e-3}),
    ("ROS2 sampled GN, 1e-1", {"method": "ros2-gn", "rtol": 1e-1, "atol": 1e-1}),
    ("ROS2 sampled GN, 1e-2", {"method": "ros2-gn", "rtol": 1e-2, "atol": 1e-2}),
    ("ROS2 sampled GN, 1e-3", {"method": "ros2-gn", "rtol": 1e-3, "atol": 1e-3}),
    ("ROS2 whole GN, 1e-2", {"method": "ros2-gn", "rtol": 1e-2, "atol": 1e-2,
                             "jacobian": "gauss-newton"}),
    ("ROS2 whole GN, 2e-2", {"method": "ros2-gn", "rtol": 2e-2, "atol": 2e-2,
                             "jacobian": "gauss-newton"}),
    ("ROS2 whole GN, 3e-2", {"method": "ros2-gn", "rtol": 3e-2, "atol": 3e-2,
                             "jacobian": "gauss-newton"}),
    ("RKC, 3e-2", {"method": "rkc", "rtol": 3e-2, "atol": 3e-2}),
    ("RKC, 1e-1", {"method": "rkc", "rtol": 1e-1, "atol": 1e-1}),
    ("ROS34PW2 sampled GN, 1e-2", {"method": "ros34pw2-gn", "rtol": 1e-2, "atol": 1e-2}),
    ("ROS34PW2 sampled GN, 1e-3", {"method": "ros34pw2-gn", "rtol": 1e-3, "atol": 1e-3}),
    ("Levenberg–Marquardt", {"method": "lm"}),
]
#: The 2019 article's and its critique's configurations (--all): they have never won a row.
HISTORICAL = [
    ("BDF exact J, 1e-4", {"method": "BDF", "rtol": 1e-4, "atol": 1e-4}),
    ("LSODA exact J, 1e-4", {"method": "LSODA", "rtol": 1e-4, "atol": 1e-4}),
    ("CVODE dense exact J, 1e-4", {"method": "cvode-dense", "rtol": 1e-4, "atol": 1e-4}),
    ("2019: zvode BDF FD J, 1e-6/1e-8", {"method": "zvode-bdf", "rtol": 1e-6, "atol": 1e-8,
                                         "jacobian": "fd"}),
]
GD_RATES = [2.0**k for k in range(-3, 8)]
ADAM_RATES = [1e-3 * 2.0**k for k in range(0, 10)]


@dataclass
class Outcome:
    label: str
    wall: float | None  # CPU seconds to the target (median of repeats), None if not reached
    grads: int | None
    hvp: int | None
    hess: int | None
    note: str = ""
    end: tuple | None = None  # (t, θ) where it reached the target
    flow: float | str | None = None  # distance from the flow there (str: why not measured)

    @property
    def follows(self) -> bool:
        return isinstance(self.flow, float) and self.flow <= FOLLOWS


def run_once(bench: Bench, problem: Problem, solver: dict, limit: float):
    """One run to the target: (CPU seconds on its clock or None if not reached, the run)."""
    result = race_run(bench.with_solver(solver, limit), problem)
    return (result.cpu if result.reached else None), result


def measure_side_by_side(bench, problem, contenders, repeats, limit) -> list[Outcome]:
    """Every contender ``(label, solver)`` run ``repeats`` times in turn, round after round, so
    that the machine's slow spells (this one is shared: the same run can take twice as long
    from one minute to the next) hit them all alike; the median of each one's times."""
    walls: list[list[float]] = [[] for _ in contenders]
    last: list = [None] * len(contenders)
    failed: list[str | None] = [None] * len(contenders)
    for _ in range(repeats):
        for i, (_, solver) in enumerate(contenders):
            if failed[i] is not None:
                continue
            wall, result = run_once(bench, problem, solver, limit)
            if wall is None:
                failed[i] = _short(result.final)
            else:
                walls[i].append(wall)
                last[i] = result
    outcomes = []
    for (label, _), w, r, fail in zip(contenders, walls, last, failed, strict=True):
        if fail is not None:
            outcomes.append(Outcome(label, None, None, None, None, fail))
        else:
            f = r.final
            outcomes.append(Outcome(label, statistics.median(w), f.n_grad, f.n_hvp, f.n_hess,
                                    end=(f.t, r.theta)))
    return outcomes


def measure_fidelity(problem, outcomes: list[Outcome]) -> float:
    """Fill each reached outcome's distance from the flow; the seconds the reference took."""
    begin = time.perf_counter()
    reached = [o for o in outcomes if o.end is not None]
    if reached:
        for o, d in zip(reached, distances_from_flow(problem, [o.end for o in reached],
                                                     REFERENCE), strict=True):
            o.flow = d
    return time.perf_counter() - begin


def _short(final) -> str:
    return f"{final.status}: {final.message}"[:70]


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


def run_suite(names, repeats, limit, log=print, historical=False):
    rows = []
    for bench in problems():
        if names and bench.name not in names:
            continue
        problem = Problem.build(bench.experiment)
        log(f"\n## {bench.target} ({problem.net.n_params} parameters)")
        gd, gd_cost = tune(bench, problem, "gd", GD_RATES, limit)
        adam, adam_cost = tune(bench, problem, "adam", ADAM_RATES, limit)
        odes = [o for o in ODE_METHODS + (HISTORICAL if historical else [])
                if o[1]["method"] in METHODS]
        tuned = [c for c in (gd, adam) if c is not None]
        outcomes = measure_side_by_side(bench, problem, tuned + odes, repeats, limit)
        spent = measure_fidelity(problem, outcomes)
        by_label = {o.label: o for o in outcomes}
        gd_out = by_label[gd[0]] if gd else Outcome("gd (no rate reached the target)",
                                                    None, None, None, None)
        adam_out = by_label[adam[0]] if adam else Outcome("adam (no rate reached the target)",
                                                          None, None, None, None)
        ode_outs = outcomes[len(tuned):]
        table = ["| method | CPU to target | ∇L | Hv | Hessians | from the flow at the target "
                 "(= end) | note |", "|---|---|---|---|---|---|---|"]
        for out, extra in [(gd_out, f"tuning {len(GD_RATES)} rates took {gd_cost:.2f} s"),
                           (adam_out, f"tuning {len(ADAM_RATES)} rates took {adam_cost:.2f} s"),
                           *[(o, o.note) for o in ode_outs]]:
            table.append(f"| {out.label} | {fmt_wall(out.wall)} | {_n(out.grads)} | "
                         f"{_n(out.hvp)} | {_n(out.hess)} | {distance_text(out.flow)} | "
                         f"{extra} |")
        log("\n".join(table))
        log(f"(the reference flow took {spent:.1f} s)")
        reached = [o for o in ode_outs if o.wall is not None]
        follower = min((o for o in reached if o.follows), key=lambda o: o.wall, default=None)
        leaver = min((o for o in reached if not o.follows), key=lambda o: o.wall, default=None)
        rows.append((bench, gd_out, adam_out, follower, leaver))
    return rows


def _n(x):
    return "—" if x is None else str(x)


def summary(rows) -> str:
    lines = ["| problem | best GD | best Adam | best flow-follower (≤ 10 % from the flow) | "
             "÷ GD | ÷ Adam | best flow-leaver | ÷ GD | ÷ Adam |",
             "|---|---|---|---|---|---|---|---|---|"]
    for bench, gd, adam, follower, leaver in rows:
        cells = [bench.target, _cell(gd), _cell(adam)]
        for ode in (follower, leaver):
            cells += [_cell(ode), _ratio(ode, gd), _ratio(ode, adam)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(o: Outcome | None) -> str:
    if o is None:
        return "none reached"
    if o.wall is None:
        return o.label
    return f"{fmt_wall(o.wall)} ({o.label}; {distance_text(o.flow)})"


def _ratio(ode: Outcome | None, base: Outcome) -> str:
    if ode is None or ode.wall is None or not base.wall:
        return "—"
    x = ode.wall / base.wall
    return "—" if not math.isfinite(x) else f"{x:.2f}"


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
    plot = pg.PlotWidget(title="CPU time to target (the one clock, log scale; lower is better)")
    plot.resize(1100, 550)
    plot.addLegend(offset=(10, 10))
    colours = {"best GD": "#7f7f7f", "best Adam": "#ff7f0e", "best flow-follower": "#1f77b4",
               "best flow-leaver": "#9467bd"}
    for k, (name, colour) in enumerate(colours.items()):
        x = np.arange(len(rows)) + (k - 1.5) * 0.2
        outs = [r[1 + k] for r in rows]
        ms = np.array([o.wall * 1e3 if o and o.wall else np.nan for o in outs])
        ok = np.isfinite(ms)
        bars = pg.BarGraphItem(x=x[ok], height=np.log10(ms[ok]) + 1, y0=-1, width=0.19,
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
    parser.add_argument("--all", action="store_true",
                        help="also the 2019 article's and its critique's configurations")
    args = parser.parse_args()
    names = [n for n in args.problems.split(",") if n]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_lines = []

    def log(text):
        print(text, flush=True)
        log_lines.append(text)

    begin = time.perf_counter()
    rows = run_suite(names, args.repeats, args.limit, log, args.all)
    log("\n## Summary\n")
    log(summary(rows))
    log(f"\n(suite took {time.perf_counter() - begin:.0f} s; python {sys.version.split()[0]})")
    (out / "suite.md").write_text("\n".join(log_lines) + "\n", encoding="utf-8")
    if chart(rows, out / "suite.png"):
        print(f"wrote {out / 'suite.md'} and {out / 'suite.png'}")


if __name__ == "__main__":
    main()
