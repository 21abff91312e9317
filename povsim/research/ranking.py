"""Question 4: is ranking counties meaningful, or only pass/fail (不打分、不排队)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._seed import as_seed_sequence
from .._validate import check_count, check_probability
from ..county import Population
from ..scenario import Scenario
from ..simulate import simulate_checks
from ._common import Estimate, mean_estimate, population_totals, verdict_from_counts
from .flip import incidence_remaining_share

__all__ = ["RankingResult", "estimated_incidence", "rank_reliability"]


def estimated_incidence(rows, totals: tuple[float, float, float]) -> np.ndarray:
    """Estimated incidence of each check row, ``(R + w E + o N) / P`` (published formula)."""
    r_p, e_p, n_p = totals
    n_w = rows["exited_persons"].values.astype(float)
    n_o = rows["nonregistered_persons"].values.astype(float)
    w = np.where(n_w > 0, rows["recorded_wrongful_persons"].values / np.maximum(n_w, 1), 0.0)
    o = np.where(n_o > 0, rows["recorded_omitted_persons"].values / np.maximum(n_o, 1), 0.0)
    return (r_p + w * e_p + o * n_p) / (r_p + e_p + n_p)


@dataclass(frozen=True)
class RankingResult:
    """Ranking versus pass/fail reliability.

    Attributes
    ----------
    pair_true : tuple of float
        True incidence of the two counties (their concrete populations).
    p_correct_order : Estimate
        P(the county with the lower true incidence has the lower estimate); ties
        count one half.
    p_correct_normal : float
        Normal approximation ``Phi(delta / sqrt(sd1^2 + sd2^2))`` from the
        simulated means and SDs of the two estimates.
    p_both_verdicts_correct : Estimate
        P(both counties get their true verdict) under the scenario's rule.
    estimate_sd : tuple of float
        SD of each county's estimated incidence.
    spearman : Estimate
        Mean Spearman rank correlation between true and estimated incidence
        across ``counties`` counties (one check each), over replications.
    spearman_sd : float
        Its spread across replications.
    p_adjacent_correct : Estimate
        Mean share of pairs of counties adjacent in true rank that are ordered
        correctly.
    counties, checks : int
    per_county_true : numpy.ndarray
    """

    pair_true: tuple
    p_correct_order: Estimate
    p_correct_normal: float
    p_both_verdicts_correct: Estimate
    estimate_sd: tuple
    spearman: Estimate
    spearman_sd: float
    p_adjacent_correct: Estimate
    counties: int
    checks: int
    per_county_true: np.ndarray = field(repr=False)

    @property
    def ranking_unreliable(self) -> bool:
        """Whether scores and rankings would mislead (不打分、不排队 justified).

        True when two counties 0.2 points apart are misordered in more than one
        check in ten, or when neighbours in the ranking are ordered correctly less
        than three times in four (a coin toss gets half).
        """
        return self.p_correct_order.value < 0.9 or self.p_adjacent_correct.value < 0.75

    def summary_lines(self) -> list[str]:
        """Headline lines for ``summary.txt``."""
        a, b = self.pair_true
        return [
            f"rank: counties with true incidence {a * 100:.2f} % and {b * 100:.2f} % are "
            f"ordered correctly by one 1000-household check with probability "
            f"{self.p_correct_order.format(100, 1)} % (normal approximation "
            f"{self.p_correct_normal * 100:.1f} %; estimate SDs "
            f"{self.estimate_sd[0] * 100:.2f} and {self.estimate_sd[1] * 100:.2f} points); "
            f"both get the right pass/fail verdict with probability "
            f"{self.p_both_verdicts_correct.format(100, 2)} %",
            f"  rank correlation (Spearman) of true and estimated incidence across "
            f"{self.counties} compliant counties: {self.spearman.format(1, 3)} "
            f"(SD {self.spearman_sd:.3f} across rounds); adjacent counties ordered correctly "
            f"{self.p_adjacent_correct.format(100, 1)} %",
        ]


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    from scipy.stats import rankdata

    rx = rankdata(x)
    ry = rankdata(y)
    rx = rx - rx.mean()
    ry = ry - ry.mean()
    den = math.sqrt(float((rx**2).sum() * (ry**2).sum()))
    return float((rx * ry).sum() / den) if den > 0 else math.nan


def _county(scenario: Scenario, incidence: float, seed: int) -> tuple[Scenario, Population]:
    """The county whose concrete population has (very nearly) the true ``incidence``.

    The registry-remaining share is set from the expected incidence, then
    corrected twice by the secant method on the realised incidence of the
    population (the same population seed, so only registry status moves).
    """
    share = incidence_remaining_share(scenario.county, incidence)
    prev = None
    for _ in range(4):
        sc = scenario.replace(**{"county.remaining_share": share, "population": "fixed"})
        pop = sc.county.generate(seed)
        got = pop.indicators.incidence
        if abs(got - incidence) < 2e-5:
            break
        if prev is None or prev[1] == got:
            slope = 1.0 / max(_registered_share(sc.county), 1e-9)
        else:
            slope = (share - prev[0]) / (got - prev[1])
        prev = (share, got)
        share = min(max(share + slope * (incidence - got), 0.0), 1.0)
    return sc, pop


def _registered_share(county) -> float:
    n_poor = county.poor_villages
    return (
        n_poor * county.registered_share_poor
        + (county.villages - n_poor) * county.registered_share_nonpoor
    ) / county.villages


def rank_reliability(
    scenario: Scenario | None = None,
    *,
    pair: tuple[float, float] = (0.016, 0.018),
    counties: int = 60,
    incidence_range: tuple[float, float] | None = None,
    checks: int = 4000,
    replications: int = 400,
    seed: object = 0,
) -> RankingResult:
    """Whether one check can order two counties, or rank many, by their incidence.

    Two counties whose expected incidence is ``pair`` (set through the
    registry-remaining share; everything else as in ``scenario``) are each
    checked ``checks`` times; the probability that the estimates order them as
    their true incidences are ordered is compared with the normal approximation
    and with the probability that both get the right pass/fail verdict. Then
    ``counties`` counties with expected incidence evenly spread over
    ``incidence_range`` are each checked once per replication, and the rank
    correlation between true and estimated incidence is averaged.

    Parameters
    ----------
    scenario : Scenario, optional
        Default :meth:`Scenario.official_2018` for the central region (2 %).
        The pair share the population seed ``scenario.population_seed`` (they
        differ only in registry-remaining households; their checks are
        independent); county ``i`` of the ranking is population
        ``scenario.population_seed + i``. Each population's registry-remaining
        share is tuned so that its true incidence is the one asked for.
    pair : (float, float)
        Expected incidences of the two counties, in [0, 1].
    counties : int
        Counties ranked (>= 3; 60 in the 2018 national spot check).
    incidence_range : (float, float), optional
        Range of their expected incidence; default ``(0.25, 0.95)`` times the
        threshold (compliant counties: ranking among those that pass).
    checks : int
        Checks of each county of the pair (>= 100).
    replications : int
        Rounds of the ``counties`` checks (>= 10).
    seed : int, SeedSequence or Generator
        Seed of every random draw (``seed=0`` is a seed).

    Returns
    -------
    RankingResult

    References
    ----------
    Kish, L. (1965). Survey Sampling. Wiley.
    Morris, T. P., White, I. R. and Crowther, M. J. (2019). Statistics in Medicine
    38, 2074–2102.
    Spearman, C. (1904). The proof and measurement of association between two
    things. American Journal of Psychology 15, 72–101.
    """
    scenario = Scenario.official_2018(region="central") if scenario is None else scenario
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a povsim.Scenario or None; got {scenario!r}")
    if len(pair) != 2:
        raise ValueError(f"pair must be two incidences; got {pair!r}")
    pair = tuple(check_probability(f"pair[{i}]", v) for i, v in enumerate(pair))
    counties = check_count("counties", counties, minimum=3)
    threshold = scenario.rule.incidence_threshold(scenario.county.region)
    if incidence_range is None:
        incidence_range = (0.25 * threshold, 0.95 * threshold)
    lo = check_probability("incidence_range[0]", incidence_range[0])
    hi = check_probability("incidence_range[1]", incidence_range[1])
    if hi <= lo:
        raise ValueError(
            f"incidence_range must be (low, high) with low < high; got {incidence_range}"
        )
    checks = check_count("checks", checks, minimum=100)
    replications = check_count("replications", replications, minimum=10)
    for v in (*pair, lo, hi):
        incidence_remaining_share(scenario.county, v)  # raises if unreachable
    ss = as_seed_sequence(seed)
    pair_ss, rank_ss = ss.spawn(2)
    base_seed = scenario.population_seed

    # 1. the pair
    est, truth, verdict_ok = [], [], []
    for inc in pair:
        sc, pop = _county(scenario, inc, base_seed)
        rows = simulate_checks(sc, checks=checks, seed=pair_ss.spawn(1)[0], population=pop)
        totals = population_totals(pop)
        est.append(estimated_incidence(rows, totals))
        truth.append(pop.indicators.incidence)
        passed = verdict_from_counts(
            sc.rule,
            pop.region,
            x_w=rows.recorded_wrongful_persons.values,
            n_w=rows.exited_persons.values,
            x_o=rows.recorded_omitted_persons.values,
            n_o=rows.nonregistered_persons.values,
            x_a=rows.approving.values,
            n_a=rows.households.values,
            totals=totals,
        )
        verdict_ok.append(passed == pop.verdict(sc.rule))
    low, high = (0, 1) if truth[0] <= truth[1] else (1, 0)
    score = (est[low] < est[high]) + 0.5 * (est[low] == est[high])
    p_correct = mean_estimate(score)
    m = [float(e.mean()) for e in est]
    s = [float(e.std(ddof=1)) for e in est]
    from scipy.special import ndtr

    denom = math.sqrt(s[0] ** 2 + s[1] ** 2)
    normal = float(ndtr((m[high] - m[low]) / denom)) if denom > 0 else 0.5
    both = mean_estimate((verdict_ok[0] & verdict_ok[1]).astype(float))

    # 2. ranking many counties
    incs = np.linspace(lo, hi, counties)
    true_inc = np.empty(counties)
    est_all = np.empty((counties, replications))
    seeds = rank_ss.spawn(counties)
    for i, inc in enumerate(incs):
        sc, pop = _county(scenario, float(inc), base_seed + i)
        rows = simulate_checks(sc, checks=replications, seed=seeds[i], population=pop)
        est_all[i] = estimated_incidence(rows, population_totals(pop))
        true_inc[i] = pop.indicators.incidence
    rho = np.array([_spearman(true_inc, est_all[:, r]) for r in range(replications)])
    order = np.argsort(true_inc)
    adj = (est_all[order[1:]] > est_all[order[:-1]]) + 0.5 * (
        est_all[order[1:]] == est_all[order[:-1]]
    )
    adjacent = mean_estimate(adj.mean(axis=0))
    return RankingResult(
        pair_true=(float(truth[0]), float(truth[1])),
        p_correct_order=p_correct,
        p_correct_normal=normal,
        p_both_verdicts_correct=both,
        estimate_sd=(s[0], s[1]),
        spearman=mean_estimate(rho),
        spearman_sd=float(rho.std(ddof=1)),
        p_adjacent_correct=adjacent,
        counties=counties,
        checks=checks,
        per_county_true=true_inc,
    )
