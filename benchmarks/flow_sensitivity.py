"""How much does the flow amplify an error? The reason some races cannot be won by following it.

A flow-follower must end within 10 % of the tight flow (``fidelity.FOLLOWS``). How hard that is
depends on the flow: every error a solver makes is carried forward and grown (or shrunk) by the
flow itself. This script measures that growth on each race problem directly: it integrates the
flow from θ0 and from θ0 + ε‖θ0‖u (u a random unit vector, ε = 1e-6: the linear regime, and
1e-3: a typical loose solver's error) with the race's reference integrator (Radau, exact
Hessian, rtol 1e-8), and prints the relative distance between them at doubling t up to the
time the flow reaches the race's target, divided by ε: the amplification. An amplification of
A means a solver must keep its accumulated error, weighted by what is still to come, below
about 10 % / A of ‖θ‖ to follow the flow.

Run: python benchmarks/flow_sensitivity.py [--problems spirals,moons] [--doublings 12]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from race import problems  # noqa: E402

from odeprop.core.fidelity import RACE_REFERENCE, ReferenceSolution, relative_distance  # noqa: E402
from odeprop.core.flow import Objective  # noqa: E402
from odeprop.core.network import rms_error  # noqa: E402
from odeprop.core.run import Problem  # noqa: E402

EPSILONS = (1e-6, 1e-3)


def target_reached(experiment, objective: Objective, theta: np.ndarray) -> bool:
    """Has the flow reached the race's target (loss or RMS error) at θ?"""
    stop = experiment.stop
    if stop.target_loss is not None:
        return objective.loss(theta) <= stop.target_loss
    return rms_error(objective.output(theta), objective.T) <= stop.target_rms


def target_time(experiment, objective, theta0, t_max=1e7) -> float:
    """The first power of two in t at which the flow has reached the target."""
    flow = ReferenceSolution(objective, theta0, RACE_REFERENCE, t_max)
    t = 1.0 / 64
    while not target_reached(experiment, objective, flow.at(t)):
        t *= 2.0
        if t > t_max:
            raise RuntimeError("the flow did not reach the target")
    return t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="xor,encoder,sin,moons,iris,digits,spirals")
    parser.add_argument("--doublings", type=int, default=10,
                        help="rows per problem: t_target / 2^k, k = doublings … 0")
    args = parser.parse_args()
    table = problems()
    rng = np.random.default_rng(0)
    summary = []
    for name in args.problems.split(","):
        began = time.perf_counter()
        experiment = table[name]
        problem = Problem.build(experiment)
        objective = Objective(problem.net, problem.dataset.X_train, problem.T_train)
        theta0 = problem.theta0
        t_end = target_time(experiment, objective, theta0)
        u = rng.standard_normal(theta0.size)
        u *= np.linalg.norm(theta0) / np.linalg.norm(u)
        flows = [ReferenceSolution(objective, theta0 + eps * u, RACE_REFERENCE, t_end)
                 for eps in (0.0, *EPSILONS)]
        print(f"{name}: {experiment.name}, {theta0.size} parameters; the flow reaches the "
              f"target by t = {t_end:g}", flush=True)
        for k in range(args.doublings, -1, -1):
            t = t_end / 2**k
            thetas = [f.at(t) for f in flows]
            amps = [relative_distance(th, thetas[0]) / eps
                    for eps, th in zip(EPSILONS, thetas[1:], strict=True)]
            print(f"   t = {t:10.4g}  loss {objective.loss(thetas[0]):.3g}  " + "  ".join(
                f"amplification of {eps:g}: {a:.3g}" for eps, a in zip(EPSILONS, amps,
                                                                         strict=True)),
                  flush=True)
        summary.append((name, t_end, *amps, time.perf_counter() - began))
    print("\n| problem | flow reaches the target by t | amplification at the target, ε = 1e-6 "
          "| ε = 1e-3 | (s to measure) |")
    print("|---|---|---|---|---|")
    for name, t_end, a_small, a_large, seconds in summary:
        print(f"| {name} | {t_end:g} | {a_small:.3g} | {a_large:.3g} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
