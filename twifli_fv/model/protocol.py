"""Cycling protocols written like a lab notebook (``"Charge at C/10 for 10 hours"``).

Grammar (case-insensitive)::

    Charge|Discharge [at RATE] [for DURATION] [or] [until mean SOC X | until V volts]
    Rest for DURATION

RATE is ``C/10``, ``0.1C``, ``2C``, ``0.5 mA/cm2`` or ``5 A/m2``; DURATION a number with s, min or h (and their
long forms). "Mean SOC" is ``mean(c) / c_sat`` (``mean c_norm`` too; README, "Choices the papers leave open"),
``until 3.0 V`` a cell-voltage cut-off (dense model): a charge ends when the SOC falls or the voltage rises to
its target, a discharge the reverse. A step needs a duration, a target, or both (whichever comes first);
without ``at RATE`` it runs at ``default_c_rate`` (the case's ``[protocol] c_rate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from twifli_fv.errors import InputError

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?"
_UNITS_S = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
            "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600}
_STEP = re.compile(  # the parts; each part is read (and its errors named) separately
    r"^(?P<kind>charge|discharge)(?:\s+at\s+(?P<rate>.+?))?(?:\s+for\s+(?P<duration>.+?))?"
    r"(?:\s+or)?(?:\s+until\s+(?P<until>.+?))?$"
    r"|^(?P<rest>rest)(?:\s+for\s+(?P<rest_duration>.+))?$",
    re.IGNORECASE,
)
_UNTIL = re.compile(rf"mean\s+(?:soc|c_norm)\s+(?P<target>{_NUMBER})|(?P<volts>{_NUMBER})\s*v(?:olts?)?", re.IGNORECASE)
MAX_DURATION_S = 1e8  # about three years
C_RATES = (1e-6, 1000.0)  # allowed C-rates
CURRENT_DENSITIES_A_M2 = (1e-6, 1e6)
VOLTAGES_V = (0.0, 10.0)


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
    """Parse one protocol line; an error quotes the line and names the part that could not be read."""
    match = _STEP.match(" ".join(str(text).split()))
    if not match:
        raise InputError(f"protocol step {text!r} is malformed; write e.g. 'Charge at C/10 for 10 hours', "
                         "'Rest for 30 minutes' or 'Discharge at 0.5 mA/cm2 until mean SOC 0.95'")
    if match["rest"]:
        if match["rest_duration"] is None:
            raise InputError(f"protocol step {text!r} never ends; write 'Rest for DURATION', e.g. 'Rest for 30 minutes'")
        return Step(text=text, kind="rest", duration_s=_duration(match["rest_duration"], text))
    duration = _duration(match["duration"], text) if match["duration"] else None
    target, volts = _until(match["until"], text) if match["until"] else (None, None)
    c_rate, density = _rate(match["rate"], text) if match["rate"] is not None else (None, None)
    if duration is None and target is None and volts is None:
        raise InputError(f"protocol step {text!r} never ends; add 'for DURATION', 'until mean SOC X' or 'until V volts'")
    if match["rate"] is None:
        if default_c_rate is None or default_c_rate <= 0:
            raise InputError(f"protocol step {text!r} gives no rate; add 'at RATE' or set [protocol] c_rate")
        c_rate = float(default_c_rate)
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
        raise InputError(f"protocol step {step!r}: cannot read the duration {text!r}; write a number and a unit "
                         "(s, min, h), e.g. 'for 10 hours'")
    value = float(match["value"]) * _UNITS_S[unit]
    if not 0 < value <= MAX_DURATION_S:
        raise InputError(f"protocol step {step!r}: duration {text!r} is outside (0, {MAX_DURATION_S:g}] s")
    return value


def _until(text: str, step: str) -> tuple[float | None, float | None]:
    """``(mean SOC target, None)`` or ``(None, cut-off voltage)``."""
    match = _UNTIL.fullmatch(text.strip())
    if not match:
        raise InputError(f"protocol step {step!r}: cannot read 'until {text}'; write 'until mean SOC 0.5' or "
                         "'until 3.0 V'")
    if match["target"] is not None:
        target = float(match["target"])
        if not 0 <= target <= 1:
            raise InputError(f"protocol step {step!r}: mean SOC target {match['target']} is outside [0, 1]")
        return target, None
    volts = float(match["volts"])
    if not VOLTAGES_V[0] < volts <= VOLTAGES_V[1]:
        raise InputError(f"protocol step {step!r}: cut-off {match['volts']} V is outside ({VOLTAGES_V[0]:g}, "
                         f"{VOLTAGES_V[1]:g}] V")
    return None, volts


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
        raise InputError(f"protocol step {step!r}: cannot read the rate {text!r}; use C/10, 0.1C, 0.5 mA/cm2 or 5 A/m2 "
                         "(and 'for' before a duration)")
    name, value = next((k, float(v)) for k, v in match.groupdict().items() if v is not None)
    c_rate, density = {"per_c": (1.0 / value if value > 0 else 0.0, None), "c": (value, None),
                       "ma_cm2": (None, 10.0 * value), "a_m2": (None, value)}[name]
    if c_rate is not None and not C_RATES[0] <= c_rate <= C_RATES[1]:
        raise InputError(f"protocol step {step!r}: rate {text!r} is outside {C_RATES[0]:g}C to {C_RATES[1]:g}C")
    if density is not None and not CURRENT_DENSITIES_A_M2[0] <= density <= CURRENT_DENSITIES_A_M2[1]:
        low, high = (0.1 * x for x in CURRENT_DENSITIES_A_M2)
        raise InputError(f"protocol step {step!r}: current {text!r} is outside {low:g} to {high:g} mA/cm2")
    return c_rate, density
