"""The PETSc-assembled TWIF-Li system against FiPy's own assembly of the same equation (issue 5)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from twifli_fv import Phase, SegmentedImage
from twifli_fv.mesh.grid import build_mesh
from twifli_fv.model.diffusivity import AnomalousDiffusivity
from twifli_fv.model.twifli import Drive, TwifliModel
from twifli_fv.solve.twifli import TwifliSolver

C_SAT = 48000.0


def random_model(shape: tuple[int, ...], *, periodic: bool, seed: int = 5) -> TwifliModel:
    rng = np.random.default_rng(seed)
    phases = rng.choice([Phase.AM, Phase.SE, Phase.CBD], size=shape, p=[0.6, 0.3, 0.1]).astype(np.uint8)
    mesh = build_mesh(SegmentedImage(phases, 0.5e-6), periodic=periodic)
    return TwifliModel(mesh=mesh, diffusivity=AnomalousDiffusivity(1e-15, 51765.0, 1e-13), c_sat_mol_m3=C_SAT,
                       tau_e=2.0, tau_li=3.0)


def dense(matrix, size: int) -> np.ndarray:  # noqa: ANN001 - PETSc.Mat
    indptr, indices, values = matrix.getValuesCSR()
    return csr_matrix((values, indices, indptr), shape=(size, size)).toarray()


@pytest.mark.parametrize(("shape", "periodic"), [((7, 6), True), ((7, 6), False), ((6, 2), True),
                                                 ((5, 4, 3), True), ((5, 4, 3), False)])
def test_matrix_and_rhs_equal_fipys(shape, periodic):
    model = random_model(shape, periodic=periodic)
    rng = np.random.default_rng(1)
    c = np.where(model.am, rng.uniform(1000.0, 47000.0, model.am.size), 0.0)
    fast, reference = (TwifliSolver(model, c, assembly=a) for a in ("petsc", "fipy"))
    active = int(np.count_nonzero(model.mesh.active_area_m2))
    k, s = rng.uniform(0.0, 1e-2, active), rng.uniform(-50.0, 50.0, active)
    reference._fipy.equation.cacheMatrix()
    reference._fipy.equation.cacheRHSvector()
    dt = 30.0
    fast._sweep(dt, k, s, atol=0.0)
    reference._sweep(dt, k, s, atol=0.0)
    cells = model.am.size
    fipy_matrix = dense(reference._fipy.equation.matrix.matrix, cells)
    fipy_rhs = np.asarray(reference._fipy.equation.RHSvector)
    scale = model.mesh.cell_volume_m3 / dt  # FiPy's transient coefficient V / dt
    am = np.flatnonzero(model.am)
    ours = dense(fast._system.matrix, am.size)
    assert np.count_nonzero(ours - np.diag(np.diag(ours))) > 0  # the diffusion couples cells
    np.testing.assert_allclose(fipy_matrix[np.ix_(am, am)], scale * ours, rtol=1e-12, atol=1e-14 * scale)
    np.testing.assert_allclose(fipy_rhs[am], scale * fast._system.b.getArray(), rtol=1e-12, atol=1e-14 * scale)
    rest = np.flatnonzero(~model.am)  # elsewhere FiPy solves c = c_old, uncoupled
    np.testing.assert_allclose(fipy_matrix[rest], scale * np.eye(cells)[rest], rtol=1e-12, atol=0)


@pytest.mark.parametrize("periodic", [True, False])
def test_short_run_equals_fipys(periodic):
    model = random_model((12, 10, 3), periodic=periodic, seed=2)
    current = 30.0  # A m^-2: several C for this small domain
    solvers = [TwifliSolver(model, assembly=a) for a in ("petsc", "fipy")]
    for dt, kind in [(1.0, "charge"), (5.0, "charge"), (20.0, "charge"), (30.0, "rest"), (10.0, "discharge")]:
        for solver in solvers:
            assert solver.advance(dt, Drive(kind, current)) is not None
        fast, reference = (solver.values for solver in solvers)
        assert np.max(np.abs(fast - reference)) < 1e-9 * C_SAT, kind
    assert abs(solvers[0].mean_c_norm() - 1.0) > 1e-3  # the run did move the state
