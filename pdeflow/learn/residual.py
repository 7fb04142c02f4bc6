"""The log-Fokker-Planck residual of a potential model phi(t, x) ~ log rho(t, x).

For the linear family q = log rho solves ``d_t q = D (Lap q + |grad q|^2) + kappa (d + x . grad q)``
(:meth:`pdeflow.equations.FokkerPlanck.log_density_rate`), so

    R(t, x) = d_t phi - log_density_rate(Lap phi, grad phi, x)

vanishes for the exact log-density. The Laplacian is exact (d extra backward passes) or a
Hutchinson estimate E_e[e^T (Hess phi) e] with Rademacher probes e (one extra pass per probe,
unbiased; cheaper than exact only when d is large).
"""
from __future__ import annotations

import torch

__all__ = ["potential_derivatives", "fp_residual", "residual_penalty"]

_LAPLACIANS = ("exact", "hutchinson")


def _hessian_trace_exact(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    lap = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for i in range(x.shape[1]):
        (row,) = torch.autograd.grad(grad[:, i].sum(), x, create_graph=True)
        lap = lap + row[:, i]
    return lap


def _hessian_trace_hutchinson(grad, x, n_probes: int, generator) -> torch.Tensor:
    lap = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
    for _ in range(n_probes):
        probe = torch.randint(0, 2, x.shape, generator=generator, dtype=x.dtype) * 2 - 1
        (hv,) = torch.autograd.grad((grad * probe).sum(), x, create_graph=True)
        lap = lap + (hv * probe).sum(1)
    return lap / n_probes


def potential_derivatives(potential, t, x: torch.Tensor, laplacian: str = "exact",
                          n_probes: int = 1, generator: torch.Generator | None = None):
    """(d_t phi, grad_x phi, Lap phi) of a scalar model ``potential(t, x) -> (n,)``.

    ``t`` (n,) tensor or float, ``x`` (n, d). The graph is kept (usable in a loss).
    ``laplacian`` is 'exact' or 'hutchinson' (``n_probes`` Rademacher probes from ``generator``).
    Shapes: (n,), (n, d), (n,).
    """
    if laplacian not in _LAPLACIANS:
        raise ValueError(f"laplacian must be one of {_LAPLACIANS}, got {laplacian!r}")
    if int(n_probes) != n_probes or n_probes < 1:
        raise ValueError(f"n_probes must be a positive integer, got {n_probes}")
    if laplacian == "hutchinson" and generator is None:
        raise ValueError("generator (a seeded torch.Generator) is required for laplacian='hutchinson'")
    if x.ndim != 2:
        raise ValueError(f"x must have shape (n, d), got {tuple(x.shape)}")
    t = torch.as_tensor(t, dtype=x.dtype).expand(x.shape[0]).detach().clone().requires_grad_(True)
    x = x.detach().clone().requires_grad_(True)
    phi = potential(t, x)
    phi_t, grad = torch.autograd.grad(phi.sum(), (t, x), create_graph=True,
                                      materialize_grads=True)  # phi may not depend on t
    if laplacian == "exact":
        lap = _hessian_trace_exact(grad, x)
    else:
        lap = _hessian_trace_hutchinson(grad, x, int(n_probes), generator)
    return phi_t, grad, lap


def fp_residual(potential, equation, t, x: torch.Tensor, laplacian: str = "exact",
                n_probes: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
    """R = d_t phi - equation.log_density_rate(Lap phi, grad phi, x), shape (n,).

    ``equation`` must be Heat or FokkerPlanck (units of R: 1 / time).
    """
    if not hasattr(equation, "log_density_rate"):
        raise ValueError(f"equation must be Heat or FokkerPlanck (linear), "
                         f"got {type(equation).__name__}")
    phi_t, grad, lap = potential_derivatives(potential, t, x, laplacian, n_probes, generator)
    return phi_t - equation.log_density_rate(lap, grad, x)


def residual_penalty(potential, equation, t, x, **kwargs) -> torch.Tensor:
    """E[R^2] over the points (scalar), the regulariser added as w_R * E[R^2] to DSM."""
    return fp_residual(potential, equation, t, x, **kwargs).pow(2).mean()
