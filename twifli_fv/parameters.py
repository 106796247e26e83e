"""Unit conversions of case keys to SI, in one place (SPEC sect. 7: the unit is in every key name).

The code runs in SI (m, s, mol m^-3, A m^-2, kg); each factor here multiplies a value given in the
unit of its name.
"""

UM = 1e-6  # m per um (_um)
CM2 = 1e-4  # m^2 per cm^2 (_cm2)
CM2_S = 1e-4  # m^2 s^-1 per cm^2 s^-1 (_cm2_s)
MA_CM2 = 10.0  # A m^-2 per mA cm^-2 (_mA_cm2)
MS_CM = 0.1  # S m^-1 per mS cm^-1 (_mS_cm)
G_CM3 = 1e3  # kg m^-3 per g cm^-3 (_g_cm3)
MAH = 3.6  # C per mAh (_mAh_g: mAh per g = 3.6 C/g)
