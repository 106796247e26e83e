"""Phases of a segmented cathode image and the label -> phase map (SPEC sect. 1)."""

from __future__ import annotations

from enum import IntEnum

from twifli_fv.errors import InputError


class Phase(IntEnum):
    """Phase codes stored in :attr:`SegmentedImage.phases`."""

    VOID = 0  # pore or anything inert
    AM = 1  # active material: stores Li, conducts electrons
    SE = 2  # solid electrolyte: conducts Li+
    CBD = 3  # carbon-binder domain: conducts electrons, stores no Li


def parse_label_map(text: str | dict, *, source: str = "labels") -> dict[int, Phase]:
    """Parse ``"0=SE,85=AM,170=CBD"`` (or a ``{label: "AM" or Phase.AM}`` mapping) into ``{0: Phase.SE, ...}``."""
    items = text.items() if isinstance(text, dict) else (
        part.split("=", 1) if "=" in part else (part, None) for part in str(text).split(",") if part.strip()
    )
    mapping: dict[int, Phase] = {}
    for label, name in items:
        try:
            key = int(str(label).strip())
        except ValueError:
            raise InputError(f"{source}: label {label!r} is not an integer (write e.g. 0=SE,85=AM,170=CBD)") from None
        if name is None:
            raise InputError(f"{source}: {label!r} has no phase (write e.g. 0=SE,85=AM,170=CBD)")
        phase = str(name.name if isinstance(name, Phase) else name).strip().upper()
        if phase not in Phase.__members__:
            raise InputError(f"{source}: unknown phase {name!r} for label {key}; use one of AM, SE, CBD, VOID")
        if key in mapping:
            raise InputError(f"{source}: label {key} is mapped twice")
        mapping[key] = Phase[phase]
    if not mapping:
        raise InputError(f"{source}: empty label map (write e.g. 0=SE,85=AM,170=CBD)")
    return mapping
