#!/usr/bin/env bash
# Set up (seconds when everything is in place), then run the whole test suite.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/scripts/setup.sh"
cd "$root"
export OMP_NUM_THREADS=1
exec .venv/bin/python -m pytest "$@"
