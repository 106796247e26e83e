"""Issue 17 item 7: every concrete command line of README.md is run by the test suite, or, where it runs
for minutes, parsed by the command line and checked as the command checks it before running anything.

A line with a placeholder (``IMAGE``, ``CASE``, ``[--jobs 2]``) is a synopsis, not a command. The raw-data
workflow and the energy-density line run verbatim in ``tests/test_workflow.py``; ``twifli generate`` runs
here; sweeps are parsed and pre-checked (every ``--vary`` against the schema, the base case and
``--quantity``: what ``twifli sweep`` does before its first point); MPI launches must name the
environment's ``.venv/bin/twifli`` (``tests/test_mpi.py`` runs ``mpiexec -n 2`` on small cases).
"""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from twifli_fv.case import load_case
from twifli_fv.cli import _parser
from twifli_fv.drivers.sweep import RUN_QUANTITIES, check_base
from twifli_fv.drivers.sweep_grid import parse_vary

from .conftest import ROOT
from .test_workflow import README, TWIFLI, WORKFLOW, readme_commands

PLACEHOLDER = re.compile(r"^(?:[A-Z][A-Z_0-9]{2,}(?:\.\w+)?|KEY=.*)$")
LAUNCHERS = ("mpiexec", "srun")


def readme_lines() -> list[str]:
    """Every indented command line of README.md (comment after two spaces and '#' cut), in order."""
    lines = [re.split(r"\s{2,}#", line.strip())[0] for line in README.splitlines()
             if re.match(r"    (twifli|mpiexec|srun) ", line)]
    return list(dict.fromkeys(lines))


def is_synopsis(line: str) -> bool:
    return "[" in line or any(PLACEHOLDER.match(token) for token in shlex.split(line))


def concrete() -> list[str]:
    return [line for line in readme_lines() if not is_synopsis(line)]


def test_every_concrete_readme_command_is_covered():
    run_in_workflow = set(readme_commands(WORKFLOW)) | {
        c for c in readme_commands("## The command line") if c.startswith("twifli energy-density")}
    kinds = {"workflow": [], "generate": [], "sweep": [], "fit": [], "launch": []}
    for line in concrete():
        words = shlex.split(line)
        kind = ("workflow" if line in run_in_workflow else "launch" if words[0] in LAUNCHERS
                else words[1] if words[1] in ("generate", "sweep", "fit") else None)
        assert kind is not None, f"README line run by no test: {line}"
        kinds[kind].append(line)
    assert len(kinds["workflow"]) == 5 and kinds["generate"] and len(kinds["sweep"]) == 8 and len(kinds["launch"]) == 3
    assert len(kinds["fit"]) == 1


def test_readme_generate_line_runs(tmp_path):
    line = next(line for line in concrete() if line.startswith("twifli generate"))
    done = subprocess.run([str(TWIFLI), *shlex.split(line)[1:]], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "composite.png").stat().st_size > 1000


@pytest.mark.skipif(not TWIFLI.is_file(), reason="needs the installed .venv/bin/twifli")
def test_readme_launches_name_the_environments_twifli():
    """mpiexec and srun find programs on the PATH: the README gives .venv/bin/twifli, and the rest parses."""
    for line in (line for line in concrete() if line.split()[0] in LAUNCHERS):
        words = shlex.split(line)
        at = words.index(".venv/bin/twifli")  # the full path, not `twifli` (not on the PATH unless activated)
        _parser().parse_args(words[at + 1:])
        assert (ROOT / words[at]).is_file()


def test_readme_sweeps_parse_and_pass_the_checks_made_before_any_point(tmp_path):
    """The README's sweeps (minutes each) as `twifli sweep` checks them first; cases/c10_2h is made as the
    README describes it (a copy of cases/c10 beside it, one 2-hour charge)."""
    (tmp_path / "cases").mkdir()
    for name in ("meshes", "cases/c10", "cases/dense_lco", "cases/dense_lco_mechanics",
                 "cases/dense_lco_calibrated"):
        (tmp_path / name).symlink_to(ROOT / name)
    text = (ROOT / "cases" / "c10" / "case.toml").read_text()
    steps = re.search(r"^steps = .*$", text, re.M).group(0)
    (tmp_path / "cases" / "c10_2h").mkdir()
    (tmp_path / "cases" / "c10_2h" / "case.toml").write_text(
        text.replace(steps, 'steps = ["Charge at C/5 for 2 hours"]'))
    sweeps = [line for line in concrete() if line.startswith("twifli sweep")]
    for line in sweeps:
        args = _parser().parse_args(shlex.split(line)[1:])
        base = load_case(tmp_path / args.case)
        assert all(parse_vary(spec).name for spec in args.vary)  # each names one key of the case schema
        if base.get("model", "kind", "twifli") == "dense":  # quick to prepare: the whole pre-run check
            check_base(base, args.quantity)
        else:  # cases/c10 prepares a 3D tortuosity (8 s): its quantity is one every run reports
            assert args.quantity in RUN_QUANTITIES
    assert len(sweeps) == 8


def test_readme_fit_parses_and_its_keys_and_data_load():
    """The README's calibration (38 s with --jobs 2): its --free keys against the case, its data file read."""
    from twifli_fv.drivers.fit import parse_free
    from twifli_fv.drivers.fit_data import load_fit_data

    (line,) = [line for line in concrete() if line.startswith("twifli fit")]
    args = _parser().parse_args(shlex.split(line)[1:])
    case = load_case(ROOT / args.case)
    assert [p.name for spec in args.free for p in parse_free(spec, case=case)] == [
        "material.D_eff_cm2_s", "material.initial_stoichiometry"]
    assert load_fit_data(ROOT / args.data).kind == "capacity"
