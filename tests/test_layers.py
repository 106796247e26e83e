"""The package's layers, read from the imports: image -> mesh -> properties -> model -> solve -> outputs."""

from __future__ import annotations

import ast
from pathlib import Path

import twifli_fv

LAYERS = ("image", "mesh", "properties", "model", "solve", "outputs")
PACKAGE = Path(twifli_fv.__file__).parent


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_each_layer_imports_only_the_layers_before_it():
    upward = []
    for layer in LAYERS:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            for name in imported_modules(path):
                parts = name.split(".")
                if parts[0] == "twifli_fv" and len(parts) > 1 and parts[1] in LAYERS[LAYERS.index(layer) + 1 :]:
                    upward.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert upward == []


def test_only_the_solve_layer_imports_petsc4py():
    outside = [
        str(path.relative_to(PACKAGE))
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "solve"
        and any(name.split(".")[0] == "petsc4py" for name in imported_modules(path))
    ]
    assert outside == []
