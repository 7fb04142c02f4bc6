"""The study's default problems and initial data, defined once.

* :func:`three_component_mixture` - the three-component Gaussian mixture in 1-3 D used by the
  demo and the default epsilon study.
* :func:`capped_mixture_density` - the 2-D mixture on an elliptic cap: porous-medium data with a
  convex support and a pressure linear at the front (what the 2-D Lagrangian solver needs).
* :func:`rings_density` - two concentric Gaussian rings (shells in 3-D, point pairs in 1-D).
* :func:`load_samples` - a user's samples file (``.npy`` or ``.csv``, shape (n, d)).
* :func:`grid_initial_density` - an initial density on a grid, prepared for an equation: scaled
  to unit mass, with compact support (porous medium) or strictly positive (linear family).
* :func:`demo_problem` - the ``pdeflow demo`` problem.

Points are (n, d) arrays; densities on grids ``(*shape)`` arrays (DESIGN.md section 6).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..equations import GradientFlow, PorousMedium
from ..exact import GaussianMixture
from ..grid import Grid

__all__ = ["three_component_mixture", "capped_mixture_density", "rings_density", "load_samples",
           "grid_initial_density",
           "demo_problem", "PRESENCE_CUTOFF", "LINEAR_FLOOR"]

#: Porous-medium initial data are set to 0 where rho < PRESENCE_CUTOFF * max rho (compact support
#: away from the no-flux walls, which the finite-volume solver requires).
PRESENCE_CUTOFF = 1e-6
#: Linear-equation initial data are raised to LINEAR_FLOOR * max rho where they are smaller
#: (log rho must be finite on every cell; on the default grid the floor adds < 1e-25 of the mass).
LINEAR_FLOOR = 1e-30

_MEANS_2D = np.array([[-1.2, -0.6], [1.1, -0.4], [0.0, 1.3]])
_THIRD_AXIS = np.array([0.3, -0.5, 0.2])


def three_component_mixture(dim: int = 2) -> GaussianMixture:
    """Weights (0.4, 0.35, 0.25), isotropic stds (0.35, 0.3, 0.4); means in 2-D
    (-1.2, -0.6), (1.1, -0.4), (0, 1.3); 1-D keeps the first coordinate, 3-D appends
    (0.3, -0.5, 0.2)."""
    if dim not in (1, 2, 3):
        raise ValueError(f"dim must be 1, 2 or 3, got {dim}")
    means = _MEANS_2D[:, :1] if dim == 1 else _MEANS_2D
    if dim == 3:
        means = np.column_stack([_MEANS_2D, _THIRD_AXIS])
    return GaussianMixture.isotropic([0.4, 0.35, 0.25], means, [0.35, 0.3, 0.4])


#: The elliptic cap of :func:`capped_mixture_density` in 3-D (1-D and 2-D keep the leading
#: coordinates): centre and semi-axes (length), and the floor of the bracket (the density
#: contrast of the modes is at most (1 + floor) / floor = 5).
CAP_CENTRE = (-0.1, -0.05, 0.0)
CAP_SEMI_AXES = (2.376, 2.2, 2.2)
CAP_FLOOR = 0.25
#: Gauss-Legendre nodes per radial / polar direction and equispaced azimuths of the quadrature
#: that fixes the cap's mass (its integrand is smooth inside the unit ball).
_CAP_NODES, _CAP_AZIMUTHS = 64, 128


def _unit_ball_quadrature(dim: int):
    """(points (n, dim), weights (n,)) integrating smooth functions over the unit ball."""
    x, w = np.polynomial.legendre.leggauss(_CAP_NODES)
    if dim == 1:
        return x[:, None], w
    r, wr = 0.5 * (x + 1.0), 0.5 * w
    phi = 2 * np.pi * np.arange(_CAP_AZIMUTHS) / _CAP_AZIMUTHS
    wphi = np.full(_CAP_AZIMUTHS, 2 * np.pi / _CAP_AZIMUTHS)
    if dim == 2:
        rr, pp = np.meshgrid(r, phi, indexing="ij")
        weights = np.outer(wr * r, wphi)
        return np.stack([rr * np.cos(pp), rr * np.sin(pp)], -1).reshape(-1, 2), weights.ravel()
    rr, cc, pp = np.meshgrid(r, x, phi, indexing="ij")          # cc = cos(polar angle)
    ss = np.sqrt(1.0 - cc ** 2)
    weights = (wr * r ** 2)[:, None, None] * w[None, :, None] * wphi[None, None, :]
    points = np.stack([rr * ss * np.cos(pp), rr * ss * np.sin(pp), rr * cc], -1)
    return points.reshape(-1, 3), weights.ravel()


def capped_mixture_density(equation: PorousMedium):
    """The three-component mixture on an elliptic cap, as porous-medium data (unit mass, 1-3 D).

    ``rho0(x) = E(x) B(x)`` with ``E = equation.density_from_pressure(S (1 - q(x))_+)``, q the
    quadratic form of the ellipsoid (CAP_CENTRE, CAP_SEMI_AXES; q = 1 on its edge) and
    ``B = CAP_FLOOR + mixture(x) / max_k mixture(mean_k)``. The support is the ellipsoid (convex)
    and the pressure vanishes linearly at its edge (the Barenblatt behaviour), unlike the
    mixture truncated at PRESENCE_CUTOFF: its edge is a jump of the density, its support is not
    convex, and under the confined flow its Gaussian tail is swept into a thin layer and its bays
    close (docs/certified_truth.md, section 5). S is fixed by unit mass (Gauss quadrature on the
    ellipsoid). Returns a callable points (n, dim) -> (n,).
    """
    if not isinstance(equation, PorousMedium) or equation.dim not in (1, 2, 3):
        raise ValueError(f"equation must be a PorousMedium in 1-3 dimensions, got {equation!r}")
    dim = equation.dim
    mixture = three_component_mixture(dim)
    centre, axes = np.array(CAP_CENTRE[:dim]), np.array(CAP_SEMI_AXES[:dim])
    peak = float(mixture.density(mixture.means).max())

    def shape(x):            # (1 - q)_+^(1/(m-1)) B: the density for S = m / (m - 1)
        x = np.asarray(x, dtype=np.float64)
        cap = np.maximum(1.0 - (((x - centre) / axes) ** 2).sum(-1), 0.0)
        return equation.density_from_pressure(equation.m / (equation.m - 1.0) * cap) * (
            CAP_FLOOR + mixture.density(x) / peak)

    points, weights = _unit_ball_quadrature(dim)
    mass = float(weights @ shape(centre + axes * points)) * float(axes.prod())
    return lambda x: shape(x) / mass


def rings_density(x, radii=(1.0, 2.0), weights=(0.4, 0.6), width: float = 0.2) -> np.ndarray:
    """Unnormalised ``sum_k w_k exp(-(|x| - r_k)^2 / (2 width^2)) / r_k^(d-1)`` at points (n, d).

    Dividing by r_k^(d-1) gives each ring a mass proportional to w_k (shells have area ~ r^(d-1)).
    Normalise on the grid (:func:`grid_initial_density`).
    """
    x = np.asarray(x, dtype=np.float64)
    r = np.sqrt((x ** 2).sum(-1))
    d = x.shape[-1]
    return sum(w * np.exp(-0.5 * ((r - rk) / width) ** 2) / rk ** (d - 1)
               for rk, w in zip(radii, weights))


def load_samples(path, dim: int) -> np.ndarray:
    """Samples (n, dim) from a ``.npy`` or ``.csv`` file (comma-separated, no header)."""
    path = Path(path)
    if not path.exists():
        raise ValueError(f"samples_file {str(path)!r} does not exist")
    if path.suffix not in (".npy", ".csv"):
        raise ValueError(f"samples_file must end in .npy or .csv, got {path.name!r}")
    try:
        if path.suffix == ".npy":
            data = np.asarray(np.load(path), dtype=np.float64)
        else:
            data = np.loadtxt(path, delimiter=",", ndmin=2)
    except (ValueError, TypeError, OSError, EOFError) as err:
        what = ("a .npy array of real numbers" if path.suffix == ".npy" else
                "comma-separated numbers, one sample per line, no header line")
        raise ValueError(f"samples_file {str(path)!r} cannot be read as {what}: {err}") from None
    if data.ndim == 1 and dim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[1] != dim or len(data) < 2:
        raise ValueError(f"samples_file must hold an (n, {dim}) array with n >= 2, got shape "
                         f"{data.shape}")
    if not np.all(np.isfinite(data)):
        raise ValueError("samples_file contains NaN or inf")
    return data


def grid_initial_density(density, grid: Grid, equation: GradientFlow) -> np.ndarray:
    """``density(points (n, d)) -> (n,)`` on ``grid``, prepared for ``equation``, unit mass.

    Porous medium: zero below PRESENCE_CUTOFF * max (compact support); ValueError if the support
    still touches the outer cell layer (enlarge the grid). Linear: raised to LINEAR_FLOOR * max.
    """
    rho = np.asarray(grid.sample_field(density), dtype=np.float64)
    if not (np.all(np.isfinite(rho)) and rho.max() > 0):
        raise ValueError("the initial density is not finite and positive on the grid")
    if isinstance(equation, PorousMedium):
        rho = np.where(rho < PRESENCE_CUTOFF * rho.max(), 0.0, rho)
        outer = np.ones(grid.shape, dtype=bool)
        outer[tuple(slice(1, -1) for _ in range(grid.dim))] = False
        if np.any(rho[outer] > 0):
            raise ValueError(f"the initial data reach the edge of the box [-{grid.upper[0]}, "
                             f"{grid.upper[0]}]^{grid.dim}; enlarge half_width")
    else:
        rho = np.maximum(rho, LINEAR_FLOOR * rho.max())
    return rho / grid.integrate(rho)


def demo_problem(n: int = 128):
    """The demo's equation, grid, initial density and snapshot times.

    Confined porous medium m = 2 (D = 1, kappa = 1) on [-4, 4]^2 from the three-component
    mixture (scaled to unit mass and truncated far below the support edge so the support starts
    compact).
    """
    equation = PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=2)
    grid = Grid.cube(4.0, n, 2)
    rho0 = grid_initial_density(three_component_mixture(2).density, grid, equation)
    times = np.array([0.0, 0.05, 0.2, 0.6, 1.5])
    return equation, grid, rho0, times
