"""Every command and the Python entry points handle bad input the same way (issue 12).

One corpus of bad files (``badinputs.py``: empty, text, random bytes, not-gzip, water only, a
truncated ATOM line, two altlocs, NaN / huge coordinates, duplicated records, a wrong element
column, all atoms at one point, shuffled residues, a truncated mmCIF loop) goes through every
command of ``cli.COMMANDS`` (``features`` both on a trajectory and with ``--simulate``) and through
``prepare_system()`` / ``load()`` / ``score()``:

* CLI: exit status != 0, exactly one line starting ``openmm-madrax: error:`` on stderr naming the
  problem, no traceback;
* Python: a :class:`StructureError` (a :class:`MadraXError`) naming the problem.

Output arguments (``-o`` and friends) are checked before any work starts: a wrong extension, a
folder that does not exist, a file where the folder should be, or a folder given as the file.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pandas as pd
import pytest

from badinputs import write_corpus
from helpers import ROOT, UBIQUITIN
from openmm_madrax.cli import COMMANDS, main
from openmm_madrax.errors import MadraXError, StructureError

ERROR = "openmm-madrax: error:"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("bad"))


CORPUS_NAMES = ["empty.pdb", "text.pdb", "random.pdb", "notgzip.pdb.gz", "water.pdb", "truncated_atom.pdb",
                "altloc.pdb", "nan.pdb", "huge.pdb", "duplicated.pdb", "shuffled.pdb", "wrong_element.pdb",
                "overlap.pdb", "truncated.cif"]


def test_corpus_names_are_the_corpus(corpus):
    assert sorted(corpus) == sorted(CORPUS_NAMES)


def _argv(variant: str, path: str, out) -> list:
    """The command line of one command variant on input ``path``, writing into folder ``out``."""
    return {
        "score": ["score", path],
        "minimize": ["minimize", path, "-o", str(out / "min.pdb"), "--platform", "Reference"],
        "md": ["md", path, "-o", str(out / "traj.dcd"), "--steps", "2", "--no-progress", "--platform", "Reference"],
        # --strict: by default ddg prepares the input like FoldX's RepairPDB (first altloc kept,
        # reported); test_ddg_default_repairs_altlocs checks that default
        "ddg": ["ddg", path, "-m", "A:M1A", "--no-progress", "--strict"],
        "features": ["features", path, "--top", path, "-o", str(out / "features.csv"), "--no-progress"],
        "features-simulate": ["features", "--simulate", path, "--ns", "0.00001", "--report-interval", "1",
                              "-o", str(out / "features.csv"), "--no-progress", "--platform", "Reference"],
        "fit-torsions": ["fit-torsions", path, "-o", str(out / "densities.npz"), "--quiet"],
        "ensemble": ["ensemble", path, "-o", str(out / "ens"), "--n", "2", "--no-progress"],
        "llps": ["llps", "predict", path, "-o", str(out / "predictions.csv"), "--no-progress"],
    }[variant]


VARIANTS = ["score", "minimize", "md", "ddg", "features", "features-simulate", "fit-torsions", "ensemble", "llps"]


def test_every_cli_command_is_in_the_matrix():
    assert set(COMMANDS) <= {v.split("-simulate")[0] for v in VARIANTS}, \
        "a new CLI command: add it to VARIANTS / _argv so it is run over the bad-input corpus"


def _run_cli(argv, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().err


def _assert_one_error(rc, err, fragment=None):
    assert rc != 0, err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith(ERROR)]
    assert len(lines) == 1, err
    if fragment is not None:
        # the message (one line, or one line followed by its listed problems) names the problem
        assert fragment in err[err.index(ERROR):], err


@pytest.mark.parametrize("name", CORPUS_NAMES)
@pytest.mark.parametrize("variant", VARIANTS)
def test_cli_bad_input(variant, name, corpus, tmp_path, capsys):
    path, fragment = corpus[name]
    if variant == "fit-torsions":
        # the fit skips files it cannot use (listing why in its metadata); with none left it stops
        fragment = "can be used for the fit"
    rc, err = _run_cli(_argv(variant, str(path), tmp_path), capsys)
    _assert_one_error(rc, err, fragment)
    assert not os.listdir(tmp_path), "files written for bad input"


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_python_api_bad_input(name, corpus):
    from openmm_madrax import load, score
    from openmm_madrax.openmm import prepare_system

    path, fragment = corpus[name]
    for fn in (load, score, prepare_system):
        with pytest.raises(StructureError) as exc:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(path)
        assert isinstance(exc.value, MadraXError)
        assert fragment in str(exc.value), f"{fn.__name__}: {exc.value}"


def test_ddg_default_repairs_altlocs(corpus, tmp_path, capsys):
    """Without --strict, ddg keeps the first alternate location (as RepairPDB) and says so."""
    path, _ = corpus["altloc.pdb"]
    out = tmp_path / "ddg.csv"
    rc, err = _run_cli(["ddg", path, "-m", "A:M1A", "--no-progress", "--fast", "-o", out], capsys)
    assert rc == 0, err
    assert len(pd.read_csv(out)) == 1
    prep = json.loads((tmp_path / "ddg.meta.json").read_text())["preparation"]
    assert prep["changes"]["altloc"] == ["A:ILE3 (altlocs A/B, line 18) -> A"] and prep["strict"] is False


def test_features_bad_trajectory_with_good_topology(tmp_path, capsys):
    """A trajectory that does not match, or is not a trajectory, is one line too."""
    empty = tmp_path / "empty.dcd"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.dcd"
    junk.write_bytes(bytes(range(256)) * 8)
    other = tmp_path / "other.pdb"  # a structure with other atoms than the topology
    other.write_text("\n".join(line for line in UBIQUITIN.read_text().splitlines()
                               if line.startswith("ATOM") and int(line[22:26]) <= 5) + "\nEND\n")
    for traj in (empty, junk, other):
        rc, err = _run_cli(["features", traj, "--top", UBIQUITIN, "-o", tmp_path / "f.csv", "--no-progress"], capsys)
        _assert_one_error(rc, err, str(traj))


# ------------------------------------------------------------------------------------------------
# output arguments: checked before any work starts


@pytest.fixture
def no_work(monkeypatch):
    """Fail loudly if a structure is read: the output checks must come first."""
    import openmm_madrax.structure.prepare as prepare

    def refuse(*args, **kwargs):
        raise AssertionError("the input was read before the output arguments were checked")

    monkeypatch.setattr(prepare, "prepare_records", refuse)


def _bad_outputs(tmp_path):
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    folder = tmp_path / "folder"
    folder.mkdir(exist_ok=True)
    return {
        "missing folder": (tmp_path / "nope" / "out.{ext}", "does not exist"),
        "file as folder": (a_file / "out.{ext}", "is a file, not a folder"),
        "folder as file": (folder, "is a folder"),
    }


OUTPUT_OPTIONS = [
    # (command line with {out}, extension that works, a wrong extension or None)
    (["score", UBIQUITIN, "-o", "{out}"], "csv", None),
    (["ddg", UBIQUITIN, "-m", "A:M1A", "-o", "{out}"], "csv", None),
    (["minimize", UBIQUITIN, "-o", "{out}"], "pdb", "xyz"),
    (["minimize", UBIQUITIN, "-o", "{tmp}/m.pdb", "--scores", "{out}"], "csv", None),
    (["md", UBIQUITIN, "-o", "{out}", "--steps", "1"], "dcd", "txt"),
    (["md", UBIQUITIN, "-o", "{tmp}/t.dcd", "--steps", "1", "--energies", "{out}"], "csv", None),
    (["md", UBIQUITIN, "-o", "{tmp}/t.dcd", "--steps", "1", "--checkpoint", "{out}"], "chk", None),
    (["md", UBIQUITIN, "-o", "{tmp}/t.dcd", "--steps", "1", "--plot", "{out}"], "png", "xyz"),
    (["features", UBIQUITIN, "-o", "{out}"], "csv", None),
    (["features", UBIQUITIN, "-o", "{tmp}/f.csv", "--plot", "{out}"], "png", "xyz"),
    (["features", UBIQUITIN, "-o", "{tmp}/f.csv", "--frames", "{out}"], "npz", "txt"),
    (["features", "--simulate", UBIQUITIN, "--ns", "0.001", "-o", "{out}"], "csv", None),
    (["fit-torsions", UBIQUITIN, "-o", "{out}"], "npz", "txt"),
    (["llps", "predict", UBIQUITIN, "-o", "{out}"], "csv", "txt"),
]


def _option_id(case) -> str:
    argv = [str(a) for a in case[0]]
    return f"{argv[0]} {argv[argv.index('{out}') - 1]}"


@pytest.mark.parametrize("argv,ext,wrong", OUTPUT_OPTIONS, ids=[_option_id(c) for c in OUTPUT_OPTIONS])
def test_output_arguments_checked_first(argv, ext, wrong, tmp_path, capsys, no_work):
    cases = _bad_outputs(tmp_path)
    if wrong is not None:
        cases["wrong extension"] = (tmp_path / f"out.{wrong}", "unsupported format")
    for what, (out, fragment) in cases.items():
        line = [str(a).replace("{out}", str(out).replace("{ext}", ext)).replace("{tmp}", str(tmp_path)) for a in argv]
        rc, err = _run_cli(line, capsys)
        _assert_one_error(rc, err, fragment)
        assert "before the output arguments" not in err, (what, err)


#: commands whose output is a folder (created inside an existing folder)
FOLDER_OUTPUT_OPTIONS = [["ensemble", "MSEQWK", "-o", "{out}", "--n", "2", "--no-progress"]]


@pytest.mark.parametrize("argv", FOLDER_OUTPUT_OPTIONS, ids=[str(a[0]) for a in FOLDER_OUTPUT_OPTIONS])
def test_output_folders_checked_first(argv, tmp_path, capsys, no_work):
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("x")
    cases = {"missing parent": (tmp_path / "nope" / "out", "does not exist"),
             "file as parent": (a_file / "out", "is a file, not a folder"),
             "file as folder": (a_file, "is a file")}
    for what, (out, fragment) in cases.items():
        rc, err = _run_cli([str(a).replace("{out}", str(out)) for a in argv], capsys)
        _assert_one_error(rc, err, fragment)


def test_every_output_command_is_covered():
    """Every command that writes files is in OUTPUT_OPTIONS (score and ddg write to stdout by default)."""
    assert {str(a[0]) for a, _, _ in OUTPUT_OPTIONS} | {str(a[0]) for a in FOLDER_OUTPUT_OPTIONS} == set(COMMANDS)


# ------------------------------------------------------------------------------------------------
# the real process: exit status and stderr of ``python -m openmm_madrax.cli``


@pytest.mark.slow  # a fresh interpreter per case (imports torch, openmm)
@pytest.mark.parametrize("argv,name", [
    (["score"], "empty.pdb"),
    (["md", "--steps", "1", "-o", "{tmp}/t.dcd"], "huge.pdb"),
])
def test_process_exit_status_and_one_line(argv, name, corpus, tmp_path):
    path, fragment = corpus[name]
    args = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-m", "openmm_madrax.cli", args[0], str(path), *args[1:]],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(ERROR) and fragment in lines[0], proc.stderr
