#!/usr/bin/env bash
# Set up everything twifli_fv needs, idempotently: Debian packages (MPICH, OpenBLAS), PETSc,
# petsc4py and mpi4py compiled once and kept as wheels, and a virtual environment reused
# while requirements.lock is unchanged. Ends with `.venv` in the project pointing at it.
# Environment: TWIFLI_CACHE (default ~/.cache/twifli_fv) holds wheels and environments.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${TWIFLI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/twifli_fv}
export OMP_NUM_THREADS=1
log() { printf '[setup] %s\n' "$*" >&2; }

# 1. System packages: an MPI (MPICH) with its compiler wrapper, BLAS/LAPACK.
debs=(libopenblas-dev libmpich-dev mpich pkg-config)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! mpicc -show 2>/dev/null | grep -q mpich; then
  echo "setup: mpicc does not point at MPICH (see: update-alternatives --display mpi)" >&2
  exit 1
fi
export MPICC=mpicc

# 2. A virtual environment keyed by the lock, the build recipe below and the Python version.
recipe=2  # bump when the way the environment is built changes
python=${PYTHON:-python3}
key=$( { cat "$root/requirements.lock"; echo "$recipe"; "$python" -VV; } | sha256sum | cut -c1-16)
venv="$cache/venv-$key"
wheels="$cache/wheels"
mkdir -p "$wheels"
exec 9>"$cache/.build-lock"  # one build at a time: a second setup waits for the first instead of deleting its work
flock 9
if [ ! -f "$venv/.complete" ]; then
  log "building environment $venv (PETSc is compiled once, then reused from $wheels)"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)
  "${pip[@]}" install --upgrade pip setuptools wheel "cython>=3" "numpy==$(sed -n 's/^numpy==//p' "$root/requirements.lock")"
  pin() { sed -n "s/^$1==//p" "$root/requirements.lock"; }
  build_wheel() {  # name, extra pip args...
    local name=$1; shift
    if ! ls "$wheels/${name}-$(pin "$name")-"*.whl >/dev/null 2>&1; then
      log "compiling $name $(pin "$name") (minutes; done once)"
      "${pip[@]}" wheel --no-deps --no-binary "$name" -w "$wheels" "$@" "$name==$(pin "$name")"
    fi
    "${pip[@]}" install --no-deps "$wheels/${name}-$(pin "$name")-"*.whl
  }
  export PETSC_CONFIGURE_OPTIONS="--with-fc=0 --with-x=0 --with-debugging=0 COPTFLAGS=-O2 CXXOPTFLAGS=-O2"
  build_wheel petsc
  build_wheel petsc4py --no-build-isolation
  build_wheel mpi4py --no-build-isolation
  "${pip[@]}" install --find-links "$wheels" -r "$root/requirements.lock"
  touch "$venv/.complete"
fi
flock -u 9

# 3. A small project-local environment in .venv layered on the shared one: the shared site-packages
#    and this checkout on its path (so several checkouts can share one set of compiled wheels).
local="$root/.venv"
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if [ -L "$local" ] || [ ! -x "$local/bin/python" ]; then
  rm -rf "$local"
  "$python" -m venv --without-pip "$local"
fi
local_site=$("$local/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
printf 'import site; site.addsitedir(%s)\n' "'$site'" > "$local_site/twifli_shared_env.pth"
printf '%s\n' "$root" > "$local_site/twifli_fv_checkout.pth"
# The guard matters: `twifli sweep --jobs N` starts worker processes (spawn) that import this script as
# __mp_main__; without it each worker would run the whole command again.
cat > "$local/bin/twifli" <<SCRIPT
#!$local/bin/python
import sys
from twifli_fv.cli import main
if __name__ == "__main__":
    sys.exit(main())
SCRIPT
chmod +x "$local/bin/twifli"
log "ready: $local (shared packages in $venv)"
