"""Resumable training: 2N steps straight equal N steps, a stop, and N resumed steps, bit for bit
(weights, optimiser moments, losses), with and without the Fokker-Planck residual; a checkpoint
of another run or another step budget is refused."""

import os

import numpy as np
import pytest
import torch

from pdeflow.reproductions.checkpoint import TorchCheckpoint
from pdeflow.reproductions.ode_vs_sde import StudyConfig, train_model

CFG = StudyConfig(hidden=(8, 8), steps=12, batch_size=32, n_train=200, n_samples=60,
                  sampler_steps=20, n_eval=64, n_reference=50)


class Stop(Exception):
    pass


class StopAfterFirstSave(TorchCheckpoint):
    """Behaves like a run killed right after its first checkpoint was written."""

    def save(self, state):
        super().save(state)
        raise Stop


@pytest.mark.parametrize("w_r", [0.0, 1.0])
def test_resume_is_bit_for_bit(tmp_path, w_r):
    torch.set_num_threads(1)
    straight, result = train_model("gaussian_mixture", w_r, 3, CFG)
    path = tmp_path / "run.pt"
    with pytest.raises(Stop):
        train_model("gaussian_mixture", w_r, 3, CFG,
                    checkpoint=StopAfterFirstSave(path, every=CFG.steps // 2))
    assert torch.load(path, weights_only=False)["step"] == CFG.steps // 2
    ckpt = TorchCheckpoint(path, every=CFG.steps // 2)
    resumed, result_r = train_model("gaussian_mixture", w_r, 3, CFG, checkpoint=ckpt)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name
    assert result.losses == result_r.losses and len(result_r.losses) == CFG.steps
    assert result.extra == result_r.extra
    assert ckpt.saves == 1            # only the final save: the first half was not redone
    assert not [f for f in os.listdir(tmp_path) if "tmp" in f]


def test_a_different_run_is_not_resumed(tmp_path):
    path = tmp_path / "run.pt"
    train_model("gaussian_mixture", 0.0, 0, CFG,
                checkpoint=TorchCheckpoint(path, 6, identity={"seed": 0}))
    with pytest.raises(ValueError, match="another run"):
        TorchCheckpoint(path, 6, identity={"seed": 1}).load()
    with pytest.raises(ValueError, match="steps"):
        train_model("gaussian_mixture", 0.0, 0, StudyConfig(**{**CFG.__dict__, "steps": 7}),
                    checkpoint=TorchCheckpoint(path, 6, identity={"seed": 0}))
    fresh, _ = train_model("gaussian_mixture", 0.0, 0, CFG,
                           checkpoint=TorchCheckpoint(path, 6, {"seed": 0}, resume=False))
    assert np.isfinite(sum(p.sum().item() for p in fresh.parameters()))


@pytest.mark.parametrize("every", [0, -1, 1.5, True])
def test_bad_every_raises(tmp_path, every):
    with pytest.raises(ValueError, match="every"):
        TorchCheckpoint(tmp_path / "x.pt", every)
