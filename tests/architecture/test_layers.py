"""The architecture as a checked contract (docs/architecture.md).

* the layer contract in pyproject.toml holds (import-linter), and it does fail when a lower
  layer imports a higher one (shown on a copy of the package with one such import added);
* no import circle anywhere, at module level, inside a layer too (grimp's import graph);
* nothing imports the package's root facade, whose names are lazy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "autorec"
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(config: Path, pythonpath: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run([str(LINT), "--config", str(config), "--no-cache"], capture_output=True, text=True,
                          env=env, cwd=config.parent)


def test_the_layer_contract_holds():
    res = _lint(ROOT / "pyproject.toml", ROOT / "src")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "1 kept, 0 broken" in res.stdout


@pytest.mark.parametrize("lower, upper", [
    ("data/interactions.py", "autorec.search"),      # a data structure reaching for the search
    ("families/base.py", "autorec.estimators"),       # a family reaching for an estimator
    ("io/artifact.py", "autorec.estimators.rating"),  # the file format knowing an estimator
])
def test_an_upward_import_breaks_the_contract(tmp_path, lower, upper):
    pkg = tmp_path / "src" / "autorec"
    shutil.copytree(SRC, pkg, ignore=shutil.ignore_patterns("__pycache__", "bundled"))
    target = pkg / lower
    target.write_text(target.read_text() + f"\nimport {upper}  # deliberately upward\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    res = _lint(tmp_path / "pyproject.toml", tmp_path / "src")
    assert res.returncode != 0, res.stdout[-3000:]
    assert "BROKEN" in res.stdout and upper in res.stdout


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the components with more than one module (import circles)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on_stack.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def _module_graph() -> dict[str, set[str]]:
    g = grimp.build_graph("autorec")
    # a package's __init__ re-exporting its own submodules is not a circle between concerns:
    # edges from a package to its own children are left out, every other edge counts
    graph = {}
    for m in g.modules:
        deps = {d for d in g.find_modules_directly_imported_by(m) if not d.startswith(m + ".")}
        graph[m] = deps
    return graph


def test_the_tarjan_helper_finds_a_planted_circle():
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _strongly_connected({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_between_modules():
    graph = _module_graph()
    assert len(graph) > 50  # the real package, not an empty graph
    assert _strongly_connected(graph) == []


def test_nothing_imports_the_root_facade():
    graph = _module_graph()
    importers = sorted(m for m, deps in graph.items() if "autorec" in deps and m != "autorec")
    assert importers == [], f"import from the layer's own module (e.g. autorec._version), not the facade: {importers}"
