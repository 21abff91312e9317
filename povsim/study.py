"""Studies: named sweeps run together, written as netCDF, PNG figures and ``summary.txt``.

A :class:`Study` is a list of :class:`SweepSpec` (a base scenario, axes, the
number of checks per point); :func:`run_study` runs them (resumably, through a
store in the output folder), draws the figures and writes ``summary.txt``.
:func:`default_study` is the 2018 study behind ``povsim run``;
:func:`load_study` reads a study file in TOML (the format is in the README and
``examples/study.toml``).

``summary.txt`` is built by the functions in :data:`SUMMARY_SECTIONS`, in order;
:func:`add_summary_section` appends another (each takes the
:class:`StudyResult` and returns lines of text, or nothing to skip). Figures are
listed in :data:`FIGURES` the same way (:func:`add_figure`).
"""

from __future__ import annotations

import math
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._validate import check_count
from .scenario import Scenario
from .sweep import _apply, crn_variance_ratio, sample_size_axis, sweep

__all__ = [
    "FIGURES",
    "SUMMARY_SECTIONS",
    "Study",
    "StudyResult",
    "SweepSpec",
    "add_figure",
    "add_summary_section",
    "default_study",
    "load_study",
    "run_study",
    "summary_text",
]

PLOT_KINDS = (
    "oc_curve",
    "risk_surface",
    "fail_attribution",
    "margin_distribution",
    "design_effect",
)


@dataclass(frozen=True)
class SweepSpec:
    """One sweep of a study: ``sweep(scenario, axes, checks=checks * weight, seed=...)``.

    ``plots`` lists figures as dicts ``{"kind": "oc_curve", "x": ..., "hue": ...,
    "select": {...}}`` (``kind`` one of :data:`PLOT_KINDS`, ``select`` a
    ``Dataset.sel`` applied first, the other keys passed to the plot function).
    """

    name: str
    title: str
    scenario: Scenario
    axes: Mapping[str, Any]
    weight: float = 1.0
    plots: tuple = ()


@dataclass(frozen=True)
class Study:
    """A set of sweeps run with one number of checks per point and one seed."""

    title: str
    sweeps: tuple[SweepSpec, ...]
    checks: int
    seed: int
    crn: tuple | None = None  # (scenario, a, b) for the CRN variance-reduction measurement
    default: bool = False
    quick: bool = False


@dataclass
class StudyResult:
    """What a run produced: one Dataset per sweep, extra numbers, runtime, options."""

    study: Study
    datasets: dict[str, Any]
    out: Path
    extras: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, float] = field(default_factory=dict)


# -- the default 2018 study ----------------------------------------------------------------


def default_study(*, quick: bool = False, checks: int | None = None, seed: int = 2018) -> Study:
    """The study behind ``povsim run``: the 2018 check of a synthetic county.

    Sweeps (western region unless said; sample sizes scale the villages at 40
    households each, at most 80 villages):

    - ``default``: the 2018 scenario in both regions (4x the checks).
    - ``oc_wrongful_exit``: true wrongful-exit rate x sample size 250–4000
      (OC curves, and the risk surface over sample size and true rate).
    - ``oc_omission``, ``oc_approval``: the same for omission and approval
      (sample sizes 500, 1000, 2000).
    - ``oc_incidence``: registry-remaining share (so true incidence) x region.
    - ``measurement``: enumerator sensitivity x specificity, for a county that
      truly passes (wrongful exits 1.5 %) and one that truly fails (2.5 %).
    - ``rules``: the official rule, thresholds 1.5 % / 2.5 %, confidence-bound
      rules and a guard band, on the same draws, x true wrongful-exit rate.
    - ``villages``: 1000 households in 10–80 villages (design effect vs cluster size).

    Parameters
    ----------
    quick : bool
        Coarser grids and fewer checks (about a minute on two cores).
    checks : int, optional
        Checks per grid point (default 5000, quick 1000).
    seed : int
        The common seed.
    """
    if checks is None:
        checks = 1000 if quick else 5000
    checks = check_count("checks", checks, minimum=1)
    seed = check_count("seed", seed)
    base = Scenario.official_2018(region="western")
    sizes = [250, 500, 1000, 2000, 4000]
    sizes_small = [500, 1000, 2000]
    if quick:
        w_grid = [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04]
        o_grid = [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04]
        a_grid = [0.86, 0.88, 0.9, 0.92, 0.94]
        rem_grid = [0.03, 0.06, 0.09, 0.12, 0.15]
        sens = [0.6, 0.8, 1.0]
        spec = [0.9, 0.98, 1.0]
        villages = [10, 25, 50, 80]
    else:
        w_grid = [0.005, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.0225, 0.025, 0.03, 0.04]
        o_grid = [0.005, 0.01, 0.0125, 0.015, 0.0175, 0.02, 0.0225, 0.025, 0.03, 0.04]
        a_grid = [0.85, 0.87, 0.88, 0.89, 0.9, 0.91, 0.92, 0.93, 0.95]
        rem_grid = [0.02, 0.04, 0.06, 0.08, 0.09, 0.1, 0.12, 0.14, 0.16]
        sens = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
        spec = [0.9, 0.95, 0.98, 1.0]
        villages = [10, 20, 25, 40, 50, 80]
    size_axis = sample_size_axis(sizes, max_villages=80)
    small_axis = sample_size_axis(sizes_small, max_villages=80)
    rules = {
        "official (2 %)": {},
        "threshold 1.5 %": {"rule.wrongful_exit": 0.015},
        "threshold 2.5 %": {"rule.wrongful_exit": 0.025},
        "pass only if upper bound < 2 %": {"rule.method": "upper_bound"},
        "fail only if lower bound >= 2 %": {"rule.method": "lower_bound"},
    }
    if quick:
        rules.pop("threshold 1.5 %")
    sweeps = (
        SweepSpec(
            "default",
            "the 2018 check (1000 households in 25 villages), both regions",
            base,
            {"county.region": ["central", "western"]},
            weight=4.0,
            plots=(
                {"kind": "margin_distribution", "hue": "county.region"},
                {"kind": "fail_attribution", "select": {"county.region": "central"}},
            ),
        ),
        SweepSpec(
            "oc_wrongful_exit",
            "wrongful-exit rate x sample size",
            base,
            {"county.wrongful_exit_rate": w_grid, "design.households": size_axis},
            plots=(
                {"kind": "oc_curve", "x": "county.wrongful_exit_rate", "hue": "design.households"},
                {
                    "kind": "risk_surface",
                    "x": "county.wrongful_exit_rate",
                    "y": "design.households",
                },
            ),
        ),
        SweepSpec(
            "oc_omission",
            "omission rate x sample size",
            base,
            {"county.omission_rate": o_grid, "design.households": small_axis},
            plots=({"kind": "oc_curve", "x": "county.omission_rate", "hue": "design.households"},),
        ),
        SweepSpec(
            "oc_approval",
            "approval x sample size",
            base,
            {"county.approval_rate": a_grid, "design.households": small_axis},
            plots=({"kind": "oc_curve", "x": "county.approval_rate", "hue": "design.households"},),
        ),
        SweepSpec(
            "oc_incidence",
            "registry-remaining share (true incidence) x region",
            base,
            {"county.remaining_share": rem_grid, "county.region": ["central", "western"]},
            plots=({"kind": "oc_curve", "x": "county.remaining_share", "hue": "county.region"},),
        ),
        SweepSpec(
            "measurement",
            "enumerator sensitivity x specificity, a passing and a failing county",
            base,
            {
                "county.wrongful_exit_rate": [0.015, 0.025],
                "measurement.sensitivity": sens,
                "measurement.specificity": spec,
            },
            plots=(
                {
                    "kind": "risk_surface",
                    "x": "measurement.sensitivity",
                    "y": "measurement.specificity",
                    "select": {"county.wrongful_exit_rate": 0.015},
                    "name": "passing",
                },
                {
                    "kind": "risk_surface",
                    "x": "measurement.sensitivity",
                    "y": "measurement.specificity",
                    "select": {"county.wrongful_exit_rate": 0.025},
                    "name": "failing",
                },
            ),
        ),
        SweepSpec(
            "rules",
            "rules on the same draws x true wrongful-exit rate",
            base,
            {"rule": rules, "county.wrongful_exit_rate": w_grid},
            plots=({"kind": "oc_curve", "x": "county.wrongful_exit_rate", "hue": "rule"},),
        ),
        SweepSpec(
            "villages",
            "1000 households in 10-80 villages",
            base,
            {"design.villages": villages},
            plots=({"kind": "design_effect", "x": "design.villages"},),
        ),
    )
    crn = (
        base.replace(**{"county.wrongful_exit_rate": 0.02}),
        {"measurement.sensitivity": 0.8},
        {"measurement.sensitivity": 0.9},
    )
    title = "povsim default study: the 2018 exit spot check of a synthetic county"
    return Study(title, sweeps, checks, seed, crn=crn, default=True, quick=quick)


# -- TOML study files ----------------------------------------------------------------------

_TOP_KEYS = {"title", "checks", "seed", "scenario", "axes", "plots", "crn"}


def load_study(path: str | Path, *, checks: int | None = None, seed: int | None = None) -> Study:
    """Read a study file (TOML; see ``examples/study.toml`` and the README).

    Keys: ``title`` (text), ``checks`` (per point), ``seed``, ``[scenario]``
    (dotted-path changes of ``Scenario.official_2018()``), ``[axes]`` (as for
    :func:`povsim.sweep`; a table ``{households = [...], per_village = 40,
    max_villages = 80}`` is a sample-size axis with villages scaled), optional
    ``[[plots]]`` (``kind`` and the plot's arguments, ``select`` a table of
    ``Dataset.sel``) and optional ``[crn]`` with tables ``a`` and ``b`` (two
    points whose CRN variance-reduction ratio is measured). ``checks`` and
    ``seed`` given here override the file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"study file {str(path)!r} cannot be read: {exc.strerror}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"study file {str(path)!r} is not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise ValueError(
            f"study file {str(path)!r}: unknown key(s) {unknown}; allowed: {sorted(_TOP_KEYS)}"
        )
    if "axes" not in doc:
        raise ValueError(f"study file {str(path)!r} needs an [axes] table")
    title = doc.get("title", path.stem)
    if not isinstance(title, str):
        raise ValueError("title must be text")
    n = checks if checks is not None else doc.get("checks", 5000)
    n = check_count("checks", n, minimum=1)
    s = seed if seed is not None else doc.get("seed", 2018)
    s = check_count("seed", s)
    changes = doc.get("scenario", {})
    if not isinstance(changes, dict):
        raise ValueError("[scenario] must be a table of dotted paths to values")
    scenario = _apply(Scenario.official_2018(), _flatten(changes), "[scenario]")
    axes = {}
    raw_axes = doc["axes"]
    if not isinstance(raw_axes, dict) or not raw_axes:
        raise ValueError("[axes] must be a non-empty table")
    for name, values in _flatten_axes(raw_axes).items():
        if isinstance(values, dict) and "households" in values:
            extra = set(values) - {"households", "per_village", "max_villages"}
            if extra:
                raise ValueError(f"axes[{name!r}]: unknown key(s) {sorted(extra)}")
            values = sample_size_axis(
                values["households"],
                per_village=values.get("per_village", 40),
                max_villages=values.get("max_villages"),
            )
        axes[name] = values
    plots = doc.get("plots", [])
    if not isinstance(plots, list) or not all(isinstance(p, dict) for p in plots):
        raise ValueError("plots must be an array of tables ([[plots]])")
    for p in plots:
        if p.get("kind") not in PLOT_KINDS:
            raise ValueError(f"plots: kind must be one of {PLOT_KINDS}; got {p.get('kind')!r}")
    crn = None
    if "crn" in doc:
        c = doc["crn"]
        if not isinstance(c, dict) or set(c) != {"a", "b"}:
            raise ValueError("[crn] must hold two tables, a and b, of dotted-path changes")
        crn = (scenario, _flatten(c["a"]), _flatten(c["b"]))
    spec = SweepSpec("sweep", title, scenario, axes, plots=tuple(plots) or _auto_plots(axes))
    return Study(title, (spec,), n, s, crn=crn)


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"rule": {"approval": 0.9}}`` and ``{"rule.approval": 0.9}`` alike -> dotted paths."""
    out = {}
    for k, v in table.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, path + "."))
        else:
            out[path] = v
    return out


def _flatten_axes(table: Mapping[str, Any]) -> dict[str, Any]:
    # TOML turns an unquoted dotted key (measurement.sensitivity = [...]) into nested tables
    out = {}
    for k, v in table.items():
        if isinstance(v, dict) and not _is_axis_table(v):
            for sub, vv in _flatten_axes(v).items():
                out[f"{k}.{sub}"] = vv
        else:
            out[k] = v
    return out


def _is_axis_table(v: dict) -> bool:
    return (
        "households" in v
        and isinstance(v["households"], list)
        or all(isinstance(x, dict) for x in v.values())
    )


def _auto_plots(axes: Mapping[str, Any]) -> tuple:
    from .plot import RATE_FIELDS

    names = list(axes)
    plots = []
    rate = next((n for n in names if n in RATE_FIELDS), None)
    others = [n for n in names if n != rate]
    first_sel = {}
    if rate is not None:
        hue = others[0] if others else None
        sel = {o: "first" for o in others[1:]}
        plots.append({"kind": "oc_curve", "x": rate, "hue": hue, "select": sel})
    if len(names) >= 2:
        sel = {o: "first" for o in names[2:]}
        plots.append({"kind": "risk_surface", "x": names[0], "y": names[1], "select": sel})
    first_sel = {o: "first" for o in names[1:]}
    plots.append({"kind": "fail_attribution", "x": names[0], "select": first_sel})
    plots.append({"kind": "margin_distribution", "select": {o: "first" for o in names}})
    if "design.villages" in names or "design.households" in names:
        x = "design.villages" if "design.villages" in names else "design.households"
        plots.append(
            {"kind": "design_effect", "x": x, "select": {o: "first" for o in names if o != x}}
        )
    return tuple(plots)


# -- running -------------------------------------------------------------------------------


def run_study(
    study: Study,
    out: str | Path,
    *,
    executor: object = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = None,
) -> StudyResult:
    """Run every sweep of ``study``; write ``study.nc``, the PNG figures and ``summary.txt``.

    Each sweep keeps a store in ``out/store/<name>``: rerunning the same study
    into the same folder after an interruption resumes where it stopped.
    ``study.nc`` holds one netCDF group per sweep
    (``xarray.open_dataset(path, group="oc_wrongful_exit")``).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say = log if log is not None else (lambda s: None)
    result = StudyResult(study=study, datasets={}, out=out)
    t_all = time.perf_counter()
    for j, spec in enumerate(study.sweeps, 1):
        t0 = time.perf_counter()
        n = max(1, int(round(study.checks * spec.weight)))
        points = math.prod(
            len(v) if not isinstance(v, Mapping) else len(v) for v in spec.axes.values()
        )
        say(f"[{j}/{len(study.sweeps)}] {spec.name}: {points} points x {n:,} checks")
        ds = sweep(
            spec.scenario,
            spec.axes,
            checks=n,
            seed=study.seed,
            executor=executor,
            store=out / "store" / spec.name,
            progress=progress,
        )
        ds.attrs["study_title"] = spec.title
        result.datasets[spec.name] = ds
        result.runtime[spec.name] = time.perf_counter() - t0
    if study.crn is not None:
        t0 = time.perf_counter()
        scenario, a, b = study.crn
        result.extras["crn"] = (
            a,
            b,
            crn_variance_ratio(scenario, a, b, checks=study.checks * 4, seed=study.seed),
        )
        result.runtime["crn"] = time.perf_counter() - t0
    if study.default:
        # the research headlines (povsim.research): flip, programme, calibration, rank
        from . import research

        say("research questions: flip, programme, calibration, rank")
        t0 = time.perf_counter()
        result.extras["research"] = research.summary_sections(quick=study.quick, seed=study.seed)
        result.runtime["research"] = time.perf_counter() - t0
    nc = out / "study.nc"
    tmp = out / "study.nc.tmp"
    for i, (name, ds) in enumerate(result.datasets.items()):
        ds.to_netcdf(tmp, group=name, mode="w" if i == 0 else "a", engine="h5netcdf")
    tmp.replace(nc)
    t0 = time.perf_counter()
    result.extras["figures"] = write_figures(result)
    result.runtime["figures"] = time.perf_counter() - t0
    result.runtime["total"] = time.perf_counter() - t_all
    text = summary_text(result)
    (out / "summary.txt").write_text(text, encoding="utf-8")
    return result


# -- figures -------------------------------------------------------------------------------


def _select(ds: Any, select: Mapping[str, Any]) -> Any:
    sel = {}
    for dim, value in select.items():
        if dim not in ds.dims:
            raise ValueError(f"plots: select names {dim!r}, not a dimension of the sweep")
        sel[dim] = ds[dim].values[0] if value == "first" else value
    return ds.sel(sel) if sel else ds


def _spec_figures(result: StudyResult) -> list[tuple[str, Callable[[], Any]]]:
    from . import plot

    figs = []
    for spec in result.study.sweeps:
        ds = result.datasets[spec.name]
        for p in spec.plots:
            p = dict(p)
            kind = p.pop("kind")
            select = p.pop("select", {}) or {}
            tag = p.pop("name", None)
            kwargs = {k: v for k, v in p.items() if v is not None}
            fname = f"{spec.name}_{kind}" + (f"_{tag}" if tag else "") + ".png"

            def draw(ds=ds, kind=kind, select=select, kwargs=kwargs, spec=spec, tag=tag):
                ax = getattr(plot, kind)(_select(ds, select), **kwargs)
                title = spec.title + (f" ({tag})" if tag else "")
                if select:
                    title += "\n" + ", ".join(
                        f"{k} = {_select(ds, {k: v})[k].item()}" for k, v in select.items()
                    )
                ax.set_title(title, fontsize=9)
                return ax

            figs.append((fname, draw))
    return figs


#: Figure builders: functions ``(StudyResult) -> [(file name, draw)]`` where ``draw()``
#: returns the Axes to save. Append with :func:`add_figure`.
FIGURES: list[Callable[[StudyResult], list[tuple[str, Callable[[], Any]]]]] = [_spec_figures]


def add_figure(builder: Callable[[StudyResult], list[tuple[str, Callable[[], Any]]]]) -> None:
    """Append a figure builder to :data:`FIGURES` (used by every later study run)."""
    FIGURES.append(builder)


def write_figures(result: StudyResult) -> list[str]:
    """Draw every figure of :data:`FIGURES` into ``result.out`` as PNG; return the file names."""
    names = []
    for builder in FIGURES:
        for fname, draw in builder(result):
            ax = draw()
            ax.figure.savefig(result.out / fname, dpi=150)
            names.append(fname)
    return names


# -- summary.txt ---------------------------------------------------------------------------


def _pm(ds: Any, name: str, **sel: Any) -> str:
    v = ds[name].sel(sel) if sel else ds[name]
    s = ds[f"{name}_mcse"].sel(sel) if sel else ds[f"{name}_mcse"]
    v, s = float(v), float(s)
    if math.isnan(v):
        return "   n/a          "
    return f"{v:.4f} ± {s:.4f}"


def _section_header(result: StudyResult) -> list[str]:
    st = result.study
    lines = [st.title, "=" * len(st.title), ""]
    lines.append(f"checks per grid point {st.checks:,}, seed {st.seed}; every number is")
    lines.append("an estimate ± its Monte Carlo standard error (Morris, White & Crowther 2019).")
    lines.append("All points of a sweep use the same random streams (common random numbers).")
    return lines


def _section_default(result: StudyResult) -> list[str] | None:
    ds = result.datasets.get("default")
    if ds is None or not result.study.default:
        return None
    lines = [f"The 2018 check: 1000 households in 25 villages ({ds.attrs['checks']:,} checks)"]
    for region in ds["county.region"].values:
        d = ds.sel({"county.region": region})
        tv = d.true_value
        lines.append(
            f"  {region:<8} P(pass) {_pm(d, 'p_pass')}   true verdict "
            f"{'pass' if float(d.p_true_pass) == 1 else 'fail'}"
        )
        lines.append(f"           P(verdict flipped by 1 household)    {_pm(d, 'p_flip', k=1)}")
        lines.append(f"           P(verdict flipped by <= 2 households) {_pm(d, 'p_flip', k=2)}")
        lines.append(
            "           true incidence {:.2%}, wrongful exits {:.2%}, omissions {:.2%}, "
            "approval {:.1%}".format(*[float(v) for v in tv.values])
        )
        deff = d.design_effect.values
        lines.append(
            "           design effect: incidence {:.2f}, wrongful exit {:.2f}, omission {:.2f}, "
            "approval {:.2f}".format(*deff)
        )
    return lines


def _pct(x: float) -> str:
    return "    n/a" if math.isnan(x) else f"{x:7.2%}"


def _crossings(x: np.ndarray, p: np.ndarray, level: float) -> float:
    """The x where the (sorted) curve p first crosses ``level`` (linear interpolation)."""
    order = np.argsort(x)
    x, p = x[order], p[order]
    for i in range(len(x) - 1):
        a, b = p[i] - level, p[i + 1] - level
        if a == 0:
            return float(x[i])
        if a * b < 0:
            return float(x[i] + (x[i + 1] - x[i]) * a / (a - b))
    return math.nan


def _section_oc(result: StudyResult) -> list[str] | None:
    rows = []
    for name, ind, label in (
        ("oc_wrongful_exit", "wrongful_exit", "wrongful-exit rate"),
        ("oc_omission", "omission", "omission rate"),
        ("oc_approval", "approval", "approval"),
    ):
        ds = result.datasets.get(name)
        if ds is None:
            continue
        for n in ds["design.households"].values:
            d = ds.sel({"design.households": n})
            x = d.true_value.sel(indicator=ind).values
            p = d.p_pass.values
            hi, mid, lo = (_pct(_crossings(x, p, q)) for q in (0.95, 0.5, 0.05))
            rows.append(
                f"  {label:<19} n={int(n):>4}: P(pass) 95 % at {hi}, 50 % at {mid}, 5 % at {lo}"
            )
    ds = result.datasets.get("oc_incidence")
    if ds is not None:
        for region in ds["county.region"].values:
            d = ds.sel({"county.region": region})
            x = d.true_value.sel(indicator="incidence").values
            hi, mid, lo = (_pct(_crossings(x, d.p_pass.values, q)) for q in (0.95, 0.5, 0.05))
            rows.append(
                f"  incidence ({region:<7}) n=1000: P(pass) 95 % at {hi}, 50 % at {mid}, "
                f"5 % at {lo}"
            )
    if not rows:
        return None
    return [
        "Operating characteristics: the true rate of the simulated population at which",
        "P(pass) crosses 95 %, 50 % and 5 % (interpolated; n/a: not crossed in the grid)",
        *rows,
    ]


def _section_sample_size(result: StudyResult) -> list[str] | None:
    ds = result.datasets.get("oc_wrongful_exit")
    if ds is None:
        return None
    rates = ds["county.wrongful_exit_rate"].values
    good = [r for r in (0.015, 0.01) if r in rates]
    bad = [r for r in (0.025, 0.03) if r in rates]
    if not good or not bad:
        return None
    g, b = good[0], bad[0]
    lines = [
        f"Sample size (villages scaled): false fail at a county with wrongful exits ~{g:.1%}"
        f" and false pass at ~{b:.1%}"
    ]
    ok_from = None
    for n in ds["design.households"].values:
        dg = ds.sel({"design.households": n, "county.wrongful_exit_rate": g})
        db = ds.sel({"design.households": n, "county.wrongful_exit_rate": b})
        v = int(dg["design.villages"])
        tg = float(dg.true_value.sel(indicator="wrongful_exit"))
        tb = float(db.true_value.sel(indicator="wrongful_exit"))
        ff = float(1 - dg.p_pass) if float(dg.p_true_pass) == 1 else math.nan
        fp = float(db.p_pass) if float(db.p_true_pass) == 0 else math.nan
        se_g = float(dg.p_pass_mcse)
        se_b = float(db.p_pass_mcse)
        lines.append(
            f"  n={int(n):>4} in {v:>2} villages: P(fail | true {tg:.2%}) {ff:.4f} ± {se_g:.4f}"
            f"   P(pass | true {tb:.2%}) {fp:.4f} ± {se_b:.4f}"
        )
        meets = ff <= 0.05 and fp <= 0.05
        if meets and ok_from is None:
            ok_from = int(n)
        elif not meets:
            ok_from = None
    lines.append(
        "  both risks <= 5 % from n = "
        + (f"{ok_from} on (in this grid)" if ok_from else "(not reached in this grid)")
        + "; `povsim plan` searches every n"
    )
    return lines


def _section_measurement(result: StudyResult) -> list[str] | None:
    ds = result.datasets.get("measurement")
    if ds is None:
        return None
    lines = ["Enumerators (with the five-level review and county rebuttal):"]
    for rate in ds["county.wrongful_exit_rate"].values:
        d = ds.sel({"county.wrongful_exit_rate": rate})
        truly = float(d.p_true_pass.max()) == 1
        risk = (1 - d.p_pass) if truly else d.p_pass
        word = "false fail" if truly else "false pass"
        hi = risk.argmax(...)
        lo = risk.argmin(...)
        lines.append(
            f"  county with wrongful exits ~{rate:.1%} (truly {'passes' if truly else 'fails'}):"
            f" {word} from {float(risk[lo]):.4f} (sensitivity "
            f"{float(d['measurement.sensitivity'][lo['measurement.sensitivity']]):g}, specificity "
            f"{float(d['measurement.specificity'][lo['measurement.specificity']]):g}) to "
            f"{float(risk[hi]):.4f} (sensitivity "
            f"{float(d['measurement.sensitivity'][hi['measurement.sensitivity']]):g}, specificity "
            f"{float(d['measurement.specificity'][hi['measurement.specificity']]):g})"
        )
    return lines


def _section_rules(result: StudyResult) -> list[str] | None:
    ds = result.datasets.get("rules")
    if ds is None:
        return None
    rates = [r for r in (0.01, 0.015, 0.025, 0.03) if r in ds["county.wrongful_exit_rate"].values]
    lines = ["Rules on the same draws: P(pass) at true wrongful-exit rates"]
    sub = ds.isel(rule=0).true_value.sel(indicator="wrongful_exit")
    truths = [float(sub.sel({"county.wrongful_exit_rate": r})) for r in rates]
    head = "  " + " " * 34 + "".join(f"{t:>18.2%}" for t in truths)
    lines.append(head)
    for rule in ds.rule.values:
        cells = "".join(
            f"{_pm(ds, 'p_pass', rule=rule, **{'county.wrongful_exit_rate': r}):>18}" for r in rates
        )
        lines.append(f"  {rule:<34}{cells}")
    return lines


def _section_villages(result: StudyResult) -> list[str] | None:
    ds = result.datasets.get("villages")
    if ds is None:
        return None
    lines = ["Design effect of 1000 households in v villages (Kish: 1 + (m - 1) ICC)"]
    for v in ds["design.villages"].values:
        d = ds.sel({"design.villages": v})
        lines.append(
            f"  v={int(v):>2}: wrongful exit {_pm(d, 'design_effect', indicator='wrongful_exit')}"
            f"  omission {_pm(d, 'design_effect', indicator='omission')}"
            f"  approval {_pm(d, 'design_effect', indicator='approval')}"
        )
    return lines


def _section_crn(result: StudyResult) -> list[str] | None:
    crn = result.extras.get("crn")
    if crn is None:
        return None
    a, b, cmp = crn
    return [
        "Common random numbers: variance of the estimated difference in P(pass)",
        f"  between {a} and {b} ({cmp.checks:,} checks each): difference {cmp.difference:+.4f};",
        f"  Var with CRN {cmp.variance_crn:.3e}, with independent streams "
        f"{cmp.variance_independent:.3e};",
        f"  variance-reduction ratio {cmp.ratio:.3f} (CRN needs {cmp.ratio:.1%} of the checks)",
    ]


def _section_generic(result: StudyResult) -> list[str] | None:
    if result.study.default:
        return None
    lines = []
    for name, ds in result.datasets.items():
        dims = [d for d in ds.p_pass.dims]
        lines.append(
            f"Sweep {ds.attrs.get('study_title', name)} ({ds.attrs['checks']:,} checks per point)"
        )
        header = (
            "  "
            + "".join(f"{d:>28}" for d in dims)
            + f"{'P(pass)':>20}{'false pass':>20}{'false fail':>20}{'P(margin<=2)':>20}"
        )
        lines.append(header)
        stacked = ds.stack(point=dims) if dims else ds.expand_dims(point=[0])
        for i in range(stacked.sizes["point"]):
            p = stacked.isel(point=i)
            coords = "".join(f"{str(p[d].item()):>28}" for d in dims)
            lines.append(
                "  " + coords + f"{_pm(p, 'p_pass'):>20}{_pm(p, 'false_pass'):>20}"
                f"{_pm(p, 'false_fail'):>20}{_pm(p, 'p_flip', k=2):>20}"
            )
    return lines


def _section_research(result: StudyResult) -> list[str] | None:
    return result.extras.get("research")


def _section_runtime(result: StudyResult) -> list[str]:
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in result.runtime.items() if k != "total")
    return [f"runtime {result.runtime.get('total', math.nan):.1f} s ({parts})"]


#: Builders of ``summary.txt`` sections, in order: ``(StudyResult) -> list of lines``
#: (None or [] to skip). :func:`add_summary_section` appends one before the runtime line.
SUMMARY_SECTIONS: list[Callable[[StudyResult], list[str] | None]] = [
    _section_header,
    _section_default,
    _section_oc,
    _section_sample_size,
    _section_measurement,
    _section_rules,
    _section_villages,
    _section_crn,
    _section_generic,
    _section_research,
    _section_runtime,
]


def add_summary_section(builder: Callable[[StudyResult], list[str] | None]) -> None:
    """Add a section builder to ``summary.txt`` (placed before the closing runtime line)."""
    SUMMARY_SECTIONS.insert(len(SUMMARY_SECTIONS) - 1, builder)


def summary_text(result: StudyResult) -> str:
    """``summary.txt``: the sections of :data:`SUMMARY_SECTIONS`, separated by blank lines."""
    blocks = []
    for builder in SUMMARY_SECTIONS:
        lines = builder(result)
        if lines:
            blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
