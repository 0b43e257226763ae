"""Long sessions in the lab window: start/stop/reset cycles, and a stream of a million snapshots.

Prints, for N start → first batch → stop → reset cycles with real worker processes: the child
processes, threads and open file descriptors left afterwards (each should be 0 more than after
the first cycle) and the growth of resident memory (target < 50 MB for 300 cycles); then, for
a run streaming M synthetic snapshots through a real pipe into the window (no solver: a
:class:`~odeprop.core.worker.SyntheticProcess`), the resident memory before, at its peak and
after, the points the plots keep, the size of the record on disk and the time to export it.

    QT_QPA_PLATFORM=offscreen python benchmarks/reliability.py [--cycles 300]
        [--snapshots 1000000] [--batch 2000]

The GUI test ``tests/gui/lab/test_reliability.py`` runs the same functions, scaled down.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

from odeprop.core.config import Experiment

#: A run that goes on until it is stopped (plain gradient descent, many small steps); small, so
#: that a cycle costs about what starting a worker costs.
ENDLESS = Experiment().with_changes(
    name="cycles", dataset={"kind": "moons", "n_samples": 100}, network={"hidden": (6,)},
    solver={"method": "gd", "learning_rate": 0.02}, probe={"stiffness_every": 0},
    stop={"t_end": 1e9, "target_loss": None, "max_wall_time": 60.0, "max_steps": None})


# -- what a process holds -----------------------------------------------------------------------
def child_pids() -> set[int]:
    """Processes whose parent is this one (running or not yet reaped)."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            found.add(int(entry))
    return found


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def figures() -> dict:
    """Children, threads (OS and Python), open file descriptors and resident memory now."""
    return {"children": len(child_pids()), "threads": len(os.listdir("/proc/self/task")),
            "py_threads": threading.active_count(), "fds": len(os.listdir("/proc/self/fd")),
            "rss_mb": rss_mb()}


# -- waiting on the window -----------------------------------------------------------------------
def wait_until(predicate, timeout: float = 10.0) -> None:
    """Let Qt run (timers, queued signals) until ``predicate()`` holds."""
    from PySide6.QtTest import QTest

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {predicate.__doc__ or predicate}")
        QTest.qWait(5)


def cycle(window) -> int:
    """Start, wait for the first batch, stop, wait for the end, reset; the snapshots received."""
    assert window.start(), window.banner.text()
    session = window.session
    wait_until(lambda: session.count > 0, 30.0)
    window.stop()
    wait_until(lambda: window.state == "ended", 10.0)
    count = session.count
    window.reset()
    return count


def settled(before: dict, timeout: float = 3.0) -> dict:
    """The figures once ending workers and threads are gone (or ``timeout`` passed)."""
    deadline = time.monotonic() + timeout
    now = figures()
    keys = ("children", "threads", "py_threads", "fds")
    while any(now[k] > before[k] for k in keys) and time.monotonic() < deadline:
        wait_until(lambda: True)
        time.sleep(0.05)
        now = figures()
    return now


def run_cycles(window, n: int, experiment: Experiment = ENDLESS) -> dict:
    """``n`` start/stop/reset cycles after one warm-up; figures before and after, seconds."""
    window.set_experiment(experiment)
    cycle(window)  # the first start imports and caches what every later one reuses
    before = settled(figures())
    begin = time.perf_counter()
    received = sum(cycle(window) for _ in range(n))
    seconds = time.perf_counter() - begin
    after = settled(before)
    return {"cycles": n, "before": before, "after": after, "seconds": seconds,
            "received": received}


# -- a long stream -------------------------------------------------------------------------------
def stream(window, n: int, batch: int, export_to: Path | None = None,
           interval: float = 0.0) -> dict:
    """One run of ``n`` synthetic snapshots through a real pipe into the window."""
    from odeprop.core.worker import SyntheticProcess

    window.reset()
    saved = window.process_factory
    window.process_factory = functools.partial(SyntheticProcess, n=n, batch=batch,
                                               interval=interval)
    peak = [rss_mb()]
    before = peak[0]
    begin = time.perf_counter()
    try:
        assert window.start(), window.banner.text()
        session = window.session

        def done():
            peak[0] = max(peak[0], rss_mb())
            return window.state == "ended"

        wait_until(done, timeout=max(60.0, n / 2_000))
    finally:
        window.process_factory = saved
    seconds = time.perf_counter() - begin
    result = {"snapshots": session.count, "seconds": seconds, "rss_before_mb": before,
              "rss_peak_mb": peak[0], "rss_after_mb": rss_mb(),
              "plot_points": window.plots.columns.n, "plot_stride": window.plots.columns.stride,
              "record_mb": session.recorder.size / 1e6 if session.recorder else 0.0,
              "status": session.status}
    if export_to is not None:
        begin = time.perf_counter()
        result["exported_rows"] = window.export_csv(export_to)
        result["export_seconds"] = time.perf_counter() - begin
        result["export_mb"] = export_to.stat().st_size / 1e6
        export_to.unlink()
    return result


def reopen(window, folder: Path) -> float:
    """Seconds to reopen the current run's record as if a crash had left it."""
    import json

    recorder = window.session.recorder
    crashed = folder / "crashed"
    crashed.mkdir(exist_ok=True)
    shutil.copy(recorder.path, crashed / "big.csv")
    meta = dict(recorder.meta, finished=False, pid=None)
    (crashed / "big.meta.json").write_text(json.dumps(meta))
    begin = time.perf_counter()
    assert window.reopen_recording(crashed / "big.csv"), window.banner.text()
    seconds = time.perf_counter() - begin
    window.reset()
    shutil.rmtree(crashed)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=2_000)
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    folder = Path(tempfile.mkdtemp(prefix="odeprop-reliability-"))
    os.environ["ODEPROP_RECOVERY_DIR"] = str(folder / "recovery")
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from odeprop.gui.lab.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    window = MainWindow(settings=QSettings(str(folder / "settings.ini"),
                                           QSettings.Format.IniFormat), persist=False)
    window.show()
    if args.cycles:
        r = run_cycles(window, args.cycles)
        b, a = r["before"], r["after"]
        print(f"{r['cycles']} start/stop/reset cycles with real workers in {r['seconds']:.0f} s "
              f"({r['received']} snapshots received)")
        for key in ("children", "threads", "py_threads", "fds"):
            print(f"  {key:11s} {b[key]:4d} → {a[key]:4d}   ({a[key] - b[key]:+d})")
        print(f"  resident    {b['rss_mb']:.1f} MB → {a['rss_mb']:.1f} MB   "
              f"({a['rss_mb'] - b['rss_mb']:+.1f} MB; target < 50 MB)")
        left = sorted(p.name for p in (folder / "recovery").glob("*"))
        print(f"  records left in the recovery folder: {len(left)}")
    if args.snapshots:
        start = rss_mb()
        for n in (args.snapshots // 10, args.snapshots):  # the same memory for 10× the data
            r = stream(window, n, args.batch, export_to=folder / "export.csv")
            print(f"a run of {r['snapshots']:,} snapshots ({r['status']}) streamed in "
                  f"{r['seconds']:.1f} s ({r['snapshots'] / r['seconds']:,.0f}/s)")
            print(f"  resident    {r['rss_before_mb']:.1f} MB before, {r['rss_peak_mb']:.1f} MB "
                  f"at the peak, {r['rss_after_mb']:.1f} MB after; peak "
                  f"{r['rss_peak_mb'] - start:+.1f} MB over the window before any stream")
            every = ("every snapshot" if r["plot_stride"] == 1 else
                     f"every {r['plot_stride']}th snapshot and the newest")
            print(f"  plots keep  {r['plot_points']:,} points per curve ({every})")
            print(f"  record      {r['record_mb']:.1f} MB on disk; export: "
                  f"{r['exported_rows']:,} rows, {r['export_mb']:.1f} MB in "
                  f"{r['export_seconds']:.2f} s")
        print(f"  reopening that record after a crash: {reopen(window, folder):.1f} s")
    window.close()
    app.processEvents()
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
