"""Grid: sampling a piecewise-constant density."""
import numpy as np
import pytest

from _rounding import assert_same_to_rounding
from pdeflow.grid import Grid


def test_sample_density_follows_the_cell_masses_and_stays_in_its_cells():
    grid = Grid((0.0, 0.0), (2.0, 1.0), (4, 2))
    rho = np.arange(8, dtype=float).reshape(4, 2)          # cell 0 is empty
    points = grid.sample_density(rho, 40_000, seed=0)
    assert np.all(grid.contains(points))
    cells = np.floor(points / np.array(grid.spacing)).astype(int)
    counts = np.zeros((4, 2))
    np.add.at(counts, (cells[:, 0], cells[:, 1]), 1)
    expected = 40_000 * rho / rho.sum()
    assert counts[0, 0] == 0
    # binomial standard deviations: every cell within 5 of them
    assert np.all(np.abs(counts - expected) <= 5 * np.sqrt(expected + 1))
    # uniform inside a cell: the mean offset is half a cell
    offsets = points / np.array(grid.spacing) - cells
    np.testing.assert_allclose(offsets.mean(0), 0.5, atol=0.01)
    np.testing.assert_array_equal(grid.sample_density(rho, 5, seed=1),
                                  grid.sample_density(rho, 5, seed=1))


def test_sample_density_bad_input():
    grid = Grid.cube(1.0, 4, 1)
    with pytest.raises(ValueError, match="shape"):
        grid.sample_density(np.ones(5), 3, 0)
    with pytest.raises(ValueError, match=">= 0"):
        grid.sample_density(-np.ones(4), 3, 0)
    with pytest.raises(ValueError, match="positive mass"):
        grid.sample_density(np.zeros(4), 3, 0)


def test_density_sampler_draws_what_generator_choice_draws():
    """The sampler builds the cumulative distribution once; its draws equal the cell choice of
    Generator.choice(p=rho / sum rho) followed by a uniform point in the cell (the same cells; the
points to a few roundings of the box's coordinates, whatever the order of the operations)."""
    grid = Grid.cube(2.0, 37, 2)
    rho = np.random.default_rng(1).random(grid.shape) ** 3
    rho[3:9] = 0.0
    sampler = grid.density_sampler(rho)
    for seed in (0, 5, 123):
        rng = np.random.default_rng(seed)
        cells = rng.choice(rho.size, size=500, p=rho.ravel() / rho.sum())
        index = np.stack(np.unravel_index(cells, grid.shape), axis=1)
        spacing = np.asarray(grid.spacing)
        expected = (np.asarray(grid.lower) + index * spacing
                    + rng.uniform(size=(500, 2)) * spacing)
        scale = np.abs(np.asarray(grid.lower)) + np.abs(np.asarray(grid.upper))
        assert_same_to_rounding(sampler(500, seed), expected, scale, ulps=4)
        assert_same_to_rounding(grid.sample_density(rho, 500, seed), expected, scale, ulps=4)
    points = sampler(2000, 7)
    assert grid.contains(points).all()
    cells = np.floor((points - np.asarray(grid.lower)) / np.asarray(grid.spacing)).astype(int)
    assert np.all(rho[cells[:, 0], cells[:, 1]] > 0)   # never a cell of zero density
    with pytest.raises(ValueError, match="rho must be finite"):
        grid.density_sampler(-rho)
