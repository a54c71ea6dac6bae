"""The package's imports: no cycle between its modules, and a light ``import otel_agentkit``.

The graph comes from the source (``ast``), not from running it: every
``import`` statement of every module, at module level or inside a function
(a deferred import is a dependency all the same; deferring it only hides the
cycle until the call). Imports under ``if TYPE_CHECKING:`` never run and do
not count. Importing ``a.b.c`` also runs ``a.b``'s ``__init__``, so it is an
edge to both, except to the packages that contain the importing module
(Python has started those before the module runs).
"""

from __future__ import annotations

import ast
import itertools
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import otel_agentkit

PACKAGE_DIR = Path(otel_agentkit.__file__).resolve().parent

#: Module -> {imported module: where the first such import is ("path:line")}.
Graph = dict[str, dict[str, str]]


def _module_names(package_dir: Path) -> dict[str, Path]:
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(nodes: Iterable[ast.AST]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in ``nodes`` that can run (not under ``if TYPE_CHECKING:``)."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node):
            yield from _runtime_imports(node.orelse)
        else:
            yield from _runtime_imports(ast.iter_child_nodes(node))


def _edges(name: str, path: Path, package_dir: Path, modules: Mapping[str, Path]) -> dict[str, str]:
    """What module ``name`` (at ``path``) imports: {module: "path:line" of the first import}."""
    is_package = path.name == "__init__.py"
    parts = name.split(".")
    containing = {".".join(parts[:i]) for i in range(1, len(parts) + (1 if is_package else 0))}
    where = path.relative_to(package_dir.parent)
    edges: dict[str, str] = {}

    def add(target: str, line: int) -> None:
        pieces = target.split(".")
        for i in range(1, len(pieces) + 1):
            module = ".".join(pieces[:i])
            explicit = i == len(pieces)
            if module in modules and module != name and (explicit or module not in containing):
                edges.setdefault(module, f"{where}:{line}")

    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
            continue
        base = node.module or ""
        if node.level:
            anchor = parts if is_package else parts[:-1]
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        for alias in node.names:
            submodule = f"{base}.{alias.name}"
            add(submodule if submodule in modules else base, node.lineno)
    return edges


def import_graph(package_dir: Path) -> Graph:
    """The import graph between the modules of the package in ``package_dir``."""
    modules = _module_names(package_dir)
    return {name: _edges(name, path, package_dir, modules) for name, path in modules.items()}


def find_cycle(graph: Mapping[str, Mapping[str, str]]) -> list[str] | None:
    """One cycle as a path of module names (first == last), or None when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, {})):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)) is not None:
            return found
    return None


def describe(graph: Mapping[str, Mapping[str, str]], cycle: list[str]) -> str:
    """``a -> b (a.py:3) -> a (b.py:7)``."""
    steps = [cycle[0]]
    for source, target in itertools.pairwise(cycle):
        steps.append(f"{target} ({graph[source][target]})")
    return " -> ".join(steps)


def test_no_import_cycle_inside_the_package() -> None:
    graph = import_graph(PACKAGE_DIR)
    assert "otel_agentkit.logs" in graph  # the walk found the package
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + describe(graph, cycle)


def _write_package(root: Path, files: Mapping[str, str]) -> Path:
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    return root / "pkg"


def test_graph_counts_deferred_imports_and_parent_packages_but_not_type_checking(
    tmp_path: Path,
) -> None:
    package = _write_package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import a\n",
            "pkg/a.py": """\
                from typing import TYPE_CHECKING

                if TYPE_CHECKING:
                    from pkg import b
                else:
                    import json

                def late():
                    from pkg.sub.c import thing
            """,
            "pkg/b.py": "from . import a\nfrom .a import late\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from .. import b\nfrom pkg.sub import d\nthing = 1\n",
            "pkg/sub/d.py": "",
        },
    )
    graph = import_graph(package)
    assert graph == {
        "pkg": {"pkg.a": "pkg/__init__.py:1"},
        "pkg.a": {"pkg.sub": "pkg/a.py:9", "pkg.sub.c": "pkg/a.py:9"},
        "pkg.b": {"pkg.a": "pkg/b.py:1"},
        "pkg.sub": {},
        "pkg.sub.c": {"pkg.b": "pkg/sub/c.py:1", "pkg.sub.d": "pkg/sub/c.py:2"},
        "pkg.sub.d": {},
    }
    cycle = find_cycle(graph)
    assert cycle == ["pkg.a", "pkg.sub.c", "pkg.b", "pkg.a"]
    assert describe(graph, cycle) == (
        "pkg.a -> pkg.sub.c (pkg/a.py:9) -> pkg.b (pkg/sub/c.py:1) -> pkg.a (pkg/b.py:1)"
    )


def test_find_cycle_is_none_for_a_tree() -> None:
    assert find_cycle({"a": {"b": "", "c": ""}, "b": {"c": ""}, "c": {}}) is None
    assert find_cycle({"a": {"a": ""}}) == ["a", "a"]


#: Third-party top-level packages ``import otel_agentkit`` may load: the API and its own needs.
ALLOWED_THIRD_PARTY = frozenset({"otel_agentkit", "opentelemetry", "typing_extensions"})
#: Parts of the ``opentelemetry`` namespace that are not the API.
NOT_THE_API = ("opentelemetry.sdk", "opentelemetry.exporter", "opentelemetry.instrumentation")
#: Standard-library modules that cost more than the budget allows, for things used on demand.
HEAVY_STDLIB = ("asyncio", "importlib.metadata")


def loaded_by(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = (
        f"import sys\n{code}\nloaded = sorted(sys.modules)\nimport json\nprint(json.dumps(loaded))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout))


def _matches(module: str, prefixes: Iterable[str]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def test_import_loads_no_sdk_client_framework_asyncio_or_importlib_metadata() -> None:
    already = loaded_by("pass")
    loaded = loaded_by("import otel_agentkit") - already
    assert {"otel_agentkit", "opentelemetry.trace"} <= loaded
    third_party = {m for m in loaded if m.partition(".")[0] not in sys.stdlib_module_names}
    offending = sorted(
        {m for m in third_party if m.partition(".")[0] not in ALLOWED_THIRD_PARTY}
        | {m for m in loaded if _matches(m, NOT_THE_API) or _matches(m, HEAVY_STDLIB)}
    )
    assert offending == []
