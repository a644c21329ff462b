"""Imports point one way: the framework (paddle_reg/) never imports a task, and only the CLI imports the report."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

REPORT_USERS = {"paddle_reg/run.py", "paddle_reg/tune.py"}  # the commands that end by writing their report


def imports(relpath: str, source: str) -> set[str]:
    """Every module the file imports, relative imports resolved, ``from a import b`` counted as ``a`` and ``a.b``."""
    package = list(Path(relpath).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else node.module
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def offending(relpath: str, source: str) -> list[str]:
    """What a framework file imports that it must not: any task, and the report unless it is the report or the CLI."""
    forbidden = ["paddle_reg.tasks"]
    if not relpath.startswith("paddle_reg/report/") and relpath not in REPORT_USERS:
        forbidden.append("paddle_reg.report")
    return sorted(m for m in imports(relpath, source) if any(m == f or m.startswith(f + ".") for f in forbidden))


@pytest.mark.parametrize("relpath", sorted(str(p.relative_to(REPO)) for p in (REPO / "paddle_reg").rglob("*.py")))
def test_framework_module_imports_no_task_and_no_report(relpath):
    found = offending(relpath, (REPO / relpath).read_text(encoding="utf-8"))
    assert found == [], f"{relpath} imports {found}: find a task through paddle_reg.task_registry, and move what " \
                        f"both sides need into the framework"


@pytest.mark.parametrize("relpath,source,found", [
    ("paddle_reg/facts.py", "from paddle_reg.tasks.mnist import MLP",
     ["paddle_reg.tasks.mnist", "paddle_reg.tasks.mnist.MLP"]),
    ("paddle_reg/probes.py", "import paddle_reg.report.collect", ["paddle_reg.report.collect"]),
    ("paddle_reg/grid.py", "from paddle_reg import tasks", ["paddle_reg.tasks"]),
    ("paddle_reg/regularizers/layers.py", "def f():\n    from ..report import collect",
     ["paddle_reg.report", "paddle_reg.report.collect"]),
    ("paddle_reg/report/build.py", "from .. import tasks", ["paddle_reg.tasks"]),
    ("paddle_reg/report/build.py", "from paddle_reg.report.collect import summarize", []),
    ("paddle_reg/run.py", "from paddle_reg.report import write_index", []),
    ("paddle_reg/grid.py", "from paddle_reg.task_registry import get_task", []),
])
def test_the_check_sees_every_form_of_import(relpath, source, found):
    assert offending(relpath, source) == found
