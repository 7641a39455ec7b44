"""Per-residue profile plot of :class:`~openmm_madrax.features.Features`."""
from __future__ import annotations

import warnings
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..params import CHANNELS
from ..residues import one_letter
from .extract import Features
from .names import SS_FEATURES


#: channel colours of the profile plot (fixed, so plots of different proteins compare)
CHANNEL_COLORS = {
    "disulfide": "#e6ab02", "hbond": "#1f78b4", "electrostatics": "#6a3d9a", "clash": "#e31a1c",
    "solv_polar": "#fb9a99", "solv_hydrophobic": "#33a02c", "vdw": "#b2df8a", "backbone_entropy": "#ff7f00",
    "sidechain_entropy": "#fdbf6f", "peptide_bond": "#999999", "rotamer": "#a6761d",
}


def _stacked(ax, x, values: np.ndarray, names: Sequence[str], labels: Sequence[str], bars: bool = True,
             width: float = 0.9) -> None:
    """Several signed components per x, stacked: positives up, negatives down.  Bars (short
    sequences) or step areas (long ones: as readable, and a few artists instead of thousands)."""
    pos = np.zeros(len(x))
    neg = np.zeros(len(x))
    for k, name in enumerate(names):
        v = np.nan_to_num(values[:, k])
        up = np.where(v > 0, v, 0.0)
        down = np.where(v < 0, v, 0.0)
        color = CHANNEL_COLORS.get(name.replace("inter_", ""), None)
        if bars:
            ax.bar(x, up, width, bottom=pos, color=color, label=labels[k], linewidth=0)
            ax.bar(x, down, width, bottom=neg, color=color, linewidth=0)
        else:
            ax.fill_between(x, pos, pos + up, step="mid", color=color, label=labels[k], linewidth=0)
            ax.fill_between(x, neg, neg + down, step="mid", color=color, linewidth=0)
        pos += up
        neg += down


def plot_profile(features: Features, path: str, *, title: Optional[str] = None, min_share: float = 0.01,
                 dpi: int = 130) -> str:
    """Per-residue profile (PNG): frame-mean MadraX channels stacked along the sequence with the net
    energy, the inter-chain energy (several chains), burial / relative SASA / contacts, H-bond
    satisfaction and the secondary structure.  Channels whose summed |mean| is below
    ``min_share`` of the total are left out of the bars (listed in the legend title)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fr = features.frames
    R = features.n_residues
    x = np.arange(R)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # residues without donors / acceptors: NaN
        mean = np.nanmean(fr, axis=0)
    idx = {n: k for k, n in enumerate(features.names)}
    chans = list(CHANNELS)
    e = mean[:, [idx[c] for c in chans]]
    share = np.abs(e).sum(0) / max(np.abs(e).sum(), 1e-12)
    shown = [c for c, s in zip(chans, share) if s >= min_share]
    hidden = [c for c, s in zip(chans, share) if s < min_share]
    multi = features.chain_frames.shape[1] > 1
    inter = mean[:, [idx[f"inter_{c}"] for c in chans]]
    heights = [3.4] + ([1.6] if multi else []) + [1.4, 1.1, 0.55]
    width = min(max(9.0, 0.03 * R + 5.0), 24.0)
    fig, axes = plt.subplots(len(heights), 1, sharex=True, figsize=(width, sum(heights) + 1.3),
                             gridspec_kw={"height_ratios": heights, "hspace": 0.12})
    k = 0
    ax = axes[k]
    ax.axhline(0.0, color="k", lw=0.6)
    bars = R <= 150
    _stacked(ax, x, e[:, [chans.index(c) for c in shown]], shown, shown, bars=bars)
    total = mean[:, idx["madrax_total"]]
    if bars:
        ax.plot(x, total, color="k", lw=0.8, marker="o", ms=2.0, label="net per residue")
    w = min(9, max(3, R // 40 * 2 + 1))
    if R >= 3 * w:
        ax.plot(x, pd.Series(total).rolling(w, center=True, min_periods=1).mean(), color="k" if not bars
                else "#d62728", lw=1.8, label=f"net, {w}-residue running mean")
    ax.set_ylabel("MadraX energy\n(kcal/mol, frame mean)")
    leg_title = "channel" + (f" (not shown, <{100 * min_share:g}%: {', '.join(hidden)})" if hidden else "")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, title=leg_title, title_fontsize=7,
              frameon=False)
    ax.grid(axis="y", lw=0.3, alpha=0.6)
    if multi:
        k += 1
        ax = axes[k]
        ax.axhline(0.0, color="k", lw=0.6)
        ishow = [c for c in chans if np.abs(inter[:, chans.index(c)]).sum() > 1e-6]
        if ishow:
            # the interface is a few residues: bars for those only, wide enough to see on long sequences
            nz = np.abs(inter).sum(1) > 1e-9
            _stacked(ax, x[nz], inter[nz][:, [chans.index(c) for c in ishow]], ishow, ishow,
                     width=max(0.9, R / 250.0))
            ax.plot(x[nz], mean[nz, idx["inter_total"]], ls="none", marker="_", ms=8, color="k",
                    label="net inter-chain")
            ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
        else:
            ax.text(0.5, 0.5, "no inter-chain MadraX energy (chains never within 7 A)", transform=ax.transAxes,
                    ha="center", va="center", fontsize=9, color="0.4")
        ax.set_ylabel("inter-chain\n(kcal/mol)")
        ax.grid(axis="y", lw=0.3, alpha=0.6)
    k += 1
    ax = axes[k]
    ax.plot(x, mean[:, idx["burial"]], color="#8c510a", lw=1.2, label="burial (0-1)")
    ax.plot(x, np.clip(mean[:, idx["rsasa"]], 0, 1.2), color="#01665e", lw=1.2, label="relative SASA")
    c = mean[:, idx["contacts"]]
    cmax = max(float(np.nanmax(c)), 1.0)
    ax.fill_between(x, 0, c / cmax, step="mid", color="0.75", alpha=0.6, lw=0,
                    label=f"contacts / {cmax:.0f}")
    if multi:
        ax.fill_between(x, 0, mean[:, idx["contacts_inter"]] / cmax, step="mid", color="#d62728", alpha=0.6,
                        lw=0, label="inter-chain contacts")
    ax.set_ylim(0, 1.25)
    ax.set_ylabel("burial, SASA,\ncontacts")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    k += 1
    ax = axes[k]
    ax.plot(x, mean[:, idx["hb_donor_sat"]], ls="none", marker="^", ms=3.5, color="#1f78b4", label="donors H-bonded")
    ax.plot(x, mean[:, idx["hb_acceptor_sat"]], ls="none", marker="v", ms=3.5, color="#e31a1c",
            label="acceptors H-bonded")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("H-bond\nsatisfaction")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    k += 1
    ax = axes[k]
    h, s_, c_ = (mean[:, idx[n]] for n in SS_FEATURES)
    ax.bar(x, h, 1.0, color="#d7301f", lw=0, label="helix")
    ax.bar(x, s_, 1.0, bottom=h, color="#2171b5", lw=0, label="strand")
    ax.bar(x, c_, 1.0, bottom=h + s_, color="0.88", lw=0, label="coil")
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel("DSSP", rotation=0, ha="right", va="center")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.2), fontsize=8, frameon=False, ncol=3)
    # chains and residue numbers
    res = features.residues
    starts = [int(np.nonzero(res["chain_index"].to_numpy() == ci)[0][0]) for ci in features.chains["chain_index"]]
    for a in axes:
        for s in starts[1:]:
            a.axvline(s - 0.5, color="k", lw=1.0, ls="--")
    if multi:
        for s, cid in zip(starts, features.chains["chain"]):
            axes[0].text(s, 1.01, f"chain {cid or '-'}", transform=axes[0].get_xaxis_transform(), fontsize=8,
                         va="bottom")
    step = next(v for v in (5, 10, 20, 25, 50, 100, 200, 500) if R / v <= 30)
    resnum = res["resnum"].to_numpy()
    ticks = [i for i in range(R) if resnum[i] % step == 0 or i in starts]
    axes[-1].set_xticks(ticks)
    axes[-1].set_xticklabels([str(resnum[i]) for i in ticks], fontsize=8)
    if R <= 130:  # one-letter sequence under the residue numbers
        for i, rn in enumerate(res["resname"]):
            axes[-1].text(i, -0.62, one_letter(rn), transform=axes[-1].get_xaxis_transform(), ha="center",
                          va="top", fontsize=6.5, family="monospace")
    axes[-1].set_xlabel("residue" + ("\n" if R <= 130 else ""), labelpad=(16 if R <= 130 else 4))
    axes[-1].set_xlim(-0.7, R - 0.3)
    name = title or str(features.meta.get("name", ""))
    fig.suptitle(f"{name}: per-residue MadraX profile, mean over {features.n_frames} frame(s)"
                 + (f", {features.chain_frames.shape[1]} chains" if multi else ""), fontsize=11, x=0.45, y=0.93)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path
