"""Training and grouped cross-validation of :class:`~openmm_madrax.llps.model.LLPSNet`.

Data: the PPMC training table (classification: driver = DE or C_D, client-only = CE, neither = NP
or ND) and the SIMULATED c_sat regions (``csat_sim``, CALVADOS 2; regression of log10 c_sat in uM,
non-phase-separating slabs as lower bounds).  Every split is grouped: PPMC by homology
``cluster`` (stratified by class), c_sat by :func:`~openmm_madrax.llps.data.csat_groups`; early
stopping uses a grouped validation part of the training clusters, never the test fold.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from .data import grouped_folds
from .inputs import ProteinInput
from .model import Batch, LLPSNet, make_batch

#: AUROC tasks of the README table: (name, positive classes, negative classes, score)
TASKS = (("DE vs ND", ("DE",), ("ND",), "p_driver"),
         ("DE vs NP", ("DE",), ("NP",), "p_driver"),
         ("DE vs NP+ND", ("DE",), ("NP", "ND"), "p_driver"),
         ("DE vs CE", ("DE",), ("CE",), "p_driver"),
         ("CE vs NP+ND", ("CE",), ("NP", "ND"), "p_client"))


@dataclass
class TrainConfig:
    width: int = 32
    heads: int = 4
    kernel: int = 5
    dilations: Tuple[int, ...] = (1, 2, 4)
    pool: int = 4
    rounds: Optional[int] = None
    dropout: float = 0.1
    inputs: str = "full"
    finetune: bool = False
    epochs: int = 20
    patience: int = 4
    lr: float = 2e-3
    weight_decay: float = 1e-2
    batch_size: int = 16
    crop: int = 1000
    csat_weight: float = 0.5
    finetune_weight: float = 0.01  # x MadraXParameters.penalty() per batch
    val_fraction: float = 0.15
    seed: int = 0

    def model(self) -> LLPSNet:
        return LLPSNet(width=self.width, heads=self.heads, kernel=self.kernel, dilations=self.dilations,
                       dropout=self.dropout, inputs=self.inputs, finetune=self.finetune, pool=self.pool,
                       rounds=self.rounds)


@dataclass
class Example:
    inp: ProteinInput
    label3: int = -1  # -1: no class label (c_sat example)
    log10_csat: float = float("nan")
    censored: bool = False
    #: loss weight: 1 / sqrt(size of the protein's homology cluster), so that the few very large
    #: families (91, 96 proteins) do not dominate what the network learns about new families
    weight: float = 1.0


def _batches(examples: Sequence[Example], batch_size: int, rng: Optional[np.random.Generator], crop: Optional[int],
             coefficients: bool, physics: bool = True) -> List[Tuple[Batch, np.ndarray]]:
    """Length-sorted batches (shuffled order of batches when ``rng``); training crops long proteins
    to a random window of ``crop`` residues."""
    lens = np.array([e.inp.length for e in examples])
    order = np.argsort(lens, kind="stable")
    if rng is not None:  # shuffle within similar lengths
        order = np.argsort(lens + rng.random(len(lens)) * 50.0, kind="stable")
    groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(groups)
    out = []
    for g in groups:
        crops = []
        for i in g:
            L = lens[i]
            if crop is not None and rng is not None and L > crop:
                s = int(rng.integers(0, L - crop + 1))
                crops.append(slice(s, s + crop))
            else:
                crops.append(slice(0, L))
        ex = [examples[i] for i in g]
        out.append((make_batch([e.inp.seq_feats for e in ex], [e.inp.profile for e in ex], coefficients, crops,
                               [e.inp.glob for e in ex], physics=physics), g))
    return out


def _loss(model: LLPSNet, out: Dict[str, torch.Tensor], ex: Sequence[Example], class_weight: torch.Tensor,
          cfg: TrainConfig) -> torch.Tensor:
    y = torch.as_tensor([e.label3 for e in ex])
    has = y >= 0
    loss = torch.zeros(())
    if bool(has.any()):
        w = torch.as_tensor([e.weight for e in ex], dtype=torch.float32)[has]
        ce = nn.functional.cross_entropy(out["logits"][has], y[has], reduction="none")
        cw = class_weight[y[has]] * w
        loss = loss + (ce * cw).sum() / cw.sum()
    c = torch.as_tensor([e.log10_csat for e in ex], dtype=torch.float32)
    cens = torch.as_tensor([e.censored for e in ex])
    hasc = torch.isfinite(c)
    if bool(hasc.any()):
        pred = out["log10_csat"]
        err = pred - c
        # censored (no phase separation in the slab): only predictions below the bound count
        err = torch.where(cens, torch.clamp(err, max=0.0), err)
        from .model import CSAT_SCALE

        loss = loss + cfg.csat_weight * ((err[hasc] / CSAT_SCALE) ** 2).mean()
    if model.finetune:
        loss = loss + cfg.finetune_weight * model.madrax.penalty()
    return loss


def predict(model: LLPSNet, examples: Sequence[Example], batch_size: int = 16) -> Dict[str, np.ndarray]:
    """Probabilities (N, 3) and log10 c_sat (N,) in the order of ``examples`` (eval mode)."""
    model.eval()
    probs = np.zeros((len(examples), 3))
    csat = np.zeros(len(examples))
    with torch.no_grad():
        for batch, idx in _batches(examples, batch_size, None, None, model.finetune, model.inputs != "sequence"):
            out = model(batch)
            probs[idx] = torch.softmax(out["logits"], -1).numpy()
            csat[idx] = out["log10_csat"].numpy()
    return {"probs": probs, "log10_csat": csat}


def _val_loss(model: LLPSNet, val: Sequence[Example], class_weight, cfg, batches=None) -> float:
    if not val:
        return float("nan")
    model.eval()
    tot, n = 0.0, 0
    if batches is None:
        batches = _batches(val, cfg.batch_size, None, None, model.finetune, model.inputs != "sequence")
    with torch.no_grad():
        for batch, idx in batches:
            ex = [val[i] for i in idx]
            tot += float(_loss(model, model(batch), ex, class_weight, cfg)) * len(idx)
            n += len(idx)
    return tot / max(n, 1)


def train(cfg: TrainConfig, train_ex: Sequence[Example], val_ex: Sequence[Example], log=None) -> Tuple[LLPSNet, dict]:
    """Train on ``train_ex`` (class and c_sat examples mixed), early stopping on the loss of
    ``val_ex``; returns the best model and the history."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = cfg.model()
    labels = np.array([e.label3 for e in train_ex])
    counts = np.array([(labels == k).sum() for k in range(3)], float)
    class_weight = torch.as_tensor(counts.sum() / (3.0 * np.maximum(counts, 1.0)), dtype=torch.float32)
    # physics standardisation from the training proteins (fixed afterwards)
    phys = model.inputs != "sequence"
    std_batches = [b for b, _ in _batches(train_ex, 64, None, None, False, phys)]
    model.fit_standardisation(std_batches)
    # no weight decay on the physics parameters: the channel weights start at MadraX's 1.0 and the
    # MadraX parameter changes have their own prior (MadraXParameters.penalty)
    physics = {id(p) for p in (model.w_intra, model.w_inter, model.log_temperature, *model.madrax.parameters())}
    decay = [p for p in model.parameters() if p.requires_grad and id(p) not in physics]
    keep = [p for p in model.parameters() if p.requires_grad and id(p) in physics]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": keep, "weight_decay": 0.0}], lr=cfg.lr)
    best, best_state, bad = float("inf"), copy.deepcopy(model.state_dict()), 0
    hist = {"train": [], "val": [], "epoch_seconds": []}
    # the training batches are built once (length buckets, a random crop of the long proteins),
    # then visited in a new random order every epoch: building them is most of an epoch's cost
    train_batches = _batches(train_ex, cfg.batch_size, rng, cfg.crop, model.finetune, phys)
    val_batches = _batches(val_ex, cfg.batch_size, None, None, model.finetune, phys) if val_ex else []
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        model.train()
        tot = 0.0
        for j in rng.permutation(len(train_batches)):
            batch, idx = train_batches[j]
            ex = [train_ex[i] for i in idx]
            opt.zero_grad()
            loss = _loss(model, model(batch), ex, class_weight, cfg)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            with torch.no_grad():
                model.log_temperature.clamp_(math.log(0.05), math.log(20.0))
            tot += float(loss.detach()) * len(idx)
        v = _val_loss(model, val_ex, class_weight, cfg, val_batches)
        hist["train"].append(tot / len(train_ex))
        hist["val"].append(v)
        hist["epoch_seconds"].append(time.perf_counter() - t0)
        if log is not None:
            print(f"    epoch {epoch + 1}: train {hist['train'][-1]:.4f} val {v:.4f} "
                  f"({hist['epoch_seconds'][-1]:.0f} s)", file=log, flush=True)
        if v < best - 1e-4:
            best, best_state, bad = v, copy.deepcopy(model.state_dict()), 0
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    model.load_state_dict(best_state)
    hist["best_val"] = best
    hist["best_epoch"] = int(np.nanargmin(hist["val"])) + 1 if hist["val"] else 0
    return model, hist


# ----------------------------------------------------------------------------------------------
# metrics


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Mann-Whitney AUROC (ties count one half)."""
    pos = np.asarray(pos, float)
    neg = np.asarray(neg, float)
    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    allv = np.concatenate([pos, neg])
    ranks = pd.Series(allv).rank().values
    rp = ranks[:len(pos)].sum()
    return float((rp - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def task_aurocs(cls: np.ndarray, scores: Dict[str, np.ndarray]) -> Dict[str, float]:
    out = {}
    for name, pos, neg, key in TASKS:
        s = scores[key]
        out[name] = auroc(s[np.isin(cls, pos)], s[np.isin(cls, neg)])
    return out


def mean_ci(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and the half-width of the 95 % t interval over folds."""
    from scipy import stats

    v = np.asarray([x for x in values if np.isfinite(x)], float)
    if len(v) < 2:
        return (float(v.mean()) if len(v) else float("nan"), float("nan"))
    return float(v.mean()), float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))


def inner_split(groups: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of a grouped validation part (whole groups, about ``fraction`` of rows)."""
    rng = np.random.default_rng(seed)
    uniq = rng.permutation(np.unique(groups))
    target = fraction * len(groups)
    val = set()
    n = 0
    sizes = pd.Series(groups).value_counts()
    for g in uniq:
        if n >= target:
            break
        val.add(g)
        n += int(sizes[g])
    return np.isin(groups, list(val))


# ----------------------------------------------------------------------------------------------
# data and cross-validation


def load_examples(cache, only_cached: bool = False, log=None, physics: bool = True):
    """(PPMC table, PPMC examples, c_sat table, c_sat examples) from ``../shared`` and the physics
    cache (``only_cached``: skip proteins whose profile is not in the cache yet; ``physics=False``:
    zero profiles, for the sequence-only network and baselines, which never read them)."""
    from .data import csat_table, ppmc_table
    from .inputs import InputBuilder
    from .sequences import clean_sequence, physics_sequence

    builder = InputBuilder(cache)
    out = []
    for table, kind in ((ppmc_table(), "ppmc"), (csat_table(), "csat")):
        seqs = [clean_sequence(s, i) for i, s in zip(table["id"], table["sequence"])]
        keep = np.ones(len(seqs), bool)
        if only_cached:
            keep = np.array([cache.get(physics_sequence(s)) is not None for s in seqs])
        table = table[keep].reset_index(drop=True)
        seqs = [s for s, k in zip(seqs, keep) if k]
        inputs = builder.build(list(table["id"]), seqs, physics=physics)
        if kind == "ppmc":
            size = table["cluster"].map(table["cluster"].value_counts()).values
            ex = [Example(inp, label3=int(l), weight=float(1.0 / np.sqrt(n)))
                  for inp, l, n in zip(inputs, table["label3"], size)]
        else:
            ex = [Example(inp, log10_csat=float(c), censored=bool(z))
                  for inp, c, z in zip(inputs, table["log10_csat_uM"], table["censored"])]
        out += [table, ex]
        if log is not None:
            print(f"[data] {kind}: {len(ex)} proteins", file=log, flush=True)
    return tuple(out)


def cross_validate(cfg: TrainConfig, ppmc: pd.DataFrame, ppmc_ex: Sequence[Example], csat: pd.DataFrame,
                   csat_ex: Sequence[Example], n_folds: int = 5, seed: int = 0, log=None, folds=None,
                   attributions: bool = False, ensemble: int = 1):
    """Grouped ``n_folds``-fold CV.  Fold k: train on the other folds of both sets (early stopping on
    a grouped 15 % of the training clusters), test on fold k.  With ``ensemble`` > 1, that many
    networks per fold (model seeds and early-stopping splits differ, as in the shipped predictor)
    and their averaged predictions are scored.  Returns (per-fold metrics DataFrame, out-of-fold
    PPMC predictions, out-of-fold c_sat predictions, histories of the first network per fold)."""
    from scipy.stats import spearmanr

    pf = folds["ppmc"] if folds is not None else grouped_folds(ppmc["label3"].values, ppmc["cluster"].values, n_folds, seed)
    cf = folds["csat"] if folds is not None else grouped_folds(csat["censored"].values.astype(int), csat["group"].values,
                                                                 n_folds, seed)
    oof_p = np.full((len(ppmc), 3), np.nan)
    oof_c = np.full(len(csat), np.nan)
    rows, hists, attrs = [], [], []
    for k in range(n_folds):
        t0 = time.perf_counter()
        tr_p = np.nonzero(pf != k)[0]
        tr_c = np.nonzero(cf != k)[0]
        te_p = np.nonzero(pf == k)[0]
        te_c = np.nonzero(cf == k)[0]
        probs, csats, n_epochs = [], [], 0
        for j in range(max(1, int(ensemble))):
            vmask_p = inner_split(ppmc["cluster"].values[tr_p], cfg.val_fraction, seed + 100 + k + 1000 * j)
            vmask_c = inner_split(csat["group"].values[tr_c], cfg.val_fraction, seed + 200 + k + 1000 * j)
            train_ex = [ppmc_ex[i] for i in tr_p[~vmask_p]] + [csat_ex[i] for i in tr_c[~vmask_c]]
            val_ex = [ppmc_ex[i] for i in tr_p[vmask_p]] + [csat_ex[i] for i in tr_c[vmask_c]]
            fold_cfg = copy.copy(cfg)
            fold_cfg.seed = cfg.seed + k + 1000 * j
            m_j, h_j = train(fold_cfg, train_ex, val_ex, log=log)
            if j == 0:
                model, hist = m_j, h_j
            n_epochs += len(h_j["train"])
            probs.append(predict(m_j, [ppmc_ex[i] for i in te_p])["probs"])
            csats.append(predict(m_j, [csat_ex[i] for i in te_c])["log10_csat"])
        pr = {"probs": np.mean(probs, axis=0)}
        pc = {"log10_csat": np.mean(csats, axis=0)}
        oof_p[te_p] = pr["probs"]
        oof_c[te_c] = pc["log10_csat"]
        scores = {"p_driver": pr["probs"][:, 0], "p_client": pr["probs"][:, 1]}
        if attributions:
            a = attribution_summary(model, [ppmc_ex[i] for i in te_p])
            a.insert(0, "row", te_p)
            attrs.append(a)
        row = {"fold": k, **task_aurocs(ppmc["cls"].values[te_p], scores)}
        row["csat_spearman"] = float(spearmanr(pc["log10_csat"], csat["log10_csat_uM"].values[te_c]).correlation)
        row["epochs"] = n_epochs / max(1, int(ensemble))
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
        hists.append({"hist": hist, "w_intra": model.w_intra.detach().numpy().tolist(),
                      "w_inter": model.w_inter.detach().numpy().tolist(),
                      "temperature": float(model.temperature), "state": model.state_dict()})
        if log is not None:
            print(f"[cv] {cfg.inputs} fold {k}: " + ", ".join(f"{a}={b:.3f}" for a, b in row.items() if a != "fold"),
                  file=log, flush=True)
    if attributions:
        hists.append({"attributions": pd.concat(attrs).sort_values("row").reset_index(drop=True)})
    return pd.DataFrame(rows), oof_p, oof_c, hists


def paired_table(metrics: Dict[str, pd.DataFrame], reference: str, columns=None) -> pd.DataFrame:
    """Per-fold differences (model - ``reference``) on the same folds: mean and 95 % CI; a
    difference whose interval excludes 0 is larger than the fold-to-fold noise."""
    cols = columns or [t[0] for t in TASKS] + ["csat_spearman"]
    ref = metrics[reference].set_index("fold")
    rows = []
    for name, df in metrics.items():
        if name == reference or "fold" not in df:
            continue
        d = df.set_index("fold")
        row = {"model": f"{name} - {reference}"}
        for c in cols:
            if c in d and c in ref:
                m, h = mean_ci((d[c] - ref[c]).values)
                row[c] = f"{m:+.3f} ± {h:.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


def summary_table(metrics: Dict[str, pd.DataFrame], columns=None) -> pd.DataFrame:
    """Mean and 95 % CI over folds per model and task."""
    cols = columns or [t[0] for t in TASKS] + ["csat_spearman"]
    rows = []
    for name, df in metrics.items():
        row = {"model": name}
        for c in cols:
            if c in df:
                m, h = mean_ci(df[c].values)
                row[c] = f"{m:.3f} ± {h:.3f}"
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(df: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """A GitHub markdown table (no dependency on ``tabulate``)."""
    def fmt(v):
        if isinstance(v, float):
            return "" if not np.isfinite(v) else format(v, floatfmt)
        return str(v)

    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(fmt(v) for v in r.values) + " |")
    return "\n".join(lines)


def attribution_summary(model: LLPSNet, examples: Sequence[Example]) -> pd.DataFrame:
    """Per protein: gradient x input of log p_driver summed per physics feature (``phys_<name>``)
    and per residue type over all per-residue inputs (``aa_<letter>``), for held-out proteins."""
    from .model import PHYS_FEATURES
    from .sequences import ALPHABET

    model.eval()
    rows = []
    for e in examples:
        inp = e.inp
        batch = make_batch([inp.seq_feats], [inp.profile], glob=[inp.glob], physics=model.inputs != "sequence")
        x = {k: v.detach().requires_grad_(True) for k, v in model.residue_inputs(batch).items()}
        out = model.trunk(x, batch)
        logp = torch.log_softmax(out["logits"], -1)[0, 0]
        grads = torch.autograd.grad(logp, list(x.values()))
        row = {}
        per_res = np.zeros(inp.length)
        for (k, v), g in zip(x.items(), grads):
            gi = (g * v)[0].detach().numpy()
            per_res += gi.sum(-1)
            if k == "phys":
                for j, name in enumerate(PHYS_FEATURES):
                    row[f"phys_{name}"] = float(gi[:, j].sum())
        letters = np.array([ALPHABET[i] for i in inp.seq_feats[:, :21].argmax(1)])
        for c in ALPHABET:
            row[f"aa_{c}"] = float(per_res[letters == c].sum())
        rows.append(row)
    return pd.DataFrame(rows)
