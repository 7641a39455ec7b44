"""Calibrated grouped-CV with the site-entropy feature recomputed at several kT (research)."""
import sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import ddg_research as R, ddg_fit as F  # noqa: E402
from ddg_entropy_check import pen  # noqa: E402

sub, v = sys.argv[1], sys.argv[2]
t = R.table(v, R.subset(sub))
t = t[t.status == "ok"].sort_values("id").reset_index(drop=True)
fold = F.folds_for(t)
for kT in (0, 1, 3, 10):
    t["ddg_site_entropy"] = [pen(a, kT) - pen(b, kT) for a, b in zip(t.mut_cand_e, t.ref_cand_e)] if kT else 0.0
    feats = F.FEATURES if kT else F.DDG_COLUMNS
    pred, al = F.cv_predict(t, fold, features=feats)
    s = F.summary(t, pred, fold)
    print(f"kT {kT}: " + "  ".join(f"{k}: r {s.loc[k, 'r']:.3f} rmse {s.loc[k, 'rmse']:.2f} mean {s.loc[k, 'mean_pred']:+.2f}/{s.loc[k, 'mean_exp']:+.2f}"
                                 for k in ("all", "guerois", "megascale", "size increase")))
