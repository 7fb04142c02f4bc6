"""Slow: short runs of examples/cmf_sphere_moebius.py (the CMF-vs-RF seed result).

What reproduces (docs/manifold_flows.md): CMF's latent basis is more orthogonal than RF's on both
toy manifolds, and with a diagonal-Gaussian latent prior CMF collapses the third latent direction
of the Moebius band (spread usage). RF collapsing as well there, and no collapse on the sphere,
are documented findings, not asserted here.
"""
import math

import pytest
import torch

from _manifold_helpers import load_example


def _load_example():
    return load_example("cmf_sphere_moebius")


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the documented numbers were produced with one thread
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_short_reproduction_cmf_is_more_orthogonal_than_rectangular(tmp_path, one_thread):
    example = _load_example()
    toys = example.run_toys(steps=400, seeds=2, methods=["cmf", "rectangular"], n_train=1000,
                            n_test=300, progress=False, img_dir=str(tmp_path))
    for data in ("sphere", "moebius"):
        cmf, rect = toys[(data, "cmf")], toys[(data, "rectangular")]
        for run in cmf + rect:
            assert all(math.isfinite(run[k]) for k in ("macs", "recon", "w2"))
            assert 1.0 <= run["local_dim"] <= 3.0 and 0.0 <= run["inv_cond"] <= 1.0
        # the robust part of the seed result: an (almost) orthogonal latent basis under CMF
        assert max(r["macs"] for r in cmf) < min(r["macs"] for r in rect)
    assert (tmp_path / "cmf_usage_sphere.png").exists()
    assert (tmp_path / "cmf_spread_usage_moebius.png").exists()


@pytest.mark.slow
def test_cmf_with_gaussian_prior_collapses_a_moebius_direction(one_thread):
    # the documented 1000-step set-up, CMF only: spread-usage ratios 0.044, 0.025, 0.002
    example = _load_example()
    toys = example.run_toys(steps=1000, seeds=3, methods=["cmf"], progress=False,
                            datasets=("moebius",), prior_layers=0)
    runs = toys[("moebius", "cmf")]
    ratios = [r["spread_ratio"] for r in runs]
    # seed 0 sits close to the 5 % threshold, so allow one seed in [5 %, 10 %) across platforms
    assert all(r < 0.1 for r in ratios), ratios
    assert sum(r["dim_spread"] == 2 for r in runs) >= 2, ratios
