#!/bin/bash
# Test the lower ends of the declared dependency ranges (pyproject.toml): torch 2.10.0 with
# openmm 8.5.2, acellera-openmmtorch-cpu 1.10 and openmm-ml 1.7, in a fresh venv, on the force,
# OpenMM, reference and structure tests.  (The upper ends -- torch 2.12.x, openmm 8.5.x -- are what
# `pip install -e .[test]` picks, i.e. what CI runs.)
#
#   bash scripts/check_version_bounds.sh [VENV_DIR]      (default /tmp/openmm-madrax-lower; ~3 GB download)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${1:-/tmp/openmm-madrax-lower}
python3.11 -m venv "$VENV"
. "$VENV/bin/activate"
pip install -q --upgrade pip
pip install -q "torch==2.10.0" "openmm==8.5.2" "acellera-openmmtorch-cpu==1.10" "openmmml==1.7" \
    pdbfixer mdtraj numpy scipy pandas tqdm matplotlib pytest hypothesis
pip install -q --no-deps -e "$ROOT"
python -c "import torch, openmm, openmmtorch, openmmml; print('torch', torch.__version__, '| openmm', openmm.__version__)"
cd "$ROOT"
python -m pytest -q -p no:cacheprovider tests/test_openmm_native.py tests/test_openmm_force.py \
    tests/test_reference.py tests/test_structures.py
