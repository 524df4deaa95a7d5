"""The package's shape: imports run one way, modules stay small, utils stay light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "hei_nw"

# Which packages each package may import (utils <- models <- prompts <- memory <-
# consolidation <- eval <- cli; datasets and metrics are data/scoring leaves).
ALLOWED: dict[str, set[str]] = {
    "utils": {"utils"},
    "datasets": {"utils", "datasets"},
    "models": {"utils", "models"},
    "metrics": {"utils", "models", "metrics"},
    "prompts": {"utils", "models", "prompts"},
    "memory": {"utils", "models", "metrics", "prompts", "memory"},
    "baselines": {"utils", "memory", "baselines"},
    "consolidation": {
        "utils",
        "datasets",
        "models",
        "metrics",
        "prompts",
        "memory",
        "consolidation",
    },
    "replay": {"consolidation"},
    "experimental": {"utils", "models", "experimental"},
    "eval": {
        "utils",
        "datasets",
        "models",
        "metrics",
        "prompts",
        "memory",
        "baselines",
        "consolidation",
        "eval",
    },
    "cli": {
        "utils",
        "datasets",
        "models",
        "metrics",
        "prompts",
        "memory",
        "baselines",
        "consolidation",
        "eval",
        "cli",
    },
    "__init__": set(),
}


def package_of(path: Path, root: Path = SRC) -> str:
    rel = path.relative_to(root)
    return (
        rel.parts[0].removesuffix(".py")
        if len(rel.parts) > 1 or rel.name != "__init__.py"
        else "__init__"
    )


def _skipped(node: ast.AST) -> bool:
    """``if __name__ == "__main__":`` (entry shims) and ``if TYPE_CHECKING:`` blocks."""
    if not isinstance(node, ast.If):
        return False
    test = ast.unparse(node.test)
    return test in ("__name__ == '__main__'", "TYPE_CHECKING")


def imported_packages(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    out: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if _skipped(child):
                continue
            if isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                names = [child.module]
            elif isinstance(child, ast.Import):
                names = [a.name for a in child.names]
            else:
                names = []
            for name in names:
                parts = name.split(".")
                if parts[0] == "hei_nw" and len(parts) > 1:
                    out.append((getattr(child, "lineno", 0), parts[1]))
            visit(child)

    visit(tree)
    return out


def violations(root: Path = SRC) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        pkg = package_of(path, root)
        allowed = ALLOWED.get(pkg)
        assert allowed is not None, f"{path}: package {pkg!r} has no import rule; add it to ALLOWED"
        for line, target in imported_packages(path):
            if target not in allowed:
                bad.append(f"{path.relative_to(root)}:{line} imports hei_nw.{target}")
    return bad


def test_imports_run_one_way():
    assert violations() == []


def test_rule_catches_an_upward_import(tmp_path):
    # The check itself must fail on a violation: a memory module importing eval.
    pkg = tmp_path / "hei_nw" / "memory"
    pkg.mkdir(parents=True)
    (pkg / "bad.py").write_text("from hei_nw.eval.harness import evaluate\n")
    (pkg / "fine.py").write_text("if __name__ == '__main__':\n    from hei_nw.cli import harness\n")
    assert violations(tmp_path / "hei_nw") == ["memory/bad.py:1 imports hei_nw.eval"]


def test_no_module_exceeds_500_lines():
    long = [
        f"{p.relative_to(SRC)}: {n}"
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    ]
    assert long == []


@pytest.mark.parametrize("module", ["hei_nw", "hei_nw.utils", "hei_nw.datasets"])
def test_light_modules_do_not_import_torch(module):
    code = f"import sys, {module}; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
