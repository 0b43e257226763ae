"""What one redraw of the network view costs: the picture of θ (core) and its drawing (GUI).

The default experiment (2-16-16-1, 304 edges, drawn edge by edge with 35 heat maps) is run to the
end headless, and the network view is redrawn from its weights along the way (``--frames``
redraws, cycling through the trajectory) at two window sizes; then the ``big-network`` preset
(784-128-10, 101,632 weights: the summary) with weights varied from frame to frame. For each it
prints p50 and p99 milliseconds per redraw: core's picture, ``show_picture`` and the paint (a
synchronous ``grab``), and their sum (target p99 ≤ 33 ms, one frame of the lab's timer), and
the CPU time of the same (on a shared machine the wall time's tail is mostly other processes).

    QT_QPA_PLATFORM=offscreen python benchmarks/network_view.py [--frames N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from odeprop.core.network_picture import network_picture
from odeprop.core.presets import load_preset
from odeprop.core.run import Problem, Run


def trajectory(problem_name: str) -> tuple[Problem, list[np.ndarray]]:
    """A preset's problem and θ after each step of its run to the end."""
    run = Run(load_preset(problem_name))
    thetas = [run.theta]
    while run.status in ("ready", "running"):
        run.step()
        thetas.append(run.theta)
    return run.problem, thetas


def redraws(app, view, problem: Problem, thetas, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds per redraw, (frames, 3) of wall time (picture, show_picture, paint) and
    (frames,) of this thread's CPU time (what the work costs without the other processes on a
    shared machine); a few frames first to warm up."""
    wall, cpu = [], []
    for k in range(frames + 5):
        theta = thetas[k % len(thetas)]
        c0, t0 = time.thread_time(), time.perf_counter()
        picture = network_picture(problem, theta)
        t1 = time.perf_counter()
        view.show_picture(picture)
        t2 = time.perf_counter()
        view.currentWidget().grab()  # a synchronous paint, scene views included
        t3, c3 = time.perf_counter(), time.thread_time()
        app.processEvents()
        if k >= 5:
            wall.append((t1 - t0, t2 - t1, t3 - t2))
            cpu.append(c3 - c0)
    return 1e3 * np.array(wall), 1e3 * np.array(cpu)


def report(name: str, measured: tuple[np.ndarray, np.ndarray]) -> None:
    ms, cpu = measured
    total = ms.sum(axis=1)
    parts = ", ".join(f"{part} {np.percentile(col, 50):.1f}/{np.percentile(col, 99):.1f}"
                      for part, col in zip(("picture", "show", "paint"), ms.T, strict=True))
    print(f"{name}:\n    wall p50 {np.percentile(total, 50):.1f} ms, p99 "
          f"{np.percentile(total, 99):.1f} ms per redraw (p50/p99: {parts}); CPU p50 "
          f"{np.percentile(cpu, 50):.1f} ms, p99 {np.percentile(cpu, 99):.1f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="redraws per case")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from odeprop.gui.classroom.network_view import NetworkView

    app = QApplication.instance() or QApplication(sys.argv[:1])
    problem, thetas = trajectory("default")
    print(f"default experiment: {'-'.join(map(str, problem.net.sizes))}, "
          f"{len(thetas)} weight vectors along its run; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    view = NetworkView()
    view.show()
    for size in ((600, 400), (1280, 720)):
        view.resize(*size)
        app.processEvents()
        report(f"  edges and heat maps at {size[0]}×{size[1]}",
               redraws(app, view, problem, thetas, args.frames))
    big = Problem.build(load_preset("big-network"))
    rng = np.random.default_rng(0)
    varied = [big.theta0 * (1 + 0.05 * k) + rng.normal(0, 0.01, big.theta0.size)
              for k in range(8)]
    view.resize(600, 400)
    app.processEvents()
    report(f"big-network {'-'.join(map(str, big.net.sizes))} (summary) at 600×400",
           redraws(app, view, big, varied, args.frames))
    return 0


if __name__ == "__main__":
    sys.exit(main())
