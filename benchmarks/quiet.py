"""GUI figures on a shared machine: the load average beside them, and a quiet sample if one comes.

Timer lateness and throughput measure the machine as much as the program when other processes
hold the cores. :func:`quiet_sample` repeats a measurement until the 1-minute load average per
core, before and after it, is below ``QUIET`` (up to ``tries`` times, a pause between), and says
which sample it kept and under what load, or that none was quiet.
"""

from __future__ import annotations

import os
import time

#: A sample is quiet when the 1-minute load average per core stays below this.
QUIET = 1.0


def load_per_core() -> float:
    return os.getloadavg()[0] / (os.cpu_count() or 1)


def quiet_sample(measure, tries: int = 5, pause: float = 20.0, log=print):
    """``measure()`` until a quiet sample, at most ``tries`` times; returns (its result, a line
    naming the load). Without a quiet one, the least loaded sample is kept and the line says so."""
    samples = []
    for attempt in range(1, tries + 1):
        before = load_per_core()
        result = measure()
        load = max(before, load_per_core())
        samples.append((load, result))
        cores = os.cpu_count() or 1
        if load < QUIET:
            return result, (f"load average {load * cores:.2f} on {cores} cores "
                            f"({load:.2f} per core): a quiet sample (try {attempt})")
        log(f"  (try {attempt}: load average {load * cores:.2f} on {cores} cores, "
            f"{load:.2f} per core, not quiet)")
        if attempt < tries:
            time.sleep(pause)
    load, result = min(samples, key=lambda s: s[0])
    cores = os.cpu_count() or 1
    return result, (f"load average {load * cores:.2f} on {cores} cores ({load:.2f} per core): "
                    f"NO quiet sample in {tries} tries (below {QUIET:g} per core); the least "
                    "loaded is shown, the figures measure the machine's load too")
