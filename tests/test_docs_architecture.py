"""docs/architecture.md stays true: its Python runs, its layer table is the import test's, and
every file and function it names exists.

The ``python`` blocks run in order, as one session (later blocks use what earlier ones made), in
a subprocess whose working directory is a fresh temporary directory, so the page's
``sqlite:///jiaolong.db`` is a scratch database there and the tables a block declares never
reach this process's metadata. A traceback names the line of the page.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "src" / "jiaolong_ledger"
IMPORT_ARROWS = ROOT / "tests" / "architecture" / "test_import_arrows.py"

RUNNER = """
import json, sys
blocks = json.loads(open(sys.argv[1], encoding="utf-8").read())
session = {"__name__": "__main__"}
for first_line, code in blocks:
    # Pad so that a traceback's line numbers are the page's.
    exec(compile("\\n" * (first_line - 1) + code, sys.argv[2], "exec"), session)
print(f"ran {len(blocks)} blocks")
"""


def _text() -> str:
    return PAGE.read_text(encoding="utf-8")


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(first line of code, code)`` of each fenced ``python`` block, in page order."""
    blocks: list[tuple[int, str]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].strip() == "```python":
            start = index + 1
            end = start
            while lines[end].strip() != "```":
                end += 1
            blocks.append((start + 1, "\n".join(lines[start:end]) + "\n"))
            index = end
        index += 1
    return blocks


def table_after(text: str, marker: str) -> list[list[str]]:
    """The cells of each body row of the Markdown table that follows ``marker``."""
    rows = []
    lines = text.split(marker, 1)[1].strip().splitlines()
    for line in lines[2:]:  # skip the header and the |---| line
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def code_names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def _import_arrows() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_import_arrows_for_docs", IMPORT_ARROWS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _defined(path: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """Names of every function and class in ``path`` (nested ones too), and (class, method)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    methods: set[tuple[str, str]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    methods.add((node.name, item.name))
    return names, methods


def test_every_python_block_runs(tmp_path: Path) -> None:
    blocks = python_blocks(_text())
    assert len(blocks) >= 5, "the page lost its examples"
    (tmp_path / "blocks.json").write_text(json.dumps(blocks), encoding="utf-8")
    runner = tmp_path / "run_blocks.py"
    runner.write_text(RUNNER, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(runner), str(tmp_path / "blocks.json"), str(PAGE)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(f"ran {len(blocks)} blocks")


def test_the_layer_table_is_the_import_tests_table() -> None:
    arrows = _import_arrows()
    documented: dict[str, int] = {}
    for cells in table_after(_text(), "<!-- layers -->"):
        for part in code_names(cells[0]):
            assert part not in documented, f"{part} appears twice in the layer table"
            documented[part] = int(cells[1])
    assert documented == arrows.LAYERS


def test_the_allowed_exceptions_are_the_ones_described() -> None:
    arrows = _import_arrows()
    assert {target for _, target in arrows.ALLOWED} == {"ledger"}
    described = _text().split("allowed exceptions", 1)[1].split("\n\n", 1)[0]
    for part, _ in arrows.ALLOWED:
        assert f"`{part}`" in described, part


def test_every_step_of_the_walkthrough_names_real_code() -> None:
    rows = table_after(_text(), "<!-- walkthrough -->")
    assert [int(cells[0]) for cells in rows] == list(range(1, len(rows) + 1))
    missing = []
    for cells in rows:
        (file,) = code_names(cells[1])
        path = PACKAGE / file
        assert path.is_file(), f"step {cells[0]}: no {file}"
        names, methods = _defined(path)
        for name in code_names(cells[2]):
            owner, _, method = name.rpartition(".")
            found = (owner, method) in methods if owner else name in names
            if not found:
                missing.append(f"step {cells[0]}: {name} is not defined in {file}")
    assert missing == []


def test_every_file_the_page_names_exists() -> None:
    missing = []
    for token in set(re.findall(r"`([\w./]+\.py)(?:::(\w+))?`", _text())):
        file, function = token
        if "/" not in file:
            continue  # a bare file name inside a described package (e.g. tables.py)
        candidates = [ROOT / file, PACKAGE / file]
        path = next((candidate for candidate in candidates if candidate.is_file()), None)
        if path is None:
            if not file.startswith("rebates/"):  # the page's example of a new sub-domain
                missing.append(file)
            continue
        if function and function not in _defined(path)[0]:
            missing.append(f"{file}::{function}")
    assert missing == []
