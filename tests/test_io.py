import h5py
import numpy as np
import pytest

from pdeflow.equations import FokkerPlanck, Heat, PorousMedium
from pdeflow.grid import Grid
from pdeflow.exact import GaussianMixture, GaussianMixtureFlow
from pdeflow.io import atomic_h5, load_flow_map, load_solution, save_flow_map, save_solution
from pdeflow.solvers.flow_map import integrate_flow_map
from pdeflow.solvers.solution import GridSolution


def fake_solution(equation, grid, nt=3, seed=0):
    rng = np.random.default_rng(seed)
    faces = tuple(rng.random((nt, *[n + (i == a) for i, n in enumerate(grid.shape)]))
                  for a in range(grid.dim))
    return GridSolution(equation, grid, np.linspace(0, 1, nt), rng.random((nt, *grid.shape)),
                        rng.random((nt, grid.dim, *grid.shape)), faces, rng.random(nt),
                        rng.random(nt), {"steps": 12, "cfl": 0.4, "scheme": "upwind"})


@pytest.mark.parametrize("equation", [Heat(D=0.3, dim=2), FokkerPlanck(D=0.5, kappa=1.0, dim=2),
                                      PorousMedium(m=2.5, D=1.0, kappa=1.0, dim=2)])
def test_round_trip_preserves_everything(tmp_path, equation):
    grid = Grid((-1.0, -2.0), (1.0, 2.0), (5, 7))
    sol = fake_solution(equation, grid)
    loaded = load_solution(save_solution(tmp_path / "run.h5", sol))
    assert loaded.equation == equation and loaded.grid == grid
    for name in ("times", "density", "velocity", "mass", "energy"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(sol, name))
    for a, b in zip(loaded.face_velocity, sol.face_velocity):
        np.testing.assert_array_equal(a, b)
    assert loaded.diagnostics == sol.diagnostics


def test_interrupted_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "run.h5"
    sol = fake_solution(Heat(D=1.0, dim=1), Grid((0.0,), (1.0,), (4,)))
    save_solution(target, sol)
    before = target.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        with atomic_h5(target, kind="grid_solution") as f:
            f.create_dataset("times", data=np.zeros(3))
            raise KeyboardInterrupt
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]


def test_reading_a_file_of_another_kind_is_refused(tmp_path):
    with atomic_h5(tmp_path / "other.h5", kind="flow_map"):
        pass
    with pytest.raises(ValueError, match="kind"):
        load_solution(tmp_path / "other.h5")


def test_newer_schema_is_refused(tmp_path):
    sol = fake_solution(Heat(D=1.0, dim=1), Grid((0.0,), (1.0,), (4,)))
    path = save_solution(tmp_path / "run.h5", sol)
    with h5py.File(path, "a") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(ValueError, match="schema_version"):
        load_solution(path)


def test_flow_map_round_trip_keeps_positions_and_provenance(tmp_path):
    flow = GaussianMixtureFlow(FokkerPlanck(D=0.5, kappa=1.0, dim=2),
                               GaussianMixture.isotropic([1.0], [[0.2, -0.1]], [0.6]))
    x0 = flow.initial.sample(50, seed=0)
    fmap = integrate_flow_map(flow, x0, [0.0, 0.5, 1.0], dt=0.05)
    loaded = load_flow_map(save_flow_map(tmp_path / "map.h5", fmap))
    for name in ("x0", "times", "positions"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(fmap, name))
    assert loaded.provenance == fmap.provenance
    with pytest.raises(ValueError, match="kind"):
        load_solution(tmp_path / "map.h5")


def test_atomic_file_keeps_the_old_file_on_failure_and_tags_its_temporary(tmp_path):
    from pdeflow.io import _TEMPORARY, atomic_file

    target = tmp_path / "table.txt"
    atomic_file(target, lambda tmp: tmp.write_text("first"))
    seen = []

    def broken(tmp):
        seen.append(tmp.name)
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")

    with pytest.raises(RuntimeError):
        atomic_file(target, broken)
    assert target.read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.txt"]
    assert _TEMPORARY.match(seen[0]) and seen[0].endswith(".txt")   # cleaned up by a later run
