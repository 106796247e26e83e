"""Properties layer: connectivity, interfaces, microstructure report, tortuosity formulation."""
