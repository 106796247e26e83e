"""Model layer: diffusivity laws, TWIF-Li weights, kinetics."""
