"""The MD protocol of replace mode (issue 13): 1-4 pairs without their vacuum Coulomb part, FoldX burial
in the force, and a short MD of ubiquitin that the protocol before issue 13 fails (helix lost, C-alpha
drift).  Numbers behind the bounds: README "MD stability" and benchmarks/md_protocols.py."""
from __future__ import annotations

import numpy as np
import pytest

openmm = pytest.importorskip("openmm")
from openmm import unit  # noqa: E402

from openmm_madrax.openmm import prepare_system  # noqa: E402

from helpers import UBIQUITIN  # noqa: E402
from helpers import quiet as _quiet  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _pairs14(system):
    return [f for f in system.getForces() if f.getName() == "ClassicalPairs14"][0]


def test_replace_mode_defaults_drop_the_14_coulomb_and_use_foldx_burial():
    prepared = _quiet(prepare_system, UBIQUITIN, mode="replace")
    assert prepared.madrax.options.burial == "foldx"
    pairs = _pairs14(prepared.system)
    assert "chargeProd/r" not in pairs.getEnergyFunction()
    # the 1-4 force is exactly the Lennard-Jones part of the exceptions: zero energy for a pair at
    # r = sigma and no Coulomb term for the charged backbone pairs
    k = next(k for k in range(pairs.getNumBonds()) if pairs.getBondParameters(k)[2][0] != 0.0)
    i, j, (qq, sigma, eps) = pairs.getBondParameters(k)
    single = openmm.CustomBondForce(pairs.getEnergyFunction())
    for name in ("chargeProd", "sigma", "epsilon"):
        single.addPerBondParameter(name)
    single.addBond(0, 1, [qq, sigma, eps])
    system = openmm.System()
    system.addParticle(1.0)
    system.addParticle(1.0)
    system.addForce(single)
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("Reference"))
    ctx.setPositions([[0, 0, 0], [sigma, 0, 0]])
    assert ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole) == \
        pytest.approx(0.0, abs=1e-9)
    old = _quiet(prepare_system, UBIQUITIN, mode="replace", keep_14=True, burial="madrax")
    assert old.madrax.options.burial == "madrax" and "chargeProd/r" in _pairs14(old.system).getEnergyFunction()
    with pytest.raises(ValueError, match="keep_14"):
        _quiet(prepare_system, UBIQUITIN, mode="replace", keep_14="coulomb")


@pytest.mark.slow
def test_replace_mode_md_keeps_the_ubiquitin_helix():
    """2 ps of replace-mode MD (2 fs, 300 K) after 100 L-BFGS steps.  Measured with this protocol
    (seeds 1 / 2): the defaults keep a DSSP helix fraction of 0.20 / 0.22 (crystal 0.25), C-alpha RMSD
    1.47 / 1.28 A, H-bond channel -28 / -30 kcal/mol; the protocol before issue 13 (keep_14=True,
    burial="madrax") loses the helix (0.00 / 0.00), drifts to 2.06 / 2.09 A, H-bonds -14 / -9."""
    import mdtraj as md

    prepared = _quiet(prepare_system, UBIQUITIN, mode="replace")
    top, pos, system = prepared
    integrator = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 2 * unit.femtosecond)
    integrator.setRandomNumberSeed(1)
    ctx = openmm.Context(system, integrator, openmm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    ctx.setPositions(pos)
    openmm.LocalEnergyMinimizer.minimize(ctx, 10.0, 100)
    ctx.setVelocitiesToTemperature(300 * unit.kelvin, 1)
    integrator.step(1000)
    x = ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.nanometer)
    assert np.isfinite(x).all()
    x0 = np.asarray(pos.value_in_unit(unit.nanometer))
    traj = md.Trajectory(np.array([x0, x]), md.Topology.from_openmm(top))
    helix = (md.compute_dssp(traj, simplified=True) == "H").mean(axis=1)
    assert helix[0] > 0.2  # the crystal structure
    assert helix[1] > 0.1
    ca = traj.topology.select("name CA")
    a = x[ca] - x[ca].mean(0)
    b = x0[ca] - x0[ca].mean(0)
    u, s, vt = np.linalg.svd(a.T @ b)
    s[-1] *= np.sign(np.linalg.det(u @ vt))
    rmsd_a = 10.0 * np.sqrt(max((a ** 2).sum() + (b ** 2).sum() - 2.0 * s.sum(), 0.0) / len(ca))
    assert rmsd_a < 1.8
    assert prepared.madrax.channel_energies(x)["hbond"] < -20.0
