"""The product's import graph (``synthesis``, ``api``, ``workers``), read with ``ast``:

- no import cycle among product modules (every import counts, function-level ones too; only
  ``if TYPE_CHECKING:`` blocks are left out, since they never run);
- no module-level import of ``benchmarks`` from a product module (a command function may
  import it lazily: ``medium bench``);
- ``asyncpg`` is imported only by ``synthesis/store.py``, the only door to the database;
- no product module is over ``MAX_LINES`` lines (STYLE: split a module before about 400).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("synthesis", "api", "workers")
MAX_LINES = 400


@dataclass(frozen=True)
class Import:
    target: str  # the absolute module name as written, or resolved from a relative import
    names: tuple[str, ...]  # for ``from x import a, b``: ("a", "b"); else ()
    line: int
    module_level: bool  # False: inside a function or a method


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    return {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))
            if ".venv" not in p.parts}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(path: Path) -> list[Import]:
    """Every import in the file, relative ones resolved against its package."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other, in_function)
                continue
            if isinstance(child, ast.Import):
                out.extend(Import(a.name, (), child.lineno, not in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[:len(base) - (child.level - 1)]
                    target = ".".join([*base, child.module] if child.module else base)
                else:
                    target = child.module or ""
                out.append(Import(target, tuple(a.name for a in child.names), child.lineno, not in_function))
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(ast.parse(path.read_text(), filename=str(path)), False)
    return out


def resolve(imp: Import, modules: dict[str, Path]) -> set[str]:
    """The product modules an import loads: ``from pkg import mod`` names the submodule
    ``pkg.mod`` when there is one, else the module ``pkg`` itself. Importing ``a.b.c`` also
    runs the packages ``a`` and ``a.b``; their ``__init__`` files are edges too."""
    found: set[str] = set()
    parts = imp.target.split(".")
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if prefix in modules:
            found.add(prefix)
    for name in imp.names:
        if f"{imp.target}.{name}" in modules:
            found.add(f"{imp.target}.{name}")
    return found


def graph() -> dict[str, set[str]]:
    modules = product_modules()
    return {name: {dep for imp in imports_of(path) for dep in resolve(imp, modules) if dep != name}
            for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strongconnect(v)
    return found


def test_the_walker_resolves_relative_and_function_level_imports(tmp_path: Path) -> None:
    modules = product_modules()
    assert {"synthesis.store", "api.realtime", "workers.cli"} <= set(modules)
    bench = [i for i in imports_of(ROOT / "workers" / "commands" / "bench.py") if i.target.startswith("benchmarks")]
    assert bench and not any(i.module_level for i in bench)  # seen, and seen as lazy
    assert "api.app" in graph()["workers.commands.serve"]  # a function-level import is an edge
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert resolve(Import("synthesis", ("store",), 1, True), modules) == {"synthesis", "synthesis.store"}


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_no_product_module_imports_benchmarks_at_module_level() -> None:
    bad = [f"{name}:{imp.line}" for name, path in product_modules().items() for imp in imports_of(path)
           if imp.module_level and imp.target.split(".")[0] == "benchmarks"]
    assert bad == []


def test_asyncpg_only_in_the_store() -> None:
    bad = [f"{name}:{imp.line}" for name, path in product_modules().items() for imp in imports_of(path)
           if imp.target.split(".")[0] == "asyncpg" and name != "synthesis.store"]
    assert bad == []


def test_no_module_over_the_size_limit() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in product_modules().items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
