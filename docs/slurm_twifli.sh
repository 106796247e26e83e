#!/usr/bin/env bash
# A TWIF-Li run on a Slurm cluster, one MPI rank per core (see docs/cluster.md).
#
#   sbatch docs/slurm_twifli.sh path/to/case            # from the twifli_fv checkout
#   sbatch --nodes=4 --ntasks-per-node=32 docs/slurm_twifli.sh path/to/case   # override the sizes below
#
# Size it from docs/cluster.md: about 0.5 kB per cell spread over the ranks plus ~0.15 GB per rank,
# e.g. a 512^3 volume (134 M cells) on 64 ranks needs ~1.3 GB per rank. The case gives its tortuosity
# factors as numbers ([tortuosity] tau_e, tau_Li) or names the volume to compute them from.
#SBATCH --job-name=twifli
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=32
#SBATCH --cpus-per-task=1
#SBATCH --mem-per-cpu=2G
#SBATCH --time=24:00:00
#SBATCH --output=twifli-%j.out
set -euo pipefail
case_dir=${1:?usage: sbatch docs/slurm_twifli.sh CASE_DIR [twifli run options, e.g. --resume]}
shift
root=${SLURM_SUBMIT_DIR:-$(pwd)}  # the checkout set up with `bash scripts/setup.sh`

# module load mpich    # site-specific: the MPI that PETSc and mpi4py were built against (scripts/setup.sh)
export OMP_NUM_THREADS=1  # one rank per core: no threaded BLAS under the ranks
export OPENBLAS_NUM_THREADS=1
export MPLBACKEND=Agg     # rank 0 draws the plots without a display

# srun starts one rank per task; each reads only its slab of the image and writes its own pieces
# (fields/frame_XXXX/*.vti, checkpoint_pieces/). `--resume` must use the same number of tasks.
# With MPICH, srun may need the PMI flavour Slurm was built with: srun --mpi=pmi2 (or pmix); `srun --mpi=list`.
srun --cpu-bind=cores "$root/.venv/bin/twifli" run --no-progress "$case_dir" "$@"
