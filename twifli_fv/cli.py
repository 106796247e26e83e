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
from typing import NoReturn

from twifli_fv import __version__, cli_image, cli_studies
from twifli_fv.errors import InputError, NumericalError, did_you_mean

log = logging.getLogger("twifli_fv")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``twifli`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose)
    try:
        return int(args.command(args) or 0)
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
    for name, (handler, helptext, add_arguments) in COMMANDS.items():
        sub = commands.add_parser(name, help=helptext, description=helptext)
        add_arguments(sub)
        sub.set_defaults(command=handler)
    return parser


def _run(args: argparse.Namespace) -> int:
    from twifli_fv.drivers.run import run_case

    summary = run_case(args.case, resume=args.resume, progress=not args.no_progress and launcher_rank() == 0)
    if launcher_rank() == 0:
        dense = summary.get("model") == "dense"
        for number, step in enumerate(summary["steps"], 1):
            print(f"step {number} ({step['text']}): {step['duration_s'] / 3600:.2f} h, "
                  f"mean {'c/c_max' if dense else 'c/c_sat'} {step['mean_c_norm_end']:.4f}"
                  + (f", {step['capacity_mAh_g']:.1f} mAh/g" if dense else "") + f", {step['end_reason']}")
        print(f"outputs in {Path(args.case) / 'output'}")
    return 0


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", help="case directory holding case.toml")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in CASE/output")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _compare(args: argparse.Namespace) -> int:
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
    return 0


def _compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", help="case directory with a complete run in CASE/output")
    parser.add_argument("experiment", help="measured profiles.csv (time_s, step, y_um, c_norm)")


def _export(args: argparse.Namespace) -> int:
    from twifli_fv.outputs.export import export_frame, frame_file

    source = frame_file(Path(args.case) / "output", args.frame)
    print(f"wrote {export_frame(source, args.output)} from {source}")
    return 0


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", help="case directory with a run in CASE/output")
    parser.add_argument("-o", "--output", required=True, help="file to write: .xdmf, .msh (Gmsh), .inp (Abaqus) or .vtu")
    parser.add_argument("--frame", type=int, help="field frame number (default: the last)")


def _gitt(args: argparse.Namespace) -> int:
    from twifli_fv.drivers.gitt import run_gitt

    out = Path(args.output_dir) if args.output_dir else Path(args.data).parent / "gitt"
    fit = run_gitt(args.data, args.config, out)
    print(f"{fit['pulses_found']} pulses, {len(fit['pulses_used'])} used ({fit['form']} form): "
          f"D_trace = {fit['D_trace_cm2_s']:.4g} cm^2/s, c_max = {fit['c_max_mol_m3']:.6g} mol/m^3, "
          f"residual {fit['residual_rms_log10']:.3f} decades")
    for warning in fit.get("warnings", []):
        print(f"warning: {warning}")
    print(f"wrote {out / 'gitt.csv'}, {out / 'gitt_fit.json'} and {out / 'gitt.png'}")
    return 0


def _gitt_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", help="GITT record: CSV with columns time_s, current_A, voltage_V")
    parser.add_argument("--config", required=True, help="gitt.toml: [sample] mass, molar mass, density, area or radius")
    parser.add_argument("-o", "--output-dir", help="where to write (default: a gitt/ folder beside DATA)")


def _radiography(args: argparse.Namespace) -> int:
    from twifli_fv.drivers.radiography import run_radiography

    out = Path(args.output_dir) if args.output_dir else Path(args.config).parent / "radiography"
    summary = run_radiography(args.config, out)
    print(f"{summary['frames']} frames: mean relative Li {summary['mean_c_norm_first']:.4f} -> "
          f"{summary['mean_c_norm_last']:.4f}; {summary['excluded_pixels']} pixels without usable transmission")
    print(f"wrote {out / 'profiles.csv'}, {out / 'radiography_map.png'} and {out / 'radiography.json'}")
    return 0


def _radiography_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True,
                        help="radiography.toml: [images] frames, times, pristine, open_beam, dark; [region] rows, columns")
    parser.add_argument("-o", "--output-dir", help="where to write (default: a radiography/ folder beside the config)")


def _keys(args: argparse.Namespace) -> int:
    from twifli_fv.case_keys import CASE_KEYS, keys_markdown, keys_text

    if args.table is not None and args.table not in CASE_KEYS:
        raise InputError(f"unknown table [{args.table}]{did_you_mean(args.table, list(CASE_KEYS))}")
    print(keys_markdown() if args.markdown else keys_text(args.table))
    return 0


def _keys_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", nargs="?", help="only this table, e.g. material")
    parser.add_argument("--markdown", action="store_true", help="every key as a Markdown table (the README's)")


Command = tuple[Callable[[argparse.Namespace], int], str, Callable[[argparse.ArgumentParser], None]]
COMMANDS: dict[str, Command] = {
    "describe": (cli_image.describe, "microstructure report: fractions, percolation, interfaces, particles", cli_image.describe_arguments),
    "tortuosity": (cli_image.tortuosity, "tortuosity factors of each phase and of the electronic network", cli_image.tortuosity_arguments),
    "run": (_run, "run a TWIF-Li case directory (writes CASE/output/)", _run_arguments),
    "compare": (_compare, "compare a run's Li profiles with measured ones (RMSE, MAE, maps)", _compare_arguments),
    "export": (_export, "a run's field frame to XDMF, Gmsh, Abaqus or VTU (through meshio)", _export_arguments),
    "gitt": (_gitt, "GITT record -> D per pulse (diffusion-model fit; Weppner-Huggins for comparison) and the eqn-5 "
                    "fit D_trace, c_max", _gitt_arguments),
    "radiography": (_radiography, "neutron radiographs -> relative Li profiles per row (Beer-Lambert ratio to pristine)",
                    _radiography_arguments),
    "generate": (cli_image.generate, "generate a seeded synthetic composite cathode image", cli_image.generate_arguments),
    "sweep": (cli_studies.sweep, "run a case over a grid of case values (CSV, contour map; paper 2 Figs 3d, 4e-g, 6b)",
              cli_studies.sweep_arguments),
    "fit": (cli_studies.fit, "fit case keys to measured capacities, voltage curves or profiles (least squares)",
            cli_studies.fit_arguments),
    "keys": (_keys, "every case.toml key: unit, type, default, allowed values and meaning", _keys_arguments),
    "energy-density": (cli_studies.energy_density, "electrode-level Wh/kg and Wh/L, dense vs composite cathodes (paper 2, Fig 7)",
                       cli_studies.energy_density_arguments),
}

if __name__ == "__main__":
    sys.exit(main())
