"""Forward/reverse pairs with an experimental mutant structure in the Guerois PDB set (issue 17, item 5).

A pair is a Guerois row on entry P (mutation X -> Y at chain:resnum) and another entry Q of the
same protein group whose residue there is Y and whose other residues (common numbering) differ
from P at no more than ``max_other`` positions.  Then ΔΔG(Q: Y -> X) + ΔΔG(P: X -> Y) should be 0.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ddg_data  # noqa: E402


def residue_map(path):
    out = {}
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("ENDMDL"):
            break
        if line.startswith("ATOM") and line[12:16].strip() == "CA":
            key = (line[21], int(line[22:26]), line[26].strip())
            out.setdefault(key, ddg_data.THREE_TO_ONE.get(line[17:20].strip(), "X"))
    return out


def find_pairs(max_other: int = 0):
    d = ddg_data.dataset()
    g = d[(d["set"] == "guerois") & (d["n_points"] == 1)]
    maps = {}
    pairs = []
    for r in g.itertuples():
        body = r.mutant.split(":", 1)[1]
        chain = r.mutant.split(":")[0]
        wt, mut, num = body[0], body[-1], body[1:-1]
        icode = num[-1] if num[-1].isalpha() else ""
        resnum = int(num[:-1] if icode else num)
        others = sorted(set(d.loc[(d["group"] == r.group) & (d["set"] == "guerois"), "pdb"]) |
                        {p.stem for p in (ddg_data.GUEROIS_DIR / "pdbs").glob("*.pdb")
                         if ddg_data.sequence_groups({p.stem: p, r.pdb: Path(r.pdb_path)})[p.stem] ==
                         ddg_data.sequence_groups({p.stem: p, r.pdb: Path(r.pdb_path)})[r.pdb]} if False else
                        set(d.loc[d["group"] == r.group, "pdb"]))
        for q in others:
            if q == r.pdb:
                continue
            for name in (r.pdb, q):
                if name not in maps:
                    maps[name] = residue_map(ddg_data.GUEROIS_DIR / "pdbs" / f"{name}.pdb")
            mp, mq = maps[r.pdb], maps[q]
            key = (chain, resnum, icode)
            if mp.get(key) != wt or mq.get(key) != mut:
                continue
            common = set(mp) & set(mq)
            diff = [k for k in common if k != key and mp[k] != mq[k]]
            if len(common) > 0.9 * min(len(mp), len(mq)) and len(diff) <= max_other:
                pairs.append({"id": r.id, "pdb_P": r.pdb, "pdb_Q": q, "mutant_P": r.mutant,
                              "mutant_Q": f"{chain}:{mut}{resnum}{icode}{wt}", "ddg_exp_P": r.ddg_exp,
                              "n_other_diff": len(diff)})
    return pairs


if __name__ == "__main__":
    import pandas as pd

    p = pd.DataFrame(find_pairs())
    print(p.to_string())
