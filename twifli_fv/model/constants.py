"""Physical constants (CODATA 2018), SI."""

FARADAY = 96485.33212  # C mol^-1
GAS_CONSTANT = 8.314462618  # J mol^-1 K^-1
