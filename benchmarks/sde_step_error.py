"""Euler-Maruyama step error of the reverse SDE (alpha = 1) on the default Fokker-Planck problem.

The exact mixture velocity (no grid, no time interpolation) flowed back by Euler-Maruyama at
several steps; W2 (exact, n = 1000, seed 0) to fresh samples of rho_0, beside the plug-in floor
(5 draws) and the probability-flow ODE (RK4) through the same velocity.
Usage: python benchmarks/sde_step_error.py
"""
import numpy as np

from pdeflow.exact import GaussianMixtureFlow
from pdeflow.problems import three_component_mixture
from pdeflow.solvers.backward import sample_backward
from pdeflow.study.config import StudyConfig
from pdeflow.validation.metrics import wasserstein2

cfg = StudyConfig()
mixture = three_component_mixture(cfg.dim)
flow = GaussianMixtureFlow(cfg.equation("fokker-planck"), mixture)
start = flow.at(cfg.T).sample(cfg.n_samples, np.random.default_rng([0, 1]))
reference = mixture.sample(cfg.n_samples, np.random.default_rng([0, 2]))
floors = [wasserstein2(mixture.sample(cfg.n_samples, np.random.default_rng([9, k])),
                       mixture.sample(cfg.n_samples, np.random.default_rng([10, k])))
          for k in range(5)]
print(f"plug-in floor: {np.mean(floors):.3f} +- {np.std(floors, ddof=1):.3f} (5 draws)")
ode = sample_backward(flow.equation, flow, start, [cfg.T, 0.0], dt=cfg.dt).final
print(f"ODE RK4 dt {cfg.dt}: W2 = {wasserstein2(ode, reference):.3f}")
for dt in (0.02, 0.01, 0.005, 0.0025):
    sde = sample_backward(flow.equation, flow, start, [cfg.T, 0.0], alpha=1.0, dt=dt,
                          seed=np.random.default_rng([0, 3])).final
    print(f"SDE Euler-Maruyama dt {dt}: W2 = {wasserstein2(sde, reference):.3f}")
