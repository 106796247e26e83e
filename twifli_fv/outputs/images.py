"""Write label images (the generator's output) in the formats the image reader takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.outputs.files import atomic_path


def write_labels(path: str | Path, labels: np.ndarray) -> Path:
    """Write a label image: ``.npy`` any, ``.png`` 2D 8/16-bit, ``.tif``/``.tiff`` 2D or 3D (one page per row of axis 0)."""
    from PIL import Image

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".npy", ".png", ".tif", ".tiff"):
        raise InputError(f"{path}: cannot write {suffix!r} images; use .npy, .png or .tif")
    if suffix == ".png" and labels.ndim != 2:
        raise InputError(f"{path}: PNG holds 2D images only; use .tif or .npy for 3D")
    with atomic_path(path) as tmp:
        if suffix == ".npy":
            np.save(tmp, labels)
        else:
            pages = [Image.fromarray(np.ascontiguousarray(p)) for p in (labels if labels.ndim == 3 else [labels])]
            extra = {"compression": "tiff_adobe_deflate"} if suffix != ".png" else {}
            pages[0].save(tmp, save_all=len(pages) > 1, append_images=pages[1:], **extra)
    return path
