"""Runs in worker processes, with a small pipe protocol; no Qt, so the CLI and GUI share it.

Parent → worker commands (tuples): ``("go",)`` run freely, ``("pause",)``, ``("step",)`` exactly
one solver step then pause, ``("stop",)`` end the run (its report is still sent), ``("quit",)``.
Worker → parent messages: ``("batch", [Snapshot, ...])`` about every :data:`BATCH_SECONDS`,
``("spectra", [Spectrum, ...])`` with the batch whenever the probe measured whole spectra,
``("theta", step, θ)`` about every :data:`THETA_SECONDS` (every batch when paced) and at the end
(for views of the model such as the decision surface), ``("thetas", [(step, t, θ), ...])`` with the
batch when the run keeps θ for replay (``keep_thetas``: at the cadence of
:func:`~odeprop.core.theta_record.keeps`), ``("done", RunReport)`` once at the end,
``("error", message)`` if the run cannot be built.
A paced run (``pace`` seconds, :class:`~odeprop.core.pace.Pacer`) sleeps between steps, outside
the run's timed sections, until each snapshot is due: the trajectory and every counter and clock
are the unpaced run's; only when the snapshots arrive changes.
Snapshots are sent in batches, never one message per step (DESIGN.md: per-step messages starve
the GUI's repaints). A worker that vanishes (killed, crashed) is reported on the parent's side as
``("died", message)`` naming its exit code or signal. :class:`SyntheticProcess` speaks the same
protocol with made-up snapshots and no solver, for load tests of the receiving side.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from multiprocessing.connection import Connection, wait

from .pace import Pacer
from .theta_record import ThetaCadence

BATCH_SECONDS = 0.045
OUT_OF_MEMORY = "the worker ran out of memory; use a smaller network or less data"
THETA_SECONDS = 0.5
#: After Stop, a worker gets this long to send its last batch and report before it is ended:
#: the lab and the comparison window alike, so that Stop ends every run within the second
#: DESIGN.md allows, even one deep in a long step (its commands are read between steps).
STOP_GRACE_SECONDS = 0.7


def _worker_main(conn: Connection, experiment_data: dict, theta0, start_paused: bool,
                 niceness: int, tracking=None, pace: float | None = None,
                 keep_thetas: bool = False) -> None:
    """Entry point of a worker process: build the run, then step it as commanded.
    ``tracking`` (e.g. :class:`~odeprop.core.fidelity.FlowTracking`) makes the run instead."""
    if niceness:
        try:
            os.nice(niceness)
        except OSError:
            pass
    try:
        _run_worker(conn, experiment_data, theta0, start_paused, tracking, pace, keep_thetas)
    except (BrokenPipeError, EOFError, ConnectionResetError):
        pass  # the parent went away (or killed us) while we were starting: nobody to tell


def _run_worker(conn: Connection, experiment_data: dict, theta0, start_paused: bool,
                tracking=None, pace: float | None = None, keep_thetas: bool = False) -> None:
    from .config import Experiment
    from .run import Problem, Run, warm_up

    try:
        experiment = Experiment.from_dict(experiment_data)
        problem = Problem.build(experiment)
        if theta0 is not None:
            problem = Problem(problem.dataset, problem.net, problem.T_train, problem.T_test,
                              theta0)
        warm_up(experiment, problem)  # the first calls of this fresh process, untimed
        run = (Run(experiment, problem) if tracking is None
               else tracking.make_run(experiment, problem))
    except Exception as exc:  # bad data or config: reported, never raised across processes
        conn.send(("error", OUT_OF_MEMORY if isinstance(exc, MemoryError) else str(exc)
                   if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"))
        conn.close()
        return
    _serve(conn, run, start_paused, pace, keep_thetas)


def _serve(conn: Connection, run, start_paused: bool, pace: float | None = None,
           keep_thetas: bool = False) -> None:
    """The worker loop: step while running, check commands between steps, send batches;
    with ``pace``, wait (listening for commands) until the last snapshot is due."""
    pacer = Pacer(pace, run.experiment.stop) if pace else None
    kept = ThetaCadence(run.net.n_params) if keep_thetas else None
    batch = [run.start()]
    if pacer:
        pacer.add(batch[0])
        if start_paused:
            pacer.pause()
    if kept:
        kept.add(batch[0], run)
    theta_every = 0.0 if pacer else THETA_SECONDS
    spectra_sent = 0
    conn.send(("theta", 0, run.theta))
    last_send = last_theta = time.perf_counter()
    paused, steps_wanted = start_paused, 0
    try:
        while True:
            hold = pacer.remaining() if pacer and not paused and not steps_wanted else 0.0
            while conn.poll(min(hold, 0.05) if hold else
                            0 if not paused or steps_wanted else 0.05):
                cmd = conn.recv()[0]
                if cmd == "pause":
                    paused = True
                    if pacer:
                        pacer.pause()
                elif cmd == "go":
                    paused = False
                    if pacer:
                        pacer.resume()
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
            if pacer and not paused and not steps_wanted and pacer.remaining() > 0:
                continue  # the last snapshot is not due yet (commands are listened to)
            if not paused or steps_wanted:
                batch.append(run.step())
                steps_wanted = max(0, steps_wanted - 1)
                if pacer:
                    pacer.add(batch[-1])
                if kept:
                    kept.add(batch[-1], run)
            now = time.perf_counter()
            due = pacer is not None and pacer.remaining() > 0  # shown now, before the wait
            if batch and (now - last_send >= BATCH_SECONDS or paused or due):
                conn.send(("batch", batch))
                batch, last_send = [], now
                if kept and kept.pending:
                    conn.send(("thetas", kept.take()))
                if len(run.spectra) > spectra_sent:
                    conn.send(("spectra", run.spectra[spectra_sent:]))
                    spectra_sent = len(run.spectra)
                if now - last_theta >= theta_every or paused:
                    conn.send(("theta", run.last.step, run.theta))
                    last_theta = now
        if batch:
            conn.send(("batch", batch))
        if kept and kept.pending:
            conn.send(("thetas", kept.take()))
        if len(run.spectra) > spectra_sent:
            conn.send(("spectra", run.spectra[spectra_sent:]))
        conn.send(("theta", run.last.step, run.theta))
        conn.send(("done", run.report()))
    except (BrokenPipeError, EOFError, OSError):
        pass  # the parent went away: nothing left to report to
    except MemoryError:  # outside a solver step (there the run fails with a message)
        with contextlib.suppress(OSError, MemoryError):
            conn.send(("error", OUT_OF_MEMORY))
    finally:
        run.close()
        try:
            conn.close()
        except OSError:
            pass


class RunProcess:
    """A run living in its own worker process, driven over a pipe."""

    def __init__(self, experiment, theta0=None, start_paused: bool = False, niceness: int = 10,
                 tracking=None, pace: float | None = None, keep_thetas: bool = False):
        self._start(_worker_main, (experiment.to_dict(), theta0, start_paused, niceness,
                                   tracking, pace, keep_thetas))

    def _start(self, target, args: tuple) -> None:
        ctx = mp.get_context("spawn")
        self.finished = False
        self.conn, child = ctx.Pipe(duplex=True)
        saved = os.environ.get("OPENBLAS_NUM_THREADS")
        os.environ["OPENBLAS_NUM_THREADS"] = "1"  # read by numpy when the child imports it
        try:
            self.process = ctx.Process(target=target, args=(child, *args), daemon=True)
            self.process.start()
        except BaseException:  # no process (no memory, no more pids): no pipe left open
            self.conn.close()
            child.close()
            raise
        finally:
            if saved is None:
                os.environ.pop("OPENBLAS_NUM_THREADS", None)
            else:
                os.environ["OPENBLAS_NUM_THREADS"] = saved
        child.close()

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
            return ("died", f"the worker process ended unexpectedly ({self._exit_text()})")
        if message[0] in ("done", "error"):
            self.finished = True
        return message

    def _exit_text(self) -> str:
        """How the process ended: "killed by SIGKILL, signal 9" or "exit code 1"."""
        try:
            self.process.join(0.5)  # its pipe closed: it is exiting, or has exited
            code = self.process.exitcode
        except ValueError:  # the process object was closed already
            code = None
        if code is None:
            return "exit code unknown"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                return f"killed by signal {-code}"
            return f"killed by {name}, signal {-code}"
        return f"exit code {code}"

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


class SyntheticProcess(RunProcess):
    """A worker that streams ``n`` made-up snapshots, ``batch`` at a time (every ``interval``
    seconds), over the same pipe protocol and with no solver: load tests and benchmarks of
    the receiving side (a million snapshots in seconds, not hours)."""

    def __init__(self, experiment=None, theta0=None, start_paused: bool = False,
                 niceness: int = 0, n: int = 10_000, batch: int = 1_000,
                 interval: float = 0.0, pace: float | None = None, keep_thetas: bool = False):
        self._start(_synthetic_main, (n, batch, interval, start_paused))


def _synthetic_main(conn: Connection, n: int, batch: int, interval: float,
                    paused: bool) -> None:
    import math
    from dataclasses import fields, replace

    import numpy as np

    from .snapshot import RunReport, Snapshot

    values = dict.fromkeys((f.name for f in fields(Snapshot)), None)
    values.update(h=0.01, solver_wall=0.0, n_hvp=0, n_hess=0, probe_hvp=0, probe_hess=0,
                  rejected=0, newton_iters=0, newton_failures=0, order=5, status="running",
                  message="")

    def snapshot(i: int) -> Snapshot:
        loss = 0.7 * math.exp(-i / 2e5) + 1e-3 * (1 + math.sin(i / 50.0))
        values.update(step=i, t=0.01 * i, wall=2e-5 * i, loss_train=loss,
                      loss_test=loss * 1.1, accuracy_train=1 - loss / 2, n_grad=6 * i,
                      lambda_max=40.0 + math.sin(i / 1e3) if i % 10 == 0 else None)
        return Snapshot(**values)

    sent, stopped = 0, False
    final = snapshot(0)
    try:
        while sent < n and not stopped:
            while conn.poll(0.05 if paused else 0):
                cmd = conn.recv()[0]
                if cmd == "quit":
                    return
                stopped = stopped or cmd == "stop"
                paused = {"pause": True, "go": False}.get(cmd, paused)
            if paused or stopped:
                continue
            chunk = [snapshot(i) for i in range(sent, min(n, sent + batch))]
            sent += len(chunk)
            if sent == n:  # the last snapshot says how the run ended, as a real run's does
                chunk[-1] = replace(chunk[-1], status="finished",
                                    message=f"streamed {n} synthetic snapshots")
            final = chunk[-1]
            conn.send(("batch", chunk))
            if interval:
                time.sleep(interval)
        if stopped:
            final = replace(final, status="stopped", message="stopped by the user")
            conn.send(("batch", [final]))
        conn.send(("done", RunReport("synthetic", "none", final.status, final.message, final,
                                     np.zeros(3), None, None, 3)))
    except (BrokenPipeError, EOFError, OSError):
        pass
    finally:
        conn.close()


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
