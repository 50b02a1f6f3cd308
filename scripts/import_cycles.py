"""Print the import cycles of the edgederain package, read from its source with ``ast``.

Two graphs: module-level imports only (what runs at import time), and every import including
those inside functions (the lazy ones); each once between modules and once collapsed to
subpackages (``edgederain.export``, ``edgederain.calibration``...). A package importing its own
submodules is not counted. Needs networkx (installed with torch).

    .venv/bin/python scripts/import_cycles.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1] / "edgederain"


def module_files(root: Path) -> dict[str, Path]:
    files = {}
    for f in root.rglob("*.py"):
        parts = f.relative_to(root.parent).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return files


def targets(node: ast.Import | ast.ImportFrom, module: str, files: dict[str, Path]) -> set[str]:
    """The package modules an import statement in ``module`` loads."""
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            pkg = module if files[module].name == "__init__.py" else module.rsplit(".", 1)[0]
            for _ in range(node.level - 1):
                pkg = pkg.rsplit(".", 1)[0]
            base = f"{pkg}.{base}" if base else pkg
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
    else:
        names = [a.name for a in node.names]
    found = set()
    for name in names:
        while name and name not in files:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found - {module}


def graphs(files: dict[str, Path]) -> tuple[nx.DiGraph, nx.DiGraph]:
    top, every = nx.DiGraph(), nx.DiGraph()
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        lazy = {id(n) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                for n in ast.walk(fn)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for t in targets(node, module, files):
                    every.add_edge(module, t)
                    if id(node) not in lazy:
                        top.add_edge(module, t)
    return top, every


def by_subpackage(g: nx.DiGraph) -> nx.DiGraph:
    out = nx.DiGraph()
    for a, b in g.edges:
        pa, pb = (".".join(m.split(".")[:2]) for m in (a, b))
        if pa != pb:
            if not out.has_edge(pa, pb):
                out.add_edge(pa, pb, via=f"{a} -> {b}")
    return out


def report(label: str, g: nx.DiGraph) -> int:
    groups = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    print(f"{label}: {len(groups)} cycle group(s)")
    for group in groups:
        for cycle in sorted(nx.simple_cycles(g.subgraph(group)), key=len)[:8]:
            hops = zip(cycle, cycle[1:] + cycle[:1])
            print("  " + "; ".join(f"{a} -> {b}" + (f" ({g.edges[a, b]['via']})" if "via" in g.edges[a, b] else "")
                                   for a, b in hops))
    return len(groups)


def main() -> int:
    top, every = graphs(module_files(ROOT))
    found = 0
    for label, g in (("module-level imports", top), ("all imports (with those inside functions)", every)):
        found += report(f"modules, {label}", g) + report(f"subpackages, {label}", by_subpackage(g))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
