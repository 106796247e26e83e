"""Solve layer: the only code that touches petsc4py (steady tortuosity solves, transient model steps)."""
