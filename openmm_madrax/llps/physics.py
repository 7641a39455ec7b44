"""The physics encoder: MadraX energies of a protein alone and in encounter complexes.

For a sequence :func:`physics_profile` returns, per residue, the 11 MadraX channels of the residue

* **intra** (per conformer set): in its own chain (a conformer of its segment, scored alone), and
* **inter** (per round): the inter-chain part, ``E(complex) - E(alone)`` (FoldX's interaction
  energy, with desolvation: MadraX is not pairwise additive), in an encounter complex with
  another segment of the same protein (two copies of the protein meeting), placed in contact in
  one of several orientations and briefly relaxed.

How, and why so (cost: 2,301 training proteins, 1.1 million residues, on a shared 2-core
machine; the per-protein budget is 10 s for 500 residues on one thread):

1. **Segments.** The sequence is cut into cores of ``core`` residues (32), each extended by
   ``flank`` residues (3) on both sides where the sequence continues; flank residues shield the
   core from the artificial chain ends and their energies are discarded.  Cost is linear in
   length, any length works (long sequences in chunks of ``MAX_SEGMENTS`` segments), and a
   residue's energies depend on its local sequence and its partner, not on the chain length.
2. **Conformers.** ``conformer_sets`` conformers per segment from
   :mod:`~openmm_madrax.llps.conformers` (``generator``: the statistical-coil generator, or the
   project's sequence -> ensemble generator).
3. **Encounters.** Per round the segments are paired at random (an odd one out meets a copy of
   a central segment, renumbered so MadraX's same-residue-number exclusion does not apply); of
   ``trials`` random relative orientations, each slid along a random direction until the closest
   heavy atoms are ``gap`` A apart, the one with the most inter-chain atom pairs within 6 A is
   kept; all pairs (far apart on a grid) are then relaxed together by ``relax_steps`` rigid-body
   steepest-descent steps on the smooth MadraX energy (at most 0.3 A and 1.5 degrees per step).
   All segments of a protein live in one :class:`~openmm_madrax.MadraXEnergy` (one chain each),
   so a round is a few evaluations of one module whatever the length.
4. **Scores.** Smooth MadraX in float32 (the same module as the relaxation, so one neighbour
   list per round; within 1 % of exact MadraX, spec section 7) with ``burial="foldx"``: with
   MadraX's own burial clamp the solvation and van der Waals terms of all but very buried atoms
   are per-type constants and contacts would be invisible to them (spec section 4.1).  Complexes
   are scored as relaxed; "alone" = every chain 1,000 A from the others.
5. **Parameter derivatives** (for end-to-end fine-tuning of MadraX's per-atom-type solvation
   ``enerG`` and van der Waals ``VdW`` coefficients): at fixed geometry channels 4, 5 and 6 are
   linear in those per-atom values and channel 8 is piecewise linear in ``VdW`` (through the
   side-chain interaction sum).  The per-atom derivatives are taken by autograd through the
   module itself (``energ`` and ``vdw`` buffers made leaf tensors), for the complex and the alone
   state, and stored; :class:`openmm_madrax.llps.model.MadraXParameters` turns parameter changes
   into energy changes inside the training graph (tests check them against the module).

Everything is deterministic given ``options.seed`` and the sequence.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import torch

from .. import params
from ..structure import Structure
from .conformers import GENERATORS, batch_segment_conformers, chain_conformers, chain_structure

ENCODER_VERSION = 2
N_CHANNELS = 11
#: coefficient columns: d(ch4 + ch5)/d enerG, d ch6/d VdW, d ch8/d VdW (per atom)
COEF_COLUMNS = ("energ", "vdw", "vdw_ch8")
#: channels a rigid-body move of whole chains cannot change (disulfide, backbone entropy, peptide bond, rotamer)
RIGID_INVARIANT = (0, 7, 9, 10)
#: residue number offset of the extra partner chain (avoids MadraX's same-residue-number exclusion)
PARTNER_RESSEQ_OFFSET = 10000


@dataclass(frozen=True)
class PhysicsOptions:
    """Settings of the physics encoder (part of the cache key)."""

    core: int = 32
    flank: int = 3
    conformer_sets: int = 1
    rounds: int = 4
    trials: int = 4
    relax_steps: int = 1
    gap: float = 4.0
    burial: str = "foldx"
    seed: int = 0
    coefficients: bool = True
    generator: str = "coil"

    def key(self) -> dict:
        d = asdict(self)
        d["encoder_version"] = ENCODER_VERSION
        if d["generator"] == "coil":  # the default generator is implied (caches made before the option stay valid)
            del d["generator"]
        return d


@dataclass
class PhysicsProfile:
    """Per-residue MadraX energies of one protein, for ``rounds`` rounds (kcal/mol)."""

    sequence: str
    intra: np.ndarray  # (conformer sets, L, 11): each segment alone
    inter: np.ndarray  # (rounds, L, 11): E(complex) - E(alone); round k uses conformer set k % sets
    window: np.ndarray  # (L,) index of the segment whose core holds the residue
    atom_residue: np.ndarray  # (A,) residue (0-based position) of every core atom
    atom_type: np.ndarray  # (A,) index into PARAMETER_TYPES
    coef_alone: np.ndarray  # (conformer sets, A, 3) see COEF_COLUMNS
    coef_inter: np.ndarray  # (rounds, A, 3)
    options: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def length(self) -> int:
        return len(self.sequence)

    def save(self, path) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
        np.savez_compressed(tmp, sequence=np.array(self.sequence), intra=self.intra.astype(np.float32),
                            inter=self.inter.astype(np.float32), window=self.window.astype(np.int32),
                            atom_residue=self.atom_residue.astype(np.int32), atom_type=self.atom_type.astype(np.int16),
                            coef_alone=self.coef_alone.astype(np.float16), coef_inter=self.coef_inter.astype(np.float16),
                            options=np.array(json.dumps(self.options)), seconds=np.array(self.seconds))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path) -> "PhysicsProfile":
        with np.load(path, allow_pickle=False) as z:
            return cls(sequence=str(z["sequence"]), intra=z["intra"].astype(np.float32),
                       inter=z["inter"].astype(np.float32), window=z["window"].astype(np.int64),
                       atom_residue=z["atom_residue"].astype(np.int64), atom_type=z["atom_type"].astype(np.int64),
                       coef_alone=z["coef_alone"].astype(np.float32), coef_inter=z["coef_inter"].astype(np.float32),
                       options=json.loads(str(z["options"])), seconds=float(z["seconds"]))


# ----------------------------------------------------------------------------------------------
# the fine-tunable per-atom-type parameters


@lru_cache(maxsize=1)
def parameter_types() -> Tuple[Tuple[Tuple[str, str], ...], np.ndarray, np.ndarray]:
    """The (residue, atom type) keys whose ``enerG`` and ``VdW`` can be fine-tuned (heavy and
    terminal types of the 20 residues, table order) and their published values (FoldX 2002/2005 as
    used by MadraX; ``params/madrax_params.json``)."""
    keys, energ, vdw = [], [], []
    for row in params.tables()["atom_types"]:
        if row["kind"] in ("heavy", "terminal"):
            keys.append((row["residue"], row["atom"]))
            energ.append(float(row["enerG"]))
            vdw.append(float(row["VdW"]))
    return tuple(keys), np.asarray(energ), np.asarray(vdw)


def atom_type_index(structure: Structure) -> np.ndarray:
    """Index into :func:`parameter_types` of every atom of ``structure`` (terminal retyping as in
    :func:`openmm_madrax.atomtypes.build_tables`: N of a chain's first residue -> ``tN``, O of its
    last residue -> ``OXT``)."""
    keys, _, _ = parameter_types()
    index = {k: i for i, k in enumerate(keys)}
    first, last = {}, {}
    for r, res in enumerate(structure.residues):
        first.setdefault(res.chain_index, r)
        last[res.chain_index] = r
    firsts, lasts = set(first.values()), set(last.values())
    out = np.empty(structure.n_atoms, np.int64)
    for a in range(structure.n_atoms):
        r = int(structure.atom_residue[a])
        name = structure.atom_names[a]
        if name == "N" and r in firsts:
            name = "tN"
        elif name == "O" and r in lasts:
            name = "OXT"
        out[a] = index[(structure.residues[r].resname, name)]
    return out


# ----------------------------------------------------------------------------------------------
# segments and the assembly


def segments(length: int, core: int, flank: int) -> List[Tuple[int, int, int, int]]:
    """(segment start, stop, core start, core stop) covering residues 0 .. length-1; cores of about
    ``core`` residues (equal split), segments extended by ``flank`` on each side within the chain."""
    n = max(1, int(round(length / core)))
    edges = np.linspace(0, length, n + 1).round().astype(int)
    out = []
    for k in range(n):
        c0, c1 = int(edges[k]), int(edges[k + 1])
        out.append((max(c0 - flank, 0), min(c1 + flank, length), c0, c1))
    return out


@dataclass
class Assembly:
    """All segments of a protein (plus, for an odd count, one partner copy) as chains of one
    structure, with index tables to go back to sequence positions."""

    structure: Structure
    segs: List[Tuple[int, int, int, int]]
    chain_atoms: List[Tuple[int, int]]
    chain_residues: List[Tuple[int, int]]
    extra_of: int  # segment copied as the extra partner chain, -1 if none
    core_residue: np.ndarray  # (R_asm,) sequence position of an assembly residue in a core, else -1
    core_atoms: np.ndarray  # assembly atom indices in cores
    atom_type: np.ndarray  # (core atoms,) parameter type index

    @property
    def n_chains(self) -> int:
        return len(self.chain_atoms)

    def chain_sequences(self, sequence: str) -> List[str]:
        seqs = [sequence[s0:s1] for s0, s1, _, _ in self.segs]
        if self.extra_of >= 0:
            seqs.append(seqs[self.extra_of])
        return seqs


def build_assembly(sequence: str, segs: List[Tuple[int, int, int, int]]) -> Assembly:
    """The :class:`Assembly` of some segments of ``sequence`` (see :func:`segments`)."""
    seqs = [sequence[s0:s1] for s0, s1, _, _ in segs]
    starts = [s0 + 1 for s0, _, _, _ in segs]
    extra_of = -1
    if len(segs) % 2 == 1:
        extra_of = len(segs) // 2  # a central segment
        seqs.append(seqs[extra_of])
        starts.append(starts[extra_of] + PARTNER_RESSEQ_OFFSET)
    structure = chain_structure(seqs, resseq_start=starts, name="llps-assembly")
    chain_atoms, chain_residues = [], []
    r = 0
    for q in seqs:
        a0 = structure.residues[r].atom_start
        a1 = structure.residues[r + len(q) - 1].atom_stop
        chain_atoms.append((a0, a1))
        chain_residues.append((r, r + len(q)))
        r += len(q)
    core_res = np.full(structure.n_residues, -1, np.int64)
    for k, (s0, s1, c0, c1) in enumerate(segs):
        r0 = chain_residues[k][0]
        for pos in range(c0, c1):
            core_res[r0 + pos - s0] = pos
    core_atoms = np.nonzero(core_res[structure.atom_residue] >= 0)[0]
    types = atom_type_index(structure)[core_atoms]
    return Assembly(structure, segs, chain_atoms, chain_residues, extra_of, core_res, core_atoms, types)


# ----------------------------------------------------------------------------------------------
# geometry helpers


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q = rng.standard_normal(4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _contact_offset(tree, ra: float, b: np.ndarray, u: np.ndarray, gap: float) -> float:
    """Distance t along unit vector u such that the closest heavy atoms of the structure in the
    KD-tree ``tree`` (radius ``ra`` about the origin) and ``b + t u`` are about ``gap`` apart
    (bisection to 0.1 A; both centred at the origin)."""
    hi = float(ra + np.sqrt((b * b).sum(1)).max() + gap + 1.0)
    lo = 0.0
    for _ in range(10):
        mid = 0.5 * (lo + hi)
        d = tree.query(b + mid * u, k=1, distance_upper_bound=gap + 1e-6)[0].min()
        if d < gap:
            lo = mid
        else:
            hi = mid
    return hi


def _grid_point(k: int, side: int, spacing: float) -> np.ndarray:
    """Point k of a side^3 cubic grid centred on the origin (coordinates stay small: float32
    scores of far-away chains would otherwise pick up rounding noise that grows with the offset)."""
    ijk = np.array([k % side, (k // side) % side, k // (side * side)], float)
    return spacing * (ijk - (side - 1) / 2.0)


def _rodrigues(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (C, 3, 3) about unit axes (C, 3) by angles (C,)."""
    K = torch.zeros(axis.shape[0], 3, 3, dtype=axis.dtype)
    K[:, 0, 1], K[:, 0, 2] = -axis[:, 2], axis[:, 1]
    K[:, 1, 0], K[:, 1, 2] = axis[:, 2], -axis[:, 0]
    K[:, 2, 0], K[:, 2, 1] = -axis[:, 1], axis[:, 0]
    s = torch.sin(angle)[:, None, None]
    c = torch.cos(angle)[:, None, None]
    eye = torch.eye(3, dtype=axis.dtype).expand_as(K)
    return eye + s * K + (1 - c) * (K @ K)


# ----------------------------------------------------------------------------------------------
# the encoder


class PhysicsEncoder:
    """Builds :class:`PhysicsProfile` s (see the module doc).  One instance per process is enough;
    it holds no per-protein state."""

    SKIN = 2.5  # A, Verlet skin of the encoder's module
    MAX_SEGMENTS = 100  # segments per assembly (longer sequences: several assemblies)
    MAX_STEP = 0.3  # A per relaxation step (translation)
    MAX_TURN = math.radians(1.5)  # per relaxation step (rotation about the chain centroid)
    F0 = 5.0  # kcal/mol/A: force at which the step is ~76 % of MAX_STEP
    TAU0 = 50.0  # kcal/mol: torque scale

    def __init__(self, options: PhysicsOptions = PhysicsOptions()):
        if options.burial not in ("madrax", "foldx"):
            raise ValueError(f"burial must be 'madrax' or 'foldx', not {options.burial!r}")
        if options.generator not in GENERATORS:
            raise ValueError(f"generator must be one of {GENERATORS}, not {options.generator!r}")
        self.options = options

    def profile(self, sequence: str) -> PhysicsProfile:
        """The :class:`PhysicsProfile` of a sequence of the 20 standard one-letter codes (run with
        the project's default torch thread count, see :mod:`openmm_madrax.threads`)."""
        from ..threads import default_torch_threads, torch_threads

        with torch_threads(default_torch_threads()):
            return self._profile(sequence)

    def _profile(self, sequence: str) -> PhysicsProfile:
        import time

        t0 = time.perf_counter()
        opt = self.options
        L = len(sequence)
        if L == 0:
            raise ValueError("empty sequence")
        R = opt.rounds
        S = max(1, min(opt.conformer_sets, R))
        intra = np.zeros((S, L, N_CHANNELS), np.float32)
        inter = np.zeros((R, L, N_CHANNELS), np.float32)
        segs = segments(L, opt.core, opt.flank)
        window = np.zeros(L, np.int64)
        for w, (_, _, c0, c1) in enumerate(segs):
            window[c0:c1] = w
        seed_base = int.from_bytes(hashlib.sha256(f"{sequence}|{opt.seed}".encode()).digest()[:8], "little")
        chains = None
        if opt.generator != "coil":  # whole-chain conformers, cut into segments per chunk
            chains = chain_conformers(sequence, S, seed=seed_base % (2 ** 63), generator=opt.generator)
        atom_res, atom_type, coef_alone, coef_inter = [], [], [], []
        # long sequences in chunks of segments (bounded memory); each chunk is one assembly
        for c, first in enumerate(range(0, len(segs), self.MAX_SEGMENTS)):
            chunk = segs[first:first + self.MAX_SEGMENTS]
            rng = np.random.default_rng([seed_base, c])
            asm, ca, ci = self._chunk(sequence, chunk, rng, intra, inter, chains)
            atom_res.append(asm.core_residue[asm.structure.atom_residue[asm.core_atoms]])
            atom_type.append(asm.atom_type)
            coef_alone.append(ca)
            coef_inter.append(ci)
        return PhysicsProfile(sequence=sequence, intra=intra, inter=inter, window=window,
                              atom_residue=np.concatenate(atom_res), atom_type=np.concatenate(atom_type),
                              coef_alone=np.concatenate(coef_alone, axis=1), coef_inter=np.concatenate(coef_inter, axis=1),
                              options=opt.key(), seconds=time.perf_counter() - t0)

    def _chunk(self, sequence: str, segs, rng: np.random.Generator, intra: np.ndarray, inter: np.ndarray,
               chains: Optional[List[np.ndarray]] = None):
        from ..energy import EnergyOptions, energy_module

        opt = self.options
        asm = build_assembly(sequence, segs)
        st = asm.structure
        # one smooth module for relaxation and scores (a skin of 2.5 A: a brief rigid-body
        # relaxation stays inside it, so a round needs one neighbour-list build); the planar-frame
        # sign of smooth mode is decided from the first conformers
        module = energy_module(st, EnergyOptions(burial=opt.burial, smooth=True, precision="single", fix_frames=False,
                                                 skin=self.SKIN))
        R, S = inter.shape[0], intra.shape[0]
        A = len(asm.core_atoms)
        coef_alone = np.zeros((S, A, 3), np.float32)
        coef_inter = np.zeros((R, A, 3), np.float32)
        core_mask = asm.core_residue >= 0
        core_pos = asm.core_residue[core_mask]
        seqs = asm.chain_sequences(sequence)
        confs, e_alone, c_alone = [], [], []
        for k in range(S):
            if chains is None:
                confs.append(batch_segment_conformers(seqs, seed=int(rng.integers(2 ** 63))))
            else:
                confs.append(self._cut(asm, sequence, chains[k]))
            if k == 0:
                module.fix_frames(torch.as_tensor(self._apart(asm, confs[0]), dtype=torch.float32))
            e_al, c_al = self._score(module, self._apart(asm, confs[k]), opt.coefficients)
            intra[k, core_pos] = e_al[core_mask]
            if opt.coefficients:
                coef_alone[k] = c_al[asm.core_atoms]
            e_alone.append(e_al)
            c_alone.append(c_al)
        for k in range(R):
            xyz = self._encounters(asm, confs[k % S], rng)
            xyz = self._relax(module, asm, xyz)
            e_cx, c_cx = self._score(module, xyz, opt.coefficients)
            d = e_cx - e_alone[k % S]
            # channels that a rigid-body placement cannot change (disulfide: static list in smooth
            # mode; backbone entropy, peptide bond, rotamer: internal coordinates) are exactly zero;
            # any difference is float32 rounding
            d[:, list(RIGID_INVARIANT)] = 0.0
            inter[k, core_pos] = d[core_mask]
            if opt.coefficients:
                coef_inter[k] = (c_cx - c_alone[k % S])[asm.core_atoms]
        return asm, coef_alone, coef_inter

    # -- one round
    def _encounters(self, asm: Assembly, confs: List[np.ndarray], rng: np.random.Generator) -> np.ndarray:
        n_seg = len(asm.segs)
        order = rng.permutation(n_seg)
        pairs = [(int(order[i]), int(order[i + 1])) for i in range(0, n_seg - 1, 2)]
        if n_seg % 2 == 1:
            pairs.append((int(order[-1]), n_seg))  # the extra chain, a copy of a central segment
        centred = [c - c.mean(0) for c in confs]
        radius = max(float(np.linalg.norm(c, axis=1).max()) for c in centred)
        spacing = 4.0 * radius + 30.0
        side = max(1, int(math.ceil(len(pairs) ** (1.0 / 3.0) - 1e-9)))
        xyz = np.zeros((asm.structure.n_atoms, 3))
        for p, (ia, ib) in enumerate(pairs):
            a, b = self._best_contact(centred[ia], centred[ib], rng)
            grid = _grid_point(p, side, spacing)
            a0, a1 = asm.chain_atoms[ia]
            b0, b1 = asm.chain_atoms[ib]
            xyz[a0:a1] = a + grid
            xyz[b0:b1] = b + grid
        return xyz

    def _best_contact(self, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """Of ``trials`` random relative orientations, each slid into contact at ``gap``, the one
        with the most inter-chain heavy-atom pairs within 6 A (a larger interface)."""
        from scipy.spatial import cKDTree

        a = a @ _random_rotation(rng).T
        tree = cKDTree(a)
        ra = float(np.sqrt((a * a).sum(1)).max())
        best, best_n = None, -1
        for _ in range(self.options.trials):
            bb = b @ _random_rotation(rng).T
            u = rng.standard_normal(3)
            u /= np.linalg.norm(u)
            bb = bb + _contact_offset(tree, ra, bb, u, self.options.gap) * u
            n = int(cKDTree(bb).count_neighbors(tree, 6.0))
            if n > best_n:
                best, best_n = bb, n
        return a, best

    def _relax(self, module, asm: Assembly, xyz: np.ndarray) -> np.ndarray:
        steps = self.options.relax_steps
        if steps <= 0:
            return xyz
        x = torch.as_tensor(xyz, dtype=torch.float32)
        C = asm.n_chains
        chain_of = torch.as_tensor(np.repeat(np.arange(C), [b - a for a, b in asm.chain_atoms]))
        count = torch.bincount(chain_of, minlength=C).to(x.dtype)[:, None]
        for _ in range(steps):
            xg = x.clone().requires_grad_(True)
            e = module(xg).sum()
            (g,) = torch.autograd.grad(e, xg)
            with torch.no_grad():
                com = torch.zeros(C, 3).index_add(0, chain_of, x) / count
                r = x - com[chain_of]
                force = -torch.zeros(C, 3).index_add(0, chain_of, g)
                torque = -torch.zeros(C, 3).index_add(0, chain_of, torch.cross(r, g, dim=1))
                fn = force.norm(dim=1, keepdim=True)
                tn = torque.norm(dim=1)
                shift = self.MAX_STEP * torch.tanh(fn / self.F0) * force / fn.clamp(min=1e-9)
                angle = self.MAX_TURN * torch.tanh(tn / self.TAU0)
                axis = torque / tn.clamp(min=1e-9)[:, None]
                rot = _rodrigues(axis, angle)
                x = torch.einsum("nij,nj->ni", rot[chain_of], r) + com[chain_of] + shift[chain_of]
        return x.double().numpy()

    @staticmethod
    def _cut(asm: Assembly, sequence: str, chain_xyz: np.ndarray) -> List[np.ndarray]:
        """Segment conformers cut from a whole-chain conformer (chain_structure atom order)."""
        from ..mutate import residue_atom_order
        from .conformers import residue_names

        starts = np.cumsum([0] + [len(residue_atom_order(rn, False)) for rn in residue_names(sequence)])
        out = [chain_xyz[starts[s0]:starts[s1]] for s0, s1, _, _ in asm.segs]
        if asm.extra_of >= 0:
            out.append(out[asm.extra_of])
        return out

    @staticmethod
    def _apart(asm: Assembly, confs: List[np.ndarray]) -> np.ndarray:
        """Every chain alone: conformers centred on the points of a cubic grid about the origin,
        far enough apart (twice the largest radius + 30 A) that no chain sees another."""
        centred = [c - c.mean(0) for c in confs]
        radius = max(float(np.linalg.norm(c, axis=1).max()) for c in centred)
        side = max(1, int(math.ceil(len(centred) ** (1.0 / 3.0) - 1e-9)))
        out = np.zeros((asm.structure.n_atoms, 3))
        for c, (a0, a1) in enumerate(asm.chain_atoms):
            out[a0:a1] = centred[c] + _grid_point(c, side, 2.0 * radius + 30.0)
        return out

    @staticmethod
    def _score(module, xyz: np.ndarray, coefficients: bool) -> Tuple[np.ndarray, Optional[np.ndarray]]:
        x = torch.as_tensor(xyz, dtype=torch.float32)
        if not coefficients:
            with torch.no_grad():
                return module(x).double().numpy(), None
        energ0, vdw0 = module.energ, module.vdw
        energ = energ0.clone().requires_grad_(True)
        vdw = vdw0.clone().requires_grad_(True)
        module.energ, module.vdw = energ, vdw
        try:
            e = module(x)
            g_energ, g_vdw = torch.autograd.grad((e[:, 4] + e[:, 5] + e[:, 6]).sum(), [energ, vdw], retain_graph=True,
                                                 allow_unused=True)
            (g_vdw8,) = torch.autograd.grad(e[:, 8].sum(), [vdw], allow_unused=True)
        finally:
            module.energ, module.vdw = energ0, vdw0
        z = torch.zeros_like(energ0)
        coef = torch.stack([g_energ if g_energ is not None else z, g_vdw if g_vdw is not None else z,
                            g_vdw8 if g_vdw8 is not None else z], dim=1)
        return e.detach().double().numpy(), coef.double().numpy()


def physics_profile(sequence: str, options: PhysicsOptions = PhysicsOptions()) -> PhysicsProfile:
    """:class:`PhysicsProfile` of a standard-residue sequence (see the module doc)."""
    return PhysicsEncoder(options).profile(sequence)


# ----------------------------------------------------------------------------------------------
# on-disk cache


def cache_key(sequence: str, options: PhysicsOptions) -> str:
    text = json.dumps({"sequence": sequence, "options": options.key()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def default_cache_dir() -> Path:
    env = os.environ.get("OPENMM_MADRAX_CACHE")
    if env:
        return Path(env) / "llps"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "openmm_madrax" / "llps"


class PhysicsCache:
    """Physics profiles on disk, keyed by a content hash of the sequence and the options.

    ``directory=None`` uses ``$OPENMM_MADRAX_CACHE/llps`` or ``~/.cache/openmm_madrax/llps``;
    ``directory=False`` disables the cache (always computes)."""

    def __init__(self, directory=None, options: PhysicsOptions = PhysicsOptions()):
        self.enabled = directory is not False
        self.directory = default_cache_dir() if directory in (None, True) else (Path(directory) if self.enabled else None)
        self.options = options
        self.encoder = PhysicsEncoder(options)

    def path(self, sequence: str) -> Optional[Path]:
        if not self.enabled:
            return None
        return self.directory / f"{cache_key(sequence, self.options)}.npz"

    def get(self, sequence: str) -> Optional[PhysicsProfile]:
        p = self.path(sequence)
        if p is not None and p.exists():
            try:
                prof = PhysicsProfile.load(p)
            except Exception:  # a truncated or foreign file: recompute
                return None
            if prof.sequence == sequence:
                return prof
        return None

    def __call__(self, sequence: str) -> PhysicsProfile:
        prof = self.get(sequence)
        if prof is not None:
            return prof
        prof = self.encoder.profile(sequence)
        p = self.path(sequence)
        if p is not None:
            p.parent.mkdir(parents=True, exist_ok=True)
            prof.save(p)
        return prof
