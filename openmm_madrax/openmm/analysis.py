"""What an MD run did, from its files: temperature, energies and C-alpha RMSD to the start over time,
as a table and a plot (``openmm-madrax md --plot``)."""
from __future__ import annotations

import os
from typing import Optional

import numpy as np

from .runner import MDOutputs


def ca_rmsd_to_start(outputs: MDOutputs) -> "tuple[np.ndarray, np.ndarray]":
    """(time ps, C-alpha RMSD in A) of every trajectory frame to the start structure (``outputs.topology``,
    the minimised start), after optimal superposition (mdtraj)."""
    import mdtraj as md

    ref = md.load(outputs.topology)
    ca = ref.topology.select("name CA")
    traj = md.load(outputs.trajectory, top=outputs.topology)
    rmsd = md.rmsd(traj, ref, 0, atom_indices=ca) * 10.0
    return np.asarray(traj.time, dtype=np.float64), rmsd


def md_timeseries(outputs: MDOutputs):
    """A pandas DataFrame, one row per report: time_ps, temperature_K and potential_kj (OpenMM's state
    log), madrax_force_kcal and madrax_exact_kcal (MadraXEnergyReporter), ca_rmsd_A (trajectory)."""
    import pandas as pd

    df = pd.read_csv(outputs.energies)[["step", "time_ps", "potential_kj", "madrax_force_kcal", "madrax_exact_kcal"]]
    if outputs.log and os.path.exists(outputs.log) and os.path.getsize(outputs.log) > 0:
        log = pd.read_csv(outputs.log)
        log.columns = [c.strip('#"') for c in log.columns]
        temp = log[["Step", "Temperature (K)"]].rename(columns={"Step": "step", "Temperature (K)": "temperature_K"})
        df = df.merge(temp, on="step", how="left")
    if os.path.exists(outputs.trajectory) and os.path.getsize(outputs.trajectory) > 0:
        _, rmsd = ca_rmsd_to_start(outputs)
        n = min(len(rmsd), len(df))
        df["ca_rmsd_A"] = np.nan
        df.loc[df.index[-n:], "ca_rmsd_A"] = rmsd[-n:]  # frames and rows are written together
    return df


def plot_md(df, path: str, title: Optional[str] = None) -> None:
    """Temperature, potential energy, MadraX energy (force and exact surface) and C-alpha RMSD vs time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("temperature_K", "temperature (K)"), ("potential_kj", "potential (kJ/mol)"),
              (("madrax_force_kcal", "madrax_exact_kcal"), "MadraX (kcal/mol)"), ("ca_rmsd_A", "C-alpha RMSD\nto start (A)")]
    panels = [p for p in panels if all(c in df for c in (p[0] if isinstance(p[0], tuple) else (p[0],)))]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7, 1.9 * len(panels)), sharex=True)
    axes = np.atleast_1d(axes)
    t = df["time_ps"].to_numpy()
    for ax, (col, label) in zip(axes, panels):
        if isinstance(col, tuple):
            ax.plot(t, df[col[0]], label="force (what MD feels)", color="#1f78b4")
            if df[col[1]].notna().any():
                ax.plot(t, df[col[1]], label="exact (as score)", color="#e31a1c")
            ax.legend(fontsize=7, frameon=False)
        else:
            ax.plot(t, df[col], color="k", lw=1.2)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1].set_xlabel("time (ps)")
    if title:
        axes[0].set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
