"""The ``twifli`` commands that run a study: ``sweep`` (a grid of case variants), ``fit`` (case keys fitted to
measured data) and ``energy-density`` (electrode-level comparison of cathodes)."""

from __future__ import annotations

import argparse
from pathlib import Path

from twifli_fv.errors import InputError


def sweep(args: argparse.Namespace) -> None:
    from twifli_fv.drivers.sweep import run_sweep
    from twifli_fv.drivers.sweep_grid import parse_vary

    result = run_sweep(args.case, [parse_vary(spec) for spec in args.vary], name=args.name, jobs=args.jobs,
                       resume=args.resume, quantity=args.quantity, plots=not args.no_plots)
    print(f"{len(result.rows)} points ({result.ran} run, {result.reused} complete already): {result.csv}"
          + (f", {result.plot}" if result.plot else ""))
    if result.failed:
        first = result.failed[0]
        raise InputError(f"{result.csv}: {len(result.failed)} of {len(result.rows)} points failed "
                         f"(first {first['point']}: {first['error']})")


def fit(args: argparse.Namespace) -> None:
    from twifli_fv.case import load_case
    from twifli_fv.drivers.fit import parse_free, run_fit

    case = load_case(args.case)
    free = [p for spec in args.free for p in parse_free(spec, case=case)]
    result = run_fit(args.case, args.data, free, name=args.name, jobs=args.jobs, resume=args.resume,
                     plots=not args.no_plots, max_evaluations=args.max_evaluations)
    for entry in result.report["free"]:
        error = entry.get("standard_error")
        print(f"{entry['key']} = {entry['value']:.6g}" + (f" +- {error:.3g}" if error is not None else ""))
    print(f"residual rms {result.report['residual']['rms']:.4g} {result.report['unit']}; "
          f"{result.report['evaluations']} runs: {result.directory / 'fit.json'}")


def energy_density(args: argparse.Namespace) -> None:
    from twifli_fv.drivers.energy_density import run_energy_density

    config = Path(args.config)
    out = Path(args.output_dir) if args.output_dir else Path("energy_density") / config.stem  # not beside the config
    data = run_energy_density(config, out)
    print(f"{'cathode':<28}{'wt% AM':>8}{'vol% AM':>9}{'g/cm3':>7}{'mAh/g AM':>10}{'Wh/kg':>8}{'Wh/L':>8}{'um':>8}")
    for c in data["cathodes"]:
        thickness = f"{c['thickness_um']:8.1f}" if c["thickness_um"] is not None else f"{'':8}"
        print(f"{c['name']:<28}{100 * c['am_mass_fraction']:8.1f}{100 * c['am_volume_fraction']:9.1f}"
              f"{c['electrode_density_g_cm3']:7.3f}{c['delivered_capacity_mAh_g']:10.1f}"
              f"{c['gravimetric_Wh_kg']:8.1f}{c['volumetric_Wh_L']:8.0f}{thickness}")
    gain = data["dense_gain_over_best_composite_percent"]
    if gain:
        print(f"dense over the best composite: {gain['gravimetric']:+.1f} % Wh/kg, {gain['volumetric']:+.1f} % Wh/L")
    print(f"wrote {out / 'energy_density.json'}, {out / 'energy_density.csv'} and {out / 'energy_density.png'}")
