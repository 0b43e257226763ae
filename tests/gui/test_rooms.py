"""The desktop app's rooms import one way: common/ below everything, the lens and the classroom
on common/ alone, the comparison workspace on them and the classroom (presenter mode), the
lab above them, app.py on top. (AST only:
no module is imported, so a circle is caught before it could fail at import.)"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GUI = Path(__file__).resolve().parents[2] / "gui"
#: room -> the rooms it may import (besides itself and odeprop.core)
ALLOWED = {
    "common": set(),
    "lens": {"common"},
    "classroom": {"common"},
    "comparison": {"common", "classroom"},  # presenter mode
    "sweeps": {"common"},
    "lab": {"common", "lens", "classroom", "comparison", "sweeps"},
    "app": {"common", "lab", "comparison"},
}


def _room(path: Path) -> str:
    rel = path.relative_to(GUI)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _rooms_imported(path: Path) -> set[str]:
    """The gui rooms a module imports, relative (``..common.plots``) or absolute."""
    here = path.relative_to(GUI).parts[:-1]  # the module's package inside gui/
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[:len(here) - (node.level - 1)]) if node.level > 1 else list(here)
                parts = base + (node.module.split(".") if node.module else [])
                if not parts:  # "from . import x" at gui/ itself
                    parts = [alias.name for alias in node.names]
            elif node.module and node.module.startswith("odeprop.gui."):
                parts = node.module.split(".")[2:]
            else:
                continue
            found.add(parts[0])
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[2] for a in node.names
                      if a.name.startswith("odeprop.gui.")}
    return found


MODULES = sorted(p for p in GUI.rglob("*.py") if p.name != "__init__.py")


def test_every_module_lives_in_a_known_room():
    assert {_room(p) for p in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(GUI)))
def test_a_room_imports_only_the_rooms_below_it(path):
    room = _room(path)
    assert _rooms_imported(path) - {room} <= ALLOWED[room]


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The rule can fail: common/ importing the lab is found, relative or absolute."""
    fake_gui = tmp_path / "gui"
    (fake_gui / "common").mkdir(parents=True)
    module = fake_gui / "common" / "bad.py"
    module.write_text("from ..lab.main_window import MainWindow\n"
                      "from odeprop.gui.lens.window import StiffnessLens\n")
    monkeypatch.setitem(globals(), "GUI", fake_gui)
    assert _rooms_imported(module) == {"lab", "lens"}
