"""GUI tests run offscreen, with settings kept in a temporary file (never the user's)."""

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QSettings  # noqa: E402

from odeprop.core.config import Experiment  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def isolated_settings(tmp_path_factory):
    """Any QSettings() made by accident lands in a temporary folder under a test organisation."""
    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    QCoreApplication.setOrganizationName("odeprop-tests")
    QCoreApplication.setApplicationName("odeprop-tests")
    return folder


@pytest.fixture(scope="session", autouse=True)
def session_recovery_folder(tmp_path_factory):
    """Module-scoped windows record in a temporary folder too (never the user's)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ODEPROP_RECOVERY_DIR", str(tmp_path_factory.mktemp("recovery")))
        yield


@pytest.fixture(autouse=True)
def recovery_folder(tmp_path, monkeypatch):
    """Each test records its runs in a folder of its own (never the user's recovery folder)."""
    folder = tmp_path / "recovery"
    monkeypatch.setenv("ODEPROP_RECOVERY_DIR", str(folder))
    return folder


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    from odeprop.gui.lab.main_window import MainWindow

    win = MainWindow(settings=settings)
    qtbot.addWidget(win)
    win.show()
    yield win
    if win.session is not None:
        win.session.shutdown(0.5)


#: A short run that reports everything a plot can show (BDF: order, Jacobians, LU, Newton).
SHORT_BDF = Experiment().with_changes(
    solver={"method": "BDF", "rtol": 1e-4, "atol": 1e-4},
    stop={"t_end": 60.0, "target_loss": None},
    probe={"stiffness_every": 2, "stiffness_budget": 0.0})  # every probe, however busy

#: A run that goes on until it is stopped (plain gradient descent, many small steps).
ENDLESS_GD = Experiment().with_changes(
    dataset={"kind": "spirals"},
    solver={"method": "gd", "learning_rate": 0.02},
    stop={"t_end": 1e9, "target_loss": None, "max_wall_time": 60.0, "max_steps": None})

#: Gradient descent far beyond its edge of stability: the loss blows up within a few steps.
DIVERGING_GD = Experiment().with_changes(
    dataset={"kind": "sin"}, network={"loss": "mse"},
    solver={"method": "gd", "learning_rate": 50.0}, stop={"t_end": 1e7})


def pytest_collection_modifyitems(items):
    """The offscreen platform cannot pass size hints on, nor raise a window (the floating
    lens); that is not a fault of the lab."""
    for item in items:
        item.add_marker(pytest.mark.qt_log_ignore("does not support propagateSizeHints",
                                                  r"does not support raise\(\)"))
