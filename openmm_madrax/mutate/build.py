"""Mutant structures: residues replaced, backbone kept, side chains built from template geometry."""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import params
from ..residues import BACKBONE, BACKBONE_OXT
from ..structure import ResidueInfo, Structure
from .geometry import build_side_chain


def residue_atom_order(resname: str, has_oxt: bool) -> List[str]:
    names = list(params.heavy_atoms()[resname])
    names = [n for n in BACKBONE if n in names] + [n for n in names if n not in BACKBONE_OXT]
    if has_oxt:
        names.append("OXT")
    return names


def mutant_structure(structure: Structure, changes: Dict[int, Tuple[str, Sequence[float]]],
                     coords: Optional[np.ndarray] = None, name: Optional[str] = None) -> Structure:
    """Replace residues: ``changes`` maps residue index -> (new residue name, chis in degrees).

    Backbone atoms (N, CA, C, O, OXT) keep their coordinates; the side chain is built from the
    template geometry.  Everything else (chain breaks, other disulfides, preparation notes) is kept;
    a disulfide through a replaced CYS is dropped unless the residue stays CYS."""
    xyz = structure.coords if coords is None else np.asarray(coords, np.float64)
    residues: List[ResidueInfo] = []
    names: List[str] = []
    res_of: List[int] = []
    out_xyz: List[np.ndarray] = []
    src: List[int] = []
    old_to_new: Dict[int, int] = {}
    for k, res in enumerate(structure.residues):
        start = len(names)
        idx = {structure.atom_names[a]: a for a in range(res.atom_start, res.atom_stop)}
        if k in changes:
            new_name, chis = changes[k]
            order = residue_atom_order(new_name, "OXT" in idx)
            sc = build_side_chain(new_name, {n: xyz[idx[n]] for n in ("N", "CA", "C")}, chis)
            for n in order:
                names.append(n)
                res_of.append(k)
                if n in sc:
                    out_xyz.append(sc[n])
                    src.append(-1)
                else:
                    out_xyz.append(xyz[idx[n]])
                    src.append(int(structure.source_index[idx[n]]))
                    old_to_new[idx[n]] = len(names) - 1
            keep_ids = new_name == res.resname
            if keep_ids:  # same residue type: side-chain atoms map one to one (for disulfides)
                for n in order:
                    if n in idx:
                        old_to_new[idx[n]] = start + order.index(n)
            new_res = ResidueInfo(res.chain_id, res.chain_index, res.resseq, res.icode, new_name, new_name,
                                  start, len(names))
        else:
            for a in range(res.atom_start, res.atom_stop):
                old_to_new[a] = len(names)
                names.append(structure.atom_names[a])
                res_of.append(k)
                out_xyz.append(xyz[a])
                src.append(int(structure.source_index[a]))
            new_res = ResidueInfo(res.chain_id, res.chain_index, res.resseq, res.icode, res.resname,
                                  res.input_resname, start, len(names))
        residues.append(new_res)
    ss = [(old_to_new[a], old_to_new[b]) for a, b in structure.disulfides if a in old_to_new and b in old_to_new]
    return Structure(name=name or structure.name, residues=residues, atom_names=names,
                     atom_residue=np.asarray(res_of, np.int64), coords=np.asarray(out_xyz, np.float64).reshape(-1, 3),
                     source_index=np.asarray(src, np.int64), chain_ids=list(structure.chain_ids),
                     next_consecutive=structure.next_consecutive.copy(), disulfides=ss, breaks=list(structure.breaks),
                     warnings=list(structure.warnings), dropped=dict(structure.dropped),
                     n_input_atoms=structure.n_input_atoms, n_models=structure.n_models,
                     n_hydrogens=structure.n_hydrogens, model=structure.model, source=structure.source)
