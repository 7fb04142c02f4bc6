import pytest
import torch
from hypothesis import given, strategies as st

from pdeflow.manifold_flows.diagnostics import (cosine_matrix, intrinsic_dimension, latent_usage,
                                          inverse_condition, local_dimension, macs, metric_at, plot_metric,
                                          plot_traversals, plot_usage, spread_usage,
                                          traversal_grid)


@given(st.integers(2, 5), st.integers(0, 10_000))
def test_macs_is_in_unit_interval(d, seed):
    a = torch.randn(4, d + 1, d, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    m = macs(a.transpose(1, 2) @ a)
    assert 0.0 <= m <= 1.0


@given(st.integers(2, 5), st.integers(0, 10_000))
def test_macs_zero_for_orthogonal_and_one_for_collinear_columns(d, seed):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d + 2, d, generator=g, dtype=torch.float64))
    scales = torch.rand(d, generator=g, dtype=torch.float64) + 0.5
    jac = q * scales  # orthogonal columns of different lengths
    assert macs((jac.T @ jac)[None]) == pytest.approx(0.0, abs=1e-12)
    v = torch.randn(d + 2, 1, generator=g, dtype=torch.float64)
    signs = torch.where(torch.rand(d, generator=g) < 0.5, -1.0, 1.0).double()
    collinear = v * (scales * signs)
    assert macs((collinear.T @ collinear)[None]) == pytest.approx(1.0, abs=1e-12)


def test_metric_at_linear_decoder_is_gram_matrix():
    a = torch.randn(5, 3, dtype=torch.float64)
    G = metric_at(lambda z: z @ a.T, torch.zeros(2, 3, dtype=torch.float64))
    torch.testing.assert_close(G, (a.T @ a).expand(2, 3, 3))


def test_usage_and_dimension_of_a_collapsed_decoder():
    # x = (z0, 2 z1, 1e-3 z2): usage (1, 4, 1e-6) -> two directions used
    scale = torch.tensor([1.0, 2.0, 1e-3], dtype=torch.float64)
    G = metric_at(lambda z: torch.cat([z * scale, z[:, :1] ** 2], 1),
                  torch.zeros(3, 3, dtype=torch.float64))
    usage = latent_usage(G)
    torch.testing.assert_close(usage, scale ** 2)
    assert intrinsic_dimension(usage, 0.01) == 2
    assert intrinsic_dimension(usage, 1e-8) == 3


def _orthogonal_columns(D, d, lengths, gen):
    q, _ = torch.linalg.qr(torch.randn(D, d, generator=gen, dtype=torch.float64))
    return q * lengths


def _decorrelated_latents(n, stds, gen):
    """n latent points whose sample covariance is exactly diag(stds^2)."""
    z = torch.randn(n, len(stds), generator=gen, dtype=torch.float64)
    z = z - z.mean(0)
    chol = torch.linalg.cholesky(z.T @ z / (n - 1))
    return torch.linalg.solve_triangular(chol, z.T, upper=False).T * stds + 0.3


@given(st.integers(2, 4), st.integers(0, 10_000))
def test_spread_usage_of_linear_decoder_is_the_ambient_variance_per_direction(d, seed):
    gen = torch.Generator().manual_seed(seed)
    lengths = torch.rand(d, generator=gen, dtype=torch.float64) * 2 + 0.1
    stds = torch.rand(d, generator=gen, dtype=torch.float64) * 3 + 0.1
    a = _orthogonal_columns(d + 2, d, lengths, gen)
    z = _decorrelated_latents(64, stds, gen)
    u = spread_usage(metric_at(lambda v: v @ a.T, z), z)
    torch.testing.assert_close(u, lengths ** 2 * stds ** 2)
    x = z @ a.T
    torch.testing.assert_close(u.sum(), torch.trace(torch.cov(x.T)))


@given(st.integers(2, 4), st.integers(0, 10_000))
def test_spread_usage_is_invariant_under_latent_axis_rescaling(d, seed):
    # decoder'(z') = decoder(z' / c) with z' = c z is the same map from data to data
    gen = torch.Generator().manual_seed(seed)
    c = torch.exp(torch.randn(d, generator=gen, dtype=torch.float64))
    w = torch.randn(d + 1, d, generator=gen, dtype=torch.float64)
    decoder = lambda v: torch.tanh(v @ w.T)  # noqa: E731
    z = torch.randn(32, d, generator=gen, dtype=torch.float64)
    G, G_scaled = metric_at(decoder, z), metric_at(lambda v: decoder(v / c), z * c)
    torch.testing.assert_close(spread_usage(G_scaled, z * c), spread_usage(G, z))
    torch.testing.assert_close(latent_usage(G_scaled), latent_usage(G) / c ** 2)


def test_spread_usage_sees_a_latent_that_carries_no_data_variance():
    # raw G_kk is equal for the three directions, but z_2 is constant over the data
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    z[:, 2] = 0.7
    G = metric_at(lambda v: torch.cat([v, v[:, :1] * v[:, 1:2]], 1), z)
    u = spread_usage(G, z)
    assert u[2] == 0.0 and (u[:2] > 0.5).all()
    assert intrinsic_dimension(u) == 2 and intrinsic_dimension(latent_usage(G)) == 3


def test_local_dimension_needs_the_small_direction_on_an_axis():
    # J = R diag(1, 1, 1e-2): an axis-aligned thin direction gives 2, a rotated one 3 per point
    thin = torch.diag(torch.tensor([1.0, 1.0, 1e-2], dtype=torch.float64))
    rot, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(1),
                                         dtype=torch.float64))
    z = torch.randn(10, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    aligned = metric_at(lambda v: v @ thin.T, z)
    oblique = metric_at(lambda v: v @ (thin @ rot.T).T, z)
    assert torch.equal(local_dimension(aligned), torch.full((10,), 2))
    assert torch.equal(local_dimension(oblique), torch.full((10,), 3))
    # both metrics are equally degenerate: lambda_min / lambda_max = 1e-4 at every point
    for G in (aligned, oblique):
        torch.testing.assert_close(inverse_condition(G), torch.full((10,), 1e-4, dtype=torch.float64))
    # the thin axis may differ from point to point: still two directions at every point
    G = torch.stack([torch.diag(torch.roll(torch.tensor([1.0, 0.5, 1e-4]), k)) for k in range(3)])
    assert torch.equal(local_dimension(G), torch.full((3,), 2))
    assert intrinsic_dimension(latent_usage(G)) == 3


def test_cosine_matrix_handles_a_dead_direction():
    G = torch.diag(torch.tensor([1.0, 0.0], dtype=torch.float64))[None]
    torch.testing.assert_close(cosine_matrix(G), torch.tensor([[[1.0, 0.0], [0.0, 0.0]]],
                                                              dtype=torch.float64))


def test_traversal_moves_one_coordinate(tmp_path):
    grid = traversal_grid(lambda z: torch.cat([z, z.sum(1, keepdim=True)], 1), d=3, n_steps=5)
    assert grid.shape == (3, 5, 4)
    for k in range(3):
        others = [j for j in range(3) if j != k]
        assert torch.equal(grid[k][:, others], torch.zeros(5, 2, dtype=torch.float64))
        torch.testing.assert_close(grid[k][:, k], torch.linspace(-2, 2, 5, dtype=torch.float64))


def test_plots_write_png_files(tmp_path):
    a = torch.randn(4, 3, 2, dtype=torch.float64)
    G = a.transpose(1, 2) @ a
    plot_metric(G, tmp_path / "g.png")
    plot_usage({"a": latent_usage(G), "b": latent_usage(2 * G)}, tmp_path / "u.png")
    grid = traversal_grid(lambda z: torch.cat([z, z[:, :1]], 1), d=2, n_steps=3)
    plot_traversals(grid, tmp_path / "t.png", data=torch.randn(10, 3))
    plot_traversals(traversal_grid(lambda z: z.repeat(1, 32), 2, 3), tmp_path / "i.png",
                    image_shape=(8, 8))
    for name in ("g", "u", "t", "i"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("call", [lambda: macs(torch.ones(2, 1, 1)), lambda: macs(torch.ones(3, 3)),
                                  lambda: intrinsic_dimension(torch.tensor([1.0, -1.0])),
                                  lambda: traversal_grid(lambda z: z, 2, n_steps=1),
                                  lambda: spread_usage(torch.eye(2)[None].repeat(3, 1, 1),
                                                       torch.zeros(3, 3)),
                                  lambda: spread_usage(torch.eye(2)[None], torch.zeros(1, 2)),
                                  lambda: local_dimension(torch.eye(2)[None], 1.5),
                                  lambda: local_dimension(-torch.eye(2)[None]),
                                  lambda: inverse_condition(torch.zeros(1, 2, 2))])
def test_bad_input_is_rejected(call):
    with pytest.raises(ValueError):
        call()
