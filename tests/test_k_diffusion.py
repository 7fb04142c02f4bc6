"""The real k-diffusion package (the release on the package index, 0.0.16) through pdeflow
validate without user wrappers: its ``external.DiscreteEpsDDPMDenoiser`` /
``DiscreteVDDPMDenoiser`` (discrete DDPM tables) and ``layers.Denoiser`` (Karras
preconditioning, any sigma), each around an exact inner network (eps, v or F in k-diffusion's
own call form) and around a wrong one, by the Python call and by ``--model k-diffusion:FILE``;
a randomly initialised tiny ``ImageDenoiserModelV1`` built from a k-diffusion config on
1 x 8 x 8 images. Skipped where k-diffusion is not installed (``pip install -e
".[k-diffusion]"``).

Only k-diffusion's *import* needs help on this CPU-only platform (see
:func:`_import_k_diffusion`); the wrappers under test are the installed package's files."""
import importlib
import importlib.util
import json
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if importlib.util.find_spec("k_diffusion") is None:     # importorskip would hide a broken import
    pytest.skip("k-diffusion is not installed (pip install -e '.[k-diffusion]')",
                allow_module_level=True)

from pdeflow.modelcheck import error_profile, validate  # noqa: E402
from pdeflow.modelcheck.adapters import KDiffusionDenoiser, karras_denoiser  # noqa: E402
from pdeflow.modelcheck.validate import Z_THRESHOLD  # noqa: E402
from pdeflow.problems import get  # noqa: E402

#: enough samples for the headline to flag a 0.9x eps and a sigma/2 mistake (+5 to +20 floor SD)
SETTINGS = dict(samples=1000, profile_points=5, ode_steps=40, sde_steps=200, w2_points=300,
                mmd_points=1000, flow_map_points=300, progress=False)

#: the torchvision op declarations made by _import_k_diffusion (kept alive for the session:
#: a torch.library.Library removes its registrations when it is garbage-collected)
_TORCHVISION_FRAGMENT = []


def _importable_torchvision():
    """Import the installed torchvision; where its C extension cannot load, declare the two op
    schemas that its ``_meta_registrations`` needs and import it again.

    Why: the package index serves torchvision 0.28.0 (the release for torch 2.13) for Linux
    x86_64 only as a CUDA build (``0.28.0+cu130``); its ``_C.so`` links ``libtorch_cuda.so`` and
    ``libc10_cuda.so``, which the CPU torch (``2.13.0+cpu``, the only one this machine can run)
    does not have, and no torchvision version on the index pairs with the CPU torch 2.13
    (each release pins ``torch==`` its own version). torchvision is written to work without
    its C extension (``extension._load_library`` catches the OSError, ``_has_ops()`` is then
    False and every C op raises "Couldn't load custom C++ ops" when called), except that
    ``_meta_registrations`` registers fake kernels for ``torchvision::nms`` and
    ``torchvision::qnms`` unconditionally, which fails with "operator torchvision::nms does not
    exist". Declaring those two schemas (no kernel) lets the real torchvision import; its ops
    still refuse to run. Nothing here touches a working torchvision."""
    try:
        import torchvision
        return torchvision
    except RuntimeError as err:
        if "does not exist" not in str(err) or "torchvision::" not in str(err):
            raise
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    fragment = torch.library.Library("torchvision", "FRAGMENT")
    for op in ("nms", "qnms"):
        fragment.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _TORCHVISION_FRAGMENT.append(fragment)
    import torchvision
    assert not torchvision.extension._has_ops()
    return torchvision


def _import_k_diffusion():
    """The installed k-diffusion's modules ``external``, ``layers``, ``config`` (its own files).

    k-diffusion uses torchvision only in ``utils`` (``transforms.functional.to_tensor`` /
    ``to_pil_image`` for its image helpers) and ``evaluation`` (CLIP normalisation for FID/KID
    features); the denoiser wrappers (``external``, ``layers``) import ``utils`` for
    ``append_dims``. See :func:`_importable_torchvision` for the platform's torchvision.

    A second obstacle: ``k_diffusion/__init__.py`` imports every submodule, among them
    ``evaluation``, which imports clip-anytorch 2.6.0, whose first lines do ``from
    pkg_resources import packaging``; the setuptools installed beside it (84.2.1) no longer
    ships ``pkg_resources``. Where that import fails, the package's modules are imported
    without running its ``__init__.py`` (whose only content is those imports and the
    re-export of ``layers.Denoiser``); ``external``, ``layers``, ``config``, ``sampling`` and
    ``utils`` need none of clip, clean-fid or wandb."""
    _importable_torchvision()
    try:
        import k_diffusion
        return k_diffusion.external, k_diffusion.layers, k_diffusion.config
    except ModuleNotFoundError as err:
        if err.name != "pkg_resources":
            raise
    for name in [m for m in sys.modules if m == "k_diffusion" or m.startswith("k_diffusion.")]:
        del sys.modules[name]
    spec = importlib.util.find_spec("k_diffusion")
    sys.modules["k_diffusion"] = importlib.util.module_from_spec(spec)    # __init__ not run
    return tuple(importlib.import_module(f"k_diffusion.{m}")
                 for m in ("external", "layers", "config"))


@pytest.fixture(scope="module")
def kd():
    external, layers, config = _import_k_diffusion()
    # the code under test is the installed distribution's, not a copy or a stand-in
    files = {str(Path(f.locate()).resolve()) for f in metadata.files("k-diffusion")}
    for module in (external, layers, config):
        assert str(Path(module.__file__).resolve()) in files, module.__file__
    return type("KD", (), {"external": external, "layers": layers, "config": config,
                           "version": metadata.version("k-diffusion")})


def _sigma_of_timestep(conv, t_k):
    """k-diffusion's ``DiscreteSchedule.t_to_sigma``: log sigma linear between table entries."""
    return np.exp(np.interp(t_k, np.arange(conv.steps), np.log(conv.sigmas)))


class ExactDDPMNet(torch.nn.Module):
    """The problem's exact eps (or v) network in k-diffusion's discrete call form
    ``net(c_in x, timestep)`` (float64). ``scale`` and ``time_factor`` make the 0.9x and t/2
    mutants."""

    def __init__(self, problem, prediction="epsilon", scale=1.0, time_factor=1.0):
        super().__init__()
        self.problem, self.prediction = problem, prediction
        self.scale, self.time_factor = scale, time_factor
        self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x_in, t_k):
        conv = self.problem.convention
        t = conv.timestep_of_sigma(_sigma_of_timestep(conv, self.time_factor * t_k.numpy()))
        x = x_in.numpy()                        # c_in x_ve is the VP-form point a x_ve
        out = conv.prediction_from_score(self.prediction, t, self.problem.score(t, x), x)
        return self.scale * torch.as_tensor(out)


class ExactKarrasNet(torch.nn.Module):
    """The exact F of ``layers.Denoiser(net, sigma_data)`` on an EDM problem (x = x_0 + sigma z,
    time = sigma): F(c_in x, sigma) = (D(x, sigma) - c_skip x) / c_out, D = E[x_0 | x]."""

    def __init__(self, problem, sigma_data, sigma_factor=1.0):
        super().__init__()
        self.problem, self.sigma_data, self.sigma_factor = problem, sigma_data, sigma_factor
        self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x_in, sigma):
        s = np.maximum(self.sigma_factor * sigma.numpy(), self.problem.t_min)[:, None]
        sd2 = self.sigma_data ** 2
        c_in, c_skip = 1 / np.sqrt(s ** 2 + sd2), sd2 / (s ** 2 + sd2)
        c_out = s * self.sigma_data / np.sqrt(s ** 2 + sd2)
        x = x_in.numpy() / c_in
        conv, t = self.problem.convention, s[:, 0]
        d = conv.denoiser_from_score(t, self.problem.score(t, x), x)
        return torch.as_tensor((d - c_skip * x) / c_out)


def _assert_exact_verdict(report):
    """The exact model's report: the headline and every line consistent (the field line too:
    e(0) = 4.9e-24 is the float64 rounding of D divided by b^2 = 1e-4, within the allowance of
    validate.ROUNDING_ULPS, 2e-20 there; with the former absolute slack of 1e-24 it read NOT
    consistent)."""
    assert report.headline["consistent"], report.headline
    assert report.kind == "denoiser"
    assert all(line["consistent"] for line in report.verdict), report.verdict
    samples = [line for line in report.verdict if line["quantity"].startswith("samples")]
    assert samples, report.verdict
    flow_map = [line for line in report.verdict if line["quantity"] == "flow map"]
    assert flow_map and flow_map[0]["consistent"], flow_map
    assert report.eps2_score < 1e-20, report.eps2_score


def _assert_flagged(report, headline=True):
    """A wrong model: the field line flags it, and (``headline``) the samples' verdict."""
    field = report.verdict[0]
    assert field["quantity"] == "field: eps2_score" and not field["consistent"], field
    assert report.eps2_score > 1.0, report.eps2_score
    if headline:
        assert not report.headline["consistent"], report.headline
        assert report.headline["worst_z"] > Z_THRESHOLD


@pytest.mark.parametrize("prediction", ["epsilon", "v"])
def test_discrete_ddpm_wrappers_through_validate(kd, prediction):
    """k-diffusion's DiscreteEpsDDPMDenoiser / DiscreteVDDPMDenoiser around the exact network
    on a DDPM table: taken by KDiffusionDenoiser as they are (kind, table from the wrapper's
    ``sigmas`` buffer), equal to pdeflow's karras_denoiser, exact (eps2 < 1e-20, headline
    consistent); the 0.9x mutant of the network is flagged: the eps one by the headline, the
    v one only by the field line (its samples stay within the floor: +1.1 and -0.1 floor SD at
    seeds 0 and 1, n = 1000, while eps2_score = 55; a t/2 v-network reaches only +4.4 / +6.2,
    too close to the threshold 4 for a test)."""
    problem = get("ddpm-separated-2d")
    conv = problem.convention
    wrapper = {"epsilon": kd.external.DiscreteEpsDDPMDenoiser,
               "v": kd.external.DiscreteVDDPMDenoiser}[prediction]
    table = torch.as_tensor(conv.alphas_cumprod)

    def wrapped(**mutation):
        return wrapper(ExactDDPMNet(problem, prediction, **mutation), table, quantize=False)

    model = KDiffusionDenoiser(wrapped())
    assert model.kind == "denoiser" and model.convention.steps == conv.steps
    np.testing.assert_allclose(model.convention.alphas_cumprod, conv.alphas_cumprod,
                               rtol=1e-13, atol=0)
    # the same D as pdeflow's own implementation of k-diffusion's conventions: at table
    # sigmas, between them, and beyond both ends (where both clamp the timestep)
    sigma = np.concatenate([conv.sigmas[[0, 1, 10, 400, 999]],
                            np.sqrt(conv.sigmas[[3, 500]] * conv.sigmas[[4, 501]]),
                            [0.5 * conv.sigmas[0], 3.0 * conv.sigmas[-1]]])
    x = np.random.default_rng(0).standard_normal((len(sigma), 2)) * np.sqrt(1 + sigma ** 2)[:, None]
    ours = KDiffusionDenoiser(karras_denoiser(ExactDDPMNet(problem, prediction),
                                              conv.alphas_cumprod, prediction))
    np.testing.assert_allclose(model(x, sigma), ours(x, sigma), rtol=1e-12, atol=1e-14)
    _assert_exact_verdict(validate(model, problem, seed=0, **SETTINGS))
    _assert_flagged(validate(KDiffusionDenoiser(wrapped(scale=0.9)), problem, seed=0,
                             **SETTINGS), headline=prediction == "epsilon")
    # quantize=True (k-diffusion's choice for some samplers) rounds sigma to the nearest table
    # entry: exact on the table only, so pdeflow measures the rounding (eps2 0.83 to 1.06 at
    # seeds 0 and 1 for eps and v)
    rounded = KDiffusionDenoiser(wrapper(ExactDDPMNet(problem, prediction), table, quantize=True))
    assert error_profile(rounded, problem, samples=200, profile_points=9)["eps2_score"] > 0.1


def test_karras_denoiser_through_validate(kd):
    """k-diffusion's layers.Denoiser (Karras preconditioning, sigma_data = 0.5) around the exact
    F on an EDM problem: no table, so any sigma is accepted (convention None); exact verdict;
    F evaluated at sigma / 2 (the t/2 bug) is flagged."""
    problem = get("edm-separated-2d")
    denoiser = kd.layers.Denoiser(ExactKarrasNet(problem, 0.5), sigma_data=0.5)
    model = KDiffusionDenoiser(denoiser)
    assert model.kind == "denoiser" and model.convention is None
    _assert_exact_verdict(validate(model, problem, seed=0, **SETTINGS))
    wrong = kd.layers.Denoiser(ExactKarrasNet(problem, 0.5, sigma_factor=0.5), sigma_data=0.5)
    _assert_flagged(validate(KDiffusionDenoiser(wrong), problem, seed=0, **SETTINGS))


def test_random_image_model_from_a_k_diffusion_config(kd):
    """A randomly initialised tiny ImageDenoiserModelV1 (k-diffusion's own UNet, built by
    config.make_model / make_denoiser_wrapper from a config as its train.py does) on 1 x 8 x 8
    images: called on (n, 1, 8, 8) at sigma, and the report goes through (a random model is
    not consistent with the truth)."""
    import io

    config = kd.config.load_config(io.StringIO(json.dumps({"model": {
        "type": "image_v1", "input_channels": 1, "input_size": [8, 8], "mapping_out": 16,
        "depths": [1, 1], "channels": [8, 16], "self_attn_depths": [False, False],
        "sigma_data": 0.5, "augment_wrapper": False}})))
    torch.manual_seed(0)
    inner = kd.config.make_model(config)
    torch.nn.init.normal_(inner.proj_out.weight, std=0.1)   # k-diffusion zero-initialises it
    denoiser = kd.config.make_denoiser_wrapper(config)(inner)
    assert isinstance(denoiser, kd.layers.Denoiser)
    model = KDiffusionDenoiser(denoiser, shape=(1, 8, 8))
    problem = get("edm-separated-64d")
    x, sigma = problem.sample(1.0, 4, 0), np.array([0.002, 0.3, 1.0, 80.0])
    with torch.no_grad():
        direct = denoiser(torch.as_tensor(x, dtype=torch.float32).reshape(4, 1, 8, 8),
                          torch.as_tensor(sigma, dtype=torch.float32)).reshape(4, -1)
    assert float(direct.std()) > 0
    np.testing.assert_allclose(model(x, sigma), direct.double().numpy(), rtol=1e-6, atol=1e-6)
    fast = dict(samples=100, profile_points=5, ode_steps=10, sde_steps=20, w2_points=50,
                mmd_points=50, flow_map_points=50, floor_draws=5, directions=32, progress=False)
    report = validate(model, problem, seed=0, **fast)
    assert report.kind == "denoiser" and "Denoiser via KDiffusionDenoiser" in report.model
    # 14 097 parameters; at torch seeds 0, 1, 2: eps2_score 4e3 to 4e4, headline +31 to +93
    assert np.isfinite(report.eps2_score) and report.eps2_score > 1.0
    assert not report.headline["consistent"]


FACTORY = '''
import numpy as np
import torch
from k_diffusion.external import DiscreteEpsDDPMDenoiser
from pdeflow.problems import get

problem = get("ddpm-separated-2d")
conv = problem.convention


class Eps(torch.nn.Module):
    """The exact eps network, k-diffusion's discrete call form net(c_in x, timestep)."""

    def __init__(self, scale):
        super().__init__()
        self.scale = scale
        self.anchor = torch.nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, x_in, t_k):
        sigma = np.exp(np.interp(t_k.numpy(), np.arange(conv.steps), np.log(conv.sigmas)))
        t = conv.timestep_of_sigma(sigma)
        score = problem.score(t, x_in.numpy())
        return self.scale * torch.as_tensor(conv.noise_from_score(t, score))


def exact():
    return DiscreteEpsDDPMDenoiser(Eps(1.0), torch.as_tensor(conv.alphas_cumprod), False)
'''


def test_k_diffusion_denoiser_through_the_command_line(kd, tmp_path):
    """``pdeflow validate --model k-diffusion:FILE.py:FACTORY``: the factory returns
    k-diffusion's wrapper as it is (no prefix-specific code in the user's file); the exact one
    gets the consistent headline (the 0.9x one is flagged by the Python call above)."""
    from pdeflow.cli import main

    (tmp_path / "kmodels.py").write_text(FACTORY)
    code = main(["validate", "--model", f"k-diffusion:{tmp_path / 'kmodels.py'}:exact",
                 "--problem", "ddpm-separated-2d", "--out", str(tmp_path / "out"), "--json",
                 str(tmp_path / "exact.json"), "--samples", "300", "--quiet"])
    assert code == 0
    summary = json.loads((tmp_path / "exact.json").read_text())
    assert summary["kind"] == "denoiser" and "DiscreteEpsDDPMDenoiser" in summary["model"]
    assert summary["headline"]["consistent"], summary["headline"]
    assert summary["eps2_score"] < 1e-20
