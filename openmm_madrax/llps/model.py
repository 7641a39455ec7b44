"""The phase-separation network (torch): sequence encoder + MadraX physics channels -> heads.

:class:`LLPSNet` is the exported torch module.  Its input is a :class:`Batch` (padded tensors of
one or more proteins, built by :func:`make_batch` from sequences and
:class:`~openmm_madrax.llps.physics.PhysicsProfile` s); its output a dict with the three-way
logits (driver / client-only / neither), ``log10_csat`` (SIMULATED-c_sat head, log10 uM) and the
attention weights.

The physics part is computed *inside* ``forward`` from the raw per-round MadraX energies, so the
training loss reaches it:

* ``w_intra``, ``w_inter`` (11 each, initialised at 1.0, MadraX's own weighting): per-channel
  weights of the residue's energy in its own chain and of its inter-chain energy;
* ``log_temperature`` (initialised at kT at 298 K, 0.593 kcal/mol): the encounter rounds of a
  segment are Boltzmann-weighted by their weighted inter-chain energy at this temperature
  (thermodynamic average over encounter complexes), and each segment's association free energy
  ``-T ln <exp(-U/T)>`` is a per-residue input;
* optionally (``finetune=True``) :class:`MadraXParameters`: changes of MadraX's per-atom-type
  solvation (``enerG``) and van der Waals (``VdW``) coefficients, turned into energy changes of
  channels 4, 5, 6 and 8 through the per-atom derivatives stored with every profile (exact for
  channels 4-6 at the stored geometry, first order for channel 8), regularised toward the
  published values by :meth:`MadraXParameters.penalty`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .physics import N_CHANNELS, PhysicsProfile, parameter_types
from .sequences import ALPHABET

KT_298 = 0.0019872041 * 298.0  # kcal/mol
#: Kyte & Doolittle, J Mol Biol 157:105 (1982)
KYTE_DOOLITTLE = {"A": 1.8, "R": -4.5, "N": -3.5, "D": -3.5, "C": 2.5, "Q": -3.5, "E": -3.5, "G": -0.4, "H": -3.2,
                  "I": 4.5, "L": 3.8, "K": -3.9, "M": 1.9, "F": 2.8, "P": -1.6, "S": -0.8, "T": -0.7, "W": -0.9,
                  "Y": -1.3, "V": 4.2, "X": 0.0}
CHARGE = {"K": 1.0, "R": 1.0, "D": -1.0, "E": -1.0}
AROMATIC = set("FWY")
SEQ_FEATURES = tuple(f"aa_{c}" for c in ALPHABET) + ("hydropathy", "charge", "aromatic", "disorder")
PHYS_FEATURES = (tuple(f"intra_{k}" for k in range(N_CHANNELS)) + tuple(f"inter_{k}" for k in range(N_CHANNELS))
                 + ("sticker", "association"))
N_SEQ = len(SEQ_FEATURES)
N_PHYS = len(PHYS_FEATURES)


def sequence_features(sequence: str, disorder: np.ndarray) -> np.ndarray:
    """(L, N_SEQ) float32: one-hot over the 21-letter alphabet, hydropathy (KD / 4.5), charge,
    aromatic flag, disorder (0-1)."""
    L = len(sequence)
    out = np.zeros((L, N_SEQ), np.float32)
    idx = np.array([ALPHABET.index(c) for c in sequence])
    out[np.arange(L), idx] = 1.0
    out[:, 21] = [KYTE_DOOLITTLE[c] / 4.5 for c in sequence]
    out[:, 22] = [CHARGE.get(c, 0.0) for c in sequence]
    out[:, 23] = [1.0 if c in AROMATIC else 0.0 for c in sequence]
    out[:, 24] = np.asarray(disorder, np.float32)
    return out


GLOBAL_FEATURES = (tuple(f"comp_{c}" for c in "ACDEFGHIKLMNPQRSTVWY") + tuple(f"idr_comp_{c}" for c in "ACDEFGHIKLMNPQRSTVWY")
                   + ("log_length", "disordered_fraction", "mean_disorder", "longest_idr_fraction", "log_longest_idr",
                      "fcr", "ncpr", "idr_fcr", "idr_ncpr", "idr_aromatic", "low_complexity_fraction"))
N_GLOBAL = len(GLOBAL_FEATURES)


def global_features(sequence: str, disorder: np.ndarray) -> np.ndarray:
    """(N_GLOBAL,) float32 per-protein sequence features: composition of the whole sequence and of its
    disordered residues (weighted by the disorder score), length, disorder statistics (residues
    with disorder >= 0.5; longest such stretch), fraction of charged residues and net charge per
    residue (whole and disordered), aromatic fraction of the disordered residues, and the fraction
    of residues in low-complexity windows (12 residues, Shannon entropy < 2.2 bits)."""
    L = len(sequence)
    d = np.asarray(disorder, np.float64)
    letters = "ACDEFGHIKLMNPQRSTVWY"
    onehot = np.zeros((L, 20))
    for i, c in enumerate(sequence):
        k = letters.find(c)
        if k >= 0:
            onehot[i, k] = 1.0
    comp = onehot.mean(0)
    wsum = d.sum()
    idr = (onehot * d[:, None]).sum(0) / max(wsum, 1e-6)
    dis = d >= 0.5
    longest, run = 0, 0
    for x in dis:
        run = run + 1 if x else 0
        longest = max(longest, run)
    charge = np.array([CHARGE.get(c, 0.0) for c in sequence])
    fcr = np.abs(charge).mean()
    ncpr = charge.mean()
    idr_fcr = (np.abs(charge) * d).sum() / max(wsum, 1e-6)
    idr_ncpr = (charge * d).sum() / max(wsum, 1e-6)
    idr_aro = idr[[letters.index(c) for c in "FWY"]].sum()
    lc = np.zeros(L, bool)
    w = 12
    if L >= w:  # Shannon entropy of every 12-residue window from cumulative counts
        full = np.zeros((L, 21))
        full[:, :20] = onehot
        full[:, 20] = 1.0 - onehot.sum(1)  # X and other letters
        cs = np.vstack([np.zeros((1, 21)), np.cumsum(full, 0)])
        p = (cs[w:] - cs[:-w]) / w
        ent = -(np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)).sum(1)
        starts = np.nonzero(ent < 2.2)[0]
        if len(starts):
            cover = np.zeros(L + 1)
            np.add.at(cover, starts, 1.0)
            np.add.at(cover, starts + w, -1.0)
            lc = np.cumsum(cover)[:L] > 0
    out = np.concatenate([comp, idr, [math.log(L) / 8.0, dis.mean(), d.mean(), longest / L, math.log1p(longest) / 8.0,
                                      fcr, ncpr, idr_fcr, idr_ncpr, idr_aro, lc.mean()]])
    return out.astype(np.float32)


@dataclass
class Batch:
    """Padded tensors of B proteins (L = longest)."""

    seq: Tensor  # (B, L, N_SEQ)
    mask: Tensor  # (B, L) bool
    intra: Tensor  # (B, S, L, 11)
    inter: Tensor  # (B, R, L, 11)
    window: Tensor  # (B, L) long, segment index within the protein (0 for padding)
    n_windows: int
    length: Tensor  # (B,) float
    glob: Optional[Tensor] = None  # (B, N_GLOBAL) sequence features per protein
    # fine-tuning: per core atom (flattened over the batch)
    atom_batch: Optional[Tensor] = None  # (A,)
    atom_residue: Optional[Tensor] = None  # (A,)
    atom_type: Optional[Tensor] = None  # (A,)
    coef_alone: Optional[Tensor] = None  # (S, A, 3)
    coef_inter: Optional[Tensor] = None  # (R, A, 3)


def make_batch(seq_feats: Sequence[np.ndarray], profiles: Sequence[PhysicsProfile], coefficients: bool = False,
               crop: Optional[Sequence[slice]] = None, glob: Optional[Sequence[np.ndarray]] = None,
               physics: bool = True) -> Batch:
    """Pad per-protein arrays into a :class:`Batch` (``crop``: one residue slice per protein;
    ``glob``: per-protein :func:`global_features`, of the whole protein also when cropped;
    ``physics=False``: empty physics arrays, for a sequence-only network)."""
    B = len(seq_feats)
    if crop is None:
        crop = [slice(0, len(f)) for f in seq_feats]
    lens = [len(range(*c.indices(len(f)))) for c, f in zip(crop, seq_feats)]
    L = max(lens)
    S = profiles[0].intra.shape[0] if physics else 1
    R = profiles[0].inter.shape[0] if physics else 1
    seq = np.zeros((B, L, N_SEQ), np.float32)
    mask = np.zeros((B, L), bool)
    intra = np.zeros((B, S, L, N_CHANNELS), np.float32)
    inter = np.zeros((B, R, L, N_CHANNELS), np.float32)
    window = np.zeros((B, L), np.int64)
    nw = 1
    ab, ar, at, ca, ci = [], [], [], [], []
    for b, (f, p, c) in enumerate(zip(seq_feats, profiles, crop)):
        n = lens[b]
        seq[b, :n] = f[c]
        mask[b, :n] = True
        if physics:
            intra[b, :, :n] = p.intra[:, c]
            inter[b, :, :n] = p.inter[:, c]
        w = p.window[c]
        w = w - w.min()
        window[b, :n] = w
        nw = max(nw, int(w.max()) + 1)
        if coefficients:
            start = c.start or 0
            keep = (p.atom_residue >= start) & (p.atom_residue < start + n)
            ab.append(np.full(int(keep.sum()), b))
            ar.append(p.atom_residue[keep] - start)
            at.append(p.atom_type[keep])
            ca.append(p.coef_alone[:, keep])
            ci.append(p.coef_inter[:, keep])
    t = torch.as_tensor
    if glob is None:  # e.g. tests: computed without disorder
        glob = [global_features(_letters(f), f[:, 24]) for f in seq_feats]
    batch = Batch(seq=t(seq), mask=t(mask), intra=t(intra), inter=t(inter), window=t(window), n_windows=nw,
                  length=t(np.asarray(lens, np.float32)), glob=t(np.stack(glob).astype(np.float32)))
    if coefficients:
        batch.atom_batch = t(np.concatenate(ab).astype(np.int64))
        batch.atom_residue = t(np.concatenate(ar).astype(np.int64))
        batch.atom_type = t(np.concatenate(at).astype(np.int64))
        batch.coef_alone = t(np.concatenate(ca, axis=1).astype(np.float32))
        batch.coef_inter = t(np.concatenate(ci, axis=1).astype(np.float32))
    return batch


def _letters(seq_feats: np.ndarray) -> str:
    """The 21-letter sequence back from the one-hot columns of :func:`sequence_features`."""
    return "".join(ALPHABET[k] for k in seq_feats[:, :21].argmax(1))


class MadraXParameters(nn.Module):
    """Learnable changes of MadraX's per-atom-type ``enerG`` and ``VdW`` (kcal/mol per atom),
    zero = the published values (FoldX 2002/2005 as used by MadraX).

    Types whose published enerG is exactly 0 (ARG CZ, PRO N) belong to both solvation channels
    and are kept fixed.  :meth:`energy_changes` maps the changes onto per-residue changes of
    channels 4 (polar solvation, enerG > 0), 5 (hydrophobic, enerG < 0), 6 (van der Waals) and 8
    (side-chain entropy, through the side-chain van der Waals sum) for stored per-atom derivatives.
    """

    def __init__(self):
        super().__init__()
        keys, energ, vdw = parameter_types()
        self.keys = keys
        self.register_buffer("energ0", torch.as_tensor(energ, dtype=torch.float32))
        self.register_buffer("vdw0", torch.as_tensor(vdw, dtype=torch.float32))
        self.register_buffer("energ_free", torch.as_tensor(energ != 0.0))
        self.register_buffer("polar", torch.as_tensor(energ > 0.0))
        self.d_energ = nn.Parameter(torch.zeros(len(keys)))
        self.d_vdw = nn.Parameter(torch.zeros(len(keys)))

    def energies(self):
        """(enerG, VdW) per type after the changes."""
        return self.energ0 + self.d_energ * self.energ_free, self.vdw0 + self.d_vdw

    def penalty(self, scale: float = 0.1) -> Tensor:
        """sum ((change) / scale)^2 over both tables (a Gaussian prior of width ``scale`` kcal/mol per
        atom around the published values)."""
        de = self.d_energ * self.energ_free
        return ((de / scale) ** 2).sum() + ((self.d_vdw / scale) ** 2).sum()

    def energy_changes(self, coef: Tensor, atom_batch: Tensor, atom_residue: Tensor, atom_type: Tensor, B: int,
                       L: int) -> Tensor:
        """(K, B, L, 11) energy changes for per-atom derivatives ``coef`` (K, A, 3)."""
        K = coef.shape[0]
        de = (self.d_energ * self.energ_free).index_select(0, atom_type)
        dv = self.d_vdw.index_select(0, atom_type)
        polar = self.polar.index_select(0, atom_type)
        d_solv = coef[:, :, 0] * de  # (K, A)
        d4 = torch.where(polar, d_solv, torch.zeros_like(d_solv))
        d5 = d_solv - d4
        d6 = coef[:, :, 1] * dv
        d8 = coef[:, :, 2] * dv
        flat = atom_batch * L + atom_residue
        out = torch.zeros(K, B * L, N_CHANNELS, dtype=coef.dtype, device=coef.device)
        for ch, val in ((4, d4), (5, d5), (6, d6), (8, d8)):
            out[:, :, ch] = torch.zeros(K, B * L, dtype=coef.dtype, device=coef.device).index_add(1, flat, val)
        return out.view(K, B, L, N_CHANNELS)


class _ConvBlock(nn.Module):
    def __init__(self, width: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = nn.Conv1d(width, width, kernel, padding=dilation * (kernel // 2), dilation=dilation)
        self.norm = nn.LayerNorm(width)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: Tensor, mask: Tensor) -> Tensor:
        x = (h * mask.unsqueeze(-1)).transpose(1, 2)
        y = self.conv(x).transpose(1, 2)
        return self.norm(h + self.drop(torch.nn.functional.gelu(y)))


#: the SIMULATED-c_sat head predicts (log10 c_sat / uM - CSAT_CENTER) / CSAT_SCALE (fixed constants,
#: about the mean and spread of the csat_sim training values, so the head starts in range)
CSAT_CENTER = 2.5
CSAT_SCALE = 1.2


class LLPSNet(nn.Module):
    """Sequence + MadraX physics -> (driver / client-only / neither) logits and SIMULATED-c_sat head.

    ``inputs``: ``"full"`` (sequence and physics), ``"sequence"`` (physics inputs zeroed: the
    ablation without MadraX) or ``"physics"`` (only the MadraX channels per residue, no residue
    identity, hydropathy or disorder).
    """

    def __init__(self, width: int = 32, heads: int = 4, kernel: int = 5, dilations: Sequence[int] = (1, 2, 4),
                 dropout: float = 0.1, inputs: str = "full", finetune: bool = False, pool: int = 4,
                 rounds: Optional[int] = None):
        super().__init__()
        if inputs not in ("full", "sequence", "physics"):
            raise ValueError(f"inputs must be 'full', 'sequence' or 'physics', not {inputs!r}")
        self.config = dict(width=width, heads=heads, kernel=kernel, dilations=list(dilations), dropout=dropout,
                           inputs=inputs, finetune=finetune, pool=pool, rounds=rounds)
        #: use only the first ``rounds`` encounter rounds (None: all; 1 = a single encounter per
        #: segment instead of the Boltzmann average over encounters, an ablation)
        self.rounds = rounds
        self.pool = int(pool)
        self.inputs = inputs
        self.finetune = finetune
        self.w_intra = nn.Parameter(torch.ones(N_CHANNELS))
        self.w_inter = nn.Parameter(torch.ones(N_CHANNELS))
        self.log_temperature = nn.Parameter(torch.tensor(math.log(KT_298)))
        self.madrax = MadraXParameters()
        self.madrax.requires_grad_(finetune)
        self.register_buffer("phys_mean", torch.zeros(N_PHYS))
        self.register_buffer("phys_scale", torch.ones(N_PHYS))
        n_in = (N_SEQ if inputs != "physics" else 0) + (N_PHYS if inputs != "sequence" else 0)
        self.embed = nn.Linear(n_in, width)
        # residue embedding, then average pooling by ``pool`` residues and convolution blocks of
        # ``kernel`` at the coarser resolution (receptive field ~ pool * (1 + (kernel - 1) * sum(dilations)))
        self.blocks = nn.ModuleList([_ConvBlock(width, kernel, d, dropout) for d in dilations])
        self.attn = nn.Linear(width, heads)
        n_glob = (N_GLOBAL if inputs != "physics" else 0) + (2 * N_PHYS if inputs != "sequence" else 0)
        self.register_buffer("glob_mean", torch.zeros(n_glob))
        self.register_buffer("glob_scale", torch.ones(n_glob))
        pooled = width * heads + width + 1 + n_glob
        self.cls_head = nn.Sequential(nn.Linear(pooled, 32), nn.GELU(), nn.Dropout(dropout), nn.Linear(32, 3))
        self.csat_head = nn.Sequential(nn.Linear(pooled, 32), nn.GELU(), nn.Dropout(dropout), nn.Linear(32, 1))

    @property
    def temperature(self) -> Tensor:
        return self.log_temperature.exp()

    # -- physics
    def physics(self, batch: Batch) -> Tensor:
        """(B, L, N_PHYS) raw physics features (before standardisation)."""
        intra, inter = batch.intra, batch.inter
        B, R, L, _ = inter.shape
        if self.finetune and batch.coef_alone is not None:
            intra = intra + self.madrax.energy_changes(batch.coef_alone, batch.atom_batch, batch.atom_residue,
                                                       batch.atom_type, B, L).transpose(0, 1)
            inter = inter + self.madrax.energy_changes(batch.coef_inter, batch.atom_batch, batch.atom_residue,
                                                       batch.atom_type, B, L).transpose(0, 1)
        if self.rounds is not None:
            inter = inter[:, :self.rounds]
            B, R, L, _ = inter.shape
        maskf = batch.mask.to(inter.dtype)
        inter_w = inter * self.w_inter  # (B, R, L, 11)
        u = inter_w.sum(-1) * maskf.unsqueeze(1)  # (B, R, L)
        W = batch.n_windows
        flat = (torch.arange(B).unsqueeze(1) * W + batch.window)  # (B, L)
        U = torch.zeros(R, B * W, dtype=u.dtype).index_add(1, flat.view(-1), u.transpose(0, 1).reshape(R, -1))
        U = U.view(R, B, W).transpose(0, 1)  # (B, R, W)
        T = self.temperature
        p = torch.softmax(-U / T, dim=1)  # (B, R, W)
        F = -T * (torch.logsumexp(-U / T, dim=1) - math.log(R))  # (B, W)
        n_res = torch.zeros(B * W, dtype=u.dtype).index_add(0, flat.view(-1), maskf.view(-1)).view(B, W)
        F_res = (F / n_res.clamp(min=1.0)).gather(1, batch.window)  # (B, L)
        p_res = p.gather(2, batch.window.unsqueeze(1).expand(B, R, L))  # (B, R, L)
        inter_feat = (p_res.unsqueeze(-1) * inter_w).sum(1)  # (B, L, 11)
        intra_feat = intra.mean(1) * self.w_intra
        sticker = inter_feat.sum(-1, keepdim=True)
        return torch.cat([intra_feat, inter_feat, sticker, F_res.unsqueeze(-1)], dim=-1) * maskf.unsqueeze(-1)

    def residue_inputs(self, batch: Batch) -> Dict[str, Tensor]:
        """The per-residue inputs of the trunk: ``seq`` (B, L, N_SEQ) and ``phys`` (B, L, N_PHYS)
        standardised physics features (what the attributions are taken on)."""
        out = {}
        if self.inputs != "physics":
            out["seq"] = batch.seq
        if self.inputs != "sequence":
            phys = (self.physics(batch) - self.phys_mean) / self.phys_scale
            out["phys"] = phys * batch.mask.unsqueeze(-1).to(phys.dtype)
        return out

    def global_inputs(self, inputs: Dict[str, Tensor], batch: Batch, standardise: bool = True) -> Tensor:
        """Per-protein inputs: the sequence :func:`global_features` and, with physics, the mean of the
        per-residue physics features over all residues and over the disordered ones (weighted by
        the disorder score), standardised."""
        parts = []
        if self.inputs != "physics":
            parts.append(batch.glob)
        if "phys" in inputs:
            maskf = batch.mask.to(inputs["phys"].dtype)
            phys = inputs["phys"]
            dis = batch.seq[:, :, 24] * maskf
            parts.append(phys.sum(1) / maskf.sum(1, keepdim=True).clamp(min=1.0))
            parts.append((phys * dis.unsqueeze(-1)).sum(1) / dis.sum(1, keepdim=True).clamp(min=1.0))
        g = torch.cat(parts, dim=1)
        return (g - self.glob_mean) / self.glob_scale if standardise else g

    def trunk(self, inputs: Dict[str, Tensor], batch: Batch) -> Dict[str, Tensor]:
        x = torch.cat([inputs[k] for k in ("seq", "phys") if k in inputs], dim=-1)
        mask = batch.mask
        maskf = mask.to(x.dtype)
        h = torch.nn.functional.gelu(self.embed(x)) * maskf.unsqueeze(-1)
        if self.pool > 1:  # average over blocks of ``pool`` residues (padding excluded)
            P = self.pool
            B, L, C = h.shape
            pad = (-L) % P
            hp = torch.nn.functional.pad(h, (0, 0, 0, pad)).view(B, -1, P, C).sum(2)
            cnt = torch.nn.functional.pad(maskf, (0, pad)).view(B, -1, P).sum(2)
            h = hp / cnt.clamp(min=1.0).unsqueeze(-1)
            maskf = (cnt > 0).to(h.dtype)
            mask = cnt > 0
        for blk in self.blocks:
            h = blk(h, maskf)
        h = h * maskf.unsqueeze(-1)
        a = self.attn(h).masked_fill(~mask.unsqueeze(-1), float("-inf"))
        a = torch.softmax(a, dim=1)  # (B, L, heads)
        z = torch.einsum("blh,blw->bhw", a, h).flatten(1)
        mean = h.sum(1) / maskf.sum(1, keepdim=True).clamp(min=1.0)
        g = torch.log(batch.length.clamp(min=1.0)).unsqueeze(1) / 8.0
        pooled = torch.cat([z, mean, g, self.global_inputs(inputs, batch)], dim=1)
        csat = CSAT_CENTER + CSAT_SCALE * self.csat_head(pooled).squeeze(1)
        return {"logits": self.cls_head(pooled), "log10_csat": csat, "attention": a}

    def forward(self, batch: Batch) -> Dict[str, Tensor]:
        return self.trunk(self.residue_inputs(batch), batch)

    @torch.no_grad()
    def fit_standardisation(self, batches: Sequence[Batch]) -> None:
        """Set the standardisation (mean, scale per feature) of the physics and per-protein inputs
        from training batches (with the channel weights at their initial 1.0)."""
        if self.inputs != "sequence":
            x = torch.cat([self.physics(b)[b.mask] for b in batches])
            self.phys_mean.copy_(x.mean(0))
            self.phys_scale.copy_(x.std(0).clamp(min=1e-3))
        g = torch.cat([self.global_inputs(self.residue_inputs(b), b, standardise=False) for b in batches])
        self.glob_mean.copy_(g.mean(0))
        self.glob_scale.copy_(g.std(0).clamp(min=1e-3))
