"""The catalogue of bad input: every entry is refused with the message it names, and nothing is
half-applied.

Four tables, one per way in:

- ``TOML``: experiment and comparison files with syntax errors, unknown keys, wrong types,
  out-of-range values and bad sections. Each is opened in the lab (the banner gives the message;
  the experiment or comparison on screen is unchanged) and run from the command line (one line
  on stderr, exit code 2).
- ``CSV``: data files that are empty, ragged, non-numeric, NaN, of one class, without the label
  column, too large… Each is chosen in the lab and refused there (the message stands under the
  CSV field, naming the first bad row; the experiment is unchanged); one whose rows are bad is
  also opened through an experiment that names it (the message under the field, Start refused
  with it) and run from the command line (one line, exit code 2).
- ``BUILDS``: experiments that are valid but cannot be built: too large for memory, a chosen CSV
  file deleted, emptied or given a bad row since. Said beside Start and in the banner, Start
  refused with it, no run begins.
- ``FIELDS``: values typed into the lab's form. The message stands under the field, Start is
  refused with it, and no run begins.
- ``FLAGS``: command-line arguments of ``odeprop``, ``odeprop run`` and ``odeprop compare``:
  one line on stderr, exit code 2.

The engine's own refusal tables (tests/core: test_config, test_datasets, test_cli,
test_comparison) check every message at its source; this catalogue checks that each reaches
the user, whole, by every way in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from odeprop.core import datasets
from odeprop.core.cli import main as cli
from odeprop.core.config import Experiment
from odeprop.core.presets import default_experiment
from odeprop.core.run import Problem


@dataclass(frozen=True)
class Bad:
    """One bad input: what it is, the input, and the message the user must see (a regex)."""

    what: str
    text: str
    message: str
    kind: str = ""  # TOML: "comparison" for a comparison file; CSV: "load" or "start"
    extra: object = None  # CSV: settings of the experiment; FIELDS: (method, widget)


def ids(table):
    return [case.what for case in table]


# -- TOML files --------------------------------------------------------------------------------
RUN = "[[runs]]\nlabel = '{0}'\n[runs.solver]\nmethod = '{1}'\n"

TOML = [
    Bad("syntax: unclosed table header", "[solver\nmethod = 'RK45'\n",
        r"not valid TOML: Expected '\]' at the end of a table declaration \(at line 1, "
        r"column 8\)"),
    Bad("syntax: a key given twice", "[solver]\nrtol = 1e-3\nrtol = 1e-4\n",
        r"not valid TOML: Cannot overwrite a value \(at line 3, column 12\)"),
    Bad("syntax: a value missing", "name = \n", r"not valid TOML: Invalid value"),
    Bad("unknown section", "[solvr]\nmethod = 'RK45'\n",
        r"solvr: unknown key in the top level; allowed: name, description, dataset, network, "
        r"solver, stop, probe"),
    Bad("unknown key in a section", "[solver]\nmethd = 'RK45'\n",
        r"solver\.methd: unknown key in \[solver\]; allowed: method, rtol, atol, "),
    Bad("wrong type: text for a number", "[solver]\nrtol = 'tight'\n",
        r"solver\.rtol: must be a number, got 'tight'"),
    Bad("wrong type: text for a list", "[network]\nhidden = 'eight'\n",
        r"network\.hidden: must be a list, got 'eight'"),
    Bad("wrong type: true for an integer", "[dataset]\nn_samples = true\n",
        r"dataset\.n_samples: must be an integer, got True"),
    Bad("wrong type: a section that is a number", "solver = 3\n",
        r"solver: must be a table \(\[solver\]\), got 3"),
    Bad("out of range: negative sample count", "[dataset]\nn_samples = -5\n",
        r"dataset\.n_samples: must be between 4 and 100000, got -5"),
    Bad("out of range: test fraction 1.5", "[dataset]\ntest_fraction = 1.5\n",
        r"dataset\.test_fraction: must be at least 0 and below 1, got 1\.5"),
    Bad("out of range: rtol nan", "[solver]\nrtol = nan\n",
        r"solver\.rtol: must be between 1e-14 and 0\.5, got nan"),
    Bad("out of range: infinite learning rate", "[solver]\nmethod = 'gd'\nlearning_rate = inf\n",
        r"solver\.learning_rate: must be a positive number, got inf"),
    Bad("unknown method", "[solver]\nmethod = 'RK99'\n",
        r"solver\.method: unknown method 'RK99'; choose one of RK23, RK45, "),
    Bad("unknown activation", "[network]\nactivations = ['swish']\n",
        r"network\.activations\[0\]: unknown activation 'swish'; choose one of tanh, sigmoid"),
    Bad("one activation too many", "[network]\nhidden = [4, 4]\n"
        "activations = ['tanh', 'relu', 'relu']\n",
        r"network\.activations: give one activation per hidden layer \(2\), got 3"),
    Bad("csv data without a file", "[dataset]\nkind = 'csv'\n",
        r"dataset\.csv_path: a CSV dataset needs a file path"),
    Bad("missing keys in a schedule phase", "[solver]\nschedule = [{rtol = 1e-2}]\n",
        r"solver\.schedule\[0\]: missing keys: until_loss, atol"),
    Bad("a comparison where an experiment is wanted", RUN.format("a", "RK45"),
        r"a comparison \(it has \[\[runs\]\]\), not an experiment; (open it with File ▸ Open "
        r"comparison…|run it with: odeprop compare .*bad\.toml)"),
    Bad("comparison: missing [[runs]] section", "name = 'no runs'\n[stop]\nt_end = 5.0\n",
        r"an experiment \(it has no \[\[runs\]\]\), not a comparison; (open it with File ▸ "
        r"Open experiment…|run it with: odeprop run .*bad\.toml)", "comparison"),
    Bad("comparison: an empty runs list", "runs = []\n",
        r"runs: a comparison holds 1 to 8 runs, got 0", "comparison"),
    Bad("comparison: two runs with one label", RUN.format("a", "RK45") + RUN.format("a", "BDF"),
        r"runs\.label: labels must differ; repeated: a", "comparison"),
    Bad("comparison: unknown target kind",
        RUN.format("a", "RK45") + "[[targets]]\nkind = 'speed'\nvalue = 1\n",
        r"targets\.kind: choose one of loss, accuracy, rms, got 'speed'", "comparison"),
    Bad("comparison: nine runs", "".join(RUN.format(f"r{i}", "RK45") for i in range(9)),
        r"runs: a comparison holds 1 to 8 runs, got 9", "comparison"),
    Bad("comparison: a run's unknown method", RUN.format("a", "RK99"),
        r"runs\[0\]: solver\.method: unknown method 'RK99'", "comparison"),
]


@pytest.fixture(scope="module")
def lab(qapp, tmp_path_factory):
    """One lab window for the catalogue (each case leaves it as it found it, or resets it)."""
    from odeprop.gui.lab.main_window import MainWindow

    path = tmp_path_factory.mktemp("catalogue") / "settings.ini"
    win = MainWindow(settings=QSettings(str(path), QSettings.Format.IniFormat), persist=False,
                     restore=False, offer_recovery=False)
    win.show()
    yield win
    win.close()


@pytest.fixture(scope="module")
def workspace(qapp, tmp_path_factory):
    from odeprop.gui.comparison.window import ComparisonWindow

    path = tmp_path_factory.mktemp("catalogue") / "cmp.ini"
    win = ComparisonWindow(settings=QSettings(str(path), QSettings.Format.IniFormat),
                           persist=False, restore=False)
    win.show()
    yield win
    win.close()


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, however long the message
    return err.rstrip("\n")


@pytest.mark.parametrize("case", TOML, ids=ids(TOML))
def test_toml(case, lab, workspace, tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(case.text, encoding="utf-8")
    expected = re.escape(f"{path}: ") + case.message
    if case.kind == "comparison":
        before = workspace.comparison()
        assert not workspace.open_comparison(path)
        assert re.match("Cannot open the comparison: " + expected, workspace.banner.text())
        assert workspace.comparison() == before  # nothing half-applied
        assert cli(["compare", str(path)]) == 2
    else:
        lab.set_experiment(default_experiment().with_changes(name="before"))
        before = lab.experiment()
        assert not lab.open_experiment(path)
        assert re.match("Cannot open the experiment: " + expected, lab.banner.text())
        assert lab.banner.property("kind") == "error"
        assert lab.experiment() == before and lab.current_path != path  # nothing half-applied
        assert cli(["run", str(path)]) == 2
    assert re.match("odeprop: error: " + expected, one_line(capsys))


# -- CSV files ---------------------------------------------------------------------------------
GOOD_ROWS = "".join(f"{i},{i % 3},{'ab'[i % 2]}\n" for i in range(12))

CSV = [
    Bad("empty file", "", r"data\.csv: the file is empty", "load"),
    Bad("blank lines only", "\n \n\n", r"data\.csv: the file is empty", "load"),
    Bad("not UTF-8", "x,label\n1,caf\xe9\n", r"data\.csv: not UTF-8 text; save it as a UTF-8 "
        r"CSV file", "load"),
    Bad("a column name given twice", "x,label,x\n1,a,2\n",
        r"data\.csv: column 'x' appears twice in the header \(columns 1 and 3\)", "load"),
    Bad("no such file", None, r"nowhere\.csv: no such file", "load"),
    Bad("a folder, not a file", "folder", r": is a folder, not a CSV file", "load"),
    Bad("huge file (over the size limit)", "x1,x2,label\n" + GOOD_ROWS * 200,
        r"data\.csv: the file is 0\.0 MB; files over 0\.001 MB are refused", "load",
        {"MAX_CSV_BYTES": 1_000}),
    Bad("huge file (over the row limit)", "x1,x2,label\n" + GOOD_ROWS * 10,
        r"data\.csv: more than 100 data rows; larger files are refused", "start",
        {"MAX_CSV_ROWS": 100}),
    Bad("only a header", "x1,x2,label\n", r"data\.csv: no data rows, only a header", "start"),
    Bad("ragged: a row too short", "x1,x2,label\n" + GOOD_ROWS + "1,2\n",
        r"data\.csv: row 14 has 2 cells, the header has 3", "start"),
    Bad("ragged: a row too long", "x1,x2,label\n1,2,a,9\n" + GOOD_ROWS,
        r"data\.csv: row 2 has 4 cells, the header has 3", "start"),
    Bad("non-numeric feature", "x1,x2,label\n" + GOOD_ROWS + "1,oops,a\n",
        r"data\.csv: row 14, column 'x2': 'oops' is not a number", "start"),
    Bad("NaN feature", "x1,x2,label\n1,nan,a\n" + GOOD_ROWS,
        r"data\.csv: row 2, column 'x2': 'nan' is not a finite number", "start"),
    Bad("infinite feature", "x1,x2,label\n" + GOOD_ROWS + "-inf,2,b\n",
        r"data\.csv: row 14, column 'x1': '-inf' is not a finite number", "start"),
    Bad("empty cell", "x1,x2,label\n" + GOOD_ROWS + "1,,b\n",
        r"data\.csv: row 14, column 'x2': empty cell", "start"),
    Bad("one class only", "x1,x2,label\n" + "".join(f"{i},{i},a\n" for i in range(8)),
        r"data\.csv: column 'label' has a single class 'a'; classification needs at least 2",
        "start"),
    Bad("too few rows", "x1,x2,label\n1,2,a\n2,3,b\n3,4,a\n",
        r"data\.csv: 3 data rows; at least 4 are needed", "start"),
    Bad("a class of one row with a test split", "x1,x2,label\n" + GOOD_ROWS + "5,5,c\n",
        r"data\.csv: class 'c' of column 'label' has only 1 row; each class needs at least 2",
        "start"),
    Bad("only the label column", "label\na\nb\na\nb\n",
        r"data\.csv: no feature columns; the file has only the target column 'label'", "start"),
    Bad("a label column that does not exist", "x1,x2,label\n" + GOOD_ROWS,
        r"data\.csv: column 'species' not found; columns are: x1, x2, label", "start",
        {"target_column": "species"}),
    Bad("regression target not numeric", "x,y\n1,0.5\n2,1.5\n3,high\n4,2.5\n",
        r"data\.csv: row 4, column 'y': 'high' is not a number \(a regression target must be "
        r"numeric\)", "start", {"target_column": "y", "task": "regression"}),
]


def write_csv(case: Bad, tmp_path: Path) -> Path:
    if case.text is None:
        return tmp_path / "nowhere.csv"
    if case.text == "folder":
        (tmp_path / "folder.csv").mkdir()
        return tmp_path / "folder.csv"
    path = tmp_path / "data.csv"
    if "\xe9" in case.text:
        path.write_bytes(case.text.encode("latin-1"))
    else:
        path.write_text(case.text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case", CSV, ids=ids(CSV))
def test_csv(case, lab, tmp_path, monkeypatch, capsys):
    settings = {"target_column": "label", **(case.extra or {})}
    for limit in ("MAX_CSV_BYTES", "MAX_CSV_ROWS"):
        if limit in settings:
            monkeypatch.setattr(datasets, limit, settings.pop(limit))
    path = write_csv(case, tmp_path)
    lab.set_experiment(default_experiment().with_changes(name="before"))
    before = lab.experiment()
    panel = lab.config_panel
    if not (case.extra and "target_column" in case.extra):  # chosen in the form: refused then
        message = panel.load_csv(str(path))
        assert re.search(case.message, message)
        assert re.search(case.message, panel.message("dataset.csv_path"))  # under the field
        assert lab.experiment() == before  # nothing half-applied: the data is as it was
    if case.kind == "start":  # named by an experiment file: refused before any run begins
        lab.set_experiment(before.with_changes(dataset={"kind": "csv", "csv_path": str(path),
                                                        **settings}))
        assert lab.experiment().dataset.csv_path == str(path)
        assert re.search(case.message, panel.message("dataset.csv_path"))  # on opening
        assert re.search(case.message, lab.controls.blocker.text())  # beside Start
        assert not lab.controls.start_action.isEnabled()
        assert not lab.start()
        assert re.search("Cannot start: the data cannot be loaded: .*" + case.message,
                         lab.banner.text())
        assert lab.session is None and lab.state == "idle"  # no run began
        if "not found" in case.message:
            assert re.search(case.message, panel.message("dataset.target_column"))
    toml = tmp_path / "exp.toml"
    before.with_changes(dataset={"kind": "csv", "csv_path": str(path),
                                 **settings}).save(toml)
    assert cli(["run", str(toml)]) == 2
    assert re.match("odeprop: error: .*" + case.message, one_line(capsys))


# -- experiments that are valid but cannot be built (the lab builds off its GUI thread) ---------
BUILDS = [
    Bad("too large for memory", "memory",
        r"the experiment does not fit in memory \(the 'moons' data, hidden layers \[16, 16\]\): "
        r"make dataset\.n_samples, dataset\.n_features or network\.hidden smaller"),
    Bad("a chosen CSV file deleted", "deleted",
        r"the data cannot be loaded: .*data\.csv: no such file"),
    Bad("a chosen CSV file emptied", "emptied",
        r"the data cannot be loaded: data\.csv: the file is empty"),
    Bad("a chosen CSV file given a bad row", "bad row",
        r"the data cannot be loaded: data\.csv: row 14, column 'x2': 'oops' is not a number"),
]


@pytest.mark.parametrize("case", BUILDS, ids=ids(BUILDS))
def test_build(case, lab, tmp_path, monkeypatch):
    """Said beside Start and in the banner once the form's experiment is built, Start refused
    with it, no run and no traceback; mending it clears the blocker."""
    lab.set_experiment(default_experiment())
    path = tmp_path / "data.csv"
    path.write_text("x1,x2,label\n" + GOOD_ROWS)
    if case.text == "memory":
        def out_of_memory(cls, experiment):
            raise MemoryError
        monkeypatch.setattr(Problem, "build", classmethod(out_of_memory))
        lab.config_panel.data_seed.setValue(3)  # other data: built anew
    else:
        assert lab.config_panel.load_csv(str(path)) is None  # a good file, chosen
        if case.text == "deleted":
            path.unlink()
        else:
            path.write_text("" if case.text == "emptied" else
                            "x1,x2,label\n" + GOOD_ROWS + "1,oops,a\n")
    lab._preview_problem()  # as the form's debounced preview does
    assert re.fullmatch("Cannot start: " + case.message, lab.controls.blocker.text())
    assert not lab.controls.start_action.isEnabled()
    assert re.fullmatch(case.message, lab.banner.text()[0].lower() + lab.banner.text()[1:])
    assert not lab.start() and lab.session is None and lab.state == "idle"
    assert re.fullmatch("Cannot start: " + case.message, lab.banner.text())
    monkeypatch.undo()
    lab.set_experiment(default_experiment())
    assert lab.controls.blocker.text() == "" and lab.controls.start_action.isEnabled()


# -- values typed into the form ----------------------------------------------------------------
FIELDS = [
    Bad("rtol above 0.5", "2", r"solver\.rtol: must be between 1e-14 and 0\.5, got 2\.0", "",
        ("RK45", "rtol")),
    Bad("atol not a number", "tiny", r"solver\.atol: 'tiny' is not a number", "",
        ("RK45", "atol")),
    Bad("first step zero", "0", r"solver\.first_step: must be a positive number, got 0\.0", "",
        ("RK45", "first_step")),
    Bad("max step negative", "-1",
        r"solver\.max_step: must be positive \(inf for no limit\), got -1\.0", "",
        ("RK45", "max_step")),
    Bad("learning rate not a number", "fast", r"solver\.learning_rate: 'fast' is not a number",
        "", ("gd", "learning_rate")),
    Bad("learning rate zero", "0", r"solver\.learning_rate: must be a positive number, got 0\.0",
        "", ("gd", "learning_rate")),
    Bad("momentum of 1.5", "1.5", r"solver\.momentum: must be in \[0, 1\), got 1\.5",
        "", ("momentum", "momentum")),
    Bad("Adam's beta1 of 1", "1", r"solver\.beta1: must be in \[0, 1\), got 1\.0", "",
        ("adam", "beta1")),
    Bad("t_end left empty", "", r"stop\.t_end: give a value", "", ("RK45", "t_end")),
    Bad("t_end negative", "-5", r"stop\.t_end: must be a positive number, got -5\.0", "",
        ("RK45", "t_end")),
    Bad("target accuracy above 1", "1.5",
        r"stop\.target_accuracy: must be a fraction in \(0, 1\], got 1\.5", "",
        ("RK45", "target_accuracy")),
    Bad("step limit not whole", "2.5", r"stop\.max_steps: '2\.5' is not a whole number", "",
        ("RK45", "max_steps")),
    Bad("wall-time limit as a word", "soon", r"stop\.max_wall_time: 'soon' is not a number", "",
        ("RK45", "max_wall_time")),
    Bad("noise negative", "-1", r"dataset\.noise: must be between 0 and 10, got -1\.0", "",
        ("RK45", "noise")),
    Bad("L2 not a number", "abc", r"network\.l2: 'abc' is not a number", "", ("RK45", "l2")),
    Bad("probe interval zero", "0",
        r"probe\.stiffness_every_dt: must be a positive number, got 0\.0", "",
        ("RK45", "stiffness_every_dt")),
    Bad("probe budget negative", "-0.5",
        r"probe\.stiffness_budget: must be a fraction ≥ 0 \(0: no limit\), got -0\.5", "",
        ("RK45", "stiffness_budget")),
    Bad("no hidden layer", None, r"network\.hidden: add at least one hidden layer", "",
        ("RK45", "layers")),
]


@pytest.mark.parametrize("case", FIELDS, ids=ids(FIELDS))
def test_field(case, lab, qtbot):
    method, attr = case.extra
    lab.set_experiment(default_experiment().with_changes(solver={"method": method}))
    panel = lab.config_panel
    name = next(n for n, w in panel.fields.items()
                if w is getattr(panel, attr) or getattr(w, "edit", None) is getattr(panel, attr))
    widget = getattr(panel, attr)
    if attr == "layers":
        for entry in list(widget.rows):
            widget.remove_layer(entry)
    else:
        edit = getattr(widget, "edit", widget)
        edit.selectAll()
        qtbot.keyClick(edit, Qt.Key.Key_Backspace)
        qtbot.keyClicks(edit, case.text)
    assert re.fullmatch(case.message, panel.message(name))  # under the field
    assert panel.fields[name].property("invalid")  # and the field outlined
    assert re.fullmatch("Cannot start: " + case.message, lab.controls.blocker.text())
    assert not lab.controls.start_action.isEnabled()
    assert not lab.start() and lab.session is None  # no run begins
    assert re.fullmatch("Cannot start: " + case.message, lab.banner.text())
    panel.set_experiment(default_experiment())  # (the form only: no preview of the data)
    assert panel.message(name) == "" and lab.controls.start_action.isEnabled()


# -- command-line flags ------------------------------------------------------------------------
FLAGS = [
    Bad("lab: --run-for not a number", "--run-for soon",
        r"odeprop: argument --run-for: invalid float value: 'soon'"),
    Bad("lab: --run-for negative", "--run-for -1 --screenshot x.png",
        r"odeprop: --run-for must be zero or more seconds"),
    Bad("lab: an unknown option", "--fullscreen", r"odeprop: unrecognized arguments: "
        r"--fullscreen"),
    Bad("lab: --replay-at beyond the run", "--replay-at 1.5 --screenshot x.png",
        r"odeprop: --replay-at must be a fraction from 0 to 1, got 1\.5"),
    Bad("run: a pace of no time", "run --preset default --pace 0",
        r"odeprop: error: --pace: must be a positive number of seconds, got 0"),
    Bad("lab: a missing experiment file", "/no/such/experiment.toml",
        r"odeprop: /no/such/experiment\.toml: no such file"),
    Bad("run: neither file nor preset", "run",
        r"odeprop: error: run needs a CONFIG\.toml or --preset NAME"),
    Bad("run: a file and a preset", "run x.toml --preset default",
        r"odeprop: error: argument --preset: not allowed with argument config"),
    Bad("run: an unknown preset", "run --preset nope",
        r"odeprop: error: no preset named 'nope'; they are: "),
    Bad("run: --set without a section", "run --preset default --set rtol=1",
        r"odeprop: error: --set 'rtol=1': write SECTION\.KEY=VALUE, e\.g\. solver\.rtol=1e-2"),
    Bad("run: --set an unknown section", "run --preset default --set solvr.rtol=1",
        r"odeprop: error: --set 'solvr\.rtol=1': write SECTION\.KEY=VALUE"),
    Bad("run: --set an out-of-range value", "run --preset default --set solver.rtol=9",
        r"odeprop: error: solver\.rtol: must be between 1e-14 and 0\.5, got 9\.0"),
    Bad("run: --set an unknown key", "run --preset default --set solver.speed=2",
        r"odeprop: error: solver\.speed: unknown key in \[solver\]"),
    Bad("run: --out under a file", "run --preset default --out {file}/out",
        r"odeprop: error: --out .*/file/out: cannot create the folder \(Not a directory\)"),
    Bad("run: an unknown option", "run --preset default --bogus",
        r"odeprop: error: unrecognized arguments: --bogus"),
    Bad("compare: --parallel 0", "compare --preset article-and-critique --parallel 0",
        r"odeprop: error: --parallel must be at least 1"),
    Bad("compare: --parallel not a number", "compare --parallel two",
        r"odeprop: error: argument --parallel: invalid int value: 'two'"),
    Bad("compare: an unknown preset", "compare --preset nope",
        r"odeprop: error: no comparison preset named 'nope'"),
    Bad("compare: an experiment, not a comparison", "compare {experiment}",
        r"odeprop: error: .*exp\.toml: an experiment \(it has no \[\[runs\]\]\), not a "
        r"comparison; run it with: odeprop run .*exp\.toml"),
    Bad("run: a comparison, not an experiment", "run {comparison}",
        r"odeprop: error: .*cmp\.toml: a comparison \(it has \[\[runs\]\]\), not an "
        r"experiment; run it with: odeprop compare .*cmp\.toml"),
    Bad("an unknown subcommand option", "presets --all",
        r"odeprop: error: unrecognized arguments: --all"),
]


@pytest.mark.parametrize("case", FLAGS, ids=ids(FLAGS))
def test_flag(case, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    Experiment().save(tmp_path / "exp.toml")
    (tmp_path / "cmp.toml").write_text(RUN.format("a", "RK45"))
    argv = case.text.format(file=tmp_path / "file", experiment=tmp_path / "exp.toml",
                            comparison=tmp_path / "cmp.toml").split()
    assert cli(argv) == 2
    assert re.fullmatch(case.message + ".*", one_line(capsys))


def test_the_catalogue_is_at_least_forty_entries_in_four_categories():
    sizes = {"TOML": len(TOML), "CSV": len(CSV), "fields": len(FIELDS), "flags": len(FLAGS)}
    assert all(n >= 8 for n in sizes.values()) and sum(sizes.values()) >= 40, sizes
    for table in (TOML, CSV, BUILDS, FIELDS, FLAGS):
        assert len(set(ids(table))) == len(table)  # each a different fault
