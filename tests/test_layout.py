"""The package's rooms: each subpackage imports only the base modules and the rooms before it."""

from __future__ import annotations

import ast
from pathlib import Path

import training

PACKAGE = Path(training.__file__).parent
# Base modules any room may import; then the rooms in the order data flows through them.
BASE = {"errors", "labels", "io_utils", "outputs", "config", "pretrain_config", "metrics"}
ROOMS = ["inputs", "weak", "data", "model", "analysis", "hub", "fit", "serving", "review"]


def _modules() -> dict[str, Path]:
    return {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py") if "multilabel_f1" not in p.parts}


def _imports(path: Path, top_level_only: bool = False) -> set[str]:
    """`training.*` modules imported by the file (inside functions too, unless `top_level_only`)."""
    tree = ast.parse(path.read_text("utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("training"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("training"))
    return found


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_lives_in_the_base_or_a_known_room():
    for module in _modules():
        room = _room(module)
        assert room in BASE or room in ROOMS or module == "training", f"{module}: not in a room of the layout"


def test_rooms_import_only_earlier_rooms_and_the_base():
    for module, path in _modules().items():
        room = _room(module)
        for imported in _imports(path):
            target = _room(imported)
            if target in ("", room) or module == "training":
                continue
            if room in BASE:
                assert target in BASE, f"base module {module} imports the room {imported}"
            else:
                assert target in BASE or ROOMS.index(target) < ROOMS.index(room), \
                    f"{module} (room {room}) imports {imported}, a later room"


def test_no_module_imports_one_that_imports_it_back():
    modules = _modules()
    graph = {m: {i for i in _imports(p, top_level_only=True) if i in modules and i != m} for m, p in modules.items()}

    def reaches(start: str, goal: str, seen: set) -> bool:
        return any(n == goal or (n not in seen and not seen.add(n) and reaches(n, goal, seen)) for n in graph[start])

    cycles = [m for m in graph if reaches(m, m, set())]
    assert not cycles, f"import cycles through {cycles}"
