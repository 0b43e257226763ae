"""Big networks, matrix-free: CVODE BDF with GMRES on exact Hessian-vector products.

Each case runs in its own process (so its peak memory is its own) and prints parameters, steps,
gradient and Hv evaluations, wall time, test accuracy and peak resident memory (target: under
1 GiB at 10⁵ parameters; memory grows linearly with the parameter count — no P×P matrix).

Run: python benchmarks/bignet.py
"""

from __future__ import annotations

import json
import subprocess
import sys

CASES = {
    "digits 64-128-128-10": {
        "dataset": {"kind": "digits"},
        "network": {"hidden": [128, 128], "activations": ["tanh"], "loss": "softmax_ce"}},
    "clusters 784-64-64-10 (2,000 samples)": {
        "dataset": {"kind": "clusters", "n_samples": 2000, "n_classes": 10},
        "network": {"hidden": [64, 64], "activations": ["tanh"], "loss": "softmax_ce"}},
    "clusters 784-128-10 (4,000 samples)": {
        "dataset": {"kind": "clusters", "n_samples": 4000, "n_classes": 10},
        "network": {"hidden": [128], "activations": ["tanh"], "loss": "softmax_ce"}},
    "clusters 784-128-10 (10,000 to train)": {
        "dataset": {"kind": "clusters", "n_samples": 13334, "n_classes": 10},
        "network": {"hidden": [128], "activations": ["tanh"], "loss": "softmax_ce"}},
}

CHILD = """
import json, os, resource, sys, time
os.environ["OPENBLAS_NUM_THREADS"] = "1"
from odeprop.core.config import Experiment
from odeprop.core.run import Run
case = json.loads(sys.argv[1])
exp = Experiment.from_dict({**case, "solver": {"method": "cvode-gmres", "rtol": 1e-3,
                            "atol": 1e-3},
                            "stop": {"target_loss": 1e-2, "max_wall_time": 300, "t_end": 1e6}})
begin = time.perf_counter()
run = Run(exp)
report = run.run_to_end()
f = report.final
print(json.dumps({"params": run.net.n_params, "status": report.status, "steps": f.step,
                  "grads": f.n_grad, "hvp": f.n_hvp, "wall": time.perf_counter() - begin,
                  "acc": f.accuracy_test,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    print(f"{'case':40s} {'params':>8s} {'status':>9s} {'steps':>6s} {'∇L':>5s} {'Hv':>5s} "
          f"{'wall s':>7s} {'test acc':>8s} {'peak MB':>8s}")
    for name, case in CASES.items():
        out = subprocess.run([sys.executable, "-c", CHILD, json.dumps(case)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{name:40s} {r['params']:8d} {r['status']:>9s} {r['steps']:6d} {r['grads']:5d} "
              f"{r['hvp']:5d} {r['wall']:7.1f} {r['acc']:8.1%} {r['rss_mb']:8.0f}")


if __name__ == "__main__":
    main()
