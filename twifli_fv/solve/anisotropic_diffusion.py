"""Finite-volume operator of anisotropic diffusion on a voxel grid (two-point fluxes), and the effective D.

Per face between two solid cells P, E along axis a (face area ``A = h^(d-1)``)::

    q = -A D_aa,h (c_E - c_P) / h          (flux from P to E)

``D_aa,h`` is the harmonic mean of the two cells' components along the face normal. Faces touching a pore or crack
carry nothing; in-plane axes are periodic, axis 0 (thickness) is closed. The off-diagonal ``D_ab`` of tilted
grains are left out (README, "Transport"): the operator is an M-matrix, conserves Li exactly and gives the exact
through-thickness D (``D_00``) of a tilted grain spanning a periodic domain.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from twifli_fv.mesh.faces import axis_pairs
from twifli_fv.solve.fv import two_point_operator
from twifli_fv.solve.sparse_lu import SparseLU


def diffusion_matrix(tensor: np.ndarray, solid: np.ndarray, voxel_size_m: float) -> sparse.csr_matrix:
    """``L`` (m^3 s^-1) with ``V dc/dt = L c``: net diffusive inflow of each cell; ``tensor`` is (*shape, d, d)."""
    ndim, h = solid.ndim, voxel_size_m
    flat = tensor.reshape(solid.size, ndim, ndim)
    faces = []
    for axis in range(ndim):
        p, e = axis_pairs(solid, axis, periodic=axis > 0)
        p, e = p[p != e], e[p != e]  # a wrapped axis one cell wide has no faces
        dp, de = flat[p, axis, axis], flat[e, axis, axis]
        faces.append((p, e, h ** (ndim - 1) / h * np.where(dp + de > 0, 2 * dp * de / np.maximum(dp + de, 1e-300), 0.0)))
    return two_point_operator(faces, solid.size)


def effective_diffusivity(tensor: np.ndarray, solid: np.ndarray, voxel_size_m: float) -> float:
    """Through-thickness effective D (m^2 s^-1) of the map: ``Q H / (A dc)`` over the whole cross-section, in steady
    state with c = 1 on the solid faces of the current-collector plane and c = 0 on those of the separator plane
    (half-cell conductance ``2 D_00 / h``), as for tortuosity (SPEC sect. 4)."""
    shape, h = solid.shape, voxel_size_m
    area = h ** (solid.ndim - 1)
    half_cell = np.where(solid, 2 * area * tensor[..., 0, 0] / h, 0.0)  # conductance to a Dirichlet plane
    bottom, top = np.zeros(shape), np.zeros(shape)
    bottom[0], top[-1] = half_cell[0], half_cell[-1]
    bottom = bottom.ravel()
    matrix = -diffusion_matrix(tensor, solid, voxel_size_m) + sparse.diags(bottom + top.ravel())
    scale = float(np.max(np.abs(matrix.diagonal()))) or 1.0
    # pores (and solid islands touching neither plane) get a tiny diagonal: c = 0 there, nothing else moves
    matrix = matrix + sparse.diags(np.where(solid.ravel(), 1e-12, 1.0) * scale)
    lu = SparseLU(matrix)
    c = lu.solve(bottom)
    lu.destroy()
    flux = float(np.sum(bottom * (1.0 - c)))
    cross_section = area * float(np.prod(shape[1:]))
    return flux * shape[0] * h / cross_section

