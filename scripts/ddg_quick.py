"""Quick comparison of variants on a subset: raw-sum Pearson r overall and per protein (research)."""
import sys
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parent))
import ddg_research as R, ddg_fit as F  # noqa: E402

sub = sys.argv[1]
variants = sys.argv[2:]
rows = R.subset(sub)
tabs = {v: R.table(v, rows) for v in variants}
common = set.intersection(*[set(t.loc[t["status"] == "ok", "id"]) for t in tabs.values()])
for v, t in tabs.items():
    t = t[t["id"].isin(common)]
    raw = t[F.DDG_COLUMNS].sum(1)
    per = {p: round(np.corrcoef(raw[g.index], g["ddg_exp"])[0, 1], 3) for p, g in t.groupby("pdb") if len(g) > 20}
    cls = {c: round(np.corrcoef(raw[g.index], g["ddg_exp"])[0, 1], 3) for c, g in t.groupby("size_class")}
    print(f"{v:5s} n={len(t)} r={np.corrcoef(raw, t['ddg_exp'])[0, 1]:.3f} mean={raw.mean():.2f} per-protein {per} per-class {cls}")
