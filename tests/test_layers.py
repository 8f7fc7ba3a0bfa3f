"""The package's layering: no import cycle between its packages, and no process-wide side effects
from importing it."""
import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import genarena

ROOT = Path(genarena.__file__).parent


def _package(module: str) -> str:
    """genarena.train.pair -> train; genarena.api -> api."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def package_imports() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> where ("file:line"), from every import statement in the
    source, including those inside functions (a lazy import is still a dependency)."""
    graph: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in ROOT.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        source = _package(module.removesuffix(".__init__"))
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for name in names:
                target = _package(name) if name.startswith("genarena.") else ""
                if target and target != source:
                    graph[source][target].append(f"{path.name}:{node.lineno}")
    return graph


def find_cycle(graph: dict[str, dict[str, list[str]]]) -> list[str]:
    """One cycle of the graph as [a, b, ..., a], or [] when there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, {}):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return []
    for node in list(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_walker_finds_a_cycle():
    assert find_cycle({"a": {"b": []}, "b": {"c": []}, "c": {"a": []}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b": []}, "b": {"c": []}}) == []


def test_no_import_cycle_between_packages():
    graph = package_imports()
    assert "train" in graph and "metrics" in graph["train"]          # the walker sees imports
    cycle = find_cycle(graph)
    where = [f"{a} -> {b} ({', '.join(graph[a][b][:2])})" for a, b in zip(cycle, cycle[1:])]
    assert not cycle, "import cycle: " + "; ".join(where)


def test_config_is_the_bottom_layer():
    assert set(package_imports()["config"]) <= {"errors"}


def test_importing_genarena_leaves_the_matplotlib_backend_alone():
    code = ("import matplotlib; matplotlib.use('svg'); import genarena; "
            "from genarena.report import plots; print(matplotlib.get_backend())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "svg"
