"""The layers of docs/architecture.md, checked on the source: every import points down.

Each module's imports of ``jiaolong_ledger.*`` (including those under ``TYPE_CHECKING`` and
inside functions) are read with ``ast`` and judged against the layer table below.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import jiaolong_ledger

PACKAGE = Path(jiaolong_ledger.__file__).parent

# Layer of each top-level part of the package; a module may import its own part and any part
# of a strictly lower layer. Sub-domains share a layer and never import each other.
LAYERS: dict[str, int] = {
    "errors": 0,
    "money": 1,
    "logs": 0,
    "intake": 1,
    "limits": 0,
    "storage": 1,
    "accounts": 2,
    "journal": 3,
    "escrow": 4,
    "fx": 4,
    "clearing": 4,
    "financing": 4,
    "unit_of_work": 5,
    "adapters": 6,
    "audit": 6,
    "schema": 6,
    "ledger": 7,
    "testing": 8,
    "demo": 8,
    "cli": 9,
    "__init__": 10,
}
# Exceptions with a reason: the user-facing strategies build whole ledgers.
ALLOWED: set[tuple[str, str]] = {
    ("testing", "ledger"),
    ("demo", "ledger"),
    ("cli", "ledger"),
}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> list[Path]:
    return sorted(path for path in PACKAGE.rglob("*.py"))


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            if node.module != "jiaolong_ledger":  # `from jiaolong_ledger import intake`: intake
                names.append(node.module)
            found += [(node.lineno, name) for name in names if name.startswith("jiaolong_ledger")]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, alias.name)
                for alias in node.names
                if alias.name.startswith("jiaolong_ledger")
            ]
    return found


def _own_part(path: Path) -> str:
    first = path.relative_to(PACKAGE).parts[0]
    return "__init__" if first == "__init__.py" else first.removesuffix(".py")


def _violations() -> list[str]:
    problems = []
    for path in _modules():
        own = _own_part(path)
        if own == "__main__" or own.startswith("_"):
            own = own if own in LAYERS else "cli"
        for line, name in _imports(path):
            target = _part(name)
            if target not in LAYERS or target == own or (own, target) in ALLOWED:
                continue
            if LAYERS[target] >= LAYERS[own]:
                problems.append(f"{path.relative_to(PACKAGE)}:{line}: {own} imports {name}")
    return sorted(set(problems))


def test_every_part_has_a_layer() -> None:
    parts = {_own_part(path) for path in _modules()}
    assert parts - set(LAYERS) <= {"py"}, sorted(parts - set(LAYERS))


def test_imports_point_down() -> None:
    assert _violations() == []


@pytest.mark.parametrize("forbidden", ["engine.connect(", "engine.begin("])
def test_only_the_database_seam_opens_connections(forbidden: str) -> None:
    seam = PACKAGE / "storage" / "database.py"
    users = [
        str(path.relative_to(PACKAGE))
        for path in _modules()
        if path != seam and forbidden in path.read_text(encoding="utf-8")
    ]
    # migrate.py runs Alembic, which needs a connection of its own before any ledger exists.
    assert users == ["storage/migrate.py"] or users == [], users
