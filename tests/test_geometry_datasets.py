import numpy as np
import pytest
import torch

from pdeflow.geometry import datasets as ds


def test_samplers_lie_on_their_manifolds():
    s = ds.sphere(500, 0, radius=2.0)
    torch.testing.assert_close(s.norm(dim=1), torch.full((500,), 2.0, dtype=torch.float64))
    t = ds.torus(500, 1, major=1.0, minor=0.3)
    rho = torch.sqrt(t[:, 0] ** 2 + t[:, 1] ** 2)
    torch.testing.assert_close((rho - 1.0) ** 2 + t[:, 2] ** 2, torch.full((500,), 0.09,
                                                                            dtype=torch.float64))
    h = ds.hyperboloid(500, 2)
    torch.testing.assert_close(h[:, 0] ** 2 + h[:, 1] ** 2 - h[:, 2] ** 2,
                               torch.ones(500, dtype=torch.float64))
    m = ds.moebius_band(500, 3, radius=1.0, half_width=0.4)
    u = torch.atan2(m[:, 1], m[:, 0])
    # the point's offset along the band's ruling: |s| <= w
    s_off = m[:, 2] / torch.sin(u / 2).where(torch.sin(u / 2).abs() > 0.2, torch.tensor(1.0).double())
    assert (s_off[torch.sin(u / 2).abs() > 0.2].abs() <= 0.4 + 1e-12).all()


def test_embedding_in_r6_is_isometric():
    x = ds.sphere(300, 4)
    y = ds.random_isometric_embedding(x, 6, 5)
    exact = "donot_use_mm_for_euclid_dist"
    torch.testing.assert_close(torch.cdist(y, y, compute_mode=exact),
                               torch.cdist(x, x, compute_mode=exact), atol=1e-12, rtol=0)
    torch.testing.assert_close(ds.sphere_in_r6(300, 4).norm(dim=1), torch.ones(300, dtype=torch.float64))


@pytest.mark.parametrize("name", list(ds.INTRINSIC_DIM))
def test_seed_reproducibility_and_shapes(name):
    f = getattr(ds, name)
    a, b, c = f(50, 7), f(50, 7), f(50, 8)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.float64 and a.shape[0] == 50 and torch.isfinite(a).all()


def test_digits_are_loaded_offline():
    x, y = ds.load_digits()
    assert x.shape == (1797, 64) and y.shape == (1797,)
    torch.testing.assert_close(x.mean(0), torch.zeros(64, dtype=torch.float64), atol=1e-12, rtol=0)
    raw, _ = ds.load_digits(standardize=False)
    assert raw.min() == 0 and raw.max() == 1


@pytest.mark.parametrize("call", [lambda: ds.sphere(0, 0), lambda: ds.sphere(5, "a"),
                                  lambda: ds.torus(5, 0, major=1.0, minor=2.0),
                                  lambda: ds.sphere(5, 0, radius=-1.0),
                                  lambda: ds.random_isometric_embedding(torch.ones(3, 4), 2, 0)])
def test_bad_arguments_are_rejected(call):
    with pytest.raises(ValueError):
        call()
