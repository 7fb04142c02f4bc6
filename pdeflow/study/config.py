"""Configuration of an epsilon study: a frozen, validated :class:`StudyConfig`.

Every parameter is checked when the config is made (``StudyConfig(...)``, :meth:`from_dict`,
:meth:`from_toml`), before any compute: a bad value raises ValueError naming the parameter and
what is allowed. That includes the relaxation check: with confinement kappa > 0 every equation
here contracts W2 at rate kappa (its energy is kappa-displacement convex), so

    W2(rho_T, rho_inf) <= e^{-kappa T} W2(rho_0, rho_inf)
                       <= e^{-kappa T} sqrt(M2(rho_0) + M2(rho_inf))

(M2 the second moment; the last step is the independent coupling, rho_inf is centred). T must
bring this bound below ``stationary_tolerance * sqrt(M2(rho_inf))``; otherwise the error says
which T would. The heat equation (kappa = 0) has no stationary state and skips this check.

TOML layout: the same keys at the top level or under a ``[study]`` table, e.g.::

    equations = ["porous", "fokker-planck"]
    m = 2.0
    dim = 2
    eps = [0.03, 0.1, 0.3, 1.0]
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["StudyConfig", "EQUATIONS", "INITIAL_DATA", "PERTURBATIONS", "SMOOTH", "ROUGH",
           "TARGETED"]

EQUATIONS = ("heat", "fokker-planck", "porous")
#: How the porous medium's ground truth is solved (StudyConfig.porous_truth).
POROUS_TRUTHS = ("auto", "lagrangian", "finite-volume")
INITIAL_DATA = ("mixture", "rings", "circle", "samples", "empirical")
SMOOTH = ("fourier-low", "rotation", "gradient")
ROUGH = ("fourier-high", "cell-noise")
#: time-dependent perturbations aimed where the seed's bound can be sharp (opt-in, not default)
TARGETED = ("early-time", "front")
PERTURBATIONS = SMOOTH + ROUGH + TARGETED


def _type_ok(value, kind) -> bool:
    """Strict TOML-like types: a bool is not a number, a float is not an int (numpy scalars of
    the right kind are fine), an int is a float."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if kind is int:
        return isinstance(value, numbers.Integral)
    if kind is float:
        return isinstance(value, numbers.Real)
    return isinstance(value, kind)


_KIND_NAME = {int: "integer", float: "number", str: "string"}


def _tuple(name, value, kind):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        value = (value,)
    value = tuple(value)
    bad = [v for v in value if not _type_ok(v, kind)]
    if bad:
        raise ValueError(f"{name} must be a list of {_KIND_NAME[kind]}s, got {list(value)!r} "
                         f"({bad[0]!r} is a {type(bad[0]).__name__})")
    return tuple(kind(v) for v in value)


def _positive(name, value, integer=False, allow_zero=False):
    kind = int if integer else float
    if not _type_ok(value, kind):
        raise ValueError(f"{name} must be {'an integer' if integer else 'a number'}, got "
                         f"{value!r} (a {type(value).__name__})")
    number = float(value)
    ok = math.isfinite(number) and (number >= 0 if allow_zero else number > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite {'integer' if integer else 'number'} {bound}, "
                         f"got {value!r}")
    return int(number) if integer else number


@dataclass(frozen=True)
class StudyConfig:
    """An epsilon study (docs/epsilon_study.md). Units: lengths in the grid's units, times in the
    equation's; eps is the L2(rho_t dx dt, [0, T]) size of the velocity error.

    Physics: ``equations`` (each of "heat", "fokker-planck", "porous"; solved from the same
    initial data), porous exponent ``m`` (> 1; default 2) or the dimension-aware ``m_a``
    (m = 1 + m_a / dim; give one of the two), ``D``, ``kappa`` (heat always has kappa = 0),
    ``dim`` (1-3).
    Initial data: ``initial`` = "mixture" (the three-component mixture), "rings", "circle" (the
    uniform law on a circle, smoothed across it by 1.5 cells of the study grid), "samples"
    (``samples_file``, .npy/.csv (n, dim), smoothed by ``bandwidth``; ``holdout`` in [0, 1) of it
    is kept aside as fresh samples for the memorisation metric) or "empirical" (``n_train``
    samples of the mixture smoothed by ``bandwidth``; fresh samples come from the mixture).
    Grid and time: ``half_width`` (box [-half_width, half_width]^dim), ``grid_n`` cells per axis,
    horizon ``T``, ``n_snapshots`` equally spaced stored times, ``stationary_tolerance``.
    Study: ``eps`` ladder (> 0), ``seeds`` (perturbation directions, network initialisations,
    samples), ``perturbations`` (of SMOOTH + ROUGH + TARGETED; default the SMOOTH and ROUGH kinds
    that exist in ``dim``), network
    training ``budgets`` (steps; empty: no network route), ``hidden`` widths, Adam learning rate
    ``lr`` (decayed 10x over the run), extra ``alphas`` > 0 (linear equations only; alpha = 0
    always runs), ``n_samples`` backward samples (exact W2 on this n), backward step ``dt``,
    ``l1_coarsen`` (density L1 on a grid coarser by this factor), ``data_seed`` (the training
    set of "empirical" and the holdout split of "samples").
    Certified truth (docs/certified_truth.md): ``truth_tolerance`` (length; None or inf: no
    target) the largest accepted error of the ground-truth backward flow map,
    ``support_tolerance`` (share; None or inf: no target) the largest accepted share of eps = 0 points generated where rho_0 = 0
    (compact-support problems); grid and snapshots are refined until both hold.
    ``porous_grid_n`` (None: ``grid_n``) the starting grid of compact-support truths, chosen
    from the support target on the default problem. ``porous_truth``: "lagrangian" (the 2-D
    Lagrangian solver, :mod:`pdeflow.solvers.lagrangian_porous`, node spacing LAGRANGIAN_CELLS
    cells of the truth grid, exported onto it), "finite-volume", or "auto" (the Lagrangian one
    where it applies: dim = 2 and initial = "mixture", whose porous data is the capped mixture
    :func:`pdeflow.problems.capped_mixture_density`; the finite volume otherwise).
    """

    equations: tuple = ("porous", "fokker-planck")
    m: float | None = None
    m_a: float | None = None
    D: float = 1.0
    kappa: float = 1.0
    dim: int = 2
    initial: str = "mixture"
    samples_file: str | None = None
    holdout: float = 0.0
    n_train: int = 200
    bandwidth: float = 0.25
    half_width: float = 4.0
    grid_n: int = 64
    T: float = 3.5
    n_snapshots: int = 36
    stationary_tolerance: float = 0.1
    eps: tuple = (0.03, 0.1, 0.3, 1.0)
    seeds: tuple = (0,)
    perturbations: tuple | None = None
    budgets: tuple = (300, 1000, 3000)
    hidden: tuple = (64, 64)
    lr: float = 3e-3
    alphas: tuple = (1.0,)
    n_samples: int = 1000
    dt: float = 0.01
    l1_coarsen: int = 4
    data_seed: int = 0
    max_w2_points: int = field(default=4000, repr=False)
    truth_tolerance: float | None = 0.01
    support_tolerance: float | None = 0.01
    porous_grid_n: int | None = 256
    porous_truth: str = "auto"

    def __post_init__(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        equations = _tuple("equations", self.equations, str)
        if not equations or any(e not in EQUATIONS for e in equations):
            raise ValueError(f"equations must be a non-empty list of {EQUATIONS}, got "
                             f"{list(equations)}")
        if len(set(equations)) != len(equations):
            raise ValueError(f"equations must not repeat, got {list(equations)}")
        set_("equations", equations)
        if not _type_ok(self.dim, int) or self.dim not in (1, 2, 3):
            raise ValueError(f"dim must be the integer 1, 2 or 3, got {self.dim!r} (a "
                             f"{type(self.dim).__name__})")
        set_("dim", int(self.dim))
        self._check_m()
        set_("D", _positive("D", self.D))
        set_("kappa", _positive("kappa", self.kappa, allow_zero=True))
        if self.kappa == 0 and set(equations) - {"heat"}:
            raise ValueError("kappa must be > 0 for fokker-planck and porous (they need "
                             "confinement for a stationary state); use equations = ['heat'] "
                             "for kappa = 0")
        self._check_initial()
        for name in ("half_width", "T", "bandwidth", "dt", "stationary_tolerance", "lr"):
            set_(name, _positive(name, getattr(self, name)))
        object.__setattr__(self, "data_seed", _positive("data_seed", self.data_seed,
                                                        integer=True, allow_zero=True))
        for name in ("grid_n", "n_snapshots", "n_samples", "n_train", "l1_coarsen",
                     "max_w2_points"):
            set_(name, _positive(name, getattr(self, name), integer=True))
        if self.grid_n < 8 or self.n_snapshots < 3 or self.n_samples < 10:
            raise ValueError(f"need grid_n >= 8, n_snapshots >= 3 and n_samples >= 10, got "
                             f"{self.grid_n}, {self.n_snapshots}, {self.n_samples}")
        if self.grid_n % self.l1_coarsen or self.grid_n // self.l1_coarsen < 2:
            raise ValueError(f"l1_coarsen = {self.l1_coarsen} must divide grid_n = "
                             f"{self.grid_n} and leave >= 2 coarse cells")
        if self.n_samples > self.max_w2_points:
            raise ValueError(f"n_samples = {self.n_samples} exceeds max_w2_points = "
                             f"{self.max_w2_points} (exact W2 is O(n^2) in memory)")
        if self.dt >= self.T:
            raise ValueError(f"dt = {self.dt} must be smaller than T = {self.T}")
        self._check_study_lists()
        self._check_truth_targets()
        self.check_relaxation()

    def _check_truth_targets(self):
        # None (no target) is stored as inf, and porous_grid_n None as grid_n, so that the
        # config round-trips through TOML (which has no null)
        for name in ("truth_tolerance", "support_tolerance"):
            value = getattr(self, name)
            if value is None or value == math.inf:
                object.__setattr__(self, name, math.inf)
            else:
                object.__setattr__(self, name, _positive(name, value))
        if self.porous_truth not in POROUS_TRUTHS:
            raise ValueError(f"porous_truth must be one of {POROUS_TRUTHS}, got "
                             f"{self.porous_truth!r}")
        if self.porous_truth == "lagrangian" and (self.dim != 2 or self.initial != "mixture"):
            raise ValueError(f"porous_truth = 'lagrangian' needs dim = 2 and initial = "
                             f"'mixture' (compact data with a porous front), got dim = "
                             f"{self.dim}, initial = {self.initial!r}; use 'auto' or "
                             "'finite-volume'")
        if self.porous_grid_n is None:
            object.__setattr__(self, "porous_grid_n", self.grid_n)
        else:
            n = _positive("porous_grid_n", self.porous_grid_n, integer=True)
            if n < 8 or n % self.l1_coarsen:
                raise ValueError(f"porous_grid_n must be >= 8 and divisible by l1_coarsen = "
                                 f"{self.l1_coarsen}, got {self.porous_grid_n}")
            object.__setattr__(self, "porous_grid_n", n)

    # -- pieces of __post_init__ ---------------------------------------------------------------
    def _check_m(self):
        if self.m is not None and self.m_a is not None:
            raise ValueError(f"give m or m_a (m = 1 + m_a / dim), not both; got m = {self.m}, "
                             f"m_a = {self.m_a}")
        if self.m_a is not None:
            object.__setattr__(self, "m_a", _positive("m_a", self.m_a))
        if self.m is not None:
            m = float(self.m) if _type_ok(self.m, float) else math.nan
            if not (math.isfinite(m) and m > 1):
                raise ValueError(f"m must be a finite number > 1 for the porous medium, got "
                                 f"{self.m!r}")
            object.__setattr__(self, "m", m)

    def _check_initial(self):
        if not isinstance(self.initial, str) or self.initial not in INITIAL_DATA:
            raise ValueError(f"initial must be one of {INITIAL_DATA}, got {self.initial!r}")
        if (self.initial == "samples") != (self.samples_file is not None):
            raise ValueError("samples_file is required with initial = 'samples' and only then; "
                             f"got initial = {self.initial!r}, samples_file = "
                             f"{self.samples_file!r}")
        if self.samples_file is not None:
            if not isinstance(self.samples_file, (str, Path)):
                raise ValueError(f"samples_file must be a path (a string), got "
                                 f"{self.samples_file!r}")
            object.__setattr__(self, "samples_file", str(self.samples_file))
        holdout = float(self.holdout) if _type_ok(self.holdout, float) else math.nan
        if not 0 <= holdout < 1:
            raise ValueError(f"holdout must be in [0, 1), got {self.holdout!r}")
        object.__setattr__(self, "holdout", holdout)

    def _check_study_lists(self):
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731
        eps = _tuple("eps", self.eps, float)
        if len(eps) < 2 or not all(math.isfinite(e) and e > 0 for e in eps):
            raise ValueError(f"eps must be a ladder of >= 2 finite values > 0, got {list(eps)}")
        if len(set(eps)) != len(eps):
            raise ValueError(f"eps must not repeat values, got {list(eps)}")
        set_("eps", tuple(sorted(eps)))
        seeds = _tuple("seeds", self.seeds, int)
        if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError(f"seeds must be distinct integers >= 0, got {list(seeds)}")
        set_("seeds", seeds)
        kinds = self.perturbations
        if kinds is None:   # every kind that exists in this dimension
            kinds = tuple(k for k in SMOOTH + ROUGH if k != "rotation" or self.dim >= 2)
        kinds = _tuple("perturbations", kinds, str)
        unknown = [k for k in kinds if k not in PERTURBATIONS]
        if unknown or len(set(kinds)) != len(kinds):
            raise ValueError(f"perturbations must be distinct names from {PERTURBATIONS}, got "
                             f"{list(kinds)}")
        if "rotation" in kinds and self.dim < 2:
            raise ValueError("perturbations: 'rotation' needs dim >= 2 (there is no rotation in "
                             "1-D)")
        set_("perturbations", kinds)
        budgets = _tuple("budgets", self.budgets, int)
        if any(b < 1 for b in budgets) or len(set(budgets)) != len(budgets):
            raise ValueError(f"budgets must be distinct training step counts >= 1, got "
                             f"{list(budgets)}")
        set_("budgets", tuple(sorted(budgets)))
        hidden = _tuple("hidden", self.hidden, int)
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden must be positive layer widths, got {list(hidden)}")
        set_("hidden", hidden)
        alphas = _tuple("alphas", self.alphas, float)
        if not all(math.isfinite(a) and a > 0 for a in alphas) or len(set(alphas)) != len(alphas):
            raise ValueError(f"alphas must be distinct finite values > 0 (alpha = 0 always runs), "
                             f"got {list(alphas)}")
        set_("alphas", alphas)
        if not kinds and not budgets:
            raise ValueError("nothing to study: perturbations and budgets are both empty")

    # -- derived quantities ---------------------------------------------------------------------
    @property
    def porous_m(self) -> float:
        """The porous-medium exponent: m, 1 + m_a / dim, or the default 2."""
        if self.m_a is not None:
            return 1.0 + self.m_a / self.dim
        return 2.0 if self.m is None else self.m

    @property
    def porous_solver(self) -> str:
        """The porous truth's solver, "lagrangian" or "finite-volume" (``porous_truth`` with
        "auto" resolved)."""
        if self.porous_truth != "auto":
            return self.porous_truth
        return "lagrangian" if self.dim == 2 and self.initial == "mixture" else "finite-volume"

    def equation(self, name: str):
        """The pdeflow equation object for ``name`` in ``equations``."""
        from ..equations import FokkerPlanck, Heat, PorousMedium

        if name == "heat":
            return Heat(D=self.D, dim=self.dim)
        if name == "fokker-planck":
            return FokkerPlanck(D=self.D, kappa=self.kappa, dim=self.dim)
        if name == "porous":
            return PorousMedium(m=self.porous_m, D=self.D, kappa=self.kappa, dim=self.dim)
        raise ValueError(f"equation must be one of {EQUATIONS}, got {name!r}")

    def grid(self):
        from ..grid import Grid

        return Grid.cube(self.half_width, self.grid_n, self.dim)

    def times(self) -> np.ndarray:
        """The stored snapshot times, equally spaced on [0, T]."""
        return np.linspace(0.0, self.T, self.n_snapshots)

    def relaxation(self, name: str) -> dict:
        """The W2 contraction bound of the module docstring for equation ``name``.

        Returns dict(bound, target, T_needed) (lengths, lengths, time) or {} for the heat
        equation. ``bound`` = e^{-kappa T} sqrt(M2(rho_0) + M2(rho_inf)),
        ``target`` = stationary_tolerance * sqrt(M2(rho_inf)).
        """
        from .data import initial_data

        equation = self.equation(name)
        if equation.kappa == 0:
            return {}
        grid = self.grid()
        rho0 = initial_data(self).grid_density(grid, equation)
        r2 = (grid.coordinates() ** 2).sum(0)
        rho_inf = grid.sample_field(equation.stationary_density)
        m2_0 = grid.integrate(r2 * rho0)
        m2_inf = grid.integrate(r2 * rho_inf) / grid.integrate(rho_inf)
        start = math.sqrt(m2_0 + m2_inf)
        target = self.stationary_tolerance * math.sqrt(m2_inf)
        return dict(bound=math.exp(-equation.kappa * self.T) * start, target=target,
                    T_needed=math.log(start / target) / equation.kappa)

    def check_relaxation(self):
        """ValueError if T is too short for any confined equation (module docstring)."""
        for name in self.equations:
            r = self.relaxation(name)
            if r and r["bound"] > r["target"]:
                raise ValueError(
                    f"T = {self.T} is too short for {name} to approach its stationary state: the "
                    f"contraction bound e^(-kappa T) W2(rho_0, rho_inf) <= {r['bound']:.3g} "
                    f"exceeds stationary_tolerance * sqrt(M2(rho_inf)) = {r['target']:.3g}; "
                    f"T >= {math.ceil(100 * r['T_needed']) / 100:g} would do (or raise "
                    "stationary_tolerance)")

    # -- input / output -------------------------------------------------------------------------
    @staticmethod
    def _flatten(values) -> dict:
        """The parameters of a TOML table: top level, or all under one ``study`` table."""
        if not isinstance(values, dict):
            raise ValueError(f"a study config must be a table (dict), got {type(values).__name__}")
        if "study" not in values:
            return dict(values)
        beside = sorted(set(values) - {"study"})
        if beside:
            raise ValueError(f"key(s) {beside} sit beside the [study] table and would be ignored: "
                             "put every key under [study] or none")
        if not isinstance(values["study"], dict):
            raise ValueError(f"study must be a table of parameters, got {values['study']!r}")
        return dict(values["study"])

    @classmethod
    def from_dict(cls, values: dict) -> "StudyConfig":
        """A config from a dict of the field names (unknown keys raise ValueError).

        The keys sit at the top level or all under one ``study`` table; a key beside the
        ``study`` table is rejected (it would otherwise be ignored).
        """
        values = cls._flatten(values)
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown study parameter(s) {unknown}; known: {sorted(names)}")
        return cls(**values)

    @classmethod
    def read_toml(cls, path) -> dict:
        """The parameters of a TOML file as a dict, not yet validated (so that command-line flags
        can replace values first); ValueError naming the file if it is missing or not TOML."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"config file {str(path)!r} does not exist")
        with open(path, "rb") as f:
            try:
                values = tomllib.load(f)
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
                raise ValueError(f"config file {str(path)!r} is not valid TOML: {err}") from None
        try:
            return cls._flatten(values)
        except ValueError as err:
            raise ValueError(f"config file {str(path)!r}: {err}") from None

    @classmethod
    def from_toml(cls, path) -> "StudyConfig":
        """A validated config from a TOML file (see :meth:`read_toml`)."""
        return cls.from_dict(cls.read_toml(path))

    def replace(self, **changes) -> "StudyConfig":
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain values (lists for tuples; None entries omitted, as TOML has no null)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    def to_toml(self) -> str:
        """This config as TOML text (round-trips through :meth:`from_toml`)."""
        def fmt(v):
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, str):
                return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            if isinstance(v, list):
                return "[" + ", ".join(fmt(x) for x in v) + "]"
            return repr(v)

        return "".join(f"{k} = {fmt(v)}\n" for k, v in self.to_dict().items())


def row_group(row) -> str:
    """The rate-fit group of a points-table row: ``network``, ``smooth``, ``rough`` or ``""``."""
    if row["route"] == "network":
        return "network"
    if row["route"] == "perturbation":
        kind = row["kind"]
        return ("smooth" if kind in SMOOTH else "rough" if kind in ROUGH
                else "targeted" if kind in TARGETED else "")
    return ""
