"""The product's import graph (``synthesis``, ``api``, ``workers``), read with ``ast``:

- no import cycle among product modules (every import counts, function-level ones too; only
  ``if TYPE_CHECKING:`` blocks are left out, since they never run);
- no module-level import of ``benchmarks`` from a product module (a command function may
  import it lazily: ``medium bench``);
- ``asyncpg`` is imported only by ``synthesis/store.py``, the only door to the database (the
  benchmarks included);
- no raw SQL in ``workers/``, ``api/`` or ``benchmarks/``: every statement is a named query of
  ``synthesis/sql/*.sql`` run by a store method;
- no product module is over ``MAX_LINES`` lines (STYLE: split a module before about 400).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("synthesis", "api", "workers")
MAX_LINES = 400
# Where SQL may not be written: the store (synthesis/store*.py, synthesis/sql/) is the door.
NO_SQL_PACKAGES = ("workers", "api", "benchmarks")
# A string that starts like a SQL statement (upper-case keywords, as the project writes SQL) ...
SQL_STATEMENT = re.compile(
    r"^\s*(SELECT\s+\S|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|WITH\s+\w+\s+AS\s*\("
    r"|(CREATE|DROP|ALTER|TRUNCATE)\s+(TABLE|DATABASE|INDEX|FUNCTION|SCHEMA)\s)")
# ... or any string handed to a driver method, whatever its case.
DRIVER_METHODS = {"fetch", "fetchrow", "fetchval", "execute", "executemany"}


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
    assert bench
    assert not any(i.module_level for i in bench)
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


def _text(node: ast.AST) -> str | None:
    """A string literal's text; an f-string's literal parts with ``{}`` for each value."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def raw_sql(source: str, filename: str = "<string>") -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal in ``source`` that is SQL: it starts like a
    statement, or it is the first argument of a driver method (``conn.fetch("...")``).
    Docstrings are prose and are skipped."""
    tree = ast.parse(source, filename=filename)
    skip = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.body and isinstance(n.body[0], ast.Expr) and _text(n.body[0].value) is not None}
    # the parts of an f-string are judged with the f-string, not on their own
    skip |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    driver_args = {id(n.args[0]) for n in ast.walk(tree)
                   if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                   and n.func.attr in DRIVER_METHODS and n.args}
    for node in ast.walk(tree):
        text = _text(node)
        if text is None or id(node) in skip:
            continue
        if id(node) in driver_args or SQL_STATEMENT.match(text):
            yield getattr(node, "lineno", 0), text


def test_the_sql_finder_sees_literals_constants_and_fstrings() -> None:
    source = '''
"""Module docstring: SELECT pg_notify(...) is prose here."""
Q = """
SELECT count(*) FROM public.windows WHERE frame_id = $1"""
async def f(conn, n):
    """DELETE FROM nothing: a docstring."""
    await conn.execute("select 1")
    await conn.conn.fetchval("INSERT INTO frames (name) VALUES ($1) RETURNING id", "x")
    await conn.execute(f"UPDATE public.frames SET name = {n}")
    await conn.execute(f'CREATE DATABASE "{n}"')
    label = "Select a model"  # prose, not SQL
    await st.run_progress(["a"])
'''
    assert sorted(line for line, _ in raw_sql(source)) == [3, 7, 8, 9, 10]


def test_no_raw_sql_outside_the_store() -> None:
    bad = [f"{path.relative_to(ROOT)}:{line}: {text.strip()[:60]!r}"
           for pkg in NO_SQL_PACKAGES for path in sorted((ROOT / pkg).rglob("*.py"))
           for line, text in raw_sql(path.read_text(), str(path))]
    assert bad == []


def test_asyncpg_only_in_the_store_benchmarks_included() -> None:
    bad = [f"{path.relative_to(ROOT)}:{imp.line}" for path in sorted((ROOT / "benchmarks").rglob("*.py"))
           for imp in imports_of(path) if imp.target.split(".")[0] == "asyncpg"]
    assert bad == []
