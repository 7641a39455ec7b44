"""Structure preparation on small hand-made inputs: every bad input gives a StructureError that
names what is wrong and where (residue label, file line) and what to do; opt-ins behave as
documented (docs/input.md).  Self-contained: no files outside the test's tmp directory."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import openmm_madrax as omx
from openmm_madrax import MadraXWarning, StructureError
from openmm_madrax.residues import parent_residue
from openmm_madrax.structure.records import read_file

# MET1-GLN2-ILE3 of ubiquitin (1UBI), heavy atoms
TRIPEPTIDE = """\
ATOM      1  N   MET A   1      27.343  24.294   2.683  1.00 14.70           N
ATOM      2  CA  MET A   1      26.381  25.361   2.894  1.00  9.58           C
ATOM      3  C   MET A   1      26.997  26.557   3.583  1.00  6.78           C
ATOM      4  O   MET A   1      27.973  26.439   4.351  1.00 11.04           O
ATOM      5  CB  MET A   1      25.112  24.879   3.647  1.00 15.53           C
ATOM      6  CG  MET A   1      25.341  24.685   5.142  1.00 18.33           C
ATOM      7  SD  MET A   1      23.944  23.887   5.986  1.00 16.83           S
ATOM      8  CE  MET A   1      24.546  23.890   7.694  1.00  9.81           C
ATOM      9  N   GLN A   2      26.410  27.694   3.332  1.00 10.15           N
ATOM     10  CA  GLN A   2      26.865  28.934   3.898  1.00  8.89           C
ATOM     11  C   GLN A   2      26.136  29.272   5.204  1.00 30.66           C
ATOM     12  O   GLN A   2      24.911  29.191   5.289  1.00  9.27           O
ATOM     13  CB  GLN A   2      26.705  30.075   2.869  1.00 16.48           C
ATOM     14  CG  GLN A   2      27.143  31.449   3.380  1.00 28.35           C
ATOM     15  CD  GLN A   2      26.937  32.545   2.343  1.00 40.00           C
ATOM     16  OE1 GLN A   2      27.857  33.314   2.040  1.00 26.06           O
ATOM     17  NE2 GLN A   2      25.742  32.568   1.744  1.00 15.80           N
ATOM     18  N   ILE A   3      26.906  29.647   6.221  1.00  7.03           N
ATOM     19  CA  ILE A   3      26.337  30.097   7.481  1.00  3.72           C
ATOM     20  C   ILE A   3      26.951  31.407   7.906  1.00  5.33           C
ATOM     21  O   ILE A   3      28.012  31.794   7.418  1.00  7.59           O
ATOM     22  CB  ILE A   3      26.384  29.049   8.615  1.00 11.37           C
ATOM     23  CG1 ILE A   3      27.830  28.747   9.015  1.00  1.48           C
ATOM     24  CG2 ILE A   3      25.666  27.764   8.181  1.00 12.58           C
ATOM     25  CD1 ILE A   3      27.956  28.196  10.439  1.00  7.72           C
"""
LINES = TRIPEPTIDE.splitlines()
N_HEAVY = 25


def write(tmp_path, lines, name="in.pdb"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def edit(line: str, col: int, text: str) -> str:
    """Overwrite PDB columns starting at 1-based column ``col``."""
    line = line.ljust(80)
    return line[:col - 1] + text + line[col - 1 + len(text):]


def load_quiet(source, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MadraXWarning)
        return omx.load(source, *args, **kwargs)


def test_clean_input_loads(tmp_path):
    s = omx.load(write(tmp_path, LINES + ["TER", "END"]))
    assert s.n_residues == 3 and s.n_atoms == N_HEAVY
    assert s.sequence() == "MQI"
    assert s.next_consecutive[:2].all()
    assert list(s.source_index) == list(range(N_HEAVY))
    assert not s.warnings and not s.breaks


# ------------------------------------------------------------------------------------------------
# bad input: each error names what and where


def test_missing_file(tmp_path):
    with pytest.raises(StructureError, match="no such file"):
        omx.load(tmp_path / "nothere.pdb")


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(StructureError, match="not a file"):
        omx.load(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.pdb"
    path.write_text("")
    with pytest.raises(StructureError, match="empty.pdb: the file is empty"):
        omx.load(path)


def test_file_without_atoms(tmp_path):
    with pytest.raises(StructureError, match="no atoms"):
        omx.load(write(tmp_path, ["HEADER    NOTHING", "REMARK   1 no coordinates", "END"]))


def test_only_waters_and_ligands(tmp_path):
    lines = ["HETATM    1  O   HOH A 101      1.000   2.000   3.000  1.00  0.00           O",
             "HETATM    2  O   HOH A 102      4.000   2.000   3.000  1.00  0.00           O",
             "HETATM    3 ZN    ZN A 201      7.000   2.000   3.000  1.00  0.00          ZN",
             "HETATM    4  C1  NAG A 301      9.000   2.000   3.000  1.00  0.00           C"]
    with pytest.raises(StructureError) as exc:
        omx.load(write(tmp_path, lines))
    msg = str(exc.value)
    assert "no protein residues" in msg and "2 waters" in msg and "ZN" in msg and "NAG" in msg


def test_truncated_atom_line(tmp_path):
    lines = list(LINES)
    lines[6] = lines[6][:40]
    with pytest.raises(StructureError, match=r"line 7: ATOM record is truncated"):
        omx.load(write(tmp_path, lines))


def test_non_numeric_coordinate(tmp_path):
    lines = list(LINES)
    lines[9] = edit(lines[9], 39, "  abc.de")
    with pytest.raises(StructureError) as exc:
        omx.load(write(tmp_path, lines))
    msg = str(exc.value)
    assert "line 10" in msg and "GLN A2 atom CA" in msg and "y coordinate" in msg and "'abc.de'" in msg


def test_nan_coordinate(tmp_path):
    lines = list(LINES)
    lines[12] = edit(lines[12], 47, "     nan")
    with pytest.raises(StructureError) as exc:
        omx.load(write(tmp_path, lines))
    msg = str(exc.value)
    assert "non-finite coordinates" in msg and "residue GLN 2 atom CB (line 13)" in msg


def test_nan_in_ignored_atoms_is_harmless(tmp_path):
    water = "HETATM   99  O   HOH A 101         nan     nan     nan  1.00  0.00           O"
    s = load_quiet(write(tmp_path, LINES + [water]))
    assert np.isfinite(s.coords).all()


def test_unknown_residue_in_atom_record(tmp_path):
    lines = [edit(line, 18, "XYZ") if " GLN " in line else line for line in LINES]
    with pytest.raises(StructureError) as exc:
        omx.load(write(tmp_path, lines))
    msg = str(exc.value)
    assert "1 nonstandard residue(s)" in msg and "A:XYZ2 (line 9)" in msg and "drop_nonstandard=True" in msg


def test_unknown_atom_name(tmp_path):
    lines = list(LINES)
    lines.insert(5, edit(lines[4], 13, " CX ").replace("    5 ", "   99 "))
    with pytest.raises(StructureError) as exc:
        omx.load(write(tmp_path, lines))
    msg = str(exc.value)
    assert "unknown atom 'CX'" in msg and "residue MET 1 atom CX (line 6)" in msg


def test_duplicate_atom(tmp_path):
    lines = LINES + [LINES[9]]
    with pytest.raises(StructureError, match=r"atom CA appears twice in A:GLN2 \(lines 10 and 26\)"):
        omx.load(write(tmp_path, lines))


def test_residue_missing_ca(tmp_path):
    lines = [line for line in LINES if not (" CA  GLN" in line)]
    with pytest.raises(StructureError) as exc:
        omx.load(write(tmp_path, lines))
    msg = str(exc.value)
    assert "miss heavy atoms" in msg and "A:GLN2 (line 9) lacks CA" in msg and "repair=True" in msg


def test_bad_residue_number(tmp_path):
    lines = list(LINES)
    lines[0] = edit(lines[0], 23, "  x1")
    with pytest.raises(StructureError, match=r"line 1: cannot read the residue number from 'x1'"):
        omx.load(write(tmp_path, lines))


def test_bad_occupancy_is_tolerated(tmp_path):
    lines = list(LINES)
    lines[0] = edit(lines[0], 55, "  ????")
    assert load_quiet(write(tmp_path, lines)).n_atoms == N_HEAVY


def test_shared_residue_number(tmp_path):
    lines = [edit(line, 23, "   1") if " GLN " in line else line for line in LINES]
    with pytest.raises(StructureError, match=r"residue 1 has atoms of MET and GLN \(line 1\)"):
        omx.load(write(tmp_path, lines))


def test_several_problems_reported_together(tmp_path):
    lines = [line for line in LINES if " OE1 GLN" not in line]
    lines.append(edit(LINES[18], 17, "B").replace("   19 ", "   40 "))
    lines[17] = edit(lines[17], 17, "A")
    with pytest.raises(StructureError) as exc:
        omx.load(write(tmp_path, lines))
    msg = str(exc.value)
    assert "2 problems prevent scoring" in msg
    assert "A:ILE3 (altlocs A/B" in msg and "altloc='first'" in msg
    assert "A:GLN2 (line 9) lacks OE1" in msg


# ------------------------------------------------------------------------------------------------
# alternate locations


def _altloc_lines():
    lines = list(LINES)
    ca = lines[18]
    lines[18] = edit(edit(ca, 17, "A"), 55, "  0.40")
    lines.insert(19, edit(edit(edit(ca, 17, "B"), 55, "  0.60"), 31, "  26.500"))
    return lines


def test_altloc_error_names_residue_and_line(tmp_path):
    with pytest.raises(StructureError) as exc:
        omx.load(write(tmp_path, _altloc_lines()))
    msg = str(exc.value)
    assert "more than one alternate location" in msg and "A:ILE3 (altlocs A/B, line 18)" in msg
    assert "altloc='first'" in msg and "--altloc first" in msg


def test_altloc_first_and_occupancy(tmp_path):
    path = write(tmp_path, _altloc_lines())
    with pytest.warns(MadraXWarning, match=r"kept one alternate location in 1 residue\(s\): A:ILE3"):
        first = omx.load(path, altloc="first")
    occ = load_quiet(path, altloc="occupancy")
    ca = first.atom_names.index("CA", 17)
    assert first.n_atoms == occ.n_atoms == N_HEAVY
    assert first.coords[ca, 0] == pytest.approx(26.337)
    assert occ.coords[ca, 0] == pytest.approx(26.5)
    assert first.dropped["altloc"][0].startswith("A:ILE3")


def test_single_altloc_letter_is_not_an_error(tmp_path):
    lines = [edit(line, 17, "A") if " ILE " in line else line for line in LINES]
    assert omx.load(write(tmp_path, lines)).n_atoms == N_HEAVY


def test_altloc_microheterogeneity(tmp_path):
    # residue 3 is ILE in altloc A and VAL in altloc B: keep the whole ILE
    ile = [edit(line, 17, "A") for line in LINES[17:]]
    val = [edit(edit(line, 17, "B"), 18, "VAL") for line in LINES[17:22]]
    val.append(edit(edit(edit(LINES[22], 17, "B"), 18, "VAL"), 13, " CG1"))
    val.append(edit(edit(edit(LINES[23], 17, "B"), 18, "VAL"), 13, " CG2"))
    s = load_quiet(write(tmp_path, LINES[:17] + ile + val), altloc="first")
    assert s.sequence() == "MQI" and s.n_atoms == N_HEAVY


# ------------------------------------------------------------------------------------------------
# hydrogens, variants, waters and ligands, numbering


def test_hydrogens_are_ignored(tmp_path):
    h = ["ATOM     90  H   GLN A   2      26.000  27.500   2.500  1.00  0.00           H",
         "ATOM     91 1HB  GLN A   2      26.100  30.000   2.000  1.00  0.00",
         "ATOM     92  HB2 GLN A   2      27.000  30.000   2.000  1.00  0.00",
         "ATOM     93  D   ILE A   3      27.000  29.500   6.000  1.00  0.00           D"]
    s = omx.load(write(tmp_path, LINES + h))
    assert s.n_atoms == N_HEAVY and s.n_hydrogens == 4
    assert not s.warnings  # documented rule, no warning


@pytest.mark.parametrize("name,parent", [
    ("HID", "HIS"), ("HIE", "HIS"), ("HIP", "HIS"), ("HSD", "HIS"), ("HSE", "HIS"), ("HSP", "HIS"),
    ("CYX", "CYS"), ("CYM", "CYS"), ("ASH", "ASP"), ("GLH", "GLU"), ("LYN", "LYS"), ("NMET", "MET"),
    ("CALA", "ALA"), ("NHIE", "HIS"), ("ALA", "ALA"), ("MSE", None), ("UNK", None), ("NME", None),
    ("HOH", None)])
def test_parent_residue_names(name, parent):
    assert parent_residue(name) == parent


def test_terminal_residue_name(tmp_path):
    lines = [edit(line, 18, "NMET") if " MET " in line else line for line in LINES]
    with pytest.warns(MadraXWarning, match=r"NMET -> MET"):
        s = omx.load(write(tmp_path, lines))
    assert s.sequence() == "MQI" and s.residues[0].input_resname == "NMET"


def test_variant_warning_is_issued_once(tmp_path):
    lines = [edit(line, 18, "LYN") if " MET " in line else line for line in LINES]
    lines = [line for line in lines if line[12:16].strip() not in ("SD", "CE")]
    lines += ["ATOM     97  CD  LYN A   1      24.000  24.000   6.000  1.00  0.00           C",
              "ATOM     98  CE  LYN A   1      23.500  23.800   7.400  1.00  0.00           C",
              "ATOM     99  NZ  LYN A   1      23.000  23.700   8.700  1.00  0.00           N"]
    lines = sorted(lines, key=lambda line: int(line[22:26]))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s = omx.load(write(tmp_path, lines))
    msgs = [str(w.message) for w in rec if issubclass(w.category, MadraXWarning)]
    assert len(msgs) == 1 and "LYN -> LYS" in msgs[0]
    assert s.sequence() == "KQI" and s.residues[0].input_resname == "LYN"


def test_waters_and_ligands_ignored_with_one_warning(tmp_path):
    het = ["HETATM   30  O   HOH A 101      1.000   2.000   3.000  1.00  0.00           O",
           "HETATM   31  O   HOH A 102      4.000   2.000   3.000  1.00  0.00           O",
           "HETATM   32  C1  NAG A 201      9.000   2.000   3.000  1.00  0.00           C",
           "HETATM   33 ZN    ZN A 301      9.000   5.000   3.000  1.00  0.00          ZN"]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s = omx.load(write(tmp_path, LINES + ["TER"] + het))
    msgs = [str(w.message) for w in rec if issubclass(w.category, MadraXWarning)]
    assert len(msgs) == 1
    assert "ignored 2 waters and 2 ligand/ion/glycan residues (NAG, ZN)" in msgs[0]
    assert s.dropped["ligands"] == ["A:NAG201", "A:ZN301"]


def test_insertion_codes_and_negative_numbers(tmp_path):
    lines = [edit(line, 23, "  -1") if " MET " in line else line for line in LINES]
    lines = [edit(edit(line, 23, "  -1"), 27, "A") if " GLN " in line else line for line in lines]
    s = omx.load(write(tmp_path, lines))
    assert [(r.resseq, r.icode) for r in s.residues] == [(-1, ""), (-1, "A"), (3, "")]
    assert s.next_consecutive[:2].all()  # geometry decides, not numbering
    df = omx.score(s, torsions=False)
    assert [str(v) for v in df["resnum"]] == ["-1", "-1A", "3"]


def test_nonstandard_drop_and_repair(tmp_path):
    lines = [edit(line, 1, "HETATM") if " MET " in line else line for line in LINES]
    lines = [edit(line, 18, "MSE") if " MET " in line else line for line in lines]
    lines = [edit(edit(line, 13, "SE  "), 77, "SE") if " SD " in line else line for line in lines]
    path = write(tmp_path, lines)
    with pytest.raises(StructureError, match=r"nonstandard residue\(s\) in the protein: A:MSE1 \(line 1\)"):
        omx.load(path)
    with pytest.warns(MadraXWarning, match=r"dropped 1 nonstandard residue\(s\): A:MSE1"):
        dropped = omx.load(path, drop_nonstandard=True)
    assert dropped.sequence() == "QI" and dropped.dropped["nonstandard"] == ["A:MSE1"]
    with pytest.warns(MadraXWarning, match=r"A:MSE1 -> MET \(removed SE, added SD\)"):
        repaired = omx.load(path, repair=True)
    assert repaired.sequence() == "MQI" and repaired.n_atoms == N_HEAVY
    assert repaired.residues[0].input_resname == "MSE"
    sd = repaired.atom_names.index("SD")
    assert repaired.source_index[sd] == -1  # added by PDBFixer
    assert (repaired.source_index[repaired.source_index >= 0] < len(lines)).all()
    assert repaired.source_index[repaired.atom_names.index("CA", 8)] == 9  # original atoms keep theirs
    assert math.isfinite(omx.score(repaired, torsions=False).attrs["total"])


def test_repair_cannot_template_unk(tmp_path):
    lines = [edit(line, 18, "UNK") if " GLN " in line else line for line in LINES]
    lines = [line for line in lines if not (" UNK " in line and line[12:16].strip() not in ("N", "CA", "C", "O"))]
    path = write(tmp_path, lines)
    with pytest.raises(StructureError) as exc:
        omx.load(path, repair=True)
    msg = str(exc.value)
    assert "PDBFixer cannot replace" in msg and "A:UNK2 (line 9)" in msg and "drop_nonstandard=True" in msg
    assert "repair=True (" not in msg and "--repair" not in msg  # do not suggest what was just tried
    s = load_quiet(path, repair=True, drop_nonstandard=True)
    assert s.sequence() == "MI" and not s.next_consecutive[0]


def test_repair_adds_missing_atoms_and_keeps_order(tmp_path):
    lines = [line for line in LINES if line[12:16].strip() not in ("CD", "OE1", "NE2")]
    path = write(tmp_path, lines)
    with pytest.raises(StructureError, match=r"A:GLN2 \(line 9\) lacks CD NE2 OE1"):
        omx.load(path)
    with pytest.warns(MadraXWarning, match=r"added missing heavy atoms in 1 residue\(s\): A:GLN2 \(CD OE1 NE2\)"):
        s = omx.load(path, repair=True)
    assert s.n_atoms == N_HEAVY
    assert s.atom_names[8:17] == ["N", "CA", "C", "O", "CB", "CG", "CD", "OE1", "NE2"]
    assert list(s.source_index[:14]) == list(range(14))
    assert list(s.source_index[14:17]) == [-1, -1, -1]
    assert "OXT" not in s.atom_names  # the repair adds no terminal atoms
    # deterministic: the same input gives the same coordinates
    again = load_quiet(path, repair=True)
    assert np.array_equal(s.coords, again.coords)


def test_model_selection(tmp_path):
    moved = [edit(line, 31, f"{float(line[30:38]) + 1.0:8.3f}") for line in LINES]
    lines = ["MODEL        1"] + LINES + ["ENDMDL", "MODEL        2"] + moved + ["ENDMDL", "END"]
    path = write(tmp_path, lines)
    with pytest.warns(MadraXWarning, match="2 models; using model 1 only"):
        m1 = omx.load(path)
    m2 = load_quiet(path, model=2)
    assert np.allclose(m2.coords[:, 0] - m1.coords[:, 0], 1.0)
    assert m2.model == 2 and m2.n_models == 2
    with pytest.raises(StructureError, match=r"model 3 not found \(models in the input: 1, 2\)"):
        omx.load(path, model=3)


def test_chain_id_reused_after_ter(tmp_path):
    second = [edit(line, 31, f"{float(line[30:38]) + 30.0:8.3f}") for line in LINES]
    path = write(tmp_path, LINES + ["TER"] + second + ["TER", "END"])
    with pytest.warns(MadraXWarning, match=r"chain ID A is used again after a TER record \(line 27"):
        s = omx.load(path)
    assert s.n_residues == 6 and s.chain_ids == ["A", "A"]
    assert [r.chain_index for r in s.residues] == [0, 0, 0, 1, 1, 1]


def test_chain_break_is_logged_and_in_summary(tmp_path, caplog):
    lines = [edit(line, 31, f"{float(line[30:38]) + 20.0:8.3f}") if " ILE " in line else line for line in LINES]
    with caplog.at_level("INFO", logger="openmm_madrax"):
        s = omx.load(write(tmp_path, lines))
    assert not s.next_consecutive[1] and len(s.breaks) == 1
    assert "break between GLN2 and ILE3" in caplog.text
    text = s.summary()
    assert "1 chain(s), 3 residues, 25 heavy atoms" in text and "1 chain break(s)" in text


def test_summary_lists_what_was_dropped(tmp_path):
    het = ["HETATM   30  O   HOH A 101      1.000   2.000   3.000  1.00  0.00           O"]
    s = load_quiet(write(tmp_path, LINES + het))
    text = s.summary()
    assert text.startswith("in: 1 chain(s), 3 residues, 25 heavy atoms scored (26 atoms read)")
    assert "chain A: 3 residues MET1-ILE3" in text and "waters ignored: 1 (A:HOH101)" in text


def test_preprocess_madrax(tmp_path):
    lines = LINES[:17] + [edit(line, 18, "HID") for line in LINES[17:]] + [
        "HETATM   30  O   HOH A 101      1.000   2.000   3.000  1.00  0.00           O"]
    s = load_quiet(write(tmp_path, lines), preprocess="madrax")
    # ATOM records and the 20 standard names only, exactly as the reference preprocessing
    assert s.sequence() == "MQ" and s.dropped["hetatm"] == ["A:HOH101"] and s.dropped["nonstandard"] == ["A:HID3"]


# ------------------------------------------------------------------------------------------------
# mmCIF


CIF_HEAD = """data_test
#
_entry.id TEST
#
loop_
_atom_site.group_PDB
_atom_site.id
_atom_site.type_symbol
_atom_site.label_atom_id
_atom_site.label_alt_id
_atom_site.label_comp_id
_atom_site.label_asym_id
_atom_site.label_seq_id
_atom_site.pdbx_PDB_ins_code
_atom_site.Cartn_x
_atom_site.Cartn_y
_atom_site.Cartn_z
_atom_site.occupancy
_atom_site.B_iso_or_equiv
_atom_site.auth_seq_id
_atom_site.auth_comp_id
_atom_site.auth_asym_id
_atom_site.auth_atom_id
_atom_site.pdbx_PDB_model_num
"""


def _cif_rows(icode_for_gln="?"):
    rows = []
    for k, line in enumerate(LINES, start=1):
        name, resname, resseq = line[12:16].strip(), line[17:20], int(line[22:26])
        x, y, z = line[30:38].strip(), line[38:46].strip(), line[46:54].strip()
        icode = icode_for_gln if resname == "GLN" else "?"
        auth = resseq + 10  # author numbering differs from label numbering
        rows.append(f"ATOM {k} {line[77]} {name} . {resname} B {resseq} {icode} {x} {y} {z} 1.00 10.0 "
                    f"{auth} {resname} A {name} 1")
    return rows


def test_mmcif_author_numbering_and_icodes(tmp_path):
    path = tmp_path / "t.cif"
    path.write_text(CIF_HEAD + "\n".join(_cif_rows("A")) + "\n#\n")
    s = omx.load(path)
    assert s.chain_ids == ["A"]  # auth_asym_id, not label_asym_id
    assert [(r.resseq, r.icode) for r in s.residues] == [(11, ""), (12, "A"), (13, "")]
    assert s.n_atoms == N_HEAVY


def test_mmcif_quoted_values_text_fields_and_comments(tmp_path):
    rows = _cif_rows()
    rows[0] = rows[0].replace(" N . MET", " 'N' . MET")
    rows[1] = rows[1].replace(" CA . MET", ' "CA" . MET')
    body = rows[:5] + ["# a comment inside the loop", ""] + rows[5:]
    text = CIF_HEAD + "\n".join(body) + "\n#\nloop_\n_other.a\n_other.b\n;text\nfield\n;\n'x y'\n#\n"
    path = tmp_path / "q.cif"
    path.write_text(text)
    assert omx.load(path).n_atoms == N_HEAVY


def test_mmcif_truncated_loop(tmp_path):
    rows = _cif_rows()
    rows[-1] = " ".join(rows[-1].split()[:8])
    path = tmp_path / "t.cif"
    path.write_text(CIF_HEAD + "\n".join(rows) + "\n")
    with pytest.raises(StructureError, match=r"line 49: the atom_site loop ends with an incomplete row"):
        omx.load(path)


def test_mmcif_without_atom_site(tmp_path):
    path = tmp_path / "n.cif"
    path.write_text("data_x\n_entry.id X\n")
    with pytest.raises(StructureError, match="no _atom_site records"):
        omx.load(path)


def test_mmcif_non_numeric_coordinate(tmp_path):
    rows = _cif_rows()
    rows[3] = rows[3].replace(" 27.973 ", " 27,973 ")
    path = tmp_path / "c.cif"
    path.write_text(CIF_HEAD + "\n".join(rows) + "\n")
    with pytest.raises(StructureError, match=r"line 28 \(MET A11 atom O\): cannot read Cartn_x from '27,973'"):
        omx.load(path)


def test_pdb_and_mmcif_agree(tmp_path):
    pdb = omx.load(write(tmp_path, LINES))
    path = tmp_path / "t.cif"
    path.write_text(CIF_HEAD + "\n".join(_cif_rows()) + "\n")
    cif = omx.load(path)
    assert np.array_equal(pdb.coords, cif.coords) and pdb.atom_names == cif.atom_names


# ------------------------------------------------------------------------------------------------
# OpenMM and mdtraj inputs


def test_openmm_topology_inputs(tmp_path):
    from openmm import unit
    from openmm.app import ForceField, Modeller, PDBFile

    oxt = "ATOM     26  OXT ILE A   3      26.300  32.100   8.700  1.00  0.00           O"
    path = write(tmp_path, LINES + [oxt, "TER", "END"])
    ref = omx.load(path)
    pdb = PDBFile(str(path))
    s = omx.load(pdb.topology, pdb.positions)
    assert np.allclose(s.coords, ref.coords) and s.atom_names == ref.atom_names
    s = omx.load(pdb)  # anything with .topology and .positions
    assert s.n_atoms == N_HEAVY + 1
    s = omx.load(pdb.topology, np.asarray(pdb.positions.value_in_unit(unit.nanometer)))
    assert np.allclose(s.coords, ref.coords)
    modeller = Modeller(pdb.topology, pdb.positions)
    modeller.addHydrogens(ForceField("amber14-all.xml"))
    s = omx.load(modeller)
    assert s.n_atoms == N_HEAVY + 1 and s.n_hydrogens > 0
    assert np.allclose(s.coords, ref.coords, atol=1e-6)
    # source_index = particle index of the heavy atoms in the topology with hydrogens
    heavy = [a.index for a in modeller.topology.atoms() if a.element.symbol != "H"]
    assert list(s.source_index) == heavy
    with pytest.raises(StructureError, match="positions hold 3 atoms but the topology has"):
        omx.load(pdb.topology, np.zeros((3, 3)))


def test_openmm_amber_residue_names(tmp_path):
    from openmm.app import PDBFile

    pdb = PDBFile(str(write(tmp_path, LINES)))
    for res in pdb.topology.residues():
        res.name = {"MET": "NMET", "ILE": "CILE"}.get(res.name, res.name)
    with pytest.warns(MadraXWarning, match="NMET -> MET, CILE -> ILE"):
        s = omx.load(pdb.topology, pdb.positions)
    assert s.sequence() == "MQI"


def test_openmm_topology_hetero_residues_are_ligands(tmp_path):
    # topologies carry no HETATM flag: a phosphate must still count as a ligand, not a residue
    from openmm.app import PDBFile

    po4 = ["HETATM   40  P   PO4 A 201      5.000   5.000   5.000  1.00  0.00           P",
           "HETATM   41  O1  PO4 A 201      6.000   5.000   5.000  1.00  0.00           O"]
    pdb = PDBFile(str(write(tmp_path, LINES + ["TER"] + po4 + ["END"])))
    with pytest.warns(MadraXWarning, match=r"1 ligand/ion/glycan residue \(PO4\)"):
        s = omx.load(pdb.topology, pdb.positions)
    assert s.n_atoms == N_HEAVY


def test_mdtraj_inputs(tmp_path):
    md = pytest.importorskip("mdtraj")
    moved = [edit(line, 31, f"{float(line[30:38]) + 1.0:8.3f}") for line in LINES]
    path = write(tmp_path, ["MODEL        1"] + LINES + ["ENDMDL", "MODEL        2"] + moved + ["ENDMDL", "END"])
    traj = md.load(str(path))
    with pytest.warns(MadraXWarning, match="2 frames; using frame 0"):
        s0 = omx.load(traj)
    s1 = load_quiet(traj, model=1)
    assert np.allclose(s1.coords[:, 0] - s0.coords[:, 0], 1.0, atol=1e-4)
    s = omx.load(traj.topology, traj.xyz[0])
    assert np.allclose(s.coords, s0.coords)
    with pytest.raises(StructureError, match="model=5 is not a frame index"):
        omx.load(traj, model=5)


def test_read_file_sniffs_unknown_extension(tmp_path):
    path = write(tmp_path, LINES, name="structure.txt")
    assert len(read_file(path).records) == N_HEAVY


def test_cli_reports_errors_in_one_line(tmp_path, capsys):
    from openmm_madrax.cli import main

    lines = [line for line in LINES if " CA  GLN" not in line]
    rc = main(["score", str(write(tmp_path, lines))])
    err = capsys.readouterr().err
    assert rc == 2 and "openmm-madrax: error:" in err and "A:GLN2 (line 9) lacks CA" in err
    assert "Traceback" not in err


def test_structure_repr_is_one_line():
    from helpers import UBIQUITIN, quiet

    s = quiet(omx.load, UBIQUITIN)
    text = repr(s)
    assert "\n" not in text and len(text) < 120 and "76 residues" in text and "602 heavy atoms" in text
