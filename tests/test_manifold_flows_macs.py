"""The two MACS formulas: the verbal one (``macs``, cosines between columns of J) and the one the
CMF authors' analysis code computes (``macs_authors``, rows of J normalised, signed batch mean,
diagonal included), on closed-form Jacobians and by their invariances."""
import math

import pytest
import torch
from hypothesis import given, strategies as st

from pdeflow.manifold_flows.diagnostics import jacobian_at, macs, macs_authors

F64 = torch.float64


def _words(J):
    return macs(J.transpose(1, 2) @ J)


def _rot(t):
    return torch.tensor([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]], dtype=F64)


def _random_j(seed, n=4, D=4, d=3):
    return torch.randn(n, D, d, generator=torch.Generator().manual_seed(seed), dtype=F64)


def test_orthogonal_square_jacobian_gives_one_over_d_with_the_authors_formula():
    # Rows of an orthogonal Q are unit vectors, so C = Q^T Q = I and the mean of |C| over all
    # d^2 entries is d / d^2 = 1/3: the diagonal alone. The verbal MACS is 0.
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(0), dtype=F64))
    for J in (q, torch.diag(torch.tensor([0.5, 2.0, 7.0], dtype=F64))):
        assert macs_authors(J[None]) == pytest.approx(1 / 3, abs=1e-7)
        assert _words(J[None]) == pytest.approx(0.0, abs=1e-12)


def test_orthogonal_columns_of_unequal_length_by_hand():
    # J = R(pi/6) diag(1, 2): rows (c, -2s), (s, 2c) with |r1|^2 = 7/4, |r2|^2 = 13/4, so
    # C_11 = 46/91, C_22 = 136/91, C_12 = -12 sqrt(3)/91 and mean |C| = 1/2 + 6 sqrt(3)/91.
    J = _rot(math.pi / 6) @ torch.diag(torch.tensor([1.0, 2.0], dtype=F64))
    assert macs_authors(J[None]) == pytest.approx(0.5 + 6 * math.sqrt(3) / 91, abs=1e-7)
    assert _words(J[None]) == pytest.approx(0.0, abs=1e-12)
    # signed batch mean: the same J with the second column flipped cancels C_12 -> 1/2
    flipped = J @ torch.diag(torch.tensor([1.0, -1.0], dtype=F64))
    assert macs_authors(torch.stack([J, flipped])) == pytest.approx(0.5, abs=1e-7)
    assert _words(torch.stack([J, flipped])) == pytest.approx(0.0, abs=1e-12)


def test_collinear_columns_by_hand():
    # Rank 1, J = v w^T: every normalised row is +-w/|w|, so C = D w w^T / |w|^2 (D = 3, d = 2).
    v = torch.tensor([[1.0], [2.0], [-1.0]], dtype=F64)
    J = v @ torch.tensor([[1.0, -1.0]], dtype=F64)  # C = 3 [[1, -1], [-1, 1]] / 2: the bound D/d
    assert _words(J[None]) == pytest.approx(1.0, abs=1e-12)
    assert macs_authors(J[None]) == pytest.approx(3 / 2, abs=1e-7)
    J = v @ torch.tensor([[1.0, -3.0]], dtype=F64)  # C = 3 [[1, -3], [-3, 9]] / 10 -> 48/40
    assert _words(J[None]) == pytest.approx(1.0, abs=1e-12)
    assert macs_authors(J[None]) == pytest.approx(1.2, abs=1e-7)


def test_counterexamples_to_the_invariances_each_formula_lacks():
    d12 = torch.diag(torch.tensor([1.0, 2.0], dtype=F64))
    # latent axis rescaling and ambient rotation: the authors' value moves (1/2 -> 0.614),
    # the verbal one stays 0
    assert macs_authors(d12[None]) == pytest.approx(0.5, abs=1e-7)
    assert macs_authors((_rot(math.pi / 6) @ d12)[None]) > 0.6
    assert macs_authors(_rot(math.pi / 6)[None]) == pytest.approx(0.5, abs=1e-7)
    # ambient axis rescaling: the verbal value moves (0 -> 0.6), the authors' stays 1/2
    h = torch.tensor([[1.0, 1.0], [1.0, -1.0]], dtype=F64) / math.sqrt(2)
    assert _words(h[None]) == pytest.approx(0.0, abs=1e-12)
    assert _words((d12 @ h)[None]) == pytest.approx(0.6, abs=1e-12)
    assert macs_authors(h[None]) == pytest.approx(macs_authors((d12 @ h)[None]), abs=1e-7)


@given(st.integers(0, 10_000))
def test_verbal_macs_invariances(seed):
    g = torch.Generator().manual_seed(seed)
    J = _random_j(seed)
    c = (torch.rand(3, generator=g, dtype=F64) + 0.2) * torch.where(
        torch.rand(3, generator=g) < 0.5, -1.0, 1.0).to(F64)
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=F64))
    perm = torch.randperm(3, generator=g)
    ref = _words(J)
    for other in (J * c, q @ J, J[:, :, perm]):  # latent scale/sign, ambient rotation, permutation
        assert _words(other) == pytest.approx(ref, abs=1e-12)
    assert 0.0 <= ref <= 1.0


@given(st.integers(0, 10_000))
def test_authors_macs_invariances_and_bounds(seed):
    g = torch.Generator().manual_seed(seed)
    J = _random_j(seed)
    r = (torch.rand(4, 1, generator=g, dtype=F64) + 0.2) * torch.where(
        torch.rand(4, 1, generator=g) < 0.5, -1.0, 1.0).to(F64)
    perm = torch.randperm(3, generator=g)
    ref = macs_authors(J)
    for other in (r * J, J[:, :, perm], J[torch.randperm(4, generator=g)]):
        # ambient scale/sign, latent permutation, batch order
        assert macs_authors(other) == pytest.approx(ref, abs=1e-7)
    D, d = 4, 3
    assert D / d ** 2 - 1e-7 <= ref <= D / d + 1e-7  # trace C = D (no zero row)


def test_macs_authors_rejects_bad_input():
    for call in (lambda: macs_authors(torch.ones(3, 3)), lambda: macs_authors(torch.ones(1, 2, 2), eps=0.0),
                 lambda: macs_authors(torch.full((1, 2, 2), float("nan")))):
        with pytest.raises(ValueError):
            call()


def test_jacobian_at_linear_decoder():
    a = torch.randn(5, 3, dtype=F64)
    J = jacobian_at(lambda z: z @ a.T, torch.zeros(2, 3, dtype=F64))
    torch.testing.assert_close(J, a.expand(2, 5, 3))
