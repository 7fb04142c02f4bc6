"""The fused row-by-row CCH stage kernel against a plain numpy transcription of the scheme
(docs/scheme.md): the same upwind flux, minmod slopes (zero in the wall cells), step limit."""
import numpy as np
import pytest

from pdeflow.equations import FokkerPlanck, PorousMedium
from pdeflow.grid import Grid
from pdeflow.solvers import finite_volume as F
from pdeflow.solvers import _kernels_fv as K


def _minmod(a, b):
    return np.where((a > 0) & (b > 0), np.minimum(a, b),
                    np.where((a < 0) & (b < 0), np.maximum(a, b), 0.0))


def reference_rhs(equation, grid, rho, order):
    """-div(flux) and the step limit, axis by axis with numpy (rho: grid.shape)."""
    xi = equation.chemical_potential(rho, grid.coordinates(), axis=0)
    rhs = np.zeros_like(rho)
    transport, rmax = 0.0, rho.max()
    for axis, h in enumerate(grid.spacing):
        r = np.moveaxis(rho, axis, 0)
        slope = np.zeros_like(r)
        if order == 2:
            slope[1:-1] = _minmod(r[1:-1] - r[:-2], r[2:] - r[1:-1])
        u = -np.diff(np.moveaxis(xi, axis, 0), axis=0) / h
        flux = (np.maximum(u, 0) * (r[:-1] + 0.5 * slope[:-1])
                + np.minimum(u, 0) * (r[1:] - 0.5 * slope[1:]))
        div = np.zeros_like(r)
        div[:-1] += flux / h
        div[1:] -= flux / h
        rhs -= np.moveaxis(div, 0, axis)
        transport += 2 * np.abs(u).max() / h
    d_eff = equation.D if equation.is_linear else equation.D * equation.m * rmax ** (
        equation.m - 1)
    parabolic = 2 * d_eff * sum(1 / h ** 2 for h in grid.spacing)
    return rhs, 1.0 / max(transport, parabolic)


CASES = [(PorousMedium(m=2.0, D=1.0, kappa=1.0, dim=1), (23,)),
         (PorousMedium(m=2.0, D=0.7, kappa=1.3, dim=2), (9, 12)),
         (PorousMedium(m=3.0, D=1.0, kappa=1.0, dim=2), (8, 7)),
         (PorousMedium(m=2.5, D=1.0, kappa=0.5, dim=3), (6, 5, 7)),
         (FokkerPlanck(D=0.5, kappa=1.0, dim=3), (5, 6, 4))]


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("equation, shape", CASES)
def test_stage_matches_the_numpy_scheme(equation, shape, order):
    grid = Grid(tuple(-1.0 - 0.1 * i for i in range(len(shape))),
                tuple(1.0 + 0.2 * i for i in range(len(shape))), shape)
    rng = np.random.default_rng(7)
    rho = rng.random(shape) + (0.1 if equation.is_linear else 0.0)
    if not equation.is_linear:
        rho[rho < 0.3] = 0.0     # support with holes: zero cells, one-sided slopes
    ref_rhs, ref_limit = reference_rhs(equation, grid, rho, order)
    pshape = F._padded_shape(grid)
    src = np.ascontiguousarray(rho.reshape(pshape))
    base = rng.random(pshape)
    out = np.empty(pshape)
    nchunks = K.chunk_count(pshape)
    scratch = np.zeros((nchunks, K._CCH_BUFFERS, pshape[2] + 1))
    red = np.zeros((nchunks, 4))
    kind = K.LINEAR if equation.is_linear else K.POROUS
    m = float(getattr(equation, "m", 2.0))
    dt, c_base, c_src = 1e-3, 0.25, 0.75
    limit = K.cch_stage(src, base, out, F._potential(equation, grid), F._padded_inv_h(grid),
                        kind, equation.D, m, order, c_base, c_src, dt, scratch, red)
    expected = c_base * base + c_src * (src + dt * ref_rhs.reshape(pshape))
    scale = np.abs(ref_rhs).max() * dt
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-13 * scale + 1e-15)
    np.testing.assert_allclose(limit, ref_limit, rtol=1e-13)
    # the separate limit pass (each step's first) gives the stage's limit (to rounding)
    assert F.stable_time_step(equation, grid, rho, order=order) == pytest.approx(limit, rel=1e-14)
    # the scheme conserves mass: sum of the update is c_base sum(base) + c_src sum(src)
    assert abs((out - c_base * base).sum() - c_src * src.sum()) < 1e-13 * src.sum()
