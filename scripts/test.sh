#!/usr/bin/env bash
# The whole test suite: bootstrap the environment, then pytest (args pass through).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec .venv/bin/python -m pytest "$@"
