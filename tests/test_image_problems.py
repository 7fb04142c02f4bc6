"""Image-shaped exact problems: low-rank-plus-diagonal Gaussian mixtures (Woodbury) against the
dense closed form, their exact sampling, the catalogue names, and models called on (n, C, H, W)."""
import numpy as np
import pytest

from pdeflow.conventions import EDM, VP
from pdeflow.exact import (CorruptedLowRankMixture, CorruptedMixture, GaussianMixture,
                           LowRankGaussianMixture)
from pdeflow.modelcheck import error_profile
from pdeflow.problems import get, names
from pdeflow.problems.images import pattern_mixture, smooth_patterns
from pdeflow.schedules import cosine, ddpm_linear


def _small(chunk=7):
    rng = np.random.default_rng(0)
    k, d, r = 3, 12, 2
    return LowRankGaussianMixture([0.2, 0.3, 0.5], rng.standard_normal((k, d)),
                                  0.7 * rng.standard_normal((k, d, r)),
                                  rng.uniform(0.05, 0.3, (k, d)), chunk=chunk)


@pytest.mark.parametrize("conv,t", [(ddpm_linear(), 37.5), (cosine(), 900.2), (VP(), 0.3),
                                    (EDM(), 1.7)], ids=["ddpm", "cosine", "vp", "edm"])
def test_woodbury_matches_the_dense_mixture(conv, t):
    low = _small()
    dense = GaussianMixture(low.weights, low.means, low.covariances())
    exact, flow = CorruptedLowRankMixture(conv, low), CorruptedMixture(conv, dense)
    x = flow.sample(t, 20, 3)                         # 20 points in blocks of 7
    np.testing.assert_allclose(exact.density(t, x), flow.density(t, x), rtol=1e-10)
    np.testing.assert_allclose(exact.score(t, x), flow.score(t, x), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(exact.velocity(t, x), flow.velocity(t, x), rtol=1e-9,
                               atol=1e-11)
    np.testing.assert_allclose(low.posterior(x[:5]), dense.posterior(x[:5]), rtol=1e-9,
                               atol=1e-14)


def _per_component_score(mix, x):
    """The score as the low-rank class computed it before it was batched (issue 26, item 6): a
    loop over the components, C_k^{-1}(x - mu_k) by Woodbury with two triangular solves of the
    Cholesky factor of M_k = I + U_k^T Delta_k^{-1} U_k, then the posterior-weighted sum."""
    logs, solved = [], []
    for k in range(len(mix.weights)):
        u, inv = mix.factors[k], 1.0 / mix.diagonals[k]
        chol = np.linalg.cholesky(np.eye(mix.rank) + u.T @ (u * inv[:, None]))
        res = x - mix.means[k]
        y = res * inv
        sol = np.linalg.solve(chol.T, np.linalg.solve(chol, (y @ u).T)).T
        out = y - (sol @ u.T) * inv
        log_det = np.log(mix.diagonals[k]).sum() + 2 * np.log(np.diag(chol)).sum()
        logs.append(np.log(mix.weights[k]) - 0.5 * ((res * out).sum(1) + log_det
                                                    + mix.dim * np.log(2 * np.pi)))
        solved.append(out)
    logs = np.stack(logs, 1)
    post = np.exp(logs - logs.max(1, keepdims=True))
    post /= post.sum(1, keepdims=True)
    return -np.einsum("nk,knd->nd", post, np.stack(solved)), logs


@pytest.mark.parametrize("name,t,mixed", [("ddpm-patterns-1x28x28", 0.0, False),
                                          ("ddpm-patterns-1x28x28", 500.0, True),
                                          ("vp-patterns-3x32x32", 0.05, False),
                                          ("vp-patterns-3x32x32", 0.6, True)])
def test_batched_woodbury_matches_the_per_component_loop(name, t, mixed):
    """The batched score (stacked factors, r x r inverses per time) equals the per-component
    Woodbury loop to 1e-12 relative (in the norm of each point's score); log densities to 1e-12
    relative. Points near the data end, where the posterior is mixed and C_k is closest to
    singular (diagonal 0.01), and between the modes (``mixed``: some posteriors in
    (1e-3, 1 - 1e-3), checked)."""
    problem = get(name)
    rng = np.random.default_rng(5)
    x = problem.sample(t, 60, rng)
    x[:20] = 0.5 * (x[:20] + x[20:40])                   # between the modes: mixed posteriors
    mix = problem.flow.at(t)
    ref, ref_log = _per_component_score(mix, x)
    new = mix.score(x)
    scale = np.linalg.norm(ref, axis=1, keepdims=True)
    assert np.max(np.abs(new - ref) / scale) < 1e-12
    new_log = mix.log_density(x)
    ref_log = ref_log.max(1) + np.log(np.exp(ref_log - ref_log.max(1, keepdims=True)).sum(1))
    assert np.max(np.abs(new_log - ref_log) / np.abs(new_log)) < 1e-12
    post = mix.posterior(x)
    assert np.any((post > 1e-3) & (post < 1 - 1e-3)) == mixed


def test_exact_sampling_moments():
    low = _small()
    x = low.sample(200000, 1)
    dense_cov = low.covariances()
    mean = low.weights @ low.means
    second = np.einsum("k,kij->ij", low.weights, dense_cov + np.einsum("ki,kj->kij", low.means,
                                                                        low.means))
    cov = second - np.outer(mean, mean)
    se_mean = np.sqrt(np.diag(cov) / len(x))
    assert np.all(np.abs(x.mean(0) - mean) < 5 * se_mean)
    emp = np.cov(x.T)
    se_cov = np.sqrt((np.diag(cov)[:, None] * np.diag(cov)[None] + cov ** 2) / len(x))
    assert np.all(np.abs(emp - cov) < 5 * se_cov)


def test_patterns_and_catalogue_names():
    p = smooth_patterns(3, (1, 28, 28), 0)
    assert p.shape == (3, 784)
    np.testing.assert_allclose(np.sqrt((p ** 2).mean(1)), 1.0, rtol=1e-12)
    img = p[0].reshape(28, 28)                       # smooth: neighbours strongly correlated
    assert np.corrcoef(img[:, :-1].ravel(), img[:, 1:].ravel())[0, 1] > 0.8
    mix = pattern_mixture((3, 32, 32))
    assert mix.dim == 3072 and mix.rank == 6
    listed = names()
    assert "ddpm-patterns-1x28x28" in listed and "vp-patterns-3x32x32" in listed
    problem = get("cosine-patterns-1x28x28")
    assert problem.shape == (1, 28, 28) and problem.dim == 784 and problem.T == 999
    with pytest.raises(ValueError, match="not fm"):
        get("fm-patterns-1x28x28")
    with pytest.raises(ValueError, match="shape must be"):
        get("vp-patterns-1x2x2")


def test_models_are_called_on_images_and_the_exact_field_has_zero_error():
    torch = pytest.importorskip("torch")
    problem = get("ddpm-patterns-1x28x28")
    conv = problem.convention
    seen = []

    class ExactEps(torch.nn.Module):             # an image model: (n, 1, 28, 28) in and out
        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

        def forward(self, t, x):
            seen.append(tuple(x.shape[1:]))
            flat = x.reshape(len(x), -1).numpy()
            eps = conv.noise_from_score(t.numpy(), problem.score(t.numpy(), flat))
            return torch.as_tensor(eps).reshape(x.shape)

    profile = error_profile(ExactEps(), problem, "epsilon", samples=30, profile_points=5)
    assert set(seen) == {(1, 28, 28)}
    assert profile["eps2_score"] < 1e-20 and profile["eps2_velocity"] < 1e-20
    c = 0.01
    shifted = lambda t, x: conv.noise_from_score(t, problem.score(t, x.reshape(len(x), -1)) + c)
    profile = error_profile(shifted, problem, "epsilon", samples=30, profile_points=5)
    assert abs(profile["eps2_score"] / (c * c * 784 * 999) - 1) < 1e-9


def test_device_cuda_when_a_gpu_is_present():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    problem = get("vp-patterns-1x28x28")

    class Exact(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

        def forward(self, t, x):
            assert x.is_cuda
            flat = x.reshape(len(x), -1).cpu().numpy()
            return torch.as_tensor(problem.score(t.cpu().numpy(), flat), device=x.device)

    from pdeflow.modelcheck import validate
    report = validate(Exact(), problem, "score", device="cuda", samples=50, profile_points=5,
                      ode_steps=4, sde_steps=4, mmd_points=50, flow_map_points=20,
                      floor_draws=5, directions=16, progress=False)
    assert report.eps2_score < 1e-20 and "cuda" in report.model
