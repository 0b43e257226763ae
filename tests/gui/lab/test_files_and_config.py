"""Files, settings, configuration widgets, the command line and the shipped desktop entry."""

import configparser
import functools
import math
import os
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest
from conftest import SHORT_BDF
from PySide6.QtCore import Qt

from odeprop.core.config import Experiment


def test_save_and_open_round_trip_with_recent_files(window, tmp_path):
    exp = SHORT_BDF.with_changes(name="round trip", network={"hidden": (8, 4),
                                                            "activations": ("relu", "tanh")})
    window.set_experiment(exp)
    path = tmp_path / "exp.toml"
    assert window.save_experiment(path)
    assert Experiment.load(path) == window.experiment()
    window.set_experiment(Experiment())
    assert window.open_experiment(path)
    assert window.experiment().network.hidden == (8, 4)
    assert window.experiment().network.activations == ("relu", "tanh")
    assert window.recent_files()[0] == str(path)
    assert window.recent_menu.actions()[0].text() == str(path)


def test_unreadable_toml_is_refused_with_a_message(window, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[solver\nmethod = 'RK45'")
    before = window.experiment()
    assert not window.open_experiment(bad)
    assert "not valid TOML" in window.banner.text()
    assert window.banner.property("kind") == "error"
    assert window.experiment() == before
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[solver]\nrtol = 7.0\n")
    assert not window.open_experiment(wrong)
    assert "solver.rtol" in window.banner.text()


def test_a_bad_csv_is_refused_when_chosen_naming_its_first_bad_row(window, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b,label\n1,2,x\n3,oops,y\n5,6,x\n7,8,y\n9,1,x\n2,2,y\n")
    panel = window.config_panel
    before = window.experiment()
    message = panel.load_csv(str(path))
    assert message == "data.csv: row 3, column 'b': 'oops' is not a number"
    assert panel.message("dataset.csv_path") == message
    assert window.experiment() == before and panel.csv_path.text() == ""  # not taken
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,1,x\n2,2,y\n")
    assert panel.load_csv(str(path)) is None  # mended: taken
    assert [panel.target_column.itemText(i) for i in range(panel.target_column.count())] == [
        "a", "b", "label"]
    assert panel.target_column.currentText() == "label"
    assert panel.preview.rowCount() == 6 and panel.preview.isVisibleTo(panel)
    assert panel.message("dataset.csv_path") == ""


def test_a_large_csv_is_checked_in_the_background_and_blocks_start(qtbot, window, tmp_path,
                                                                     monkeypatch):
    """A file too large to read at once when chosen is read by the window's build: what is
    wrong with it stands under the field and beside Start."""
    from odeprop.gui.common.config_sections import dataset

    monkeypatch.setattr(dataset, "PICK_CHECK_BYTES", 10)
    path = tmp_path / "data.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,1,x\n2,oops,y\n")
    panel = window.config_panel
    assert panel.load_csv(str(path)) is None  # taken: read whole in the background
    qtbot.waitUntil(lambda: panel.message("dataset.csv_path") != "", timeout=30_000)
    message = "data.csv: row 7, column 'b': 'oops' is not a number"
    assert panel.message("dataset.csv_path") == message
    assert window.controls.blocker.text() == f"Cannot start: the data cannot be loaded: {message}"
    assert not window.controls.start_action.isEnabled()
    assert window.status_label.text().startswith("Not ready: the data cannot be loaded")
    assert not window.start() and window.session is None


def test_good_csv_previews_and_runs_into_a_confusion_matrix(window, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "three.csv"
    path.write_text("f1,f2,f3,cls\n" + "\n".join(
        f"{a:.3f},{b:.3f},{c:.3f},{k}" for (a, b, c), k in zip(X, y, strict=True)))
    assert window.config_panel.load_csv(str(path)) is None
    window._preview_problem()
    assert window.data_view.mode == "confusion"
    assert window.data_view.confusion.sum() == window.problem.dataset.n_test


def test_settings_the_method_lacks_are_disabled_with_the_reason(window):
    panel = window.config_panel
    panel.family.setCurrentIndex(panel.family.findData("optimiser"))
    panel.method.setCurrentIndex(panel.method.findData("gd"))
    assert not panel.rtol.isEnabled()
    assert "no error tolerances" in panel.rtol.toolTip()
    assert not panel.max_order.isEnabled() and "fixed order" in panel.max_order.toolTip()
    assert not panel.jacobian.isEnabled() and "explicit" in panel.jacobian.toolTip()
    assert panel.learning_rate.isEnabled()
    assert not panel.momentum.isEnabled()
    panel.family.setCurrentIndex(panel.family.findData("ivp"))
    panel.method.setCurrentIndex(panel.method.findData("BDF"))
    assert panel.rtol.isEnabled() and panel.max_order.isEnabled()
    assert not panel.learning_rate.isEnabled()
    assert "chooses its step size" in panel.learning_rate.toolTip()
    panel.max_order.setValue(3)
    panel.jacobian.setCurrentIndex(panel.jacobian.findData("fd"))
    exp = window.experiment()
    assert (exp.solver.method, exp.solver.max_order, exp.solver.jacobian) == ("BDF", 3, "fd")
    assert "tolerance" in panel.labels["solver.rtol"].toolTip().lower()


def erase(qtbot, edit) -> None:
    """Empty a line edit as a user does (select all, backspace), so it reports the edit."""
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)


def test_probe_settings_round_trip_validate_and_explain(qtbot, window):
    panel = window.config_panel
    exp = SHORT_BDF.with_changes(probe={"metrics_every": 5, "stiffness_every": 20,
                                        "stiffness_every_dt": 2.5, "stiffness_method": "lanczos",
                                        "stiffness_budget": 0.25})
    window.set_experiment(exp)
    assert panel.metrics_every.value() == 5 and panel.stiffness_every.value() == 20
    assert panel.stiffness_every_dt.text() == "2.5" and panel.stiffness_budget.text() == "0.25"
    assert panel.stiffness_method.currentData() == "lanczos"
    assert window.experiment().probe == exp.probe
    for name in ("probe.metrics_every", "probe.stiffness_every_dt", "probe.stiffness_method",
                 "probe.stiffness_budget"):
        tip = panel.fields[name].toolTip()
        assert len(tip) > 60 and panel.labels[name].toolTip() == tip, name
    erase(qtbot, panel.stiffness_budget)
    qtbot.keyClicks(panel.stiffness_budget, "-0.5")
    assert "probe.stiffness_budget" in window.controls.blocker.text()
    assert panel.stiffness_budget.toolTip().startswith("<b>probe.stiffness_budget")
    assert not window.controls.start_action.isEnabled()
    erase(qtbot, panel.stiffness_budget)  # empty: no limit
    qtbot.keyClicks(panel.stiffness_every_dt, "x")
    assert "probe.stiffness_every_dt: '2.5x' is not a number" in window.controls.blocker.text()
    erase(qtbot, panel.stiffness_every_dt)
    assert window.controls.start_action.isEnabled()
    assert window.experiment().probe.stiffness_budget == 0.0
    assert window.experiment().probe.stiffness_every_dt is None
    panel.stiffness_every.setValue(0)  # probe off: its method and budget do not apply
    assert not panel.stiffness_method.isEnabled()
    assert "probe is off" in panel.stiffness_budget.toolTip()
    qtbot.waitUntil(lambda: "stiffness probe is off" in window.plots.plots["lambda"].empty_note,
                    timeout=30_000)  # the preview of the changed experiment is debounced


def test_every_plot_has_title_axis_labels_and_legend(window):
    for key, plot in window.plots.plots.items():
        item = plot.getPlotItem()
        assert item.titleLabel.text, key
        assert item.getAxis("left").labelText, key
        assert item.getAxis("bottom").labelText, key
        # a legend (below the plot) when it holds two curves or more; one curve: the title
        assert (len(plot.legend.items) >= 2) == plot.legend.legend.isVisible(), key
        assert plot.legend.items, key


def test_plots_export_as_png_and_svg(window, tmp_path):
    for key in ("loss", "data"):
        assert window.export_plot(key, tmp_path / f"{key}.png")
        assert (tmp_path / f"{key}.png").read_bytes()[:4] == b"\x89PNG"
        assert window.export_plot(key, tmp_path / f"{key}.svg")
        assert "<svg" in (tmp_path / f"{key}.svg").read_text()


def test_window_layout_and_last_experiment_are_remembered(qtbot, settings):
    from odeprop.gui.lab.main_window import MainWindow

    first = MainWindow(settings=settings)
    qtbot.addWidget(first)
    first.set_experiment(SHORT_BDF.with_changes(name="remember me"))
    first.set_x_mode("n_grad")
    first.close()
    second = MainWindow(settings=settings)
    qtbot.addWidget(second)
    assert second.experiment().name == "remember me"
    assert second.plots.x_mode == "n_grad"


def test_about_names_the_versions(window):
    import numpy
    import scipy

    text = window.about_text()
    assert "odeprop" in text and "Qt " in text
    assert numpy.__version__ in text and scipy.__version__ in text


def test_command_line_refuses_bad_arguments(capsys):
    from odeprop.gui.app import main

    assert main(["--run-for", "soon"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("odeprop:") and err.count("\n") == 1
    assert main(["/no/such/experiment.toml"]) == 2


def test_screenshot_renders_the_window_offscreen(tmp_path):
    """In its own process, as a user runs it (it quits its QApplication when done)."""
    config = tmp_path / "shot.toml"
    SHORT_BDF.save(config)
    shot = tmp_path / "shot.png"
    code = ("import sys; from odeprop.gui.app import main; "
            f"sys.exit(main(['--screenshot', {str(shot)!r}, '--run-for', '1.5', "
            f"{str(config)!r}]))")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=60,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert shot.read_bytes()[:4] == b"\x89PNG"
    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert image.width() >= 1000 and image.height() >= 700


def test_icon_and_desktop_entry_ship_with_the_package():
    files = resources.files("odeprop.resources")
    assert "<svg" in files.joinpath("odeprop.svg").read_text()
    entry = configparser.ConfigParser(interpolation=None)
    entry.read_string(files.joinpath("odeprop.desktop").read_text())
    desktop = entry["Desktop Entry"]
    assert desktop["Exec"].startswith("odeprop")
    assert desktop["Icon"] == "odeprop" and desktop["Type"] == "Application"


def test_progress_estimate_uses_the_nearest_target(qtbot, window):
    window.set_experiment(SHORT_BDF.with_changes(stop={"t_end": 60.0, "target_loss": None}))
    with qtbot.waitSignal(window.run_ended, timeout=30_000):
        window.start()
    fraction, text = window._progress(window.session.last)
    assert math.isclose(fraction, 1.0) and "t =" in text


def test_the_progress_text_fits_its_bar_on_one_line(qtbot, window):
    """A finished run's progress text ("loss 0.000928 → 0.001  100%") used to wrap inside the
    22 px bar, which then showed neither line whole; the window keeps its default width."""
    qtbot.waitExposed(window, timeout=30_000)
    bar = window.controls.progress
    window.controls.set_progress(1.0, 0.1, "loss 0.000928 → 0.001")  # the default run's last
    assert bar.text() == "loss 0.000928 → 0.001  100%"
    assert bar.width() >= bar.fontMetrics().horizontalAdvance(bar.text()) + 8
    assert window.width() == 1400


def test_the_method_combo_shows_every_method_name_whole(qtbot, window):
    """Method names are long ("CVODE BDF, Newton–Krylov (GMRES)" was cut to "…(G"): at the
    lab's default size the closed combo's text field is wide enough for each of them, its list
    too, and the panel still leaves the plots most of the window (no sideways scrolling)."""
    from PySide6.QtWidgets import QStyle, QStyleOptionComboBox

    from odeprop.core.methods import METHODS

    panel, combo = window.config_panel, window.config_panel.method
    qtbot.waitExposed(window, timeout=30_000)
    assert window.width() == 1400  # the default size
    metrics = combo.fontMetrics()
    widest = max(metrics.horizontalAdvance(info.label) for info in METHODS.values())
    assert combo.view().minimumWidth() >= widest
    seen = set()
    for family in range(panel.family.count()):
        panel.family.setCurrentIndex(family)
        qtbot.wait(10)
        for index in range(combo.count()):
            combo.setCurrentIndex(index)
            option = QStyleOptionComboBox()
            combo.initStyleOption(option)
            field = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                                 QStyle.SubControl.SC_ComboBoxEditField, combo)
            label = combo.currentText()
            assert field.width() >= metrics.horizontalAdvance(label), label
            seen.add(combo.currentData())
    assert seen == set(METHODS)
    assert not panel.horizontalScrollBar().isVisible()
    assert panel.width() <= 0.3 * window.width()


def test_a_name_the_user_did_not_type_does_not_follow_the_experiment(qtbot, window):
    """The default's name describes two moons and CVODE: another method or dataset makes it
    "Untitled (from …)", setting them back restores it, and a typed name always stays."""
    panel = window.config_panel
    original = window.experiment().name
    assert window.windowTitle() == f"odeprop — {original}"
    panel.method.setCurrentIndex(panel.method.findData("cvode-dense"))
    assert window.experiment().name == f"Untitled (from {original})"
    assert window.windowTitle() == f"odeprop — Untitled (from {original})"
    panel.method.setCurrentIndex(panel.method.findData(Experiment().solver.method))
    panel.kind.setCurrentText("spirals")
    assert window.experiment().name == f"Untitled (from {original})"
    panel.kind.setCurrentText(Experiment().dataset.kind)
    assert window.experiment().name == original
    panel.name_edit.end(False)
    qtbot.keyClicks(panel.name_edit, " mine")
    panel.kind.setCurrentText("spirals")
    assert window.experiment().name == f"{original} mine"
    assert window.windowTitle() == f"odeprop — {original} mine"


@pytest.mark.parametrize("kind, loss, why", [
    ("iris", "softmax_ce", "softmax cross-entropy for 3 classes ('iris')"),
    ("digits", "softmax_ce", "softmax cross-entropy for 10 classes ('digits')"),
    ("sin", "mse", "squared error (mse) for regression targets ('sin')"),
    ("encoder", "mse", "squared error (mse) for regression targets ('encoder')"),
])
def test_data_the_loss_cannot_take_switch_the_loss_and_say_so(qtbot, window, kind, loss, why):
    """From the default's binary cross-entropy: the data load, the loss that fits them is
    chosen with a note under it, and Start, the status and the data view agree."""
    panel = window.config_panel
    assert panel.loss.currentText() == "bce"
    panel.kind.setCurrentText(kind)
    assert panel.loss.currentText() == loss
    assert panel.loss_note.isVisibleTo(panel)
    assert panel.loss_note.text() == f"Loss switched to {why}."
    assert window.experiment().network.loss == loss
    window._preview_problem()
    assert window.banner.isHidden() and window.controls.blocker.text() == ""
    assert window.controls.start_action.isEnabled()
    assert window.status_label.text().startswith("Ready")
    assert window.data_view.problem is window.problem is not None  # the data are shown
    assert "not loaded" not in window.data_view.getPlotItem().titleLabel.text
    panel.kind.setCurrentText("spirals")  # another kind: the note is past
    assert not panel.loss_note.isVisibleTo(panel)


def test_a_three_class_csv_switches_binary_cross_entropy_once_read(qtbot, window, tmp_path):
    path = tmp_path / "three.csv"
    path.write_text("a,b,label\n" + "".join(f"{i},{i % 4},{'xyz'[i % 3]}\n" for i in range(30)))
    panel = window.config_panel
    assert panel.load_csv(str(path)) is None and panel.loss.currentText() == "bce"
    window._preview_problem()  # the file's classes are known once it is read
    qtbot.waitUntil(lambda: panel.loss.currentText() == "softmax_ce", timeout=30_000)
    assert panel.loss_note.text() == ("Loss switched to softmax cross-entropy for 3 classes "
                                      "(three.csv).")
    window._preview_problem()
    assert window.data_view.mode == "surface" and window.controls.start_action.isEnabled()
    assert window.banner.isHidden() and window.status_label.text().startswith("Ready")


def test_the_lab_edits_the_tolerance_schedule(qtbot, window, tmp_path):
    """The comparison's schedule editor, under the lab's solver: phases typed, checked (the
    row at fault flagged, Start refused) and saved; off for a method that cannot use them."""
    from odeprop.core.config import TolerancePhase

    panel = window.config_panel
    editor = panel.schedule
    assert editor is panel.groups["schedule"] and editor.isVisibleTo(panel)
    window.set_experiment(SHORT_BDF)
    assert editor.rows == [] and window.experiment().solver.schedule == ()
    editor.add_button.click()
    until, rtol, atol, _ = editor.rows[0]
    for field, text in ((until, "0.3"), (rtol, "1e-2"), (atol, "1e-2")):
        qtbot.keyClicks(field.edit if hasattr(field, "edit") else field, text)
    assert window.experiment().solver.schedule == (TolerancePhase(0.3, 1e-2, 1e-2),)
    editor.add_button.click()  # a second phase with its numbers missing
    assert panel.errors == ["solver.schedule[1]: give all three numbers"]
    assert window.controls.blocker.text() == ("Cannot start: solver.schedule[1]: give all "
                                              "three numbers")
    assert not window.start() and window.session is None
    editor.remove_row(editor.rows[1])
    assert panel.errors == [] and window.controls.start_action.isEnabled()
    path = tmp_path / "scheduled.toml"
    assert window.save_experiment(path)
    assert Experiment.load(path).solver.schedule == (TolerancePhase(0.3, 1e-2, 1e-2),)
    panel.family.setCurrentIndex(panel.family.findData("optimiser"))  # gd: no tolerances
    assert not editor.add_button.isEnabled() and "no error tolerances" in editor.note.text()
    assert window.experiment().solver.schedule == () and panel.errors == []
    window.set_experiment(Experiment())
    assert editor.rows == []
    assert window.open_experiment(path)
    assert len(editor.rows) == 1 and editor.add_button.isEnabled()
    assert window.experiment().solver.schedule == (TolerancePhase(0.3, 1e-2, 1e-2),)


def test_missing_x11_libraries_are_named_with_their_packages_before_qt_aborts(monkeypatch,
                                                                             capsys):
    """Without xcb-util-cursor & co. Qt aborts the process ("Could not load the Qt platform
    plugin xcb"); the lab checks first and says, in one line, what to install."""
    from odeprop.gui import app
    from odeprop.gui.lab import main_window

    absent = {"libxcb-cursor.so.0", "libxcb-icccm.so.4"}

    def load(name):
        if name in absent:
            raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(app, "missing_xcb_libraries", functools.partial(
        app.missing_xcb_libraries, {"DISPLAY": ":0"}, "linux", load))
    monkeypatch.setattr(main_window, "MainWindow", None)  # no window may be made
    assert app.main([]) == 2
    err = capsys.readouterr().err
    assert err == ("odeprop: Qt's X11 platform (xcb) cannot start: missing libxcb-cursor.so.0, "
                   "libxcb-icccm.so.4. Install them with: sudo apt install libxcb-cursor0 "
                   "libxcb-icccm4 (Debian/Ubuntu), or: sudo dnf install xcb-util-cursor "
                   "xcb-util-wm (Fedora)\n")
    # other platforms, Wayland sessions and an explicit platform are not checked
    for env, system in (({"DISPLAY": ":0"}, "darwin"),
                        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux"),
                        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux"),
                        ({}, "linux")):
        assert app.missing_xcb_libraries.func(env, system, load) == []
    assert len(app.missing_xcb_libraries.func({"QT_QPA_PLATFORM": "xcb"}, "linux", load)) == 2
