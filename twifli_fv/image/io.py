"""Read images from PNG, TIFF (multi-page), NPY and raw files: integer label maps and grey-value radiographs;
:func:`open_image` reads only the header, so a rank under ``mpiexec`` decodes just its own planes."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError

SUFFIXES = (".png", ".tif", ".tiff", ".npy", ".raw")

Region = tuple[slice, ...]  # one slice per array axis


@dataclass(frozen=True)
class ImageFile:
    """An image file known by its header: ``shape``; ``values(region)`` decodes only the voxels of ``region``."""

    path: Path
    shape: tuple[int, ...]
    decode: Callable[[Region], np.ndarray]

    def values(self, region: Region | None = None) -> np.ndarray:
        """The stored values of ``region`` (default: all), as a new array."""
        with _decoding(self.path):
            return self.decode(region if region is not None else tuple(slice(None) for _ in self.shape))

    def labels(self, region: Region | None = None) -> np.ndarray:
        """The integer labels of ``region`` (whole-number floats are accepted as labels)."""
        array = self.values(region)
        if not np.issubdtype(array.dtype, np.integer):
            if np.issubdtype(array.dtype, np.floating) and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
                return array.astype(np.int64)
            raise InputError(f"{self.path}: image holds {array.dtype} values, not integer labels; segment it first")
        return array


def open_labels(path: str | Path, *, shape: tuple[int, ...] | None = None, dtype: str | None = None) -> ImageFile:
    """A 2D or 3D label image (a multi-page TIFF stacks pages on axis 0), its voxels not read yet; ``shape`` and
    ``dtype`` (e.g. ``"uint8"``, ``"<u2"``) are required for ``.raw`` files and ignored otherwise."""
    image = open_image(path, shape=shape, dtype=dtype)
    if len(image.shape) not in (2, 3):
        raise InputError(f"{image.path}: image has {len(image.shape)} dimensions (shape {image.shape}); need 2D or 3D")
    if min(image.shape) < 1:
        raise InputError(f"{image.path}: image is empty (shape {image.shape})")
    return image


def read_labels(path: str | Path, *, shape: tuple[int, ...] | None = None, dtype: str | None = None) -> np.ndarray:
    """Return the integer label array stored in ``path`` (see :func:`open_labels`)."""
    return open_labels(path, shape=shape, dtype=dtype).labels()


def read_intensity(path: str | Path) -> np.ndarray:
    """A single 2D grey-value image (PNG, TIFF page, NPY) as float64, e.g. a neutron radiograph."""
    image = open_image(path)
    if len(image.shape) != 2:
        raise InputError(f"{image.path}: need one 2D grey image, got shape {image.shape}")
    array = image.values()
    if not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{image.path}: image holds {array.dtype} values, not grey levels")
    return array.astype(np.float64)


def open_image(path: str | Path, *, shape: tuple[int, ...] | None = None, dtype: str | None = None) -> ImageFile:
    """Any supported image file, by its header (a PNG or single-page TIFF is 2D)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{path}: unsupported image type {suffix!r}; use one of {', '.join(SUFFIXES)}")
    if not path.is_file():
        raise InputError(f"{path}: image file not found")
    with _decoding(path):
        if suffix in (".png", ".tif", ".tiff"):
            return _pillow(path)
        array = np.load(path, mmap_mode="r", allow_pickle=False) if suffix == ".npy" else _map_raw(path, shape, dtype)
        return ImageFile(path, tuple(array.shape), lambda region: np.array(array[region]))  # copies a region out


@contextmanager
def _decoding(path: Path) -> Iterator[None]:
    """Any decoder failure, or Pillow's warning on a damaged file ("Corrupt EXIF data"), is a one-line error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            yield
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"{path}: cannot read image ({type(exc).__name__}: {str(exc).strip()}); "
                         "is the file complete?") from None


def _map_raw(path: Path, shape: tuple[int, ...] | None, dtype: str | None) -> np.ndarray:
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
    if expected == 0:
        raise InputError(f"{path}: image is empty (shape {tuple(shape)})")
    return np.memmap(path, dtype=kind, mode="r", shape=tuple(shape))


def _pillow(path: Path) -> ImageFile:
    """PNG or TIFF: the page count and page size from the header; pages decoded one at a time when read."""
    from PIL import Image

    with Image.open(path) as image:
        pages, (width, height) = getattr(image, "n_frames", 1), image.size

    def decode(region: Region) -> np.ndarray:
        with Image.open(path) as image:
            if pages == 1:
                return _page(path, image, region)
            return np.stack([_page(path, image, region[1:], index) for index in range(pages)[region[0]]])

    return ImageFile(path, (height, width) if pages == 1 else (pages, height, width), decode)


def _page(path: Path, image, region: Region, index: int = 0) -> np.ndarray:  # noqa: ANN001 - PIL.Image
    """The region of page ``index``, copied so that the decoded page can go."""
    image.seek(index)
    page = np.asarray(image)[region]
    if page.ndim == 3:  # colour: accept only when all channels agree (a grey image saved as RGB)
        if not np.all(page[..., :3] == page[..., :1]):
            raise InputError(f"{path}: colour image; save the segmentation as single-channel labels")
        page = page[..., 0]
    return np.array(page)
