"""Shared pieces of the research functions: estimates with MCSE, verdicts from counts.

Nothing here is public API; the research modules re-export what users need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..county import EXITED, NONREGISTERED, REMAINING, Population
from ..rules import Rule
from ..scenario import Scenario

__all__ = ["Estimate", "format_rate", "population_totals", "proportion", "verdict_from_counts"]


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo estimate with its Monte Carlo standard error (MCSE).

    Attributes
    ----------
    value : float
        The estimate.
    mcse : float
        Its Monte Carlo standard error (Morris, White & Crowther 2019).
    """

    value: float
    mcse: float

    def __float__(self) -> float:
        return float(self.value)

    def format(self, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
        """``"value ± mcse"`` with both multiplied by ``scale`` (100 for percent)."""
        return f"{self.value * scale:.{digits}f} ± {self.mcse * scale:.{digits}f}{unit}"

    def __str__(self) -> str:
        return self.format(digits=4)


def format_rate(e: Estimate, digits: int = 2) -> str:
    """A rate in percent with its MCSE, or "undefined" when it could not be estimated."""
    if math.isnan(e.value):
        return "undefined (its condition never occurred)"
    return f"{e.format(100, digits)} %"


def proportion(successes: float, trials: float) -> Estimate:
    """Proportion and its binomial MCSE ``sqrt(p (1 - p) / trials)``."""
    if trials <= 0:
        return Estimate(math.nan, math.nan)
    p = successes / trials
    return Estimate(p, math.sqrt(max(p * (1.0 - p), 0.0) / trials))


def mean_estimate(values: np.ndarray) -> Estimate:
    """Mean of independent replications and its MCSE ``sd / sqrt(R)``."""
    values = np.asarray(values, dtype=float)
    r = values.size
    if r == 0:
        return Estimate(math.nan, math.nan)
    if r == 1:
        return Estimate(float(values[0]), math.nan)
    return Estimate(float(values.mean()), float(values.std(ddof=1) / math.sqrt(r)))


def population_totals(population: Population) -> tuple[float, float, float]:
    """Registry persons ``(R, E, N)``: remaining poor, exited and never registered."""
    size = population.size.astype(np.float64)
    status = population.status
    return (
        float(size[status == REMAINING].sum()),
        float(size[status == EXITED].sum()),
        float(size[status == NONREGISTERED].sum()),
    )


def _wilson(x, n, upper, z, deff):
    n_eff = np.maximum(n / deff, 1e-300)
    x_eff = x / deff
    p = x_eff / n_eff
    z2 = z * z
    denom = 1.0 + z2 / n_eff
    centre = (p + z2 / (2.0 * n_eff)) / denom
    half = z * np.sqrt(np.maximum(p * (1.0 - p) / n_eff + z2 / (4.0 * n_eff * n_eff), 0.0)) / denom
    value = centre + half if upper else centre - half
    value = np.clip(value, 0.0, 1.0)
    return np.where(n > 0, value, 1.0 if upper else 0.0)


def _statistic(x, n, rule: Rule, *, error_rate: bool):
    x = np.asarray(x, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if rule.method == "point":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, x / np.where(n > 0, n, 1.0), 0.0)
    if rule.bound != "wilson":
        raise ValueError(f"rule.bound must be 'wilson' for research emulators; got {rule.bound!r}")
    from scipy.special import ndtri

    z = float(ndtri(rule.confidence))
    upper = (rule.method == "upper_bound") == error_rate
    return _wilson(x, n, upper, z, rule.design_effect)


def verdict_from_counts(
    rule: Rule,
    region: str,
    *,
    x_w,
    n_w,
    x_o,
    n_o,
    x_a,
    n_a,
    totals: tuple,
) -> np.ndarray:
    """Pass (True) or fail of checks given their recorded counts, as the engine decides.

    The same arithmetic as :mod:`povsim._engine.rule` for point rules and Wilson
    bounds: incidence ``(R + w E + o N) / P`` at the statistics of ``w`` and ``o``,
    thresholds minus the guard band (plus it for approval).
    ``totals = (R, E, N)`` may be scalars or arrays broadcasting with the counts.
    """
    r_p, e_p, n_p = (np.asarray(t, dtype=np.float64) for t in totals)
    g = rule.guard_band
    w = _statistic(x_w, n_w, rule, error_rate=True)
    o = _statistic(x_o, n_o, rule, error_rate=True)
    a = _statistic(x_a, n_a, rule, error_rate=False)
    incidence = (r_p + w * e_p + o * n_p) / (r_p + e_p + n_p)
    ok = (
        (incidence < rule.incidence_threshold(region) - g)
        & (w < rule.wrongful_exit - g)
        & (o < rule.omission - g)
    )
    t_a = rule.approval + g
    return ok & ((a > t_a) if rule.approval_strict else (a >= t_a))


def check_scenario(scenario: object, name: str = "scenario") -> Scenario:
    """Return ``scenario`` (default: the official 2018 western scenario) or raise."""
    if scenario is None:
        return Scenario.official_2018()
    if not isinstance(scenario, Scenario):
        raise ValueError(f"{name} must be a povsim.Scenario or None; got {scenario!r}")
    return scenario
