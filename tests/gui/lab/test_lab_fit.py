"""The lab on a 1280×720 projector: its minimum size, the lens open or not, every plot shown
whole; and ``odeprop --screenshot --size --presenter``."""

import os
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

PROJECTOR = (1280, 720)


def fits(widget) -> bool:
    hint = widget.minimumSizeHint()
    return hint.width() <= PROJECTOR[0] and hint.height() <= PROJECTOR[1]


def test_the_lab_fits_a_projector_with_the_lens_closed_and_open(qtbot, window):
    assert fits(window), window.minimumSizeHint()
    window.lens_dock.show()
    qtbot.waitUntil(window.lens_dock.isVisible, timeout=30_000)
    assert window.lens_dock.isFloating()  # a window of its own: it takes no width
    assert fits(window), window.minimumSizeHint()
    window.resize(*PROJECTOR)
    qtbot.waitUntil(lambda: window.size().toTuple() == PROJECTOR, timeout=30_000)
    # no plot squeezed below what it needs (a squeezed plot clips its text under the next)
    for cell in [window.data_view, *window.plots.plots.values()]:
        assert cell.width() >= cell.minimumSizeHint().width(), cell
        assert cell.height() >= cell.minimumSizeHint().height(), cell


def test_the_experiment_panel_collapses_with_f9(qtbot, window):
    assert window.side_panel.isVisible()
    wide = window.plots.width()
    window.panel_action.trigger()
    assert not window.side_panel.isVisible()
    qtbot.waitUntil(lambda: window.plots.width() > wide, timeout=30_000)
    window.panel_action.trigger()
    assert window.side_panel.isVisible()


def test_n_switches_between_the_data_and_the_network_view(qtbot, window):
    assert window.model_tabs.currentWidget() is window.data_view
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=30_000)
    qtbot.keyClick(window.plots, Qt.Key.Key_N)
    assert window.model_tabs.currentWidget() is window.network_view
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=30_000)
    qtbot.keyClick(window.plots, Qt.Key.Key_N)
    assert window.model_tabs.currentWidget() is window.data_view


def _odeprop(*args, tmp_path):
    code = f"import sys; from odeprop.gui.app import main; sys.exit(main({list(args)!r}))"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path))
    return subprocess.run([sys.executable, "-c", code], env=env, timeout=90,
                          capture_output=True, text=True)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_a_presenter_screenshot_has_the_size_asked_for(tmp_path, size):
    shot = tmp_path / "presenter.png"
    done = _odeprop("--screenshot", str(shot), "--presenter", "--size", "{}x{}".format(*size),
                    "--run-for", "1", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == size


@pytest.mark.parametrize("bad", ["1280", "x720", "1280x", "wide", "0x720", "1280x-5",
                                 "99999x720", "300x200"])
def test_a_bad_size_is_one_line_and_exit_2(tmp_path, bad):
    done = _odeprop("--screenshot", str(tmp_path / "x.png"), "--size", bad, tmp_path=tmp_path)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if "--size" in line]
    assert len(lines) == 1 and lines[0].startswith("odeprop: "), done.stderr
    assert "pixels" in lines[0]  # what the size must be, not an unknown option
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.png").exists()
