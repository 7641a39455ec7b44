#!/usr/bin/env python
"""Check the package's module-level imports: no cycles, and the layer order of docs/architecture.md.

    python scripts/check_imports.py        # exit status 1 and a list of offending edges otherwise

Only imports executed at module import time count (function-level imports are lazy by design);
``from . import X`` of a subpackage's own ``__init__`` counts as an edge to that package.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "openmm_madrax"
#: layers, lowest first: a module may import its own layer or lower ones only
LAYERS = [
    {"errors", "units", "params", "residues", "threads"},
    {"structure"},
    {"energy"},
    {"scoring", "openmm"},
    {"features", "mutate", "ddg", "torsion_fit", "ensembles", "llps", "batch", "distributed"},
    {"commands", "cli", "__init__"},  # "__init__": the package root (lazy re-exports)
]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def top_level_imports(path: Path, name: str):
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    for node in tree.body:  # module level only
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                target = ".".join(anchor + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("openmm_madrax"):
                subs = [f"{target}.{a.name}" for a in node.names]
                subs = [m for m in subs if (PKG.parent / (m.replace(".", "/") + ".py")).exists()
                        or (PKG.parent / m.replace(".", "/") / "__init__.py").exists()]
                if len(subs) < len(node.names):  # names defined in the package itself
                    yield target
                yield from subs
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("openmm_madrax"):
                    yield alias.name


def layer(mod: str) -> int:
    parts = mod.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    for k, names in enumerate(LAYERS):
        if key in names:
            return k
    return len(LAYERS)  # the package root (lazy re-exports) sits on top


def main() -> int:
    graph = {}
    for path in sorted(PKG.rglob("*.py")):
        name = module_name(path)
        graph[name] = sorted(set(t for t in top_level_imports(path, name) if t != name))
    bad = []
    for mod, deps in graph.items():
        for d in deps:
            if d in graph and layer(d) > layer(mod) and mod != "openmm_madrax":
                bad.append(f"layer: {mod} imports {d}")
    # cycles (DFS)
    state = {}
    stack = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in graph.get(m, []):
            if d not in graph:
                continue
            if state.get(d) == 1:
                bad.append("cycle: " + " -> ".join(stack[stack.index(d):] + [d]))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m)
    for line in bad:
        print(line)
    print(f"{len(graph)} modules, {sum(len(v) for v in graph.values())} import edges, {len(bad)} problem(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
