"""Running a sweep on Dask: a ``LocalCluster`` with one worker process per core by default, or an
existing cluster by its scheduler's address — the same tasks either way.

Cells go out in batches (one Dask task costs ~2 ms, so runs shorter than that share a task; a
batch aims at :data:`TASK_SECONDS`), a few per worker at a time, so a 10,000-run sweep never has
10,000 futures or rows in the client. Rows are written the moment their task completes
(:class:`~odeprop.core.sweep_results.ResultsStore`). A worker that dies has its tasks rerun
elsewhere by the scheduler (``distributed.scheduler.allowed-failures``, 3 by default); a task that
kills every worker it lands on becomes failed rows with that message. Ctrl+C (and SIGTERM, which
the command line turns into the same interrupt) cancels what is still out and keeps every row
that arrived.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from .sweep import Sweep
from .sweep_cell import blank_row, run_cells
from .sweep_results import ResultsStore

#: What one task should take: big enough that Dask's ~2 ms per task stays ≤ ~4 % of it.
TASK_SECONDS = 0.05
#: The largest batch, whatever the runs cost.
MAX_BATCH = 256
#: Tasks kept in flight per worker thread.
TASKS_PER_WORKER = 2


@dataclass(frozen=True)
class SweepOutcome:
    """How a sweep's execution ended."""

    total: int  # runs in the grid
    kept: int  # runs finished earlier (--resume)
    done: int  # runs completed now
    failed: int  # of those, rows whose status is "failed"
    interrupted: KeyboardInterrupt | None  # Ctrl+C (or the CLI's SIGTERM) that stopped it
    workers: int


def connect(scheduler: str | None = None, workers: int | None = None, timeout: float = 10):
    """A Dask client: on an existing cluster at ``scheduler`` (``tcp://HOST:PORT``), or on a new
    ``LocalCluster`` of ``workers`` processes (default one per core), one thread each."""
    from dask.distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there "
                             f"({type(exc).__name__}); start one with `dask scheduler` and "
                             "`dask worker ADDRESS`, or leave --scheduler out") from None
        try:
            client.wait_for_workers(1, timeout=30)
        except TimeoutError:
            client.close()
            raise ValueError(f"--scheduler {scheduler}: no worker joined within 30 s; start "
                             f"one with `dask worker {scheduler}`") from None
        return client
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    return Client(cluster)


class SweepRunner:
    """Runs a sweep's outstanding cells on a Dask client and streams rows into a results folder.

    ``on_row(row)`` sees every row as it is written (the progress bar; tests use it to kill a
    worker or interrupt mid-sweep)."""

    def __init__(self, sweep: Sweep, out: str | Path, resume: bool = False):
        self.sweep = sweep
        self.text = sweep.to_toml()
        self.resume = resume
        self.store = ResultsStore(Path(out), sweep)
        self.store.check(sweep, resume)  # refuses a wrong folder before a cluster starts
        self.kept: set[int] | None = None
        self.cells = list(sweep.cells())

    def start(self) -> set[int]:
        """Prepare the results folder (once); the cells it already holds."""
        if self.kept is None:
            self.kept = self.store.start(self.sweep, self.resume)
        return self.kept

    def run(self, client, on_row=None) -> SweepOutcome:
        from dask.distributed import as_completed

        self.start()
        todo = deque(c.index for c in self.cells if c.index not in self.kept)
        workers = max(1, sum(client.nthreads().values()))
        pending = as_completed()
        batches = {}
        per_run = None  # seconds per run, measured as tasks complete
        done = failed = 0
        interrupted = None

        def submit():
            size = 1 if per_run is None else max(1, min(MAX_BATCH,
                                                        math.ceil(TASK_SECONDS / per_run)))
            size = min(size, max(1, math.ceil(len(todo) / (workers * TASKS_PER_WORKER))))
            batch = [todo.popleft() for _ in range(min(size, len(todo)))]
            future = client.submit(run_cells, self.text, batch, pure=False)
            batches[future] = batch
            pending.add(future)

        try:
            while todo and len(batches) < workers * TASKS_PER_WORKER:
                submit()
            for future in pending:
                batch = batches.pop(future)
                rows, seconds = self._collect(future, batch)
                if seconds is not None:
                    mean = seconds / len(batch)
                    per_run = mean if per_run is None else 0.8 * per_run + 0.2 * mean
                for row in rows:
                    self.store.add(row)
                    done += 1
                    failed += row["status"] == "failed"
                    if on_row is not None:
                        on_row(row)
                while todo and len(batches) < workers * TASKS_PER_WORKER:
                    submit()
        except KeyboardInterrupt as exc:
            interrupted = exc
            client.cancel(list(batches))
        finally:
            self.store.close()
        return SweepOutcome(len(self.cells), len(self.kept), done, failed, interrupted, workers)

    def _collect(self, future, batch):
        """A task's rows, or one failed row per cell when the task itself failed (its worker
        died too often, or the cluster lacks odeprop)."""
        from dask.distributed import KilledWorker

        try:
            rows, seconds = future.result()
            return rows, seconds
        except KilledWorker:
            why = "its worker died every time it ran (distributed.scheduler.allowed-failures)"
        except Exception as exc:  # raised on the worker outside a run: say what, keep going
            why = f"the task failed on the cluster: {type(exc).__name__}: {exc}"
        return [blank_row(self.sweep, self.cells[i], "failed", why) for i in batch], None


class SweepProgress:
    """A self-overwriting progress line with an estimate of the time left (sparse lines when
    stderr is not a terminal)."""

    def __init__(self, total: int, kept: int, enabled: bool = True):
        self.total, self.kept, self.enabled = total, kept, enabled
        self.done = self.failed = 0
        self.begin = self.last = time.monotonic()
        self.tty = sys.stderr.isatty()

    def __call__(self, row: dict) -> None:
        self.done += 1
        self.failed += row["status"] == "failed"
        now = time.monotonic()
        finished = self.kept + self.done
        if not self.enabled or (now - self.last < (0.2 if self.tty else 5.0)
                                and finished < self.total):
            return
        self.last = now
        rate = self.done / max(now - self.begin, 1e-9)
        left = (self.total - finished) / rate if rate > 0 else math.inf
        line = (f"[{finished}/{self.total}] {finished / self.total:6.1%}  "
                f"{self.failed} failed  {rate:6.1f} runs/s  ETA {_duration(left)}")
        sys.stderr.write(("\r" + line.ljust(72)) if self.tty else line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "—"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def run_sweep(sweep: Sweep, out: str | Path, scheduler: str | None = None,
              workers: int | None = None, resume: bool = False, quiet: bool = False) -> int:
    """``odeprop sweep``: run, write the table as it grows, then the summary and plots; exit code
    0. An interrupt (Ctrl+C, or SIGTERM as the command line's ``Terminated``) is raised again
    once what finished is written, with a note saying what was kept: the command line ends
    on it as on any interrupt (130, or 143 for SIGTERM)."""
    from .sweep_summary import cluster_final_weights, summarize_sweep, write_plots

    out = Path(out)
    runner = SweepRunner(sweep, out, resume)
    interrupted = None
    try:
        client = connect(scheduler, workers)
    except KeyboardInterrupt as exc:
        client, interrupted = None, exc
    if client is not None:
        try:
            progress = SweepProgress(len(runner.cells), len(runner.start()), enabled=not quiet)
            try:
                interrupted = runner.run(client, progress).interrupted
            finally:
                progress.close()
        finally:
            _close(client)
    else:
        runner.start()
    clusters = cluster_final_weights(sweep, runner.store.weights(sweep))
    runner.store.finish(clusters)
    rows = runner.store.rows()  # without the weights: the client holds no θ from here on
    summary = summarize_sweep(sweep, rows, clusters)
    from .io import write_text_atomic

    write_text_atomic(out / "summary.md", summary.to_markdown())
    write_text_atomic(out / "summary.csv", summary.to_csv())
    plots = write_plots(summary, rows, out)
    print(summary.to_markdown())
    print(f"wrote {len(rows)} of {len(runner.cells)} runs to {out / 'results.parquet'} and "
          f"results.csv, summary.md, summary.csv, {', '.join(plots)}")
    if interrupted is not None:
        interrupted.add_note(f"{len(rows)} of {len(runner.cells)} runs kept in {out}; the same "
                             "command with --resume runs the rest")
        raise interrupted
    return 0


def _close(client) -> None:
    cluster = client.cluster  # None on an existing cluster: leave it running
    client.close()
    if cluster is not None:
        cluster.close()
