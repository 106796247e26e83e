"""The ``twifli`` commands that read a segmented image: ``describe``, ``tortuosity``, ``generate``, and how
they load the image (labels, voxel size, orientation, crop and resampling)."""

from __future__ import annotations

import argparse
import json
import logging

from twifli_fv.errors import InputError

log = logging.getLogger("twifli_fv")
IMAGE_OPTIONS = ("labels", "voxel_size_um", "thickness_axis", "crop", "coarsen", "refine", "dtype")  # as load_image's


def load(args: argparse.Namespace, *, ranks=None):  # noqa: ANN001, ANN202 - Ranks: read a slab each (axis 0 only)
    from twifli_fv.image import load_image
    from twifli_fv.ranks import ONE

    return load_image(args.image, **{name: getattr(args, name) for name in IMAGE_OPTIONS},
                      collector_at_end=args.collector_at == "end", ranks=ranks or ONE,
                      shape=_sizes(args.shape, example="64,64,64") if args.shape else None)


def _sizes(text: str, *, example: str) -> tuple[int, ...]:
    """``--shape`` as integers, e.g. 64,64,64; else a one-line error."""
    try:
        return tuple(int(s) for s in text.split(","))
    except ValueError:
        raise InputError(f"--shape {text!r}: write sizes like {example}") from None


def describe(args: argparse.Namespace) -> None:
    from twifli_fv.properties.microstructure import describe

    report = describe(load(args), periodic=not args.no_flux)
    if args.json:
        print(json.dumps(report.to_dict()))
        return
    print(f"image {args.image}: shape {report.shape}, voxel {report.voxel_size_um:g} um, in-plane "
          f"{'periodic' if report.periodic else 'no-flux'}")
    print(f"{'phase':<11}{'fraction':>10}{'percolating':>13}{'components':>12}")
    for name, stats in report.phases.items():
        print(f"{name:<11}{stats.volume_fraction:>10.4f}{stats.percolating_fraction:>13.4f}{stats.components:>12d}")
    print(f"AM particles (connected components): {report.am_particles}")
    print("specific interface area (um^-1): " + ", ".join(f"{k} {v:.4f}" for k, v in report.specific_area_per_um.items()))


def tortuosity(args: argparse.Namespace) -> None:
    from twifli_fv.cli import launcher_rank
    from twifli_fv.solve.petsc_env import ranks
    from twifli_fv.solve.tortuosity import tortuosity_factors

    image = load(args, ranks=ranks() if args.axis == 0 else None)  # slabs are cut across the thickness axis
    if not 0 <= args.axis < image.ndim:
        raise InputError(f"--axis {args.axis}: the image has axes 0..{image.ndim - 1}")
    results = tortuosity_factors(image, axis=args.axis, periodic=not args.no_flux)
    if launcher_rank() != 0:
        return
    if args.json:
        keys = ("volume_fraction", "percolating_fraction", "D_eff", "tau")
        print(json.dumps({name: {k: getattr(r, k) for k in keys} for name, r in results.items()}))
        return
    print(f"tortuosity along axis {args.axis} ({'no-flux' if args.no_flux else 'periodic'} side walls), {args.image}")
    print(f"{'phase':<11}{'fraction':>10}{'percolating':>13}{'D_eff':>10}{'tau':>10}{'CG its':>8}")
    for name, r in results.items():
        tau = f"{r.tau:10.4f}" if r.percolates else f"{'-':>10}"  # JSON null: no number, not inf
        note = "" if r.percolates else "  does not percolate (tau null in --json)"
        print(f"{name:<11}{r.volume_fraction:>10.4f}{r.percolating_fraction:>13.4f}{r.D_eff:>10.4f}{tau}{r.iterations:>8d}{note}")


def generate(args: argparse.Namespace) -> None:
    from twifli_fv.image.generate import LABEL_MAP, generate_composite
    from twifli_fv.outputs.images import write_labels

    labels = generate_composite(
        shape=_sizes(args.shape, example="370,100"), voxel_size_um=args.voxel_size_um, am_fraction=args.am_fraction,
        cbd_fraction=args.cbd_fraction, radius_um=args.radius_um, radius_sigma=args.radius_sigma, seed=args.seed,
    )
    path = write_labels(args.output, labels)
    log.info("wrote %s: shape %s, labels %s, voxel %g um", path, labels.shape, LABEL_MAP, args.voxel_size_um)
