"""Unit conversions of case keys to SI, in one place (SPEC sect. 7: the unit is in every key name).

The code runs in SI (m, s, mol m^-3, A m^-2, kg); each factor here multiplies a value given in the
unit of its name.
"""

CM2_S = 1e-4  # m^2 s^-1 per cm^2 s^-1 (_cm2_s)
