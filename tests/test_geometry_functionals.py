"""Curvature functionals: closed forms on flat space and the round sphere."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from pdeflow.geometry.functionals import (curvature_energy, perelman_f, riemannian_integral,
                                          volume_weights, w_entropy)
from pdeflow.geometry.networks import mlp

F64 = torch.float64


def isometric_embedding(d, D, seed):
    """z -> Q z + b with orthonormal columns Q (D, d): flat, g = I."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(D, d, dtype=F64, generator=gen))
    b = torch.randn(D, dtype=F64, generator=gen)
    return lambda z: z @ q.T + b


def hermite_grid(d, m, sigma):
    """Nodes z (m^d, d) and weights w with sum w h(z) = int h(z) e^{-|z|^2/(2 sigma^2)} dz exactly
    for polynomial h of degree < 2m; returned weights include e^{+|z|^2/(2 sigma^2)} so that the
    rule integrates plain functions against dz."""
    t, w = np.polynomial.hermite.hermgauss(m)
    nodes = torch.cartesian_prod(*[torch.tensor(t * math.sqrt(2) * sigma)] * d).reshape(-1, d)
    wts = torch.ones(nodes.shape[0], dtype=F64)
    for i in range(d):
        idx = torch.cartesian_prod(*[torch.arange(m)] * d).reshape(-1, d)[:, i]
        wts = wts * torch.tensor(w * math.sqrt(2) * sigma)[idx]
    return nodes, wts * torch.exp((nodes ** 2).sum(1) / (2 * sigma ** 2))


def sphere_grid(r, m=24):
    """Angles chart of the r-sphere with Gauss-Legendre in theta and midpoints in phi."""
    x, w = np.polynomial.legendre.leggauss(m)
    theta = torch.tensor((x + 1) * math.pi / 2)
    phi = (torch.arange(2 * m, dtype=F64) + 0.5) * math.pi / m
    z = torch.cartesian_prod(theta, phi)
    wts = torch.cartesian_prod(torch.tensor(w * math.pi / 2), torch.full((2 * m,), math.pi / m, dtype=F64))
    dec = lambda q: r * torch.stack([q[:, 0].sin() * q[:, 1].cos(), q[:, 0].sin() * q[:, 1].sin(),
                                     q[:, 0].cos()], -1)
    return dec, z, wts.prod(1)


@given(r=st.floats(0.3, 3.0))
def test_sphere_area_and_curvature_energy(r):
    dec, z, w = sphere_grid(r)
    area = riemannian_integral(torch.ones(z.shape[0], dtype=F64), dec, z, w).item()
    assert area == pytest.approx(4 * math.pi * r ** 2, rel=1e-10)
    assert curvature_energy(dec, z, w).item() == pytest.approx(16 * math.pi / r ** 2, rel=1e-9)


@given(r=st.floats(0.3, 3.0), c=st.floats(-3.0, 3.0))
def test_perelman_f_on_sphere_with_normalised_constant_potential_is_scalar_curvature(r, c):
    dec, z, w = sphere_grid(r)
    const = lambda q: torch.full((q.shape[0],), c, dtype=F64) + 0 * q.sum(1)
    assert perelman_f(dec, const, z, w, normalise=True).item() == pytest.approx(2 / r ** 2, rel=1e-9)
    # unnormalised: F = R e^{-c} area
    expected = 2 / r ** 2 * math.exp(-c) * 4 * math.pi * r ** 2
    assert perelman_f(dec, const, z, w).item() == pytest.approx(expected, rel=1e-9)


@given(d=st.integers(1, 3), extra=st.integers(0, 2), side=st.floats(0.5, 4.0),
       seed=st.integers(0, 10 ** 6))
def test_perelman_f_vanishes_on_flat_metric_with_constant_probability_potential(d, extra, side, seed):
    dec = isometric_embedding(d, d + extra, seed)
    m = 5
    grid = (torch.arange(m, dtype=F64) + 0.5) * side / m
    z = torch.cartesian_prod(*[grid] * d).reshape(-1, d)
    w = torch.full((z.shape[0],), (side / m) ** d, dtype=F64)
    log_vol = d * math.log(side)               # f = log vol(box): int e^{-f} dmu = 1
    f = lambda q: torch.full((q.shape[0],), log_vol, dtype=F64) + 0 * q.sum(1)
    mass = riemannian_integral(torch.exp(-f(z)), dec, z, w).item()
    assert mass == pytest.approx(1.0, rel=1e-12)
    assert abs(perelman_f(dec, f, z, w).item()) < 1e-12


@given(d=st.integers(1, 3), extra=st.integers(0, 2), tau=st.floats(0.05, 5.0),
       seed=st.integers(0, 10 ** 6))
def test_w_entropy_vanishes_on_flat_space_with_gaussian_soliton(d, extra, tau, seed):
    dec = isometric_embedding(d, d + extra, seed)
    z, w = hermite_grid(d, 8, math.sqrt(2 * tau))
    f = lambda q: (q ** 2).sum(1) / (4 * tau)
    assert abs(w_entropy(dec, f, z, tau, w).item()) < 1e-10
    # and the potential is already normalised: normalising changes nothing
    assert abs(w_entropy(dec, f, z, tau, w, normalise=True).item()) < 1e-10


@given(tau=st.floats(0.1, 3.0), shift=st.floats(0.5, 2.0))
def test_w_entropy_of_a_wider_gaussian_matches_closed_form(tau, shift):
    # Flat R^1, f = x^2/(4 tau s^2) + log s (a normalised Gaussian of variance 2 tau s^2):
    # W = E[tau f'^2 + f - 1] = 1/(2 s^2) + 1/2 + log s - 1.
    dec = isometric_embedding(1, 2, 0)
    z, w = hermite_grid(1, 12, math.sqrt(2 * tau) * shift)
    f = lambda q: q[:, 0] ** 2 / (4 * tau * shift ** 2) + math.log(shift)
    expected = 1 / (2 * shift ** 2) + 0.5 + math.log(shift) - 1
    assert w_entropy(dec, f, z, tau, w).item() == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_functionals_are_differentiable_in_decoder_and_potential_parameters():
    dec = mlp([2, 8, 3], seed=0, dtype=F64)
    pot = mlp([2, 8, 1], seed=1, dtype=F64)
    z = torch.randn(6, 2, dtype=F64, generator=torch.Generator().manual_seed(2))
    total = curvature_energy(dec, z) + perelman_f(dec, pot, z, normalise=True) \
        + w_entropy(dec, pot, z, 0.5, normalise=True)
    total.backward()
    # the decoder's output bias is a translation: curvature and volume do not depend on it
    assert dec[-1].bias.grad is None
    for p in list(dec.parameters())[:-1] + list(pot.parameters()):
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_bad_arguments_are_rejected():
    dec = isometric_embedding(2, 3, 0)
    z = torch.zeros(4, 2, dtype=F64)
    f = lambda q: (q ** 2).sum(1)
    with pytest.raises(ValueError, match="tau"):
        w_entropy(dec, f, z, 0.0)
    with pytest.raises(ValueError, match="weights"):
        volume_weights(dec, z, torch.ones(3, dtype=F64))
    with pytest.raises(ValueError, match="weights"):
        volume_weights(dec, z, -torch.ones(4, dtype=F64))
    with pytest.raises(ValueError, match="potential"):
        perelman_f(dec, lambda q: q, z)


def test_singular_metric_is_rejected_by_the_functionals():
    dec = lambda z: torch.stack([z[:, 0], z[:, 1] ** 3, 0 * z[:, 0]], -1)   # singular at y = 0
    z = torch.tensor([[0.3, 0.4], [0.1, 0.0]], dtype=F64)
    with pytest.raises(ValueError, match="singular"):
        riemannian_integral(torch.ones(2, dtype=F64), dec, z)
    with pytest.raises(ValueError, match="singular"):
        perelman_f(dec, lambda q: (q ** 2).sum(1), z)
