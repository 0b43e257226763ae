"""How much the live lab costs the solver, and how late the GUI's redraw timer runs meanwhile.

Runs one experiment headless (a worker process and a bare receiving loop) and then in the lab
window (offscreen), and prints solver throughput in steps per second for both, their ratio
(target ≥ 0.85), and the lateness of the window's ~33 ms redraw timer while it streams: median,
p95 and p99 (target p99 ≤ 20 ms).

``--big`` runs the shipped ``big-network`` preset instead (784-128-10, 101,770 parameters,
CVODE with GMRES on exact Hv), and also prints how long the worker takes to send its first
batch, and the peak memory of the window's process and of the worker. ``--lens`` opens the
stiffness lens during the lab runs, so that they measure Hessian spectra (both ends, by
Lanczos, beyond 2,000 parameters); the headless runs then measure them too.

``--replay`` measures instead what one frame of a replay costs: the default experiment runs in
the lab at 1280 × 720, then its replay slider sweeps the run (every view redrawn from θ at each
moment, the data tab and then the network tab in front), timing each move with the events it
posts handled; it prints p50 and p99 (target p99 ≤ 33 ms) beside the load average.

The streaming figures come with the load average; their whole measurement is repeated until it
ran on a quiet machine (load below 1 per core, ``--tries`` times at most), or says it could not.

    QT_QPA_PLATFORM=offscreen python benchmarks/gui.py [--steps N] [--repeat K] [--big] [--lens]
    QT_QPA_PLATFORM=offscreen python benchmarks/gui.py --replay [--frames N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np
from quiet import quiet_sample

from odeprop.core.config import Experiment
from odeprop.core.presets import load_preset
from odeprop.core.worker import RunProcess, wait_any


def experiment(steps: int) -> Experiment:
    return Experiment().with_changes(
        name="benchmark: spirals, RK45", dataset={"kind": "spirals"},
        solver={"method": "RK45", "rtol": 1e-6, "atol": 1e-6},
        stop={"t_end": 1e9, "target_loss": None, "max_wall_time": None, "max_steps": steps})


def big_experiment(steps: int | None) -> Experiment:
    """The big-network preset as shipped (to its target), or cut at ``steps`` solver steps."""
    exp = load_preset("big-network")
    return exp if steps is None else exp.with_changes(stop={"max_steps": steps})


def peak_mb(pid: int | str = "self") -> float:
    """A process's peak resident memory so far (VmHWM, Linux), in MB; 0 if unknown."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def headless(exp: Experiment) -> tuple[float, float, float]:
    """Accepted steps per second, first batch to final report, with nobody drawing; the
    seconds from starting the worker to its first batch; and the worker's peak memory (MB)."""
    begin = time.perf_counter()
    proc = RunProcess(exp)
    first = last_step = None
    worker_mb = 0.0
    while not proc.finished:
        for p in wait_any([proc], 5.0):
            message = p.receive()
            if message[0] == "batch":
                first = first or time.perf_counter()
                last_step = message[1][-1].step
            worker_mb = max(worker_mb, peak_mb(proc.process.pid))
    end = time.perf_counter()
    proc.terminate()
    return last_step / (end - first), first - begin, worker_mb


def in_the_lab(exp: Experiment, lens: bool = False) -> tuple[float, np.ndarray, float, float]:
    """Steps per second with the lab window streaming, the redraw timer's lateness (s), the
    seconds from Start to the first batch, and the worker's peak memory (MB)."""
    from PySide6.QtCore import QEventLoop, QSettings

    from odeprop.gui.common.document_window import REDRAW_MS
    from odeprop.gui.lab.main_window import MainWindow

    folder = tempfile.mkdtemp(prefix="odeprop-bench-")
    window = MainWindow(settings=QSettings(os.path.join(folder, "s.ini"),
                                           QSettings.Format.IniFormat), persist=False)
    window.resize(1400, 900)
    window.show()
    window.set_experiment(exp)
    if lens:
        window.lens_dock.show()
    loop = QEventLoop()
    times = {}
    window.run_ended.connect(lambda *_: (times.setdefault("end", time.perf_counter()),
                                         loop.quit()))
    window.tick_times = []
    times["start"] = time.perf_counter()
    window.start()
    pid = window.session.process.process.pid
    worker = [0.0]

    def on_batch(_batch):
        times.setdefault("first", time.perf_counter())
        worker[0] = max(worker[0], peak_mb(pid))

    window.session.batch.connect(on_batch)
    loop.exec()
    ticks = np.array([t for t in window.tick_times if times["first"] <= t <= times["end"]])
    steps = window.session.last.step
    window.close()
    lateness = np.maximum(np.diff(ticks) - REDRAW_MS / 1000, 0.0)
    return (steps / (times["end"] - times["first"]), lateness, times["first"] - times["start"],
            worker[0])


def replay_frames(frames: int) -> dict[str, np.ndarray]:
    """Seconds per replay frame of the default experiment's run (wall, and the GUI thread's
    CPU), per tab in front."""
    from PySide6.QtCore import QEventLoop, QSettings
    from PySide6.QtWidgets import QApplication

    from odeprop.gui.lab.main_window import MainWindow

    folder = tempfile.mkdtemp(prefix="odeprop-bench-")
    window = MainWindow(settings=QSettings(os.path.join(folder, "s.ini"),
                                           QSettings.Format.IniFormat), persist=False)
    window.resize(1280, 720)
    window.show()
    window.set_experiment(load_preset("default"))
    loop = QEventLoop()
    window.run_ended.connect(lambda *_: loop.quit())
    window.start()
    loop.exec()
    tabs = window.network_view.parentWidget().parentWidget()
    costs = {}
    for tab in ("data", "network"):
        tabs.setCurrentIndex(0 if tab == "data" else 1)
        QApplication.processEvents()
        times = []
        moments = len(window.replay)
        for i in range(frames):  # sweeps of the run, each frame a new moment
            fraction = float(window.replay.fractions[i % moments])
            begin, cpu = time.perf_counter(), time.thread_time()
            window.timeline.set_fraction(fraction)
            QApplication.processEvents()  # the repaints the move asked for
            times.append((time.perf_counter() - begin, time.thread_time() - cpu))
        costs[tab] = np.array(times)
    window.close()
    return costs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None,
                        help="solver steps per run (default 4000; --big: to the preset's target)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each kind (best kept)")
    parser.add_argument("--big", action="store_true",
                        help="the big-network preset (101,770 parameters) instead of spirals")
    parser.add_argument("--lens", action="store_true",
                        help="open the stiffness lens in the lab runs (they measure spectra)")
    parser.add_argument("--replay", action="store_true",
                        help="measure a replay's frame cost on the default experiment instead")
    parser.add_argument("--frames", type=int, default=400, help="--replay: frames per tab")
    parser.add_argument("--tries", type=int, default=5,
                        help="measurements at most, until one runs on a quiet machine")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("odeprop-benchmark")
    import odeprop.gui.lab.main_window  # noqa: F401 (what the window needs, before it exists)

    if args.replay:
        for tab, times in replay_frames(args.frames).items():
            wall, cpu = times[:, 0] * 1000, times[:, 1] * 1000
            load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
            print(f"replay frame, {tab} tab in front, 1280x720, {len(wall)} frames: wall p50 "
                  f"{np.median(wall):.1f} ms, p99 {np.percentile(wall, 99):.1f} ms (target p99 "
                  f"<= 33 ms); GUI thread CPU p50 {np.median(cpu):.1f} ms, p99 "
                  f"{np.percentile(cpu, 99):.1f} ms; load average {load}")
        return 0

    baseline = peak_mb()
    steps = args.steps if args.big else args.steps or 4000
    exp = big_experiment(steps) if args.big else experiment(steps)
    # the lens makes the lab's runs measure spectra: the headless runs measure them too
    bare_exp = exp.with_changes(probe={"full_spectrum": True}) if args.lens else exp

    def measure():
        bare_runs, lab_runs = [], []
        for _ in range(args.repeat):  # interleaved: the machine's load drifts
            bare_runs.append(headless(bare_exp))
            lab_runs.append(in_the_lab(exp, args.lens))
        return bare_runs, lab_runs

    (bare_runs, lab_runs), load = quiet_sample(measure, args.tries)
    bare = max(r[0] for r in bare_runs)
    lab = max(r[0] for r in lab_runs)
    late = np.concatenate([r[1] for r in lab_runs]) * 1000
    lens = ", stiffness lens open" if args.lens else ""
    print(f"experiment: {exp.name}, {f'{steps} steps' if steps else 'to its target'}, "
          f"best of {args.repeat}{lens}")
    print(f"headless throughput:   {bare:8.1f} steps/s")
    print(f"lab streaming:         {lab:8.1f} steps/s")
    print(f"ratio lab / headless:  {lab / bare:8.2f}   (target >= 0.85)")
    print(f"redraw timer lateness over {late.size} ticks: median {np.median(late):.1f} ms, "
          f"p95 {np.percentile(late, 95):.1f} ms, p99 {np.percentile(late, 99):.1f} ms   "
          "(target p99 <= 20 ms)")
    print(f"machine:               {load}")
    print("first batch after:     headless " + ", ".join(f"{r[1]:.2f}" for r in bare_runs)
          + " s; lab " + ", ".join(f"{r[2]:.2f}" for r in lab_runs) + " s")
    worker = max(r[-1] for r in bare_runs + lab_runs)
    print(f"peak memory:           window process {peak_mb():.0f} MB over {args.repeat} runs "
          f"({baseline:.0f} MB for Python, Qt and the libraries), worker {worker:.0f} MB "
          "(target < 1 GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
