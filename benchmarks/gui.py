"""How much the live lab costs the solver, and how late the GUI's redraw timer runs meanwhile.

Runs one experiment headless (a worker process and a bare receiving loop) and then in the lab
window (offscreen), and prints solver throughput in steps per second for both, their ratio
(target ≥ 0.85), and the lateness of the window's ~33 ms redraw timer while it streams: median,
p95 and p99 (target p99 ≤ 20 ms).

    QT_QPA_PLATFORM=offscreen python benchmarks/gui.py [--steps N] [--repeat K]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

from odeprop.core.config import Experiment
from odeprop.core.worker import RunProcess, wait_any


def experiment(steps: int) -> Experiment:
    return Experiment().with_changes(
        name="benchmark: spirals, RK45", dataset={"kind": "spirals"},
        solver={"method": "RK45", "rtol": 1e-6, "atol": 1e-6},
        stop={"t_end": 1e9, "target_loss": None, "max_wall_time": None, "max_steps": steps})


def headless(exp: Experiment) -> float:
    """Accepted steps per second, first batch to final report, with nobody drawing."""
    proc = RunProcess(exp)
    first = last_step = None
    while not proc.finished:
        for p in wait_any([proc], 5.0):
            message = p.receive()
            if message[0] == "batch":
                first = first or time.perf_counter()
                last_step = message[1][-1].step
    end = time.perf_counter()
    proc.terminate()
    return last_step / (end - first)


def in_the_lab(exp: Experiment) -> tuple[float, np.ndarray]:
    """Steps per second with the lab window streaming, and the redraw timer's lateness (s)."""
    from PySide6.QtCore import QEventLoop, QSettings

    from odeprop.gui.main_window import REDRAW_MS, MainWindow

    folder = tempfile.mkdtemp(prefix="odeprop-bench-")
    window = MainWindow(settings=QSettings(os.path.join(folder, "s.ini"),
                                           QSettings.Format.IniFormat), persist=False)
    window.resize(1400, 900)
    window.show()
    window.set_experiment(exp)
    loop = QEventLoop()
    times = {}
    window.run_ended.connect(lambda *_: (times.setdefault("end", time.perf_counter()),
                                         loop.quit()))
    window.tick_times = []
    window.start()
    window.session.batch.connect(lambda _b: times.setdefault("first", time.perf_counter()))
    loop.exec()
    ticks = np.array([t for t in window.tick_times if times["first"] <= t <= times["end"]])
    steps = window.session.last.step
    window.close()
    lateness = np.maximum(np.diff(ticks) - REDRAW_MS / 1000, 0.0)
    return steps / (times["end"] - times["first"]), lateness


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4000, help="solver steps per run")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each kind (best kept)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("odeprop-benchmark")
    exp = experiment(args.steps)
    bare = max(headless(exp) for _ in range(args.repeat))
    lab_runs = [in_the_lab(exp) for _ in range(args.repeat)]
    lab = max(r[0] for r in lab_runs)
    late = np.concatenate([r[1] for r in lab_runs]) * 1000
    print(f"experiment: {exp.name}, {args.steps} steps, best of {args.repeat}")
    print(f"headless throughput:   {bare:8.0f} steps/s")
    print(f"lab streaming:         {lab:8.0f} steps/s")
    print(f"ratio lab / headless:  {lab / bare:8.2f}   (target >= 0.85)")
    print(f"redraw timer lateness over {late.size} ticks: median {np.median(late):.1f} ms, "
          f"p95 {np.percentile(late, 95):.1f} ms, p99 {np.percentile(late, 99):.1f} ms   "
          "(target p99 <= 20 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
