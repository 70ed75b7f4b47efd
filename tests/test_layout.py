"""The package's layout: no import circle between titlegen's modules (lazy imports inside
functions count too: a circle hidden in a function is still two modules that need each
other). test_cli checks that `titlegen --help` imports none of the heavy libraries."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "titlegen").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The titlegen modules ``path`` imports (outside ``if TYPE_CHECKING:`` blocks)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for child in block.body
        for node in ast.walk(child)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from titlegen.training import graph` runs titlegen/training/__init__.py too:
            # both the package and the module are imported.
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in modules and name != "titlegen"}


def test_no_import_circle():
    modules = _modules()
    graph = {name: _imports(path, modules) for name, path in modules.items()}
    circles = []

    def visit(name: str, trail: list[str]) -> None:
        for other in sorted(graph[name]):
            if other in trail:
                circles.append([*trail[trail.index(other) :], other])
            elif len(trail) < 30:
                visit(other, [*trail, other])

    for name in sorted(graph):
        visit(name, [name])
    assert circles == [], " ; ".join(" -> ".join(c) for c in circles[:5])
