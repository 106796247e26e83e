#!/usr/bin/env bash
# Set everything up, then run the main job on the shipped sample: the microstructure report and
# the tortuosity factors of the real electrode crop, then the TWIF-Li C/10 case (a few minutes).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
export OMP_NUM_THREADS=1
twifli="$root/.venv/bin/twifli"
sample="$root/meshes/electrode_nmc_crop128.tif"
"$twifli" describe "$sample" --labels 0=SE,85=AM,170=CBD --voxel-size-um 0.27
"$twifli" tortuosity "$sample" --labels 0=SE,85=AM,170=CBD --no-flux
"$twifli" run "$root/cases/c10"
