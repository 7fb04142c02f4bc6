"""The outcome of an epsilon study: the points table, rate fits, checks; HDF5, text and figure.

:class:`StudyResult` is built from the finished points (:meth:`from_points`) or read back from
the study's HDF5 file (:meth:`load`); both give the same object, so an analysis script re-plots or
re-fits a finished study without recomputing anything.

Rate fits (:func:`pdeflow.validation.rates.fit_rate`): for every problem and alpha, the groups
``smooth`` and ``rough`` (perturbation kinds pooled over kinds and seeds) and ``network``
(achieved eps), for the metrics ``w2_gap`` (W2 between the eps and eps = 0 generated samples)
and ``flow_map`` (||Y_eps - Y_0||_{L2(rho_T)}). Both vanish at eps = 0, so they carry no
plug-in floor. ``w2`` (to fresh samples of rho_0) contains the finite-n plug-in bias; its
eps = 0 value (the baseline row) is that floor plus the discretisation error. The figure draws
the baseline as a line labelled as the baseline, the plug-in floor (mean and spread over
PLUGIN_DRAWS draws) as a band, and, on the deterministic (alpha = 0) panels only, the seed's
conjectured bound C / log(1 + 1/eps)^(1/4) (exponent uncertain; docs/epsilon_study.md).

Resolution: a row with eps > 0 is ``resolved`` when its flow-map error (the signal) is at least
RESOLVED_FACTOR (3) times its problem's ``truth_flow_map_error``; unresolved rows are marked in
the table and drawn hollow, and the rate fits use resolved rows only.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import h5py
import numpy as np

from ..io import atomic_h5, open_h5
from ..validation.rates import fit_rate
from .config import StudyConfig, row_group
from .points import METRICS
from .theory import theory_slope

__all__ = ["StudyResult", "KIND"]

KIND = "epsilon_study"
PARAMS = ("problem", "alpha", "route", "kind", "seed", "eps_nominal", "budget")
FIT_METRICS = ("w2_gap", "flow_map")
#: A signal below this multiple of the truth's own flow-map error is reported as unresolved.
RESOLVED_FACTOR = 3.0
GROUPS = ("smooth", "rough", "targeted", "network")


@dataclass
class StudyResult:
    """config : the StudyConfig; rows : list of dicts (PARAMS + METRICS + seconds); generated :
    {row index: (n, d) samples at t = 0}; checks : {problem: dict of ground-truth checks};
    fits : list of dicts (problem, alpha, group, metric, slope, lo, hi, n, r2, prefactor);
    rho0 : {problem: ``(*shape)`` initial density} (for the figure); x0 : {row index: (n, d)
    starting samples of rho_T} for the baseline rows (x0 -> generated is the ground-truth
    backward flow map)."""

    config: StudyConfig
    rows: list
    generated: dict
    checks: dict
    rho0: dict = field(default_factory=dict)
    fits: list = field(default_factory=list)
    x0: dict = field(default_factory=dict)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_points(cls, config, completed, checks, rho0) -> "StudyResult":
        """``completed``: (params, results) pairs from the PointStore."""
        rows, generated = [], {}
        for params, results in completed:
            row = {"problem": params["problem"], "alpha": float(params["alpha"]),
                   "route": params["route"], "kind": params["kind"], "seed": int(params["seed"]),
                   "eps_nominal": float(params["eps"]), "budget": int(params["budget"])}
            row.update({m: float(results[m]) for m in METRICS})
            row["seconds"] = float(results["seconds"])
            row["resolved"] = _resolved(row, checks.get(params["problem"], {}))
            rows.append(row)
        order = sorted(range(len(rows)), key=lambda i: _sort_key(rows[i]))
        rows = [rows[i] for i in order]
        generated = {k: np.asarray(completed[i][1]["generated"]) for k, i in enumerate(order)}
        x0 = {k: np.asarray(completed[i][1]["x0"]) for k, i in enumerate(order)
              if "x0" in completed[i][1]}
        result = cls(config, rows, generated, checks, rho0, x0=x0)
        result.fits = result.fit_rates()
        return result

    def fit_rates(self) -> list:
        fits = []
        keys = sorted({(r["problem"], r["alpha"]) for r in self.rows})
        for problem, alpha in keys:
            for group in GROUPS:
                rows = [r for r in self.rows if r["problem"] == problem and r["alpha"] == alpha
                        and row_group(r) == group and r.get("resolved", 1) != 0]
                for metric in FIT_METRICS:
                    fit = _fit(rows, metric)
                    if fit is not None:
                        fits.append(dict(problem=problem, alpha=alpha, group=group, metric=metric,
                                         slope=fit.slope, lo=fit.interval[0], hi=fit.interval[1],
                                         n=fit.n_points, r2=fit.r_squared,
                                         prefactor=fit.prefactor))
        return fits

    # -- text ----------------------------------------------------------------------------------
    def table(self) -> str:
        """The points table and the rate fits as fixed-width text (no timings: it is identical
        for every run of the same config, resumed or not)."""
        head = (f"{'problem':<14}{'alpha':>6} {'route':<13}{'kind':<13}{'seed':>4}{'eps':>10}"
                f"{'W2(rho0)':>10}{'W2 gap':>10}{'flow map':>10}{'L1':>8}{'escaped':>8}"
                f"{'mem':>7}  resolved")
        lines = ["# points (W2 on n = %d samples; 'W2 gap' = W2 to the eps = 0 samples)"
                 % self.config.n_samples, head]
        for r in self.rows:
            kind = r["kind"] if r["route"] != "network" else f"{r['budget']} steps"
            lines.append(f"{r['problem']:<14}{r['alpha']:>6g} {r['route']:<13}{kind:<13}"
                         f"{r['seed']:>4}{r['eps']:>10.4g}{r['w2']:>10.4f}{r['w2_gap']:>10.4f}"
                         f"{r['flow_map']:>10.4f}{r['l1']:>8.3f}{r['escaped']:>8.3f}"
                         f"{_fmt(r['mem_median']):>7}  {_resolved_text(r)}")
        lines += [f"# resolved: flow map >= {RESOLVED_FACTOR:g} x truth_flow_map_error of the "
                  "problem ('UNRESOLVED' rows are left out of the fits)",
                  "", "# rate fits (resolved rows): metric ~ C eps^slope (95% CI); the seed's "
                  "conjectured bound 1/log(1+1/eps)^(1/4) (deterministic flow, exponent uncertain) "
                  f"has local slope {self.theory_slope_mid():.3f} at eps = {self.eps_mid():.3g}",
                  f"{'problem':<14}{'alpha':>6} {'group':<9}{'metric':<10}{'slope':>7}"
                  f"{'95% CI':>18}{'n':>4}{'R^2':>7}"]
        for f in self.fits:
            lines.append(f"{f['problem']:<14}{f['alpha']:>6g} {f['group']:<9}{f['metric']:<10}"
                         f"{f['slope']:>7.3f}   [{f['lo']:6.3f}, {f['hi']:6.3f}]{f['n']:>4}"
                         f"{f['r2']:>7.3f}")
        lines += ["", "# ground truth checks"]
        for problem, c in self.checks.items():
            lines.append(f"{problem}: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in c.items()))
        return "\n".join(lines)

    def eps_mid(self) -> float:
        eps = self.config.eps
        return math.sqrt(eps[0] * eps[-1])

    def theory_slope_mid(self) -> float:
        return float(theory_slope(self.eps_mid()))

    # -- HDF5 ----------------------------------------------------------------------------------
    def save(self, path):
        """Write everything to ``path`` atomically (kind = epsilon_study, docs/hdf5_schema.md)."""
        with atomic_h5(path, kind=KIND) as f:
            f.attrs["config_toml"] = self.config.to_toml()
            points = f.create_group("points")
            for name in PARAMS + METRICS + ("seconds", "resolved"):
                values = [r.get(name, -1) for r in self.rows]
                points.create_dataset(name, data=np.array(values, dtype=h5py.string_dtype())
                                      if isinstance(values[0], str) else np.asarray(values))
            gen = f.create_group("generated")
            for k, samples in self.generated.items():
                gen.create_dataset(f"{k:05d}", data=samples, compression="gzip")
            starts = f.create_group("x0")
            for k, samples in self.x0.items():
                starts.create_dataset(f"{k:05d}", data=samples, compression="gzip")
            fits = f.create_group("fits")
            for name in ("problem", "alpha", "group", "metric", "slope", "lo", "hi", "n", "r2",
                         "prefactor"):
                values = [fit[name] for fit in self.fits]
                strings = bool(values) and isinstance(values[0], str)
                fits.create_dataset(name, data=np.array(values, dtype=h5py.string_dtype())
                                    if strings else np.asarray(values))
            f.attrs["checks_json"] = json.dumps(self.checks)
            checks = f.create_group("checks")
            for problem, values in self.checks.items():
                checks.create_group(problem).attrs.update(
                    {k: v for k, v in values.items() if isinstance(v, (int, float, str, bool))})
            rho = f.create_group("rho0")
            for problem, values in self.rho0.items():
                rho.create_dataset(problem, data=values, compression="gzip")

    @classmethod
    def load(cls, path) -> "StudyResult":
        """Read a result written by :meth:`save` (no recomputation)."""
        with open_h5(path, KIND) as f:
            config = StudyConfig.from_dict(_toml_loads(f.attrs["config_toml"]))
            points = f["points"]
            columns = {name: points[name][()] for name in points}
            n = len(columns["problem"])
            rows = [{name: _py(columns[name][i]) for name in columns} for i in range(n)]
            generated = {int(k): f["generated"][k][()] for k in f["generated"]}
            fits_group = f["fits"]
            fit_cols = {name: fits_group[name][()] for name in fits_group}
            m = len(fit_cols.get("slope", []))
            fits = [{name: _py(fit_cols[name][i]) for name in fit_cols} for i in range(m)]
            checks = json.loads(f.attrs["checks_json"])
            rho0 = {k: f["rho0"][k][()] for k in f["rho0"]}
            x0 = {int(k): f["x0"][k][()] for k in f["x0"]} if "x0" in f else {}
        return cls(config, rows, generated, checks, rho0, fits, x0)

    def plot(self, path):
        from .plot import plot_study

        return plot_study(self, path)


def _resolved(row, checks) -> int:
    """1 resolved, 0 unresolved, -1 not applicable (baseline rows, or no truth error known)."""
    truth = checks.get("truth_flow_map_error")
    if row["route"] == "baseline" or truth is None or not math.isfinite(row["flow_map"]):
        return -1
    return int(row["flow_map"] >= RESOLVED_FACTOR * float(truth))


def _resolved_text(row) -> str:
    return {1: "yes", 0: "UNRESOLVED"}.get(row.get("resolved", -1), "-")


def _fit(rows, metric):
    eps = np.array([r["eps"] for r in rows])
    values = np.array([r[metric] for r in rows])
    keep = np.isfinite(eps) & (eps > 0) & np.isfinite(values) & (values > 0)
    if keep.sum() < 3 or np.ptp(np.log(eps[keep])) == 0:
        return None
    return fit_rate(eps[keep], values[keep])


def _sort_key(row):
    return (row["problem"], row["alpha"], ["baseline", "perturbation", "network"].index(
        row["route"]), row["kind"], row["budget"], row["eps_nominal"], row["seed"])


def _fmt(value) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return str(value)


def _py(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _toml_loads(text) -> dict:
    import tomllib

    return tomllib.loads(text.decode() if isinstance(text, bytes) else str(text))
