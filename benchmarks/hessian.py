"""Dense exact Hessian: the factorised method against the R-operator on the identity and against
scipy's finite-difference Jacobian, measured side by side in one run.

This machine is shared and noisy, so the three methods are timed in interleaved rounds (one call
of each per round) and the median of the rounds is reported; compare the ratios, not the
absolute times. OPENBLAS_NUM_THREADS is left as it is.

  new   MLP.hessian (layer blocks from factorised R-quantities, GEMMs over samples)
  old   MLP._hessian_by_hvp (Hessian-vector products on blocks of the identity)
  fd    scipy.integrate._ivp.common.num_jac over −∇L with a column-wise f, as BDF/Radau build
        the Jacobian when given none (GradientFlow._rhs_columns): P + 1 gradients

Run: python benchmarks/hessian.py [--repeats N] [--digits]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy.integrate._ivp.common import num_jac

from odeprop.core.config import Experiment
from odeprop.core.flow import GradientFlow, Objective
from odeprop.core.presets import default_experiment
from odeprop.core.run import Problem


def moons() -> Experiment:
    """The default experiment: 2-16-16-1 tanh/tanh, BCE, 150 training points, 337 parameters."""
    return default_experiment()


def spirals() -> Experiment:
    """2-32-32-1 tanh/tanh, BCE, on 300 training points of the two spirals: 1185 parameters."""
    return default_experiment().with_changes(dataset={"kind": "spirals", "n_samples": 400},
                                             network={"hidden": (32, 32)})


def digits() -> Experiment:
    """64-32-10 tanh, softmax cross-entropy, on 1347 training digits: 2410 parameters."""
    return default_experiment().with_changes(
        dataset={"kind": "digits"},
        network={"hidden": (32,), "activations": ("tanh",), "loss": "softmax_ce"})


def interleaved_medians(fns: dict, repeats: int) -> dict:
    """Median wall time of each function, timed in rounds of one call of each."""
    for fn in fns.values():  # warm-up (allocations, BLAS buffers)
        fn()
    times: dict = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def compare(label: str, experiment: Experiment, repeats: int) -> None:
    problem = Problem.build(experiment)
    net, X, T, theta = problem.net, problem.dataset.X_train, problem.T_train, problem.theta0
    flow = GradientFlow(Objective(net, X, T))

    def fd():
        f = flow.rhs(0.0, theta)
        return num_jac(flow._rhs_columns, 0.0, theta, f, 1e-4, None)[0]

    fns = {"new": lambda: net.hessian(theta, X, T),
           "old": lambda: net._hessian_by_hvp(theta, X, T),
           "fd": fd}
    t = interleaved_medians(fns, repeats)
    H_new, H_old, J_fd = net.hessian(theta, X, T), net._hessian_by_hvp(theta, X, T), fd()
    scale = np.max(np.abs(H_old))
    print(f"{label}: {net.describe()}, {len(X)} training points")
    print(f"  new hessian       {t['new'] * 1e3:9.2f} ms")
    print(f"  old (hvp blocks)  {t['old'] * 1e3:9.2f} ms")
    print(f"  FD Jacobian       {t['fd'] * 1e3:9.2f} ms  ({net.n_params + 1} gradients)")
    print(f"  new ÷ FD  = {t['new'] / t['fd']:.3f}  (target ≤ 0.2)")
    print(f"  old ÷ FD  = {t['old'] / t['fd']:.3f}")
    print(f"  old ÷ new = {t['old'] / t['new']:.1f}  (target ≥ 5)")
    print(f"  max |new − old| = {np.max(np.abs(H_new - H_old)):.2e} (max |H| = {scale:.2e}); "
          f"new symmetric: {np.array_equal(H_new, H_new.T)}; "
          f"max |new + J_fd| = {np.max(np.abs(H_new + J_fd)):.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed rounds (≥ 5)")
    parser.add_argument("--digits", action="store_true",
                        help="also the 64-32-10 digits network (2410 parameters; slow)")
    args = parser.parse_args()
    repeats = max(5, args.repeats)
    print(f"median of {repeats} interleaved rounds\n")
    compare("moons", moons(), repeats)
    print()
    compare("spirals", spirals(), repeats)
    if args.digits:
        print()
        compare("digits", digits(), max(5, repeats // 3))


if __name__ == "__main__":
    main()
