"""Engine benchmark on the two-moons 2-16-16-1 tanh/BCE problem of SOLVER-NOTES.

Prints ratios measured side by side in one run (this machine is shared and noisy: medians of
repeats, never absolute targets):
  1. exact dense Hessian time ÷ scipy's finite-difference Jacobian time (target ≤ 0.2), max |diff|
  2. Hessian-vector product time ÷ gradient time (target ≤ 3)
  3. wall time to loss < 1e-3 for GD, RK45, BDF (exact / FD Jacobian), LSODA, CVODE-GMRES ÷ GD
  4. the engine's time per step ÷ a bare scipy loop on the same method (target ≤ 1.10), with the
     default cadence of metrics and stiffness probes, and with both turned off; on the runs to
     the target (~0.1 s, where the probes' fixed 5 ms allowance is ~5 %) and on long runs
     (RK45 2,000 steps, BDF 200), where the per-step cost shows.

Run: python benchmarks/engine.py [--repeats N]
"""

from __future__ import annotations

import os

# As the lab's worker processes do: threaded BLAS stalls on the ~150×150 solves here (a 2-core,
# shared machine), and one run per core is the intended use. Must precede numpy's import.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import statistics
import time

import numpy as np
from scipy.integrate import BDF, RK45
from scipy.integrate._ivp.common import num_jac

from odeprop.core.config import Experiment, ProbeConfig
from odeprop.core.presets import default_experiment
from odeprop.core.run import Problem, Run


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def moons() -> Experiment:
    """The default experiment's problem with the engine's default probe cadence (the preset
    asks for more probing, for the lab)."""
    return default_experiment().with_changes(stop={"target_loss": 1e-3, "t_end": 1e5,
                                                   "max_wall_time": 120.0}, probe=ProbeConfig())


def derivative_costs(problem: Problem, repeats: int) -> None:
    net, X, T, theta = problem.net, problem.dataset.X_train, problem.T_train, problem.theta0

    def rhs_columns(t, Y):  # how BDF/Radau call f for num_jac when f is not vectorised
        return np.column_stack([-net.loss_grad(y, X, T)[1] for y in Y.T])

    def fd():
        f = -net.loss_grad(theta, X, T)[1]
        return num_jac(rhs_columns, 0.0, theta, f, 1e-4, None)[0]

    t_hess = median_time(lambda: net.hessian(theta, X, T), repeats)
    t_fd = median_time(fd, repeats)
    diff = np.max(np.abs(-net.hessian(theta, X, T) - fd()))
    v = np.random.default_rng(0).standard_normal(net.n_params)
    inner = 50
    t_grad = median_time(lambda: [net.loss_grad(theta, X, T) for _ in range(inner)], repeats)
    t_hvp = median_time(lambda: [net.hvp(theta, X, T, v) for _ in range(inner)], repeats)
    print(f"problem: {net.describe()}, {len(X)} training points")
    print(f"  dense Hessian {t_hess * 1e3:.1f} ms, FD Jacobian {t_fd * 1e3:.1f} ms: "
          f"ratio {t_hess / t_fd:.3f} (target ≤ 0.2); max |exact − FD| = {diff:.2e}")
    print(f"  Hv {t_hvp / inner * 1e6:.0f} µs, gradient {t_grad / inner * 1e6:.0f} µs: "
          f"ratio {t_hvp / t_grad:.2f} (target ≤ 3)")


RACE = [
    ("GD, lr 0.5", {"method": "gd", "learning_rate": 0.5}),
    ("RK45 1e-4", {"method": "RK45"}),
    ("BDF exact J 1e-4", {"method": "BDF"}),
    ("BDF FD J 1e-4", {"method": "BDF", "jacobian": "fd"}),
    ("LSODA exact J 1e-4", {"method": "LSODA"}),
    ("CVODE-GMRES exact Hv 1e-4", {"method": "cvode-gmres"}),
]


def available(solver: dict) -> bool:
    import importlib.util

    family = {"cvode-gmres": "cvode"}.get(solver["method"])
    return family is None or importlib.util.find_spec(f"odeprop.core.solvers.{family}") is not None


def race(problem: Problem, repeats: int) -> None:
    print("\nwall time to loss < 1e-3 (solver time, median of repeats; ratio to GD):")
    rows, gd_time = [], None
    for label, solver in RACE:
        if not available(solver):
            print(f"  {label}: not available")
            continue
        exp = moons().with_changes(solver={"rtol": 1e-4, "atol": 1e-4, **solver},
                                   probe={"stiffness_every": 0})
        walls, last = [], None
        for _ in range(repeats):
            run = Run(exp, problem)
            last = run.run_to_end()
            run.close()
            walls.append(last.final.solver_wall)
        wall = statistics.median(walls)
        gd_time = gd_time or wall
        f = last.final
        rows.append((label, wall, wall / gd_time, f.n_grad, f.n_hvp, f.n_hess, f.step,
                     last.status))
    print(f"  {'method':28s} {'wall s':>8s} {'÷ GD':>6s} {'grads':>7s} {'Hv':>6s} "
          f"{'Hess':>5s} {'steps':>6s}")
    for label, wall, ratio, g, hv, h, steps, status in rows:
        flag = "" if status == "finished" else f"  ({status})"
        print(f"  {label:28s} {wall:8.3f} {ratio:6.2f} {g:7d} {hv:6d} {h:5d} {steps:6d}{flag}")


def overhead(problem: Problem, repeats: int) -> None:
    print("\nengine time per step ÷ bare scipy loop on the same method (target ≤ 1.10):")
    net, X, T = problem.net, problem.dataset.X_train, problem.T_train

    def rhs(t, y):
        return -net.loss_grad(y, X, T)[1]

    def jac(t, y):
        return -net.hessian(y, X, T)

    cases = [("RK45", RK45, {}, None), ("BDF", BDF, {"jac": jac}, None),
             ("RK45", RK45, {}, 2000), ("BDF", BDF, {"jac": jac}, 200)]
    for method, cls, extra, steps in cases:
        exp = moons().with_changes(solver={"method": method}, stop={"t_end": 1e12})
        to_target = steps is None
        steps = steps or Run(exp, problem).run_to_end().final.step

        def bare(cls=cls, extra=extra, steps=steps):
            solver = cls(rhs, 0.0, problem.theta0.copy(), 1e12, rtol=1e-4, atol=1e-4, **extra)
            for _ in range(steps):
                solver.step()

        def engine(exp, steps=steps):
            run = Run(exp, problem)
            run.start()
            for _ in range(steps):
                run.step()
            return run.probe_wall

        quiet = exp.with_changes(probe={"stiffness_every": 0, "metrics_every": 10**9},
                                 stop={"target_loss": None})
        default = exp.with_changes(stop={"target_loss": None})
        # one warm-up each, then the three interleaved so machine noise hits them alike
        contenders = [bare, lambda e=default: engine(e), lambda e=quiet: engine(e)]
        times, probing = [[], [], []], []
        for fn in contenders:
            fn()
        for _ in range(repeats):
            for i, fn in enumerate(contenders):
                begin = time.perf_counter()
                spent = fn()
                times[i].append(time.perf_counter() - begin)
                if i == 1:
                    probing.append(spent)
        t_bare, t_default, t_quiet = (statistics.median(t) for t in times)
        probe_ms = statistics.median(probing) * 1e3
        what = "to the target" if to_target else "long run"
        print(f"  {method}, {what}: {steps} steps ({t_bare:.2f} s bare, "
              f"{t_bare / steps * 1e3:.3f} ms/step); engine without probes or test metrics "
              f"{t_quiet / t_bare:.3f}×, with the default cadence {t_default / t_bare:.3f}× "
              f"(stiffness probes {probe_ms:.1f} ms of it)")
    print("  (a run's probing is held to max(1 % of the solver's time, 5 ms), the first, cold "
          "probe included:\n   on the ~0.1 s runs to the target that fixed 5 ms is ~5 %, "
          "on the long runs the 1 % applies)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    problem = Problem.build(moons())
    derivative_costs(problem, args.repeats)
    race(problem, args.repeats)
    overhead(problem, args.repeats)


if __name__ == "__main__":
    main()
