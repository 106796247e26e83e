"""Cycling protocols written like a lab notebook (``"Charge at C/10 for 10 hours"``).

Grammar (case-insensitive)::

    Charge|Discharge [at RATE] [for DURATION] [or] [until mean SOC X | until V volts]
    Rest for DURATION

RATE is ``C/10``, ``0.1C``, ``2C``, ``0.5 mA/cm2`` or ``5 A/m2``; DURATION a number with
s, min or h (and their long forms). "Mean SOC" is the AM-averaged state of lithiation
``mean(c) / c_sat`` (``mean c_norm`` is accepted too): a charge ends when it falls to X, a
discharge when it rises to X. ``until 3.0 V`` is a cell-voltage cut-off (dense-cathode model): a
charge ends when the voltage rises to it, a discharge when it falls to it. A step needs a duration,
a target, or both (whichever comes first). A step without ``at RATE`` runs at ``default_c_rate``
(the case's ``[protocol] c_rate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from twifli_fv.errors import InputError

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
_UNITS_S = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
            "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600}
_STEP = re.compile(
    rf"^(?P<kind>charge|discharge)(?:\s+at\s+(?P<rate>.+?))?"
    rf"(?:\s+for\s+(?P<duration>{_NUMBER}\s*[a-z]+))?"
    rf"(?:\s+or)?(?:\s+until\s+(?:mean\s+(?:soc|c_norm)\s+(?P<target>{_NUMBER})|(?P<volts>{_NUMBER})\s*v(?:olts?)?))?$"
    rf"|^(?P<rest>rest)\s+for\s+(?P<rest_duration>{_NUMBER}\s*[a-z]+)$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Step:
    """One protocol step. As parsed, exactly one of ``c_rate`` and ``current_density_A_m2`` is set unless
    resting; :meth:`resolved` turns a C-rate into A m^-2, which is what the protocol loop runs."""

    text: str
    kind: str  # "charge", "discharge" or "rest"
    current_density_A_m2: float | None = 0.0  # None while a C-rate gives the current
    duration_s: float | None = None
    until_lithiation: float | None = None  # mean state of lithiation: c/c_sat (TWIF-Li) or x = c/c_max (dense)
    until_voltage_V: float | None = None  # cell-voltage cut-off (dense-cathode model only)
    c_rate: float | None = None

    def resolved(self, *, one_c_A_m2: float) -> "Step":
        """The same step with its current in A m^-2 (0 at rest), given the current density of 1C."""
        current = self.c_rate * one_c_A_m2 if self.c_rate is not None else self.current_density_A_m2 or 0.0
        return replace(self, current_density_A_m2=current)


def parse_step(text: str, *, default_c_rate: float | None = None) -> Step:
    """Parse one protocol line; a malformed line is an error that quotes it."""
    match = _STEP.match(" ".join(str(text).split()))
    if not match:
        raise InputError(f"protocol step {text!r} is malformed; write e.g. 'Charge at C/10 for 10 hours', "
                         "'Rest for 30 minutes' or 'Discharge at 0.5 mA/cm2 until mean SOC 0.95'")
    if match["rest"]:
        return Step(text=text, kind="rest", duration_s=_duration(match["rest_duration"], text))
    duration = _duration(match["duration"], text) if match["duration"] else None
    target = float(match["target"]) if match["target"] else None
    volts = float(match["volts"]) if match["volts"] else None
    if duration is None and target is None and volts is None:
        raise InputError(f"protocol step {text!r} never ends; add 'for DURATION', 'until mean SOC X' or 'until V volts'")
    if target is not None and not 0 <= target <= 1:
        raise InputError(f"protocol step {text!r}: mean SOC target must lie in [0, 1]")
    if match["rate"] is not None:
        c_rate, density = _rate(match["rate"], text)
    elif default_c_rate is not None and default_c_rate > 0:
        c_rate, density = float(default_c_rate), None
    else:
        raise InputError(f"protocol step {text!r} gives no rate; add 'at RATE' or set [protocol] c_rate")
    return Step(text=text, kind=match["kind"].lower(), duration_s=duration, until_lithiation=target,
                c_rate=c_rate, current_density_A_m2=density, until_voltage_V=volts)


def parse_protocol(lines: list[str], *, default_c_rate: float | None = None) -> list[Step]:
    if not lines:
        raise InputError("protocol: no steps; give e.g. steps = ['Charge at C/10 for 10 hours']")
    return [parse_step(line, default_c_rate=default_c_rate) for line in lines]


def _duration(text: str, step: str) -> float:
    match = re.fullmatch(rf"(?P<value>{_NUMBER})\s*(?P<unit>[a-z]+)", text.strip(), re.IGNORECASE)
    unit = match["unit"].lower() if match else ""
    if not match or unit not in _UNITS_S:
        raise InputError(f"protocol step {step!r}: duration {text!r} needs a unit (s, min, h)")
    value = float(match["value"]) * _UNITS_S[unit]
    if value <= 0:
        raise InputError(f"protocol step {step!r}: duration must be positive")
    return value


_RATE = re.compile(
    rf"c/(?P<per_c>{_NUMBER})|(?P<c>{_NUMBER})c|(?P<ma_cm2>{_NUMBER})(?:ma/cm2|macm-2)|(?P<a_m2>{_NUMBER})(?:a/m2|am-2)",
    re.IGNORECASE,
)


def _rate(text: str, step: str) -> tuple[float | None, float | None]:
    """``(c_rate, None)`` or ``(None, current density in A m^-2)``; 1 mA cm^-2 = 10 A m^-2."""
    rate = text.strip().replace(" ", "")
    if rate.startswith("-") or "/-" in rate:
        raise InputError(f"protocol step {step!r}: negative current {text!r}; give its size, "
                         "'Charge' or 'Discharge' sets the direction")
    match = _RATE.fullmatch(rate)
    if not match:
        raise InputError(f"protocol step {step!r}: cannot read the rate {text!r}; use C/10, 0.1C, 0.5 mA/cm2 or 5 A/m2")
    name, value = next((k, float(v)) for k, v in match.groupdict().items() if v is not None)
    if value <= 0:
        raise InputError(f"protocol step {step!r}: the rate must be positive")
    return {"per_c": (1.0 / value, None), "c": (value, None), "ma_cm2": (None, 10.0 * value), "a_m2": (None, value)}[name]
