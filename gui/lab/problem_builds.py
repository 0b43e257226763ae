"""Building an experiment's problem (data, network, θ0) off the GUI thread.

Reading a large CSV file or drawing 100,000 points in 784 dimensions takes seconds, and a
configuration too large for the machine ends in ``MemoryError``: either on the GUI thread froze
the window or killed it. :class:`ProblemBuilder` builds on one background thread and hands back
a :class:`Built` (the problem, or why there is none), by future and by a queued signal; no
exception escapes it. The window waits at most :data:`BUILD_WAIT` for a build (a small one is
shown at once) and otherwise goes on, showing the result when it comes.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Signal

from odeprop.core.config import Experiment
from odeprop.core.datasets import Dataset, load_dataset
from odeprop.core.run import Problem

DATA_ERROR = "the data cannot be loaded: "
#: How long the window waits for a build before it goes on and shows it when it is done.
BUILD_WAIT = 0.5


@dataclass(frozen=True)
class Built:
    """What building ``experiment`` gave: its ``problem``, or the ``error`` that says why
    not. ``data_loaded``: the data were read (the network does not fit them, e.g. its loss),
    and ``dataset`` holds them then."""

    experiment: Experiment
    problem: Problem | None = None
    error: str | None = None
    data_loaded: bool = False
    dataset: Dataset | None = None


def out_of_memory(exp: Experiment) -> str:
    """The message for a problem too large for this machine's memory, naming the fields."""
    d, n = exp.dataset, exp.network
    size = (f"{d.n_samples:,} samples × {d.n_features:,} inputs"
            if d.kind == "clusters" else f"the '{d.kind}' data")
    return (f"the experiment does not fit in memory ({size}, hidden layers "
            f"{list(n.hidden)}): make dataset.n_samples, dataset.n_features or network.hidden "
            "smaller")


def build(exp: Experiment) -> Built:
    """Build ``exp``'s problem; every failure comes back as a message, none is raised."""
    try:
        return Built(exp, Problem.build(exp), data_loaded=True)
    except MemoryError:
        return Built(exp, error=out_of_memory(exp))
    except ValueError as exc:
        message = str(exc)
        if not message.startswith("network."):
            return Built(exp, error=DATA_ERROR + message)
    except RecursionError:
        return Built(exp, error="the experiment is nested too deeply to be built")
    except Exception as exc:  # a fault of ours: said, never a traceback or a dead window
        return Built(exp, error=f"the problem cannot be built ({type(exc).__name__}: {exc})")
    try:  # the data loaded; the network does not fit them: the form can use their classes
        return Built(exp, error=message, data_loaded=True, dataset=load_dataset(exp.dataset))
    except (MemoryError, ValueError):
        return Built(exp, error=message, data_loaded=True)


def file_error(error: str) -> str:
    """A build's error as said under the CSV field: the file and the row, without preamble."""
    return error.removeprefix(DATA_ERROR)


class ProblemBuilder(QObject):
    """Builds problems one at a time on a background thread; the latest built is reused while
    its data and network settings stay the same (a CSV file is read again each time: it may
    have changed on disk)."""

    #: a build ended: the Future (its result is a :class:`Built`), emitted on the GUI thread
    done = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="odeprop-build")
        self._lock = threading.Lock()
        self._last: tuple[tuple, Problem] | None = None
        self._queued: list[tuple[tuple, Future]] = []  # the latest build asked for
        self._closed = False
        self.builds = 0  # problems built (not reused): tests and benchmarks count them

    def submit(self, exp: Experiment) -> Future:
        """A future of ``exp``'s :class:`Built`; a build still waiting is dropped (only the
        newest is wanted), one of the same problem under way is shared. Unless it is done
        already (a reused problem), its ``done`` signal follows when it is."""
        key = (exp.dataset, exp.network)
        with self._lock:
            last = self._last
        future: Future = Future()
        if exp.dataset.kind != "csv" and last is not None and last[0] == key:
            future.set_result(Built(exp, last[1], data_loaded=True))
            return future  # done already: no signal follows
        if self._closed:
            future.set_result(Built(exp, error="the window is closing"))
            return future
        queued = self._queued
        if queued and queued[0][0] == key and exp.dataset.kind != "csv" and \
                not queued[0][1].done():
            return self._follow(queued[0][1], exp)  # a Start after its preview, say
        if queued:
            queued[0][1].cancel()  # only the newest is wanted (one under way finishes)
        future = self._executor.submit(self._build, exp, key)
        self._queued = [(key, future)]
        future.add_done_callback(self._emit)
        return future

    def _follow(self, source: Future, exp: Experiment) -> Future:
        """A future of ``exp``'s :class:`Built` from the build of the same problem under way
        (for another experiment of the same data and network)."""
        future: Future = Future()

        def relay(done: Future) -> None:
            if done.cancelled():
                future.cancel()
            else:
                future.set_result(replace(done.result(), experiment=exp))

        future.add_done_callback(self._emit)
        source.add_done_callback(relay)
        return future

    def _build(self, exp: Experiment, key: tuple) -> Built:
        built = build(exp)
        self.builds += 1
        if built.problem is not None:
            with self._lock:
                self._last = (key, built.problem)
        return built

    def _emit(self, future: Future) -> None:
        if not future.cancelled():
            self.done.emit(future)

    def shutdown(self) -> None:
        """Drop waiting builds; one under way finishes on its own thread, unwatched."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)
