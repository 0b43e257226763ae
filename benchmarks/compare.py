"""Comparison benchmark: parallel worker processes against the same runs in sequence.

Prints, measured side by side in one run:
  1. wall time of 4 runs in parallel ÷ the same 4 runs one after another (target ≤ 0.6 on 2 cores)
  2. with --gui, the comparison window's timer lateness (median, p95, p99) while 4 runs stream
     (target p99 ≤ 20 ms), or 8 with --gui-runs 8, with the 1-minute load average beside it (a
     busy machine is late whatever the window does); QT_QPA_PLATFORM=offscreen works.

     --budget-ab measures it alternately with the window's frame budget on and off (the load
     changes from minute to minute; alternating compares like with like).

Every figure comes with the load average; each measurement is repeated until it ran on a quiet
machine (below 1 per core, --tries times at most), or says it could not (benchmarks/quiet.py).

Run: python benchmarks/compare.py [--repeats N] [--gui] [--gui-runs 8] [--gui-only] [--budget-ab]
"""

from __future__ import annotations

import argparse
import statistics
import time

from quiet import quiet_sample

from odeprop.core.comparison import Comparison, RunSpec, Target
from odeprop.core.comparison_runner import ComparisonRunner
from odeprop.core.config import DatasetConfig, NetworkConfig, SolverConfig, StopConfig


def four_runs() -> Comparison:
    """Four solvers of similar cost on the two-spirals problem, ~1-2 s each."""
    return Comparison(
        name="benchmark", dataset=DatasetConfig(kind="spirals", n_samples=200),
        network=NetworkConfig(hidden=(16, 16)),
        stop=StopConfig(t_end=1e6, max_steps=2500),
        targets=(Target("loss", 0.1),),
        runs=(RunSpec("RK45", SolverConfig(method="RK45")),
              RunSpec("RK23", SolverConfig(method="RK23")),
              RunSpec("GD", SolverConfig(method="gd", learning_rate=0.5)),
              RunSpec("momentum", SolverConfig(method="momentum", learning_rate=0.1))))


def eight_runs() -> Comparison:
    """:func:`four_runs` and four more methods on the same problem: eight curves per plot."""
    four = four_runs()
    more = (RunSpec("DOP853", SolverConfig(method="DOP853")),
            RunSpec("Adam", SolverConfig(method="adam", learning_rate=0.01)),
            RunSpec("GD, lr 0.2", SolverConfig(method="gd", learning_rate=0.2)),
            RunSpec("LSODA", SolverConfig(method="LSODA")))
    return Comparison(name="benchmark, eight runs", dataset=four.dataset,
                      network=four.network, stop=four.stop, targets=four.targets,
                      runs=four.runs + more)


def timed(comparison: Comparison, parallel: int) -> float:
    begin = time.perf_counter()
    runner = ComparisonRunner(comparison, max_parallel=parallel, niceness=0)
    results = runner.run_all()
    elapsed = time.perf_counter() - begin
    bad = [r.label for r in results if r.status not in ("finished", "stopped")]
    if bad:
        raise SystemExit(f"runs did not complete: {bad}")
    return elapsed


def gui_lateness(comparison: Comparison, seconds: float = 8.0) -> tuple[list[float], list[float]]:
    """Timer lateness samples (ms) of a 33 ms QTimer while the comparison streams: from the
    first batch received to the end of the runs (at most ``seconds``); and the GUI thread's CPU
    time between two ticks (ms: all it did in that frame — receiving, redrawing, painting —
    whatever else the machine runs). The window is shown and painted once before (a new
    window's first paint is not streaming)."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from odeprop.gui.comparison.window import ComparisonWindow

    app = QApplication.instance() or QApplication([])
    app.setOrganizationName("odeprop-benchmark")  # never the user's settings
    window = ComparisonWindow(persist=False, restore=False)
    window.set_comparison(comparison)
    window.resize(1400, 900)
    window.show()
    loop = QEventLoop()
    QTimer.singleShot(500, loop.quit)
    loop.exec()
    clock, samples, cpu = QElapsedTimer(), [], []
    clock.start()
    last = [clock.elapsed(), time.thread_time()]
    streaming = [False]

    def tick():
        now, used = clock.elapsed(), time.thread_time()
        if streaming[0]:
            samples.append(max(0.0, now - last[0] - 33))
            cpu.append(1000 * (used - last[1]))
        last[:] = now, used

    def first_batch(events, _statuses):
        if any(e.kind == "batch" for e in events):
            streaming[0] = True

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(33)
    window.start()
    window.session.events.connect(first_batch)
    window.comparison_ended.connect(loop.quit)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    window.close()
    return samples, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--gui", action="store_true", help="also measure the window's lateness")
    parser.add_argument("--gui-runs", type=int, choices=(4, 8), default=4,
                        help="how many runs stream in the window (default 4)")
    parser.add_argument("--gui-only", action="store_true", help="skip the wall-time ratio")
    parser.add_argument("--tries", type=int, default=5,
                        help="measurements at most, until one runs on a quiet machine")
    parser.add_argument("--budget-ab", action="store_true",
                        help="the lateness with the frame budget on, then off, --repeats times")
    args = parser.parse_args()
    comparison = four_runs()
    def ratio():
        parallel, sequential = [], []
        for _ in range(args.repeats):
            sequential.append(timed(comparison, 1))
            parallel.append(timed(comparison, 2))
        return statistics.median(parallel), statistics.median(sequential)

    if not args.gui_only:
        (p, s), load = quiet_sample(ratio, args.tries)
        print(f"4 runs: parallel (2 workers) {p:.2f} s, sequential {s:.2f} s: "
              f"ratio {p / s:.2f} (target ≤ 0.6); {load}")
    if args.gui or args.gui_only or args.budget_ab:
        from odeprop.gui.comparison import window as comparison_window

        streamed = eight_runs() if args.gui_runs == 8 else comparison
        ours = comparison_window.FRAME_BUDGET
        for budget in (ours, None) * args.repeats if args.budget_ab else (ours,):
            comparison_window.FRAME_BUDGET = budget
            (lateness, cpu), load = quiet_sample(lambda: gui_lateness(streamed), args.tries)
            lateness, cpu = sorted(lateness), sorted(cpu)
            q, c = statistics.quantiles(lateness, n=100), statistics.quantiles(cpu, n=100)
            print(f"GUI timer lateness while {args.gui_runs} runs stream, frame budget "
                  f"{'off' if budget is None else f'{budget * 1000:.0f} ms'}, "
                  f"{len(lateness)} ticks: median {statistics.median(lateness):.1f} ms, "
                  f"p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms (target p99 ≤ 20 ms); {load}; "
                  "GUI thread CPU per tick median "
                  f"{statistics.median(cpu):.1f} ms, p95 {c[94]:.1f} ms, p99 {c[98]:.1f} ms")


if __name__ == "__main__":
    main()
