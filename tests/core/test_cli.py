"""The headless command line: runs, outputs and one-line refusals with exit code 2."""

import csv
import json
import subprocess
import sys

import pytest

from odeprop.core.cli import main
from odeprop.core.presets import load_preset, preset_names

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
