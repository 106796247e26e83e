"""twifli_fv: image-based finite-volume simulation of lithium transport in solid-state cathodes.

The package picks FiPy's solver backend here, once, before anything imports fipy (layers: README, "Architecture").
"""

from __future__ import annotations

import os

os.environ.setdefault("FIPY_SOLVERS", "petsc")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from twifli_fv.errors import InputError  # noqa: E402
from twifli_fv.image import Phase, SegmentedImage, load_image, parse_label_map  # noqa: E402

__all__ = ["InputError", "Phase", "SegmentedImage", "load_image", "parse_label_map", "tortuosity"]
__version__ = "0.1.0"


def tortuosity(image: SegmentedImage, **kwargs):  # noqa: ANN201 - re-export, typed at the source
    """Tortuosity factors of every phase and of the electronic network (SPEC sect. 4), imported lazily."""
    from twifli_fv.solve.tortuosity import tortuosity_factors

    return tortuosity_factors(image, **kwargs)
