"""The headless command line: runs, outputs and one-line refusals with exit code 2."""

import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from special_files import fifo

from odeprop.core import budget
from odeprop.core.cli import main
from odeprop.core.config import DatasetConfig, Experiment
from odeprop.core.presets import load_preset, preset_names
from odeprop.core.worker import RunProcess

QUICK = ["--set", "stop.target_loss=0.2", "--set", "probe.stiffness_every=5"]


def test_run_preset_writes_csv_json_and_toml(tmp_path, capsys):
    code = main(["run", "--preset", "critique-bdf-order2", "--out", str(tmp_path), "--quiet",
                 *QUICK])
    out = capsys.readouterr().out
    assert code == 0
    assert "finished — reached the target loss 0.2" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    rows = list(csv.DictReader((tmp_path / "snapshots.csv").open()))
    assert summary["report"]["final"]["step"] == int(rows[-1]["step"]) == len(rows) - 1
    assert float(rows[-1]["loss_train"]) <= 0.2
    assert summary["experiment"]["solver"]["max_order"] == 2
    assert (tmp_path / "experiment.toml").read_text().count("[solver]") == 1


def test_run_streams_its_snapshots_to_disk_as_they_arrive(tmp_path, capsys, monkeypatch):
    """Rows reach snapshots.csv (its temporary file) while the run goes, not at the end: the
    run holds no list of snapshots."""
    from odeprop.core import cli
    from odeprop.core.run import Run

    seen = []
    real = Run.run_to_end

    def watching(run, on_snapshot=None):
        def each(snap):
            on_snapshot(snap)
            if snap.step == 3:  # rows so far, flushed, in the temporary file beside the target
                tmp = [f for f in tmp_path.iterdir() if f.name.startswith(".snapshots.csv.")]
                stream_file = tmp[0].open()
                seen.append(len(stream_file.read().splitlines()))
        return real(run, each)

    monkeypatch.setattr(Run, "run_to_end", watching)
    monkeypatch.setattr(cli.csv, "writer", _flushing_writer)
    assert main(["run", "--preset", "default", "--out", str(tmp_path), "--quiet",
                 "--set", "stop.max_steps=10"]) == 0
    assert seen == [5]  # the header and steps 0 to 3
    rows = list(csv.DictReader((tmp_path / "snapshots.csv").open()))
    assert [int(r["step"]) for r in rows] == list(range(11))
    assert "wrote 11 snapshots" in capsys.readouterr().out


_CSV_WRITER = csv.writer  # the real one: the tests below replace csv.writer for a while


def _flushing_writer(fh, **kw):
    writer = _CSV_WRITER(fh, **kw)

    class Flushing:
        def writerow(self, row):
            writer.writerow(row)
            fh.flush()

    return Flushing()


def test_a_full_disk_while_streaming_is_one_line_and_leaves_no_partial_file(tmp_path, capsys,
                                                                            monkeypatch):
    from odeprop.core import cli

    class Full:
        def __init__(self, fh, **kw):
            self.rows = 0

        def writerow(self, row):
            self.rows += 1
            if self.rows > 4:
                raise OSError(28, "No space left on device")

    monkeypatch.setattr(cli.csv, "writer", Full)
    code = main(["run", "--preset", "default", "--out", str(tmp_path), "--quiet",
                 "--set", "stop.max_steps=10"])
    captured = capsys.readouterr()
    assert code == 2
    assert "reached the step limit 10" in captured.out  # the run went on and is summarised
    assert captured.err.strip().splitlines() == [
        f"odeprop: error: --out {tmp_path}: could not write the results (No space left on "
        "device)"]
    assert not (tmp_path / "snapshots.csv").exists()
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".snapshots.csv.")]


def test_run_config_file(tmp_path, capsys):
    path = tmp_path / "exp.toml"
    load_preset("critique-bdf-order2").with_changes(solver={"method": "RK45", "max_order": None,
                                                            "jacobian": None}).save(path)
    assert main(["run", str(path), "--quiet", *QUICK]) == 0
    assert "method RK45" in capsys.readouterr().out


def test_every_preset_loads():
    names = preset_names()
    assert {"default", "article-2019", "critique-lsoda", "critique-bdf-order2",
            "owens-filkin-1989"} <= set(names)
    for name in names:
        assert load_preset(name).name


@pytest.mark.parametrize("argv,message", [
    (["run", "/nonexistent/x.toml"], "no such file"),
    (["run", "--preset", "nope"], "no preset named 'nope'"),
    (["run"], "needs a CONFIG.toml or --preset"),
    (["run", "--preset", "default", "--set", "rtol=1"], "write SECTION.KEY=VALUE"),
    (["run", "--preset", "default", "--set", "solver.rtol=-1"], "solver.rtol: must be between"),
    (["run", "--preset", "default", "--set", "solver.method=euler"], "unknown method 'euler'"),
    (["run", "--preset", "default", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("odeprop: error: ") and message in err


def test_unreadable_toml(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[solver\nmethod = 'BDF'\n")
    assert main(["run", str(path)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


def test_console_script_entry_point_lists_methods():
    out = subprocess.run([sys.executable, "-m", "odeprop.core.cli", "methods"],
                         capture_output=True, text=True, check=True).stdout
    assert "cvode-gmres" in out and "zvode-bdf" in out


# -- hostile input: every case one line on stderr and exit code 2, none hanging -------------------
def _read_only_folder(tmp_path):
    """A folder this process cannot write in (as root, a read-only file system's)."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o555)
        return folder
    try:
        tempfile.TemporaryFile(dir="/sys").close()
    except OSError:
        return Path("/sys")
    pytest.skip("running as root, with no read-only folder at hand")


def _csv_experiment(tmp_path, text: str | None = None, path=None, **dataset):
    if path is None:
        path = tmp_path / "data.csv"
        path.write_text(text)
    config = tmp_path / "csv.toml"
    Experiment(dataset=DatasetConfig(kind="csv", csv_path=str(path), target_column="y",
                                     **dataset)).save(config)
    return ["run", str(config), "--quiet"]


def _toml_file(tmp_path, text: str):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    return ["run", str(path)]


def _sparse_toml(tmp_path):
    path = tmp_path / "huge.toml"
    with open(path, "wb") as fh:
        fh.truncate(200_000_000)
    return ["run", str(path)]


def _preset(*settings):
    return lambda tmp_path: ["run", "--preset", "default", "--quiet",
                             *(arg for s in settings for arg in ("--set", s))]


ROWS = "".join(f"{i % 5},{i % 3},{i % 2}\n" for i in range(12))
HOSTILE = {  # id: (argv from tmp_path, the start of the one line on stderr)
    "run --out read-only": (
        lambda t: ["run", "--preset", "default", "--out", str(_read_only_folder(t))],
        "--out {ro}: cannot write in the folder (Permission denied)"),
    "deeply nested toml": (lambda t: _toml_file(t, "a = " + "[" * 5000 + "]" * 5000),
                           "{tmp}/bad.toml: not valid TOML here: arrays or tables are nested "
                           "too deeply"),
    "200 MB toml": (_sparse_toml, "{tmp}/huge.toml: the file is 200.0 MB; experiment and "
                                  "comparison files over 4 MB are refused"),
    "toml fifo": (lambda t: ["run", str(fifo(t, "pipe.toml"))],
                  "{tmp}/pipe.toml: is a named pipe (FIFO), not a TOML file"),
    "negative seed": (_preset("dataset.seed=-1"),
                      "dataset.seed: a seed is a whole number ≥ 0, got -1"),
    "negative init_seed": (_preset("network.init_seed=-1"),
                           "network.init_seed: a seed is a whole number ≥ 0, got -1"),
    "first_step beyond t_end": (
        _preset("solver.method='RK45'", "solver.first_step=10", "stop.t_end=1"),
        "solver.first_step: 10 is longer than the whole flow (stop.t_end = 1)"),
    "tiny t_end": (_preset("stop.t_end=1e-300"),
                   "stop.t_end: must be at least 1e-09 (a shorter flow ends before a solver's "
                   "first step), got 1e-300"),
    "654 M parameters": (_preset("network.hidden=" + str([4096] * 40),
                                 "network.activations='tanh'"),
                         "network.hidden: 654,487,553 parameters need about 5.24 GB for θ "
                         "alone"),
    "100,000 × 10,000 clusters": (
        _preset("dataset.kind='clusters'", "dataset.n_samples=100000",
                "dataset.n_features=10000", "network.loss='softmax_ce'"),
        "dataset.n_features: 100,000 samples × 10,000 features need about 16 GB"),
    "csv fifo": (lambda t: _csv_experiment(t, path=fifo(t, "pipe.csv")),
                 "{tmp}/pipe.csv: is a named pipe (FIFO), not a CSV file"),
    "csv /dev/zero": (lambda t: _csv_experiment(t, path=Path("/dev/zero")),
                      "/dev/zero: is a device, not a CSV file"),
    "csv NUL": (lambda t: _csv_experiment(t, "x1,x2,y\n1,2\0,0\n" + ROWS),
                "data.csv: row 2, column 'x2': a NUL character (\\0) in the cell"),
    "csv 1e308": (lambda t: _csv_experiment(t, "x1,x2,y\n" + ROWS + "1,1e308,0\n2,-1e308,1\n"),
                  "data.csv: column 'x2' holds values as large as 1e+308, too large to "
                  "standardise"),
    "csv huge target": (
        lambda t: _csv_experiment(t, "x1,x2,y\n" + ROWS.replace(",0\n", ",1e200\n", 1),
                                  task="regression")[:2]
        + ["--set", "network.loss='mse'"],
        "dataset: the loss at the initial weights is not finite on data.csv"),
    "csv 10,000 labels": (
        lambda t: _csv_experiment(t, "x1,x2,y\n" + "".join(f"{i},{i},n{i}\n"
                                                           for i in range(10_000)),
                                  test_fraction=0.0),
        "dataset.target_column: column 'y' of data.csv holds 10,000 distinct labels"),
    "csv bad rows": (lambda t: _csv_experiment(t, "x1,x2,y\n1,2,0\n1,x,1\n1,2,0\n1,2\n"),
                     "data.csv: row 3, column 'x2': 'x' is not a number"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_input_is_one_line_and_exit_2(case, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(budget, "memory_limit", lambda: 8 * 10**9)  # a 16 GB machine
    build, message = HOSTILE[case]
    argv = build(tmp_path)
    result = {}
    command = threading.Thread(target=lambda: result.update(code=main(argv)), daemon=True)
    command.start()
    command.join(60)  # a FIFO blocked forever, /dev/zero filled the memory
    assert not command.is_alive(), "the command hangs"
    err = capsys.readouterr().err
    ro = "/sys" if os.geteuid() == 0 else f"{tmp_path}/read-only"
    expected = "odeprop: error: " + message.format(tmp=tmp_path, ro=ro)
    assert result["code"] == 2 and err.count("\n") == 1 and err.startswith(expected), err


def test_compare_out_unwritable_is_refused_before_any_run_starts(tmp_path, capsys,
                                                                 monkeypatch):
    folder = _read_only_folder(tmp_path)

    def no_run(*args, **kwargs):
        raise AssertionError("a run started")

    monkeypatch.setattr(RunProcess, "__init__", no_run)
    assert main(["compare", "--preset", "owens-filkin-xor", "--out", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err == f"odeprop: error: --out {folder}: cannot write in the folder (Permission " \
                  "denied)\n"


def test_a_toml_file_saved_with_a_byte_order_mark_runs(tmp_path, capsys):
    path = tmp_path / "notepad.toml"
    path.write_bytes(b"\xef\xbb\xbf" + load_preset("default").to_toml().encode())
    assert main(["run", str(path), "--quiet", *QUICK]) == 0
    assert "reached the target loss 0.2" in capsys.readouterr().out
