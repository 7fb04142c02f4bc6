"""Small float64 decoders shared by the manifold tests."""
import importlib.util
from pathlib import Path

import torch

from pdeflow.manifold_flows.bijections import randomize_
from pdeflow.manifold_flows.injective_flow import InjectiveFlow


def random_flow(d, D, seed, scale=0.2, n_layers=2, hidden=8, coupling="affine"):
    """A float64 injective flow moved away from the identity by seeded parameter noise."""
    flow = InjectiveFlow(d, D, n_layers=n_layers, hidden=hidden, prior_layers=2,
                         prior_hidden=8, seed=seed, coupling=coupling).double()
    return randomize_(flow, scale, seed)


def mlp_decoder(d, D, seed, hidden=6):
    """z (n, d) -> tanh(z A^T + b) C^T + c, a generic smooth decoder with full-rank Jacobian a.s."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(hidden, d, generator=g, dtype=torch.float64)
    b = torch.randn(hidden, generator=g, dtype=torch.float64)
    c = torch.randn(D, hidden, generator=g, dtype=torch.float64)
    return lambda z: torch.tanh(z @ a.T + b) @ c.T


def load_example(name):
    """Import ``examples/<name>.py`` as a module (the examples are scripts, not a package)."""
    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
