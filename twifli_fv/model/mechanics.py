"""Elastic constants and the chemical (Vegard) strain of layered LiCoO2 grains (paper 2, Fig. 5c-f; SPEC sect. 6).

Small-strain linear elasticity, tension positive. Tensors are 6-vectors / 6 x 6 matrices in Voigt order of the
image axes, ``(00, 11, 22, 12, 02, 01)``, with engineering shear strains (``gamma_ij = 2 eps_ij``); axis 0 runs
through the thickness (SPEC sect. 1). In 2D (plane strain) axis 2 is the out-of-plane direction.

The crystal frame's c axis (normal to the CoO2 layers) is the unit vector ``n`` of
:func:`twifli_fv.model.anisotropy.c_axis`; with the Vegard coefficients ``Omega_a``, ``Omega_c`` (a- and c-axis
strain per unit ``x = c / c_max``; their defaults: README, "Chemo-mechanics"),

    eps_ch = (Omega_a (I - n n) + Omega_c n n) (c - c_ref) / c_max

A grain's stiffness is isotropic or transversely isotropic about ``n``, rotated into image axes.
"""

from __future__ import annotations

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.model.anisotropy import c_axis

VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
VOIGT_INDEX = np.array([[0, 5, 4], [5, 1, 3], [4, 3, 2]])  # the Voigt component of each tensor index pair
VEGARD_C_AXIS = -0.050  # c-axis strain per unit x on lithiation (Reimers and Dahn 1992; module docstring)
VEGARD_A_AXIS = 0.005  # a-axis strain per unit x


def isotropic_stiffness(*, E_Pa: float, poisson_ratio: float) -> np.ndarray:
    """The 6 x 6 Voigt stiffness of an isotropic solid (Pa)."""
    if not (np.isfinite(E_Pa) and E_Pa > 0 and -1.0 < poisson_ratio < 0.5):
        raise InputError(f"mechanics: need E > 0 and -1 < poisson_ratio < 0.5, got E={E_Pa!r} Pa, nu={poisson_ratio!r}")
    lam = E_Pa * poisson_ratio / ((1 + poisson_ratio) * (1 - 2 * poisson_ratio))
    mu = E_Pa / (2 * (1 + poisson_ratio))
    stiffness = np.zeros((6, 6))
    stiffness[:3, :3] = lam
    stiffness[range(3), range(3)] += 2 * mu
    stiffness[range(3, 6), range(3, 6)] = mu
    return stiffness


def transversely_isotropic_stiffness(*, C11_Pa: float, C12_Pa: float, C13_Pa: float, C33_Pa: float,
                                     C44_Pa: float) -> np.ndarray:
    """The 6 x 6 Voigt stiffness in the crystal frame (axis 3 = c axis, isotropic in the a-b plane), Pa."""
    stiffness = np.zeros((6, 6))
    stiffness[:3, :3] = [[C11_Pa, C12_Pa, C13_Pa], [C12_Pa, C11_Pa, C13_Pa], [C13_Pa, C13_Pa, C33_Pa]]
    stiffness[range(3, 6), range(3, 6)] = C44_Pa, C44_Pa, 0.5 * (C11_Pa - C12_Pa)
    if np.linalg.eigvalsh(stiffness)[0] <= 0:
        raise InputError("mechanics: the transversely isotropic constants C11..C44 are not positive definite")
    return stiffness


def crystal_frames(*, tilt_deg: np.ndarray, azimuth_deg: np.ndarray | float = 0.0, ndim: int = 2) -> np.ndarray:
    """Rotations (..., 3, 3) whose columns are the crystal axes a1, a2, c in image axes (3D; in 2D axis 2 is out of
    plane and the c axis lies in the image plane)."""
    n = c_axis(tilt_deg=tilt_deg, azimuth_deg=azimuth_deg, ndim=ndim)
    if ndim == 2:
        n = np.concatenate([n, np.zeros(n.shape[:-1] + (1,))], axis=-1)
        a2 = np.broadcast_to(np.array([0.0, 0.0, 1.0]), n.shape)
    else:
        azimuth = np.radians(np.broadcast_to(np.asarray(azimuth_deg, dtype=float), n.shape[:-1]))
        a2 = np.stack([np.zeros_like(azimuth), -np.sin(azimuth), np.cos(azimuth)], axis=-1)
    a1 = np.cross(a2, n)
    return np.stack([a1, a2, n], axis=-1)


def rotate_stiffness(stiffness: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """``C'_ijkl = R_ia R_jb R_kc R_ld C_abcd`` for each rotation in ``frames`` (..., 3, 3): (..., 6, 6)."""
    tensor = stiffness[VOIGT_INDEX[:, :, None, None], VOIGT_INDEX]  # C_ijkl
    rotated = np.einsum("...ia,...jb,...kc,...ld,abcd->...ijkl", frames, frames, frames, frames, tensor, optimize=True)
    first, second = zip(*VOIGT_PAIRS)
    return rotated[..., first, second, :, :][..., first, second]


def chemical_strain(*, frames: np.ndarray, vegard_a_axis: float, vegard_c_axis: float) -> np.ndarray:
    """Voigt strain (..., 6) per unit change of ``x = c / c_max``: ``Omega_a (I - n n) + Omega_c n n``."""
    n = frames[..., :, 2]
    tensor = vegard_a_axis * (np.eye(3) - n[..., :, None] * n[..., None, :]) + vegard_c_axis * n[..., :, None] * n[..., None, :]
    return strain_to_voigt(tensor)


def strain_to_voigt(tensor: np.ndarray) -> np.ndarray:
    """Symmetric (..., 3, 3) strain tensor to Voigt (..., 6) with engineering shears."""
    first, second = zip(*VOIGT_PAIRS)
    return tensor[..., first, second] * np.array([1, 1, 1, 2, 2, 2])


def stress_invariants(stress: np.ndarray) -> dict[str, np.ndarray]:
    """Von Mises, hydrostatic (mean) and maximum principal stress of Voigt stresses (..., 6)."""
    s, tensor = stress, stress[..., VOIGT_INDEX]
    finite = np.isfinite(s).all(axis=-1)
    principal = np.full(s.shape[:-1], np.nan)
    principal[finite] = np.linalg.eigvalsh(tensor[finite])[..., -1]
    mean = s[..., :3].mean(axis=-1)
    deviatoric = s[..., :3] - mean[..., None]
    von_mises = np.sqrt(1.5 * (np.sum(deviatoric**2, axis=-1) + 2 * np.sum(s[..., 3:] ** 2, axis=-1)))
    return {"von_mises": von_mises, "hydrostatic": mean, "max_principal": principal}

