"""200 small runs one after the other in this process, then on a local Dask cluster (one worker
process per core): the ratio of wall times (target ≤ 0.6 on 2 cores) and Dask's overhead per
run in CPU time over every process (the client and scheduler, and the workers: wall time on a
shared machine measures the neighbours), with the load average beside them.

The grids: XOR 2-2-1 runs of 5–300 ms (gradient descent, BDF, dopri5, vode from 50 initial
weights), and tiny runs of about 2 ms (5 steps each, the final report included), which the
executor batches many to a task — 200 of them, and 2,000 (where the fixed costs of a sweep,
about 0.1 s, no longer dominate).

    python benchmarks/sweep.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from odeprop.core.sweep import Sweep
from odeprop.core.sweep_cell import run_cell
from odeprop.core.sweep_runner import SweepRunner, connect

GRID = """
name = "benchmark: 200 small runs"
[dataset]
kind = "xor"
standardize = false
[network]
hidden = [2]
activations = ["sigmoid"]
loss = "mse"
output = "sigmoid"
init = "uniform"
[stop]
t_end = 100000.0
target_rms = 0.05
{extra_stop}
[probe]
stiffness_every = 0
[axes]
"network.init_seed" = {{ start = 0, count = {seeds} }}
[[targets]]
kind = "rms"
value = 0.05
[[methods]]
label = "GD, lr 20"
[methods.solver]
method = "gd"
learning_rate = 20.0
[[methods]]
label = "BDF"
[methods.solver]
method = "BDF"
rtol = 1e-2
atol = 1e-2
[[methods]]
label = "dopri5"
[methods.solver]
method = "dopri5"
rtol = 1e-2
atol = 1e-2
[[methods]]
label = "vode BDF"
[methods.solver]
method = "vode-bdf"
rtol = 1e-2
atol = 1e-2
jacobian = "exact"
"""


def sequential(sweep: Sweep) -> tuple[float, float]:
    """Wall and CPU seconds of every cell run here, one after the other."""
    begin, cpu = time.perf_counter(), time.process_time()
    for cell in sweep.cells():
        run_cell(sweep, cell)
    return time.perf_counter() - begin, time.process_time() - cpu


def _worker_cpu() -> float:
    import psutil

    times = psutil.Process().cpu_times()
    return times.user + times.system


def on_cluster(sweep: Sweep, client) -> tuple[float, float]:
    """Wall seconds on the cluster, and CPU seconds of this process (client and scheduler) and
    of every worker together."""
    with tempfile.TemporaryDirectory() as out:
        workers = sum(client.run(_worker_cpu).values())
        begin, cpu = time.perf_counter(), time.process_time()
        SweepRunner(sweep, out).run(client)
        wall, cpu = time.perf_counter() - begin, time.process_time() - cpu
        return wall, cpu + sum(client.run(_worker_cpu).values()) - workers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (min taken)")
    args = parser.parse_args()
    workers = os.cpu_count() or 1
    begin = time.perf_counter()
    client = connect(None, workers)
    startup = time.perf_counter() - begin
    print(f"LocalCluster of {workers} worker processes started in {startup:.2f} s "
          f"(load average {os.getloadavg()[0]:.1f})")
    try:
        for name, extra, seeds in (("small runs (5–300 ms)", "", 50),
                                   ("tiny runs (5 steps)", "max_steps = 5", 50),
                                   ("tiny runs (5 steps)", "max_steps = 5", 500)):
            sweep = Sweep.from_toml(GRID.format(extra_stop=extra, seeds=seeds))
            seq, par = [], []
            for _ in range(args.rounds):
                seq.append(sequential(sweep))
                par.append(on_cluster(sweep, client))
            (s, s_cpu), (p, p_cpu) = min(seq), min(par)
            overhead = (p_cpu - s_cpu) / sweep.n_runs
            print(f"{name}: {sweep.n_runs} runs, sequential {s:.2f} s, cluster {p:.2f} s, "
                  f"ratio {p / s:.2f} (target ≤ 0.6 on 2 cores); Dask's overhead "
                  f"{overhead * 1000:+.2f} ms of CPU per run (all processes, against the "
                  f"sequential loop's {s_cpu / sweep.n_runs * 1000:.2f} ms); load average "
                  f"{os.getloadavg()[0]:.1f}")
    finally:
        client.close()
        client.cluster.close()


if __name__ == "__main__":
    main()
