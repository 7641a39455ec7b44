"""Raw-sum r with the site-entropy term (from recorded candidate energies) at several kT (research)."""
import sys
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parent))
import ddg_research as R, ddg_fit as F  # noqa: E402


def pen(s, kT):
    if not isinstance(s, str):
        return 0.0
    e = np.array([float(x) for x in s.split()])
    return float(-kT * np.log(np.mean(np.exp(-e / kT))))


sub, v = sys.argv[1], sys.argv[2]
t = R.table(v, R.subset(sub))
t = t[t.status == "ok"].reset_index(drop=True)
raw = t[F.DDG_COLUMNS].sum(axis=1).values
for kT in (1, 3, 10):
    ent = np.array([pen(a, kT) - pen(b, kT) for a, b in zip(t.mut_cand_e, t.ref_cand_e)])
    tot = raw + ent
    out = {c: (round(np.corrcoef(raw[m], t.ddg_exp[m])[0, 1], 3), round(np.corrcoef(tot[m], t.ddg_exp[m])[0, 1], 3))
           for c, m in [("all", np.ones(len(t), bool))] + [(c, (t.size_class == c).values) for c in ("decrease", "similar", "increase")]
           + [(s, (t.set == s).values) for s in ("guerois", "megascale")] if m.sum() > 10}
    print(v, sub, "kT", kT, "r without/with site entropy:", out)
