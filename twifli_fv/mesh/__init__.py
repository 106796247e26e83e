"""Mesh layer: FiPy meshes of segmented images."""
