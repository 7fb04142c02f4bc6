"""Slow: a short run of examples/cmf_sphere_moebius.py (the CMF-vs-RF seed result)."""
import importlib.util
import math
from pathlib import Path

import pytest


def _load_example():
    path = Path(__file__).resolve().parents[1] / "examples" / "cmf_sphere_moebius.py"
    spec = importlib.util.spec_from_file_location("cmf_sphere_moebius", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_short_reproduction_cmf_is_more_orthogonal_than_rectangular(tmp_path):
    example = _load_example()
    toys = example.run_toys(steps=400, seeds=2, methods=["cmf", "rectangular"], n_train=1000,
                            n_test=300, progress=False, img_dir=str(tmp_path))
    for data in ("sphere", "moebius"):
        cmf, rect = toys[(data, "cmf")], toys[(data, "rectangular")]
        for run in cmf + rect:
            assert all(math.isfinite(run[k]) for k in ("macs", "recon", "w2"))
        # the robust part of the seed result: an (almost) orthogonal latent basis under CMF
        assert max(r["macs"] for r in cmf) < min(r["macs"] for r in rect)
    assert (tmp_path / "cmf_usage_sphere.png").exists()
