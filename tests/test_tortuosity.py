"""Tortuosity factors (SPEC sect. 4) against analytic values and TauFactor."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from twifli_fv.solve.tortuosity import tortuosity_factor

from .conftest import MESHES, ROOT


def test_straight_columns_have_unit_tortuosity():
    mask = np.zeros((12, 10, 9), dtype=bool)
    mask[:, 2, 3] = mask[:, 7, 1:5] = True
    result = tortuosity_factor(mask)
    assert result.tau == pytest.approx(1.0, rel=1e-8)
    assert result.D_eff == pytest.approx(mask.mean(), rel=1e-8)
    assert result.percolating_fraction == 1.0


def serpentine(segments: int, width: int) -> tuple[np.ndarray, int]:
    """A one-voxel channel: single connector cells on even rows (alternating ends), full rows between."""
    mask = np.zeros((2 * segments + 1, width), dtype=bool)
    for row in range(0, 2 * segments + 1, 2):
        mask[row, 0 if (row // 2) % 2 == 0 else width - 1] = True
    mask[1::2, :] = True
    return mask, int(mask.sum())


@pytest.mark.parametrize(("segments", "width"), [(1, 3), (3, 6), (5, 11)])
def test_serpentine_channel_is_path_length_squared(segments, width):
    mask, path_length = serpentine(segments, width)
    result = tortuosity_factor(mask, periodic=False)
    assert result.tau == pytest.approx((path_length / mask.shape[0]) ** 2, rel=1e-7)


def test_isolated_islands_carry_no_flux():
    mask = np.zeros((16, 12), dtype=bool)
    mask[:, 0] = mask[:, 6] = True
    mask[5:8, 3] = mask[10, 9:11] = True  # islands: touch neither plane, nor the columns
    eps_total = mask.mean()
    eps_columns = 2 * 16 / mask.size
    result = tortuosity_factor(mask, periodic=False)
    assert result.tau == pytest.approx(eps_total / eps_columns, rel=1e-8)
    assert result.percolating_fraction == pytest.approx(32 / mask.sum())


def test_non_percolating_phase_has_no_tortuosity():
    mask = np.zeros((10, 10), dtype=bool)
    mask[:6, 2] = mask[5:, 7] = True  # two stubs, no through path without wrap
    result = tortuosity_factor(mask, periodic=False)
    assert result.tau is None and not result.percolates and result.D_eff == 0.0


def test_periodic_wrap_joins_paths_across_the_side():
    mask = np.zeros((4, 6), dtype=bool)
    mask[:2, 0] = mask[2:, 5] = mask[1, 5] = True  # joined only through the periodic side
    assert tortuosity_factor(mask, periodic=False).tau is None
    # the one path is a chain of unit links and two half-cell links to the planes: R = 0.5 + 4 + 0.5 = 5,
    # D_eff = (1 / R) L / A = 4 / 30, tau = eps / D_eff = (5 / 24) / (4 / 30) = 75 / 48
    assert tortuosity_factor(mask, periodic=True).tau == pytest.approx(75 / 48, rel=1e-8)


def test_in_plane_axis_and_flux_balance():
    rng = np.random.default_rng(3)
    mask = rng.random((20, 24, 16)) < 0.7
    along_thickness = tortuosity_factor(mask)
    in_plane = tortuosity_factor(mask, axis=1)
    assert along_thickness.flux_mismatch < 1e-6 and in_plane.flux_mismatch < 1e-6
    assert in_plane.axis == 1
    swapped = tortuosity_factor(np.ascontiguousarray(mask.swapaxes(0, 1)), axis=0, periodic=False)
    assert tortuosity_factor(mask, axis=1, periodic=False).tau == pytest.approx(swapped.tau, rel=1e-8)
    channels = np.zeros((6, 9), dtype=bool)
    channels[2] = channels[4] = True  # straight in-plane channels, and a dead end
    channels[0, :3] = True
    assert tortuosity_factor(channels, axis=1, periodic=False).tau == pytest.approx(channels.mean() / (2 / 6), rel=1e-8)


TAUFACTOR = {0: (0.4535, 2.0899), 85: (0.3950, 8.1911), 170: (0.1515, 9.5847)}  # shared/data/README.md


@pytest.mark.parametrize("label", sorted(TAUFACTOR))
def test_agrees_with_taufactor_on_the_real_electrode(label):
    from twifli_fv.image.io import read_labels

    crop = read_labels(MESHES / "electrode_nmc_crop128.tif")
    eps, tau = TAUFACTOR[label]
    result = tortuosity_factor(crop == label, periodic=False)
    assert result.volume_fraction == pytest.approx(eps, abs=5e-5)
    assert result.tau == pytest.approx(tau, rel=0.002)  # measured: 0.014 %, 0.16 %, 0.022 %
    if label == 0:  # the README's example of `twifli tortuosity ... --no-flux --json` is this result, rounded
        shown = re.search(r'"SE": (\{.*?\})', (ROOT / "README.md").read_text()).group(1)
        assert json.loads(shown) == {key: round(getattr(result, key), 4) for key in json.loads(shown)}
