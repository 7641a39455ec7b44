"""The messy real-world structures of shared/data/structures (MANIFEST.tsv): each one either
scores to a finite energy after the opt-in documented for it in docs/input.md, or raises a
StructureError with a specific message; plus the reference preprocessing (preprocess="madrax")
reproduces the scored inputs of spec/reference/inputs from their original files."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import openmm_madrax as omx
from openmm_madrax import MadraXWarning, StructureError
from openmm_madrax.structure.records import read_pdb

from helpers import SHARED

STRUCTURES = SHARED / "data" / "structures"
REFERENCE_INPUTS = SHARED / "spec" / "reference" / "inputs"

if not STRUCTURES.is_dir():  # pragma: no cover - depends on the checkout
    pytest.skip(f"shared structures not found at {STRUCTURES}", allow_module_level=True)

FIRST = {"altloc": "first"}
DROP = {"drop_nonstandard": True}
REPAIR = {"repair": True}

# file -> (fragment of the default error or None if the default scores,
#          opt-in load options, residues scored with them, fragment of a warning they give)
CASES = {
    "af_llps/AF-O60885-F1-model_v2.pdb": (None, {}, 1362, None),
    "af_llps/AF-P45973-F1-model_v2.pdb": (None, {}, 191, None),
    "af_llps/AF-Q14781-F1-model_v2.pdb": (None, {}, 532, None),
    "af_llps/CALVADOS_AF-P00698.pdb": (None, {}, 147, None),
    "af_llps/CALVADOS_TIA1.pdb": (None, {}, 275, None),
    "af_llps/CALVADOS_hnRNPA1S.pdb": (None, {}, 314, None),
    "complexes/1a28_PR_dimer_steroid.pdb": (
        "5 residue(s) miss heavy atoms: A:GLN682 (line 430) lacks CD CG NE2 OE1", REPAIR, 500,
        "added missing heavy atoms in 5 residue(s)"),
    "complexes/1bd2_TCR_pMHC.cif": ("55 residue(s) miss heavy atoms: A:ARG17 (line 4135)", REPAIR, 815,
                                    "added missing heavy atoms in 55 residue(s)"),
    "complexes/1hvr_hivpr_dimer_XK2.pdb": (
        "2 nonstandard residue(s) in the protein: A:CSO67 (line 1017), B:CSO67 (line 1940)", DROP, 196,
        "dropped 2 nonstandard residue(s): A:CSO67, B:CSO67"),
    "complexes/1k6p_hivpr_dimer_altloc.pdb": (
        "8 residue(s) have more than one alternate location: A:ILE50 (altlocs 1/2, line 799)",
        {**FIRST, **REPAIR}, 198, "A:ARG41 (CG CD NE CZ NH1 NH2)"),
    "complexes/3kpr_TCR_pMHC_x2.cif": (None, {}, 1652, "ignored 116 waters"),
    "large/1igy_IgG1_glycans.pdb": (None, {}, 1294, "18 ligand/ion/glycan residues (NAG x6, MAN x4"),
    "large/3o21.pdb": ("13 residue(s) miss heavy atoms: A:ARG14 (line 832)", REPAIR, 1489,
                       "added missing heavy atoms in 13 residue(s)"),
    "large/3p3w_missing_atoms.pdb": ("129 residue(s) miss heavy atoms: A:ARG14 (line 1444)", REPAIR, 1482,
                                     "added missing heavy atoms in 129 residue(s)"),
    "large/3wip_10chains_altloc.pdb": ("31 residue(s) have more than one alternate location: A:ARG3 (altlocs "
                                       "A/B, line 1480)", FIRST, 2023, "407 waters and 33 ligand/ion/glycan"),
    "large/4jsv_missing250.pdb": (None, {}, 2750, "8 ligand/ion/glycan residues (MG x4, ADP x2, MGF x2)"),
    "large/6msm_CFTR_cryoEM_UNK.pdb": ("17 nonstandard residue(s) in the protein: B:UNK1 (line 10272)", DROP,
                                       1181, "dropped 17 nonstandard residue(s): B:UNK1"),
    "large/7cth.cif": ("3 residue(s) have more than one alternate location: B:VAL130 (altlocs A/B, line 10767)",
                       {**FIRST, **REPAIR}, 2157, "M:ALA107 (CB)"),
    "medium/1aki_lysozyme.pdb": (None, {}, 129, "ignored 78 waters"),
    "medium/1bhl_missing_res_CAS.pdb": ("2 nonstandard residue(s) in the protein: A:CAS65 (line 462)", DROP, 133,
                                        "dropped 2 nonstandard residue(s): A:CAS65, A:CAS130"),
    "medium/1dix.pdb": (None, {}, 208, "ignored 136 waters"),
    "medium/1o1z_altloc_missing.pdb": ("13 residue(s) have more than one alternate location", {**FIRST, **REPAIR},
                                       226, "A:HIS-1 (CG ND1 CE1 NE2 CD2)"),
    "medium/1ubi_ubiquitin.pdb": (None, {}, 76, "ignored 81 waters"),
    "medium/3o5r_fk506_altloc.pdb": ("27 residue(s) have more than one alternate location", {**FIRST, **REPAIR},
                                     128, "A:GLU140 (CG CD OE1 OE2)"),
    "nmr/1gya_glyco_nmr18.pdb": (None, {}, 105, "18 models; using model 1 only"),
    "nmr/1l2y_trpcage_nmr38.pdb": (None, {}, 20, "38 models; using model 1 only"),
    "nmr/2k39_ubiquitin_nmr15.pdb": (None, {}, 76, "15 models; using model 1 only"),
    "nmr/neopetrosiamide_nmr24.pdb": ("1 nonstandard residue(s) in the protein: A:SME24 (line 582)", REPAIR, 28,
                                      "A:SME24 -> MET (removed S OE, added SD)"),
    "small/1ejg_crambin_altloc.pdb": ("17 residue(s) have more than one alternate location: A:THR1 (altlocs A/B, "
                                      "line 316)", FIRST, 46, "kept one alternate location in 17 residue(s)"),
    "small/5a7u_zn.pdb": ("1 residue(s) miss heavy atoms: A:CYS11 (line 440) lacks SG", REPAIR, 27,
                          "A:CYS11 (SG)"),
    "small/5pti_bpti.cif": ("2 residue(s) have more than one alternate location: A:GLU7 (altlocs A/B, line 1811), "
                            "A:MET52 (altlocs A/B, line 2521)", FIRST, 58, "PO4, UNX"),
    "small/villin_HP36_1vii_3frames.pdb": (None, {}, 36, "3 models; using model 0 only"),
}
# PDBFixer repairs of >50 residues take tens of seconds on 2 cores
SLOW = {"complexes/1bd2_TCR_pMHC.cif", "large/3p3w_missing_atoms.pdb"}
# the energy of every structure is in docs/input.md; the tests score the ones up to this size (the
# preparation of the larger ones is checked in full, their energy evaluation is the energy tests' job)
SCORE_MAX_RESIDUES = 600


def _params():
    out = []
    for name, case in CASES.items():
        marks = [pytest.mark.slow] if name in SLOW else []
        out.append(pytest.param(name, *case, marks=marks, id=name.split("/")[1].split(".")[0]))
    return out


def test_every_manifest_file_is_covered():
    listed = [line.split("\t")[0] for line in (STRUCTURES / "MANIFEST.tsv").read_text().splitlines()[1:] if line]
    assert sorted(listed) == sorted(CASES)


def _load(name, **kwargs):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s = omx.load(STRUCTURES / name, **kwargs)
    msgs = [str(w.message) for w in rec if issubclass(w.category, MadraXWarning)]
    return s, msgs


@pytest.mark.parametrize("name,default_error,options,n_residues,warning", _params())
def test_messy_structure(name, default_error, options, n_residues, warning):
    if default_error is not None:
        with pytest.raises(StructureError) as exc:
            omx.load(STRUCTURES / name, quiet=True)
        assert default_error in str(exc.value)
        assert str(exc.value).startswith(str(STRUCTURES / name))
    s, msgs = _load(name, **options)
    assert s.n_residues == n_residues
    # one warning per category: never two messages of the same kind
    kinds = [m.split(":")[1] if m.startswith("/") else m.split(":")[0] for m in msgs]
    assert len(kinds) == len(set(kinds)), msgs
    if warning is not None:
        assert any(warning in m for m in msgs), msgs
    else:
        assert not msgs
    if options.get("repair"):
        # atoms of the input keep their input index, atoms added by PDBFixer have -1
        assert (s.source_index >= 0).sum() + (s.source_index == -1).sum() == s.n_atoms
        assert len(set(s.source_index[s.source_index >= 0].tolist())) == (s.source_index >= 0).sum()
    assert np.isfinite(s.coords).all() and s.n_atoms == len(s.source_index)
    if n_residues <= SCORE_MAX_RESIDUES:
        df = omx.score(s, torsions=False)
        assert math.isfinite(df.attrs["total"]) and np.isfinite(df.iloc[:, 3:].to_numpy(float)).all()
        assert len(df) == n_residues


def test_unk_cannot_be_repaired_but_can_be_dropped():
    path = STRUCTURES / "large/6msm_CFTR_cryoEM_UNK.pdb"
    with pytest.raises(StructureError) as exc:
        omx.load(path, repair=True)
    msg = str(exc.value)
    assert "17 nonstandard residue(s) that PDBFixer cannot replace" in msg and "B:UNK1 (line 10272)" in msg
    assert "drop_nonstandard=True" in msg and "--repair" not in msg
    s = omx.load(path, repair=True, drop_nonstandard=True, quiet=True)
    assert s.n_residues == 1181 and s.dropped["nonstandard"][0] == "B:UNK1"


def test_modified_residues_replaced_by_repair():
    s = omx.load(STRUCTURES / "complexes/1hvr_hivpr_dimer_XK2.pdb", repair=True, quiet=True)
    cys = [r for r in s.residues if r.resseq == 67]
    assert [(r.chain_id, r.resname, r.input_resname) for r in cys] == [("A", "CYS", "CSO"), ("B", "CYS", "CSO")]
    assert s.dropped["replaced"] == ["A:CSO67 -> CYS (removed OD)", "B:CSO67 -> CYS (removed OD)"]
    s = omx.load(STRUCTURES / "medium/1bhl_missing_res_CAS.pdb", repair=True, quiet=True)
    assert s.n_residues == 135 and "A:CAS65 -> CYS (removed AS CE1 CE2)" in s.dropped["replaced"]


def test_nmr_model_selection():
    path = STRUCTURES / "nmr/1l2y_trpcage_nmr38.pdb"
    first = omx.load(path, quiet=True)
    last = omx.load(path, model=38, quiet=True)
    assert first.atom_names == last.atom_names and not np.allclose(first.coords, last.coords)
    assert last.model == 38 and last.n_models == 38
    with pytest.raises(StructureError, match="model 39 not found"):
        omx.load(path, model=39)


def test_insertion_codes_and_negative_numbers_survive():
    s = omx.load(STRUCTURES / "large/1igy_IgG1_glycans.pdb", quiet=True)
    labels = {(r.chain_id, r.resseq, r.icode) for r in s.residues}
    assert ("B", 82, "A") in labels and ("B", 82, "B") in labels and ("B", 82, "C") in labels
    s = omx.load(STRUCTURES / "medium/1o1z_altloc_missing.pdb", altloc="first", repair=True, quiet=True)
    assert s.residues[0].resseq < 0


def test_openmm_and_mdtraj_inputs_match_the_file():
    from openmm.app import PDBFile

    md = pytest.importorskip("mdtraj")
    path = STRUCTURES / "medium/1ubi_ubiquitin.pdb"
    ref = omx.score(path, torsions=False, quiet=True).attrs["total"]
    pdb = PDBFile(str(path))
    assert omx.score(pdb.topology, pdb.positions, torsions=False, quiet=True).attrs["total"] == \
        pytest.approx(ref, abs=1e-9)
    # mdtraj stores float32 nm: agreement to float32 rounding of the coordinates
    assert omx.score(md.load(str(path)), torsions=False, quiet=True).attrs["total"] == pytest.approx(ref, abs=0.05)


def test_cli_with_opt_ins(tmp_path, capsys):
    from openmm_madrax.cli import main

    path = STRUCTURES / "complexes/1hvr_hivpr_dimer_XK2.pdb"
    assert main(["score", str(path)]) == 2
    err = capsys.readouterr().err
    assert "openmm-madrax: error:" in err and "A:CSO67 (line 1017)" in err and "--drop-nonstandard" in err
    out = tmp_path / "out.csv"
    assert main(["score", str(path), "--drop-nonstandard", "-o", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 1 + 196


# ------------------------------------------------------------------------------------------------
# reference preprocessing


@pytest.mark.parametrize("original,reference", [
    ("medium/1ubi_ubiquitin.pdb", "1UBI.pdb"),
    ("medium/1bhl_missing_res_CAS.pdb", "1BHL.pdb"),
])
def test_madrax_preprocessing_reproduces_reference_inputs(original, reference):
    ref_path = REFERENCE_INPUTS / reference
    if not ref_path.is_file():  # pragma: no cover - depends on the checkout
        pytest.skip(f"{ref_path} not found")
    s = omx.load(STRUCTURES / original, preprocess="madrax", quiet=True)
    ref = read_pdb(ref_path).records  # the scored input, every atom as written
    # same atoms in the same order with the same coordinates
    assert s.atom_names == [r.name for r in ref]
    assert np.array_equal(s.coords, np.array([(r.x, r.y, r.z) for r in ref]))
    # same residue set, keyed as the reference CSV keys them (chain, residue number)
    assert [(r.chain_id, r.resseq, r.resname) for r in s.residues] == \
        list(dict.fromkeys((r.chain, r.resseq, r.resname) for r in ref))
    # same topology decisions as loading the reference input itself
    t = omx.load(ref_path, preprocess="madrax", quiet=True)
    assert np.array_equal(s.next_consecutive, t.next_consecutive) and s.breaks == t.breaks
    assert omx.score(s, torsions=False).attrs["total"] == omx.score(t, torsions=False).attrs["total"]
