#!/usr/bin/env python
"""Regenerate openmm_madrax/params/ddg_weights_calibrated.json (docs/ddg.md, "Calibration").

    python scripts/calibrate_ddg.py --protocol fast --cache benchmarks/out/guerois_channels.csv \
        --out openmm_madrax/params/ddg_weights_calibrated.json

Same as ``python -m openmm_madrax.ddg calibrate ...``; pass --fit-only to refit from the cache.
"""
import sys

from openmm_madrax.ddg import main

if __name__ == "__main__":
    sys.exit(main(["calibrate", *sys.argv[1:]]))
