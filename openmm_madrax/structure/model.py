"""The prepared protein: :class:`Structure` (heavy atoms of standard residues) and its residues.

A :class:`Structure` is what :func:`openmm_madrax.load` returns and everything downstream takes:
the energy (``structure.tables()`` -> :class:`~openmm_madrax.energy.MadraXEnergy`), the OpenMM
force, mutation and features.  It never changes after preparation; :meth:`Structure.subset` and
:meth:`Structure.with_coords` make new ones.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..errors import StructureError
from ..residues import ONE_LETTER


def fmt_list(items: Sequence[str], limit: int = 12) -> str:
    """'a, b, c' or 'a, b, ..., (n in all)': lists in messages stay one line."""
    items = list(items)
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... ({len(items)} in all)"


def count_names(names: Sequence[str]) -> str:
    """'NAG x6, MAN x4, FUC' from a list of residue names."""
    return ", ".join(f"{n} x{c}" if c > 1 else n for n, c in Counter(names).most_common())


@dataclass
class ResidueInfo:
    chain_id: str
    chain_index: int
    resseq: int
    icode: str
    resname: str  # one of the 20 standard names
    input_resname: str  # the name in the input (e.g. HIE, CSO before repair)
    atom_start: int
    atom_stop: int

    @property
    def label(self) -> str:
        return f"{self.chain_id}:{self.resname}{self.resseq}{self.icode}"


@dataclass
class Structure:
    """A prepared protein: heavy atoms of standard residues (typed by :mod:`.atomtypes`)."""

    name: str
    residues: List[ResidueInfo]
    atom_names: List[str]  # real atom names (N, CA, ..., OXT)
    atom_residue: np.ndarray  # (N,) residue index of every atom
    coords: np.ndarray  # (N, 3) float64, Angstrom
    #: (N,) index of the atom in the input: the particle index for topologies, the 0-based atom
    #: index within the chosen model for files; -1 for atoms added by ``repair=True``
    source_index: np.ndarray
    chain_ids: List[str]
    next_consecutive: np.ndarray  # (R,) bool: residue r and r+1 are bonded consecutive residues
    disulfides: List[Tuple[int, int]]  # static SG-SG pairs (atom indices) from geometry / SSBOND
    breaks: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    #: what preparation removed or changed, by category (waters, ligands, nonstandard, altloc,
    #: variants, hetatm, unknown_atoms, replaced, added_atoms); values are residue/atom labels
    dropped: Dict[str, List[str]] = field(default_factory=dict)
    n_input_atoms: int = 0
    n_models: int = 1
    n_hydrogens: int = 0  # hydrogens/deuteriums of the input that were ignored
    model: Optional[int] = None  # the model (file) or frame (trajectory) that was read
    source: str = ""
    _tables: object = None

    @property
    def n_atoms(self) -> int:
        return len(self.atom_names)

    @property
    def n_residues(self) -> int:
        return len(self.residues)

    def residue_table(self):
        """pandas DataFrame with chain, resnum, icode, resname of every residue (output key)."""
        import pandas as pd

        return pd.DataFrame({
            "chain": [r.chain_id for r in self.residues],
            "resnum": [r.resseq for r in self.residues],
            "icode": [r.icode for r in self.residues],
            "resname": [r.resname for r in self.residues],
        })

    def __repr__(self) -> str:
        return (f"Structure({self.name!r}, {len(self.chain_ids)} chain(s), {self.n_residues} residues, "
                f"{self.n_atoms} heavy atoms)")

    def atom_indices(self, residues: Sequence[int]) -> np.ndarray:
        """Indices of the atoms of ``residues`` (residue indices), in atom order."""
        keep = sorted(set(int(k) for k in residues))
        if not keep:
            return np.zeros(0, np.int64)
        return np.concatenate([np.arange(self.residues[k].atom_start, self.residues[k].atom_stop)
                               for k in keep]).astype(np.int64)

    def subset(self, residues: Sequence[int], coords: Optional[np.ndarray] = None,
               name: Optional[str] = None) -> "Structure":
        """A structure made of some residues (indices into ``self.residues``, kept in order).

        Atoms keep their types (residue names, ``source_index``); residues stay consecutive only
        when both are kept; disulfides with a partner outside are dropped; ``coords`` (N x 3, A, of
        this structure) gives the coordinates to take (default ``self.coords``).  Its atoms are
        ``self.atom_indices(residues)`` of this structure."""
        keep = sorted(set(int(k) for k in residues))
        if not keep:
            raise StructureError(f"{self.name}: an empty residue selection")
        if keep[0] < 0 or keep[-1] >= self.n_residues:
            raise StructureError(f"{self.name}: residue index out of range 0..{self.n_residues - 1}")
        xyz = self.coords if coords is None else np.asarray(coords, np.float64).reshape(self.n_atoms, 3)
        atoms = self.atom_indices(keep)
        old_to_new = {int(a): n for n, a in enumerate(atoms)}
        res_map = {k: n for n, k in enumerate(keep)}
        new_res: List[ResidueInfo] = []
        start = 0
        for k in keep:
            r = self.residues[k]
            n = r.atom_stop - r.atom_start
            new_res.append(replace(r, atom_start=start, atom_stop=start + n))
            start += n
        nxt = np.array([bool(self.next_consecutive[k]) and (k + 1) in res_map for k in keep], bool)
        ss = [(old_to_new[a], old_to_new[b]) for a, b in self.disulfides if a in old_to_new and b in old_to_new]
        chains = {r.chain_id for r in new_res}
        whole = [c for c in chains if sum(r.chain_id == c for r in self.residues) == sum(r.chain_id == c for r in new_res)]
        return Structure(name=name or f"{self.name}[subset]", residues=new_res,
                         atom_names=[self.atom_names[a] for a in atoms],
                         atom_residue=np.asarray([res_map[int(self.atom_residue[a])] for a in atoms], np.int64),
                         coords=xyz[atoms].copy(), source_index=self.source_index[atoms].copy(),
                         chain_ids=[c for c in self.chain_ids if c in chains], next_consecutive=nxt,
                         disulfides=ss, breaks=[b for b in self.breaks if any(b.startswith(f"chain {c}:") for c in whole)],
                         n_input_atoms=self.n_input_atoms, source=self.source)

    def select_chains(self, chains: Union[str, int, Sequence[Union[str, int]]], coords: Optional[np.ndarray] = None,
                      name: Optional[str] = None) -> "Structure":
        """The residues of some chains, by chain ID (``"A"``, ``"AB"``, ``["A", "B"]``) or by chain
        index (``ResidueInfo.chain_index``, an int or a list of ints); see :meth:`subset`."""
        if isinstance(chains, (int, np.integer)):
            wanted = [int(chains)]
        elif isinstance(chains, str):
            wanted = list(chains)
        else:
            wanted = list(chains)
        by_index = all(isinstance(c, (int, np.integer)) for c in wanted)
        keep = [k for k, r in enumerate(self.residues)
                if (r.chain_index if by_index else r.chain_id) in wanted]
        if not keep:
            what = "index" if by_index else "ID"
            raise StructureError(f"{self.name}: no residues in chain {what}(s) {', '.join(map(str, wanted))} "
                                 f"(chains: {', '.join(c or '(blank)' for c in self.chain_ids)})")
        label = "".join(map(str, wanted)) if by_index else "".join(wanted)
        return self.subset(keep, coords, name=name or f"{self.name}[{label}]")

    def tables(self):
        """Typed, static tensors for the energy (built once, cached)."""
        if self._tables is None:
            from .atomtypes import build_tables

            self._tables = build_tables(self)
        return self._tables

    def with_coords(self, coords: np.ndarray) -> "Structure":
        """Same topology, new coordinates (Angstrom); shares the typed tables."""
        coords = np.asarray(coords, dtype=np.float64).reshape(self.n_atoms, 3)
        new = Structure(**{k: getattr(self, k) for k in self.__dataclass_fields__ if k != "coords"},
                        coords=coords)
        return new

    def sequence(self, chain: Optional[str] = None) -> str:
        return "".join(ONE_LETTER[r.resname] for r in self.residues if chain is None or r.chain_id == chain)

    def summary(self) -> str:
        """A short human-readable account of the prepared structure: chains, residues, atoms,
        chain breaks, disulfides and everything that was ignored, dropped or repaired."""
        lines = [f"{self.name}: {len(self.chain_ids)} chain(s), {self.n_residues} residues, {self.n_atoms} heavy "
                 f"atoms scored ({self.n_input_atoms} atoms read"
                 + (f", model {self.model} of {self.n_models}" if self.n_models > 1 else "") + ")"]
        by_chain: Dict[int, List[ResidueInfo]] = {}
        for r in self.residues:
            by_chain.setdefault(r.chain_index, []).append(r)
        n_breaks: Counter = Counter()
        for k in range(self.n_residues - 1):
            a, b = self.residues[k], self.residues[k + 1]
            if a.chain_index == b.chain_index and not self.next_consecutive[k]:
                n_breaks[a.chain_index] += 1
        for ci, res in by_chain.items():
            first, last = res[0], res[-1]
            nb = n_breaks.get(ci, 0)
            lines.append(f"  chain {first.chain_id or '(blank)'}: {len(res)} residues {first.resname}{first.resseq}"
                         f"{first.icode}-{last.resname}{last.resseq}{last.icode}"
                         + (f", {nb} chain break(s)" if nb else ""))
        for b in self.breaks:
            lines.append(f"    {b}")
        if self.disulfides:
            lines.append(f"  disulfides: {len(self.disulfides)}")
        if self.n_hydrogens:
            lines.append(f"  hydrogens ignored: {self.n_hydrogens}")
        titles = {"waters": "waters ignored", "ligands": "ligands/ions/glycans ignored",
                  "nonstandard": "nonstandard residues dropped", "hetatm": "HETATM residues dropped",
                  "altloc": "alternate locations resolved", "variants": "residue names mapped",
                  "unknown_atoms": "unknown atoms dropped", "replaced": "residues replaced by PDBFixer",
                  "added_atoms": "atoms added by PDBFixer"}
        for key, items in self.dropped.items():
            if items:
                lines.append(f"  {titles.get(key, key)}: {len(items)} ({fmt_list(items, 6)})")
        return "\n".join(lines)

    def to_pdb(self, path=None, coords: Optional[np.ndarray] = None) -> str:
        """Write the prepared heavy atoms as PDB text (and to ``path`` if given)."""
        xyz = self.coords if coords is None else np.asarray(coords).reshape(-1, 3)
        lines = []
        serial = 1
        for ri, res in enumerate(self.residues):
            if ri > 0 and self.residues[ri - 1].chain_index != res.chain_index:
                lines.append("TER")
            for a in range(res.atom_start, res.atom_stop):
                name = self.atom_names[a]
                el = name[0]
                pad = f" {name:<3s}" if len(name) < 4 else name
                x, y, z = xyz[a]
                lines.append(f"ATOM  {serial % 100000:5d} {pad:4s} {res.resname:3s} {res.chain_id[:1] or 'A':1s}"
                             f"{res.resseq:4d}{(res.icode or ' ')[:1]}   {x:8.3f}{y:8.3f}{z:8.3f}  1.00  0.00"
                             f"          {el:>2s}")
                serial += 1
        lines += ["TER", "END"]
        text = "\n".join(lines) + "\n"
        if path is not None:
            with open(path, "w") as fh:
                fh.write(text)
        return text
