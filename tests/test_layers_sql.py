"""All SQL lives in storage/: no module in bot/ imports SQLAlchemy or the ORM row classes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BOT_MODULES = sorted((REPO / "bot").rglob("*.py"))
# bot/ may name a post's or a run's state; the row classes and sessions stay in storage/.
MODEL_NAMES_BOT_MAY_USE = frozenset({"PostState", "RunStatus"})


def sql_imports(path: Path) -> list[str]:
    """Every import in `path` (at the top or inside a function) that reaches past storage/."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {alias.name}"
                for alias in node.names
                if alias.name.split(".")[0] == "sqlalchemy" or alias.name == "storage.models"
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] == "sqlalchemy":
                found.append(f"line {node.lineno}: from {node.module} import ...")
            elif node.module == "storage.models":
                found += [
                    f"line {node.lineno}: from storage.models import {alias.name}"
                    for alias in node.names
                    if alias.name not in MODEL_NAMES_BOT_MAY_USE
                ]
            elif node.module == "storage":
                found += [
                    f"line {node.lineno}: from storage import models"
                    for alias in node.names
                    if alias.name == "models"
                ]
    return found


def test_bot_modules_are_found() -> None:
    assert REPO / "bot" / "scheduler.py" in BOT_MODULES


@pytest.mark.parametrize("path", BOT_MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_bot_runs_no_sql_of_its_own(path: Path) -> None:
    found = sql_imports(path)
    assert not found, (
        f"{path.relative_to(REPO)} reaches the database around storage/: {found}; "
        "add a function to storage/repository.py that returns a RunInfo/PostInfo-style "
        "value and call it instead"
    )


def test_the_check_sees_an_import_hidden_in_a_function(tmp_path: Path) -> None:
    module = tmp_path / "hidden.py"
    module.write_text(
        "from storage.models import PostState\n"
        "def runs(db):\n"
        "    from sqlalchemy import select\n"
        "    from storage.models import RunRow, RunStatus\n"
    )
    assert sql_imports(module) == [
        "line 3: from sqlalchemy import ...",
        "line 4: from storage.models import RunRow",
    ]
