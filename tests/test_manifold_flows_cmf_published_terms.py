"""Slow: a short run of examples/cmf_published_terms.py on the authors' square-flow sphere.

Documented (docs/manifold_flows.md): with the square flow (d = D = 3) CMF's latent basis is far
more orthogonal than RF's by the verbal MACS, while the authors' formula puts both on its floor
1/3 (its diagonal), so it separates them only by ~0.01. This asserts the first, and that the
authors' value sits within a few hundredths above 1/3 for both methods.
"""

import pytest
import torch

from _manifold_helpers import load_example


def _load_example():
    return load_example("cmf_published_terms")


@pytest.mark.slow
def test_square_sphere_cmf_is_more_orthogonal_and_the_authors_macs_sits_on_its_floor(tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ex = _load_example()
        runs = {m: ex.run("square_sphere", m, 0, 600, tmp_path, []) for m in ("cmf", "rectangular")}
    finally:
        torch.set_num_threads(before)
    # the documented seed-0 run (600 steps): 0.0006 vs 0.273; at 300 steps RF is only at 0.13,
    # the flows start at the identity (MACS 0) and RF's basis turns oblique during training
    assert runs["cmf"]["macs_words"] < 0.01 < 0.2 < runs["rectangular"]["macs_words"]
    for r in runs.values():
        assert 1 / 3 - 1e-6 <= r["macs_authors_u"] < 1 / 3 + 0.05
        assert r["final"]["recon"] < 1e-20  # square flow: no reconstruction term
    assert (tmp_path / "square_sphere_cmf_s0.json").exists()
