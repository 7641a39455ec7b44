"""Per-residue profile plot of one prediction (matplotlib, Agg)."""
from __future__ import annotations

import numpy as np
import pandas as pd

#: colours of the MadraX channels in the plot (fixed, so plots compare at a glance)
CHANNEL_COLOURS = {"hbond": "#1f77b4", "electrostatics": "#d62728", "clash": "#7f7f7f", "solv_polar": "#17becf",
                   "solv_hydrophobic": "#ff7f0e", "vdw": "#2ca02c", "backbone_entropy": "#9467bd",
                   "sidechain_entropy": "#8c564b", "peptide_bond": "#bcbd22", "rotamer": "#e377c2",
                   "disulfide": "#000000"}


def _smooth(x: np.ndarray, w: int = 9) -> np.ndarray:
    w = max(1, min(w, len(x)))
    return np.convolve(x, np.ones(w) / w, mode="same")


def plot_residue_profile(row: dict, table: pd.DataFrame, path) -> None:
    """Three panels along the sequence: (1) contribution of each residue to the driver score
    (gradient x input of log p_driver; red raises it, blue lowers it; line = 9-residue mean);
    (2) the residue's inter-chain MadraX energy by channel in the encounter complexes (weighted
    as the network weights them; below zero = favourable contacts, the "stickers"); (3) disorder
    (metapredict) with the sequence for short proteins."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    L = len(table)
    x = table["position"].values
    fig, axes = plt.subplots(3, 1, figsize=(min(4 + L / 25.0, 24), 7.5), sharex=True,
                             gridspec_kw={"height_ratios": [1.2, 1.2, 0.6]})
    a = table["attribution"].values
    ax = axes[0]
    ax.bar(x, a, width=1.0, color=np.where(a >= 0, "#d62728", "#1f77b4"), linewidth=0)
    ax.plot(x, _smooth(a), color="black", lw=1.2)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("driver\ncontribution")
    ax.set_title(f"{row['id']}  (L = {L})   p_driver = {row['p_driver']:.2f}   p_client = {row['p_client']:.2f}   "
                 f"c_sat = {row['csat_uM']:.3g} uM (simulated-c_sat head; disordered sequences)", fontsize=10)
    ax = axes[1]
    chans = [c for c in table if c.startswith("inter_energy_")]
    pos_base = np.zeros(L)
    neg_base = np.zeros(L)
    shown = []
    total = np.abs(table[chans].values).sum()
    for c in chans:
        v = _smooth(table[c].values, 5)
        name = c[len("inter_energy_"):]
        if total > 0 and np.abs(table[c].values).sum() < 0.01 * total:
            continue
        up = np.clip(v, 0, None)
        dn = np.clip(v, None, 0)
        ax.bar(x, up, bottom=pos_base, width=1.0, color=CHANNEL_COLOURS.get(name, "grey"), linewidth=0, label=name)
        ax.bar(x, dn, bottom=neg_base, width=1.0, color=CHANNEL_COLOURS.get(name, "grey"), linewidth=0)
        pos_base += up
        neg_base += dn
        shown.append(name)
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("inter-chain energy\n(kcal/mol, 5-res mean)")
    if shown:
        ax.legend(fontsize=7, ncol=min(len(shown), 6), loc="lower right", frameon=False)
    ax = axes[2]
    ax.fill_between(x, table["disorder"].values, color="#9467bd", alpha=0.4, step="mid")
    ax.set_ylim(0, 1)
    ax.set_ylabel("disorder")
    ax.set_xlabel("residue")
    if L <= 130:
        for xi, r in zip(x, table["residue"].values):
            ax.text(xi, 0.05, r, ha="center", va="bottom", fontsize=6, family="monospace")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
