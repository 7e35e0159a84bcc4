"""The dependencies between MiniHub's apps, read from the source: no cycle between apps, and
minihub/integrations imports no app and no Django model (it is a client of outside
services; what it needs from a mini-program comes in as arguments)."""

import ast
from pathlib import Path

import pytest

from tests.helpers import PROJECT_DIR

PACKAGE_DIR = PROJECT_DIR / "minihub"
INTEGRATIONS = "integrations"


def components() -> list[str]:
    """The apps (minihub.<app>) and minihub.integrations."""
    return sorted(path.parent.name for path in PACKAGE_DIR.glob("*/__init__.py"))


def imported_modules(source: Path) -> set[str]:
    """Every module a file imports, at module level or inside a function."""
    modules = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def component_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "minihub" else None


def dependency_graph() -> dict[str, set[str]]:
    graph = {name: set() for name in components()}
    for name in graph:
        for source in (PACKAGE_DIR / name).rglob("*.py"):
            for module in imported_modules(source):
                target = component_of(module)
                if target in graph and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A path that returns to its start, or None; depth-first with colours."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_cycle_between_apps():
    graph = dependency_graph()
    assert {"core", "tenants", "accounts", "wechat", "notifications", INTEGRATIONS} <= set(graph)
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_apps_depend_on_each_other_in_one_direction():
    """The order the layout promises, so that a new edge is a decision, not an accident."""
    graph = dependency_graph()
    assert graph[INTEGRATIONS] == set()
    assert graph["core"] == set()
    assert "wechat" not in graph["accounts"]
    assert "notifications" not in graph["wechat"]


def test_integrations_import_no_app_and_no_model():
    offending = []
    for source in (PACKAGE_DIR / INTEGRATIONS).rglob("*.py"):
        for module in imported_modules(source):
            component = component_of(module)
            if (component and component != INTEGRATIONS) or module.startswith("django.db"):
                offending.append(f"{source.relative_to(PROJECT_DIR)}: {module}")
    assert offending == []


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"b"}, "b": {"b", "a"}}, ["a", "b", "a"]),
    ],
)
def test_the_cycle_finder_finds_cycles(graph, cycle):
    assert find_cycle(graph) == cycle


def test_imports_inside_functions_count(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("def job():\n    from minihub.wechat.services import push_event_handle\n")
    assert {component_of(module) for module in imported_modules(source)} == {"wechat"}
