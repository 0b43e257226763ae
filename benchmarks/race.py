"""The race: solver wall time to a training target, Adam at its best rate against the ODE solvers.

For each problem every contender starts from the same initial weights (one ``Problem`` per
problem). Times are the run's one clock (``Run.clock``: set-up, steps and the loss at each
accepted point, the same work for every method; no test metrics or probes) in thread CPU
seconds, to the snapshot where the target was reached, medians over ``--repeats`` runs in this
process.

Adam's rate comes from a factor-2 grid (``--adam-grid``, exponents of 2, default 2^-10 … 2^2);
every grid point runs once, capped at ``--cap`` seconds of run wall time; the best rate (fastest
to the target) then runs with the other contenders, in round robin, for the median. "grid cost"
is the sum of the grid runs' solver time (a capped run counts what it spent), the price of
tuning the one hyperparameter the ODE configurations do not have. Every contender that reaches
the target, Adam too, is measured against the flow itself: its relative distance from one tight
solution of the flow (Radau, exact Hessian, rtol 1e-8) at the target, where it stops; ≤ 10 %
"follows the flow", more "leaves" it.

BLAS is pinned to one thread before numpy loads, as odeprop's worker processes pin it: on this
shared two-core machine threaded LAPACK calls on ~150 × 150 matrices stall for tens of ms.

Run: python benchmarks/race.py [--problems sin,xor] [--repeats 3] [--cap 10]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

from odeprop.core.config import (  # noqa: E402
    DatasetConfig,
    Experiment,
    NetworkConfig,
    ProbeConfig,
    SolverConfig,
    StopConfig,
)
from odeprop.core.fidelity import distance_text, distances_from_flow, race_run  # noqa: E402
from odeprop.core.run import Problem  # noqa: E402

OWENS = dict(hidden=(2,), activations=("sigmoid",), loss="mse", output="sigmoid", init="uniform")


def problems() -> dict[str, Experiment]:
    """The race's problems: data, network and target (the solver is filled in per contender)."""
    def exp(name, dataset, network, **stop):
        return Experiment(name=name, dataset=dataset, network=network,
                          stop=StopConfig(t_end=1e12, **stop),
                          probe=ProbeConfig(metrics_every=10**9, stiffness_every=0))

    return {
        "xor": exp("XOR 2-2-1 sigmoid, mse", DatasetConfig(kind="xor", standardize=False),
                   NetworkConfig(**OWENS, init_seed=1), target_rms=0.01),
        "encoder": exp("4-2-4 encoder sigmoid, mse",
                       DatasetConfig(kind="encoder", standardize=False),
                       NetworkConfig(**OWENS, init_seed=1), target_rms=0.01),
        "moons": exp("two moons 2-16-16-1 tanh, bce", DatasetConfig(kind="moons"),
                     NetworkConfig(hidden=(16, 16), loss="bce"), target_loss=1e-3),
        "spirals": exp("two spirals 2-32-32-1 tanh, bce", DatasetConfig(kind="spirals"),
                       NetworkConfig(hidden=(32, 32), loss="bce"), target_loss=1e-3),
        "sin": exp("sin(2πx), noise 0, 1-16-16-1 tanh, mse",
                   DatasetConfig(kind="sin", n_samples=200, noise=0.0),
                   NetworkConfig(hidden=(16, 16), loss="mse"), target_rms=0.01),
        "iris": exp("iris 4-16-3 tanh, softmax", DatasetConfig(kind="iris"),
                    NetworkConfig(hidden=(16,), activations=("tanh",), loss="softmax_ce"),
                    target_loss=1e-2),
        "digits": exp("digits 64-32-10 tanh, softmax", DatasetConfig(kind="digits"),
                      NetworkConfig(hidden=(32,), activations=("tanh",), loss="softmax_ce"),
                      target_loss=1e-2),
    }


#: The ODE contenders: one configuration each, the same on every problem.
CONTENDERS = {
    "ros2-gn 1e-2": SolverConfig(method="ros2-gn", rtol=1e-2, atol=1e-2),
    "ros2-gn 1e-2 whole-GN": SolverConfig(method="ros2-gn", rtol=1e-2, atol=1e-2,
                                          jacobian="gauss-newton"),
    "ros2-gn 2e-2 whole-GN": SolverConfig(method="ros2-gn", rtol=2e-2, atol=2e-2,
                                          jacobian="gauss-newton"),
    "ros2-gn 3e-2 whole-GN": SolverConfig(method="ros2-gn", rtol=3e-2, atol=3e-2,
                                          jacobian="gauss-newton"),
    "ros34pw2-gn 1e-2": SolverConfig(method="ros34pw2-gn", rtol=1e-2, atol=1e-2),
    "ros2-gn 1e-3": SolverConfig(method="ros2-gn", rtol=1e-3, atol=1e-3),
    "ros2-gn 1e-1": SolverConfig(method="ros2-gn", rtol=1e-1, atol=1e-1),
    "lm": SolverConfig(method="lm"),
    "cvode-gmres 1e-4": SolverConfig(method="cvode-gmres", rtol=1e-4, atol=1e-4),
    "rkc 1e-2": SolverConfig(method="rkc", rtol=1e-2, atol=1e-2),
    "rkc 3e-2": SolverConfig(method="rkc", rtol=3e-2, atol=3e-2),
    "rkc 1e-1": SolverConfig(method="rkc", rtol=1e-1, atol=1e-1),
    "rkc 3e-2 exact Hv": SolverConfig(method="rkc", rtol=3e-2, atol=3e-2, jacobian="exact"),
}


@dataclass
class Result:
    status: str
    reached: bool
    wall: float  # CPU seconds on the run's clock at the end
    steps: int
    rejected: int | None
    n_grad: int
    n_hvp: int
    jac_evals: int | None
    lu_decomps: int | None
    loss: float
    t: float
    theta: np.ndarray
    extra: str = ""


def race_one(base: Experiment, problem: Problem, solver: SolverConfig, cap: float) -> Result:
    r = race_run(base.with_changes(solver=solver, stop={"max_wall_time": cap}), problem)
    f, st = r.final, r.stepper
    extra = ""
    if st is not None and hasattr(st, "descent_rejections"):
        extra = (f"err/desc/nan rej {st.error_rejections}/{st.descent_rejections}/"
                 f"{st.nonfinite_rejections}")
    if f.status == "failed":
        extra = (extra + " " + f.message[:60]).strip()
    return Result(f.status, r.reached, r.cpu, f.step, f.rejected, f.n_grad, f.n_hvp,
                  f.jac_evals, f.lu_decomps, f.loss_train, f.t, r.theta, extra)


def adam_grid(base, problem, exponents, cap) -> tuple[int | None, float, list[str]]:
    """(best exponent k of the rate 2^k, grid cost in s, one note per rate)."""
    best, best_wall, cost, notes = None, math.inf, 0.0, []
    for k in exponents:
        r = race_one(base, problem, SolverConfig(method="adam", learning_rate=2.0 ** k), cap)
        cost += r.wall
        notes.append(f"2^{k}: {fmt_ms(r.wall)} ms" + ("" if r.reached else f" ({r.status})"))
        if r.reached and r.wall < best_wall:
            best, best_wall = k, r.wall
    return best, cost, notes


def fmt_ms(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}"


def row(name: str, label: str, results: list[Result], note: str = "", flow="") -> tuple:
    """One table row: the median CPU time of the repeats and the first repeat's counts
    (identical across repeats: every run is deterministic), its distance from the flow."""
    r = results[0]
    wall = statistics.median(x.wall for x in results)
    reached = all(x.reached for x in results)
    shown = fmt_ms(wall) if reached else f"({fmt_ms(wall)}, {r.status})"
    work = f"{r.n_grad}" + (f" + {r.n_hvp} Hv" if r.n_hvp else "")
    linear = f"{r.jac_evals} / {r.lu_decomps}" if r.lu_decomps is not None else ""
    rejected = "" if r.rejected is None else str(r.rejected)
    return (name, label, shown, distance_text(flow) if flow != "" else "—", str(r.steps),
            rejected, work, linear, "; ".join(x for x in (r.extra, note) if x))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="xor,encoder,moons,spirals,sin,iris,digits")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cap", type=float, default=5.0, help="wall-time cap per run (s)")
    parser.add_argument("--adam-grid", default="-10:3", help="exponents lo:hi of 2 (hi excl.)")
    parser.add_argument("--no-adam", action="store_true")
    args = parser.parse_args()
    lo, hi = map(int, args.adam_grid.split(":"))
    table = problems()
    rows = []
    began = time.perf_counter()
    for name in args.problems.split(","):
        base = table[name]
        problem = Problem.build(base)
        print(f"{name}: {base.name}, {problem.net.n_params} parameters, "
              f"{problem.dataset.n_train} training samples", flush=True)
        contenders = {label: CONTENDERS[label] for label in args.contenders.split(",")}
        adam_note = ""
        if not args.no_adam:
            k, cost, notes = adam_grid(base, problem, range(lo, hi), args.cap)
            print("   Adam grid: " + "; ".join(notes), flush=True)
            adam_note = f"grid of {hi - lo} rates cost {fmt_ms(cost)} ms"
            if k is None:
                rows.append((name, "adam", "(no rate reached the target)", "", "", "", "",
                             adam_note))
            else:
                contenders = {f"adam lr 2^{k}": SolverConfig(method="adam",
                                                             learning_rate=2.0 ** k),
                              **contenders}
        results: dict[str, list[Result]] = {label: [] for label in contenders}
        for _ in range(args.repeats):  # round robin: load changes hit every contender alike
            for label, solver in contenders.items():
                results[label].append(race_one(base, problem, solver, args.cap))
        reached = [label for label, rs in results.items() if rs[0].reached]
        flows = dict(zip(reached, distances_from_flow(
            problem, [(results[x][0].t, results[x][0].theta) for x in reached])
            if reached else [], strict=True))
        for label, rs in results.items():
            note = adam_note if label.startswith("adam") else ""
            rows.append(row(name, label, rs, note, flows.get(label, "")))
            print("   " + " | ".join(rows[-1][1:]), flush=True)
    print()
    print(f"| problem | method | CPU ms to target (median of {args.repeats}) | from the flow | "
          "steps | rejected | gradients | GN Jacobians / factorisations | notes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\n(total benchmark time {time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
