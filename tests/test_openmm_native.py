"""OpenMM-native MadraX: ``system.addForce(MadraXForce(topology))``, readback of serialized Systems,
and openmm-ml's ``MLPotential('madrax')`` (createSystem / createMixedSystem)."""
from __future__ import annotations

import copy

import numpy as np
import pytest

openmm = pytest.importorskip("openmm")
from openmm import app, unit  # noqa: E402

from helpers import UBIQUITIN, quiet  # noqa: E402




@pytest.fixture(scope="module")
def ubi():
    from openmm_madrax.openmm import prepare_system

    return quiet(prepare_system, UBIQUITIN, mode="replace", precision="double")


def _energy(system, positions, groups=None):
    ctx = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName("CPU"),
                         {"Threads": "1"})
    ctx.setPositions(positions)
    kw = {} if groups is None else {"groups": groups}
    return ctx.getState(getEnergy=True, **kw).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole)


@pytest.mark.slow  # MD steps in amber14 + GBn2; ~95 s on 2 loaded cores
def test_madraxforce_is_an_openmm_force_in_a_gbn2_system(ubi):
    from openmm_madrax import MadraXForce
    from openmm_madrax.openmm import create_system

    top, pos = ubi.topology, ubi.positions
    system = app.ForceField("amber14-all.xml", "implicit/gbn2.xml").createSystem(
        top, nonbondedMethod=app.NoCutoff, constraints=app.HBonds)
    force = MadraXForce(top, pos, precision="double", burial="foldx", force_group=5)  # create_system's burial
    assert isinstance(force, openmm.Force) and isinstance(force, MadraXForce)
    system.addForce(force)  # the System owns it now
    e_force = _energy(system, pos, {5})
    builder, mx = create_system(top, pos, mode="add", precision="double", channel_weights={}, force_group=5)
    e_builder = _energy(builder, pos, {5})
    assert e_force == pytest.approx(e_builder, rel=1e-5)
    assert e_force == pytest.approx(force.energy(pos), rel=1e-5)  # readback on the object still works
    # the whole System runs (MadraX beside amber14 + GBn2; GBn2 NoCutoff is the slow part here)
    integ = openmm.LangevinMiddleIntegrator(300 * unit.kelvin, 1 / unit.picosecond, 0.5 * unit.femtosecond)
    ctx = openmm.Context(system, integ, openmm.Platform.getPlatformByName("CPU"), {"Threads": "1"})
    ctx.setPositions(pos)
    integ.step(2)
    assert np.isfinite(ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit.kilojoule_per_mole))


@pytest.mark.parametrize("backend", ["torch", "python"])
def test_readback_of_serialized_and_copied_systems(ubi, backend):
    from openmm_madrax import MadraXForce
    from openmm_madrax.openmm import madrax_energies

    top, pos = ubi.topology, ubi.positions
    system = openmm.System()
    for a in top.atoms():
        system.addParticle(a.element.mass)
    force = MadraXForce(top, pos, precision="double", backend=backend)
    system.addForce(force)
    reference = force.residue_energies(pos)
    for other in (openmm.XmlSerializer.deserialize(openmm.XmlSerializer.serialize(system)), copy.deepcopy(system)):
        assert _energy(other, pos) == pytest.approx(_energy(system, pos), rel=1e-6)
        e = madrax_energies(other, pos)
        assert e.shape == (76, 11)
        np.testing.assert_allclose(e.sum(), reference.attrs["total"], rtol=1e-6)


def test_subset_of_particles_and_partial_residues(ubi):
    from openmm_madrax import MadraXForce, StructureError

    top, pos = ubi.topology, ubi.positions
    region = [a.index for a in top.atoms() if a.residue.index < 30]
    f = MadraXForce(top, pos, precision="double", atoms=region)
    assert f.structure.n_residues == 30 and set(f.heavy_index) <= set(region)
    with pytest.raises(StructureError, match="cut through 1 residue"):
        MadraXForce(top, pos, atoms=region + [next(a.index for a in top.atoms() if a.residue.index == 30)])


def test_mlpotential_create_system_equals_the_builder(ubi):
    mlp = pytest.importorskip("openmmml")
    from openmm_madrax.openmm import create_system

    top, pos = ubi.topology, ubi.positions
    system = mlp.MLPotential("madrax", precision="double").createSystem(top, positions=pos)
    builder, _ = create_system(top, pos, mode="replace", constraints=None, precision="double", force_group=0)
    assert _energy(system, pos) == pytest.approx(_energy(builder, pos), rel=1e-5)
    assert any(system.getForce(k).getName() == "MadraX" for k in range(system.getNumForces()))


def test_mlpotential_create_mixed_system(ubi):
    mlp = pytest.importorskip("openmmml")
    from openmm_madrax import MadraXForce

    top, pos = ubi.topology, ubi.positions
    mm = app.ForceField("amber14-all.xml", "implicit/gbn2.xml").createSystem(top, nonbondedMethod=app.NoCutoff,
                                                                            constraints=None)
    region = [a.index for a in top.atoms() if 10 <= a.residue.index < 40]
    mixed = mlp.MLPotential("madrax").createMixedSystem(top, mm, region, forceGroup=3, positions=pos,
                                                          precision="double")
    alone = MadraXForce(top, pos, atoms=region, precision="double", channel_weights={"peptide_bond": 0})
    madrax_part = [mixed.getForce(k) for k in range(mixed.getNumForces()) if mixed.getForce(k).getName() == "MadraX"]
    assert len(madrax_part) == 1
    # group 3 = MadraX on the region + the region's bonded terms (openmm-ml removed them from the MM part)
    e_group = _energy(mixed, pos, {3})
    bonded = e_group - alone.energy(pos)
    assert np.isfinite(e_group) and abs(bonded) > 1.0
    # the energy of the whole mixed System differs from the MM System only inside the region
    assert np.isfinite(_energy(mixed, pos))
