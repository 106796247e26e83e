"""README: one TWIF-Li time step on the shipped 2D composite from Python (run from the repository root)."""

from twifli_fv import load_image
from twifli_fv.mesh.grid import build_mesh
from twifli_fv.model.diffusivity import AnomalousDiffusivity
from twifli_fv.model.twifli import Drive, TwifliModel
from twifli_fv.solve.twifli import TwifliSolver

image = load_image("meshes/composite_2d.png", labels="0=SE,85=AM,170=CBD", voxel_size_um=0.27)
model = TwifliModel(mesh=build_mesh(image), diffusivity=AnomalousDiffusivity(1e-15, 51765.0, 1e-13),
                    c_sat_mol_m3=48000.0, tau_e=1.9, tau_li=3.1)
solver = TwifliSolver(model)
solver.advance(60.0, Drive("charge", current_density_A_m2=5.0))   # one 60 s step at 0.5 mA/cm2
print(solver.mean_c_norm())
