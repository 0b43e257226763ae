"""Lessons: every shipped lesson loads and every step's check holds when the step is run
headless; every validation message names the step and the field; TOML round trips; the CLI."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from odeprop.core.cli import main
from odeprop.core.config import parse_toml
from odeprop.core.lesson import (
    Lesson,
    StepView,
    append_step,
    lesson_names,
    load_lesson,
    step_alone,
)
from odeprop.core.lesson_checks import CHECKS, Check, evaluate, walk_step
from odeprop.core.presets import load_comparison

SHIPPED = lesson_names()
STEPS = [(name, i) for name in SHIPPED for i in range(len(load_lesson(name).steps))]


_SEEN: dict = {}  # (the document a step runs, with the flow?) → its walk


def _cached_walk(name: str, index: int):
    """A step's runs, shared by the steps that run the same document (a comparison read step
    by step runs once)."""
    lesson = load_lesson(name)
    key = (lesson.run_document(index).to_toml(), CHECKS[lesson.steps[index].check.kind].flow)
    if key not in _SEEN:
        _SEEN[key] = walk_step(lesson, index)
    return _SEEN[key]


def test_at_least_six_lessons_ship_and_every_step_makes_a_check():
    assert len(SHIPPED) >= 6
    for name in SHIPPED:
        lesson = load_lesson(name)
        assert all(step.check is not None for step in lesson.steps), name


@pytest.mark.parametrize("name,index", STEPS, ids=[f"{n}-{i + 1}" for n, i in STEPS])
def test_every_shipped_step_shows_what_its_check_claims(name, index):
    step = load_lesson(name).steps[index]
    result = evaluate(step.check, _cached_walk(name, index))
    assert result.passed, f"{name} step {index + 1} ({step.title}): {result.detail}"


# -- the checks can fail ----------------------------------------------------------------------
QUICK_GD = ["solver.method=gd", "solver.learning_rate=0.5", "stop.t_end=20",
            "probe.stiffness_every=1"]


def _one_step(changes, check: dict, loads: str = "default") -> Lesson:
    return Lesson.from_dict({"title": "t", "summary": "s", "steps": [
        {"title": "a", "text": "b", "loads": loads, "changes": changes, "check": check,
         "run": {"to_target": False}}]})


@pytest.mark.parametrize("changes,check,why", [
    (["solver.method=RK45", "stop.t_end=20"], {"kind": "fixed_step"}, "step 1: h ="),
    (QUICK_GD, {"kind": "h_lambda_on_bound"}, "median 0."),
    (["solver.method=BDF", "stop.t_end=20"], {"kind": "h_lambda_on_bound"},
     "BDF has no stability bound"),
    (QUICK_GD, {"kind": "h_lambda_beyond", "at_least": 2}, "largest h·λmax 0."),
    (QUICK_GD, {"kind": "lambda_rises_to_edge"}, "η·λmax 0.76 → median"),
    (QUICK_GD, {"kind": "flow_distance", "at_least": 0.5}, "from the flow"),
    (QUICK_GD, {"kind": "fd_share", "at_least": 0.1}, "0 of 40 gradient evaluations"),
    (QUICK_GD, {"kind": "matrix_free"}, "0 Hv products"),
    (QUICK_GD, {"kind": "no_negative_curvature_at_end"}, "gd: λmin -0.06"),
])
def test_a_check_fails_when_the_run_does_not_show_its_claim(changes, check, why):
    lesson = _one_step(changes, check)
    result = evaluate(lesson.steps[0].check, walk_step(lesson, 0))
    assert not result.passed and why in result.detail, result.detail


def test_a_comparison_check_fails_when_the_ratio_is_out_of_bounds():
    lesson = load_lesson("05-owens-filkin")
    step = lesson.steps[2]
    outcome = _cached_walk("05-owens-filkin", 2)
    assert evaluate(step.check, outcome).passed  # 2.9×, between 2 and 4
    tighter = replace(step.check, at_most=2.5)
    result = evaluate(tighter, outcome)
    assert not result.passed and "143 against 412 (2.9×)" in result.detail
    swapped = Check("same_steps", run="GD, η 2", than="GD, η 20")
    assert not evaluate(swapped, outcome).passed


# -- what a step runs ----------------------------------------------------------------------------
def _lesson(*steps, **top) -> dict:
    return {"title": "A lesson", "summary": "One paragraph.",
            "steps": [{"title": f"Step {i}", "text": "Words.", **s} for i, s in enumerate(steps)],
            **top}


def test_changes_chain_from_the_previous_step_and_run_plans_do_not():
    lesson = Lesson.from_dict(_lesson(
        {"loads": "default", "changes": ["solver.method=gd"],
         "run": {"to_time": 5.0, "to_target": False}},
        {"changes": ["solver.learning_rate=0.25"]},
        {"loads": "edge-of-stability", "run": {"to_time": 40.0}}))
    first, second = lesson.run_document(0), lesson.run_document(1)
    assert first.stop.t_end == 5.0 and first.stop.target_loss is None
    assert second.solver.method == "gd" and second.solver.learning_rate == 0.25
    assert second.stop.t_end == 10000.0 and second.stop.target_loss == 1e-3  # the preset's
    assert lesson.run_document(2).stop.t_end == 40.0
    assert lesson.document(2).stop.t_end == 400.0


def test_a_step_loads_a_file_beside_the_lesson(tmp_path):
    (tmp_path / "sub").mkdir()
    experiment = load_lesson("01-euler").document(0)
    replace(experiment, name="Mine").save(tmp_path / "sub" / "mine.toml")
    path = tmp_path / "lesson.toml"
    path.write_text('title = "t"\nsummary = "s"\n[[steps]]\ntitle = "a"\ntext = "b"\n'
                    'loads = "sub/mine.toml"\n')
    assert Lesson.load(path).document(0).name == "Mine"
    with pytest.raises(ValueError, match=r"steps\[0\]\.loads: sub/mine\.toml: no such file"):
        Lesson.from_toml(path.read_text())  # no folder: found relative to the working one


def test_every_shipped_lesson_round_trips_through_toml():
    for name in SHIPPED:
        lesson = load_lesson(name)
        again = Lesson.from_dict(parse_toml(lesson.to_toml()), lesson.folder)
        assert again == lesson
        assert [again.run_document(i) for i in range(len(again.steps))] == \
               [lesson.run_document(i) for i in range(len(lesson.steps))]
        assert "folder" not in lesson.to_toml()


# -- every validation message ------------------------------------------------------------------
GOOD = {"loads": "default"}
XOR = {"loads": "owens-filkin-xor"}
BAD = [
    ({"summary": "s", "steps": []}, "title: missing"),
    ({"title": "t", "summary": "s", "steps": [GOOD], "folder": "/"}, "folder: unknown key"),
    (_lesson(GOOD, summary="One.\n\nTwo."), "summary: one paragraph"),
    (_lesson(GOOD, title=" "), "title: must not be empty"),
    (_lesson(), "steps: a lesson has 1 to 50 steps"),
    (_lesson({"loads": "foo"}), "steps[0].loads: no preset named 'foo'; the experiments are "),
    (_lesson({}), "steps[0].loads: the first step must load"),
    (_lesson(GOOD, {"loads": "nowhere.toml"}), "steps[1].loads: nowhere.toml: no such file"),
    (_lesson({**GOOD, "changes": ["rtol=1"]}),
     "steps[0].changes: 'rtol=1': write SECTION.KEY=VALUE"),
    (_lesson({**GOOD, "changes": ["solver.rtol=9"]}),
     "steps[0].changes: solver.rtol: must be between 1e-14 and 0.5"),
    (_lesson({**GOOD, "text": "x" * 1300}), "steps[0].text: at most 1200 characters, got 1300"),
    (_lesson({**GOOD, "title": ""}), "steps[0].title: must not be empty"),
    (_lesson({**GOOD, "colour": "red"}), "steps[0].colour: unknown key in [steps[0]]"),
    (_lesson({**GOOD, "show": {"plots": ["loss", "los"]}}),
     "steps[0].show.plots[1]: no plot named 'los'"),
    (_lesson({**GOOD, "show": {"plots": ["loss"], "large": "h"}}),
     "steps[0].show.large: 'h' is not among the plots"),
    (_lesson({**GOOD, "show": {"tab": "table"}}), "steps[0].show.tab: choose data or network"),
    (_lesson({**GOOD, "show": {"x_axis": "time"}}), "steps[0].show.x_axis: choose one of t, "),
    (_lesson({**GOOD, "run": {"to_time": -1.0}}), "steps[0].run.to_time: must be an ODE time"),
    (_lesson({**GOOD, "run": {"to_target": "yes"}}),
     "steps[0].run.to_target: must be true or false"),
    (_lesson({**GOOD, "run": {"paced_seconds": 0}}),
     "steps[0].run.paced_seconds: must be between 0 and 3600"),
    (_lesson({**GOOD, "run": {"replay_to": 1.5}}), "steps[0].run.replay_to: a fraction"),
    (_lesson({**GOOD, "question": "Why?"}), "steps[0].answer: a question needs its answer"),
    (_lesson({**GOOD, "answer": "So."}), "steps[0].question: a question needs its answer"),
    (_lesson({**GOOD, "check": {"kind": "magic"}}), "steps[0].check.kind: no check named 'magic'"),
    (_lesson({**GOOD, "check": {"tolerance": 0.1}}), "steps[0].check: missing keys: kind"),
    (_lesson({**GOOD, "check": {"kind": "fixed_step", "than": "x"}}),
     "steps[0].check.than: fixed_step takes run, not than"),
    (_lesson({**GOOD, "check": {"kind": "fd_share"}}), "steps[0].check.at_least: fd_share needs"),
    (_lesson({**GOOD, "check": {"kind": "fixed_step", "run": "GD"}}),
     "steps[0].check.run: names a run of a comparison; this step loads an experiment"),
    (_lesson({**XOR, "check": {"kind": "reaches_target"}}),
     "steps[0].check.run: reaches_target needs run (a run's label)"),
    (_lesson({**XOR, "check": {"kind": "reaches_target", "run": "GD"}}),
     "steps[0].check.run: no run labelled 'GD'; the runs are GD, η 2, "),
    (_lesson({**XOR, "check": {"kind": "flow_distance", "run": "GD, η 2", "at_most": 1}}),
     "steps[0].check.kind: flow_distance measures the distance from the flow: give the "
     "comparison a reference"),
    (_lesson(GOOD, {**GOOD, "check": {"kind": "weights_apart", "run": "a", "than": "b"}}),
     "steps[1].check.run: names a run of a comparison"),
]


@pytest.mark.parametrize("data,message", BAD, ids=[m.split(":")[0] + f"-{i}"
                                                   for i, (_, m) in enumerate(BAD)])
def test_a_bad_lesson_is_refused_naming_the_step_and_field(data, message):
    with pytest.raises(ValueError) as info:
        Lesson.from_dict(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_bad_lesson_file_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('\ufefftitle = "t"\nsummary = "s"\n[[steps]]\ntitle = "a"\ntext = "b"\n'
                    'loads = "foo"\n', encoding="utf-8")  # a byte-order mark is accepted
    with pytest.raises(ValueError, match=rf"^{path}: steps\[0\]\.loads: no preset named 'foo'"):
        Lesson.load(path)
    path.write_text("title = \n")
    with pytest.raises(ValueError, match=rf"^{path}: not valid TOML"):
        Lesson.load(path)
    path.write_bytes(b"#" * 4_000_001)
    with pytest.raises(ValueError, match="refused"):
        Lesson.load(path)


# -- the command line --------------------------------------------------------------------------
def test_lessons_lists_every_shipped_lesson_and_the_check_kinds(capsys):
    assert main(["lessons"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SHIPPED)
    assert "Gradient descent is explicit Euler on the gradient flow (4 steps)" in out
    assert main(["lessons", "--checks"]) == 0
    out = capsys.readouterr().out
    assert all(kind in out for kind in CHECKS)


def test_lesson_check_walks_the_steps_one_line_each(capsys):
    assert main(["lesson", "01-euler", "--check", "--step", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("step 1/4  ok    A learning rate is a step size")
    assert "h = η = 0.5 at all 200 steps" in out[0]


def test_lesson_check_exits_1_when_a_check_fails(tmp_path, capsys):
    lesson = Lesson.from_dict(_lesson(
        {**GOOD, "changes": QUICK_GD, "check": {"kind": "fixed_step"}},
        {"changes": ["solver.method=RK45"], "check": {"kind": "fixed_step"}}))
    path = tmp_path / "mine.toml"
    lesson.save(path)
    assert main(["lesson", str(path), "--check"]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("step 1/2  ok") and lines[1].startswith("step 2/2  FAIL")
    assert "1 of 2 step checks failed" in captured.err


def test_lesson_without_check_prints_the_steps(capsys):
    assert main(["lesson", "05-owens-filkin", "--step", "3"]) == 0
    out = capsys.readouterr().out
    assert "3. …and at η = 20" in out and "Q: Is a comparison" in out


@pytest.mark.parametrize("argv,message", [
    (["lesson", "nope"], "no lesson named 'nope'; the shipped ones are 01-euler"),
    (["lesson", "01-euler", "--step", "9"], "--step 9: this lesson has steps 1 to 4"),
    (["lesson"], "the following arguments are required: name"),
])
def test_bad_lesson_input_is_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


# -- sharing and authoring ---------------------------------------------------------------------
def test_a_step_alone_runs_the_same_document_as_in_its_lesson():
    lesson = load_lesson("01-euler")
    for index in range(len(lesson.steps)):
        alone = step_alone(lesson, index)
        again = Lesson.from_toml(alone.to_toml())  # as from the clipboard: no folder
        assert len(again.steps) == 1 and again.steps[0].title == lesson.steps[index].title
        assert again.run_document(0) == lesson.run_document(index)
    files = load_lesson("06-different-minima")
    again = Lesson.from_toml(step_alone(files, 2).to_toml())
    assert again.run_document(0) == files.run_document(2)  # its file by an absolute path


def test_append_step_writes_a_lesson_a_step_at_a_time(tmp_path):
    path = tmp_path / "mine.toml"
    first = load_lesson("01-euler").document(0)
    append_step(path, first, StepView(plots=("loss", "h"), large="h", x_axis="t"))
    lesson = append_step(path, load_comparison("owens-filkin-xor"), StepView(lens=False))
    assert (tmp_path / "mine-step-1.toml").is_file() and (tmp_path / "mine-step-2.toml").is_file()
    again = Lesson.load(path)
    assert again == lesson and len(again.steps) == 2
    assert again.document(0) == first and again.steps[0].show.large == "h"
    assert again.document(1).name == load_comparison("owens-filkin-xor").name


def test_the_readme_s_example_lesson_passes_its_checks(tmp_path, capsys):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index('title = "A learning rate is a step size"')
    path = tmp_path / "example.toml"
    path.write_text(readme[start:readme.index("```", start)], encoding="utf-8")
    assert main(["lesson", str(path), "--check"]) == 0
    assert capsys.readouterr().out.count("  ok  ") == 2
