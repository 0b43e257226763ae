"""SIGTERM during ``odeprop run`` and ``odeprop compare`` is handled as Ctrl+C: the runs stop,
what they have is written, no temporary file or folder is left, and the command ends with one
line on stderr and exit code 143."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from odeprop.core.comparison import Comparison, RunSpec
from odeprop.core.config import DatasetConfig, NetworkConfig, ProbeConfig, SolverConfig, StopConfig
from odeprop.core.presets import load_preset

ENDLESS_STOP = StopConfig(t_end=1e9, max_wall_time=120.0)


def _start(args, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    return subprocess.Popen([sys.executable, "-m", "odeprop.core.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _when(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("the command never got going")
        time.sleep(0.05)


def _terminate(process):
    process.send_signal(signal.SIGTERM)
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("SIGTERM did not end the command")
    return out, err


def test_sigterm_during_run_leaves_no_temporary_file(tmp_path):
    path, out = tmp_path / "endless.toml", tmp_path / "out"
    load_preset("default").with_changes(
        solver={"method": "gd", "learning_rate": 0.01}, stop=ENDLESS_STOP,
        probe={"stiffness_every": 0}).save(path)
    process = _start(["run", str(path), "--out", str(out), "--quiet"], tmp_path)
    _when(lambda: any(p.suffix == ".tmp" for p in out.glob("*")))  # snapshots streaming
    _, err = _terminate(process)
    assert process.returncode == 143
    assert err == "odeprop: terminated (SIGTERM)\n"
    assert sorted(p.name for p in out.iterdir()) == ["experiment.toml", "snapshots.csv",
                                                       "summary.json"]
    assert '"message": "terminated (SIGTERM)"' in (out / "summary.json").read_text()
    assert list((tmp_path / "tmp").iterdir()) == []


def test_sigterm_during_compare_leaves_no_temporary_folder_and_writes_the_table(tmp_path):
    path, out = tmp_path / "endless.toml", tmp_path / "out"
    Comparison(name="endless", dataset=DatasetConfig(n_samples=60),
               network=NetworkConfig(hidden=(4,)), stop=ENDLESS_STOP,
               probe=ProbeConfig(stiffness_every=0),
               runs=(RunSpec("a", SolverConfig(method="gd", learning_rate=0.01)),
                     RunSpec("b", SolverConfig(method="gd", learning_rate=0.02)))).save(path)
    process = _start(["compare", str(path), "--out", str(out), "--quiet"], tmp_path)
    records = tmp_path / "tmp"
    _when(lambda: sum(f.stat().st_size > 2000 for f in records.glob("*/*.csv")) == 2)
    text, err = _terminate(process)
    assert process.returncode == 143
    assert err == "odeprop: terminated (SIGTERM)\n"
    assert "| a | gd |" in text and "| b | gd |" in text
    assert sorted(p.name for p in out.iterdir()) == [
        "comparison.toml", "run-1-a.csv", "run-2-b.csv", "summary.csv", "summary.md"]
    assert list(records.iterdir()) == []  # the records' temporary folder went


def test_a_reader_that_leaves_early_gets_no_traceback_and_the_files_are_written(tmp_path):
    """`odeprop run --out DIR | head -1`: the pipe closes before the summary is printed. No
    traceback, exit 141 (as a shell's SIGPIPE), and every result file written all the same."""
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, "-m", "odeprop.core.cli", "run", "--preset",
                                "default", "--quiet", "--out", str(out)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before the first line
    _, err = process.communicate(timeout=120)
    assert b"Traceback" not in err, err.decode()
    assert process.returncode == 141
    assert sorted(p.name for p in out.iterdir()) == ["experiment.toml", "snapshots.csv",
                                                     "summary.json"]
