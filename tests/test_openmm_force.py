"""MadraXForce in OpenMM: energies, forces, back ends, serialization, readback, minimisation, MD, CLI."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

openmm = pytest.importorskip("openmm")
from openmm import app, unit  # noqa: E402

from openmm_madrax import CHANNELS, energy_module, residue_frame  # noqa: E402
from openmm_madrax.openmm import MadraXForce, create_system, prepare_system  # noqa: E402

from helpers import UBIQUITIN, reference_input  # noqa: E402
from helpers import quiet as _quiet  # noqa: E402

KJ = 4.184



@pytest.fixture(scope="module")
def peptide():
    """The 9-residue peptide with hydrogens, replace mode, float64 TorchForce in group 1."""
    return _quiet(prepare_system, reference_input("alanine"), mode="replace",
                  precision="double")


@pytest.fixture(scope="module")
def ubiquitin():
    return _quiet(prepare_system, UBIQUITIN, mode="replace")


def _state(system, positions, platform="Reference", groups=None, params=None):
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName(platform))
    ctx.setPositions(positions)
    for k, v in (params or {}).items():
        ctx.setParameter(k, v)
    kw = {} if groups is None else {"groups": groups}
    st = ctx.getState(getEnergy=True, getForces=True, getPositions=True, **kw)
    return (st.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole),
            st.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer), st)


def _nm(positions) -> np.ndarray:
    return np.asarray(positions.value_in_unit(unit.nanometer))


def _madrax_only(prepared, madrax: MadraXForce):
    """A System with the particles of ``prepared`` and only ``madrax``."""
    system = openmm.System()
    for k in range(prepared.system.getNumParticles()):
        system.addParticle(prepared.system.getParticleMass(k))
    system.addForce(madrax)
    return system


# ----------------------------------------------------------------------------------------------
def test_energy_and_forces_match_the_module(peptide):
    top, pos, _ = peptide
    mx = MadraXForce(top, pos, precision="double")  # all 11 channels
    e, f, _ = _state(_madrax_only(peptide, mx), pos)
    # the force's MD setting of smooth mode (MadraXForce docstring)
    module = energy_module(mx.structure, mx.options.replace(fix_frames=True))
    assert (mx.options.smoothing, mx.options.hbond_tau, mx.options.smooth) == (3.0, 1.0, True)
    x = torch.tensor(_nm(pos)[mx.heavy_index] * 10.0, dtype=torch.float64, requires_grad=True)
    total = module.total(x)
    (grad,) = torch.autograd.grad(total, x)
    assert e == pytest.approx(float(total.detach()) * KJ, rel=1e-10, abs=1e-8)
    np.testing.assert_allclose(f[mx.heavy_index], -grad.numpy() * 41.84, rtol=1e-8, atol=1e-7)
    others = np.setdiff1d(np.arange(top.getNumAtoms()), mx.heavy_index)
    hydrogens = [a.index for a in top.atoms() if a.element.symbol == "H"]
    assert set(hydrogens) <= set(others.tolist())
    assert np.all(f[others] == 0.0)  # exactly zero MadraX force on hydrogens
    assert np.abs(f[mx.heavy_index]).max() > 1.0


@pytest.mark.parametrize("options, message", [
    (dict(smoothing=0.5), "smoothing must be >= 1"),
    (dict(hbond_tau=0.0), "hbond_tau must be > 0"),
    (dict(hbond_tau=float("nan")), "hbond_tau must be > 0"),
])
def test_invalid_smooth_settings_fail_at_construction(peptide, options, message):
    top, pos, _ = peptide
    with pytest.raises(ValueError, match=message):
        MadraXForce(top, pos, **options)


def test_torch_and_python_backends_agree(peptide):
    top, pos, _ = peptide
    rng = np.random.default_rng(7)
    noisy = _nm(pos) + rng.normal(0.0, 0.02, size=(top.getNumAtoms(), 3))  # cross some switch windows
    for p in (pos, noisy):
        # a fresh force per configuration: the energy module keeps state between calls (neighbour
        # list, and any history the energy may carry), and a PythonForce shares its module between
        # Contexts while every TorchForce Context loads its own copy
        (e_t, f_t), (e_p, f_p) = [
            _state(_madrax_only(peptide, MadraXForce(top, pos, backend=b, precision="double")), p)[:2]
            for b in ("torch", "python")]
        assert e_p == pytest.approx(e_t, rel=1e-5)
        scale = np.abs(f_t).max()
        np.testing.assert_allclose(f_p, f_t, rtol=1e-5, atol=1e-5 * scale)


def test_channel_weights_of_the_prepared_system(peptide):
    top, pos, system = peptide
    mx = peptide.madrax
    ch = mx.channel_energies(pos)
    assert ch["peptide_bond"] > 0.1  # channel 9 is reported ...
    e_mx, _, _ = _state(system, pos, groups={1})
    assert e_mx == pytest.approx((ch.sum() - ch["peptide_bond"]) * KJ, rel=1e-9)  # ... but not in the force
    full = MadraXForce(top, pos, precision="double", burial=mx.options.burial, channel_weights={})
    assert full.energy(pos) == pytest.approx(ch.sum() * KJ, rel=1e-12)
    with pytest.raises(ValueError, match="unknown MadraX channel"):
        MadraXForce(top, pos, channel_weights={"hbonds": 0.0})


def test_single_precision_close_to_double(peptide):
    top, pos, _ = peptide
    e64, f64, _ = _state(_madrax_only(peptide, MadraXForce(top, pos, precision="double")), pos)
    e32, f32, _ = _state(_madrax_only(peptide, MadraXForce(top, pos)), pos, platform="CPU")
    assert e32 == pytest.approx(e64, rel=1e-4, abs=0.05)
    np.testing.assert_allclose(f32, f64, rtol=1e-2, atol=1e-3 * np.abs(f64).max())


@pytest.mark.parametrize("backend", ["torch", "python"])
def test_serialization_and_deepcopy(peptide, backend):
    top, pos, _ = peptide
    mx = MadraXForce(top, pos, backend=backend, precision="double", force_group=2)
    system = _madrax_only(peptide, mx)
    e0, f0, _ = _state(system, pos)
    xml = openmm.XmlSerializer.serialize(system)
    for clone in (openmm.XmlSerializer.deserialize(xml), copy.deepcopy(system)):
        assert clone.getForce(0).getForceGroup() == 2
        e, f, _ = _state(clone, pos)
        assert e == pytest.approx(e0, rel=1e-12)
        np.testing.assert_allclose(f, f0, rtol=1e-10, atol=1e-10)


def test_model_file_and_force_groups_and_scale(peptide, tmp_path):
    top, pos, system = peptide
    e_all, _, _ = _state(system, pos)
    e_mx, _, _ = _state(system, pos, groups={1})
    e_cl, _, _ = _state(system, pos, groups={0})
    assert e_all == pytest.approx(e_mx + e_cl, rel=1e-10)
    assert e_mx == pytest.approx(peptide.madrax.energy(pos), rel=1e-9)
    half, _, _ = _state(system, pos, groups={1}, params={"madrax_scale": 0.5})
    assert half == pytest.approx(0.5 * e_mx, rel=1e-10)
    path = tmp_path / "madrax.pt"
    mx = MadraXForce(top, pos, backend="torch", precision="double", model_file=str(path), force_group=7,
                     burial="foldx", channel_weights={"peptide_bond": 0.0})
    e7, _, _ = _state(_madrax_only(peptide, mx), pos, groups={7})
    assert path.stat().st_size > 0
    assert e7 == pytest.approx(e_mx, rel=1e-10)


def test_residue_and_channel_readback(peptide):
    top, pos, system = peptide
    mx = peptide.madrax
    e, _, state = _state(system, pos, groups={1})
    df = mx.residue_energies(state)
    structure = mx.structure
    expected_cols = list(residue_frame(structure, np.zeros((structure.n_residues, len(CHANNELS)))).columns)
    assert list(df.columns) == expected_cols
    assert len(df) == structure.n_residues == top.getNumResidues()
    assert df.attrs["total"] == pytest.approx(df[list(CHANNELS)].values.sum(), rel=1e-12)
    assert (df[list(CHANNELS)].values @ mx.channel_weights).sum() * KJ == pytest.approx(e, rel=1e-9)
    ch = mx.channel_energies(pos)
    assert list(ch.index) == list(CHANNELS)
    np.testing.assert_allclose(ch.values, df[list(CHANNELS)].sum().values, rtol=1e-10, atol=1e-10)
    for source in (_nm(pos), pos):  # plain nm array, Quantity
        assert mx.channel_energies(source).sum() == pytest.approx(ch.sum(), rel=1e-12)
    with pytest.raises(ValueError, match="particles"):
        mx.residue_energies(_nm(pos)[:10])


def test_positions_free_topology(peptide):
    top, pos, _ = peptide
    with_pos = peptide.madrax
    without = MadraXForce(top, precision="double", burial="foldx", channel_weights={"peptide_bond": 0.0})
    np.testing.assert_array_equal(without.structure.next_consecutive, with_pos.structure.next_consecutive)
    assert without.structure.disulfides == with_pos.structure.disulfides
    assert without.energy(pos) == pytest.approx(with_pos.energy(pos), rel=1e-12)
    # a missing residue leaves no C-N bond: a chain break, found from the bonds alone
    modeller = app.Modeller(top, pos)
    modeller.delete([r for r in modeller.topology.residues() if r.index == 4])
    broken = MadraXForce(modeller.topology)
    assert not broken.structure.next_consecutive[3]
    assert broken.structure.next_consecutive[:3].all() and broken.structure.next_consecutive[4:-1].all()


def test_replace_and_add_systems(peptide):
    top, pos, system = peptide
    names = [f.getName() for f in system.getForces()]
    assert "MadraX" in names and "ClassicalPairs14" in names
    kinds = {type(f).__name__ for f in system.getForces()}
    assert not kinds & {"NonbondedForce", "CustomGBForce", "GBSAOBCForce", "CustomNonbondedForce"}
    pairs = [f for f in system.getForces() if f.getName() == "ClassicalPairs14"][0]
    reference = app.ForceField("amber14-all.xml").createSystem(top, nonbondedMethod=app.NoCutoff)
    nb = [f for f in reference.getForces() if isinstance(f, openmm.NonbondedForce)][0]
    exceptions = [nb.getExceptionParameters(k) for k in range(nb.getNumExceptions())]
    with_lj = sum(1 for e in exceptions if e[4].value_in_unit(unit.kilojoule_per_mole) != 0)
    nonzero = sum(1 for e in exceptions if e[2].value_in_unit(unit.elementary_charge ** 2) != 0
                  or e[4].value_in_unit(unit.kilojoule_per_mole) != 0)
    assert pairs.getNumBonds() == with_lj > 0  # default keep_14="lj": the 1-4 Lennard-Jones pairs only
    full, _ = _quiet(create_system, top, pos, mode="replace", keep_14=True, precision="double")
    full_pairs = [f for f in full.getForces() if f.getName() == "ClassicalPairs14"][0]
    assert full_pairs.getNumBonds() == nonzero >= with_lj
    assert "chargeProd/r" in full_pairs.getEnergyFunction() and "chargeProd/r" not in pairs.getEnergyFunction()
    add, mx = _quiet(create_system, top, pos, mode="add", scale=0.25, precision="double")
    kinds = {type(f).__name__ for f in add.getForces()}
    assert {"NonbondedForce", "CustomGBForce"} <= kinds
    e_mx, _, _ = _state(add, pos, groups={1})
    assert e_mx == pytest.approx(0.25 * peptide.madrax.energy(pos), rel=1e-9)


@pytest.mark.slow  # minimisation of ubiquitin, ~12 s
def test_minimizer_lowers_madrax_and_keeps_the_fold(ubiquitin):
    top, pos, system = ubiquitin
    mx = ubiquitin.madrax
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
    ctx.setPositions(pos)
    before = mx.energy(ctx)
    openmm.LocalEnergyMinimizer.minimize(ctx, 10.0, 10)
    state = ctx.getState(getPositions=True, getEnergy=True)
    x0 = _nm(pos)[mx.heavy_index]
    x1 = _nm(state.getPositions(asNumpy=True))[mx.heavy_index]
    rmsd_a = 10.0 * np.sqrt(((x1 - x0) ** 2).sum(axis=1).mean())
    assert np.isfinite(state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole))
    assert mx.energy(state) < before
    assert rmsd_a < 1.0


@pytest.mark.slow  # minimisation + MD, ~15 s
def test_clash_minimises_without_nan(peptide):
    top, pos, system = peptide
    x = _nm(pos).copy()
    heavy = peptide.madrax.heavy_index
    res = {a.index: a.residue.index for a in top.atoms()}
    # the closest heavy-atom pair two or more residues apart, pushed to 0.5 A
    best = None
    for i in heavy:
        for j in heavy:
            if res[j] - res[i] >= 2:
                d = np.linalg.norm(x[i] - x[j])
                if best is None or d < best[0]:
                    best = (d, i, j)
    _, i, j = best
    direction = (x[j] - x[i]) / np.linalg.norm(x[j] - x[i])
    shift = x[i] + 0.05 * direction - x[j]  # 0.05 nm = 0.5 A
    moved = [a.index for a in top.atoms() if a.residue.index == res[j]]
    x[moved] += shift
    assert np.linalg.norm(x[i] - x[j]) == pytest.approx(0.05)
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"))
    ctx.setPositions(x)
    clash_before = peptide.madrax.channel_energies(ctx)["clash"]
    assert np.isfinite(clash_before) and clash_before > 1.0  # smooth MadraX is finite at 0.5 A
    e_before = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)
    openmm.LocalEnergyMinimizer.minimize(ctx, 10.0, 100)
    state = ctx.getState(getPositions=True, getEnergy=True, getForces=True)
    xm = _nm(state.getPositions(asNumpy=True))
    assert np.isfinite(xm).all()
    assert np.isfinite(state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole))
    assert np.isfinite(state.getForces(asNumpy=True).value_in_unit(unit.kilojoule_per_mole / unit.nanometer)).all()
    # the shifted residue also stretched two peptide bonds, so the start is far from any minimum
    assert state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole) < 0.01 * e_before
    assert np.linalg.norm(xm[i] - xm[j]) > 0.1  # pushed apart to more than 1 A


@pytest.mark.slow  # MD
def test_md_replace_mode_ubiquitin(ubiquitin):
    top, pos, system = ubiquitin
    # 2 fs with the force's MD setting (with the scoring setting ubiquitin heats by ~100 K in 3 ps)
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    integrator.setRandomNumberSeed(1)
    sim = app.Simulation(top, system, integrator, openmm.Platform.getPlatformByName("CPU"))
    sim.context.setPositions(pos)
    sim.minimizeEnergy(maxIterations=50)
    sim.context.setVelocitiesToTemperature(300 * unit.kelvin, 1)
    n_dof = 3 * system.getNumParticles() - system.getNumConstraints() - 3
    for _ in range(3):
        sim.step(50)
        state = sim.context.getState(getEnergy=True, getPositions=True)
        assert np.isfinite(state.getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole))
        assert np.isfinite(_nm(state.getPositions(asNumpy=True))).all()
        kinetic = state.getKineticEnergy().value_in_unit(unit.kilojoule_per_mole)
        assert 2 * kinetic / (n_dof * 0.0083144626) < 400.0  # no runaway heating
    assert np.isfinite(ubiquitin.madrax.channel_energies(state).values).all()


def _cli_input() -> Path:
    return reference_input("alanine")


def _energy_numbers(line: str):
    """(potential kJ/mol, MadraX force kcal/mol, MadraX exact kcal/mol) from a before/after line."""
    import re

    pot = float(re.search(r"potential (-?[\d.]+) kJ/mol", line).group(1))
    force = float(re.search(r"MadraX force (-?[\d.]+) kcal/mol", line).group(1))
    exact = float(re.search(r"MadraX exact (-?[\d.]+) kcal/mol \(as 'score'\)", line).group(1))
    return pot, force, exact


def test_cli_minimize(tmp_path, capsys):
    """minimize prints comparable, labelled energies; the potential it minimises goes down, and its
    'exact' number is the one 'score' gives for the same heavy atoms."""
    import pandas as pd

    from openmm_madrax import score
    from openmm_madrax.cli import main

    out = tmp_path / "min.pdb"
    scores = tmp_path / "scores.csv"
    rc = _quiet(main, ["minimize", str(_cli_input()), "-o", str(out), "--max-iterations", "10",
                       "--scores", str(scores), "--platform", "CPU"])
    assert rc == 0
    err = capsys.readouterr().err
    before = _energy_numbers(next(line for line in err.splitlines() if line.startswith("before:")))
    after = _energy_numbers(next(line for line in err.splitlines() if line.startswith("after:")))
    assert after[0] < before[0]  # the potential the minimiser lowers
    assert after[1] < before[1]  # ... and the MadraX energy of the force with it
    assert "smooth-md surface, without peptide_bond" in err
    exact_input = _quiet(score, str(_cli_input())).attrs["total"]
    assert before[2] == pytest.approx(exact_input, abs=0.01)  # same heavy atoms, same number as score
    assert pd.read_csv(scores)[list(CHANNELS)].values.sum() == pytest.approx(after[2], abs=0.01)
    pdb = app.PDBFile(str(out))
    assert any(a.element.symbol == "H" for a in pdb.topology.atoms())
    import pandas as pd

    df = pd.read_csv(scores)
    assert list(df.columns[3:]) == list(CHANNELS) and np.isfinite(df[list(CHANNELS)].values).all()


@pytest.mark.slow  # MD
def test_cli_md_with_checkpoint_and_restart(tmp_path):
    import mdtraj
    import pandas as pd

    from openmm_madrax.cli import main

    traj = tmp_path / "traj.dcd"
    chk = tmp_path / "state.chk"
    base = ["md", str(_cli_input()), "-o", str(traj), "--report-interval", "10", "--platform", "CPU",
            "--checkpoint", str(chk), "--seed", "3", "--no-progress"]
    plot = tmp_path / "md.png"
    assert _quiet(main, base + ["--steps", "20", "--minimize-iterations", "10", "--plot", str(plot)]) == 0
    energies = pd.read_csv(tmp_path / "traj_energies.csv")
    assert list(energies["step"]) == [10, 20] and np.isfinite(energies[list(CHANNELS)].values).all()
    assert np.isfinite(energies[["madrax_force_kcal", "madrax_exact_kcal"]].values).all()
    assert plot.stat().st_size > 10_000
    assert chk.exists() and (tmp_path / "traj.log").exists()
    assert _quiet(main, base + ["--steps", "10", "--restart", str(chk)]) == 0
    energies = pd.read_csv(tmp_path / "traj_energies.csv")
    assert list(energies["step"]) == [10, 20, 30]
    frames = mdtraj.load(str(traj), top=str(tmp_path / "traj_top.pdb"))
    assert frames.n_frames == 3 and np.isfinite(frames.xyz).all()
