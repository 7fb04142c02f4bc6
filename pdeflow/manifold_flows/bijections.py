"""Bijections of R^k with exact inverses and exact log-determinants.

Every bijection maps ``x`` (n, k) to ``(y, logdet)`` with ``y`` (n, k) and ``logdet`` (n,) the
log |det dy/dx|; ``inverse(y)`` returns ``(x, logdet)`` with the log-det of the inverse map
(so forward and inverse log-dets are negatives of each other at corresponding points).
Layers act row by row, so they can be differentiated per point with :mod:`torch.func`.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def _check_dim(dim, minimum: int = 1) -> int:
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < minimum:
        raise ValueError(f"dim must be an int >= {minimum}, got {dim!r}")
    return dim


class Bijection(nn.Module):
    """Base class: ``forward(x) -> (y, logdet)``, ``inverse(y) -> (x, logdet)``."""

    dim: int

    def inverse(self, y: torch.Tensor):  # pragma: no cover - interface
        raise NotImplementedError


class ElementwiseAffine(Bijection):
    """y = x * exp(s) + t with learnable vectors s, t (initialised to the identity)."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = _check_dim(dim)
        self.log_scale = nn.Parameter(torch.zeros(dim))
        self.shift = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        y = x * torch.exp(self.log_scale) + self.shift
        return y, self.log_scale.sum().expand(x.shape[0])

    def inverse(self, y):
        x = (y - self.shift) * torch.exp(-self.log_scale)
        return x, -self.log_scale.sum().expand(y.shape[0])


class Permutation(Bijection):
    """Fixed coordinate permutation drawn from ``seed`` (log-det 0)."""

    def __init__(self, dim: int, seed: int):
        super().__init__()
        self.dim = _check_dim(dim)
        perm = torch.randperm(dim, generator=torch.Generator().manual_seed(seed))
        self.register_buffer("perm", perm)
        self.register_buffer("inv_perm", torch.argsort(perm))

    def forward(self, x):
        return x[:, self.perm], x.new_zeros(x.shape[0])

    def inverse(self, y):
        return y[:, self.inv_perm], y.new_zeros(y.shape[0])


def _mlp(n_in: int, n_out: int, hidden: int, depth: int = 2) -> nn.Sequential:
    layers, width = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.SiLU()]
        width = hidden
    last = nn.Linear(width, n_out)
    # Start each coupling at the identity map; gradients still reach the zero layer.
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(*layers, last)


class AffineCoupling(Bijection):
    """Real-NVP coupling: the coordinates in ``mask`` condition an affine map of the others.

    y_b = x_b * exp(s(x_a)) + t(x_a), with s soft-clamped to (-scale_bound, scale_bound) by
    ``scale_bound * tanh(. / scale_bound)`` so the map stays well conditioned.
    """

    def __init__(self, dim: int, hidden: int = 64, parity: int = 0, scale_bound: float = 3.0):
        super().__init__()
        self.dim = _check_dim(dim, 2)
        if not scale_bound > 0:
            raise ValueError(f"scale_bound must be > 0, got {scale_bound!r}")
        idx = torch.arange(dim)
        self.register_buffer("cond_idx", idx[idx % 2 == parity % 2])
        self.register_buffer("trans_idx", idx[idx % 2 != parity % 2])
        self.scale_bound = float(scale_bound)
        n_t = len(self.trans_idx)
        self.net = _mlp(len(self.cond_idx), 2 * n_t, hidden)

    def _params(self, x_cond):
        raw_s, t = self.net(x_cond).chunk(2, dim=-1)
        s = self.scale_bound * torch.tanh(raw_s / self.scale_bound)
        return s, t

    def _assemble(self, cond, trans):
        out = torch.empty(cond.shape[0], self.dim, dtype=cond.dtype, device=cond.device)
        out = out.index_copy(1, self.cond_idx, cond)
        return out.index_copy(1, self.trans_idx, trans)

    def forward(self, x):
        x_a, x_b = x[:, self.cond_idx], x[:, self.trans_idx]
        s, t = self._params(x_a)
        return self._assemble(x_a, x_b * torch.exp(s) + t), s.sum(-1)

    def inverse(self, y):
        y_a, y_b = y[:, self.cond_idx], y[:, self.trans_idx]
        s, t = self._params(y_a)
        return self._assemble(y_a, (y_b - t) * torch.exp(-s)), -s.sum(-1)


def _rq_knots(raw: torch.Tensor, bound: float, min_size: float = 1e-3) -> torch.Tensor:
    """Bin edges in [-bound, bound] from unnormalised sizes raw (..., K); returns (..., K + 1)."""
    k = raw.shape[-1]
    sizes = min_size + (1 - min_size * k) * torch.softmax(raw, dim=-1)
    edges = torch.cumsum(sizes, dim=-1)
    edges = torch.cat([torch.zeros_like(edges[..., :1]), edges], dim=-1)
    return 2 * bound * edges / edges[..., -1:] - bound


def _gather(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    return torch.gather(t, -1, idx[..., None])[..., 0]


class RationalQuadraticCoupling(Bijection):
    """Monotone rational-quadratic spline coupling (Durkan et al. 2019) on [-bound, bound] with
    ``n_bins`` bins and identity tails (slope 1 at the boundary, so the map is C^1).

    The conditioner outputs, per transformed coordinate, K widths, K heights and K - 1 interior
    knot slopes; a zero conditioner gives the identity.
    """

    _MIN_SLOPE = 1e-3

    def __init__(self, dim: int, hidden: int = 64, parity: int = 0, n_bins: int = 8,
                 bound: float = 4.0):
        super().__init__()
        self.dim = _check_dim(dim, 2)
        if not isinstance(n_bins, int) or n_bins < 2:
            raise ValueError(f"n_bins must be an int >= 2, got {n_bins!r}")
        if not bound > 0:
            raise ValueError(f"bound must be > 0, got {bound!r}")
        idx = torch.arange(dim)
        self.register_buffer("cond_idx", idx[idx % 2 == parity % 2])
        self.register_buffer("trans_idx", idx[idx % 2 != parity % 2])
        self.n_bins, self.bound = n_bins, float(bound)
        self.net = _mlp(len(self.cond_idx), len(self.trans_idx) * (3 * n_bins - 1), hidden)

    def _spline(self, x_cond):
        raw = self.net(x_cond).reshape(x_cond.shape[0], len(self.trans_idx), 3 * self.n_bins - 1)
        k = self.n_bins
        xs, ys = _rq_knots(raw[..., :k], self.bound), _rq_knots(raw[..., k:2 * k], self.bound)
        # softplus(raw + log(e - 1)) is 1 at raw = 0: zero output gives unit slopes (identity)
        inner = self._MIN_SLOPE + (1 - self._MIN_SLOPE) * nn.functional.softplus(
            raw[..., 2 * k:] + math.log(math.e - 1))
        ones = torch.ones_like(inner[..., :1])
        return xs, ys, torch.cat([ones, inner, ones], dim=-1)

    def _assemble(self, cond, trans):
        out = torch.empty(cond.shape[0], self.dim, dtype=cond.dtype, device=cond.device)
        out = out.index_copy(1, self.cond_idx, cond)
        return out.index_copy(1, self.trans_idx, trans)

    @staticmethod
    def _bin(edges, v):
        """Bin index k with ``edges[k] < v <= edges[k + 1]`` (the first bin also takes its left
        edge); the forward pass searches the x edges, the inverse the y edges, so a point and
        its image fall in the same bin."""
        return torch.searchsorted(edges[..., 1:-1].contiguous(), v[..., None].contiguous())[..., 0]

    @staticmethod
    def _root(a, b, c):
        """The root in [0, 1] of ``a xi^2 + b xi + c = 0`` for the spline's coefficients: ``c < 0``
        with one root on each side of 0 or both positive, or ``c = 0`` with ``b > 0`` (root 0).

        Of the two algebraically equal forms, ``2c / (-b - sqrt(D))`` (citardauq) is free of
        cancellation for ``b >= 0`` and ``(-b + sqrt(D)) / (2a)`` for ``b < 0`` (then ``a > 0``
        is implied by a root in [0, 1]); taking each on its own side keeps the relative error
        at a few ulp.
        """
        root_d = torch.sqrt((b * b - 4 * a * c).clamp_min(0))
        pos = b >= 0
        one = torch.ones_like(b)
        den_pos = torch.where(pos, -b - root_d, -one)
        den_neg = torch.where(pos, one, 2 * a)
        xi = torch.where(pos, (2 * c) / den_pos, (-b + root_d) / den_neg)
        # xi = 0 when c = 0 exactly (0 / negative = -0.0 is fine); keep inside the bin
        return xi.clamp(0, 1)

    def _eval(self, x_cond, v, inverse: bool):
        xs, ys, slopes = self._spline(x_cond)
        inside = (v > -self.bound) & (v < self.bound)
        vc = v.clamp(-self.bound, self.bound)
        k = self._bin(ys if inverse else xs, vc)
        x0, x1 = _gather(xs, k), _gather(xs, k + 1)
        y0, y1 = _gather(ys, k), _gather(ys, k + 1)
        w, h = x1 - x0, y1 - y0
        d0, d1 = _gather(slopes, k), _gather(slopes, k + 1)
        s = h / w
        if inverse:
            dy = vc - y0
            a = h * (s - d0) + dy * (d1 + d0 - 2 * s)
            b = h * d0 - dy * (d1 + d0 - 2 * s)
            xi = self._root(a, b, -s * dy)
            # the exact preimage lies in the bin: round-off must not leave it
            out = torch.minimum(torch.maximum(x0 + xi * w, x0), x1)
        else:
            xi = (vc - x0) / w
            out = y0 + h * (s * xi ** 2 + d0 * xi * (1 - xi)) / (
                s + (d1 + d0 - 2 * s) * xi * (1 - xi))
            out = torch.minimum(torch.maximum(out, y0), y1)
        denom = s + (d1 + d0 - 2 * s) * xi * (1 - xi)
        logd = (2 * torch.log(s) + torch.log(d1 * xi ** 2 + 2 * s * xi * (1 - xi)
                                             + d0 * (1 - xi) ** 2) - 2 * torch.log(denom))
        logd = torch.where(inside, logd, torch.zeros_like(logd))
        return torch.where(inside, out, v), (-logd if inverse else logd).sum(-1)

    def forward(self, x):
        x_a, x_b = x[:, self.cond_idx], x[:, self.trans_idx]
        y_b, logdet = self._eval(x_a, x_b, inverse=False)
        return self._assemble(x_a, y_b), logdet

    def inverse(self, y):
        y_a, y_b = y[:, self.cond_idx], y[:, self.trans_idx]
        x_b, logdet = self._eval(y_a, y_b, inverse=True)
        return self._assemble(y_a, x_b), logdet


COUPLINGS = {"affine": AffineCoupling, "spline": RationalQuadraticCoupling}


class Chain(Bijection):
    """Composition ``layers[-1] o (...) o layers[0]``; log-dets add."""

    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        dims = {layer.dim for layer in self.layers}
        if len(dims) != 1:
            raise ValueError(f"layers must all act on the same dimension, got {sorted(dims)}")
        self.dim = dims.pop()

    def _check(self, x, name: str) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != self.dim:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"{name} must be a torch.Tensor of shape (n, {self.dim}) (the flow's "
                             f"dimension), got {shape}")
        param = next(self.parameters(), None)
        dtype = x.dtype if param is None else param.dtype
        if x.dtype != dtype:
            raise ValueError(f"{name} has dtype {x.dtype} but the flow's parameters are {dtype}: "
                             f"pass {name}.to({dtype}) or convert the flow with .to({x.dtype})")

    def forward(self, x):
        self._check(x, "x")
        logdet = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, y):
        self._check(y, "y")
        logdet = y.new_zeros(y.shape[0])
        for layer in reversed(self.layers):
            y, ld = layer.inverse(y)
            logdet = logdet + ld
        return y, logdet


def coupling_flow(dim: int, n_layers: int = 4, hidden: int = 64, seed: int = 0,
                  coupling: str = "affine") -> Chain:
    """A coupling stack on R^dim: [elementwise affine] + n_layers x (permutation, coupling),
    with ``coupling`` in {"affine", "spline"} (Real-NVP or rational-quadratic spline layers).

    For ``dim == 1`` couplings are impossible, so only the elementwise affine layer is used.
    Parameters are initialised from ``seed`` (the global torch RNG is left untouched).
    """
    _check_dim(dim)
    if not isinstance(n_layers, int) or n_layers < 0:
        raise ValueError(f"n_layers must be an int >= 0, got {n_layers!r}")
    if not isinstance(hidden, int) or hidden < 1:
        raise ValueError(f"hidden must be a positive int, got {hidden!r}")
    if coupling not in COUPLINGS:
        raise ValueError(f"coupling must be one of {sorted(COUPLINGS)}, got {coupling!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers = [ElementwiseAffine(dim)]
        if dim >= 2:
            for i in range(n_layers):
                layers += [Permutation(dim, seed=seed * 1000 + i), COUPLINGS[coupling](dim, hidden, i)]
        return Chain(layers)


def randomize_(flow: nn.Module, scale: float, seed: int) -> nn.Module:
    """Add N(0, scale^2) noise to every parameter in place (tests use it to leave the identity)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in flow.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return flow


def standard_normal_logpdf(u: torch.Tensor) -> torch.Tensor:
    """log N(u; 0, I) for ``u`` (n, k); returns (n,)."""
    return -0.5 * (u ** 2).sum(-1) - 0.5 * u.shape[-1] * math.log(2 * math.pi)
