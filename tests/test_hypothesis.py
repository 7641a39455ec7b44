"""Inputs that cannot crash it: property-based tests (hypothesis) of the prepare step and the CLI.

Starting from 8 residues of the bundled ubiquitin, hypothesis truncates the file, deletes,
duplicates, swaps and moves records, writes NaN / infinite / huge / arbitrary coordinates and
wrong element columns, stacks atoms on each other and feeds random bytes.  Every case must end in
either a Structure with a finite energy or one :class:`StructureError` (CLI: exit status 2 and one
``openmm-madrax: error:`` line, no traceback) -- never another exception, a NaN, a hang (an alarm
stops an example after ``HANG_S`` seconds) or a silently different energy: edits that do not
change what is scored (atoms of a residue listed in another order, correct or blank element
columns) must give the original energy.

Fixed seed (``derandomize=True``, no example database), bounded examples and a deadline per
example; the whole module takes well under a minute on an idle 2-core machine.
"""
from __future__ import annotations

import contextlib
import math
import signal
import tempfile
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from badinputs import base_lines
from openmm_madrax import load, score
from openmm_madrax.errors import StructureError

#: a case that runs longer than this is a hang
HANG_S = 60
SETTINGS = dict(derandomize=True, database=None, deadline=timedelta(seconds=30),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])

BASE = base_lines()
BASE_TEXT = "\n".join(BASE) + "\nEND\n"
RESIDUE_OF_LINE = [int(line[22:26]) for line in BASE]


def _cif_text(lines) -> str:
    """The same atoms as a PDBx/mmCIF _atom_site loop."""
    out = ["data_base", "loop_"] + [f"_atom_site.{c}" for c in (
        "group_PDB", "id", "type_symbol", "label_atom_id", "label_alt_id", "label_comp_id", "label_asym_id",
        "label_seq_id", "pdbx_PDB_ins_code", "Cartn_x", "Cartn_y", "Cartn_z", "occupancy", "B_iso_or_equiv",
        "auth_seq_id", "auth_asym_id", "pdbx_PDB_model_num")]
    for k, line in enumerate(lines, start=1):
        name = line[12:16].strip()
        out.append(f"ATOM {k} {line[76:78].strip() or '?'} {name} . {line[17:20]} A {int(line[22:26])} ? "
                   f"{line[30:38].strip()} {line[38:46].strip()} {line[46:54].strip()} 1.00 0.00 "
                   f"{int(line[22:26])} A 1")
    return "\n".join(out) + "\n#\n"


CIF_TEXT = _cif_text(BASE)


@contextlib.contextmanager
def no_hang(seconds: int = HANG_S):
    def alarm(signum, frame):
        raise TimeoutError(f"no result after {seconds} s: a hang")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _write(content, suffix=".pdb") -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix, prefix="hyp_")
    with open(fd, "wb") as fh:
        fh.write(content.encode() if isinstance(content, str) else content)
    return Path(name)


def outcome(content, suffix=".pdb"):
    """(Structure or None, total energy or None, error message or None) of a file's content;
    fails the test on anything but a StructureError or a finite energy."""
    path = _write(content, suffix)
    try:
        with no_hang(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                structure = load(path)
            except StructureError as exc:
                assert str(exc).strip(), "empty error message"
                event(f"error: {_kind(str(exc))}")
                return None, None, str(exc)
            df = score(structure)
        event("scored")
        energies = df.iloc[:, 3:].to_numpy(float)
        assert np.isfinite(energies).all(), f"non-finite energy for\n{content}"
        total = float(df.attrs["total"])
        assert math.isfinite(total)
        return structure, total, None
    finally:
        path.unlink()


def _kind(message: str) -> str:
    """A short label of an error message for hypothesis' statistics."""
    for key in ("empty", "no atoms", "truncated", "cannot read", "incomplete row", "non-finite", "beyond",
                "twice", "element column", "overlapping", "not next to each other", "miss heavy atoms",
                "unknown atom", "nonstandard", "alternate location", "no protein", "shared by"):
        if key in message:
            return key
    return message.split(":")[-1][:40]


_ORIGINAL = {}


def original_total() -> float:
    if "total" not in _ORIGINAL:
        _ORIGINAL["total"] = outcome(BASE_TEXT)[1]
    return _ORIGINAL["total"]


def _fmt(v: float) -> str:
    """A coordinate in 8 PDB columns, whatever its size."""
    if not math.isfinite(v):
        return f"{str(v):>8}"
    text = f"{v:8.3f}"
    return text if len(text) == 8 else f"{v:8.1e}"


# ------------------------------------------------------------------------------------------------
# random bytes and random truncation


@settings(max_examples=100, **SETTINGS)
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".pdb", ".cif", ".ent", ".txt", ".pdb.gz"]))
def test_random_bytes(data, suffix):
    outcome(data, suffix)


@settings(max_examples=200, **SETTINGS)
@given(cif=st.booleans(), noise=st.lists(st.tuples(st.floats(0, 1), st.text(min_size=1, max_size=12)),
                                         min_size=1, max_size=4))
def test_random_text_spliced_into_records(cif, noise):
    text = CIF_TEXT if cif else BASE_TEXT
    for where, piece in noise:
        pos = int(where * (len(text) - 1))
        text = text[:pos] + piece + text[pos + len(piece):]
    outcome(text, ".cif" if cif else ".pdb")


@settings(max_examples=150, **SETTINGS)
@given(records=st.lists(st.one_of(st.sampled_from(BASE), st.text(max_size=80).map(lambda t: "ATOM  " + t),
                                  st.text(max_size=80).map(lambda t: "HETATM" + t)), min_size=1, max_size=30))
def test_random_atom_records(records):
    outcome("\n".join(records) + "\n")


@settings(max_examples=150, **SETTINGS)
@given(cif=st.booleans(), cut=st.floats(0, 1))
def test_truncated_file(cif, cut):
    text = CIF_TEXT if cif else BASE_TEXT
    structure, total, error = outcome(text[:int(cut * len(text))], ".cif" if cif else ".pdb")
    if structure is not None:
        # what was scored is a prefix of the file: whole residues only, nothing invented
        n = structure.n_residues
        assert n <= 8 and [r.resseq for r in structure.residues] == list(range(1, n + 1))
        assert structure.n_atoms == sum(1 for r in RESIDUE_OF_LINE if r <= n)


# ------------------------------------------------------------------------------------------------
# record edits

EDITS = st.one_of(
    st.tuples(st.just("delete"), st.integers(0, len(BASE) - 1)),
    st.tuples(st.just("duplicate"), st.integers(0, len(BASE) - 1)),
    st.tuples(st.just("swap"), st.integers(0, len(BASE) - 1), st.integers(0, len(BASE) - 1)),
    st.tuples(st.just("onto"), st.integers(0, len(BASE) - 1), st.integers(0, len(BASE) - 1)),
    st.tuples(st.just("coordinate"), st.integers(0, len(BASE) - 1), st.integers(0, 2),
              st.one_of(st.sampled_from([math.nan, math.inf, -math.inf, 1e5 + 1, -1e30, 99999999.0]),
                        st.floats(-2000, 2000))),
    st.tuples(st.just("element"), st.integers(0, len(BASE) - 1),
              st.sampled_from(["", "C", "N", "O", "S", "H", "D", "X", "FE", "SE", "ZN"])),
)


def apply(lines, edit):
    lines = list(lines)
    kind, i = edit[0], edit[1]
    i = min(i, len(lines) - 1)
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "swap":
        j = min(edit[2], len(lines) - 1)
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "onto":
        j = min(edit[2], len(lines) - 1)
        lines[i] = lines[i][:30] + lines[j][30:54] + lines[i][54:]
    elif kind == "coordinate":
        axis, value = edit[2], edit[3]
        lo = 30 + 8 * axis
        lines[i] = lines[i][:lo] + _fmt(value) + lines[i][lo + 8:]
    elif kind == "element":
        lines[i] = lines[i][:76] + f"{edit[2]:>2}" + lines[i][78:]
    return lines


@settings(max_examples=300, **SETTINGS)
@given(edits=st.lists(EDITS, min_size=1, max_size=4))
def test_record_edits(edits):
    lines = BASE
    for e in edits:
        if len(lines) > 1:
            lines = apply(lines, e)
    structure, total, error = outcome("\n".join(lines) + "\nEND\n")
    if {e[0] for e in edits} == {"duplicate"}:
        assert error is not None and "twice" in error
    values = [float(line[lo:lo + 8]) for line in lines for lo in (30, 38, 46)]
    if any(not math.isfinite(v) or abs(v) > 1e5 for v in values):
        # named with its line
        assert error is not None and ("non-finite" in error or "beyond" in error) and "line" in error, error


@settings(max_examples=30, **SETTINGS)
@given(data=st.data())
def test_atom_order_within_residues_does_not_change_the_energy(data):
    """Atoms of a residue listed in any order: the same energy (the records are keyed by name)."""
    lines = []
    for res in sorted(set(RESIDUE_OF_LINE)):
        block = [line for line, r in zip(BASE, RESIDUE_OF_LINE) if r == res]
        lines += data.draw(st.permutations(block))
    structure, total, error = outcome("\n".join(lines) + "\nEND\n")
    assert error is None, error
    assert total == pytest.approx(original_total(), abs=1e-8)


@settings(max_examples=30, **SETTINGS)
@given(blank=st.lists(st.booleans(), min_size=len(BASE), max_size=len(BASE)))
def test_correct_or_blank_element_columns_do_not_change_the_energy(blank):
    lines = [line[:76] + "  " + line[78:] if b else line for line, b in zip(BASE, blank)]
    structure, total, error = outcome("\n".join(lines) + "\nEND\n")
    assert error is None, error
    assert total == pytest.approx(original_total(), abs=1e-8)


@settings(max_examples=50, **SETTINGS)
@given(atoms=st.sets(st.integers(0, len(BASE) - 1), min_size=3, max_size=len(BASE)),
       offset=st.floats(0.0, 0.45))
def test_overlapping_atoms_are_an_error(atoms, offset):
    """Atoms stacked on each other: never a score (NaN gradient, meaningless energy)."""
    atoms = sorted(atoms)
    x0, y0, z0 = (float(BASE[atoms[0]][30 + 8 * k:38 + 8 * k]) for k in range(3))
    lines = list(BASE)
    for n, i in enumerate(atoms):
        x = x0 + (offset if n % 2 else 0.0)
        lines[i] = lines[i][:30] + f"{x:8.3f}{y0:8.3f}{z0:8.3f}" + lines[i][54:]
    structure, total, error = outcome("\n".join(lines) + "\nEND\n")
    assert error is not None and "overlapping atoms" in error


@settings(max_examples=60, **SETTINGS)
@given(pair=st.lists(st.integers(0, len(BASE) - 1), min_size=2, max_size=2, unique=True),
       distance=st.floats(0.0, 0.6))
def test_two_close_atoms_error_or_finite_with_a_warning(pair, distance):
    """One atom moved next to another: within 0.1 A an error, within 0.5 A a finite energy and a
    warning that names both atoms."""
    i, j = pair
    x, y, z = (float(BASE[j][30 + 8 * k:38 + 8 * k]) for k in range(3))
    lines = list(BASE)
    lines[i] = lines[i][:30] + f"{x + distance:8.3f}{y:8.3f}{z:8.3f}" + lines[i][54:]
    d = abs(float(f"{x + distance:8.3f}") - x)
    path = _write("\n".join(lines) + "\nEND\n")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                structure = load(path)
            except StructureError as exc:
                assert d < 0.1 or "not next to each other" in str(exc) or "overlapping" in str(exc), str(exc)
                return
    finally:
        path.unlink()
    assert d >= 0.1
    if d < 0.5 - 1e-9:
        assert any("severe clash" in str(w.message) and f"line {i + 1}" in str(w.message) for w in caught)
    assert np.isfinite(score(structure).iloc[:, 3:].to_numpy(float)).all()


@settings(max_examples=30, **SETTINGS)
@given(order=st.permutations(list(range(1, 9))))
def test_shuffled_residues_are_an_error_or_the_same_energy(order):
    blocks = {res: [line for line, r in zip(BASE, RESIDUE_OF_LINE) if r == res] for res in range(1, 9)}
    lines = [line for res in order for line in blocks[res]]
    structure, total, error = outcome("\n".join(lines) + "\nEND\n")
    if order == list(range(1, 9)):
        assert total == pytest.approx(original_total(), abs=1e-8)
    else:
        assert error is not None and "not next to each other" in error


# ------------------------------------------------------------------------------------------------
# the CLI on the same edits


@settings(max_examples=100, **SETTINGS)
@given(edits=st.lists(EDITS, min_size=1, max_size=3))
def test_cli_score_on_edited_files(edits, capsys):
    from openmm_madrax.cli import main

    lines = BASE
    for e in edits:
        if len(lines) > 1:
            lines = apply(lines, e)
    path = _write("\n".join(lines) + "\nEND\n")
    try:
        capsys.readouterr()
        with no_hang(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rc = main(["score", str(path)])
        out, err = capsys.readouterr()
    finally:
        path.unlink()
    assert "Traceback" not in err
    if rc == 0:
        total = float(err.split("total ")[1].split()[0])
        assert math.isfinite(total) and "nan" not in out.lower()
    else:
        assert rc == 2
        assert len([line for line in err.splitlines() if line.startswith("openmm-madrax: error:")]) == 1, err
