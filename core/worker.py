"""Runs in worker processes, with a small pipe protocol; no Qt, so the CLI and GUI share it.

Parent → worker commands (tuples): ``("go",)`` run freely, ``("pause",)``, ``("step",)`` exactly
one solver step then pause, ``("stop",)`` end the run (its report is still sent), ``("quit",)``.
Worker → parent messages: ``("batch", [Snapshot, ...])`` about every :data:`BATCH_SECONDS`,
``("spectra", [Spectrum, ...])`` with the batch whenever the probe measured whole spectra,
``("theta", step, θ)`` about every :data:`THETA_SECONDS` and at the end (for views of the model such
as the decision surface), ``("done", RunReport)`` once at the end, ``("error", message)`` if the
run cannot be built.
Snapshots are sent in batches, never one message per step (DESIGN.md: per-step messages starve
the GUI's repaints).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from multiprocessing.connection import Connection, wait

BATCH_SECONDS = 0.045
THETA_SECONDS = 0.5


def _worker_main(conn: Connection, experiment_data: dict, theta0, start_paused: bool,
                 niceness: int) -> None:
    """Entry point of a worker process: build the run, then step it as commanded."""
    if niceness:
        try:
            os.nice(niceness)
        except OSError:
            pass
    try:
        _run_worker(conn, experiment_data, theta0, start_paused)
    except (BrokenPipeError, EOFError, ConnectionResetError):
        pass  # the parent went away (or killed us) while we were starting: nobody to tell


def _run_worker(conn: Connection, experiment_data: dict, theta0, start_paused: bool) -> None:
    from .config import Experiment
    from .run import Problem, Run

    try:
        experiment = Experiment.from_dict(experiment_data)
        problem = Problem.build(experiment)
        if theta0 is not None:
            problem = Problem(problem.dataset, problem.net, problem.T_train, problem.T_test,
                              theta0)
        run = Run(experiment, problem)
    except Exception as exc:  # bad data or config: reported, never raised across processes
        conn.send(("error", f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError)
                   else str(exc)))
        conn.close()
        return
    _serve(conn, run, start_paused)


def _serve(conn: Connection, run, start_paused: bool) -> None:
    """The worker loop: step while running, check commands between steps, send batches."""
    batch = [run.start()]
    spectra_sent = 0
    conn.send(("theta", 0, run.theta))
    last_send = last_theta = time.perf_counter()
    paused, steps_wanted = start_paused, 0
    try:
        while True:
            while conn.poll(0 if not paused or steps_wanted else 0.05):
                cmd = conn.recv()[0]
                if cmd == "pause":
                    paused = True
                elif cmd == "go":
                    paused = False
                elif cmd == "step":
                    paused, steps_wanted = True, steps_wanted + 1
                elif cmd == "stop":
                    batch.append(run.stop())
                elif cmd == "quit":
                    return
                if run.done:
                    break
            if run.done:
                break
            if not paused or steps_wanted:
                batch.append(run.step())
                steps_wanted = max(0, steps_wanted - 1)
            now = time.perf_counter()
            if batch and (now - last_send >= BATCH_SECONDS or paused):
                conn.send(("batch", batch))
                batch, last_send = [], now
                if len(run.spectra) > spectra_sent:
                    conn.send(("spectra", run.spectra[spectra_sent:]))
                    spectra_sent = len(run.spectra)
                if now - last_theta >= THETA_SECONDS or paused:
                    conn.send(("theta", run.last.step, run.theta))
                    last_theta = now
        if batch:
            conn.send(("batch", batch))
        if len(run.spectra) > spectra_sent:
            conn.send(("spectra", run.spectra[spectra_sent:]))
        conn.send(("theta", run.last.step, run.theta))
        conn.send(("done", run.report()))
    except (BrokenPipeError, EOFError, OSError):
        pass  # the parent went away: nothing left to report to
    finally:
        run.close()
        try:
            conn.close()
        except OSError:
            pass


class RunProcess:
    """A run living in its own worker process, driven over a pipe."""

    def __init__(self, experiment, theta0=None, start_paused: bool = False, niceness: int = 10):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe(duplex=True)
        saved = os.environ.get("OPENBLAS_NUM_THREADS")
        os.environ["OPENBLAS_NUM_THREADS"] = "1"  # read by numpy when the child imports it
        try:
            self.process = ctx.Process(
                target=_worker_main,
                args=(child, experiment.to_dict(), theta0, start_paused, niceness),
                daemon=True)
            self.process.start()
        finally:
            if saved is None:
                os.environ.pop("OPENBLAS_NUM_THREADS", None)
            else:
                os.environ["OPENBLAS_NUM_THREADS"] = saved
        child.close()
        self.finished = False

    def send(self, *command) -> bool:
        """Send a command; False if the worker is already gone."""
        try:
            self.conn.send(command)
            return True
        except (BrokenPipeError, OSError):
            return False

    def receive(self):
        """The next message, or ("died", message) if the worker vanished without finishing."""
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            self.finished = True
            code = self.process.exitcode
            return ("died", f"the worker process ended unexpectedly (exit code {code})")
        if message[0] in ("done", "error"):
            self.finished = True
        return message

    def terminate(self, timeout: float = 0.5) -> None:
        """Stop the worker now: ask politely, then kill. Returns within about ``timeout``."""
        terminate_all([self], timeout)

    def close(self) -> None:
        """Release the pipe and the process object of a worker that has exited."""
        try:
            self.conn.close()
        except OSError:
            pass
        try:
            self.process.close()
        except ValueError:  # still running: leave it to terminate()
            pass

    @property
    def alive(self) -> bool:
        return _alive(self)


def terminate_all(processes, timeout: float = 0.5) -> None:
    """Ask every worker to quit at once, wait for them against one shared deadline, then kill
    the stragglers: N workers end in about ``timeout``, not N × ``timeout``."""
    live = [p for p in processes if _alive(p)]
    for p in live:
        p.send("quit")
    deadline = time.monotonic() + timeout
    for p in live:
        p.process.join(max(0.0, deadline - time.monotonic()))
    for p in live:
        if _alive(p):
            p.process.kill()
            p.process.join(1.0)
    for p in processes:
        p.close()


def _alive(proc: RunProcess) -> bool:
    try:
        return proc.process.is_alive()
    except ValueError:  # process object already closed
        return False


def wait_any(processes, timeout: float | None = None):
    """The processes among ``processes`` that have a message ready (or died)."""
    by_conn = {p.conn: p for p in processes if not p.conn.closed}
    ready = wait(list(by_conn), timeout)
    return [by_conn[c] for c in ready]
