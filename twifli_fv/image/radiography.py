"""Operando neutron radiographs -> through-thickness relative Li profiles (paper 1, Fig. 1 and 3a).

Beer-Lambert per pixel, ``T = (I - dark) / (open - dark) = exp(-mu d)``, over the pristine image's ``mu_0 d``
("ratio mode", Fig. 1d), with Li carrying a fraction ``f`` of the pristine attenuation:
``c / c_0 = 1 - (1 - mu / mu_0) / f``, averaged over each cathode row (README, "2. Radiographs").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.image.io import read_intensity

MIN_ATTENUATION = 1e-6  # pristine -ln T0 below this is no attenuation at all: the pixel is left out


@dataclass(frozen=True)
class Region:
    """Cathode rows and in-plane columns of the radiographs, each ``[start, stop)``."""

    rows: list[int]
    columns: list[int]
    pixel_size_m: float
    collector_at_end: bool = False  # True when the last cathode row touches the current collector


@dataclass(frozen=True)
class RadiographProfiles:
    y_um: np.ndarray  # row-centre distances from the current collector
    c_norm: np.ndarray  # frames x rows, from the current collector to the separator
    excluded_pixels: int  # pixels left out over all frames (no usable transmission)


def transmission(image: np.ndarray, *, open_beam: np.ndarray | None, dark: np.ndarray | None, name: str) -> np.ndarray:
    """``(I - dark) / (open - dark)``; without an open beam the image must already be a transmission."""
    signal = image - (0.0 if dark is None else dark)
    if open_beam is None:
        if np.nanmax(signal) > 1.0 + 1e-9:
            raise InputError(f"{name}: values up to {np.nanmax(signal):g} are not a transmission in (0, 1]; "
                             "give images.open_beam (and images.dark)")
        return signal
    beam = open_beam - (0.0 if dark is None else dark)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(beam > 0, signal / np.where(beam > 0, beam, 1.0), np.nan)


def attenuation_ratio(frame: np.ndarray, pristine: np.ndarray) -> np.ndarray:
    """``mu / mu_0 = ln T / ln T_0`` per pixel; NaN where either transmission is unusable."""
    usable = (frame > 0) & (frame < 1) & (pristine > 0) & (pristine < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mu_d = -np.log(np.where(usable, frame, 0.5))
        mu0_d = -np.log(np.where(usable, pristine, 0.5))
    return np.where(usable & (mu0_d > MIN_ATTENUATION), mu_d / mu0_d, np.nan)


def relative_li_profiles(frames: list[np.ndarray], pristine: np.ndarray, region: Region, *,
                         open_beam: np.ndarray | None = None, dark: np.ndarray | None = None,
                         li_fraction: float = 1.0, names: list[str]) -> RadiographProfiles:
    """Row-averaged ``c / c_0`` of every frame over the cathode region; ``names`` the frames' (for messages)."""
    if not 0 < li_fraction <= 1:
        raise InputError(f"attenuation.li_fraction must be in (0, 1], got {li_fraction!r}")
    rows, cols = slice(*region.rows), slice(*region.columns)
    t0 = transmission(pristine, open_beam=open_beam, dark=dark, name="pristine image")[rows, cols]
    profiles, excluded = [], 0
    for frame, name in zip(frames, names):
        ratio = attenuation_ratio(transmission(frame, open_beam=open_beam, dark=dark, name=name)[rows, cols], t0)
        excluded += int(np.isnan(ratio).sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a row without usable pixels is NaN, on purpose
            profiles.append(np.nanmean(1.0 - (1.0 - ratio) / li_fraction, axis=1))
    c_norm = np.array(profiles)
    if region.collector_at_end:
        c_norm = c_norm[:, ::-1]
    y_um = (np.arange(region.rows[1] - region.rows[0]) + 0.5) * region.pixel_size_m * 1e6
    return RadiographProfiles(y_um=y_um, c_norm=c_norm, excluded_pixels=excluded)


def load_stack(frame_files: list[Path], pristine_file: Path, *, open_beam_file: Path | None = None,
               dark_file: Path | None = None) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Read frames, pristine, open-beam and dark images; all must have the pristine image's shape."""
    pristine = read_intensity(pristine_file)
    extra = [None if f is None else read_intensity(f) for f in (open_beam_file, dark_file)]
    frames = [read_intensity(f) for f in frame_files]
    for path, image in zip([open_beam_file, dark_file, *frame_files], [*extra, *frames]):
        if image is not None and image.shape != pristine.shape:
            raise InputError(f"{path}: shape {image.shape} differs from the pristine image's {pristine.shape} "
                             f"({pristine_file})")
    return frames, pristine, extra[0], extra[1]

