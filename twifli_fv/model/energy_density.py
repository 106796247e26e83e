"""Electrode-level energy density of a cathode of given composition (paper 2, Figs 1b and 7c-d).

Per unit mass and volume of the cathode layer (pores in the volume; current collector, separator, anode excluded):

    rho_el = (1 - porosity) / sum_i (w_i / rho_i)    g/cm3 = kg/L; w_i: solid mass fractions (AM, SE, carbon, binder)
    E_g    = w_AM q V                                Wh/kg; q: delivered capacity (mAh per g of AM), V: mean voltage (V)
    E_v    = E_g rho_el                              Wh/L

A dense cathode is AM only (w_AM = 1). Paper 2's numbers and the areal ones: README, "Energy density at
electrode level".
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cathode:
    """Composition: solid mass fractions (key ``"AM"`` required; they sum to 1) and densities of each solid."""

    name: str
    mass_fractions: dict[str, float]
    densities_g_cm3: dict[str, float]
    theoretical_capacity_mAh_g: float
    delivered_capacity_mAh_g: float
    average_voltage_V: float
    porosity: float = 0.0


@dataclass(frozen=True)
class EnergyDensity:
    """Energy per electrode mass and volume, with the composition and geometry behind it."""

    name: str
    gravimetric_Wh_kg: float
    volumetric_Wh_L: float
    electrode_density_g_cm3: float
    am_mass_fraction: float
    am_volume_fraction: float
    porosity: float
    delivered_capacity_mAh_g: float
    utilisation: float
    average_voltage_V: float
    am_loading_mg_cm2: float | None = None
    thickness_um: float | None = None
    areal_capacity_mAh_cm2: float | None = None
    delivered_areal_capacity_mAh_cm2: float | None = None
    areal_energy_mWh_cm2: float | None = None


def energy_density(cathode: Cathode, *, am_loading_mg_cm2: float | None = None, thickness_um: float | None = None,
                   areal_capacity_mAh_cm2: float | None = None) -> EnergyDensity:
    """Gravimetric and volumetric energy density of ``cathode``; areal numbers from at most one geometry input."""
    solid_volume = sum(w / cathode.densities_g_cm3[phase] for phase, w in cathode.mass_fractions.items())  # cm3/g
    density = (1.0 - cathode.porosity) / solid_volume
    w_am = cathode.mass_fractions["AM"]
    gravimetric = w_am * cathode.delivered_capacity_mAh_g * cathode.average_voltage_V  # mWh/g = Wh/kg
    geometry = {}
    if thickness_um is not None:
        am_loading_mg_cm2 = w_am * density * thickness_um * 1e-4 * 1e3
    elif areal_capacity_mAh_cm2 is not None:
        am_loading_mg_cm2 = areal_capacity_mAh_cm2 / cathode.theoretical_capacity_mAh_g * 1e3
    if am_loading_mg_cm2 is not None:
        grams = am_loading_mg_cm2 * 1e-3
        geometry = {
            "am_loading_mg_cm2": am_loading_mg_cm2,
            "thickness_um": grams / (w_am * density) * 1e4,
            "areal_capacity_mAh_cm2": grams * cathode.theoretical_capacity_mAh_g,
            "delivered_areal_capacity_mAh_cm2": grams * cathode.delivered_capacity_mAh_g,
            "areal_energy_mWh_cm2": grams * cathode.delivered_capacity_mAh_g * cathode.average_voltage_V,
        }
    return EnergyDensity(
        name=cathode.name,
        gravimetric_Wh_kg=gravimetric,
        volumetric_Wh_L=gravimetric * density,
        electrode_density_g_cm3=density,
        am_mass_fraction=w_am,
        am_volume_fraction=(1.0 - cathode.porosity) * w_am / cathode.densities_g_cm3["AM"] / solid_volume,
        porosity=cathode.porosity,
        delivered_capacity_mAh_g=cathode.delivered_capacity_mAh_g,
        utilisation=cathode.delivered_capacity_mAh_g / cathode.theoretical_capacity_mAh_g,
        average_voltage_V=cathode.average_voltage_V,
        **geometry,
    )
