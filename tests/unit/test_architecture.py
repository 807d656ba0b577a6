"""The layers import one way and nothing imports back: no import cycle among stackctl's modules
(lazy imports inside functions count too), and no flow asks which target it runs on."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "stackctl"


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        name = ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stackctl"):
            for alias in node.names:
                whole = f"{node.module}.{alias.name}"
                found.add(whole if whole in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("stackctl"))
    return found & known


def test_no_import_cycle():
    mods = modules()
    graph = {name: imports(path, set(mods)) - {name} for name, path in mods.items()}
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for dep in sorted(graph[name]):
            assert state.get(dep) != 1, "import cycle: " + " -> ".join(trail[trail.index(dep):] + [name, dep]) \
                if dep in trail else f"import cycle through {name} -> {dep}"
            if dep not in state:
                visit(dep, trail + [name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_the_target_is_chosen_in_one_place():
    asking = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
              if re.search(r'target\s*[!=]=\s*"(swarm|compose)"', p.read_text())]
    assert asking == []


def test_only_a_kinds_module_names_its_tools():
    # a tool run: its name opening an argv list, or a name that is nothing but a tool
    tools = re.compile(r'\[\s*"(psql|redis-cli|mariadb)"|"(pg_dump|pg_dumpall|pg_restore|pg_isready|redis-check-rdb|'
                       r'mariadb-dump|mariadb-admin)"')
    naming = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
              if "kinds" not in p.parts and tools.search(p.read_text())]
    assert naming == []
