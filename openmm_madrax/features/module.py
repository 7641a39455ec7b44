"""The differentiable MadraX part of the features: frames -> per-residue channels, inter-chain
energies and burial / H-bond descriptors (autograd through coordinates)."""
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from ..energy import EnergyOptions, energy_module
from ..energy.burial import facc_from_occupancy
from ..errors import StructureError
from ..structure import Structure
from .names import BURIED


def chain_indices(structure: Structure) -> List[int]:
    """Chain indices of a structure in order of first appearance."""
    out: List[int] = []
    for r in structure.residues:
        if r.chain_index not in out:
            out.append(r.chain_index)
    return out


class MadraXFeatureModule(nn.Module):
    """Differentiable MadraX features of frames: coordinates (F, N, 3) or (N, 3), Angstrom, in the
    atom order of ``structure`` -> ``(energies, inter)``, both (F, R, 11) kcal/mol.

    ``energies`` are the per-residue channels of the whole system (as :func:`score`), ``inter`` the
    inter-chain part ``E(complex) - E(chain alone)`` (zeros for a single chain).  Gradients flow
    to the coordinates (``smooth=True`` gives the C1 surrogate used for MD, better behaved for
    optimisation).  :meth:`descriptors` adds per-residue burial and H-bond satisfaction.
    """

    def __init__(self, structure: Structure, options: Optional[EnergyOptions] = None, *, inter_chain: bool = True,
                 **changes):
        super().__init__()
        opts = EnergyOptions.coerce(options, **changes)
        self.options = opts
        self.dtype = opts.dtype
        self.n_atoms = structure.n_atoms
        self.n_residues = structure.n_residues
        self.energy = energy_module(structure, opts)
        chains = chain_indices(structure)
        self.chain_modules = nn.ModuleList()
        self.chain_atoms: List[Tuple[int, int]] = []
        self.chain_residues: List[Tuple[int, int]] = []
        if inter_chain and len(chains) > 1:
            for ci in chains:
                sub = structure.select_chains(ci)
                rk = [k for k, r in enumerate(structure.residues) if r.chain_index == ci]
                a0 = structure.residues[rk[0]].atom_start
                self.chain_atoms.append((a0, a0 + sub.n_atoms))
                self.chain_residues.append((rk[0], rk[-1] + 1))
                self.chain_modules.append(energy_module(sub, opts))
        t = structure.tables()
        self.register_buffer("residue", torch.as_tensor(np.asarray(t.residue), dtype=torch.long))
        m = self.energy
        self.register_buffer("donor", (m.donor & (m.n_h_slots > 0)).clone())
        self.register_buffer("acceptor", (m.acceptor & (m.n_lp_slots > 0)).clone())

    def _frames(self, xyz: Tensor) -> Tensor:
        xyz = torch.as_tensor(xyz)
        if xyz.dim() == 2:
            xyz = xyz.unsqueeze(0)
        if xyz.dim() != 3 or xyz.shape[1] != self.n_atoms or xyz.shape[2] != 3:
            raise StructureError(f"expected coordinates of shape (F, {self.n_atoms}, 3), got {tuple(xyz.shape)}")
        return xyz.to(self.dtype)

    def forward(self, xyz: Tensor) -> Tuple[Tensor, Tensor]:
        xyz = self._frames(xyz)
        energies = []
        inters = []
        for f in range(xyz.shape[0]):
            e = self.energy(xyz[f])
            energies.append(e)
            if len(self.chain_modules):
                alone = torch.zeros_like(e)
                for k, mod in enumerate(self.chain_modules):
                    a0, a1 = self.chain_atoms[k]
                    r0, r1 = self.chain_residues[k]
                    alone = alone.index_copy(0, torch.arange(r0, r1), mod(xyz[f, a0:a1]))
                inters.append(e - alone)
            else:
                inters.append(torch.zeros_like(e))
        return torch.stack(energies), torch.stack(inters)

    def descriptors(self, xyz: Tensor) -> Tensor:
        """Per-residue burial, donor / acceptor H-bond satisfaction and buried unsatisfied polar
        atoms, (F, R, 4) (see the module doc)."""
        xyz = self._frames(xyz)
        R = self.n_residues
        res = self.residue
        dt = xyz.dtype
        n_atoms_res = torch.zeros(R, dtype=dt).index_add(0, res, torch.ones(self.n_atoms, dtype=dt))
        don = self.donor.to(dt)
        acc = self.acceptor.to(dt)
        n_don_res = torch.zeros(R, dtype=dt).index_add(0, res, don)
        n_acc_res = torch.zeros(R, dtype=dt).index_add(0, res, acc)
        nan = torch.full((R,), float("nan"), dtype=dt)
        out = []
        m = self.energy
        for f in range(xyz.shape[0]):
            occ, _, n_acc, n_don = m.atom_features(xyz[f])
            facc = facc_from_occupancy(occ, m.occ_ref, m.occ_max, False, False).clamp(0.0, 1.0)
            burial = torch.zeros(R, dtype=dt).index_add(0, res, facc) / n_atoms_res
            don_ok = torch.zeros(R, dtype=dt).index_add(0, res, don * n_don.clamp(max=1.0))
            acc_ok = torch.zeros(R, dtype=dt).index_add(0, res, acc * n_acc.clamp(max=1.0))
            polar = (self.donor | self.acceptor).to(dt)
            unsat = polar * (1.0 - (n_acc + n_don).clamp(max=1.0)) * (facc >= BURIED).to(dt)
            out.append(torch.stack([
                burial,
                torch.where(n_don_res > 0, don_ok / n_don_res.clamp(min=1.0), nan),
                torch.where(n_acc_res > 0, acc_ok / n_acc_res.clamp(min=1.0), nan),
                torch.zeros(R, dtype=dt).index_add(0, res, unsat)], dim=1))
        return torch.stack(out)
