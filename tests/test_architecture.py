"""The layers of ARCHITECTURE.md, enforced: every import of the project's own code points down.

Each module's imports are read from its source (`ast`, nothing is run); a relative import is
resolved against the module's package. A module may import its own layer and the layers below
it; `flexprice_spec` imports neither half, `flexprice_cli` (the commands' shared conventions)
nothing of the project, and `contract_tests` imports nothing from `mock_server` except
`contract_tests/target.py`, the one place that starts a mock for self-tests.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# mock_server's layers, top first: a layer may import itself and those after it.
LAYERS = ["mock_server", "mock_server.devtools", "mock_server.http", "mock_server.domain",
          "mock_server.storage", "mock_server.schemas", "mock_server.core", "flexprice_spec", "flexprice_cli"]
GATE_MAY_START_THE_MOCK = {"contract_tests.target"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The project modules `path` imports, as absolute names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{alias.name}" for alias in node.names}
    return {m for m in found if m.split(".")[0] in ("mock_server", "flexprice_spec", "flexprice_cli", "contract_tests")}


def layer_of(name: str) -> int:
    """The index in `LAYERS` of the innermost layer holding `name`."""
    for index in range(len(LAYERS) - 1, -1, -1):
        if name == LAYERS[index] or name.startswith(LAYERS[index] + "."):
            return index
    raise AssertionError(f"{name} is in no layer")


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def existing(name: str) -> bool:
    """Whether `name` is a module or package of the checkout (not a name imported from one)."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


@pytest.mark.parametrize("path", modules("mock_server") + modules("flexprice_spec") + modules("flexprice_cli"),
                         ids=module_name)
def test_a_module_imports_only_its_own_layer_and_those_below(path: Path) -> None:
    own = layer_of(module_name(path))
    upward = sorted(m for m in imported(path) if existing(m) and not m.startswith("contract_tests")
                    and layer_of(m) < own)
    assert upward == [], f"{module_name(path)} ({LAYERS[own]}) imports a higher layer: {upward}"
    assert not any(m.startswith("contract_tests") for m in imported(path))


@pytest.mark.parametrize("path", modules("flexprice_spec"), ids=module_name)
def test_the_spec_model_imports_neither_half(path: Path) -> None:
    assert {m for m in imported(path) if not m.startswith("flexprice_spec")} == set()


@pytest.mark.parametrize("path", modules("flexprice_cli"), ids=module_name)
def test_the_command_conventions_import_nothing_of_the_project(path: Path) -> None:
    assert {m for m in imported(path) if not m.startswith("flexprice_cli")} == set()


@pytest.mark.parametrize("path", modules("contract_tests"), ids=module_name)
def test_the_gate_imports_nothing_of_the_mock_but_the_fixture_that_starts_it(path: Path) -> None:
    mock = sorted(m for m in imported(path) if m.startswith("mock_server"))
    if module_name(path) not in GATE_MAY_START_THE_MOCK:
        assert mock == [], f"{module_name(path)} imports {mock}"


def test_no_import_circle_between_the_modules_of_the_mock() -> None:
    graph = {module_name(p): {m for m in imported(p) if existing(m)}
             for p in modules("mock_server") + modules("flexprice_spec")}
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> None:
        if name in path:
            raise AssertionError("import circle: " + " -> ".join(path[path.index(name):] + [name]))
        if name in done:
            return
        path.append(name)
        for target in graph.get(name, ()):
            if target != name and not _is_parent(target, name):
                visit(target)
        path.pop()
        done.add(name)

    for name in graph:
        visit(name)


def _is_parent(package: str, name: str) -> bool:
    """A submodule importing its own package's `__init__` (`from . import x`) is no circle."""
    return name.startswith(package + ".")
