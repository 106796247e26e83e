"""The package's layers import only downwards (image -> mesh -> properties -> model -> solve -> outputs ->
drivers -> CLI), read from each module's import statements; only the solve layer imports petsc4py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "twifli_fv"
LAYERS = ["errors", "parameters", "case", "image", "mesh", "properties", "model", "solve", "outputs", "drivers", "cli"]
RANK = {name: rank for rank, name in enumerate(LAYERS)}
RANK["cli_image"] = RANK["cli_studies"] = RANK["cli"]  # the CLI's commands on images and studies
RANK |= {"errors": 0, "parameters": 0, "case": 0, "case_keys": 0, "memory": 0, "ranks": 0}  # the base: no package imports but errors


def layer(module: str) -> str:
    """``twifli_fv.solve.twifli`` -> ``solve``; the package itself is the top."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "cli"


def imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_flow_down_the_layers(path):
    own = layer("twifli_fv." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    upward = [m for m in imports(path) if m.startswith("twifli_fv.") and RANK[layer(m)] > RANK[own]]
    assert not upward, f"{path.name} ({own}) imports from higher layers: {upward}"
    if own != "solve":
        assert not [m for m in imports(path) if m.startswith("petsc4py")], f"{path.name} imports petsc4py"


def test_every_module_is_in_a_layer():
    assert {layer("twifli_fv." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)) for p in MODULES} <= set(RANK)
