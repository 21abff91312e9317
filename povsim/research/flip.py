"""Question 1: can one or two households flip a county's verdict."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._seed import as_seed_sequence
from .._validate import check_choice, check_count, check_probability, check_probability_array
from ..design import Design
from ..scenario import Scenario
from ..simulate import simulate
from ._common import Estimate, check_scenario, mean_estimate, population_totals
from .programme import CountyDistribution

__all__ = ["FlipClaim", "flip_claim", "flip_map", "fragility", "incidence_remaining_share"]

FLIP_INDICATORS = ("wrongful_exit", "omission", "incidence", "approval")
DESIGNS = ("two_stage", "stratified", "srs")
#: True values of the two error rates and incidence, as multiples of their threshold.
RATE_MULTIPLES = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5)
#: Approval values, as ``threshold + m * (1 - threshold)``.
APPROVAL_MULTIPLES = (0.5, 0.3, 0.1, 0.05, 0.0, -0.05, -0.1, -0.2)


def incidence_remaining_share(county, incidence: float) -> float:
    """Registry-remaining share that gives ``county`` the expected ``incidence``.

    Solves ``incidence = reg * s + reg * (1 - s) * w + (1 - reg) * o`` for ``s``,
    ``reg`` being the county's expected registered share of households.

    Raises
    ------
    ValueError
        If no share in [0, 1] gives that incidence.
    """
    n_poor = county.poor_villages
    reg = (
        n_poor * county.registered_share_poor
        + (county.villages - n_poor) * county.registered_share_nonpoor
    ) / county.villages
    w, o = county.wrongful_exit_rate, county.omission_rate
    low = reg * w + (1 - reg) * o
    high = reg + (1 - reg) * o
    if not (low <= incidence <= high) or reg <= 0:
        raise ValueError(
            f"incidence must be in [{low:.4g}, {high:.4g}] for this county; got {incidence}"
        )
    return (incidence - reg * w - (1 - reg) * o) / (reg * (1 - w))


def _design(kind: str, households: int, base: Design) -> Design:
    if kind == "two_stage":
        return dataclasses.replace(base, kind="two_stage", households=households)
    if kind == "stratified":
        return Design.stratified(households, registered_share=base.registered_share or 0.5)
    return Design.srs(households)


def _set_indicator(scenario: Scenario, indicator: str, value: float) -> Scenario:
    if indicator == "wrongful_exit":
        return scenario.replace(**{"county.wrongful_exit_rate": value})
    if indicator == "omission":
        return scenario.replace(**{"county.omission_rate": value})
    if indicator == "approval":
        return scenario.replace(**{"county.approval_rate": value})
    share = incidence_remaining_share(scenario.county, value)
    return scenario.replace(**{"county.remaining_share": share})


def _threshold(scenario: Scenario, indicator: str) -> float:
    rule = scenario.rule
    if indicator == "incidence":
        return rule.incidence_threshold(scenario.county.region)
    return getattr(rule, indicator)


def default_values(scenario: Scenario, indicator: str) -> np.ndarray:
    """The default grid of true values of ``indicator`` around its threshold."""
    t = _threshold(scenario, indicator)
    if indicator == "approval":
        return np.array([t + m * (1 - t) for m in APPROVAL_MULTIPLES])
    return np.array([t * m for m in RATE_MULTIPLES])


def flip_map(
    scenario: Scenario | None = None,
    *,
    indicators: Sequence[str] = FLIP_INDICATORS,
    values: dict | None = None,
    households: Sequence[int] = (1000,),
    designs: Sequence[str] = ("two_stage",),
    checks: int = 4096,
    seed: object = 0,
):
    """Map P(1 household flips the verdict) and P(2 households flip it).

    For each indicator, each true value, each sample size and each design, one
    concrete county population is drawn (``scenario.population_seed``; the other
    indicators keep the scenario's values) and ``checks`` checks of it are
    simulated with common random numbers (the same ``seed`` everywhere). The
    verdict margin is the engine's (:func:`povsim.simulate`): the smallest number
    of sampled households whose recorded status must change to reverse the
    verdict — problem flags added to (or, for a failing check, removed from) the
    largest sampled households first, approval answers withdrawn (added), the
    rule re-applied with the county totals unchanged.

    Parameters
    ----------
    scenario : Scenario, optional
        Default :meth:`Scenario.official_2018` (western region).
    indicators : sequence of str
        Any of ``"wrongful_exit"``, ``"omission"``, ``"incidence"`` (set through
        the registry-remaining share) and ``"approval"``.
    values : dict, optional
        True values per indicator, all of one length; default: the rates at
        0.25–1.5 times their threshold, approval from 95 % to 88 %.
    households : sequence of int
        Sample sizes (>= 50).
    designs : sequence of str
        ``"two_stage"`` (the scenario's design at another size), ``"stratified"``
        (registry-stratified SRS) or ``"srs"``.
    checks : int
        Checks per grid point (>= 100).
    seed : int, SeedSequence or Generator
        Seed of every random draw (``seed=0`` is a seed).

    Returns
    -------
    xarray.Dataset
        Dimensions ``indicator``, ``point``, ``households``, ``design``, ``k``
        (1, 2): ``p_flip`` = P(margin <= k), ``p_flip_pass`` (given a pass),
        ``p_pass``, each with ``*_mcse``; ``value`` (nominal true value),
        ``true_value`` (the concrete population's), ``threshold``, and ``step``:
        the change of the indicator's estimate caused by one average household
        (its domain's persons per sampled household over the domain's sampled
        persons), in the indicator's units.

    References
    ----------
    Morris, T. P., White, I. R. and Crowther, M. J. (2019). Using simulation
    studies to evaluate statistical methods. Statistics in Medicine 38, 2074–2102.
    Kish, L. (1965). Survey Sampling. Wiley.
    Rogan, W. J. and Gladen, B. (1978). Estimating prevalence from the results of
    a screening test. American Journal of Epidemiology 107, 71–76.
    Pagano, M. and Valadez, J. J. (2010). Understanding practical lot quality
    assurance sampling. International Journal of Epidemiology 39, 69–71.

    Examples
    --------
    >>> ds = flip_map(indicators=["wrongful_exit"], checks=1024, seed=1)  # doctest: +SKIP
    >>> ds.p_flip.sel(k=1).max()  # doctest: +SKIP
    """
    import xarray as xr

    scenario = check_scenario(scenario)
    indicators = list(indicators)
    if not indicators:
        raise ValueError("indicators must name at least one of " + ", ".join(FLIP_INDICATORS))
    for name in indicators:
        check_choice("indicators", name, FLIP_INDICATORS)
    households = [check_count("households", h, minimum=50) for h in households]
    if not households:
        raise ValueError("households must hold at least one sample size >= 50")
    designs = list(designs)
    if not designs:
        raise ValueError("designs must name at least one of " + ", ".join(DESIGNS))
    for d in designs:
        check_choice("designs", d, DESIGNS)
    checks = check_count("checks", checks, minimum=100)
    if values is None:
        vals = {ind: default_values(scenario, ind) for ind in indicators}
    else:
        if set(values) != set(indicators):
            raise ValueError(f"values must give one array per indicator {indicators}")
        vals = {ind: check_probability_array(f"values[{ind!r}]", values[ind]) for ind in indicators}
    n_points = {v.size for v in vals.values()}
    if len(n_points) != 1 or 0 in n_points:
        raise ValueError("values must give the same, non-zero number of values per indicator")
    points = n_points.pop()
    for ind in indicators:  # validate every scenario before any work
        for v in vals[ind]:
            _set_indicator(scenario, ind, float(v))
    ss = as_seed_sequence(seed)

    shape = (len(indicators), points, len(households), len(designs), 2)
    p_flip = np.full(shape, np.nan)
    p_flip_se = np.full(shape, np.nan)
    p_flip_pass = np.full(shape, np.nan)
    p_flip_pass_se = np.full(shape, np.nan)
    p_pass = np.full(shape[:-1], np.nan)
    p_pass_se = np.full(shape[:-1], np.nan)
    true_value = np.full(shape[:-1], np.nan)
    step = np.full(shape[:-1], np.nan)
    for a, ind in enumerate(indicators):
        for b, v in enumerate(vals[ind]):
            base = _set_indicator(scenario, ind, float(v))
            share_n = None
            if ind == "incidence":
                r_p, e_p, n_p = population_totals(base.county.generate(base.population_seed))
                share_n = n_p / (r_p + e_p + n_p)
            for c, n in enumerate(households):
                for d, kind in enumerate(designs):
                    sc = base.replace(design=_design(kind, n, scenario.design))
                    ds = simulate(sc, checks=checks, seed=ss)
                    sel = {"k": [1, 2]}
                    p_flip[a, b, c, d] = ds.p_flip.sel(sel).values
                    p_flip_se[a, b, c, d] = ds.p_flip_mcse.sel(sel).values
                    p_flip_pass[a, b, c, d] = ds.p_flip_pass.sel(sel).values
                    p_flip_pass_se[a, b, c, d] = ds.p_flip_pass_mcse.sel(sel).values
                    p_pass[a, b, c, d] = float(ds.p_pass)
                    p_pass_se[a, b, c, d] = float(ds.p_pass_mcse)
                    true_value[a, b, c, d] = float(ds.true_value.sel(indicator=ind))
                    hh = ds.sampled_households.values  # exited, never registered, all
                    if ind == "wrongful_exit":
                        step[a, b, c, d] = 1.0 / hh[0]
                    elif ind == "omission":
                        step[a, b, c, d] = 1.0 / hh[1]
                    elif ind == "approval":
                        step[a, b, c, d] = 1.0 / hh[2]
                    else:  # one omission more moves incidence by (N / P) / n_o
                        step[a, b, c, d] = share_n / hh[1]

    dims = ("indicator", "point", "households", "design")

    def var(d, value, long_name, **attrs):
        return xr.Variable(d, value, {"long_name": long_name, "units": "1", **attrs})

    data = {
        "p_flip": var(dims + ("k",), p_flip, "P(verdict margin <= k households)"),
        "p_flip_mcse": var(dims + ("k",), p_flip_se, "MCSE of p_flip"),
        "p_flip_pass": var(dims + ("k",), p_flip_pass, "P(margin <= k | check passes)"),
        "p_flip_pass_mcse": var(dims + ("k",), p_flip_pass_se, "MCSE of p_flip_pass"),
        "p_pass": var(dims, p_pass, "probability that the check passes the county"),
        "p_pass_mcse": var(dims, p_pass_se, "MCSE of p_pass"),
        "true_value": var(dims, true_value, "true value of the indicator in the population"),
        "step": var(dims, step, "change of the estimate caused by one average household"),
        "value": var(
            ("indicator", "point"),
            np.array([vals[i] for i in indicators]),
            "nominal true value of the indicator",
        ),
        "threshold": var(
            ("indicator",),
            np.array([_threshold(scenario, i) for i in indicators]),
            "threshold of the indicator",
        ),
    }
    coords = {
        "indicator": ("indicator", indicators),
        "point": ("point", np.arange(points)),
        "households": ("households", np.array(households), {"units": "households"}),
        "design": ("design", designs),
        "k": ("k", np.array([1, 2]), {"long_name": "households changed"}),
    }
    out = xr.Dataset(data, coords=coords)
    out.attrs.update(
        title="povsim research: can 1-2 households flip a verdict?",
        checks=checks,
        seed=str(ss.entropy),
        scenario_json=scenario.to_json(),
        mcse_reference="Morris, White & Crowther (2019), Statistics in Medicine 38:2074-2102",
    )
    return out


def fragility(ds) -> dict[str, tuple[float, float, float]]:
    """Per indicator: the peak P(margin <= 1) over true values, its MCSE, and the step.

    The step is the change of the estimate by one average household, as a share
    of the indicator's threshold (of ``1 - threshold`` for approval).
    """
    out = {}
    for ind in ds.indicator.values:
        sub = ds.sel(indicator=ind).isel(households=0, design=0)
        pk = sub.p_flip.sel(k=1).values
        i = int(np.nanargmax(pk))
        t = float(ds.threshold.sel(indicator=ind))
        scale = (1 - t) if ind == "approval" else t
        out[str(ind)] = (
            float(pk[i]),
            float(sub.p_flip_mcse.sel(k=1).values[i]),
            float(np.nanmean(sub.step.values)) / scale,
        )
    return out


@dataclass(frozen=True)
class FlipClaim:
    """How often 1–2 households could flip the verdict of a realistic county.

    Attributes
    ----------
    p_flip1, p_flip2 : Estimate
        P(verdict margin <= 1) and P(margin <= 2) of the check of a county drawn
        from the distribution (mean over counties; MCSE from the spread between
        counties and the checks of each).
    share_fails : Estimate
        Share of counties for which P(margin <= 2) exceeds ``tolerance``: the
        claim "1–2 households will not affect the result" fails for them.
    tolerance : float
    counties, checks : int
    per_county : numpy.ndarray, shape (counties, 4)
        Each county's ``w``, ``o``, P(margin <= 1) and P(margin <= 2).
    """

    p_flip1: Estimate
    p_flip2: Estimate
    share_fails: Estimate
    tolerance: float
    counties: int
    checks: int
    per_county: np.ndarray = field(repr=False)


def flip_claim(
    distribution: CountyDistribution,
    *,
    scenario: Scenario | None = None,
    counties: int = 64,
    checks: int = 1024,
    tolerance: float = 0.05,
    seed: object = 0,
) -> FlipClaim:
    """Share of realistic counties for which the 1–2 household claim fails.

    Draws ``counties`` counties' true rates from ``distribution``, generates one
    population of each (the scenario's county with those expected rates), and
    simulates ``checks`` checks of each with :func:`povsim.simulate`. A county
    fails the claim when P(verdict margin <= 2) > ``tolerance``.

    Parameters
    ----------
    distribution : CountyDistribution
        E.g. the calibrated 2018 distribution (:func:`calibrate`).
    scenario : Scenario, optional
        Default :meth:`Scenario.official_2018`.
    counties : int
        Counties drawn (>= 2).
    checks : int
        Checks per county (>= 100).
    tolerance : float
        In [0, 1).
    seed : int, SeedSequence or Generator
        Seed of every random draw (``seed=0`` is a seed).

    Returns
    -------
    FlipClaim

    References
    ----------
    Morris, T. P., White, I. R. and Crowther, M. J. (2019). Statistics in Medicine
    38, 2074–2102.
    """
    if not isinstance(distribution, CountyDistribution):
        raise ValueError(f"distribution must be a CountyDistribution; got {distribution!r}")
    scenario = check_scenario(scenario)
    counties = check_count("counties", counties, minimum=2)
    checks = check_count("checks", checks, minimum=100)
    tolerance = check_probability("tolerance", tolerance)
    if tolerance >= 1:
        raise ValueError(f"tolerance must be a real number in [0, 1); got {tolerance}")
    ss = as_seed_sequence(seed)
    rng_ss, pop_ss, check_ss = ss.spawn(3)
    w, o = distribution.sample(counties, np.random.default_rng(rng_ss))
    pop_seeds = pop_ss.generate_state(counties, np.uint32)
    rows = np.empty((counties, 4))
    var1 = np.empty(counties)
    var2 = np.empty(counties)
    for i in range(counties):
        sc = scenario.replace(
            **{
                "county.wrongful_exit_rate": float(w[i]),
                "county.omission_rate": float(o[i]),
                "population_seed": int(pop_seeds[i]),
                "population": "fixed",
            }
        )
        ds = simulate(sc, checks=checks, seed=check_ss)
        f = ds.p_flip.sel(k=[1, 2]).values
        se = ds.p_flip_mcse.sel(k=[1, 2]).values
        rows[i] = (w[i], o[i], f[0], f[1])
        var1[i], var2[i] = se[0] ** 2, se[1] ** 2
    # between-county spread already contains the within-county Monte Carlo noise
    p1 = mean_estimate(rows[:, 2])
    p2 = mean_estimate(rows[:, 3])
    fails = rows[:, 3] > tolerance
    share = float(fails.mean())
    return FlipClaim(
        p_flip1=p1,
        p_flip2=p2,
        share_fails=Estimate(share, math.sqrt(share * (1 - share) / counties)),
        tolerance=tolerance,
        counties=counties,
        checks=checks,
        per_county=rows,
    )
