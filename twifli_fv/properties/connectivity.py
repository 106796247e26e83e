"""Connected components of a phase and the part of it that percolates through the thickness, also when the grid
is cut into slabs over several ranks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from twifli_fv.ranks import ONE, Ranks


def label_components(mask: np.ndarray, *, wrap_axes: tuple[int, ...] = ()) -> tuple[np.ndarray, int]:
    """Face-connected components of ``mask`` (0 = background; ``wrap_axes`` periodic) and how many there are."""
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


def percolating(mask: np.ndarray, *, wrap_axes: tuple[int, ...] = (), ranks: Ranks = ONE) -> np.ndarray:
    """True on the cells of ``mask`` whose component touches both end planes of axis 0 (through the thickness).

    Under several ``ranks``, ``mask`` is this rank's own planes of a slab (:mod:`twifli_fv.image.slab`), the ends are
    the whole grid's and the slabs' components are joined (:func:`slab_ends`, :func:`percolating_labels`).
    """
    labels, count = label_components(mask, wrap_axes=wrap_axes)
    below, _ = ranks.exchange(down=None, up=labels[-1])
    ends = slab_ends(labels, count, below=below, first=ranks.rank == 0, last=ranks.rank == ranks.size - 1)
    return percolating_labels(ranks.gather(ends), ranks.rank)[labels]  # a lookup table per label: faster than np.isin


@dataclass(frozen=True)
class SlabEnds:
    """What a rank tells the others of the components of its slab (labels 1..``count``)."""

    count: int
    joins: np.ndarray  # (2, k): a label of the rank below and an own label that share a face across the boundary
    bottom: np.ndarray  # own labels on the grid's first plane (rank 0's), top: on its last plane (the last rank's)
    top: np.ndarray


def slab_ends(labels: np.ndarray, count: int, *, below: np.ndarray | None, first: bool, last: bool) -> SlabEnds:
    """The :class:`SlabEnds` of a slab's ``labels``; ``below``: the labels of the plane under the slab (on the rank
    below; None for the first slab); ``first``/``last``: the slab holds the grid's first/last plane."""
    none = np.zeros(0, dtype=np.int64)
    joins = np.stack([none, none])
    if below is not None:
        both = (below > 0) & (labels[0] > 0)
        joins = np.unique(np.stack([below[both], labels[0][both]]).astype(np.int64), axis=1)
    return SlabEnds(count=count, joins=joins, bottom=_labels_on(labels[0]) if first else none,
                    top=_labels_on(labels[-1]) if last else none)


def percolating_labels(ends: list[SlabEnds], rank: int) -> np.ndarray:
    """Which labels of ``rank``'s slab (0..count, 0 the background) belong to a component that joins the grid's
    first plane to its last, given every rank's :class:`SlabEnds` in rank order: a union-find (connected
    components) of the labels on the slab boundaries, each label numbered after those of the ranks before."""
    first = np.cumsum([0] + [e.count for e in ends])  # global number of label l of rank r: first[r] + l - 1
    edges = [np.stack([e.joins[0] + first[r - 1], e.joins[1] + first[r]]) - 1 for r, e in enumerate(ends) if r]
    edges = np.concatenate([np.zeros((2, 0), dtype=np.int64), *edges], axis=1)
    bottom = np.concatenate([e.bottom + first[r] - 1 for r, e in enumerate(ends)])
    top = np.concatenate([e.top + first[r] - 1 for r, e in enumerate(ends)])
    nodes = np.unique(np.concatenate([edges.ravel(), bottom, top]))  # only labels on a boundary can matter
    links = np.searchsorted(nodes, edges)
    graph = coo_matrix((np.ones(links.shape[1]), (links[0], links[1])), shape=(nodes.size, nodes.size))
    _, component = connected_components(graph, directed=False)
    through = np.intersect1d(component[np.searchsorted(nodes, bottom)], component[np.searchsorted(nodes, top)])
    mine = (nodes >= first[rank]) & (nodes < first[rank + 1]) & np.isin(component, through)
    table = np.zeros(ends[rank].count + 1, dtype=bool)
    table[nodes[mine] - first[rank] + 1] = True
    return table


def _labels_on(plane: np.ndarray) -> np.ndarray:
    found = np.unique(plane)
    return found[found > 0].astype(np.int64)
