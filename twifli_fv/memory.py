"""Sizes estimated before allocating: a problem that cannot fit in memory is refused in one line. Each estimate
is a voxel count times a per-voxel cost measured on the shipped cases (with margin)."""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from twifli_fv.errors import InputError

RUN_BYTES_PER_CELL = 600  # grid arrays, PETSc matrix and ICC factor, solver vectors
FIPY_BYTES_PER_CELL = 2000  # FiPy's mesh: cell, face and vertex arrays
GENERATE_BYTES_PER_VOXEL = 40  # the generator's float64 noise fields and label arrays


def available_bytes() -> float:
    """Memory this process may still use: ``MemAvailable`` of /proc/meminfo, capped by a cgroup limit."""
    limits = []
    with suppress(OSError):
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        limits += [int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:")]
    with suppress(OSError):
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        limits += [int(limit)] if limit.isdigit() else []
    if not limits:
        try:
            limits.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError):
            return float("inf")
    return float(min(limits))


def check_memory(needed_bytes: float, *, what: str, change: str) -> None:
    """Refuse ``what`` (e.g. "refine = 1000 gives 3.7e10 voxels") if it needs more memory than is available."""
    available = available_bytes()
    if needed_bytes > available:
        raise InputError(f"{what}: needs about {_size(needed_bytes)} of memory, {_size(available)} is available; "
                         f"{change}")


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024:
            return f"{count:.3g} {unit}"
        count /= 1024
    return f"{count:.3g} PiB"
