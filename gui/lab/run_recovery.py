"""Runs a crashed window left behind: the bar above the plots that offers them, and reopening
one as a finished, view-only run (or discarding it).

Every run is recorded on disk as it streams (:mod:`odeprop.gui.lab.run_session`);
:class:`RunRecovery` is mixed into :class:`~odeprop.gui.lab.main_window.MainWindow` and uses its
``recovery_bar``, plots, data view, lens and live-run state.
"""

from __future__ import annotations

from pathlib import Path

from odeprop.core.config import Experiment
from odeprop.core.recording import (
    RecordReader,
    SnapshotRecorder,
    forget,
    read_meta,
    unfinished_recordings,
)

from .run_session import RecordedRun
from .run_status import STATUS_TITLES

REOPEN_CHUNK = 20_000  # snapshots read from a record at a time when reopening it


class RunRecovery:
    """Offer, reopen and discard the records of runs a crashed window never finished."""

    def check_recovery(self) -> list:
        """Offer the runs a crashed window left unsaved (a bar above the plots)."""
        try:
            records = unfinished_recordings()
        except OSError:
            records = []
        self.recovery_bar.set_records(records)
        return records

    def discard_recording(self, path: str | Path) -> None:
        forget(Path(path))
        self.check_recovery()

    def reopen_recording(self, path: str | Path) -> bool:
        """Load a record left by a crash as a finished, view-only run (its experiment goes into
        the form): it can be exported, or started again. The window takes the record over (it
        is read once, not copied) and deletes it when the user is done with the run."""
        path = Path(path)
        if self.state in ("running", "paused", "starting"):
            self.show_banner("Stop the current run before reopening a recorded one.", "info")
            return False
        chunks = None
        try:
            meta = read_meta(path)
            exp = Experiment.from_toml(str(meta.get("experiment", "")))
            # a long record is read thinned to what the plots keep (every k-th row and the
            # last; the others are only checked): a million rows in seconds
            every = max(1, -(-_lines_in(path) // self.plots.columns.max_points))
            reader = RecordReader(path, REOPEN_CHUNK, every=every)
            chunks = iter(reader)
            chunk = next(chunks, [])
            recorder = SnapshotRecorder.adopt(path)  # this window owns the record now
        except (OSError, ValueError) as exc:
            if chunks is not None:
                chunks.close()
            self.show_banner(f"Cannot reopen {path.name}: {exc}", "error")
            return False
        self._discard_session()
        self._leave_replay()
        self.plots.clear()
        self.lens.clear()
        self.config_panel.set_experiment(exp)
        _, built = self.build_problem(exp)  # not waited for long: the curves come first
        self.problem = built.problem if built is not None else None
        self._previewed = None
        if self.problem is not None and self._draw_problem(self.problem):
            task = self.problem.dataset.task
        else:  # its data file is gone, too large, not read yet: the curves can be shown
            self.data_view.set_problem(None)
            task = ("classification" if chunk and chunk[0].accuracy_train is not None
                    else "regression")
        self.plots.set_task(task)
        self.plots.set_experiment(exp)
        run = RecordedRun(exp, label=meta.get("label") or exp.name, parent=self,
                          recorder=recorder)
        self._connect(run)
        self.session = run
        try:
            while chunk:
                run.add(chunk)
                self.plots.append(chunk)
                chunk = next(chunks, [])
        except (OSError, ValueError):
            pass  # a damaged tail: what was read is shown
        finally:
            chunks.close()
        recorder.settle(reader.size, reader.rows)  # a torn last line is cut off
        run.count = reader.rows
        last = run.last
        status = meta.get("status") or "stopped"
        message = meta.get("message") or (
            "the window closed during the run" + (f", at step {last.step}" if last else ""))
        run.end(status, message)
        self.check_recovery()
        self._set_state("ended")
        self.plots.refresh()
        self._update_status()
        self._enter_replay()
        cut = cut_short(meta)
        self.show_banner(f"Reopened “{meta.get('label') or exp.name}”: {run.count} snapshots "
                         f"({STATUS_TITLES.get(status, status).lower()}: {message}).{cut} View "
                         "only: File ▸ Export run data saves them; Start runs the experiment "
                         "again. The record is kept until it is exported or discarded.",
                         "warning" if cut else "info")
        return True


def cut_short(meta: dict) -> str:
    """The note for a record the disk cut short (the window showed more of the run than the
    record holds): "record cut short at step N: reason…"; "" for a whole record."""
    cut = meta.get("cut_short")
    if not isinstance(cut, dict):
        return ""
    return (f" Note: record cut short at step {cut.get('step')}: {cut.get('reason')}; the "
            "window showed the rest of that run, which was lost in the crash.")


def _lines_in(path: Path) -> int:
    """Lines in a file, counted in blocks (a 150 MB record in a fraction of a second)."""
    with open(path, "rb") as fh:
        return sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b""))
