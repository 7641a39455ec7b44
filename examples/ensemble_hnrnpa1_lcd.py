"""Disordered low-complexity domain (LCD) of hnRNPA1 from its sequence: a MadraX-weighted
conformational ensemble, then per-residue physics features.  Runs from a plain clone (nothing
from ../shared), on CPU in about a minute.

    python examples/ensemble_hnrnpa1_lcd.py [--n 100] [--outdir ensemble_hnrnpa1_out]

Sequence: residues 186-314 of the hnRNPA1 construct modelled in CALVADOS_hnRNPA1S.pdb (project
material ../shared/data/structures/af_llps/; 129 residues).  That construct is human hnRNPA1
(UniProt P09651, isoform A1-A numbering) with 6 residues of the LCD missing (its 186-314 is
186-320 of isoform A1-A without 'SYNDFG'), so residue numbers after 266 are shifted by 6.

Steps: build_ensemble (conformers grown from the fitted coil-library torsion densities with
self-avoidance, weighted by the MadraX energy at 298 K, 0.15 M), save DCD + PDB + weights,
draw frames in proportion to the weights and compute the features of
openmm_madrax.features.compute_features (MadraX channels, burial, SASA, DSSP, contacts).
The same with the CLI:

    openmm-madrax ensemble MASASSSQRG...GSGRRF --n 100 -o ensemble_hnrnpa1_out
    openmm-madrax features ensemble_hnrnpa1_out/sequence.dcd --top ensemble_hnrnpa1_out/sequence.pdb \\
        -o ensemble_hnrnpa1_out/features.csv
(the CLI features of a DCD average frames with equal weight; the weights are in sequence_weights.csv)
"""
import argparse
import time
from pathlib import Path

import torch

from openmm_madrax.ensembles import build_ensemble
from openmm_madrax.features import compute_features

#: hnRNPA1 LCD, residues 186-314 of CALVADOS_hnRNPA1S.pdb (see the module docstring)
HNRNPA1_LCD = ("MASASSSQRGRSGSGNFGGGRGGGFGGNDNFGRGGNFSGRGGFGGSRGGGGYGGSGDGYNGFGNDGSNFGGGGNYNNQSSNFGPMKGGN"
               "FGGRSSGPYGGGGQYFAKPRNQGGYGGSSSSSSYGSGRRF")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100, help="conformers (default 100)")
    p.add_argument("--temperature", type=float, default=298.0)
    p.add_argument("--ionic-strength", type=float, default=0.15)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--outdir", default="ensemble_hnrnpa1_out")
    args = p.parse_args()
    torch.set_num_threads(1)
    out = Path(args.outdir)
    t0 = time.perf_counter()
    ens = build_ensemble(HNRNPA1_LCD, args.n, temperature=args.temperature, ionic_strength=args.ionic_strength,
                         seed=args.seed, name="hnRNPA1_LCD", progress=True)
    t1 = time.perf_counter()
    paths = ens.save(out)
    ens.plot(out / "hnRNPA1_LCD.png")
    s = ens.summary()
    print(f"{ens}: built in {t1 - t0:.1f} s; Rg {s['rg_nm']:.2f} +- {s['rg_sd_nm']:.2f} nm, end-to-end "
          f"{s['ree_nm']:.2f} nm, nu {s['nu']:.2f}, helix {s['helix']:.2f}, PPII {s['ppii']:.2f}")
    print("files: " + ", ".join(paths.values()) + f", {out / 'hnRNPA1_LCD.png'}")

    feats = compute_features(ens.to_mdtraj(resample=True, seed=args.seed), structure=ens.structure,
                             name="hnRNPA1_LCD", progress=True)
    table = feats.residue_table()
    table.to_csv(out / "hnRNPA1_LCD_features.csv", index=False, float_format="%.6g")
    vec = feats.protein_vector()
    t2 = time.perf_counter()
    print(f"features of {feats.n_frames} frames in {t2 - t1:.1f} s -> {out / 'hnRNPA1_LCD_features.csv'}")
    print(f"MadraX {vec['madrax_total.total']:.1f} kcal/mol, relative SASA {table['rsasa_mean'].mean():.2f}, "
          f"coil fraction {table['ss_coil_mean'].mean():.2f}, contacts per residue {table['contacts_mean'].mean():.1f}")
    aro = table[table.resname.isin(["TYR", "PHE"])]
    print(f"aromatic residues (Y/F, the LCD's 'stickers'): {len(aro)}; their mean contact number "
          f"{aro['contacts_mean'].mean():.1f} vs {table[~table.resname.isin(['TYR', 'PHE'])]['contacts_mean'].mean():.1f} "
          "for the others")


if __name__ == "__main__":
    main()
