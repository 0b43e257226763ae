"""GUI figures on a shared machine: the load average beside them, and a quiet sample if one comes.

Timer lateness and throughput measure the machine as much as the program when other processes
hold the cores. :func:`quiet_sample` repeats a measurement until the 1-minute load average per
core just before it is below ``QUIET`` (up to ``tries`` times, a pause between), and says which
sample it kept and the load before and after it, or that none was quiet. (The load after it
includes the benchmark's own processes: two busy workers alone make 1 per core on two cores.)
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
    cores = os.cpu_count() or 1
    for attempt in range(1, tries + 1):
        before = load_per_core()
        result = measure()
        loads = (f"load average {before * cores:.2f} before, {load_per_core() * cores:.2f} "
                 f"after, on {cores} cores")
        samples.append((before, result, loads))
        if before < QUIET:
            return result, f"{loads}: a quiet sample (try {attempt})"
        log(f"  (try {attempt}: {loads}; not quiet)")
        if attempt < tries:
            time.sleep(pause)
    _, result, loads = min(samples, key=lambda s: s[0])
    return result, (f"{loads}: NO quiet sample in {tries} tries (below {QUIET:g} per core "
                    "before); the least loaded is shown, the figures measure the machine's load "
                    "too")
