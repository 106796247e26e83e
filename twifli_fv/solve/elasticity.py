"""Linear elasticity with eigenstrain on a voxel grid: Q1 elements assembled into PETSc, CG + GAMG (SPEC sect. 6).

``div sigma = 0``, ``sigma = C (eps(u) - eps*)`` with a stiffness ``C`` per material and an eigenstrain ``eps*``
per voxel (:mod:`twifli_fv.model.mechanics`); 2D is plane strain (``eps_zz = 0``, ``sigma_zz`` reported).
Voids (material ``-1``) carry no elements; solid parts not held through faces by a prescribed displacement are
left out (logged). Boundary conditions, assembly and the solver (options under ``-elasticity_``): README,
"Chemo-mechanics".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from twifli_fv.mesh.q1 import (
    PLANE_COMPONENTS,
    csr_layout,
    element_nodes,
    element_stiffness,
    node_shape,
    strain_operator,
)
from twifli_fv.properties.connectivity import label_components
from twifli_fv.solve.fv import aij_matrix
from twifli_fv.solve.petsc_env import krylov, petsc, user_options, world

log = logging.getLogger(__name__)
OPTIONS_PREFIX = "elasticity_"


@dataclass(frozen=True)
class ElasticProblem:
    """A voxel body: ``material`` per voxel (index into ``stiffness_Pa``, ``-1`` void), Voigt eigenstrain per voxel
    (shape + (6,)), prescribed displacements (node grid + (ndim,), m, NaN free) and nodal forces (N; per metre
    of depth in 2D)."""

    material: np.ndarray
    stiffness_Pa: np.ndarray
    spacing_m: float
    periodic: tuple[bool, ...]
    prescribed_m: np.ndarray
    eigenstrain: np.ndarray | None = None
    forces_N: np.ndarray | None = None


@dataclass(frozen=True)
class ElasticSolution:
    """Voigt stress per voxel (shape + (6,), Pa; NaN where no element), node displacements (m; NaN off the body)."""

    stress_Pa: np.ndarray
    displacement_m: np.ndarray
    iterations: int
    dropped_voxels: int
    solver: str


def solve_elasticity(problem: ElasticProblem, *, rtol: float = 1e-10, comm=None) -> ElasticSolution:  # noqa: ANN001
    """Solve ``problem`` on the ranks of ``comm`` (default all); every rank gets the whole solution."""
    return ElasticSystem(problem, rtol=rtol, comm=comm).solve(problem.eigenstrain)


class ElasticSystem:
    """The assembled, preconditioned system of a body (``problem`` less its eigenstrain): solve it for any number of
    eigenstrain fields (the matrix and GAMG's hierarchy are built once)."""

    def __init__(self, problem: ElasticProblem, *, rtol: float = 1e-10, comm=None) -> None:  # noqa: ANN001
        PETSc = petsc()
        self.problem, self.comm = problem, comm or world()
        shape, ndim, h = problem.material.shape, problem.material.ndim, problem.spacing_m
        self.components = list(PLANE_COMPONENTS[ndim])
        self.elements = elements = np.flatnonzero(_held(problem))
        nodes = element_nodes(shape, problem.periodic, elements)
        self.active, local = np.unique(nodes, return_inverse=True)
        self.dofs = (local.reshape(nodes.shape)[:, :, None] * ndim + np.arange(ndim)).reshape(len(elements), -1)
        size = self.active.size * ndim
        self.values = (problem.prescribed_m.reshape(-1, ndim)[self.active]).reshape(-1)  # per dof, NaN free
        self.fixed = fixed = np.isfinite(self.values)
        self.material = problem.material.reshape(-1)[elements]
        matrices = element_stiffness(problem.stiffness_Pa[:, self.components][:, :, self.components], h)
        self.centre = strain_operator(np.full(ndim, 0.5))
        ranks, me = self.comm.getSize(), self.comm.getRank()
        self.mine = slice(len(elements) * me // ranks, len(elements) * (me + 1) // ranks)
        local = self.dofs[self.mine].astype(PETSc.IntType)
        block = matrices[self.material[self.mine]]
        self.rhs = np.zeros(size)  # this rank's share of the prescribed values and forces
        held = fixed[local]
        touching = np.flatnonzero(held.any(axis=1))  # elements with a prescribed dof: lift its value into the rhs
        sub, sub_held = block[touching], held[touching]
        lifted = np.einsum("tij,tj->ti", sub, np.where(sub_held, self.values[local[touching]], 0.0))
        self.rhs -= np.bincount(local[touching].reshape(-1), weights=np.where(sub_held, 0.0, lifted).reshape(-1),
                                minlength=size)
        sub[sub_held[:, :, None] | sub_held[:, None, :]] = 0.0
        block[touching] = sub
        scale = float(np.mean(np.abs(np.diagonal(matrices, axis1=1, axis2=2))))
        pinned = np.flatnonzero(fixed) if me == 0 else np.zeros(0, dtype=np.int64)
        self.rhs[pinned] += scale * self.values[pinned]
        if me == 0 and problem.forces_N is not None:
            self.rhs += np.where(fixed, 0.0, problem.forces_N.reshape(-1, ndim)[self.active].reshape(-1))
        if ranks == 1 and all(n >= 3 for n, wrap in zip(shape, problem.periodic) if wrap):
            self.matrix = _csr_matrix(problem, nodes, self.active, block, pinned, scale, self.comm)
        else:
            self.matrix = _coo_matrix(size, ndim, local, block, pinned, scale, self.comm)
        del block
        self.matrix.setOption(PETSc.Mat.Option.SPD, True)
        self.x, self.b = self.matrix.createVecs()
        coordinates = self.matrix.createVecRight()
        start, stop = coordinates.getOwnershipRange()
        self.nodes = node_shape(shape, problem.periodic)
        position = np.stack(np.unravel_index(self.active, self.nodes), axis=-1) * h
        coordinates.setArray(position.reshape(-1)[start:stop])
        self.matrix.setNearNullSpace(PETSc.NullSpace().createRigidBody(coordinates))
        self.ksp = krylov(self.matrix, comm=self.comm, prefix=OPTIONS_PREFIX, method="cg", preconditioner="gamg")
        self.ksp.setTolerances(rtol=rtol, atol=0.0, max_it=5000)
        with user_options("the elasticity solve"):
            self.ksp.setFromOptions()
            self.ksp.setUp()
        self.description = f"PETSc {self.ksp.getType().upper()} + {self.ksp.getPC().getType()} on {ranks} rank(s)"
        self._gather, self._whole = PETSc.Scatter.toAll(self.x)

    def solve(self, eigenstrain: np.ndarray | None) -> ElasticSolution:
        """Displacements and stresses for a Voigt eigenstrain per voxel (shape + (6,); None: none)."""
        PETSc, problem, mine = petsc(), self.problem, self.mine
        shape, ndim, h = problem.material.shape, problem.material.ndim, problem.spacing_m
        stiffness = problem.stiffness_Pa[self.material]
        eigen = (np.zeros((len(self.elements), 6)) if eigenstrain is None
                 else np.asarray(eigenstrain, dtype=float).reshape(-1, 6)[self.elements])
        eigenstress = np.matmul(stiffness[mine], eigen[mine, :, None])[:, self.components, 0]
        rhs = self.rhs + np.bincount(self.dofs[mine].reshape(-1), minlength=self.rhs.size,
                                     weights=(h ** (ndim - 1) * eigenstress @ self.centre).reshape(-1))
        rhs[self.fixed] = self.rhs[self.fixed]
        self.b.set(0.0)
        nonzero = np.flatnonzero(rhs)
        self.b.setValues(nonzero.astype(PETSc.IntType), rhs[nonzero], addv=PETSc.InsertMode.ADD_VALUES)
        self.b.assemble()
        self.x.set(0.0)
        self.ksp.solve(self.b, self.x)
        reason, iterations = self.ksp.getConvergedReason(), self.ksp.getIterationNumber()
        if reason < 0:
            raise RuntimeError(f"elasticity solve did not converge (PETSc reason {reason}, {iterations} iterations)")
        self._gather.scatter(self.x, self._whole)
        u = self._whole.getArray(readonly=True).copy()
        u[self.fixed] = self.values[self.fixed]
        strain = np.zeros((len(self.elements), 6))
        strain[:, self.components] = u[self.dofs] @ self.centre.T / h
        stress = np.full((problem.material.size, 6), np.nan)
        stress[self.elements] = np.matmul(stiffness, (strain - eigen)[:, :, None])[..., 0]
        displacement = np.full((int(np.prod(self.nodes)), ndim), np.nan)
        displacement[self.active] = u.reshape(-1, ndim)
        return ElasticSolution(stress.reshape(*shape, 6), displacement.reshape(*self.nodes, ndim), iterations,
                               int(np.count_nonzero(problem.material >= 0)) - len(self.elements), self.description)


def _csr_matrix(problem: ElasticProblem, nodes: np.ndarray, active: np.ndarray, block: np.ndarray, pinned: np.ndarray,
                scale: float, comm):  # noqa: ANN001, ANN202 - PETSc objects
    """One rank: the element values summed straight into the grid's CSR pattern (no COO sort)."""
    PETSc, ndim = petsc(), problem.material.ndim
    indptr, indices, position = csr_layout(problem.material.shape, problem.periodic, nodes, active)
    data = np.bincount(position.reshape(-1), weights=block.reshape(-1), minlength=indices.size)
    del position
    rows = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    data[np.flatnonzero(indices == rows)[pinned]] += scale  # each row holds its own diagonal once
    csr = sparse.csr_matrix((data, indices.astype(PETSc.IntType), indptr.astype(PETSc.IntType)),
                            shape=(indptr.size - 1,) * 2)
    csr.sort_indices()  # columns wrap across a periodic seam
    csr.eliminate_zeros()  # neighbours across a void share no element: GAMG's graph must not join them
    return aij_matrix((csr.indptr, csr.indices, csr.data), sizes=csr.shape, comm=comm, block=ndim)


def _coo_matrix(size: int, ndim: int, local: np.ndarray, block: np.ndarray, pinned: np.ndarray, scale: float,
                comm):  # noqa: ANN001, ANN202 - PETSc objects
    """Any number of ranks: this rank's element values through PETSc's COO interface (PETSc sums and routes)."""
    PETSc = petsc()
    width = local.shape[1]
    rows = np.concatenate([np.repeat(local, width, axis=1).reshape(-1), pinned.astype(local.dtype)])
    cols = np.concatenate([np.tile(local, (1, width)).reshape(-1), pinned.astype(local.dtype)])
    matrix = PETSc.Mat().createAIJ(((PETSc.DECIDE, size), (PETSc.DECIDE, size)), bsize=ndim, comm=comm)
    matrix.setPreallocationCOO(rows, cols)
    matrix.setValuesCOO(np.concatenate([block.reshape(-1), np.full(pinned.size, scale)]))
    matrix.assemble()
    return matrix


def _held(problem: ElasticProblem) -> np.ndarray:
    """Solid voxels face-connected (periodic axes wrapping) to a voxel with a prescribed displacement at a corner."""
    solid = problem.material >= 0
    held_nodes = np.isfinite(problem.prescribed_m).any(axis=-1).reshape(-1)
    voxels = np.flatnonzero(solid)
    touching = held_nodes[element_nodes(solid.shape, problem.periodic, voxels)].any(axis=1)
    labels, _ = label_components(solid, wrap_axes=tuple(a for a, p in enumerate(problem.periodic) if p))
    anchored = np.unique(labels.reshape(-1)[voxels[touching]])
    keep = np.isin(labels, anchored[anchored > 0]) & solid
    dropped = int(np.count_nonzero(solid)) - int(np.count_nonzero(keep))
    if dropped:
        log.warning("elasticity: %d solid voxel(s) in parts not held by any prescribed displacement carry no stress",
                    dropped)
    return keep.reshape(-1)


def face_nodes(problem_shape: tuple[int, ...], periodic: tuple[bool, ...], *, axis: int, side: int) -> np.ndarray:
    """Boolean node grid, True on the face ``side`` (0 low, 1 high) of ``axis``."""
    mask = np.zeros(node_shape(problem_shape, periodic), dtype=bool)
    np.moveaxis(mask, axis, 0)[-side] = True  # side 0: the first layer, side 1: the last
    return mask


def face_traction(problem_shape: tuple[int, ...], periodic: tuple[bool, ...], *, axis: int, side: int,
                  traction_Pa: np.ndarray, spacing_m: float) -> np.ndarray:
    """Nodal forces (node grid + (ndim,), N; per metre of depth in 2D) of a uniform traction on a face of the box:
    each voxel face's share ``t h^(ndim-1)`` split equally between its 2^(ndim-1) corners (Q1's consistent load)."""
    ndim = len(problem_shape)
    weight = np.ones(())  # per face node: the product over the face's axes of half its adjacent voxel edges
    for a, (n, wrap) in enumerate(zip(problem_shape, periodic)):
        if a != axis:
            weight = np.multiply.outer(weight, np.ones(n) if wrap else np.concatenate([[0.5], np.ones(n - 1), [0.5]]))
    forces = np.zeros((*node_shape(problem_shape, periodic), ndim))
    load = weight[..., None] * np.asarray(traction_Pa, dtype=float) * spacing_m ** (ndim - 1)
    forces[face_nodes(problem_shape, periodic, axis=axis, side=side)] = load.reshape(-1, ndim)
    return forces
