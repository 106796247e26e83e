"""The demos (``demos/``) run as a user runs them, one process each, and print the number they promise."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import ROOT


def demo(name: str, tmp_path) -> str:
    run = subprocess.run([sys.executable, str(ROOT / "demos" / name), str(tmp_path)], capture_output=True, text=True,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_image_to_profiles_demo(tmp_path):
    out = demo("image_to_profiles.py", tmp_path)
    assert re.search(r"RMSE 0\.0200$", out.strip()), out  # the "measurement" is the run lowered by 0.02


def test_dense_contact_sweep_demo(tmp_path):
    out = demo("dense_contact_sweep.py", tmp_path)
    high, low = (float(v) for v in re.search(r"at 1C: ([\d.]+) -> ([\d.]+) mAh/g", out).groups())
    assert 0 < low < high < 140, out  # losing 40 % of the contact loses capacity at 1C (paper 2, Fig 4e)


def test_readme_snippets_are_demos_and_run(tmp_path):
    readme = (ROOT / "README.md").read_text()
    demos = {path.name: path.read_text() for path in (ROOT / "demos").glob("*.py")}
    for block in re.findall(r"```python\n(.*?)```", readme, re.S):
        assert any(block in text for text in demos.values()), f"README snippet not in demos/: {block[:60]!r}"
    taus = demo("readme_tortuosity.py", tmp_path).split()
    assert abs(float(taus[0]) - 2.0896) < 1e-4 and taus[1] == "True"  # SE (no-flux sides, as TauFactor); AM+CBD percolate
    assert 0.99 < float(demo("readme_solver_step.py", tmp_path)) < 1.0  # one minute of charge from full
