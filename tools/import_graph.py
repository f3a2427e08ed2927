"""The project's import graph: circles, imports against the layers' direction, lazy imports.

    python tools/import_graph.py            # a summary; exit 1 if anything is wrong
    python tools/import_graph.py --edges    # also every edge, module -> module

Packages of geo/ stand in layers (see README, Layout); a module may import its own package and
any package below it, never one above. An import inside a function is reported too: it is
either a heavy optional dependency (named in ALLOWED_LAZY) or a circle in hiding.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Top to bottom: a package may import only those after it in this list (and itself).
LAYERS = ("cli", "page", "export", "render", "view", "model", "store", "ships", "imports", "data", "geometry", "style",
          "safetext")
# Function-level imports that only defer a heavy or optional dependency, never a geo module.
ALLOWED_LAZY = {"psycopg", "matplotlib", "imageio", "openpyxl", "rasterio", "duckdb", "dask", "distributed",
                "playwright", "bench", "logging", "streamlit", "pyarrow", "shapely"}
# The command line imports its subcommands' modules when they run, so `inspect` starts in a blink.
LAZY_GEO_ALLOWED = {"geo.cli"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "geo" or len(parts) < 2:
        return None
    return parts[1]


def imports_of(path: Path, module: str):
    """(target module, line, lazy) for every geo import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{a.name}" if is_module(f"{base}.{a.name}") else base for a in node.names]
        else:
            continue
        for name in names:
            yield name, node.lineno, id(node) not in top_level


def is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def graph(files) -> tuple[dict[str, set[str]], list[str]]:
    edges: dict[str, set[str]] = {}
    problems = []
    for path in files:
        module = module_name(path)
        edges.setdefault(module, set())
        for target, line, lazy in imports_of(path, module):
            root = target.split(".")[0]
            where = f"{path.relative_to(ROOT)}:{line}"
            if lazy and root == "geo" and module not in LAZY_GEO_ALLOWED:
                problems.append(f"{where}: lazy import of {target} (import at the top, or move the code)")
            elif lazy and root != "geo" and root not in ALLOWED_LAZY and root not in sys.stdlib_module_names:
                problems.append(f"{where}: lazy import of {target}")
            if root != "geo" or not is_module(target):
                continue
            edges[module].add(target)
            src, dst = layer_of(module), layer_of(target)
            if src in LAYERS and dst in LAYERS and LAYERS.index(dst) < LAYERS.index(src):
                problems.append(f"{where}: {module} ({src}) imports {target} ({dst}), a layer above it")
    return edges, problems


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The same graph between packages (geo.view.records -> geo.view)."""
    def package(m):
        return ".".join(m.split(".")[:2])
    out: dict[str, set[str]] = {}
    for src, targets in edges.items():
        for dst in targets:
            if package(src) != package(dst):
                out.setdefault(package(src), set()).add(package(dst))
    return out


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    files = sorted((ROOT / "geo").rglob("*.py"))
    edges, problems = graph(files)
    found = circles(edges)
    package_circles = circles(package_edges(edges))
    app_lines = len((ROOT / "app.py").read_text(encoding="utf-8").splitlines())
    print(f"{len(files)} modules, {sum(len(t) for t in edges.values())} imports between them; app.py {app_lines} lines")
    for c in found:
        print("circle of modules: " + " -> ".join(c + c[:1]))
    for c in package_circles:
        print("circle of packages: " + " -> ".join(c + c[:1]))
    for p in problems:
        print(p)
    if "--edges" in argv:
        for src in sorted(edges):
            for dst in sorted(edges[src]):
                print(f"{src} -> {dst}")
    ok = not found and not package_circles and not problems
    print("no circles, no upward or lazy geo imports" if ok else "problems found")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
