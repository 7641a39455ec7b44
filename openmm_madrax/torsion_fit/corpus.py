"""The corpus: files, resolution filter, structure preparation, angles, sequence clusters."""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import params
from ..residues import ONE_LETTER
from .settings import PRE_PRO_CLASS, SUFFIXES

log = logging.getLogger("openmm_madrax")


def list_files(paths: Sequence[str]) -> List[Path]:
    """Structure files under the given directories (not recursive) or the given files, sorted."""
    out: List[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and f.name.lower().endswith(SUFFIXES)))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or directory")
    return out


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _header_text(path: Path) -> List[str]:
    import gzip

    if path.name.lower().endswith(".gz"):
        with gzip.open(path, "rt", errors="replace") as fh:
            return fh.read().splitlines()
    with open(path, "r", errors="replace") as fh:
        return fh.read().splitlines()


_CIF_RES_KEYS = ("_refine.ls_d_res_high", "_em_3d_reconstruction.resolution", "_reflns.d_resolution_high")


def experimental_resolution(path: Path, lines: Optional[List[str]] = None) -> Tuple[str, Optional[float]]:
    """(method, resolution in A or None) from the PDB header or the mmCIF categories."""
    lines = _header_text(path) if lines is None else lines
    method = ""
    res: Optional[float] = None
    name = path.name.lower()
    if ".cif" in name:
        values: Dict[str, str] = {}
        for k, line in enumerate(lines):
            s = line.strip()
            if not s.startswith("_"):
                continue
            parts = s.split(None, 1)
            key = parts[0]
            if key in _CIF_RES_KEYS or key == "_exptl.method":
                val = parts[1] if len(parts) > 1 else (lines[k + 1].strip() if k + 1 < len(lines) else "")
                values.setdefault(key, val.strip().strip("'\""))
        method = values.get("_exptl.method", "")
        for key in _CIF_RES_KEYS:
            try:
                res = float(values.get(key, ""))
                break
            except ValueError:
                continue
    else:
        for line in lines:
            if line.startswith("EXPDTA") and not method:
                method = line[10:].strip()
            elif line.startswith("REMARK   2 RESOLUTION"):
                m = re.search(r"RESOLUTION\.\s*([0-9.]+)", line)
                if m:
                    try:
                        res = float(m.group(1))
                    except ValueError:
                        res = None
            elif line.startswith(("ATOM  ", "HETATM")):
                break
    return method, res


@dataclass
class FileTorsions:
    """Angles of one structure that passed the residue filters (radians, IUPAC)."""

    bb_class: np.ndarray  # (n,) density class (residue type or PRE_PRO_CLASS)
    bb_restype: np.ndarray
    phi: np.ndarray
    psi: np.ndarray
    omega: np.ndarray
    bb_chain: np.ndarray  # chain index (within the file) of every backbone row
    sc_restype: np.ndarray
    chi: np.ndarray  # (m, 5)
    sc_chain: np.ndarray
    chain_sequences: List[str] = field(default_factory=list)


class _PreProProbe:
    """Stand-in density module that makes TorsionChannels compute the pre-proline classes."""

    available = False
    pre_pro_class = PRE_PRO_CLASS


def _prepare(path: Path):
    """Structure and per-atom B-factors/occupancies; per-residue filtering of incomplete residues."""
    from ..errors import StructureError
    from ..structure.records import read_file
    from ..residues import VARIANTS
    from ..structure.prepare import ATOM_ALIASES, RESIDUE_ATOM_ALIASES, prepare_records

    result = read_file(path)
    if not result.records:
        raise StructureError(f"{path}: no atoms")
    first = min(r.model for r in result.records)
    records = [r for r in result.records if r.model == first]
    for k, r in enumerate(records):
        r.source_index = k
    bfac = np.array([r.bfactor for r in records], np.float64)
    occ = np.array([r.occupancy for r in records], np.float64)
    result.records = records
    note = ""
    kwargs = dict(altloc="first", drop_nonstandard=True, repair=False, chain_breaks="geometry",
                  name=path.name.split(".")[0])
    try:
        # identical to openmm_madrax.load(path, altloc="first", drop_nonstandard=True, quiet=True)
        structure = prepare_records(result, **kwargs)
    except StructureError as exc:
        if "miss heavy atoms" not in str(exc):
            raise
        heavy = params.heavy_atoms()
        present: Dict[tuple, set] = {}
        for r in records:
            rn = VARIANTS.get(r.resname.upper(), r.resname.upper())
            if rn in heavy:
                nm = r.name.upper()
                nm = RESIDUE_ATOM_ALIASES.get((rn, nm), ATOM_ALIASES.get(nm, nm))
                present.setdefault((r.chain_key, r.resseq, r.icode, rn), set()).add(nm)
        incomplete = {key[:3] for key, names in present.items() if not set(heavy[key[3]]) <= names}
        kept = [r for r in records if (r.chain_key, r.resseq, r.icode) not in incomplete]
        note = f"removed {len(incomplete)} residue(s) with missing heavy atoms"
        from ..structure.records import ReadResult

        structure = prepare_records(ReadResult(kept, result.n_models, result.source, result.ssbonds), **kwargs)
    return structure, bfac, occ, note


def extract_file(path: Path, max_bfactor: float) -> Tuple[FileTorsions, str]:
    """Filtered torsions of one file (raises StructureError for unreadable files)."""
    import torch

    from ..energy.torsions import TorsionChannels

    structure, bfac, occ, note = _prepare(path)
    tables = structure.tables()
    tc = TorsionChannels(tables, torch.float64, _PreProProbe())
    with torch.no_grad():
        phi, psi, omega, chi = (x.numpy() for x in tc.angles(torch.as_tensor(structure.coords)))
    src = structure.source_index
    atom_ok = (bfac[src] <= max_bfactor) & (occ[src] > 0.0)

    def ok(idx: np.ndarray) -> np.ndarray:
        return atom_ok[idx.reshape(idx.shape[0], int(np.prod(idx.shape[1:])))].all(1)

    bb_ok = ok(tc.phi_atoms.numpy()) & ok(tc.psi_atoms.numpy()) & ok(tc.omega_atoms.numpy())
    bb_res = tc.bb_res.numpy()
    bb_ok_of_res = np.zeros(structure.n_residues, bool)
    bb_ok_of_res[bb_res[bb_ok]] = True
    sc_res = tc.sc_res.numpy()
    sc_ok = bb_ok_of_res[sc_res] & ok(tc.chi_atoms.numpy())
    res_chain = np.array([r.chain_index for r in structure.residues], np.int64)
    chains = sorted(set(res_chain.tolist()))
    seqs = ["".join(ONE_LETTER[structure.residues[r].resname] for r in range(structure.n_residues)
                    if res_chain[r] == c) for c in chains]
    chain_pos = {c: k for k, c in enumerate(chains)}
    ft = FileTorsions(
        bb_class=tc.bb_class.numpy()[bb_ok], bb_restype=tc.bb_restype.numpy()[bb_ok], phi=phi[bb_ok], psi=psi[bb_ok],
        omega=omega[bb_ok], bb_chain=np.array([chain_pos[c] for c in res_chain[bb_res[bb_ok]]], np.int64),
        sc_restype=tc.sc_restype.numpy()[sc_ok], chi=chi[sc_ok],
        sc_chain=np.array([chain_pos[c] for c in res_chain[sc_res[sc_ok]]], np.int64), chain_sequences=seqs)
    return ft, note


def cluster_chains(seqs: Sequence[str], k: int, min_shared: float) -> np.ndarray:
    """Single-linkage clusters of sequences by shared k-mers; returns a cluster id per sequence."""
    kmers = [set(s[i:i + k] for i in range(len(s) - k + 1)) or {s} for s in seqs]
    n = len(seqs)
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    index: Dict[str, List[int]] = {}
    for i, ks in enumerate(kmers):
        for km in ks:
            index.setdefault(km, []).append(i)
    for i, ks in enumerate(kmers):
        shared: Dict[int, int] = {}
        for km in ks:
            for j in index[km]:
                if j > i:
                    shared[j] = shared.get(j, 0) + 1
        for j, c in shared.items():
            if c >= min_shared * min(len(ks), len(kmers[j])):
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(n)], np.int64)
