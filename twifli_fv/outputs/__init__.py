"""Outputs layer: VTK fields, CSV/JSON numbers, PNG plots; every file written atomically."""
