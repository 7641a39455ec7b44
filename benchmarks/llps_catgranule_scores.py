"""catGRANULE scores of the PPMC training proteins (benchmark-only baseline for docs/llps.md).

Runs under Python >= 3.12 with the PyPI package ``catgranule`` (1.0.1) in its own virtual
environment, outside the project (the package needs Python >= 3.12, the project pins 3.11):

    /root/.pyenv/versions/3.12.1/bin/python -m venv /work/venv312
    /work/venv312/bin/pip install catgranule
    /work/venv312/bin/python benchmarks/llps_catgranule_scores.py ../shared/data/llps/ppmc_train.tsv -o OUT.csv

Writes ``id, catgranule_distilled, catgranule_paper`` per protein: the package's default route
(``distilled``: an XGBoost surrogate of the PhaSePred web-archive catGRANULE score) and its
``paper`` route (the closed-form Bolognesi et al. 2016 recipe).  Both run offline.  Note that
this package is a third-party reconstruction of catGRANULE (Bolognesi et al., Cell Rep 2016),
not the Tartaglia lab's server, and not catGRANULE 2.0.
"""
import argparse
import csv
import sys

import catgranule


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    with open(a.tsv) as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    with open(a.out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "catgranule_distilled", "catgranule_paper", "catgranule_version"])
        for k, r in enumerate(rows):
            seq = r["Full.seq"].strip().upper()
            out = []
            for route in (None, "paper"):
                try:
                    out.append(catgranule.score_sequence(seq, route=route)["single"])
                except Exception as exc:  # e.g. letters the scales do not cover
                    print(f"{r['UniProt.Acc']}: {exc}", file=sys.stderr)
                    out.append("")
            w.writerow([r["UniProt.Acc"], *out, catgranule.__version__])
            if (k + 1) % 200 == 0:
                print(f"{k + 1}/{len(rows)}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
