"""Library models through pdeflow validate without user wrappers: diffusers UNet2DModel +
DDPMScheduler (epsilon and v_prediction), k-diffusion-style denoisers, torchcfm velocity nets.

The real packages build tiny randomly initialised models from their configs (no download); an
exact field in each library's call form must give eps2 < 1e-20 (the conventions are right) and
the random models must go through the whole report and the command line."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pdeflow.modelcheck import error_profile, validate  # noqa: E402
from pdeflow.modelcheck.adapters import (DiffusersModel, KDiffusionDenoiser,  # noqa: E402
                                         TorchCFMModel, import_diffusers, karras_denoiser)
from pdeflow.problems import get  # noqa: E402

FAST = dict(samples=100, profile_points=5, ode_steps=10, sde_steps=20, w2_points=50,
            mmd_points=50, flow_map_points=50, floor_draws=5, directions=32, progress=False)


@pytest.fixture(scope="module")
def diffusers():
    pytest.importorskip("diffusers")
    return import_diffusers()


def _tiny_unet(diffusers):
    torch.manual_seed(0)
    return diffusers.UNet2DModel(sample_size=8, in_channels=1, out_channels=1,
                                 layers_per_block=1, block_out_channels=(8, 16),
                                 down_block_types=("DownBlock2D", "DownBlock2D"),
                                 up_block_types=("UpBlock2D", "UpBlock2D"), norm_num_groups=4)


class _ExactUNet(torch.nn.Module):
    """The exact field of ``problem`` in diffusers' call form ``unet(sample, timestep).sample``
    (float64), predicting ``prediction`` (pdeflow's name)."""

    def __init__(self, problem, prediction):
        super().__init__()
        self.problem, self.prediction = problem, prediction
        self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, sample, timestep):
        x = sample.reshape(len(sample), -1).numpy()
        t = timestep.numpy()
        conv = self.problem.convention
        out = conv.prediction_from_score(self.prediction, t, self.problem.score(t, x), x)
        return type("Out", (), {"sample": torch.as_tensor(out).reshape(sample.shape)})()


@pytest.mark.parametrize("prediction_type,kind", [("epsilon", "epsilon"), ("v_prediction", "v")])
def test_diffusers_unet_and_scheduler(diffusers, prediction_type, kind):
    problem = get("ddpm-separated-64d")                       # 1 x 8 x 8 images
    scheduler = diffusers.DDPMScheduler(prediction_type=prediction_type)
    # the conventions: the exact field as a diffusers UNet of this prediction type
    exact = DiffusersModel(_ExactUNet(problem, kind), scheduler, shape=(1, 8, 8))
    assert exact.kind == kind and exact.convention.steps == 1000
    profile = error_profile(exact, problem, samples=50, profile_points=9)
    assert profile["eps2_score"] < 1e-20 and profile["eps2_velocity"] < 1e-20
    # a random tiny UNet2DModel: called on (n, 1, 8, 8) at the diffusers timestep
    unet = _tiny_unet(diffusers)
    model = DiffusersModel(unet, scheduler)
    x, t = problem.sample(37.5, 4, 0), np.array([0.0, 37.5, 500.0, 999.0])
    with torch.no_grad():
        direct = unet(torch.as_tensor(x, dtype=torch.float32).reshape(4, 1, 8, 8),
                      torch.as_tensor(t, dtype=torch.float32)).sample.reshape(4, -1)
    np.testing.assert_allclose(model(t, x), direct.double().numpy(), rtol=1e-6, atol=1e-7)
    report = validate(model, problem, seed=0, **FAST)
    assert report.kind == kind and np.isfinite(report.eps2_score) and report.headline
    assert "UNet2DModel via DiffusersModel" in report.model
    # a model trained on one schedule is refused on a problem of another
    with pytest.raises(ValueError, match="trained on the schedule"):
        validate(model, get("cosine-separated-64d"), **FAST)
    with pytest.raises(ValueError, match="contradicts the model"):
        validate(model, problem, kind="score", **FAST)


def test_diffusers_folder_through_the_command_line(diffusers, tmp_path):
    from pdeflow.cli import main

    unet, scheduler = _tiny_unet(diffusers), diffusers.DDPMScheduler(prediction_type="epsilon")
    unet.save_pretrained(tmp_path / "pipe" / "unet")
    scheduler.save_pretrained(tmp_path / "pipe" / "scheduler")
    code = main(["validate", "--model", f"diffusers:{tmp_path / 'pipe'}", "--problem",
                 "ddpm-separated-64d", "--out", str(tmp_path / "out"), "--json",
                 str(tmp_path / "r.json"), "--samples", "50", "--quiet"])
    assert code == 0
    summary = json.loads((tmp_path / "r.json").read_text())
    assert summary["kind"] == "epsilon" and summary["headline"]["text"]


def _karras_exact_eps(problem):
    """An eps network on the problem's DDPM table in k-diffusion's time (sigma <-> timestep by
    linear interpolation of log sigma), exact: at timestep t_k it returns the exact eps at the
    sigma that k-diffusion assigns to t_k."""
    conv = problem.convention
    log_sigmas = np.log(conv.sigmas)

    class Eps(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

        def forward(self, x_in, t_k):
            sigma = np.exp(np.interp(t_k.numpy(), np.arange(len(log_sigmas)), log_sigmas))
            t = conv.timestep_of_sigma(sigma)
            x = x_in.numpy()                 # c_in x_ve = a x_ve = the VP-form point
            return torch.as_tensor(conv.noise_from_score(t, problem.score(t, x)))

    return Eps()


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_k_diffusion_denoiser_conventions(prediction):
    problem = get("ddpm-separated-2d")
    conv = problem.convention
    eps_net = _karras_exact_eps(problem)
    if prediction == "epsilon":
        net = eps_net
    else:                                    # the same field as a v-network: v = a eps - b x0
        class V(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.eps = eps_net

            def forward(self, x_in, t_k):
                sigma = np.exp(np.interp(t_k.numpy(), np.arange(conv.steps), np.log(conv.sigmas)))
                a, b = 1 / np.sqrt(1 + sigma ** 2), sigma / np.sqrt(1 + sigma ** 2)
                eps = self.eps(x_in, t_k).numpy()
                x0 = (x_in.numpy() - b[:, None] * eps) / a[:, None]
                return torch.as_tensor(a[:, None] * eps - b[:, None] * x0)
        net = V()
    denoiser = karras_denoiser(net, conv.alphas_cumprod, prediction)
    model = KDiffusionDenoiser(denoiser)
    assert model.kind == "denoiser" and model.convention.steps == 1000
    # at the table's sigmas D is the exact posterior mean E[x0 | x] (Tweedie), VE form
    n = np.array([0, 10, 400, 999])
    x = np.concatenate([problem.sample(float(k), 1, k) for k in n])
    sigma = conv.sigmas[n]
    d = model(x / conv.scale(n.astype(float))[:, None], sigma)
    exact = conv.denoiser_from_score(n.astype(float), problem.score(n.astype(float), x), x)
    np.testing.assert_allclose(d, exact, rtol=1e-9, atol=1e-9)
    profile = error_profile(model, problem, samples=50, profile_points=9)
    assert profile["eps2_score"] < 1e-20, profile["eps2_score"]


def test_torchcfm_velocity_nets():
    models = pytest.importorskip("torchcfm.models")
    problem = get("fm-separated-2d")

    class ExactMLP(torch.nn.Module):          # torchcfm's MLP call: net(cat([x, t]))
        time_varying = True

        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

        def forward(self, xt):
            xt = xt.numpy()
            return torch.as_tensor(problem.velocity(xt[:, -1], xt[:, :-1]))

    exact = TorchCFMModel(ExactMLP())
    profile = error_profile(exact, problem, samples=50, profile_points=9)
    assert profile["eps2_velocity"] < 1e-20 and profile["eps2_score"] < 1e-20
    torch.manual_seed(0)
    net = models.MLP(dim=2, time_varying=True, w=16)
    model = TorchCFMModel(net)
    x, t = problem.sample(0.5, 5, 1), np.full(5, 0.5)
    with torch.no_grad():
        direct = net(torch.as_tensor(np.column_stack([x, t]), dtype=torch.float32))
    np.testing.assert_allclose(model(t, x), direct.double().numpy(), rtol=1e-6)
    report = validate(model, problem, seed=0, **FAST)
    assert report.kind == "velocity" and report.convention == "flow-matching"
    with pytest.raises(ValueError, match="trained on the schedule"):
        validate(model, get("vp-separated-2d"), **FAST)


def test_karras_denoiser_clamps_the_timestep_outside_its_table():
    """k-diffusion's discrete denoisers clamp t(sigma) to [0, N - 1] beyond the table's sigmas
    (measured against k-diffusion 0.0.16's external.py: pdeflow extrapolated, up to 92 steps off
    at sigma = 400); inside the table t(sigma_n) = n."""
    import torch

    from pdeflow.schedules import ddpm_linear

    conv = ddpm_linear()
    seen = []

    class Eps(torch.nn.Module):
        def forward(self, x, t):
            seen.append(t.clone())
            return torch.zeros_like(x)

    denoiser = karras_denoiser(Eps(), conv.alphas_cumprod, "epsilon")
    inside = torch.as_tensor(conv.sigmas[[0, 10, 400, 999]])
    outside = torch.as_tensor([0.5 * conv.sigmas[0], 2.0 * conv.sigmas[-1], 400.0])
    denoiser(torch.zeros((3, 2), dtype=torch.float64), outside)
    denoiser(torch.zeros((4, 2), dtype=torch.float64), inside)
    np.testing.assert_allclose(seen[0].numpy(), [0.0, 999.0, 999.0], atol=0)
    np.testing.assert_allclose(seen[1].numpy(), [0.0, 10.0, 400.0, 999.0], atol=1e-9)


def test_library_adapter_takes_the_image_shape_of_the_problem():
    """A KDiffusionDenoiser made without ``shape`` is called on the problem's (n, C, H, W)
    images: the shape comes from the image problem (an exact EDM denoiser on
    edm-patterns-1x28x28 then gives eps2_score ~ 0)."""
    problem = get("edm-patterns-1x28x28")
    seen = []

    class ExactImageDenoiser(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

        def forward(self, x, sigma):
            seen.append(tuple(x.shape))
            flat = x.reshape(len(x), -1).double().numpy()
            s = sigma.double().numpy()
            d = problem.convention.denoiser_from_score(s, problem.score(s, flat), flat)
            return torch.as_tensor(d).reshape(x.shape)

    model = KDiffusionDenoiser(ExactImageDenoiser())
    assert model.shape is None
    profile = error_profile(model, problem, samples=20, profile_points=5)
    assert model.shape == (1, 28, 28) and all(s[1:] == (1, 28, 28) for s in seen)
    assert profile["eps2_score"] < 1e-20
