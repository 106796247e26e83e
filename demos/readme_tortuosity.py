"""README: tortuosity factors of the shipped 3D crop from Python (run from the repository root)."""

from twifli_fv import load_image, tortuosity

image = load_image("meshes/electrode_nmc_crop128.tif", labels="0=SE,85=AM,170=CBD", voxel_size_um=0.27)
taus = tortuosity(image, periodic=False)          # {"SE": TortuosityResult(...), ..., "electronic": ...}
print(taus["SE"].tau, taus["electronic"].percolates)
