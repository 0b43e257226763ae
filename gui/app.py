"""Start the lab: ``odeprop [CONFIG.toml]`` or ``odeprop --screenshot FILE [--run-for S]``.

A CONFIG with ``[[runs]]`` is a comparison and opens the comparison workspace instead.

``odeprop.core.cli`` (Qt-free) hands the arguments here when no subcommand is given.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

ICON_FILE = "odeprop.svg"


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
    return parser


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


def main(argv: list[str] | None = None) -> int:
    """Open the lab window; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
        if args.run_for < 0:
            raise _UsageError("--run-for must be zero or more seconds")
    except _UsageError as exc:
        print(f"odeprop: {exc}", file=sys.stderr)
        return 2
    from odeprop.core.presets import default_experiment

    experiment = comparison = None
    if args.config:
        try:
            experiment, comparison = load_config(args.config)
        except ValueError as exc:
            print(f"odeprop: {exc}", file=sys.stderr)
            return 2

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "odeprop"])
    app.setApplicationName("odeprop")
    app.setOrganizationName("odeprop")
    app.setApplicationDisplayName("odeprop")
    app.setDesktopFileName("odeprop")
    icon = app_icon()
    app.setWindowIcon(icon)
    shot = args.screenshot
    if comparison is not None:
        from .comparison_window import ComparisonWindow

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
    status = {"code": 0}
    if shot:
        def grab():
            if not window.grab().save(shot):
                print(f"odeprop: cannot write {shot}", file=sys.stderr)
                status["code"] = 1
            window.close()
            app.quit()

        window.start()
        QTimer.singleShot(int(args.run_for * 1000), grab)
    app.exec()
    return status["code"]


if __name__ == "__main__":
    sys.exit(main())
