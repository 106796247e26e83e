"""GITT analysis: pulses and rests found in (time, current, voltage) data, one Weppner-Huggins
estimate of D per pulse in both of its forms, and the average concentration of each pulse
(SPEC sect. 5; paper 1, eqn 5 and SI S3; README, "From raw GITT and radiographs to a compared run").

Weppner & Huggins, J. Electrochem. Soc. 124 (1977) 1569, with L = m V_m / (M S) (film thickness; r / 3 for spheres)::

    D = 4 / (pi t_p) * L^2 * (dE_s / dE_t)^2                  (transient form)
    D = 4 / pi * L^2 * (dE_s / (t_p dE/dsqrt(t)))^2          (sqrt(t) form)

The current logged at sample k flowed during (t_{k-1}, t_k]: a pulse runs from the last rest sample before it
(``t_on``, E_0) to its last; ``dE_t`` from its first sample to its last, ``dE_s`` from E_0 to the end of the
following rest; ``dE/dsqrt(t)`` is the least-squares slope of E against ``sqrt(t - t_on)``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from twifli_fv.errors import InputError
from twifli_fv.model.constants import FARADAY

COLUMNS = ("time_s", "current_A", "voltage_V")


@dataclass(frozen=True)
class GittData:
    time_s: np.ndarray
    current_A: np.ndarray
    voltage_V: np.ndarray
    source: str = "<data>"


@dataclass(frozen=True)
class GittSample:
    """The electrode the data belong to (SI units); ``c_initial`` is its concentration at the first sample."""

    active_mass_kg: float
    molar_mass_kg_mol: float
    density_kg_m3: float
    diffusion_length_m: float  # m V_m / (M S): film thickness, or r / 3 for spheres
    c_initial_mol_m3: float
    charge_current_positive: bool = True  # positive current removes Li from the electrode
    sphere: bool = False  # spheres of radius 3 L, else a film of thickness L with one reacting face

    @property
    def volume_m3(self) -> float:
        return self.active_mass_kg / self.density_kg_m3


@dataclass(frozen=True)
class Pulse:
    """One current pulse and its Weppner-Huggins estimates (SI; concentrations in mol m^-3)."""

    index: int
    t_on_s: float
    duration_s: float
    current_A: float
    c_start_mol_m3: float
    c_end_mol_m3: float
    dE_s_V: float
    dE_t_V: float
    ir_drop_V: float
    dE_dsqrt_t_V_s05: float
    D_transient_m2_s: float
    D_sqrt_t_m2_s: float
    short_time_ratio: float  # t_p D / L^2 with the transient-form D
    valid: bool
    note: str
    first: int  # the pulse's first and last sample
    last: int

    @property
    def c_mol_m3(self) -> float:
        """The pulse's average concentration (paper 1: D belongs to the average, not to a 'SOC')."""
        return 0.5 * (self.c_start_mol_m3 + self.c_end_mol_m3)

    def to_row(self) -> dict:
        return asdict(self) | {"c_mol_m3": self.c_mol_m3}


def read_gitt_csv(path: str | Path) -> GittData:
    """Columns ``time_s, current_A, voltage_V`` (others ignored); time must increase strictly."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # a byte-order mark is not part of a name
            reader = csv.DictReader(handle)
            reader.fieldnames = [n.strip() for n in reader.fieldnames or ()]
            missing = [c for c in COLUMNS if c not in reader.fieldnames]
            if missing:
                raise InputError(f"{path}: missing column(s) {', '.join(missing)}; GITT data need {', '.join(COLUMNS)}")
            rows = []
            for line, record in enumerate(reader, start=2):
                try:
                    rows.append(tuple(float(record[c]) for c in COLUMNS))
                except (TypeError, ValueError):
                    raise InputError(f"{path}: line {line}: non-numeric value in {', '.join(COLUMNS)}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read GITT data ({exc.strerror})") from None
    if len(rows) < 3:
        raise InputError(f"{path}: only {len(rows)} data rows; a GITT record needs pulses and rests")
    data = np.array(rows)
    if not np.all(np.isfinite(data)):
        raise InputError(f"{path}: NaN or infinite values in the data")
    steps = np.diff(data[:, 0])
    if np.any(steps <= 0):
        line = int(np.argmax(steps <= 0)) + 3
        raise InputError(f"{path}: line {line}: time_s does not increase ({data[line - 3, 0]:g} -> {data[line - 2, 0]:g})")
    return GittData(data[:, 0], data[:, 1], data[:, 2], source=str(path))


def find_pulses(data: GittData, *, threshold_A: float | None = None) -> list[tuple[int, int]]:
    """``(first, last)`` sample indices of each pulse: samples of one sign above the threshold, rests on both sides."""
    current = data.current_A
    if threshold_A is None:
        noise = 1.4826 * float(np.median(np.abs(np.diff(current)))) / math.sqrt(2.0)
        threshold_A = max(1e-3 * float(np.abs(current).max()), 10.0 * noise)
    on = np.abs(current) > threshold_A
    if threshold_A <= 0 or not on.any() or on.all():
        raise InputError(f"{data.source}: no pulses found (no current above {threshold_A:g} A between rests)")
    breaks = np.flatnonzero((np.diff(on.astype(np.int8)) != 0) | (np.diff(np.sign(current)) != 0))
    pulses = []
    for first, last in zip(np.append(0, breaks + 1), np.append(breaks, on.size - 1)):
        if on[first] and first > 0 and last + 1 < on.size and not on[first - 1] and not on[last + 1]:
            pulses.append((int(first), int(last)))
    if not pulses:
        raise InputError(f"{data.source}: no pulses found (every current step lacks a rest before or after it)")
    return pulses


def rest_ends(pulses: list[tuple[int, int]], size: int) -> list[int]:
    """The last sample of the rest after each pulse."""
    return [first - 1 for first, _ in pulses[1:]] + [size - 1]


def concentration(data: GittData, sample: GittSample) -> np.ndarray:
    """The average Li concentration at every sample from the charge passed (Faraday), from ``c_initial``."""
    sign = -1.0 if sample.charge_current_positive else 1.0
    charge = np.concatenate([[0.0], np.cumsum(data.current_A[1:] * np.diff(data.time_s))])  # C up to each sample
    return sample.c_initial_mol_m3 + sign * charge / (FARADAY * sample.volume_m3)


def check_current_sign(data: GittData, sample: GittSample, pulses: list[tuple[int, int]]) -> None:
    """Refuse a record whose voltage moves against the current in most pulses (``charge_current_positive``)."""
    sign = 1.0 if sample.charge_current_positive else -1.0
    against = sum(np.sign(data.voltage_V[last] - data.voltage_V[first - 1]) * np.sign(data.current_A[first]) * sign < 0
                  for first, last in pulses)
    if against > len(pulses) / 2:
        flip = "false" if sample.charge_current_positive else "true"
        raise InputError(f"{data.source}: the voltage moves against the current in {against} of {len(pulses)} pulses "
                         f"(it falls while Li is taken out): the current's sign contradicts "
                         f"sample.charge_current_positive = {str(sample.charge_current_positive).lower()}; "
                         f"set charge_current_positive = {flip}")


def analyse_pulses(data: GittData, sample: GittSample, *, threshold_A: float | None = None,
                   short_time_ratio_max: float = 0.1) -> list[Pulse]:
    """Weppner-Huggins D (both forms) and average concentration of every pulse."""
    pulses = find_pulses(data, threshold_A=threshold_A)
    check_current_sign(data, sample, pulses)
    t, current, voltage = data.time_s, data.current_A, data.voltage_V
    c = concentration(data, sample)
    length = sample.diffusion_length_m
    results = []
    for index, ((first, last), rest_end) in enumerate(zip(pulses, rest_ends(pulses, t.size))):
        before = first - 1  # the last rest sample before the pulse
        t_on, t_p = t[before], t[last] - t[before]
        d_es = voltage[rest_end] - voltage[before]
        d_et = voltage[last] - voltage[first]
        root = np.sqrt(t[first:last + 1] - t_on)
        slope = float(np.polyfit(root, voltage[first:last + 1], 1)[0]) if last - first >= 2 else math.nan
        d_transient = _weppner_huggins(length, t_p, d_es, d_et)
        d_sqrt = _weppner_huggins(length, t_p, d_es, slope * math.sqrt(t_p))
        ratio = t_p * d_transient / length**2 if math.isfinite(d_transient) else math.nan
        note = _check(first, last, d_es, d_transient, d_sqrt, ratio, short_time_ratio_max)
        results.append(Pulse(
            index=index + 1, t_on_s=float(t_on), duration_s=float(t_p),
            current_A=float(np.mean(current[first:last + 1])),
            c_start_mol_m3=float(c[before]), c_end_mol_m3=float(c[last]),
            dE_s_V=float(d_es), dE_t_V=float(d_et), ir_drop_V=float(voltage[first] - voltage[before]),
            dE_dsqrt_t_V_s05=slope, D_transient_m2_s=d_transient, D_sqrt_t_m2_s=d_sqrt,
            short_time_ratio=ratio, valid=not note, note=note, first=first, last=last,
        ))
    return results


def _weppner_huggins(length_m: float, t_p: float, d_es: float, d_et: float) -> float:
    if not (math.isfinite(d_et) and d_et != 0 and d_es != 0):
        return math.nan
    return 4.0 / (math.pi * t_p) * length_m**2 * (d_es / d_et) ** 2


def _check(first: int, last: int, d_es: float, d_t: float, d_sqrt: float, ratio: float, ratio_max: float) -> str:
    if last - first < 2:
        return "fewer than 3 samples in the pulse"
    if d_es == 0:
        return "no steady-state voltage change"
    if not (math.isfinite(d_t) and math.isfinite(d_sqrt)):
        return "no transient voltage change"
    if ratio > ratio_max:
        return f"t_p D / L^2 = {ratio:.3g} > {ratio_max:g}: pulse too long for Weppner-Huggins"
    return ""
