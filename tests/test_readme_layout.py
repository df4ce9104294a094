"""README's Layout section names every module of the four packages, so it follows the tree."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("core", "generators", "storage", "bot", "bot/publishers", "bot/web")


def test_the_layout_section_names_every_module() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    missing = [
        f"{package}/{module.name}"
        for package in PACKAGES
        for module in sorted((REPO / package).glob("*.py"))
        if module.name not in {"__init__.py", "__main__.py"} and module.name not in layout
    ]
    missing += [
        f"{folder.relative_to(REPO)}/"
        for package in PACKAGES
        for folder in sorted((REPO / package).iterdir())
        if (folder / "__init__.py").is_file() and f"{folder.name}/" not in layout
    ]
    assert not missing, f"README's Layout section does not mention: {', '.join(missing)}"
