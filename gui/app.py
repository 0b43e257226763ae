"""Start the lab: ``odeprop [CONFIG.toml] [--presenter] [--size WxH]`` or ``odeprop --screenshot
FILE [--run-for S] [--size WxH] [--presenter]``.

A CONFIG with ``[[runs]]`` is a comparison and opens the comparison workspace instead.

``odeprop.core.cli`` (Qt-free) hands the arguments here when no subcommand is given.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from importlib import resources
from pathlib import Path

ICON_FILE = "odeprop.svg"

#: The system libraries Qt's X11 platform (xcb) and its GUI library load, with the packages
#: that install them: (library, Debian/Ubuntu package, Fedora package). A bare machine lacks
#: some (xcb-util-cursor above all), and Qt then aborts the process with a message that names
#: none of them.
XCB_LIBRARIES = (
    ("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    ("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    ("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    ("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    ("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    ("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    ("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    ("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    ("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    ("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    ("libEGL.so.1", "libegl1", "libglvnd-egl"),
    ("libGL.so.1", "libgl1", "libglvnd-glx"),
    ("libfontconfig.so.1", "libfontconfig1", "fontconfig"),
    ("libdbus-1.so.3", "libdbus-1-3", "dbus-libs"),
)


#: With --replay-at, how long a screenshot waits for the run to end (it replays an ended run).
REPLAY_WAIT = 120.0


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line on stderr, exit status 2
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="odeprop", description="The odeprop lab window.")
    parser.add_argument("config", nargs="?",
                        help="an experiment TOML file to open, or a comparison (with [[runs]])")
    parser.add_argument("--screenshot", metavar="FILE",
                        help="run for a while, save a picture of the window to FILE and quit")
    parser.add_argument("--run-for", type=float, default=3.0, metavar="SECONDS",
                        help="with --screenshot: how long to run before the picture (default 3)")
    parser.add_argument("--lesson", metavar="NAME",
                        help="open a lesson (see `odeprop lessons`, or a lesson file)")
    parser.add_argument("--lesson-step", type=int, default=None, metavar="K",
                        help="with --lesson: start at step K (1 is the first)")
    parser.add_argument("--replay-at", type=float, metavar="FRACTION",
                        help="with --screenshot: after --run-for (and the run's end), replay the "
                        "run to this fraction of it (0–1) for the picture")
    parser.add_argument("--size", type=window_size, metavar="WxH",
                        help="the window's size in pixels, e.g. 1280x720 (the picture's too)")
    parser.add_argument("--presenter", action="store_true",
                        help="open in presenter mode: full screen, large type, the editors "
                             "hidden (F11 leaves it)")
    return parser


#: The largest window --size takes (either side, pixels).
MAX_SIDE = 8192


def window_size(text: str) -> tuple[int, int]:
    """``WxH`` (e.g. ``1280x720``) as (width, height); argparse's type for ``--size``."""
    width, sep, height = text.strip().lower().partition("x")
    if not (sep and width.isdigit() and height.isdigit()):
        raise argparse.ArgumentTypeError(
            f"expected WIDTHxHEIGHT in pixels, e.g. 1280x720 (got {text!r})")
    size = int(width), int(height)
    if not all(1 <= side <= MAX_SIDE for side in size):
        raise argparse.ArgumentTypeError(f"each side must be 1 to {MAX_SIDE} pixels (got "
                                         f"{text!r})")
    return size


def app_icon():
    """The application icon, from ``odeprop.resources``."""
    from PySide6.QtGui import QIcon

    path = resources.files("odeprop.resources").joinpath(ICON_FILE)
    return QIcon(str(path))


def load_config(path: str):
    """(experiment, None) or (None, comparison): a file with [[runs]] is a comparison."""
    from odeprop.core.comparison import Comparison, is_comparison
    from odeprop.core.config import Experiment, read_toml

    data = read_toml(path)  # refuses a FIFO, a huge or deeply nested file in one line
    try:
        if is_comparison(data):
            return None, Comparison.from_dict(data)
        return Experiment.from_dict(data), None
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _lesson(args):
    """The lesson ``--lesson`` names (checked before any window opens), or None."""
    if args.lesson is None:
        if args.lesson_step is not None:
            raise ValueError("--lesson-step needs --lesson NAME")
        return None
    args.lesson_step = 1 if args.lesson_step is None else args.lesson_step
    if args.config:
        raise ValueError("give a lesson or a CONFIG.toml, not both")
    from odeprop.core.lesson import load_lesson

    lesson = load_lesson(args.lesson)
    if not 1 <= args.lesson_step <= len(lesson.steps):
        raise ValueError(f"--lesson-step {args.lesson_step}: the lesson has steps 1 to "
                         f"{len(lesson.steps)}")
    return lesson


def missing_xcb_libraries(environ=os.environ, platform: str = sys.platform,
                          load=ctypes.CDLL) -> list[tuple[str, str, str]]:
    """The :data:`XCB_LIBRARIES` that cannot be loaded, when Qt will use its X11 platform: on
    Linux, in an X11 session (``DISPLAY`` without ``WAYLAND_DISPLAY``), with no other platform
    asked for in ``QT_QPA_PLATFORM``. Else none (nothing is checked)."""
    wanted = environ.get("QT_QPA_PLATFORM", "")
    x11 = environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY")
    if not platform.startswith("linux") or not (wanted.startswith("xcb") or not wanted and x11):
        return []
    missing = []
    for entry in XCB_LIBRARIES:
        try:
            load(entry[0])
        except OSError:
            missing.append(entry)
    return missing


def missing_libraries_line(missing) -> str:
    """One line that names the missing libraries and the packages that install them."""
    debian = " ".join(dict.fromkeys(deb for _, deb, _ in missing))
    fedora = " ".join(dict.fromkeys(rpm for _, _, rpm in missing))
    return (f"odeprop: Qt's X11 platform (xcb) cannot start: missing "
            f"{', '.join(lib for lib, _, _ in missing)}. Install them with: sudo apt install "
            f"{debian} (Debian/Ubuntu), or: sudo dnf install {fedora} (Fedora)")


def main(argv: list[str] | None = None) -> int:
    """Open the lab window; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
        if args.run_for < 0:
            raise _UsageError("--run-for must be zero or more seconds")
        if args.replay_at is not None and not 0 <= args.replay_at <= 1:
            raise _UsageError(f"--replay-at must be a fraction from 0 to 1, got "
                              f"{args.replay_at:g}")
    except _UsageError as exc:
        print(f"odeprop: {exc}", file=sys.stderr)
        return 2
    from odeprop.core.presets import default_experiment

    experiment = comparison = lesson = None
    try:
        lesson = _lesson(args)
    except ValueError as exc:
        print(f"odeprop: {exc}", file=sys.stderr)
        return 2
    if args.config:
        try:
            experiment, comparison = load_config(args.config)
        except ValueError as exc:
            print(f"odeprop: {exc}", file=sys.stderr)
            return 2

    missing = missing_xcb_libraries()
    if missing:  # said now: Qt would abort the process naming none of them
        print(missing_libraries_line(missing), file=sys.stderr)
        return 2
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .lab.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "odeprop"])
    app.setApplicationName("odeprop")
    app.setOrganizationName("odeprop")
    app.setApplicationDisplayName("odeprop")
    app.setDesktopFileName("odeprop")
    icon = app_icon()
    app.setWindowIcon(icon)
    shot = args.screenshot
    if comparison is not None:
        from .comparison.window import ComparisonWindow

        window = ComparisonWindow(restore=not shot, persist=not shot, icon=icon)
        window.set_comparison(comparison)
        window.current_path = Path(args.config)
    else:
        window = MainWindow(restore=not shot, persist=not shot, icon=icon,
                            offer_recovery=not shot)
        if experiment is not None:
            window.set_experiment(experiment)
            window.current_path = None
        elif shot:
            window.set_experiment(default_experiment())
    window.show()
    if args.presenter:  # first: a lesson's comparison window then presents too
        window.presenter.set_active(True)
    if lesson is not None:
        window.start_lesson(lesson, args.lesson_step - 1)
    if args.size is not None:
        smallest = window.minimumSizeHint()
        if args.size[0] < smallest.width() or args.size[1] < smallest.height():
            print(f"odeprop: --size: this window needs at least {smallest.width()}x"
                  f"{smallest.height()} pixels (got {args.size[0]}x{args.size[1]})",
                  file=sys.stderr)
            window.close()
            return 2
        if window.isFullScreen():  # presenter mode in a window of exactly this size
            window.showNormal()
        window.resize(*args.size)
        host = window.lesson_driver.host if lesson is not None else window
        if host is not window:  # a lesson's comparison window, over the lab's place
            host.showNormal()
            host.resize(*args.size)
    status = {"code": 0}
    if shot:
        waited = {"s": args.run_for}

        def grab():
            if args.replay_at is not None and not window.replay_at(args.replay_at):
                if window.state in ("running", "starting") and waited["s"] < REPLAY_WAIT:
                    waited["s"] += 0.25  # a replay needs the run's end: wait for it
                    QTimer.singleShot(250, grab)
                    return
                print(f"odeprop: --replay-at: the run had not ended {waited['s']:g} s after "
                      "Start; the picture shows it live", file=sys.stderr)
            shown = window.lesson_driver.host if lesson is not None else window
            if not shown.grab().save(shot):
                print(f"odeprop: cannot write {shot}", file=sys.stderr)
                status["code"] = 1
            window.close()
            app.quit()

        if lesson is None:  # a lesson runs its step itself
            window.start()
        QTimer.singleShot(int(args.run_for * 1000), grab)
    app.exec()
    return status["code"]


if __name__ == "__main__":
    sys.exit(main())
