"""Tortuosity factors with PETSc: CG + two-level multigrid on the voxel grid (SPEC sect. 4).

The two-point-flux Laplacian on the percolating cells of one phase (:mod:`twifli_fv.properties.tortuosity`), its
rows from :mod:`twifli_fv.solve.tortuosity_rows`, its preconditioner from :mod:`twifli_fv.solve.multigrid`. Under
``mpiexec`` each rank solves the rows of its own slab of planes along axis 0 (issue 16; README, "On several
ranks"). PETSc options under the prefix ``tortuosity_`` (e.g. ``-tortuosity_mg_coarse_pc_gamg_threshold 0.01``).
"""

from __future__ import annotations

import logging

import numpy as np

from twifli_fv.errors import InputError, NumericalError
from twifli_fv.image.phases import Phase
from twifli_fv.image.segmented import SegmentedImage
from twifli_fv.image.slab import Slab, split_planes, with_halo
from twifli_fv.mesh.faces import in_plane_axes
from twifli_fv.properties.connectivity import percolating
from twifli_fv.properties.microstructure import ELECTRONIC
from twifli_fv.properties.tortuosity import C_IN, C_OUT, G_BOUNDARY, TortuosityResult, tortuosity_from_flux
from twifli_fv.ranks import ONE, Ranks
from twifli_fv.solve.fv import aij_matrix
from twifli_fv.solve.multigrid import multigrid_cg, prolongation
from twifli_fv.solve.petsc_env import petsc, world
from twifli_fv.solve.petsc_env import ranks as comm_ranks
from twifli_fv.solve.tortuosity_rows import assemble_rows, linear_profile

log = logging.getLogger(__name__)
RTOL = 1e-8  # CG relative residual (preconditioned norm); tau is then exact to ~1e-7
OPTIONS_PREFIX = "tortuosity_"


def tortuosity_factors(
    image: SegmentedImage,
    *,
    axis: int = 0,
    periodic: bool = True,
    rtol: float = RTOL,
    comm=None,  # noqa: ANN001 - PETSc.Comm
) -> dict[str, TortuosityResult]:
    """Tortuosity of every phase present and of the electronic network (AM + CBD), along ``axis`` (SPEC sect. 4).

    An image holding one rank's slab (``image.slab``) is solved together with the other ranks' slabs."""
    ranks = comm_ranks(comm) if image.slab is not None else ONE  # a whole image: every rank has every phase
    codes = sorted({int(c) for found in ranks.gather(np.unique(image.owned_phases)) for c in found})
    groups = {Phase(code).name: (Phase(code),) for code in codes}
    groups[ELECTRONIC] = (Phase.AM, Phase.CBD)
    return {
        name: tortuosity_factor(image.mask(*members), axis=axis, periodic=periodic, rtol=rtol, comm=comm,
                                slab=image.slab)
        for name, members in groups.items()
    }


def tortuosity_factor(
    mask: np.ndarray,
    *,
    axis: int = 0,
    periodic: bool = True,
    rtol: float = RTOL,
    comm=None,  # noqa: ANN001 - PETSc.Comm
    slab: Slab | None = None,
) -> TortuosityResult:
    """Tortuosity factor of the phase ``mask`` along ``axis`` (SPEC sect. 4).

    In-plane axes other than ``axis`` are periodic unless ``periodic=False`` (TauFactor: no-flux); the thickness
    axis 0 never wraps. ``rtol``: CG's stopping tolerance. With a ``slab`` (issue 16), ``mask`` holds the planes
    this rank reads of the grid ``slab.shape``, and ``axis`` must be 0.
    """
    comm = comm or world()
    ranks = comm_ranks(comm)
    mask = np.asarray(mask, dtype=bool)
    ndim = mask.ndim
    axis %= ndim
    if slab is None:
        mask = np.moveaxis(mask, axis, 0)
        slab = split_planes(mask.shape, ranks=ranks)
        mask = mask[slab.read]
    elif axis != 0:
        raise InputError(f"tortuosity along axis {axis}: an image read in slabs over the ranks is solved along "
                         "axis 0 (the thickness) only; load it whole for an in-plane axis")
    wrap = tuple(a + 1 if a < axis else a for a in in_plane_axes(ndim, periodic=periodic, transport_axis=axis))
    wrap = tuple(a for a in wrap if slab.shape[a] >= 3)  # shorter axes would couple a cell to itself or twice
    owned = mask[slab.owned]
    through = percolating(owned, wrap_axes=wrap, ranks=ranks)
    phase, count = (int(ranks.sum(np.count_nonzero(a))) for a in (owned, through))
    eps = phase / int(np.prod(slab.shape))
    if count == 0:
        return TortuosityResult(volume_fraction=eps, percolating_fraction=0.0, D_eff=0.0, tau=None, axis=axis)
    through = with_halo(through, slab=slab, ranks=ranks)
    del mask, owned
    flux_in, flux_out, iterations = _solve_steady(through, slab, wrap, rtol=rtol, comm=comm, ranks=ranks)
    d_eff, tau = tortuosity_from_flux(
        flux=flux_in, volume_fraction=eps, length=slab.shape[0], area=int(np.prod(slab.shape[1:]))
    )
    return TortuosityResult(
        volume_fraction=eps,
        percolating_fraction=count / max(phase, 1),
        D_eff=d_eff,
        tau=tau,
        axis=axis,
        iterations=iterations,
        flux_mismatch=abs(flux_in - flux_out) / flux_in if flux_in > 0 else 0.0,
    )


def _solve_steady(
    through: np.ndarray, slab: Slab, wrap: tuple[int, ...], *, rtol: float, comm, ranks: Ranks  # noqa: ANN001
) -> tuple[float, float, int]:
    """Solve on the cells of ``through`` (the planes ``slab`` reads; SPEC sect. 4); return (flux in at y = 0,
    flux out at y = H, iterations)."""
    PETSc = petsc()
    per_plane = np.count_nonzero(through[slab.owned].reshape(slab.hi - slab.lo, -1), axis=1)
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(ranks.gather(per_plane)))]).astype(np.int64)
    total, first, last_start = int(offsets[-1]), int(offsets[1]), int(offsets[-2])
    start, stop = int(offsets[slab.lo]), int(offsets[slab.hi])
    plane_rows = offsets[slab.lo - slab.below : slab.hi + slab.above + 1]
    indptr, indices, values, rhs = assemble_rows(through, dtype=PETSc.IntType, plane_rows=plane_rows,
                                                 owned=slab.owned, wrap=wrap, planes=(first, last_start))
    mine = (stop - start, total)
    matrix = aij_matrix((indptr, indices, values), sizes=(mine, mine), comm=comm, spd=True)
    del indptr, indices, values
    prolong, coarse_total = prolongation(through[slab.owned], mine, comm=comm, ranks=ranks)
    coarse = matrix.ptap(prolong)

    b = PETSc.Vec().createWithArray(rhs, size=mine, comm=comm)  # no copy
    x = PETSc.Vec().createWithArray(linear_profile(per_plane, first_plane=slab.lo, depth=slab.shape[0]),
                                    size=mine, comm=comm)  # the initial guess
    ksp = multigrid_cg(matrix, prolong, coarse, rtol=rtol, comm=comm, prefix=OPTIONS_PREFIX)
    ksp.solve(b, x)
    reason = ksp.getConvergedReason()
    if reason < 0:
        raise NumericalError(f"tortuosity solve did not converge (PETSc reason {reason}); try a smaller rtol or check the image")
    c = x.getArray(readonly=True)  # flux in through y = 0 (unknowns below first), out through y = H (from last_start)
    flux_in = ranks.sum(G_BOUNDARY * float(np.sum(C_IN - c[: max(0, min(first, stop) - start)])))
    flux_out = ranks.sum(G_BOUNDARY * float(np.sum(c[max(last_start, start) - start :] - C_OUT)))
    iterations = ksp.getIterationNumber()
    log.debug("tortuosity solve: %d unknowns, %d coarse, %d CG iterations", total, coarse_total, iterations)
    for obj in (ksp, coarse, prolong, matrix, b, x):
        obj.destroy()
    return flux_in, flux_out, iterations
