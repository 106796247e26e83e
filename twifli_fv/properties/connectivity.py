"""Connected components of a phase and the part of it that percolates through the thickness."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def label_components(mask: np.ndarray, *, wrap_axes: tuple[int, ...] = ()) -> tuple[np.ndarray, int]:
    """Face-connected components of ``mask`` (0 = background); ``wrap_axes`` are periodic.

    Returns the label array and the number of components.
    """
    labels, count = ndimage.label(mask)
    if count < 2 or not wrap_axes:
        return labels, count
    edges = []
    for axis in wrap_axes:
        first, last = np.take(labels, 0, axis=axis), np.take(labels, -1, axis=axis)
        both = (first > 0) & (last > 0)
        edges.append(np.stack([first[both], last[both]]))
    pairs = np.concatenate(edges, axis=1)
    graph = coo_matrix((np.ones(pairs.shape[1]), (pairs[0], pairs[1])), shape=(count + 1, count + 1))
    _, component = connected_components(graph, directed=False)
    _, merged = np.unique(component[1:], return_inverse=True)
    relabel = np.concatenate([[0], merged + 1]).astype(labels.dtype)
    return relabel[labels], int(merged.max()) + 1


def percolating(mask: np.ndarray, *, axis: int = 0, wrap_axes: tuple[int, ...] = ()) -> np.ndarray:
    """True on the cells of ``mask`` whose component touches both end planes of ``axis``."""
    labels, count = label_components(mask, wrap_axes=wrap_axes)
    ends = np.intersect1d(np.take(labels, 0, axis=axis), np.take(labels, -1, axis=axis))
    through = np.zeros(count + 1, dtype=bool)  # per label (a lookup table: much faster than np.isin)
    through[ends[ends > 0]] = True
    return through[labels]
