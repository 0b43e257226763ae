"""Faults the lab survives: a worker killed mid-run, a broken pipe, a full disk or an unwritable
folder on export, a window that crashed (its runs offered again), long streams and many cycles.

The long-session tests run the functions of ``benchmarks/reliability.py`` scaled down (20
cycles, 60 000 snapshots); the benchmark runs them full size (300 cycles, a million snapshots).
"""

import errno
import functools
import gc
import importlib.util
import os
import signal
import subprocess
import sys
import threading
from dataclasses import fields
from pathlib import Path

import pytest
from conftest import ENDLESS_GD, SHORT_BDF
from PySide6.QtCore import Qt, QTimer

from odeprop.core.config import Experiment
from odeprop.core.presets import default_experiment
from odeprop.core.recording import (
    SnapshotRecorder,
    read_recording,
    unfinished_recordings,
)
from odeprop.core.run import Problem
from odeprop.core.snapshot import Snapshot
from odeprop.core.worker import SyntheticProcess
from odeprop.gui.lab.run_session import RecordedRun

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("reliability", ROOT / "benchmarks" /
                                               "reliability.py")
reliability = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reliability)


def synthetic(window, n: int, batch: int = 500, interval: float = 0.0) -> None:
    window.process_factory = functools.partial(SyntheticProcess, n=n, batch=batch,
                                               interval=interval)


def run_synthetic(qtbot, window, n: int, batch: int = 500) -> None:
    synthetic(window, n, batch)
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        assert window.start()


def unwritable(tmp_path) -> Path:
    """A folder nobody may write in (as root, where permissions do not bind: /sys)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    if os.access(folder, os.W_OK):
        if not os.path.isdir("/sys") or os.access("/sys", os.W_OK) and os.geteuid() != 0:
            pytest.skip("no unwritable folder on this system")
        return Path("/sys")
    return folder


def fake_snapshots(n: int, start: int = 0) -> list[Snapshot]:
    values = dict.fromkeys((f.name for f in fields(Snapshot)), None)
    values.update(h=0.5, wall=0.0, solver_wall=0.0, n_hvp=0, n_hess=0, probe_hvp=0,
                  probe_hess=0, status="running", message="")
    return [Snapshot(**{**values, "step": i, "t": 0.5 * i, "loss_train": 1.0 / (1 + i),
                        "n_grad": i}) for i in range(start, start + n)]


# -- a worker killed mid-run, a broken pipe ------------------------------------------------------
def test_a_killed_worker_marks_the_run_keeps_its_data_and_can_start_again(qtbot, window,
                                                                          tmp_path, request):
    window.set_experiment(ENDLESS_GD)
    assert window.start()
    qtbot.waitUntil(lambda: window.session.count > 30, timeout=30_000)
    session = window.session
    request.addfinalizer(lambda: session.process.terminate(0.2))  # reaped, whatever failed
    with qtbot.waitSignal(window.run_ended, timeout=30_000) as ended:
        os.kill(session.process.process.pid, signal.SIGKILL)
        window.pause()  # a command down the broken pipe: refused quietly, nothing raised
    status, message = ended.args
    assert status == "died" and window.state == "ended"
    assert message.startswith("the worker process ended unexpectedly (killed by SIGKILL")
    assert f"after step {session.last.step}" in message
    assert window.banner.text().startswith("Worker died: the worker process ended")
    assert "Start runs it again" in window.banner.text()
    assert window.banner.property("kind") == "error"
    assert window.plots.columns.n == session.count > 30  # its data stays
    assert window.export_csv(tmp_path / "died.csv") == session.count
    assert [s.step for s in read_recording(tmp_path / "died.csv")] == list(range(session.count))
    assert window.controls.start_action.isEnabled()
    assert window.start()  # and it runs again
    qtbot.waitUntil(lambda: window.session.count > 10, timeout=30_000)
    assert window.session is not session and window.session.first.step == 0
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        window.stop()


# -- exports that cannot be written --------------------------------------------------------------
def test_export_to_an_unwritable_folder_says_so_and_writes_nothing(qtbot, window, tmp_path):
    run_synthetic(qtbot, window, 3_000)
    folder = unwritable(tmp_path)
    assert window.export_csv(folder / "run.csv") == 0
    box = window.error_dialog
    assert box.isVisible() and box.windowTitle() == "Cannot export the run data"
    assert box.text().startswith(f"Cannot export to {folder / 'run.csv'}: Permission denied.")
    assert "Nothing was written there" in box.text()
    assert window.banner.property("kind") == "error"
    assert not (folder / "run.csv").exists()
    box.close()
    assert window.export_csv(tmp_path / "run.csv") == 3_000  # the data is still there
    for name in ("loss.png", "loss.svg"):  # plots too: a dialog, and no file
        assert not window.export_plot("loss", folder / name)
        assert window.error_dialog.windowTitle() == "Cannot export the plot"
        assert "Permission denied" in window.error_dialog.text()
        assert not (folder / name).exists()
        window.error_dialog.close()
    assert window.export_plot("loss", tmp_path / "loss.svg")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("where", ["rename", "sync", "write"])
def test_a_full_disk_on_export_leaves_the_old_file_and_no_partial_one(qtbot, window, tmp_path,
                                                                      monkeypatch, where):
    from odeprop.core import io as core_io

    run_synthetic(qtbot, window, 3_000)
    target = tmp_path / "out" / "run.csv"
    target.parent.mkdir()
    target.write_text("an older export, complete\n")

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "rename":
        monkeypatch.setattr(core_io.os, "replace", full)
    elif where == "sync":
        monkeypatch.setattr(core_io.os, "fsync", full)
    else:  # the disk fills after the first megabyte
        monkeypatch.setattr(core_io, "COPY_CHUNK", 4096)
        real = core_io._atomic_file.__enter__

        def enter(self):
            fh = real(self)
            written = [0]
            raw_write = fh.write

            def write(data):
                written[0] += len(data)
                if written[0] > 100_000:
                    full()
                return raw_write(data)

            fh.write = write
            return fh

        monkeypatch.setattr(core_io._atomic_file, "__enter__", enter)
    assert window.export_csv(target) == 0
    assert "No space left on device" in window.error_dialog.text()
    assert target.read_text() == "an older export, complete\n"
    assert [p.name for p in target.parent.iterdir()] == ["run.csv"]  # no temporary file left
    monkeypatch.undo()
    assert window.export_csv(target) == 3_000


def test_a_disk_that_fills_while_recording_keeps_the_rest_in_memory(qtbot, window, tmp_path,
                                                                    monkeypatch):
    real = SnapshotRecorder.append
    calls = [0]

    def fills_up(self, snapshots):
        calls[0] += 1
        if calls[0] > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, snapshots)

    monkeypatch.setattr(SnapshotRecorder, "append", fills_up)
    run_synthetic(qtbot, window, 5_000)
    assert window.session.record_error.startswith("recording the run to disk stopped at step "
                                                  "1500 ([Errno 28] No space left on device)")
    assert len(window.session._memory) == 3_500
    path = tmp_path / "all.csv"
    assert window.export_csv(path) == 5_000  # the record's 1 500 rows, then the 3 500 in memory
    assert [s.step for s in read_recording(path)] == list(range(5_000))


def test_an_unwritable_recovery_folder_still_runs_and_exports(qtbot, window, tmp_path,
                                                              monkeypatch):
    blocker = tmp_path / "a file, not a folder"
    blocker.write_text("")
    monkeypatch.setenv("ODEPROP_RECOVERY_DIR", str(blocker / "recovery"))
    run_synthetic(qtbot, window, 2_000)
    assert window.session.recorder is None
    assert "it is kept in memory instead" in window.session.record_error
    assert window.export_csv(tmp_path / "run.csv") == 2_000


# -- a window that crashed -----------------------------------------------------------------------
def _running(pid: int) -> bool:
    """Whether a process runs (a zombie, ended but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _end_orphan(pid: int) -> None:
    """Kill a crashed window's worker should it still run (a failed test leaves no stray
    process); only a multiprocessing child, in case the pid was reused meanwhile."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if b"multiprocessing" in fh.read() and _running(pid):
                os.kill(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        pass


CRASHING_LAB = """
import os, signal, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from odeprop.core.config import Experiment
from odeprop.gui.lab.main_window import MainWindow
app = QApplication([])
win = MainWindow(settings=QSettings(sys.argv[1], QSettings.Format.IniFormat), persist=False,
                 restore=False, offer_recovery=False)
with open(sys.argv[2], encoding="utf-8") as fh:
    win.set_experiment(Experiment.from_toml(fh.read()))
{setup}
win.start()
def check():
    if win.session.count >= {count}:
        print(win.session.count, win.session.process.process.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # the window crashes: nothing is closed
timer = QTimer()
timer.timeout.connect(check)
timer.start(10)
app.exec()
"""


def test_a_crashed_window_is_offered_on_the_next_start_and_reopens(qtbot, settings, tmp_path,
                                                                  recovery_folder, request):
    from odeprop.gui.lab.main_window import MainWindow

    exp = ENDLESS_GD.with_changes(name="class demo")
    (tmp_path / "exp.toml").write_text(exp.to_toml())
    env = dict(os.environ, ODEPROP_RECOVERY_DIR=str(recovery_folder))
    crash = subprocess.run([sys.executable, "-c", CRASHING_LAB.format(setup="", count=100),
                            str(tmp_path / "crash.ini"), str(tmp_path / "exp.toml")], env=env,
                           capture_output=True, text=True, timeout=60)
    assert crash.returncode == -signal.SIGKILL, crash.stderr
    seen, worker = map(int, crash.stdout.split())
    request.addfinalizer(lambda: _end_orphan(worker))
    qtbot.waitUntil(lambda: not _running(worker), timeout=30_000)  # its pipe broke: it ended
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    bar = win.recovery_bar
    assert bar.isVisible() and not bar.choice.isVisible()
    assert bar.text.text().startswith("A run was not saved when odeprop last closed: class demo")
    before = win.experiment()
    bar.reopen_button.click()
    run = win.session
    assert isinstance(run, RecordedRun) and win.state == "ended"
    assert run.count >= seen and win.plots.columns.n == run.count
    assert win.experiment() == exp != before  # its experiment is in the form
    assert win.banner.text().startswith(f"Reopened “class demo”: {run.count} snapshots")
    assert not bar.isVisible()
    assert unfinished_recordings(recovery_folder) == []  # the new record is this window's
    path = tmp_path / "recovered.csv"
    assert win.export_csv(path) == run.count
    assert [s.step for s in read_recording(path)] == list(range(run.count))
    win.close()
    assert list(recovery_folder.iterdir()) == []  # a clean close leaves nothing behind


def test_records_can_be_discarded_and_a_broken_one_changes_nothing(qtbot, settings,
                                                                   recovery_folder, tmp_path):
    from odeprop.gui.lab.main_window import MainWindow

    for name, snaps in (("older", 40), ("newer", 25)):
        rec = SnapshotRecorder(recovery_folder, name, SHORT_BDF.to_toml(), label=name)
        rec.append(fake_snapshots(snaps))
        with open(rec.path, "a", encoding="utf-8") as fh:
            fh.write("25,12.5,0.5,0.")  # the crash cut the last line
        del rec  # abandoned, as a crash leaves it
    broken = SnapshotRecorder(recovery_folder, "broken", "[solver\n", label="broken")
    broken.append(fake_snapshots(3))
    del broken
    gc.collect()
    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    bar = win.recovery_bar
    assert bar.isVisible() and bar.choice.count() == 3
    assert bar.text.text() == ("3 runs were not saved when odeprop last closed. Reopen them one "
                               "by one:")
    before = win.experiment()
    bar.choice.setCurrentIndex(bar.choice.findText("broken", Qt.MatchFlag.MatchStartsWith))
    assert not win.reopen_recording(bar.selected())
    assert win.banner.text().startswith("Cannot reopen broken.csv: not valid TOML")
    assert win.experiment() == before and win.session is None  # nothing half-applied
    bar.discard_button.click()
    assert bar.choice.count() == 2
    bar.later_button.click()
    assert not bar.isVisible()
    assert [p.name for p, _ in unfinished_recordings(recovery_folder)] == ["newer.csv",
                                                                           "older.csv"]
    assert win.reopen_recording(recovery_folder / "newer.csv")
    assert win.session.count == 25 and win.experiment() == SHORT_BDF  # the torn line is cut
    assert win.export_csv(tmp_path / "newer.csv") == 25
    assert read_recording(tmp_path / "newer.csv") == fake_snapshots(25)


# -- long sessions (benchmarks/reliability.py, scaled down) --------------------------------------
def test_a_long_stream_keeps_memory_bounded_and_the_full_record_on_disk(qtbot, window,
                                                                        tmp_path):
    window.plots.columns.max_points = 5_000  # the benchmark keeps the real 100 000
    result = reliability.stream(window, 60_000, batch=2_000, export_to=tmp_path / "all.csv")
    session = window.session
    assert result["snapshots"] == session.count == 60_000 and result["status"] == "finished"
    cols = window.plots.columns
    assert cols.n <= 5_000 and cols.stride == 16 and cols.received == 60_000
    assert cols["step"][0] == 0 and cols["step"][-1] == 59_999  # the newest is always drawn
    assert not session._memory and session.first.step == 0 and session.last.step == 59_999
    lens = window.lens.runs["run"]
    assert len(lens.pending) <= 2 * 2048 and not lens.snapshots
    assert result["exported_rows"] == 60_000
    assert result["record_mb"] == pytest.approx(session.recorder.size / 1e6)


def test_start_stop_reset_cycles_leave_no_process_thread_or_file_behind(qtbot, window,
                                                                        recovery_folder):
    result = reliability.run_cycles(window, 20)
    before, after = result["before"], result["after"]
    for key in ("children", "threads", "py_threads", "fds"):
        assert after[key] <= before[key], (key, before, after)
    assert after["rss_mb"] - before["rss_mb"] < 20, (before, after)
    assert result["received"] >= 20
    assert list(recovery_folder.iterdir()) == []  # every reset deleted its record


# -- an experiment that cannot be built: at start-up, in a preview, at Start -------------------
def _remember(settings, exp: Experiment) -> None:
    settings.setValue("last_experiment", exp.to_toml())
    settings.sync()


def _open_lab(qtbot, settings):
    from odeprop.gui.lab.main_window import MainWindow

    win = MainWindow(settings=settings, offer_recovery=False)
    qtbot.addWidget(win)
    win.show()
    return win


def _out_of_memory_for(seed: int):
    original = Problem.build.__func__

    def build(cls, experiment):
        if experiment.dataset.seed == seed:
            raise MemoryError
        return original(cls, experiment)

    return classmethod(build)


@pytest.mark.parametrize("fault", ["out of memory", "csv gone", "not an experiment"])
def test_the_lab_opens_whatever_the_remembered_experiment_and_keeps_it(
        qtbot, settings, tmp_path, monkeypatch, fault):
    """The experiment remembered from the last session never keeps the lab from opening: it
    opens on the default experiment with a banner saying why, and the remembered one is kept
    in a file the banner names."""
    if fault == "out of memory":
        remembered = SHORT_BDF.with_changes(name="huge", dataset={"seed": 77}).to_toml()
        monkeypatch.setattr(Problem, "build", _out_of_memory_for(77))
        why = "(the experiment does not fit in memory"
    elif fault == "csv gone":
        path = tmp_path / "gone.csv"
        path.write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
        remembered = SHORT_BDF.with_changes(name="huge", dataset={
            "kind": "csv", "csv_path": str(path), "target_column": "label"}).to_toml()
        path.unlink()
        why = f"(the data cannot be loaded: {path}: no such file)"
    else:
        remembered = "[solver\nmethod = 'RK45'\n"
        why = "(not valid TOML"
    settings.setValue("last_experiment", remembered)
    fresh = tmp_path / "data" / "recovery"  # a data folder no run has made yet
    monkeypatch.setenv("ODEPROP_RECOVERY_DIR", str(fresh))
    win = _open_lab(qtbot, settings)
    assert win.experiment() == default_experiment()
    kept = fresh.parent / "unrestored-experiment.toml"
    assert win.banner.property("kind") == "warning"
    text = win.banner.text()
    assert text.startswith("The experiment open when odeprop last closed could not be restored "
                           + why), text
    assert text.endswith(f"the default experiment is open instead. It is kept in {kept}: "
                         "File ▸ Open experiment… opens it.")
    assert kept.read_text() == remembered
    assert settings.value("unrestored_experiment") == remembered
    assert win.controls.start_action.isEnabled() and win.problem is not None
    win.close()
    assert _open_lab(qtbot, settings).experiment() == default_experiment()  # and next time


def test_out_of_memory_in_a_preview_or_at_start_is_said_not_raised(qtbot, window,
                                                                   monkeypatch):
    monkeypatch.setattr(Problem, "build", _out_of_memory_for(5))
    window.set_experiment(SHORT_BDF.with_changes(dataset={"seed": 5}))
    message = ("the experiment does not fit in memory (the 'moons' data, hidden layers "
               f"{list(SHORT_BDF.network.hidden)}): make dataset.n_samples, "
               "dataset.n_features or network.hidden smaller")
    assert window.banner.text() == message[0].upper() + message[1:]
    assert window.controls.blocker.text() == f"Cannot start: {message}"
    assert not window.controls.start_action.isEnabled()
    assert window.data_view.mode == "empty" and window.state == "idle"
    assert not window.start() and window.session is None
    assert window.banner.text() == f"Cannot start: {message}"
    window.set_experiment(SHORT_BDF)  # mended: the blocker goes
    assert window.controls.blocker.text() == "" and window.controls.start_action.isEnabled()
    assert window.banner.isHidden()


def test_a_slow_build_leaves_the_window_responsive_and_starts_when_ready(qtbot, window,
                                                                         monkeypatch, request):
    """Data that take long to build are built on another thread: the window goes on (its
    timers fire), shows them when they come, and a Start waits for them without blocking.
    (Deadlines are generous: on a loaded CI machine a tick can come late; a failed assertion
    still releases the held build, so no thread outlives the test.)"""
    release = threading.Event()
    request.addfinalizer(release.set)
    original = Problem.build.__func__
    threads = []

    def slow(cls, experiment):
        threads.append(threading.current_thread() is threading.main_thread())
        if experiment.dataset.seed == 9:
            release.wait(30)
        return original(cls, experiment)

    def builds():
        return len(threads)

    monkeypatch.setattr(Problem, "build", classmethod(slow))
    slow_exp = SHORT_BDF.with_changes(dataset={"seed": 9})
    window.set_experiment(slow_exp)  # returns although its build is held
    assert window.status_label.text() == "Reading the data and building the network…"
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(10)
    request.addfinalizer(timer.stop)
    qtbot.waitUntil(lambda: len(ticks) >= 5, timeout=30_000)  # the event loop runs meanwhile
    before = builds()
    window.set_experiment(slow_exp.with_changes(solver={"rtol": 1e-3}))  # the same problem
    assert window.start()  # waits for the same build, without blocking either
    assert window.state == "starting" and window.session is None
    assert not window.controls.start_action.isEnabled()
    window.stop()  # cancels the Start
    assert window.state == "idle" and window.session is None
    assert window.start()
    held = len(ticks)
    qtbot.waitUntil(lambda: len(ticks) >= held + 5, timeout=30_000)  # still held, still live
    assert window.state == "starting" and window.session is None
    release.set()
    qtbot.waitUntil(lambda: window.session is not None, timeout=30_000)
    assert builds() == before  # one build served the previews and the Start
    assert window.session.experiment.solver.rtol == 1e-3  # the run is the form's experiment
    assert window.problem.dataset is window.data_view.problem.dataset
    assert window.state in ("running", "ended") and not any(threads)
    timer.stop()


# -- a reopened run's record: never deleted unasked, and honest about its length ----------------
#: The disk fills after the record's header and three batches (1,500 snapshots): no more rows,
#: and no new file (the record's description) either; then the window crashes.
DISK_FILLS = """
import errno, functools
from odeprop.core import io, recording
from odeprop.core.worker import SyntheticProcess
write_all, write_text, calls = recording._write_all, io.write_text_atomic, [0]
def full():
    return OSError(errno.ENOSPC, "No space left on device")
def filling(fd, data):
    calls[0] += 1
    if calls[0] > 4:
        raise full()
    write_all(fd, data)
def no_new_file(path, text, **options):
    if calls[0] > 4:
        raise full()
    write_text(path, text, **options)
recording._write_all, io.write_text_atomic = filling, no_new_file
win.process_factory = functools.partial(SyntheticProcess, n=10_000, batch=500, interval=0.01)
"""


def test_a_record_cut_short_by_a_full_disk_says_so_when_reopened(qtbot, settings, tmp_path,
                                                                 recovery_folder, request):
    (tmp_path / "exp.toml").write_text(ENDLESS_GD.to_toml())
    env = dict(os.environ, ODEPROP_RECOVERY_DIR=str(recovery_folder))
    crash = subprocess.run([sys.executable, "-c", CRASHING_LAB.format(setup=DISK_FILLS,
                                                                      count=3_000),
                            str(tmp_path / "crash.ini"), str(tmp_path / "exp.toml")], env=env,
                           capture_output=True, text=True, timeout=180)
    assert crash.returncode == -signal.SIGKILL, crash.stderr
    shown, worker = map(int, crash.stdout.split())
    request.addfinalizer(lambda: _end_orphan(worker))
    (path, meta), = unfinished_recordings(recovery_folder)
    assert meta["cut_short"] == {"step": 1500, "reason": "No space left on device"}
    win = _open_lab(qtbot, settings)
    win.check_recovery()
    assert win.recovery_bar.text.text().endswith(
        ", record cut short at step 1500. Reopen it?")
    assert win.reopen_recording(path)
    assert win.session.count == 1500 < shown
    assert win.banner.property("kind") == "warning"
    assert ("Note: record cut short at step 1500: No space left on device; the window showed "
            "the rest of that run, which was lost in the crash.") in win.banner.text()


def test_closing_after_reopening_keeps_the_record_until_it_is_exported(qtbot, settings,
                                                                       recovery_folder,
                                                                       tmp_path):
    rec = SnapshotRecorder(recovery_folder, "left", SHORT_BDF.to_toml(), label="left")
    rec.append(fake_snapshots(30))
    del rec  # abandoned, as a crash leaves it
    gc.collect()
    win = _open_lab(qtbot, settings)
    path = recovery_folder / "left.csv"
    assert win.reopen_recording(path)
    assert "The record is kept until it is exported or discarded." in win.banner.text()
    win.reset()  # done with the run, but it was never saved: offered again
    assert win.recovery_bar.isVisible() and win.recovery_bar.selected() == path
    assert win.reopen_recording(path)
    win.close()  # closing does not delete it either
    assert [p for p, _ in unfinished_recordings(recovery_folder)] == [path]
    assert read_recording(path) == fake_snapshots(30)
    win = _open_lab(qtbot, settings)
    assert win.reopen_recording(path)
    assert win.export_csv(tmp_path / "saved.csv") == 30
    win.close()  # exported: the record has done its job
    assert unfinished_recordings(recovery_folder) == [] and not path.exists()
    assert read_recording(tmp_path / "saved.csv") == fake_snapshots(30)


def test_a_start_still_reading_its_data_when_the_window_closes_starts_nothing(qtbot, window,
                                                                              monkeypatch):
    release = threading.Event()
    original = Problem.build.__func__
    built = threading.Event()

    def slow(cls, experiment):
        if experiment.network.init_seed == 11:  # the Start's build, not the preview's
            release.wait(30)
        try:
            return original(cls, experiment)
        finally:
            built.set()

    monkeypatch.setattr(Problem, "build", classmethod(slow))
    window.set_experiment(SHORT_BDF)
    window.config_panel.init_seed.setValue(11)  # Start comes before the debounced preview
    built.clear()
    assert window.start() and window.state == "starting"
    window.close()
    release.set()
    qtbot.waitUntil(built.is_set, timeout=30_000)
    qtbot.wait(200)  # the build's signal, had it been watched, has arrived by now
    assert window.session is None


def test_data_the_view_cannot_draw_are_said_and_the_run_can_start(qtbot, window, monkeypatch):
    from odeprop.gui.lab import data_view

    def out_of_memory(*args):
        raise MemoryError

    monkeypatch.setattr(data_view, "compute_view", out_of_memory)
    window.set_experiment(SHORT_BDF.with_changes(dataset={"seed": 4}))
    assert window.banner.text() == "The data view cannot draw these data (out of memory)."
    assert window.data_view.mode == "empty" and window.problem is not None
    assert window.controls.start_action.isEnabled()
    monkeypatch.undo()
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        assert window.start()
    assert window.session.count > 0
