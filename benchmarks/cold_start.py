"""A fresh process's first run: what the warm-up (``core.run.warm_up``) takes out of its clock.

A comparison's and the lab's runs each live in a fresh worker process. Its first calls of a
method (modules imported when first needed, LAPACK's and numpy's first dispatch of each
operation) are not the method's cost, and they differ between methods. For each method this
starts fresh processes, in turn with and without the warm-up, and prints the first timed run's
solver time (thread CPU on the run's one clock, to iris's loss 1e-2), the second run in the same
process (warm), and the ratios first ÷ second: medians over ``--repeats`` processes each.

Run: python benchmarks/cold_start.py [--problem iris] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

from quiet import load_per_core

METHODS = {
    "adam 0.5": {"method": "adam", "learning_rate": 0.5},
    "gd 8": {"method": "gd", "learning_rate": 8.0},
    "ros2-gn 3e-2 whole GN": {"method": "ros2-gn", "rtol": 3e-2, "atol": 3e-2,
                              "jacobian": "gauss-newton"},
    "rkc 1e-1": {"method": "rkc", "rtol": 1e-1, "atol": 1e-1},
    "cvode-gmres 1e-4": {"method": "cvode-gmres", "rtol": 1e-4, "atol": 1e-4},
    "RK45 1e-4": {"method": "RK45", "rtol": 1e-4, "atol": 1e-4},
}

CHILD = """
import json, os, sys
os.environ["OPENBLAS_NUM_THREADS"] = "1"
sys.path.insert(0, {here!r})
from race import problems
from odeprop.core.config import SolverConfig
from odeprop.core.run import Problem, Run, warm_up
base = problems()[{problem!r}].with_changes(solver=SolverConfig(**{solver!r}),
                                            stop={{"max_wall_time": 30}})
problem = Problem.build(base)
if {warm!r}:
    warm_up(base, problem)
cpus = []
for _ in range(2):
    run = Run(base, problem)
    run.start()
    while not run.done:
        run.step()
    run.close()
    cpus.append(run.clock.cpu)
print(json.dumps(cpus))
"""


def first_and_second(problem: str, solver: dict, warm: bool) -> list[float]:
    code = CHILD.format(here=os.path.dirname(os.path.abspath(__file__)), problem=problem,
                        solver=solver, warm=warm)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="iris")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"{args.problem}: first timed run in a fresh process, ms of thread CPU "
          f"(medians of {args.repeats} processes each; load average "
          f"{load_per_core() * cores:.2f} on {cores} cores at the start)\n")
    print("| method | cold first | warmed-up first | second (warm) | cold ÷ second | "
          "warmed-up ÷ second |")
    print("|---|---|---|---|---|---|")
    for name, solver in METHODS.items():
        cold, warmed, second = [], [], []
        for _ in range(args.repeats):  # cold and warmed-up processes in turn
            a, b = first_and_second(args.problem, solver, warm=False)
            c, _ = first_and_second(args.problem, solver, warm=True)
            cold.append(a)
            second.append(b)
            warmed.append(c)
        cold_ms, warm_ms, second_ms = (statistics.median(v) * 1e3
                                       for v in (cold, warmed, second))
        print(f"| {name} | {cold_ms:.1f} | {warm_ms:.1f} | {second_ms:.1f} | "
              f"{cold_ms / second_ms:.2f} | {warm_ms / second_ms:.2f} |", flush=True)
    print(f"\n(load average {load_per_core() * cores:.2f} at the end)")


if __name__ == "__main__":
    main()
