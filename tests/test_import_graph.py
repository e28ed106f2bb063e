"""The gateway's imports point down: no two of its modules import each other, however far round,
and none of them imports the command line or anything else under tools/. In the command line,
no command module (`*cmds`) imports another: what two commands share has a module of its own.

Every import counts, those under `if TYPE_CHECKING:` and inside functions too: a cycle there is
still two modules that each need the other to be read.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = ROOT / "gateway"
TOOLS = ROOT / "tools"

# cycles and upward imports still in the tree, each named once; remove one here when it goes
REMAINING_CYCLES: set[frozenset[str]] = set()
REMAINING_UPWARD: set[tuple[str, str]] = set()


def modules_under(folder: Path) -> dict[str, Path]:
    """Every module of the packages in `folder`, by its dotted name."""
    modules = {}
    for path in sorted(folder.rglob("*.py")):
        parts = list(path.relative_to(folder).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module `name` imports (a name imported from a package counts as the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return found


def import_graph(folder: Path = GATEWAY) -> dict[str, set[str]]:
    known = modules_under(folder)
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in graph:
                continue  # outside the gateway
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.add(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_gateway_module_takes_part_in_a_new_import_cycle():
    new = cycles(import_graph()) - REMAINING_CYCLES
    assert not new, "import cycles in gateway/: " + "; ".join(
        " <-> ".join(sorted(cycle)) for cycle in sorted(new, key=sorted))


def test_the_remaining_import_cycles_are_still_there_or_struck_off():
    gone = REMAINING_CYCLES - cycles(import_graph())
    assert not gone, "no longer a cycle, strike it off REMAINING_CYCLES: " + "; ".join(
        " <-> ".join(sorted(cycle)) for cycle in gone)


def test_nothing_in_the_gateway_imports_the_command_line_or_tools():
    # tools/ holds packages (edgecli), modules and folders of scripts; none is for the gateway
    tools = {path.stem for path in (ROOT / "tools").iterdir()
             if path.suffix == ".py" or path.is_dir()}
    upward = {(name, imported) for name, imported_all in import_graph().items()
              for imported in imported_all if imported.split(".")[0] in tools}
    assert upward <= REMAINING_UPWARD, "gateway/ imports tools/: " + "; ".join(
        f"{name} imports {imported}" for name, imported in sorted(upward - REMAINING_UPWARD))


def test_no_command_module_imports_another():
    graph = {name: imported for name, imported in import_graph(TOOLS).items()
             if name.startswith("edgecli.")}
    commands = {name for name in graph if name.endswith("cmds")}
    crossing = {(name, imported) for name in commands for imported in graph[name]
                if imported in commands and imported != name}
    assert not crossing, "command modules importing each other: " + "; ".join(
        f"{name} imports {imported}" for name, imported in sorted(crossing))
