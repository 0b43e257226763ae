"""A wheel holds only the packages pyproject lists: every package folder must be among them."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"core": "odeprop.core", "gui": "odeprop.gui", "resources": "odeprop.resources"}


def package_folders(root: Path = ROOT) -> set[str]:
    """The dotted names of every folder with an ``__init__.py`` under core/, gui/, resources/."""
    names = set()
    for folder, package in FOLDERS.items():
        for init in (root / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(root / folder).parts
            names.add(".".join((package, *parts)))
    return names


def listed_packages(root: Path = ROOT) -> set[str]:
    with open(root / "pyproject.toml", "rb") as f:
        return set(tomllib.load(f)["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_listed_in_pyproject():
    missing = package_folders() - listed_packages()
    assert not missing, f"pyproject.toml [tool.setuptools] packages lacks {sorted(missing)}"


def test_the_check_sees_an_unlisted_folder(tmp_path):
    """Guards against a check that cannot fail: a new sub-package that pyproject does not list."""
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "gui" / "new_room").mkdir()
    (tmp_path / "gui" / "new_room" / "__init__.py").write_text("")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools]\npackages = ["odeprop.core", "odeprop.gui", "odeprop.resources"]\n')
    assert package_folders(tmp_path) - listed_packages(tmp_path) == {"odeprop.gui.new_room"}
