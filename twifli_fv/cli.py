"""The ``twifli`` command line. User mistakes (and unwritable outputs) end in one line on stderr and exit
status 2, a numerical failure in one line and exit status 3."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from twifli_fv import __version__, cli_image, cli_studies
from twifli_fv.errors import InputError, NumericalError, did_you_mean

log = logging.getLogger("twifli_fv")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twifli`` console script."""
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose)
    try:
        args.command(args)
        return 0
    except InputError as exc:
        return _fail(str(exc), 2)  # every rank meets the same mistake; said once
    except NumericalError as exc:
        return _fail(str(exc), 3)
    except BrokenPipeError:  # the reader of stdout stopped early (`twifli keys | head`): nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        return _fail(_os_error(exc), 2)
    except MemoryError:
        return _fail("out of memory; make the problem smaller (coarsen or crop the image, a smaller refine)", 2)
    except KeyboardInterrupt:
        if launcher_rank() == 0:  # mpiexec passes the interrupt to every rank: say it once
            print("twifli: interrupted", file=sys.stderr)
        return 130


def _fail(message: str, status: int) -> int:
    if launcher_rank() == 0:
        print(f"twifli: error: {message}", file=sys.stderr)
    return status


def _os_error(exc: OSError) -> str:
    """A file-system failure in one line: the path, the reason, what to do."""
    where = exc.filename or "output"
    if exc.errno == errno.ENOSPC:
        hint = "free some space or write elsewhere"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "make it writable or copy the case to a writable folder"
    else:
        hint = "check the path"
    return f"{where}: {exc.strerror or exc}; {hint} (partial files were removed)"


def launcher_rank() -> int:
    """MPI rank from the launcher's environment (MPICH, Open MPI, Slurm), without importing MPI."""
    for name in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


def _configure_logging(verbose: bool) -> None:
    for old in log.handlers[:]:  # main() may be called again in one process (tests, sweeps): one handler
        log.removeHandler(old)
    handler: logging.Handler = logging.StreamHandler(sys.stderr) if launcher_rank() == 0 else logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


class _Parser(argparse.ArgumentParser):
    """Command-line mistakes in one line too (argparse prints the usage first)."""

    def error(self, message: str) -> NoReturn:
        if launcher_rank() == 0:
            print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="twifli", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log solver details")
    parser.add_argument("--version", action="version", version=f"twifli {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for name, (handler, helptext, arguments) in COMMANDS.items():
        sub = commands.add_parser(name, help=helptext, description=helptext)
        for flags, options in arguments:
            sub.add_argument(*flags, **options)
        sub.set_defaults(command=handler)
    return parser


def _run(args: argparse.Namespace) -> None:
    from twifli_fv.drivers.run import run_case

    summary = run_case(args.case, resume=args.resume, progress=not args.no_progress and launcher_rank() == 0)
    if launcher_rank() == 0:
        dense = summary.get("model") == "dense"
        for number, step in enumerate(summary["steps"], 1):
            print(f"step {number} ({step['text']}): {step['duration_s'] / 3600:.2f} h, "
                  f"mean {'c/c_max' if dense else 'c/c_sat'} {step['mean_c_norm_end']:.4f}"
                  + (f", {step['capacity_mAh_g']:.1f} mAh/g" if dense else "") + f", {step['end_reason']}")
        print(f"outputs in {Path(args.case) / 'output'}")


def _compare(args: argparse.Namespace) -> None:
    from twifli_fv.drivers.compare import comparison_dir, run_compare

    result = run_compare(args.case, args.experiment)
    out = comparison_dir(args.case)
    print(f"RMSE {result.rmse:.4f}, MAE {result.mae:.4f}, max |error| {result.max_error:.4f} at "
          f"y = {result.max_error_y_um:.1f} um, t = {result.max_error_time_s / 3600:.2f} h "
          f"({result.points} points, {result.dropped_points} outside the run)")
    for row in result.depletion_end_of_charge:
        weighted = "" if row["run"] is None else f"{row['run']:.3f} AM-weighted (as summary.json), "
        print(f"end of charge at {row['time_s'] / 3600:.2f} h: mean depletion run {weighted}"
              f"{row['run_row_mean']:.3f} row mean; experiment {row['experiment']:.3f} row mean")
    print(f"wrote {out / 'comparison.json'} and {out / 'comparison.png'}")


def _export(args: argparse.Namespace) -> None:
    from twifli_fv.outputs.export import export_frame, frame_file

    source = frame_file(Path(args.case) / "output", args.frame)
    print(f"wrote {export_frame(source, args.output)} from {source}")


def _gitt(args: argparse.Namespace) -> None:
    from twifli_fv.drivers.gitt import run_gitt

    out = Path(args.output_dir) if args.output_dir else Path(args.data).parent / "gitt"
    fit = run_gitt(args.data, args.config, out)
    print(f"{fit['pulses_found']} pulses, {len(fit['pulses_used'])} used ({fit['form']} form): "
          f"D_trace = {fit['D_trace_cm2_s']:.4g} cm^2/s, c_max = {fit['c_max_mol_m3']:.6g} mol/m^3, "
          f"residual {fit['residual_rms_log10']:.3f} decades")
    for warning in fit.get("warnings", []):
        print(f"warning: {warning}")
    print(f"wrote {out / 'gitt.csv'}, {out / 'gitt_fit.json'} and {out / 'gitt.png'}")


def _radiography(args: argparse.Namespace) -> None:
    from twifli_fv.drivers.radiography import run_radiography

    out = Path(args.output_dir) if args.output_dir else Path(args.config).parent / "radiography"
    summary = run_radiography(args.config, out)
    print(f"{summary['frames']} frames: mean relative Li {summary['mean_c_norm_first']:.4f} -> "
          f"{summary['mean_c_norm_last']:.4f}; {summary['excluded_pixels']} pixels without usable transmission")
    print(f"wrote {out / 'profiles.csv'}, {out / 'radiography_map.png'} and {out / 'radiography.json'}")


def _keys(args: argparse.Namespace) -> None:
    from twifli_fv.case_keys import CASE_KEYS, keys_markdown, keys_text

    if args.table is not None and args.table not in CASE_KEYS:
        raise InputError(f"unknown table [{args.table}]{did_you_mean(args.table, list(CASE_KEYS))}")
    print(keys_markdown() if args.markdown else keys_text(args.table))


Argument = tuple[tuple[str, ...], dict[str, Any]]


def _arg(*flags: str, **options: Any) -> Argument:  # noqa: ANN401 - argparse's add_argument options
    return flags, options


def _image_arguments(*, voxel_required: bool) -> tuple[Argument, ...]:
    """The image options of ``describe`` and ``tortuosity``: labels, voxel size, orientation, crop, resampling."""
    return (
        _arg("image", help="segmented image: .png, .tif/.tiff (multi-page), .npy, or .raw"),
        _arg("--labels", required=True, help="label -> phase map, e.g. 0=SE,85=AM,170=CBD"),
        _arg("--voxel-size-um", type=float, required=voxel_required, default=None if voxel_required else 1.0,
             help="voxel edge length in um" + ("" if voxel_required else " (does not change tortuosity; default 1)")),
        _arg("--thickness-axis", type=int, default=0, help="image axis through the thickness (default 0)"),
        _arg("--collector-at", choices=("start", "end"), default="start",
             help="which end of the thickness axis touches the current collector (default start)"),
        _arg("--crop", help="crop before anything else, e.g. 0:128,0:128,0:128 (file axes)"),
        _arg("--coarsen", type=int, default=1, help="merge n^d voxels into one (majority label)"),
        _arg("--refine", type=int, default=1, help="split each voxel into n^d"),
        _arg("--shape", help="shape of a .raw image, e.g. 64,64,64"),
        _arg("--dtype", help="dtype of a .raw image, e.g. uint8 or <u2"),
        _arg("--no-flux", action="store_true",
             help="no-flux in-plane boundaries (default: periodic, SPEC sect. 1; TauFactor uses no-flux)"),
        _arg("--json", action="store_true", help="print one JSON object instead of a table"),
    )


Command = tuple[Callable[[argparse.Namespace], None], str, tuple[Argument, ...]]
COMMANDS: dict[str, Command] = {  # name: (handler, help line, arguments)
    "describe": (cli_image.describe, "microstructure report: fractions, percolation, interfaces, particles",
                 _image_arguments(voxel_required=True)),
    "tortuosity": (cli_image.tortuosity, "tortuosity factors of each phase and of the electronic network", (
        *_image_arguments(voxel_required=False),
        _arg("--axis", type=int, default=0, help="transport axis after orientation (0: through thickness)"))),
    "run": (_run, "run a TWIF-Li case directory (writes CASE/output/)", (
        _arg("case", help="case directory holding case.toml"),
        _arg("--resume", action="store_true", help="continue from the last checkpoint in CASE/output"),
        _arg("--no-progress", action="store_true", help="no progress bar"))),
    "compare": (_compare, "compare a run's Li profiles with measured ones (RMSE, MAE, maps)", (
        _arg("case", help="case directory with a complete run in CASE/output"),
        _arg("experiment", help="measured profiles.csv (time_s, step, y_um, c_norm)"))),
    "export": (_export, "a run's field frame to XDMF, Gmsh, Abaqus or VTU (through meshio)", (
        _arg("case", help="case directory with a run in CASE/output"),
        _arg("-o", "--output", required=True, help="file to write: .xdmf, .msh (Gmsh), .inp (Abaqus) or .vtu"),
        _arg("--frame", type=int, help="field frame number (default: the last)"))),
    "gitt": (_gitt, "GITT record -> D per pulse (diffusion-model fit; Weppner-Huggins for comparison) and the eqn-5 "
                    "fit D_trace, c_max", (
        _arg("data", help="GITT record: CSV with columns time_s, current_A, voltage_V"),
        _arg("--config", required=True, help="gitt.toml: [sample] mass, molar mass, density, area or radius"),
        _arg("-o", "--output-dir", help="where to write (default: a gitt/ folder beside DATA)"))),
    "radiography": (
        _radiography, "neutron radiographs -> relative Li profiles per row (Beer-Lambert ratio to pristine)", (
        _arg("--config", required=True, help="radiography.toml: [images] frames, times, pristine, open_beam, dark; "
                                             "[region] rows, columns"),
        _arg("-o", "--output-dir", help="where to write (default: a radiography/ folder beside the config)"))),
    "generate": (cli_image.generate, "generate a seeded synthetic composite cathode image", (
        _arg("-o", "--output", required=True, help="output image (.png for 2D, .tif for 2D/3D, .npy)"),
        _arg("--shape", required=True, help="voxels, thickness first: 370,100 or 128,64,64"),
        _arg("--voxel-size-um", type=float, default=0.27, help="voxel edge (default 0.27, paper 1)"),
        _arg("--am-fraction", type=float, default=0.6, help="AM volume fraction (default 0.6)"),
        _arg("--cbd-fraction", type=float, default=0.05, help="CBD volume fraction (default 0.05)"),
        _arg("--radius-um", type=float, default=2.5, help="median particle radius (default 2.5)"),
        _arg("--radius-sigma", type=float, default=0.35, help="log-normal width of radii (default 0.35)"),
        _arg("--seed", type=int, default=0, help="random seed (default 0)"))),
    "sweep": (
        cli_studies.sweep, "run a case over a grid of case values (CSV, contour map; paper 2 Figs 3d, 4e-g, 6b)", (
        _arg("case", help="base case directory holding case.toml"),
        _arg("--vary", action="append", required=True, metavar="KEY=VALUES",
             help="a case key and its values: table.key=v1,v2,... or a bare key naming one case key; "
                  "ranges start:stop:N or start:stop:Nlog (repeat for a grid)"),
        _arg("--name", help="sweep folder CASE/sweeps/NAME (default: the varied keys)"),
        _arg("--jobs", type=int, default=1, help="points run at once, one process each (default 1)"),
        _arg("--resume", action="store_true", help="continue interrupted points from their checkpoints"),
        _arg("--quantity", help="summary number to map (default capacity_mAh_g, else end_mean_depletion)"),
        _arg("--no-plots", action="store_true", help="no contour map / curve"))),
    "fit": (cli_studies.fit, "fit case keys to measured capacities, voltage curves or profiles (least squares)", (
        _arg("case", help="case directory holding case.toml (the values not fitted)"),
        _arg("--data", required=True, help="CSV: c_rate, capacity_mAh_g[, case keys] | c_rate, "
                                           "capacity_mAh_g, voltage_V | time_s, step, y_um, c_norm"),
        _arg("--free", action="append", required=True, metavar="KEY[=LO:HI],...",
             help="case keys to fit, as in sweep's --vary; bounds default to the case value /10..x10"),
        _arg("--name", help="fit folder CASE/fits/NAME (default: the data file's name)"),
        _arg("--jobs", type=int, default=1, help="model runs at once, one process each (default 1)"),
        _arg("--resume", action="store_true", help="continue interrupted runs from their checkpoints"),
        _arg("--max-evaluations", type=int, default=30, help="optimizer steps at most (default 30)"),
        _arg("--no-plots", action="store_true", help="no fit.png"))),
    "keys": (_keys, "every case.toml key: unit, type, default, allowed values and meaning", (
        _arg("table", nargs="?", help="only this table, e.g. material"),
        _arg("--markdown", action="store_true", help="every key as a Markdown table (the README's)"))),
    "energy-density": (
        cli_studies.energy_density, "electrode-level Wh/kg and Wh/L, dense vs composite cathodes (paper 2, Fig 7)", (
        _arg("--config", required=True, help="cell.toml: [active_material], [dense] and/or [composite]"),
        _arg("-o", "--output-dir",
             help="where to write (default: energy_density/CONFIG_NAME in the current folder)"))),
}

if __name__ == "__main__":
    sys.exit(main())
