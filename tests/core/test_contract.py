"""DESIGN.md contract: nothing under core/ imports Qt, pyqtgraph or the GUI."""

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "odeprop.gui", "gui")


def _imports(path: Path, core: Path = CORE):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the odeprop.core package
                parts = path.relative_to(core.parent).with_suffix("").parts[:-node.level]
                base = ".".join(("odeprop", *parts))
                yield node.lineno, f"{base}.{node.module}" if node.module else base
            else:
                yield node.lineno, node.module or ""


CORE_FILES = sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_does_not_import_qt_or_gui(path):
    bad = [(line, name) for line, name in _imports(path)
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    assert not bad, f"{path}: imports {bad}"


def test_the_contract_test_sees_forbidden_imports(tmp_path):
    """The checker itself must flag a Qt import (guards against a test that cannot fail)."""
    core = tmp_path / "core"
    core.mkdir()
    fake = core / "probe.py"
    fake.write_text("from PySide6 import QtCore\nfrom ..gui import app\nimport pyqtgraph as pg\n")
    names = [name for _, name in _imports(fake, core)]
    assert names == ["PySide6", "odeprop.gui", "pyqtgraph"]


def test_importing_the_engine_loads_no_qt():
    import subprocess
    import sys

    code = ("import sys, odeprop.core.run, odeprop.core.cli, odeprop.core.worker; "
            "print(any(m.startswith(('PySide6', 'pyqtgraph')) for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
