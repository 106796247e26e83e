"""The command line: JSON output, tables, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from twifli_fv.cli import main

from .conftest import MESHES, ROOT


def test_tortuosity_json_is_one_object(capsys, tmp_path):
    mask = np.zeros((10, 6), dtype=np.uint8)
    mask[:, 1] = 85  # a straight AM column
    mask[3:5, 4] = 170  # an isolated CBD island: does not percolate
    np.save(tmp_path / "img.npy", mask)
    assert main(["tortuosity", str(tmp_path / "img.npy"), "--labels", "0=SE,85=AM,170=CBD", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"AM", "SE", "CBD", "electronic"}
    assert set(data["AM"]) == {"volume_fraction", "percolating_fraction", "D_eff", "tau"}
    assert data["AM"]["tau"] == pytest.approx(1.0)
    assert data["CBD"]["tau"] is None
    assert main(["tortuosity", str(tmp_path / "img.npy"), "--labels", "0=SE,85=AM,170=CBD"]) == 0
    cbd = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("CBD"))
    assert cbd.split()[4] == "-" and "does not percolate (tau null in --json)" in cbd and "inf" not in cbd


def test_describe_prints_a_table(capsys):
    image = str(MESHES / "electrode_nmc_slice256.png")
    assert main(["describe", image, "--labels", "0=SE,85=AM,170=CBD", "--voxel-size-um", "0.27"]) == 0
    out = capsys.readouterr().out
    assert "AM particles" in out and "AM|SE" in out
    assert main(["describe", image, "--labels", "0=SE,85=AM,170=CBD", "--voxel-size-um", "0.27", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["profiles"]["y_um"]) == 256
    assert report["phases"]["SE"]["volume_fraction"] == pytest.approx(np.mean(np.asarray(Image.open(image)) == 0))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["tortuosity", "missing.tif", "--labels", "0=SE,85=AM"], "not found"),
        (["tortuosity", str(MESHES / "composite_2d.png"), "--labels", "0=SE,85=AM"], "labels [170]"),
        (["tortuosity", str(MESHES / "composite_2d.png"), "--labels", "0=SE,85=XX,170=CBD"], "unknown phase"),
        (["describe", str(MESHES / "composite_2d.png"), "--labels", "0=SE,85=AM,170=CBD", "--voxel-size-um", "-1"],
         "positive"),
        (["tortuosity", str(MESHES / "composite_2d.png"), "--labels", "0=SE,85=AM,170=CBD", "--axis", "2"], "--axis"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(args, fragment):
    run = subprocess.run([sys.executable, "-m", "twifli_fv.cli", *args], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in run.stderr, run.stderr
    assert run.stdout == ""


def test_readme_key_reference_is_generated_from_the_schema():
    from twifli_fv.case_keys import keys_markdown

    from .conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    shown = readme.split("<!-- case keys: begin -->\n", 1)[1].split("\n<!-- case keys: end -->", 1)[0]
    assert shown == keys_markdown()  # regenerate with `twifli keys --markdown` when a key changes
