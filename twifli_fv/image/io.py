"""Read images from PNG, TIFF (multi-page), NPY and raw files: integer label maps and grey-value radiographs."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError

SUFFIXES = (".png", ".tif", ".tiff", ".npy", ".raw")


def read_labels(path: str | Path, *, shape: tuple[int, ...] | None = None, dtype: str | None = None) -> np.ndarray:
    """Return the integer label array stored in ``path`` (2D or 3D; a multi-page TIFF stacks pages on axis 0).

    ``shape`` and ``dtype`` (e.g. ``"uint8"``, ``"<u2"``) are required for ``.raw`` files and ignored otherwise.
    """
    path = Path(path)
    array = _read_array(path, shape, dtype)
    if array.ndim not in (2, 3):
        raise InputError(f"{path}: image has {array.ndim} dimensions (shape {array.shape}); need 2D or 3D")
    if not np.issubdtype(array.dtype, np.integer):
        if np.issubdtype(array.dtype, np.floating) and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            array = array.astype(np.int64)
        else:
            raise InputError(f"{path}: image holds {array.dtype} values, not integer labels; segment it first")
    return array


def read_intensity(path: str | Path) -> np.ndarray:
    """A single 2D grey-value image (PNG, TIFF page, NPY) as float64, e.g. a neutron radiograph."""
    path = Path(path)
    array = _read_array(path, None, None)
    if array.ndim != 2:
        raise InputError(f"{path}: need one 2D grey image, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{path}: image holds {array.dtype} values, not grey levels")
    return array.astype(np.float64)


def _read_array(path: Path, shape: tuple[int, ...] | None, dtype: str | None) -> np.ndarray:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{path}: unsupported image type {suffix!r}; use one of {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise InputError(f"{path}: image file not found")
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".raw":
            return _read_raw(path, shape, dtype)
        return _read_pillow(path)
    except InputError:
        raise
    except Exception as exc:  # any decoder failure is a bad file, reported in one line
        raise InputError(f"{path}: cannot read image ({type(exc).__name__}: {str(exc).strip()}); is the file complete?") from None


def _read_raw(path: Path, shape: tuple[int, ...] | None, dtype: str | None) -> np.ndarray:
    if shape is None or dtype is None:
        raise InputError(f"{path}: a .raw image needs its shape and dtype (e.g. --shape 64,64,64 --dtype uint8)")
    try:
        kind = np.dtype(dtype)
    except TypeError:
        raise InputError(f"{path}: unknown dtype {dtype!r} (e.g. uint8, <u2)") from None
    expected = int(np.prod(shape)) * kind.itemsize
    size = path.stat().st_size
    if size != expected:
        raise InputError(f"{path}: file has {size} bytes but shape {tuple(shape)} of {kind} needs {expected}")
    return np.fromfile(path, dtype=kind).reshape(shape)


def _read_pillow(path: Path) -> np.ndarray:
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's warnings on a damaged file (e.g. "Corrupt EXIF data") become the error
        return _pages(path, Image)


def _pages(path: Path, Image) -> np.ndarray:  # noqa: ANN001 - PIL.Image
    with Image.open(path) as image:
        pages = []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            page = np.asarray(image)
            if page.ndim == 3:  # colour: accept only when all channels agree (a grey image saved as RGB)
                if not np.all(page[..., :3] == page[..., :1]):
                    raise InputError(f"{path}: colour image; save the segmentation as single-channel labels")
                page = page[..., 0]
            pages.append(page)
    return pages[0] if len(pages) == 1 else np.stack(pages)

