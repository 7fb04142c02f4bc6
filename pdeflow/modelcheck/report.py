"""The validation report of one model on one problem, and its files.

:class:`ValidationReport` fields carry the JSON keys of ``pdeflow validate --json``
(:meth:`ValidationReport.summary`). :meth:`ValidationReport.save` writes ``validation.h5``
(profiles and samples), ``validation.png`` (error profiles and samples) and ``validation.txt``
(the summary as text) into a folder; every file is written to a temporary name and renamed.
Reading the numbers: docs/validate.md.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from ..io import atomic_file

__all__ = ["ValidationReport", "SUMMARY_KEYS"]

#: keys of :meth:`ValidationReport.summary` (the JSON file), in order
SUMMARY_KEYS = (
    "problem", "kind", "model", "truth", "convention", "dim", "t_min", "T", "samples", "seed",
    "headline", "verdict",
    "eps2_score", "eps2_score_se", "eps2_score_quadrature", "eps2_noise", "eps2_noise_se",
    "eps2_noise_quadrature",
    "eps2_velocity", "eps2_velocity_se", "eps2_velocity_quadrature", "eps2_velocity_truth",
    "w2", "w2_floor", "sliced_w2", "sliced_w2_floor", "sliced_w2_debiased", "mmd2", "mmd2_floor",
    "mmd_bandwidth", "z", "flow_map", "flow_map_error", "flow_map_truth_error", "memorisation",
    "seconds",
)


def _short_name(model: str) -> str:
    """The model's description with a file path cut to its base name (``dir/m.py:f`` ->
    ``m.py:f``), at most 60 characters."""
    head, sep, rest = model.partition(" ")
    short = Path(head.split(":")[0]).name + (":" + head.split(":", 1)[1] if ":" in head else "")
    text = short + sep + rest
    return text if len(text) <= 60 else text[:57] + "..."


def _plain(value):
    """JSON-ready: numpy scalars to floats, non-finite floats to None."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


@dataclass
class ValidationReport:
    """Errors of a model against a problem's truth (all in the convention's own units).

    Attributes
    ----------
    problem, kind, model, truth, convention : what was checked.
    dim, t_min, T, samples, seed : the setting.
    times : (nt,) the profile nodes, log-spaced towards the data end.
    e_score, e_score_se, e_velocity, e_velocity_se : (nt,) e(t) = ``E_{rho_t} |f_model - f|^2``
        and its Monte-Carlo standard error at every node (``samples`` exact points per node).
    e_velocity_truth : (nt,) ``E |v_truth error|^2`` of a certified truth (zeros if exact).
    e_score_rounding : (nt,) the rounding an exact float64 model's score may carry
        (``ROUNDING_ULPS`` of :mod:`pdeflow.modelcheck.validate`); the field line allows it.
    eps2_score, eps2_velocity : int_{t_min}^{T} e(t) dt, trapezoid rule in t on the nodes
        (unweighted, so a constant error c gives exactly ``|c|^2 (T - t_min)``); ``*_se`` their
        standard errors, ``*_quadrature`` the difference of the rule on all nodes and on every other node.
    eps2_noise : int b(t)^2 e_score(t) dt = ``int E |eps_model - eps|^2 dt`` (the DSM weighting),
        with ``eps2_noise_se`` and ``eps2_noise_quadrature``.
    eps2_velocity_truth : int e_velocity_truth dt; eps2_velocity below 9 x this is unresolved.
    w2 : {"ode", "sde"} exact W2 of ``w2_points`` generated vs as many exact samples of the data
        end (None above ``w2_max_dim``); w2_floor : {"mean", "std", "draws", "points"} of W2
        between two exact samples of that size.
    sliced_w2, sliced_w2_floor : the same with sliced W2 on all samples (floor over
        ``floor_draws`` pairs); sliced_w2_debiased : sqrt(max(SW2^2 - floor mean of SW2^2, 0)),
        the sliced distance of the laws with the plug-in bias removed.
    mmd2, mmd2_floor, mmd_bandwidth : unbiased MMD^2 on ``mmd_points`` with the kernel
        ``sum_k exp(-|x - y|^2 / (2 (h / k)^2))``, k in ``MMD_SCALES`` (1, 2, 4, 8), h =
        ``mmd_bandwidth`` the median distance of the exact samples.
    z : ``{"w2", "sliced_w2", "mmd2"} -> {"ode", "sde"} -> z``: (value - floor mean) /
        floor SD; the floor SD is the standard error of the distance at that sample size.
    flow_map : per-particle flow-map error of the ODE against the exact field's ODE (twice the
        steps) from the same starts: {"rms", "rms_se", "mean_square", "mean_square_se",
        "l2_uvp", "l2_uvp_se" (``100 E|T_hat - T*|^2 / Var T*``, in %), "target_variance",
        "top1_share", "points"}; flow_map_error = its RMS; flow_map_truth_error: the exact
        map's own error estimate (same steps vs twice the steps).
    verdict : one {"quantity", "consistent", "detail"} per quantity; headline : {"consistent",
        "text", "worst", "worst_z"}: the samples' verdict (sliced W2 and MMD^2 of ODE and SDE
        within ``Z_THRESHOLD`` floor SD of their floors).
    memorisation : {"median_ratio", "fraction"} of the ODE samples, if a training set was given.
    seconds : wall times of the parts.
    samples_ode, samples_sde, reference, start : (n, d) arrays (stored in the HDF5 file).
    """

    problem: str
    kind: str
    model: str
    truth: str
    convention: str
    dim: int
    t_min: float
    T: float
    samples: int
    seed: int
    times: np.ndarray
    e_score: np.ndarray
    e_score_se: np.ndarray
    e_velocity: np.ndarray
    e_velocity_se: np.ndarray
    e_velocity_truth: np.ndarray
    eps2_score: float | None
    eps2_score_se: float | None
    eps2_score_quadrature: float | None
    eps2_noise: float | None
    eps2_velocity: float
    eps2_velocity_se: float
    eps2_velocity_quadrature: float
    eps2_velocity_truth: float
    w2: dict
    w2_floor: dict
    sliced_w2: dict
    sliced_w2_floor: dict
    mmd2: dict
    mmd2_floor: dict
    mmd_bandwidth: float
    flow_map_error: float
    flow_map_truth_error: float
    memorisation: dict | None
    seconds: dict
    samples_ode: np.ndarray = field(repr=False)
    samples_sde: np.ndarray | None = field(repr=False)
    reference: np.ndarray = field(repr=False)
    start: np.ndarray = field(repr=False)
    settings: dict = field(default_factory=dict)
    eps2_noise_se: float | None = None
    eps2_noise_quadrature: float | None = None
    sliced_w2_debiased: dict = field(default_factory=dict)
    z: dict = field(default_factory=dict)
    flow_map: dict = field(default_factory=dict)
    verdict: list = field(default_factory=list)
    headline: dict = field(default_factory=dict)
    e_score_rounding: np.ndarray | None = None

    # -- summaries -----------------------------------------------------------------------------
    def summary(self) -> dict:
        """The JSON summary (keys :data:`SUMMARY_KEYS`; NaN / inf become null)."""
        return _plain({key: getattr(self, key) for key in SUMMARY_KEYS})

    def to_json(self) -> str:
        return json.dumps(self.summary(), indent=2)

    def write_json(self, path) -> Path:
        """Write :meth:`summary` to ``path`` atomically."""
        return atomic_file(Path(path), lambda tmp: tmp.write_text(self.to_json() + "\n"))

    @property
    def resolved(self) -> bool:
        """False when eps2_velocity < 9 eps2_velocity_truth (signal below 3x the truth error)."""
        return not self.eps2_velocity < 9.0 * self.eps2_velocity_truth

    def text(self) -> str:
        """A readable summary."""
        f = lambda v: "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) \
            else f"{v:.4g}"
        lines = [f"pdeflow validate: model {self.model} on {self.problem} "
                 f"({self.truth}, {self.convention}, dim {self.dim}, t in [{self.t_min:g}, "
                 f"{self.T:g}]), {self.samples} samples, seed {self.seed}"]
        if self.headline:
            lines.append(f"VERDICT: {self.headline['text']}")
        for line in self.verdict:
            lines.append(f"  {'ok ' if line['consistent'] else 'NOT'}  {line['quantity']:28s} "
                         f"{line['detail']}")
        lines.append("")
        if self.eps2_score is not None:
            lines.append(f"eps2_score    = {f(self.eps2_score)} +- {f(self.eps2_score_se)} (MC SE)"
                         f", quadrature {f(self.eps2_score_quadrature)}; eps2_noise = "
                         f"{f(self.eps2_noise)} +- {f(self.eps2_noise_se)}, quadrature "
                         f"{f(self.eps2_noise_quadrature)}")
        lines.append(f"eps2_velocity = {f(self.eps2_velocity)} +- {f(self.eps2_velocity_se)} (MC "
                     f"SE), quadrature {f(self.eps2_velocity_quadrature)}, truth error "
                     f"{f(self.eps2_velocity_truth)}" + ("" if self.resolved else
                                                         "  [UNRESOLVED: < 9 x truth error]"))
        z = lambda key, route: self.z.get(key, {}).get(route) if self.z else None
        zs = lambda key, route: "" if z(key, route) is None else f", {z(key, route):+.1f} SD"
        floor = self.w2_floor
        for route in ("ode", "sde"):
            if route not in self.sliced_w2:
                continue
            w2 = self.w2.get(route) if self.w2 else None
            lines.append(f"{route.upper()}: W2 = {f(w2)} (floor {f(floor.get('mean'))} +- "
                         f"{f(floor.get('std'))}{zs('w2', route)}), sliced W2 = "
                         f"{f(self.sliced_w2[route])} (floor {f(self.sliced_w2_floor['mean'])} +- "
                         f"{f(self.sliced_w2_floor['std'])}{zs('sliced_w2', route)}; debiased "
                         f"{f(self.sliced_w2_debiased.get(route))}), MMD2 = "
                         f"{f(self.mmd2[route])} (floor {f(self.mmd2_floor['mean'])} +- "
                         f"{f(self.mmd2_floor['std'])}{zs('mmd2', route)})")
        fm = self.flow_map
        if fm:
            lines.append(f"flow-map error = {f(fm['rms'])} +- {f(fm['rms_se'])} (RMS +- SE), "
                         f"L2-UVP = {f(fm['l2_uvp'])} +- {f(fm['l2_uvp_se'])} %, top 1 % of "
                         f"particles carry {100 * fm['top1_share']:.0f} % of the mean square "
                         f"(exact map's own error {f(self.flow_map_truth_error)})")
        else:
            lines.append(f"flow-map error = {f(self.flow_map_error)} (exact map's own error "
                         f"{f(self.flow_map_truth_error)})")
        if self.memorisation:
            lines.append(f"memorisation: median ratio {f(self.memorisation['median_ratio'])}, "
                         f"copies {f(self.memorisation['fraction'])}")
        lines.append("wall time: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()))
        lines.append("\n   t            e_score      +-SE         e_velocity   +-SE         "
                     "truth_v")
        for row in zip(self.times, self.e_score, self.e_score_se, self.e_velocity,
                       self.e_velocity_se, self.e_velocity_truth):
            lines.append("   " + "  ".join(f"{v:11.4e}" for v in row))
        return "\n".join(lines)

    # -- files ---------------------------------------------------------------------------------
    def save(self, out) -> dict:
        """Write validation.{h5,png,txt} into the folder ``out``; returns their paths."""
        from ..io import atomic_h5

        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        h5 = out / "validation.h5"
        with atomic_h5(h5, kind="validation") as f:
            f.attrs["summary"] = self.to_json()
            f.attrs["settings"] = json.dumps(_plain(self.settings))
            for item in fields(self):
                value = getattr(self, item.name)
                if isinstance(value, np.ndarray):
                    f.create_dataset(item.name, data=np.asarray(value, dtype=np.float64))
        txt = atomic_file(out / "validation.txt", lambda tmp: tmp.write_text(self.text() + "\n"))
        png = atomic_file(out / "validation.png", self._plot)
        return {"h5": h5, "png": png, "txt": txt}

    def _plot(self, path):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
        curves = [("score", self.e_score, self.e_score_se),
                  ("velocity", self.e_velocity, self.e_velocity_se)]
        for label, e, se in curves:
            if np.all(np.isfinite(e)):
                ax.errorbar(self.times, np.maximum(e, 1e-300), yerr=se, marker="o", ms=3,
                            label=f"e_{label}(t)")
        if np.any(self.e_velocity_truth > 0):
            ax.plot(self.times, self.e_velocity_truth, "k--", label="truth error (velocity)")
        if self.times[0] > 0:
            ax.set_xscale("log")
        else:                   # integer timesteps from t = 0: linear near 0, log beyond
            ax.set_xscale("symlog", linthresh=max(float(self.times[1]), 1e-12))
        ax.set_yscale("log")
        ax.set_xlabel("t")
        ax.set_ylabel("E |f_model - f|^2")
        ax.set_title(f"{_short_name(self.model)} on {self.problem}", fontsize=9, loc="left",
                     wrap=True)
        ax.legend(fontsize=8)
        # the model's samples first, the exact ones on top (small dark points)
        clouds = [("ODE", self.samples_ode, "C0"), ("SDE", self.samples_sde, "C1"),
                  ("exact", self.reference, "k")]
        for label, cloud, colour in clouds:
            if cloud is None:
                continue
            shown = cloud[:2000]
            if self.dim == 1:
                bx.hist(shown[:, 0], bins=60, density=True, histtype="step", color=colour,
                        label=label)
            else:
                bx.scatter(shown[:, 0], shown[:, 1], s=1 if label == "exact" else 3,
                           alpha=0.5 if label == "exact" else 0.35, color=colour, label=label,
                           zorder=3 if label == "exact" else 2, linewidths=0)
        if self.headline:
            fig.suptitle(self.headline["text"], fontsize=9)
        bx.set_title(f"samples at t = {self.settings.get('data_time', self.t_min):g}"
                     + ("" if self.dim <= 2 else " (first two coordinates)"))
        bx.legend(fontsize=8, markerscale=4)
        fig.tight_layout()
        fig.savefig(path, dpi=110, format="png")
        plt.close(fig)
