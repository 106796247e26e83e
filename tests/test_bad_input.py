"""A battery of bad inputs (issue 12): each ends in one stderr line naming the culprit, the right exit status,
no traceback and no summary.json. Run in-process through :func:`twifli_fv.cli.main`."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from twifli_fv.cli import main

from .conftest import MESHES, ROOT
from .test_run import CASE as RUN_CASE

STEP = '"Charge at 2C for 1 minute"'
CASE = (RUN_CASE.replace('crop = "0:48,0:32"', 'crop = "0:24,0:16"')  # a small, quick case
        .replace('"Charge at 2C for 10 minutes", "Rest for 2 minutes", "Discharge at 1 mA/cm2 for 4 minutes"', STEP)
        .replace("frame_interval_s = 60\nfields_interval_s = 240", "frame_interval_s = 30"))


# id: (old text, new text, fragment of the error)
BAD_CASES = {
    "voxel 1e-9": ("voxel_size_um = 0.27", "voxel_size_um = 1e-9", "voxel_size_um = 1e-09: 1e-09 is outside [0.001, 1000] um"),
    "voxel 0": ("voxel_size_um = 0.27", "voxel_size_um = 0", "voxel_size_um = 0: 0 is outside [0.001, 1000] um"),
    "voxel negative": ("voxel_size_um = 0.27", "voxel_size_um = -1", "voxel_size_um = -1"),
    "voxel nan": ("voxel_size_um = 0.27", "voxel_size_um = nan", "voxel_size_um = nan: must be finite"),
    "voxel inf": ("voxel_size_um = 0.27", "voxel_size_um = 1e400", "voxel_size_um = inf: must be finite"),
    "voxel text": ("voxel_size_um = 0.27", 'voxel_size_um = "a"', "'image.voxel_size_um' has the wrong type"),
    "c_sat 1e-300": ("c_sat_mol_m3 = 48000", "c_sat_mol_m3 = 1e-300", "c_sat_mol_m3 = 1e-300: 1e-300 is outside [1, 1e+06]"),
    "c_sat inf": ("c_sat_mol_m3 = 48000", "c_sat_mol_m3 = 1e400", "c_sat_mol_m3 = inf: must be finite"),
    "D_trace 0": ("D_trace_cm2_s = 1e-10", "D_trace_cm2_s = 0", "D_trace_cm2_s = 0: 0 is outside [1e-20, 0.01] cm^2/s"),
    "D_trace 1": ("D_trace_cm2_s = 1e-10", "D_trace_cm2_s = 1", "D_trace_cm2_s = 1: 1 is outside"),
    "c_max negative": ("c_max_mol_m3 = 51765", "c_max_mol_m3 = -5", "c_max_mol_m3 = -5"),
    "c_sat above c_max": ("c_max_mol_m3 = 51765", "c_max_mol_m3 = 40000", "exceeds c_max_mol_m3"),
    "D_cap below D_trace": ("c_max_mol_m3 = 51765", "c_max_mol_m3 = 51765\nD_cap_cm2_s = 1e-11", "must exceed D_trace"),
    "tau_e 0.5": ("tau_e = 2.0", "tau_e = 0.5", "tau_e = 0.5: 0.5 is outside [1, 10000]"),
    "tau_Li inf": ("tau_Li = 3.5", "tau_Li = inf", "tau_Li = inf: must be finite"),
    "coarsen 0": ("crop =", "coarsen = 0\ncrop =", "coarsen = 0: 0 is outside [1, 1000]"),
    "refine 0": ("crop =", "refine = 0\ncrop =", "refine = 0"),
    "refine 1000": ('crop = "0:24,0:16"', "refine = 1000", "refine = 1000 gives 6.55e+10 voxels: needs about"),
    "thickness axis 5": ("crop =", "thickness_axis = 5\ncrop =", "thickness_axis = 5: 5 is outside [0, 2]"),
    "collector middle": ("crop =", 'collector_at = "middle"\ncrop =', "collector_at = 'middle': use one of 'start', 'end'"),
    "in_plane wrap": ("crop =", 'in_plane = "wrap"\ncrop =', "in_plane = 'wrap': use one of 'periodic', 'no-flux'"),
    "crop empty": ('crop = "0:24,0:16"', 'crop = "0:0,0:16"', "crop"),
    "crop text": ('crop = "0:24,0:16"', 'crop = "a"', "crop"),
    "label unmapped": ('labels = "0=SE,85=AM,170=CBD"', 'labels = "0=SE,85=AM"', "are not in the label map"),
    "label phase unknown": ('labels = "0=SE,85=AM,170=CBD"', 'labels = "0=SE,85=XX,170=CBD"', "XX"),
    "key typo": ("D_trace_cm2_s =", "D_trase_cm2_s =", "unknown key 'material.D_trase_cm2_s' (did you mean 'D_trace_cm2_s'?)"),
    "table typo": ("[material]", "[materail]", "unknown table [materail] (did you mean 'material'?)"),
    "image missing": ("electrode_nmc_slice256.png", "nothing_here.png", "nothing_here.png: image file not found"),
    "law unknown": ('diffusivity = "anomalous"', 'diffusivity = "linear"', "diffusivity = 'linear': use one of"),
    "table law without csv": ('diffusivity = "anomalous"', 'diffusivity = "table"', "needs material.table_csv"),
    "table csv missing": ('diffusivity = "anomalous"', 'diffusivity = "table"\ntable_csv = "no.csv"', "no.csv: cannot read"),
    "gitt fit missing": ('diffusivity = "anomalous"', 'diffusivity = "gitt_fit"\ngitt_fit_json = "no.json"', "no.json: cannot read"),
    "capacity without density": ("c_max_mol_m3 = 51765", "c_max_mol_m3 = 51765\nspecific_capacity_mAh_g = 160",
                                 "give both material.specific_capacity_mAh_g"),
    "frame 0": ("frame_interval_s = 30", "frame_interval_s = 0", "frame_interval_s = 0: 0 is outside (0, 1e+08] s"),
    "frame inf": ("frame_interval_s = 30", "frame_interval_s = 1e400", "frame_interval_s = inf: must be finite"),
    "no steps": (f"steps = [{STEP}]", "steps = []", "protocol: no steps"),
    "steps a string": (f"steps = [{STEP}]", f"steps = {STEP}", "'protocol.steps' has the wrong type"),
    "c_rate 0": ("[protocol]", "[protocol]\nc_rate = 0", "c_rate = 0: 0 is outside (0, 1000] C"),
    "c_rate 5000": ("[protocol]", "[protocol]\nc_rate = 5000", "c_rate = 5000"),
    "not toml": ("[protocol]", "[protocol\n", "not valid TOML"),
}
# id: (table, key line added to the case, fragment of the error)
ADDED_KEYS = {
    "model kind": ("model", 'kind = "p2d"', "kind = 'p2d': use one of 'twifli', 'dense'"),
    "normalisation": ("model", 'normalisation = "x"', "normalisation = 'x': use one of"),
    "dense key": ("cell", "thickness_um = 5", "'cell.thickness_um' is not used by model.kind"),
    "fields negative": ("output", "fields_interval_s = -1", "fields_interval_s = -1"),
    "profile times text": ("output", 'profile_times_h = ["a"]', "profile_times_h = ['a']: every entry must be a number"),
    "profile times negative": ("output", "profile_times_h = [-1]", "profile_times_h = [-1]: -1 is outside [0, 100000] h"),
    "plots text": ("output", 'plots = "yes"', "'output.plots' has the wrong type"),
    "sweep_tol 0": ("solver", "sweep_tol = 0", "sweep_tol = 0: 0 is outside (0, 0.1]"),
    "max_sweeps 1": ("solver", "max_sweeps = 1", "max_sweeps = 1: 1 is outside [2, 10000]"),
    "linear_tol 1": ("solver", "linear_tol = 1", "linear_tol = 1: 1 is outside (0, 0.01]"),
    "dt_initial 0": ("solver", "dt_initial_s = 0", "dt_initial_s = 0"),
    "dt_max inf": ("solver", "dt_max_s = 1e400", "dt_max_s = inf: must be finite"),
    "max_change twifli": ("solver", "max_change = 0.1", "'solver.max_change' is not used"),
}
BAD_STEPS = {
    "1e400C": ("Charge at 1e400C for 1 hour", "rate '1e400C' is outside 1e-06C to 1000C"),
    "C/1e400": ("Charge at C/1e400 for 1 hour", "rate 'C/1e400' is outside"),
    "1e400 hours": ("Charge at C/10 for 1e400 hours", "duration '1e400 hours' is outside (0, 1e+08] s"),
    "rest 1e400 s": ("Rest for 1e400 s", "duration '1e400 s' is outside"),
    "ten hours": ("Charge at C/10 for ten hours", "cannot read the duration 'ten hours'"),
    "no for": ("Charge at C/10 2 hours", "cannot read the rate 'C/10 2 hours'"),
    "never ends": ("Charge at C/10", "never ends"),
    "rest never ends": ("Rest", "'Rest' never ends"),
    "malformed": ("Sleep for 3 h", "'Sleep for 3 h' is malformed"),
    "negative": ("Charge at -1C for 1 h", "negative current '-1C'"),
    "rate word": ("Charge at fast for 1 h", "cannot read the rate 'fast'"),
    "soc 1.5": ("Charge at C/10 until mean SOC 1.5", "mean SOC target 1.5 is outside [0, 1]"),
    "until soc": ("Charge at C/10 until soc 0.5", "cannot read 'until soc 0.5'"),
    "volts twifli": ("Discharge at C/10 until 3 V", "voltage cut-offs"),
    "zero current": ("Charge at 0 mA/cm2 for 1 h", "current '0 mA/cm2' is outside"),
    "negative duration": ("Rest for -5 min", "cannot read the duration '-5 min'"),
    "zero duration": ("Charge at 2C for 0 s", "duration '0 s' is outside"),
    "fortnights": ("Discharge at C/5 for 3 fortnights", "cannot read the duration '3 fortnights'"),
}


def one_line(capsys, code: int, expected_code: int, fragment: str, where: Path) -> None:
    """The exit status, a single stderr line naming the culprit, no traceback, no summary.json anywhere."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == expected_code, err
    assert len(lines) == 1 and lines[0].startswith("twifli") and fragment in lines[0], err
    assert "Traceback" not in err
    assert not list(where.rglob("summary.json"))


def write_case(tmp_path: Path, text: str) -> Path:
    case = tmp_path / "case"
    case.mkdir(exist_ok=True)
    (case / "case.toml").write_text(text)
    return case


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_case_key(tmp_path, capsys, name):
    old, new, fragment = BAD_CASES[name]
    assert old in CASE
    case = write_case(tmp_path, CASE.replace(old, new))
    one_line(capsys, main(["run", str(case), "--no-progress"]), 2, fragment, tmp_path)


@pytest.mark.parametrize("name", sorted(ADDED_KEYS))
def test_bad_added_key(tmp_path, capsys, name):
    table, line, fragment = ADDED_KEYS[name]
    assert CASE.rstrip().splitlines()[-2] == "[output]"  # the last table: [output] keys are appended to it
    case = write_case(tmp_path, CASE + ("" if table == "output" else f"[{table}]\n") + line + "\n")
    one_line(capsys, main(["run", str(case), "--no-progress"]), 2, fragment, tmp_path)


@pytest.mark.parametrize("name", sorted(BAD_STEPS))
def test_bad_protocol_step(tmp_path, capsys, name):
    step, fragment = BAD_STEPS[name]
    case = write_case(tmp_path, CASE.replace(STEP, json.dumps(step)))
    one_line(capsys, main(["run", str(case), "--no-progress"]), 2, fragment, tmp_path)


def _image(tmp_path: Path, name: str, array: np.ndarray | bytes) -> Path:
    path = tmp_path / name
    if isinstance(array, bytes):
        path.write_bytes(array)
    elif name.endswith(".npy"):
        np.save(path, array)
    else:
        Image.fromarray(array).save(path)
    return path


LABELS = "0=SE,85=AM"
GOOD = np.where(np.arange(24)[None, :] % 4 < 2, 85, 0).repeat(6, axis=0).astype(np.uint8)
BAD_IMAGES = {  # id: (file name, content, extra arguments, fragment)
    "truncated tif": ("t.tif", (MESHES / "composite_3d.tif").read_bytes()[:300], [], "cannot read image"),
    "float labels": ("f.npy", GOOD + 0.5, [], "not integer labels"),
    "nan labels": ("n.npy", np.full((4, 4), np.nan), [], "not integer labels"),
    "4D": ("d4.npy", np.zeros((2, 2, 2, 2), dtype=np.uint8), [], "need 2D or 3D"),
    "1D": ("d1.npy", np.zeros(5, dtype=np.uint8), [], "need 2D or 3D"),
    "label 2^40": ("big.npy", np.where(GOOD > 0, 2**40, 0).astype(np.uint64), [], "labels [1099511627776] are not in"),
    "no AM": ("se.npy", np.zeros((6, 6), dtype=np.uint8), ["--labels", "0=SE"], "no active material"),
    "colour": ("c.png", np.dstack([GOOD, GOOD, 255 - GOOD]), [], "colour image"),
    "suffix": ("x.jpg", b"not an image", [], "unsupported image type '.jpg'"),
    "empty npy": ("e.npy", b"", [], "cannot read image"),
    "raw without shape": ("r.raw", GOOD.tobytes(), [], "needs its shape and dtype"),
    "raw wrong size": ("w.raw", GOOD.tobytes(), ["--shape", "5,5", "--dtype", "uint8"], "file has 144 bytes"),
}


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
def test_bad_image(tmp_path, capsys, name):
    file, content, extra, fragment = BAD_IMAGES[name]
    path = _image(tmp_path, file, content)
    labels = extra[1] if extra[:1] == ["--labels"] else LABELS
    extra = extra[2:] if extra[:1] == ["--labels"] else extra
    with warnings.catch_warnings(record=True) as caught:  # e.g. Pillow's "Corrupt EXIF data" before the error
        warnings.simplefilter("always")
        code = main(["describe", str(path), "--labels", labels, "--voxel-size-um", "1", *extra])
    one_line(capsys, code, 2, fragment, tmp_path)
    assert not caught, [str(w.message) for w in caught]


def test_a_huge_label_is_mapped_without_a_table_over_its_range(tmp_path, capsys):
    """A label of 2^40 once asked for a 1 TiB lookup table."""
    path = _image(tmp_path, "big.npy", np.where(GOOD > 0, 2**40, 0).astype(np.uint64))
    assert main(["describe", str(path), "--labels", "0=SE,1099511627776=AM", "--voxel-size-um", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["phases"]["AM"]["volume_fraction"] == pytest.approx(0.5)


BAD_FLAGS = {  # id: (arguments after the image or command, fragment); IMAGE is a good image
    "voxel 0": (["describe", "IMAGE", "--labels", LABELS, "--voxel-size-um", "0"], "voxel"),
    "voxel nan": (["describe", "IMAGE", "--labels", LABELS, "--voxel-size-um", "nan"], "voxel"),
    "coarsen 0": (["describe", "IMAGE", "--labels", LABELS, "--voxel-size-um", "1", "--coarsen", "0"], "coarsen"),
    "coarsen text": (["describe", "IMAGE", "--labels", LABELS, "--voxel-size-um", "1", "--coarsen", "a"],
                     "argument --coarsen: invalid int value: 'a'"),
    "refine huge": (["describe", "IMAGE", "--labels", LABELS, "--voxel-size-um", "1", "--refine", "100000"],
                    "refine = 100000 gives 1.44e+12 voxels: needs about"),
    "crop reversed": (["describe", "IMAGE", "--labels", LABELS, "--voxel-size-um", "1", "--crop", "5:2,0:4"], "crop"),
    "axis 5": (["tortuosity", "IMAGE", "--labels", LABELS, "--axis", "5"], "--axis 5"),
    "labels missing": (["describe", "IMAGE", "--voxel-size-um", "1"], "the following arguments are required: --labels"),
    "generate huge": (["generate", "-o", "OUT.tif", "--shape", "100000,100000,100"],
                      "generate: shape (100000, 100000, 100) is 1e+12 voxels: needs about"),
    "generate shape text": (["generate", "-o", "OUT.tif", "--shape", "a,b"], "--shape 'a,b'"),
    "generate fraction": (["generate", "-o", "OUT.tif", "--shape", "8,8", "--am-fraction", "1.5"], "am_fraction"),
    "run missing": (["run", "NOWHERE"], "no case file here"),
    "resume nothing": (["run", "CASE", "--resume"], "no checkpoint to resume from"),
    "compare nothing": (["compare", "CASE", "x.csv"], "no complete run here"),
    "keys table": (["keys", "materail"], "unknown table [materail] (did you mean 'material'?)"),
    "command": (["simulate"], "invalid choice: 'simulate'"),
    "sweep jobs 0": (["sweep", "CASE", "--vary", "tau_e=2", "--jobs", "0"], "--jobs 0"),
    "sweep key": (["sweep", "CASE", "--vary", "tau_x=1,2"], "unknown case key 'tau_x'"),
    "sweep bad base": (["sweep", "BADCASE", "--vary", "tau_e=2,3"], "voxel_size_um = 0"),
}


@pytest.mark.parametrize("name", sorted(BAD_FLAGS))
def test_bad_command_line(tmp_path, capsys, name):
    args, fragment = BAD_FLAGS[name]
    image = _image(tmp_path, "good.png", GOOD)
    case = write_case(tmp_path, CASE)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "case.toml").write_text(CASE.replace("voxel_size_um = 0.27", "voxel_size_um = 0"))
    names = {"IMAGE": str(image), "OUT.tif": str(tmp_path / "out.tif"), "NOWHERE": str(tmp_path / "nowhere"),
             "CASE": str(case), "BADCASE": str(bad)}
    code = _exit_code([names.get(arg, arg) for arg in args])
    one_line(capsys, code, 2, fragment, tmp_path)
    assert not (tmp_path / "out.tif").exists()


def _exit_code(args: list[str]) -> int:
    """main's status, or argparse's (it exits)."""
    try:
        return main(args)
    except SystemExit as exc:
        return exc.code


GITT = '[sample]\nactive_mass_mg = 10\nmolar_mass_g_mol = 97.87\nc_max_guess_mol_m3 = 52000\nelectrode_area_cm2 = 1\n' \
       'density_g_cm3 = 5.05\n'
RADIOGRAPHY = '[images]\nframes = "f*.tif"\npristine = "p.tif"\n[region]\ncathode_rows = [2, 8]\npixel_size_um = 13.5\n'
ENERGY = (ROOT / "docs" / "energy_density_paper2.toml").read_text()
BAD_SETTINGS = {  # id: (command, settings text, old, new, fragment)
    "gitt unknown key": ("gitt", GITT, "active_mass_mg", "active_mass_g", "unknown key 'sample.active_mass_g'"),
    "gitt negative mass": ("gitt", GITT, "active_mass_mg = 10", "active_mass_mg = -1", "active_mass_mg must be positive"),
    "gitt inf mass": ("gitt", GITT, "active_mass_mg = 10", "active_mass_mg = inf", "active_mass_mg = inf: numbers must be finite"),
    "gitt missing": ("gitt", GITT, "molar_mass_g_mol = 97.87\n", "", "missing key 'sample.molar_mass_g_mol'"),
    "gitt fit form": ("gitt", GITT, "density_g_cm3 = 5.05\n", 'density_g_cm3 = 5.05\n[analysis]\nfit_form = "x"\n',
                      "fit_form 'x'"),
    "radiography no frames": ("radiography", RADIOGRAPHY, 'frames = "f*.tif"\n', "", "missing key 'images.frames'"),
    "radiography pixel 0": ("radiography", RADIOGRAPHY, "pixel_size_um = 13.5", "pixel_size_um = nan",
                            "pixel_size_um = nan: numbers must be finite"),
    "radiography table": ("radiography", RADIOGRAPHY, "[region]", "[regions]", "unknown table [regions]"),
    "energy inf": ("energy-density", ENERGY, "specific_capacity_mAh_g = 140", "specific_capacity_mAh_g = inf",
                   "specific_capacity_mAh_g = inf: numbers must be finite"),
    "energy table": ("energy-density", ENERGY, "[electrode]", "[electrodes]", "unknown table [electrodes]"),
    "energy negative": ("energy-density", ENERGY, "density_g_cm3 = 5.05", "density_g_cm3 = -5.05",
                        "density_g_cm3 must be positive"),
}


@pytest.mark.parametrize("name", sorted(BAD_SETTINGS))
def test_bad_settings_file(tmp_path, capsys, name):
    command, text, old, new, fragment = BAD_SETTINGS[name]
    assert old in text
    settings = tmp_path / "settings.toml"
    settings.write_text(text.replace(old, new))
    data = [str(tmp_path / "record.csv")] if command == "gitt" else []
    code = main([command, *data, "--config", str(settings), "-o", str(tmp_path / "out")])
    one_line(capsys, code, 2, fragment, tmp_path)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_battery_is_large_enough():
    assert len(BAD_CASES) + len(ADDED_KEYS) + len(BAD_STEPS) + len(BAD_IMAGES) + len(BAD_FLAGS) + len(BAD_SETTINGS) >= 80


def test_extreme_but_valid_inputs_run(tmp_path, capsys):
    """500C, and an image one voxel thick and 100 wide."""
    image = _image(tmp_path, "row.npy", np.where(np.arange(100)[None, :] % 4 < 2, 85, 0).astype(np.uint8))
    text = CASE.replace(str(MESHES / "electrode_nmc_slice256.png"), str(image)).replace('crop = "0:24,0:16"\n', "")
    case = write_case(tmp_path, text.replace('labels = "0=SE,85=AM,170=CBD"', f'labels = "{LABELS}"')
                      .replace(STEP, '"Charge at 500C for 5 s", "Discharge at 1C for 10 s"').replace("= 30", "= 1"))
    assert main(["run", str(case), "--no-progress"]) == 0
    summary = json.loads((case / "output" / "summary.json").read_text())
    assert summary["image"]["shape"] == [1, 100]
    assert [s["end_reason"] for s in summary["steps"]] == ["duration reached"] * 2
    assert summary["steps"][0]["current_density_A_m2"] == pytest.approx(500 * summary["one_c_current_density_A_m2"])
    capsys.readouterr()
