"""Reproducible experiments: grouped CV tables (network variants and baselines) and the shipped weights."""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Dict, Optional, Sequence

import pandas as pd

from .data import grouped_folds
from .physics import PhysicsCache, PhysicsOptions
from .train import (TrainConfig, cross_validate, inner_split, load_examples, markdown_table, paired_table, summary_table,
                    task_aurocs, train)

VARIANTS = {
    "sequence-only": dict(inputs="sequence"),
    "physics-only": dict(inputs="physics"),
    "full": dict(inputs="full"),
    "full + fine-tuned MadraX": dict(inputs="full", finetune=True),
    "full, one encounter per segment": dict(inputs="full", rounds=1),
}


def _baselines(ppmc, csat, folds, catgranule_csv: Optional[str], seed: int) -> Dict[str, pd.DataFrame]:
    from scipy.stats import spearmanr

    from .baselines import composition, composition_classifier, composition_regressor

    out = {}
    X = composition(list(ppmc["sequence"]))
    Xc = composition(list(csat["sequence"]))
    rows = []
    for k in range(folds["ppmc"].max() + 1):
        tr, te = folds["ppmc"] != k, folds["ppmc"] == k
        clf = composition_classifier(seed).fit(X[tr], ppmc["label3"].values[tr])
        p = clf.predict_proba(X[te])
        row = {"fold": k, **task_aurocs(ppmc["cls"].values[te], {"p_driver": p[:, 0], "p_client": p[:, 1]})}
        trc, tec = folds["csat"] != k, folds["csat"] == k
        reg = composition_regressor(seed).fit(Xc[trc], csat["log10_csat_uM"].values[trc])
        row["csat_spearman"] = float(spearmanr(reg.predict(Xc[tec]), csat["log10_csat_uM"].values[tec]).correlation)
        rows.append(row)
    out["composition + gradient boosting"] = pd.DataFrame(rows)
    if catgranule_csv and Path(catgranule_csv).exists():
        cg = pd.read_csv(catgranule_csv).drop_duplicates("id").set_index("id")
        for col, name in (("catgranule_distilled", "catGRANULE (PyPI catgranule 1.0.1, default route)"),
                          ("catgranule_paper", "catGRANULE (PyPI catgranule 1.0.1, paper route)")):
            s = ppmc["id"].map(cg[col]).astype(float).values
            rows = []
            for k in range(folds["ppmc"].max() + 1):
                te = folds["ppmc"] == k
                rows.append({"fold": k, **task_aurocs(ppmc["cls"].values[te], {"p_driver": s[te], "p_client": s[te]})})
            out[name] = pd.DataFrame(rows)
    return out


def run_cv(cache_dir, out_dir, variants: Sequence[str] = ("sequence-only", "physics-only", "full"), n_folds: int = 5,
           seed: int = 0, catgranule_csv: Optional[str] = None, only_cached: bool = False, log=sys.stdout,
           config: Optional[dict] = None, ensemble: int = 1) -> pd.DataFrame:
    """Grouped ``n_folds``-fold CV of the baselines and the network variants on the same folds
    (``ensemble`` networks per fold, predictions averaged, as the shipped predictor does).
    Writes ``metrics_<name>.csv`` (per fold), ``oof_<name>.csv``, ``summary.csv`` / ``summary.md``,
    the paired per-fold differences against sequence-only (``paired.md``, when it is among the
    variants) and the learned physics parameters (``physics_parameters.json``) to ``out_dir``."""
    from ..threads import torch_threads

    with torch_threads(1):
        return _run_cv(cache_dir, out_dir, variants, n_folds, seed, catgranule_csv, only_cached, log, config,
                       ensemble)


def _run_cv(cache_dir, out_dir, variants, n_folds, seed, catgranule_csv, only_cached, log, config, ensemble=1):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache = PhysicsCache(cache_dir, PhysicsOptions())
    need_physics = any(VARIANTS[v].get("inputs") != "sequence" for v in variants)
    ppmc, ppmc_ex, csat, csat_ex = load_examples(cache, only_cached=only_cached, log=log, physics=need_physics)
    folds = {"ppmc": grouped_folds(ppmc["label3"].values, ppmc["cluster"].values, n_folds, seed),
             "csat": grouped_folds(csat["censored"].values.astype(int), csat["group"].values, n_folds, seed)}
    pd.DataFrame({"id": ppmc["id"], "cluster": ppmc["cluster"], "cls": ppmc["cls"], "fold": folds["ppmc"]}).to_csv(
        out / "folds_ppmc.csv", index=False)
    metrics = _baselines(ppmc, csat, folds, catgranule_csv, seed)
    params = {}
    for name in variants:
        cfg = TrainConfig(seed=seed, **{**(config or {}), **VARIANTS[name]})
        print(f"[cv] {name}: {asdict(cfg)}", file=log, flush=True)
        m, oof_p, oof_c, hists = cross_validate(cfg, ppmc, ppmc_ex, csat, csat_ex, n_folds, seed, log=log, folds=folds,
                                                attributions=cfg.inputs != "sequence", ensemble=ensemble)
        if hists and "attributions" in hists[-1]:
            a = hists.pop()["attributions"]
            a.insert(1, "id", ppmc["id"].values[a["row"].values])
            a.insert(2, "cls", ppmc["cls"].values[a["row"].values])
            a.to_csv(out / f"attributions_{name.replace(' ', '_').replace('+', 'plus')}.csv", index=False)
        metrics[name] = m
        slug = name.replace(" ", "_").replace("+", "plus")
        pd.DataFrame({"id": ppmc["id"], "cls": ppmc["cls"], "fold": folds["ppmc"], "p_driver": oof_p[:, 0],
                      "p_client": oof_p[:, 1], "p_neither": oof_p[:, 2]}).to_csv(out / f"oof_{slug}.csv", index=False)
        pd.DataFrame({"id": csat["id"], "group": csat["group"], "fold": folds["csat"],
                      "log10_csat_uM_simulated": csat["log10_csat_uM"], "censored": csat["censored"],
                      "predicted": oof_c}).to_csv(out / f"oof_csat_{slug}.csv", index=False)
        params[name] = [{k: h[k] for k in ("w_intra", "w_inter", "temperature")} for h in hists]
        if cfg.finetune:
            for h, p in zip(hists, params[name]):
                st = h["state"]
                p["d_energ"] = st["madrax.d_energ"].numpy().tolist()
                p["d_vdw"] = st["madrax.d_vdw"].numpy().tolist()
        (out / "physics_parameters.json").write_text(json.dumps(params, indent=1))
    for name, m in metrics.items():
        m.to_csv(out / f"metrics_{name.replace(' ', '_').replace('+', 'plus').replace('/', '_')}.csv", index=False)
    summ = summary_table(metrics)
    summ.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text(markdown_table(summ) + "\n")
    if "sequence-only" in metrics and len(variants) > 1:
        paired = paired_table({k: v for k, v in metrics.items() if k in variants}, "sequence-only")
        (out / "paired.md").write_text(markdown_table(paired) + "\n")
        print(paired.to_string(index=False), file=log, flush=True)
    print(summ.to_string(index=False), file=log, flush=True)
    return summ


def train_final(cache_dir, out_path, n_models: int = 5, seed: int = 0, variant: str = "full", log=sys.stdout,
                config: Optional[dict] = None):
    """The shipped predictor: ``n_models`` networks trained on all PPMC proteins and c_sat regions,
    each with early stopping on a different grouped 15 % of the clusters (seeds seed .. seed+n-1);
    predictions average them."""
    from ..threads import torch_threads
    from .predictor import LLPSPredictor

    with torch_threads(1):
        return _train_final(cache_dir, out_path, n_models, seed, variant, log, config, LLPSPredictor)


def _train_final(cache_dir, out_path, n_models, seed, variant, log, config, LLPSPredictor):
    cache = PhysicsCache(cache_dir, PhysicsOptions())
    ppmc, ppmc_ex, csat, csat_ex = load_examples(cache, log=log)
    models, hists = [], []
    for k in range(n_models):
        cfg = TrainConfig(seed=seed + k, **{**(config or {}), **VARIANTS[variant]})
        vp = inner_split(ppmc["cluster"].values, cfg.val_fraction, seed + 1000 + k)
        vc = inner_split(csat["group"].values, cfg.val_fraction, seed + 2000 + k)
        tr = [e for e, v in zip(ppmc_ex, vp) if not v] + [e for e, v in zip(csat_ex, vc) if not v]
        va = [e for e, v in zip(ppmc_ex, vp) if v] + [e for e, v in zip(csat_ex, vc) if v]
        print(f"[train] model {k + 1}/{n_models}: {len(tr)} training, {len(va)} early-stopping examples", file=log,
              flush=True)
        model, hist = train(cfg, tr, va, log=log)
        models.append(model)
        hists.append({"best_epoch": hist["best_epoch"], "best_val": hist["best_val"]})
    meta = {"variant": variant, "seed": seed, "n_models": n_models, "trained": time.strftime("%Y-%m-%d"),
            "data": "PPMC ppmc_train.tsv (Pintado-Grima et al. 2025, MIT) + csat_sim (SIMULATED, von Buelow et al. "
                    "PNAS 2025)", "histories": hists,
            "command": f"openmm-madrax llps train --cache CACHE -o OUT --seed {seed} --models {n_models}"}
    pred = LLPSPredictor(models, PhysicsOptions(), meta)
    pred.save(out_path)
    return pred
