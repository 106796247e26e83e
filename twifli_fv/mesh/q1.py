"""Q1 (bilinear / trilinear) finite elements on a voxel grid: one element per voxel, nodes at voxel corners.

Element nodes are the corners ``itertools.product((0, 1), repeat=ndim)`` in image-axis order; the element's
degrees of freedom are ``node * ndim + component``. Strains are Voigt vectors of the image axes (see
:mod:`twifli_fv.model.mechanics`): in 2D (plane strain) the in-plane components ``(00, 11, 01)``, in 3D all six.
A periodic axis of ``n`` voxels has ``n`` node layers (the last wraps onto the first), else ``n + 1``.
The element stiffness ``K_e = int B^T D B dV`` uses 2^ndim Gauss points; as ``D`` enters linearly,
``K_e = h^(ndim-2) sum_IJ D_IJ G_IJ`` with grid-independent ``G_IJ``.
"""

from __future__ import annotations

import itertools

import numpy as np

PLANE_COMPONENTS = {2: (0, 1, 5), 3: (0, 1, 2, 3, 4, 5)}  # Voigt components with strain in the element


def corners(ndim: int) -> np.ndarray:
    """The 2^ndim corner offsets (nodes, ndim) of a unit voxel."""
    return np.array(list(itertools.product((0, 1), repeat=ndim)))


def strain_operator(point: np.ndarray) -> np.ndarray:
    """``B`` (components, nodes * ndim) at ``point`` in the unit voxel [0, 1]^ndim (grid spacing 1)."""
    ndim = point.size
    offsets = corners(ndim)
    factors = np.where(offsets == 1, point, 1.0 - point)  # (nodes, ndim) 1D shape-function values
    signs = np.where(offsets == 1, 1.0, -1.0)
    gradient = np.stack([signs[:, a] * np.prod(np.delete(factors, a, axis=1), axis=1) for a in range(ndim)], axis=1)
    pairs = [(a, a) for a in range(ndim)] + ([(1, 2), (0, 2), (0, 1)] if ndim == 3 else [(0, 1)])
    operator = np.zeros((len(pairs), offsets.shape[0] * ndim))
    for row, (a, b) in enumerate(pairs):
        operator[row, a::ndim] += gradient[:, b]
        if a != b:
            operator[row, b::ndim] += gradient[:, a]
    return operator


def element_stiffness(plane_stiffness: np.ndarray, spacing_m: float) -> np.ndarray:
    """Element matrices (..., dofs, dofs) of the in-element stiffness blocks (..., components, components)."""
    ndim = 2 if plane_stiffness.shape[-1] == 3 else 3
    gauss = 0.5 + 0.5 / np.sqrt(3.0) * (2 * corners(ndim) - 1)
    b = np.array([strain_operator(point) for point in gauss])  # (points, components, dofs)
    basis = np.einsum("gia,gjb->ijab", b, b) / b.shape[0]  # G_IJ: the mean over the Gauss points of B_I^T B_J
    return spacing_m ** (ndim - 2) * np.einsum("...ij,ijab->...ab", plane_stiffness, basis)


def node_shape(shape: tuple[int, ...], periodic: tuple[bool, ...]) -> tuple[int, ...]:
    return tuple(n if p else n + 1 for n, p in zip(shape, periodic))


def element_nodes(shape: tuple[int, ...], periodic: tuple[bool, ...], elements: np.ndarray) -> np.ndarray:
    """Flat node-grid indices (elements, 2^ndim) of the voxels with flat indices ``elements``."""
    position, grid = np.unravel_index(elements, shape), node_shape(shape, periodic)
    modes = tuple("wrap" if p else "raise" for p in periodic)  # the far corner of a periodic axis is its first node
    return np.stack([np.ravel_multi_index(tuple(p + o for p, o in zip(position, offset)), grid, mode=modes)
                     for offset in corners(len(shape))], axis=1)


def csr_layout(shape: tuple[int, ...], periodic: tuple[bool, ...], nodes: np.ndarray,
               active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CSR pattern of the Q1 stiffness and where each element entry goes in it.

    ``nodes`` (elements, 2^ndim) are flat node-grid indices, ``active`` the sorted flat indices of the nodes
    with a degree of freedom (numbered in that order). Returns ``indptr``, ``indices`` (columns in offset
    order, unsorted only across a periodic seam) and ``position`` (elements, dofs, dofs): the entry of each
    element matrix value. Every row holds its node's active neighbours (offsets {-1, 0, 1}^ndim); periodic
    axes need at least 3 voxels (else two offsets meet the same node).
    """
    ndim = len(shape)
    grid = node_shape(shape, periodic)
    number = np.full(int(np.prod(grid)), -1, dtype=np.int64)
    number[active] = np.arange(active.size)
    offsets = np.array(list(itertools.product((-1, 0, 1), repeat=ndim)))  # increasing flat index, away from seams
    where = np.stack(np.unravel_index(active, grid), axis=-1)  # (active, ndim)
    neighbour = np.full((active.size, len(offsets)), -1, dtype=np.int64)
    modes = tuple("wrap" if wrap else "clip" for wrap in periodic)
    for k, offset in enumerate(offsets):
        target = where + offset
        inside = np.all(((target >= 0) & (target < grid)) | periodic, axis=1)
        neighbour[:, k] = np.where(inside, number[np.ravel_multi_index(tuple(target.T), grid, mode=modes)], -1)
    present = neighbour >= 0
    small = np.int32 if active.size * ndim * len(offsets) * ndim < 2**31 else np.int64  # halves the traffic
    slot = (np.cumsum(present, axis=1, dtype=small) - present).astype(small)  # rank of each neighbour in its row
    lengths = np.repeat(present.sum(axis=1) * ndim, ndim)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(small)
    columns = neighbour.astype(small)[:, None, :, None] * ndim + np.arange(ndim, dtype=small)  # (active, 1, K, ndim)
    indices = np.broadcast_to(columns, (active.size, ndim, len(offsets), ndim))[
        np.broadcast_to(present[:, None, :, None], (active.size, ndim, len(offsets), ndim))]
    corner = corners(ndim)
    pair_offset = np.array([[np.flatnonzero((offsets == cb - ca).all(axis=1))[0] for cb in corner] for ca in corner])
    local = number[nodes]  # (elements, corners)
    row_start = indptr[:-1][local[:, :, None] * ndim + np.arange(ndim)]  # (elements, corners, ndim)
    within = slot[local[:, :, None], pair_offset[None]] * ndim  # (elements, corners, corners)
    position = row_start[:, :, :, None, None] + within[:, :, None, :, None] + np.arange(ndim, dtype=small)  # e,a,i,b,j
    dofs = corner.shape[0] * ndim
    return indptr, indices, position.reshape(len(nodes), dofs, dofs)
