"""The lesson panel in the real windows (offscreen): every shipped lesson's steps load what they
say, the keys walk the lesson, the answer is revealed on a key, leaving restores the user's
experiment; the clipboard and dropped files open documents; a step is saved as a lesson step."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from odeprop.core.comparison import Comparison
from odeprop.core.config import Experiment, parse_toml
from odeprop.core.lesson import Lesson, lesson_names, load_lesson
from odeprop.core.presets import load_comparison
from odeprop.gui.classroom.lesson_driver import model_tabs_of
from odeprop.gui.classroom.lesson_panel import BASE_POINTS

MINE = Experiment().with_changes(solver={"method": "RK45", "rtol": 1e-3, "atol": 1e-3},
                                 stop={"t_end": 50.0})


def _runs(comparison: Comparison) -> list:
    return [(r.label, r.solver) for r in comparison.runs]


def _shown(window, key: str) -> bool:
    return not window.plots.plots[key].isHidden()


def _assert_step_on_screen(window, lesson: Lesson, index: int) -> None:
    """The step's document is in its window, its plots, lens, tab and axes as it names them,
    and the panel says which step it is."""
    driver = window.lesson_driver
    step, document = lesson.steps[index], lesson.run_document(index)
    panel = driver.panel
    assert panel.position.text() == f"Step {index + 1} of {len(lesson.steps)}"
    assert panel.title.text() == step.title
    host = driver.host
    if isinstance(document, Comparison):
        assert host is driver.comparison_window and host.isVisible()
        shown = host.comparison()
        assert _runs(shown) == _runs(document)
        assert (shown.stop, shown.network, shown.dataset) == \
               (document.stop, document.network, document.dataset)
    else:
        assert host is window
        assert window.experiment() == document
        assert window.lens_dock.isVisible() == step.show.lens
        if step.show.tab:
            assert model_tabs_of(window).currentIndex() == ("data", "network").index(
                step.show.tab)
    for key in host.plots.plots:
        if step.show.plots and key != "flow":
            assert _shown(host, key) == (key in step.show.plots), key
    if step.show.x_axis:
        assert host.plots.x_mode == step.show.x_axis
    assert host.plots.log_x == step.show.log_x


@pytest.mark.parametrize("name", lesson_names())
def test_every_step_of_every_lesson_loads_what_it_says(qtbot, window, name):
    lesson = load_lesson(name)
    assert window.start_lesson(lesson, 0, run=False)
    for index in range(len(lesson.steps)):
        window.lesson_driver.go(index, run=False)
        _assert_step_on_screen(window, lesson, index)
    window.leave_lesson()


def test_keys_walk_the_lesson_and_reveal_the_answer(qtbot, window):
    lesson = load_lesson("01-euler")
    window.start_lesson(lesson, 0, run=False)
    driver, panel = window.lesson_driver, window.lesson_driver.panel
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Right)
    assert driver.index == 1 and panel.position.text() == "Step 2 of 4"
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert driver.index == 2
    _assert_step_on_screen(window, lesson, 2)
    assert not panel.answer_shown
    qtbot.keyClick(window, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert panel.answer_shown and panel.answer.text() == f"Answer: {lesson.steps[2].answer}"
    qtbot.keyClick(window, Qt.Key.Key_Left)
    assert driver.index == 1 and not panel.answer_shown  # a new step hides it again
    qtbot.keyClick(window, Qt.Key.Key_Home)
    assert driver.index == 0 and not panel.buttons["previous"].isEnabled()
    qtbot.keyClick(window, Qt.Key.Key_Left)  # nothing before the first step
    assert driver.index == 0
    window.lesson_driver.go(3, run=False)
    qtbot.keyClick(window, Qt.Key.Key_Right)  # nor after the last
    assert driver.index == 3 and not panel.buttons["next"].isEnabled()
    window.leave_lesson()


def test_run_this_step_runs_it_and_says_how_it_ended(qtbot, window):
    lesson = load_lesson("01-euler")
    window.start_lesson(lesson, 0, run=False)
    with qtbot.waitSignal(window.run_ended, timeout=60_000) as ended:
        qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert ended.args[0] == "finished"
    columns = window.plots.columns
    assert columns.n == 201 and columns["h"][1:].max() == columns["h"][1:].min() == 0.5
    assert window.lesson_driver.panel.outcome.text().startswith("Run finished: reached t_end")
    window.leave_lesson()


def test_a_step_s_pace_and_replay_point_reach_the_lab(qtbot, window):
    """``paced_seconds`` sets the lab's pace box before the run; ``replay_to`` moves the replay
    slider to that fraction once the run has ended."""
    from dataclasses import replace

    lesson = load_lesson("01-euler")
    step = lesson.steps[0]
    paced = replace(step, run=replace(step.run, paced_seconds=2.0, replay_to=0.25))
    window.start_lesson(replace(lesson, steps=(paced, *lesson.steps[1:])), 0, run=False)
    started = time.monotonic()
    with qtbot.waitSignal(window.run_ended, timeout=60_000):
        qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert time.monotonic() - started >= 0.8 * 2.0  # the run itself was paced, not only the box
    assert window.pace_box.seconds == 2.0
    qtbot.waitUntil(lambda: window.replay is not None
                    and abs(window.timeline.fraction - 0.25) < 0.02, timeout=30_000)
    window.leave_lesson()
    assert window.pace_box.seconds is None  # the user's own pace (full speed) is back


def test_a_comparison_step_runs_in_the_lesson_s_comparison_window(qtbot, window):
    lesson = load_lesson("05-owens-filkin")
    window.start_lesson(lesson, 1, run=False)
    host = window.lesson_driver.host
    with qtbot.waitSignal(host.comparison_ended, timeout=120_000):
        window.lesson_driver.run_step()
    assert [r.status for r in host.session.runner.results] == ["finished"] * 5
    assert window.lesson_driver.panel.outcome.text() == "Every run ended."
    assert host.findChild(type(window.lesson_driver.panel)) is window.lesson_driver.panel
    window.leave_lesson()


def test_leaving_restores_the_experiment_and_view_and_closes_the_lesson_s_window(qtbot,
                                                                                  window):
    window.set_experiment(MINE)
    window.set_x_mode("wall")
    window.start_lesson("05-owens-filkin", 0, run=False)
    assert window.experiment() == load_lesson("05-owens-filkin").document(0) != MINE
    window.lesson_driver.go(1, run=False)  # a comparison, in a window of the lesson's
    comparison_window = window.lesson_driver.comparison_window
    assert comparison_window is not None
    closed = []
    comparison_window.destroyed.connect(lambda *_: closed.append(True))
    window.leave_lesson()
    qtbot.waitUntil(lambda: bool(closed), timeout=30_000)  # the lesson opened it: it goes
    assert window.experiment() == MINE
    assert window.plots.x_mode == "wall" and not window.lens_dock.isVisible()
    assert all(_shown(window, key) for key in window.plots.plots)
    assert window.lesson_driver.comparison_window is None


def test_the_large_plot_takes_most_of_the_grid_until_the_lesson_ends(qtbot, window):
    window.resize(1280, 720)
    window.start_lesson("01-euler", 2, run=False)  # loss large, h and h·λmax beside it
    assert window.side_panel.isHidden()  # the editors make room for the lesson: 1280 px fit
    qtbot.waitUntil(lambda: window.minimumSizeHint().width() <= 1280, timeout=30_000)
    plots = window.plots.plots
    qtbot.waitUntil(lambda: plots["loss"].width() > 1.5 * plots["h"].width(), timeout=30_000)
    assert plots["h"].width() == plots["hlam"].width() and plots["lambda"].isHidden()
    assert plots["loss"].height() > 2 * plots["h"].height()
    window.leave_lesson()
    qtbot.waitUntil(lambda: abs(plots["loss"].width() - plots["h"].width()) <= 2, timeout=30_000)
    assert not plots["lambda"].isHidden() and not window.side_panel.isHidden()


def test_presenter_mode_enlarges_the_lesson_s_text_and_gives_it_back(qtbot, window):
    window.start_lesson("01-euler", 0, run=False)
    panel = window.lesson_driver.panel
    panel.set_scale(1.25)  # the teacher's own choice (Ctrl+=)
    points = panel.text.font().pointSizeF()
    window.presenter.set_active(True)
    assert panel.scale == pytest.approx(1.25 * 1.6)
    assert panel.text.font().pointSizeF() == pytest.approx(points * 1.6)
    assert panel.isVisible()  # the editors hide, the lesson stays
    window.presenter.set_active(False)
    assert panel.scale == pytest.approx(1.25)
    assert panel.text.font().pointSizeF() == pytest.approx(points)
    window.leave_lesson()


def test_the_panel_s_text_follows_its_scale(qtbot, window):
    window.start_lesson("02-stiffness", 0, run=False)
    panel = window.lesson_driver.panel
    assert panel.text.font().pointSizeF() == pytest.approx(BASE_POINTS)
    panel.set_scale(2.5)
    assert panel.text.font().pointSizeF() == pytest.approx(2.5 * BASE_POINTS)
    qtbot.keyClick(window, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert panel.scale == 2.0
    window.leave_lesson()


# -- sharing -----------------------------------------------------------------------------------
def test_the_experiment_round_trips_through_the_clipboard(qtbot, window):
    window.set_experiment(MINE)
    window.copy_action.trigger()
    assert Experiment.from_toml(QGuiApplication.clipboard().text()) == MINE
    window.set_experiment(Experiment())
    window.paste_action.trigger()
    assert window.experiment() == MINE


def test_a_lesson_step_round_trips_through_the_clipboard(qtbot, window):
    lesson = load_lesson("01-euler")
    window.start_lesson(lesson, 2, run=False)
    window.copy_action.trigger()
    copied = Lesson.from_toml(QGuiApplication.clipboard().text())
    assert copied.run_document(0) == lesson.run_document(2)
    window.leave_lesson()
    window.paste_action.trigger()  # a lesson on the clipboard opens in the panel
    assert window.lesson_driver.active and window.lesson_driver.lesson == copied
    assert window.experiment() == lesson.run_document(2)
    window.leave_lesson()


def test_a_bad_document_on_the_clipboard_is_a_banner(qtbot, window):
    before = window.experiment()
    QGuiApplication.clipboard().setText("[solver]\nrtol = -1\n")
    window.paste_action.trigger()
    assert window.banner.isVisible() and "solver.rtol: must be between" in window.banner.text()
    assert window.experiment() == before
    QGuiApplication.clipboard().setText("not = = toml")
    window.paste_action.trigger()
    assert "The clipboard holds no document: not valid TOML" in window.banner.text()


def test_a_comparison_round_trips_through_its_window_s_clipboard(qtbot, window):
    window.open_shared(parse_toml(load_comparison("owens-filkin-xor").to_toml()))
    comparison_window = window.comparison_windows[-1]  # closed (and deleted) at the end
    comparison_window.copy_action.trigger()
    copied = Comparison.from_toml(QGuiApplication.clipboard().text())
    assert _runs(copied) == _runs(load_comparison("owens-filkin-xor"))
    QGuiApplication.clipboard().setText(load_comparison("race-sine").to_toml())
    comparison_window.paste_action.trigger()
    assert _runs(comparison_window.comparison()) == _runs(load_comparison("race-sine"))
    QGuiApplication.clipboard().setText(MINE.to_toml())  # an experiment goes to the lab
    comparison_window.paste_action.trigger()
    assert window.experiment() == MINE
    comparison_window.close()


def _drop(widget, path) -> bool:
    """Drag ``path`` over ``widget`` and, if the drag is accepted, drop it: whether it was."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    return QApplication.sendEvent(widget, drop)


def test_a_dropped_toml_file_opens(qtbot, window, tmp_path):
    path = tmp_path / "mine.toml"
    MINE.save(path)
    assert _drop(window, path)
    assert window.experiment() == MINE
    (tmp_path / "notes.txt").write_text("hello")
    assert not _drop(window, tmp_path / "notes.txt")  # only TOML files are taken
    lesson_path = tmp_path / "lesson.toml"
    lesson_path.write_text('title = "Mine"\nsummary = "One."\n[[steps]]\ntitle = "Only"\n'
                           'text = "Words."\nloads = "mine.toml"\n')  # beside the lesson
    window.set_experiment(Experiment())
    _drop(window, lesson_path)
    assert window.lesson_driver.lesson.title == "Mine" and window.experiment() == MINE
    window.leave_lesson()
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\nhidden = [0]\n")
    _drop(window, bad)
    assert "network.hidden[0]: a layer width must be" in window.banner.text()


# -- authoring and the command line ------------------------------------------------------------
def test_save_as_lesson_step_appends_the_experiment_and_the_view(qtbot, window, tmp_path):
    path = tmp_path / "class.toml"
    window.set_experiment(MINE)
    window.set_x_mode("n_grad")
    assert window.save_as_lesson_step(path)
    window.lens_dock.show()
    assert window.save_as_lesson_step(path)
    lesson = Lesson.load(path)
    assert [lesson.run_document(i) for i in range(2)] == [MINE, MINE]
    assert lesson.steps[0].show.x_axis == "n_grad" and not lesson.steps[0].show.lens
    assert lesson.steps[1].show.lens


@pytest.mark.parametrize("argv,message", [
    (["--lesson", "nope"], "no lesson named 'nope'"),
    (["--lesson-step", "2"], "--lesson-step needs --lesson NAME"),
    (["--lesson", "01-euler", "--lesson-step", "5"], "the lesson has steps 1 to 4"),
])
def test_the_lesson_options_refuse_bad_input_in_one_line(argv, message, capsys):
    from odeprop.gui.app import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def _screenshot(tmp_path, *args: str):
    """`odeprop ARGS --screenshot FILE` in its own process, as a user runs it: the picture."""
    shot = tmp_path / "step.png"
    code = ("import sys; from odeprop.gui.app import main; "
            f"sys.exit(main({[*args, '--screenshot', str(shot)]!r}))")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=120,
                          capture_output=True, text=True)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return shot


def test_a_lesson_step_renders_to_a_screenshot(tmp_path):
    """The lab on step 2 of the first lesson."""
    shot = _screenshot(tmp_path, "--lesson", "01-euler", "--lesson-step", "2", "--run-for", "2")
    assert shot.read_bytes()[:4] == b"\x89PNG"


def test_help_lessons_picks_a_shipped_lesson_in_the_lab_and_the_comparison_window(qtbot,
                                                                                   window):
    picker = window.open_lessons()
    assert picker.list.count() == len(lesson_names())
    picker.list.setCurrentRow(lesson_names().index("03-edge-of-stability"))
    picker.accept()
    driver = window.lesson_driver
    assert driver.active and driver.lesson.title == load_lesson("03-edge-of-stability").title
    host = driver.host  # its first step is a comparison: the lesson's comparison window
    help_lessons = next(a for a in host.menuBar().actions() if a.text() == "&Help").menu()
    help_lessons.actions()[0].trigger()  # Help ▸ Lessons… there asks the lab
    assert window.lesson_picker is not picker and window.lesson_picker.isVisible()
    window.lesson_picker.reject()
    window.leave_lesson()


def test_a_comparison_window_without_a_lab_says_where_lessons_are(qtbot, settings):
    from odeprop.gui.comparison.window import ComparisonWindow

    alone = ComparisonWindow(settings=settings, persist=False, restore=False)
    qtbot.addWidget(alone)
    help_menu = next(a for a in alone.menuBar().actions() if a.text() == "&Help").menu()
    help_menu.actions()[0].trigger()
    assert "Lessons open in the lab" in alone.banner.text()
    QGuiApplication.clipboard().setText(MINE.to_toml())
    alone.paste_action.trigger()
    assert "That is an experiment or a lesson: open it in the lab" in alone.banner.text()


def test_a_presented_comparison_step_renders_at_the_size_asked(tmp_path):
    """`--presenter --size 1280x720` on a comparison step: the picture is of the lesson's
    comparison window presenting at that size (it was a 9 pt window of its own size)."""
    from PySide6.QtGui import QImage

    shot = _screenshot(tmp_path, "--lesson", "02-stiffness", "--lesson-step", "3",
                       "--presenter", "--size", "1280x720", "--run-for", "1")
    assert QImage(str(shot)).size().toTuple() == (1280, 720)
