"""Guided lessons: a title, a one-paragraph summary and ordered steps, each loading an experiment
or a comparison, saying what to show and how to run it, with an optional question and a check.

A lesson is a TOML document like an experiment (same size limit, byte-order mark and one-line
errors), validated when built: a bad step is refused naming its index and field
(``steps[3].loads: no preset named 'foo'; …``). ``steps[0]`` is the first step::

    title = "Gradient descent is explicit Euler"
    summary = "One paragraph: what the class will see."

    [[steps]]
    title = "A step of η"
    text = "Gradient descent moves θ by −η·∇L(θ): explicit Euler with h = η."
    loads = "default"                      # a shipped experiment or comparison, or a file
    changes = ["solver.method=gd", "solver.learning_rate=0.5", "stop.t_end=100"]
    show = { plots = ["loss", "h", "hlam"], large = "hlam", tab = "data", x_axis = "t" }
    run = { to_target = false }            # to_time, paced_seconds, replay_to
    question = "What is h at every step?"
    answer = "η = 0.5."
    check = { kind = "fixed_step" }        # see odeprop.core.lesson_checks.CHECKS

A step without ``loads`` takes the previous step's document (after its ``changes``, before its
``run``) and applies its own ``changes`` to it. Files are found relative to the lesson's folder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from .comparison import Comparison, is_comparison
from .config import (
    MIN_T_END,
    Experiment,
    TomlDocument,
    _build,
    _check,
    apply_settings,
    read_toml,
)
from .lesson_checks import CHECKS, Check, check_problem
from .presets import comparison_names, load_comparison, load_preset, preset_names

_LESSONS = "odeprop.resources.lessons"
#: The plots a step may name: the lab's and the comparison workspace's (``flow``: distance from
#: the reference flow, in the comparison workspace only).
PLOTS = ("loss", "metric", "h", "lambda", "hlam", "work", "order", "flow")
#: What the x axis of every plot counts: ODE time, solver steps, gradient evaluations, wall time.
X_AXES = ("t", "step", "n_grad", "wall")
#: The tab beside the plots: the data view or the network view.
TABS = ("data", "network")
MAX_TITLE = 80
MAX_TEXT = 1200  # a few sentences: a step's text must fit the lesson panel in large type
MAX_SUMMARY = 1500
MAX_STEPS = 50
MAX_PACE = 3600.0  # seconds

Document = Experiment | Comparison


@dataclass(frozen=True)
class StepView:
    """What a step shows: which plots (none named: all), which one large, the stiffness lens,
    the data or network tab, the x axis and a logarithmic x axis."""

    plots: tuple[str, ...] = ()
    large: str = ""
    lens: bool = False
    tab: str = ""
    x_axis: str = ""
    log_x: bool = False


@dataclass(frozen=True)
class StepRun:
    """How a step runs: to the experiment's targets (or, ``to_target = false``, past them to
    t_end), to ODE time ``to_time``, spread over ``paced_seconds`` of wall time, and replayed to
    the fraction ``replay_to`` of the run when it ends. Pace and replay are the window's: the
    engine runs to the end headless."""

    to_target: bool = True
    to_time: float | None = None
    paced_seconds: float | None = None
    replay_to: float | None = None


@dataclass(frozen=True)
class LessonStep:
    """One step: its words, what it loads, shows and runs, a question and a check."""

    title: str
    text: str
    loads: str = ""
    changes: tuple[str, ...] = ()
    show: StepView = field(default_factory=StepView)
    run: StepRun = field(default_factory=StepRun)
    question: str = ""
    answer: str = ""
    check: Check | None = None


@dataclass(frozen=True)
class Lesson(TomlDocument):
    """A guided lesson; ``folder`` (not saved) is where its files are found."""

    title: str
    summary: str
    steps: tuple[LessonStep, ...]
    folder: str = field(default="", compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "steps", tuple(self.steps))
        _text(self.title, "title", MAX_TITLE)
        _text(self.summary, "summary", MAX_SUMMARY)
        _check("\n\n" not in self.summary.strip(), "summary",
               "one paragraph, without a blank line")
        _check(1 <= len(self.steps) <= MAX_STEPS, "steps",
               f"a lesson has 1 to {MAX_STEPS} steps ([[steps]] tables), got {len(self.steps)}")
        documents = []
        for i, step in enumerate(self.steps):
            documents.append(self._document(i, step, documents[-1] if documents else None))
            _check_step(step, f"steps[{i}]", documents[-1])
        object.__setattr__(self, "_documents", tuple(documents))

    def _document(self, i: int, step: LessonStep, previous: Document | None) -> Document:
        name = f"steps[{i}]"
        if step.loads:
            document = _resolve(step.loads, self.folder, f"{name}.loads")
        else:
            _check(previous is not None, f"{name}.loads",
                   "the first step must load an experiment or a comparison (a preset's name "
                   "or a file)")
            document = previous
        try:
            return apply_settings(document, step.changes) if step.changes else document
        except ValueError as exc:
            raise ValueError(f"{name}.changes: {exc}") from None

    # -- what each step runs ---------------------------------------------------------------
    def document(self, index: int) -> Document:
        """The experiment or comparison step ``index`` loads (its ``changes`` applied)."""
        return self._documents[index]

    def run_document(self, index: int) -> Document:
        """What step ``index`` runs: its document with the step's ``run`` applied (``to_time``
        as stop.t_end; ``to_target = false`` drops the stop's targets)."""
        document, plan = self._documents[index], self.steps[index].run
        stop = document.stop
        if plan.to_time is not None:
            stop = replace(stop, t_end=plan.to_time)
        if not plan.to_target:
            stop = replace(stop, target_loss=None, target_accuracy=None, target_rms=None)
        return document if stop == document.stop else replace(document, stop=stop)

    # -- files -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = super().to_dict()
        data.pop("folder")
        return data

    @classmethod
    def from_dict(cls, data: dict, folder: str | Path = ""):
        _check("folder" not in data, "folder",
               "unknown key in the top level; allowed: title, summary, steps")
        missing = [key for key in ("title", "summary", "steps") if key not in data]
        _check(not missing, missing[0] if missing else "",
               "missing: a lesson has a title, a summary and [[steps]] tables")
        return _build(cls, {**data, "folder": str(folder)}, "")

    @classmethod
    def load(cls, path: str | Path) -> Lesson:
        data = read_toml(path)
        try:
            return cls.from_dict(data, Path(path).parent)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None


def step_alone(lesson: Lesson, index: int) -> Lesson:
    """Step ``index`` as a lesson of its own (to share it: the clipboard holds no folder): it
    loads what the nearest step before it with ``loads`` loaded (a file by its absolute path)
    with every ``changes`` from there, so it runs the same document."""
    first = max(k for k in range(index + 1) if lesson.steps[k].loads)
    loads = lesson.steps[first].loads
    if loads.endswith(".toml") or "/" in loads or "\\" in loads:
        loads = str((Path(lesson.folder or ".") / loads).resolve())
    changes = tuple(c for step in lesson.steps[first:index + 1] for c in step.changes)
    step = replace(lesson.steps[index], loads=loads, changes=changes)
    return Lesson(lesson.title, lesson.summary, (step,), lesson.folder)


def append_step(path: str | Path, document: Document, view: StepView = StepView(),
                title: str = "") -> Lesson:
    """Append a step that loads ``document`` (saved beside the lesson as
    ``<lesson>-step-N.toml``) and shows ``view`` to the lesson file at ``path`` (made if
    missing), and save it: how a teacher writes a lesson from the window. Returns the lesson."""
    path = Path(path)
    lesson = Lesson.load(path) if path.exists() else None
    number = len(lesson.steps) + 1 if lesson else 1
    beside = path.with_name(f"{path.stem}-step-{number}.toml")
    document.save(beside)
    step = LessonStep(title=title or f"Step {number}: {document.name}"[:MAX_TITLE],
                      text="What this step shows: say it in a few sentences.",
                      loads=beside.name, show=view)
    if lesson is None:
        lesson = Lesson(title=f"A lesson on {document.name}"[:MAX_TITLE],
                        summary="What the class will see, in one paragraph.", steps=(step,),
                        folder=str(path.parent))
    else:
        lesson = replace(lesson, steps=(*lesson.steps, step))
    lesson.save(path)
    return lesson


def _text(value: str, name: str, limit: int) -> None:
    _check(bool(value.strip()), name, "must not be empty")
    _check(len(value) <= limit, name,
           f"at most {limit} characters, got {len(value)}: say less, or split it")


def _check_step(step: LessonStep, name: str, document: Document) -> None:
    _text(step.title, f"{name}.title", MAX_TITLE)
    _text(step.text, f"{name}.text", MAX_TEXT)
    view, plan = step.show, step.run
    for j, plot in enumerate(view.plots):
        _check(plot in PLOTS, f"{name}.show.plots[{j}]",
               f"no plot named {plot!r}; choose from {', '.join(PLOTS)}")
    _check(not view.large or view.large in PLOTS, f"{name}.show.large",
           f"no plot named {view.large!r}; choose from {', '.join(PLOTS)}")
    _check(not view.large or not view.plots or view.large in view.plots, f"{name}.show.large",
           f"{view.large!r} is not among the plots this step shows")
    _check(not view.tab or view.tab in TABS, f"{name}.show.tab",
           f"choose {' or '.join(TABS)}, got {view.tab!r}")
    _check(not view.x_axis or view.x_axis in X_AXES, f"{name}.show.x_axis",
           f"choose one of {', '.join(X_AXES)}, got {view.x_axis!r}")
    if plan.to_time is not None:
        _check(math.isfinite(plan.to_time) and plan.to_time >= MIN_T_END, f"{name}.run.to_time",
               f"must be an ODE time of at least {MIN_T_END:g}, got {plan.to_time!r}")
    if plan.paced_seconds is not None:
        _check(0 < plan.paced_seconds <= MAX_PACE, f"{name}.run.paced_seconds",
               f"must be between 0 and {MAX_PACE:g} seconds, got {plan.paced_seconds!r}")
    if plan.replay_to is not None:
        _check(0 <= plan.replay_to <= 1, f"{name}.run.replay_to",
               f"a fraction of the run, from 0 to 1, got {plan.replay_to!r}")
    _check(bool(step.question.strip()) == bool(step.answer.strip()),
           f"{name}.{'answer' if step.question.strip() else 'question'}",
           "a question needs its answer, and an answer its question")
    if step.check is not None:
        problem = check_problem(step.check, document)
        _check(problem is None, f"{name}.check.{problem[0]}" if problem else name,
               problem[1] if problem else "")


def _resolve(loads: str, folder: str, name: str) -> Document:
    """A shipped preset by name, or a file (``.toml``) relative to ``folder``."""
    if loads.endswith(".toml") or "/" in loads or "\\" in loads:
        path = Path(folder or ".") / loads
        try:
            data = read_toml(path)  # the message names the file
            return (Comparison if is_comparison(data) else Experiment).from_dict(data)
        except ValueError as exc:
            text = str(exc)
            raise ValueError(f"{name}: {text if text.startswith(str(path)) else f'{path}: {text}'}"
                             ) from None
    if loads in preset_names():
        return load_preset(loads)
    if loads in comparison_names():
        return load_comparison(loads)
    raise ValueError(f"{name}: no preset named {loads!r}; the experiments are "
                     f"{', '.join(preset_names())}; the comparisons are "
                     f"{', '.join(comparison_names())}; or give a file ending in .toml")


def lesson_names() -> list[str]:
    """The shipped lessons, by file name (without .toml)."""
    return sorted(p.name[:-5] for p in resources.files(_LESSONS).iterdir()
                  if p.name.endswith(".toml"))


def load_lesson(name_or_path: str | Path) -> Lesson:
    """A shipped lesson by name, or a lesson file; ValueError lists the shipped ones."""
    text = str(name_or_path)
    if text in lesson_names():
        return Lesson.load(Path(str(resources.files(_LESSONS) / f"{text}.toml")))
    if text.endswith(".toml") or Path(text).is_file():
        return Lesson.load(text)
    raise ValueError(f"no lesson named {text!r}; the shipped ones are "
                     f"{', '.join(lesson_names())} (or give a lesson file)")


__all__ = ["CHECKS", "PLOTS", "TABS", "X_AXES", "Lesson", "LessonStep", "StepRun", "StepView",
           "append_step", "lesson_names", "load_lesson", "step_alone"]
