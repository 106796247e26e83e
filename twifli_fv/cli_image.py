"""The ``twifli`` commands that read a segmented image: ``describe``, ``tortuosity``, ``generate``, and the
image options they share (labels, voxel size, orientation, crop and resampling)."""

from __future__ import annotations

import argparse
import json
import logging

from twifli_fv.errors import InputError

log = logging.getLogger("twifli_fv")





def image_arguments(parser: argparse.ArgumentParser, *, voxel_required: bool) -> None:
    parser.add_argument("image", help="segmented image: .png, .tif/.tiff (multi-page), .npy, or .raw")
    parser.add_argument("--labels", required=True, help="label -> phase map, e.g. 0=SE,85=AM,170=CBD")
    parser.add_argument(
        "--voxel-size-um", type=float, required=voxel_required, default=None if voxel_required else 1.0,
        help="voxel edge length in um" + ("" if voxel_required else " (does not change tortuosity; default 1)"),
    )
    parser.add_argument("--thickness-axis", type=int, default=0, help="image axis through the thickness (default 0)")
    parser.add_argument("--collector-at", choices=("start", "end"), default="start",
                        help="which end of the thickness axis touches the current collector (default start)")
    parser.add_argument("--crop", help="crop before anything else, e.g. 0:128,0:128,0:128 (file axes)")
    parser.add_argument("--coarsen", type=int, default=1, help="merge n^d voxels into one (majority label)")
    parser.add_argument("--refine", type=int, default=1, help="split each voxel into n^d")
    parser.add_argument("--shape", help="shape of a .raw image, e.g. 64,64,64")
    parser.add_argument("--dtype", help="dtype of a .raw image, e.g. uint8 or <u2")
    parser.add_argument("--no-flux", action="store_true",
                        help="no-flux in-plane boundaries (default: periodic, SPEC sect. 1; TauFactor uses no-flux)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def load(args: argparse.Namespace, *, ranks=None):  # noqa: ANN001, ANN202 - Ranks: read a slab each (axis 0 only)
    from twifli_fv.image import load_image
    from twifli_fv.ranks import ONE

    shape = None
    if args.shape:
        try:
            shape = tuple(int(s) for s in args.shape.split(","))
        except ValueError:
            raise InputError(f"--shape {args.shape!r}: write sizes like 64,64,64") from None
    return load_image(
        args.image,
        labels=args.labels,
        voxel_size_um=args.voxel_size_um,
        thickness_axis=args.thickness_axis,
        collector_at_end=args.collector_at == "end",
        crop=args.crop,
        coarsen=args.coarsen,
        refine=args.refine,
        shape=shape,
        dtype=args.dtype,
        ranks=ranks or ONE,
    )


# --- commands ---------------------------------------------------------------------------------


def describe(args: argparse.Namespace) -> int:
    from twifli_fv.properties.microstructure import describe

    report = describe(load(args), periodic=not args.no_flux)
    if args.json:
        print(json.dumps(report.to_dict()))
        return 0
    print(f"image {args.image}: shape {report.shape}, voxel {report.voxel_size_um:g} um, in-plane "
          f"{'periodic' if report.periodic else 'no-flux'}")
    print(f"{'phase':<11}{'fraction':>10}{'percolating':>13}{'components':>12}")
    for name, stats in report.phases.items():
        print(f"{name:<11}{stats.volume_fraction:>10.4f}{stats.percolating_fraction:>13.4f}{stats.components:>12d}")
    print(f"AM particles (connected components): {report.am_particles}")
    print("specific interface area (um^-1): " + ", ".join(f"{k} {v:.4f}" for k, v in report.specific_area_per_um.items()))
    return 0


def tortuosity(args: argparse.Namespace) -> int:
    from twifli_fv.cli import launcher_rank
    from twifli_fv.solve.petsc_env import ranks
    from twifli_fv.solve.tortuosity import tortuosity_factors

    image = load(args, ranks=ranks() if args.axis == 0 else None)  # slabs are cut across the thickness axis
    if not 0 <= args.axis < image.ndim:
        raise InputError(f"--axis {args.axis}: the image has axes 0..{image.ndim - 1}")
    results = tortuosity_factors(image, axis=args.axis, periodic=not args.no_flux)
    if launcher_rank() != 0:
        return 0
    if args.json:
        keys = ("volume_fraction", "percolating_fraction", "D_eff", "tau")
        print(json.dumps({name: {k: getattr(r, k) for k in keys} for name, r in results.items()}))
        return 0
    print(f"tortuosity along axis {args.axis} ({'no-flux' if args.no_flux else 'periodic'} side walls), {args.image}")
    print(f"{'phase':<11}{'fraction':>10}{'percolating':>13}{'D_eff':>10}{'tau':>10}{'CG its':>8}")
    for name, r in results.items():
        tau = f"{r.tau:10.4f}" if r.percolates else f"{'-':>10}"  # JSON null: no number, not inf
        note = "" if r.percolates else "  does not percolate (tau null in --json)"
        print(f"{name:<11}{r.volume_fraction:>10.4f}{r.percolating_fraction:>13.4f}{r.D_eff:>10.4f}{tau}{r.iterations:>8d}{note}")
    return 0


def generate(args: argparse.Namespace) -> int:
    from twifli_fv.image.generate import LABEL_MAP, generate_composite
    from twifli_fv.outputs.images import write_labels

    try:
        shape = tuple(int(s) for s in args.shape.split(","))
    except ValueError:
        raise InputError(f"--shape {args.shape!r}: write sizes like 370,100") from None
    labels = generate_composite(
        shape=shape, voxel_size_um=args.voxel_size_um, am_fraction=args.am_fraction,
        cbd_fraction=args.cbd_fraction, radius_um=args.radius_um, radius_sigma=args.radius_sigma, seed=args.seed,
    )
    path = write_labels(args.output, labels)
    log.info("wrote %s: shape %s, labels %s, voxel %g um", path, labels.shape, LABEL_MAP, args.voxel_size_um)
    return 0


def describe_arguments(parser: argparse.ArgumentParser) -> None:
    image_arguments(parser, voxel_required=True)


def tortuosity_arguments(parser: argparse.ArgumentParser) -> None:
    image_arguments(parser, voxel_required=False)
    parser.add_argument("--axis", type=int, default=0, help="transport axis after orientation (0: through thickness)")


def generate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", required=True, help="output image (.png for 2D, .tif for 2D/3D, .npy)")
    parser.add_argument("--shape", required=True, help="voxels, thickness first: 370,100 or 128,64,64")
    parser.add_argument("--voxel-size-um", type=float, default=0.27, help="voxel edge (default 0.27, paper 1)")
    parser.add_argument("--am-fraction", type=float, default=0.6, help="AM volume fraction (default 0.6)")
    parser.add_argument("--cbd-fraction", type=float, default=0.05, help="CBD volume fraction (default 0.05)")
    parser.add_argument("--radius-um", type=float, default=2.5, help="median particle radius (default 2.5)")
    parser.add_argument("--radius-sigma", type=float, default=0.35, help="log-normal width of radii (default 0.35)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


