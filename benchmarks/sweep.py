"""200 small runs one after the other in this process, then on a local Dask cluster (one worker
process per core): the ratio of wall times (target ≤ 0.6 on 2 cores) and Dask's overhead per
run in CPU time over every process (the client and scheduler, and the workers: wall time on a
shared machine measures the neighbours), with the load average beside them.

The grids: the owens-filkin-50 sweep's first four methods (gradient descent at η 2 and 20,
dopri5, vode BDF with a finite-difference Jacobian) from 50 initial weights, ended at t = 2e4:
XOR runs of 5–600 ms; and the same as tiny runs of about 2 ms (5 steps each, the final report
included), which the executor batches many to a task — 200 of them, and 2,000 (where the fixed
costs of a sweep, about 0.1 s, no longer dominate).

    python benchmarks/sweep.py [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace

from odeprop.core.presets import load_sweep
from odeprop.core.sweep import Axis, Sweep
from odeprop.core.sweep_cell import run_cell
from odeprop.core.sweep_runner import SweepRunner, connect


def grids():
    """(name, sweep): the shipped Owens & Filkin sweep's first four methods over 50 seeds
    (without its reference flow, to t = 2e4), and the same as tiny runs over 50 and 500 seeds."""
    base = load_sweep("owens-filkin-50")
    small = replace(base, methods=base.methods[:4], reference=None, ratio_to="",
                    stop=replace(base.stop, t_end=2e4), max_runs=10_000)
    tiny = replace(small, stop=replace(small.stop, max_steps=5))
    yield "XOR runs (5–600 ms)", small
    for seeds in (50, 500):
        axis = Axis("network.init_seed", tuple(range(seeds)))
        yield "tiny runs (5 steps)", replace(tiny, axes=(axis,))



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
        for name, sweep in grids():
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
