"""The package's shape: imports point down the layers, no private names cross modules, modules stay small."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "seqsal"
MAX_MODULE_LINES = 600


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_imports_follow_the_layer_contract_in_pyproject():
    """import-linter checks the `layers` contract; a wrong-way import fails with the import named."""
    pytest.importorskip("importlinter")
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=PACKAGE.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 kept, 0 broken" in result.stdout


def test_no_module_imports_another_modules_private_names():
    """A leading underscore means "only this module uses it"; sharing it needs a public name."""
    offenders = []
    for path in _modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seqsal"):
                offenders += [f"{path.relative_to(PACKAGE.parent)}: {node.module}.{alias.name}"
                              for alias in node.names if alias.name.startswith("_") and alias.name != "__version__"]
    assert not offenders, "\n".join(offenders)


def test_no_module_is_over_600_lines():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not long, f"split these modules by concept: {long}"
