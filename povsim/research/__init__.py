"""The research questions povsim was built to answer (DESIGN §1).

1. :func:`flip_map`, :func:`flip_claim` — can one or two households flip a verdict?
2. :func:`simulate_programme` — how wrong is a whole exit programme (283 counties,
   provincial checks, a 60-county national spot check)?
3. :func:`calibrate` — which distribution of county error rates fits the published
   2018 results, can any, and what does it imply?
4. :func:`rank_reliability` — is ranking counties meaningful, or only pass/fail?
5. :func:`recommend_design` — the sample size, villages and rule that keep both
   false pass and false fail below a target.

:func:`summary_sections` runs all five at a modest size and returns the lines that
``povsim run`` writes into ``summary.txt``. Every Monte Carlo figure carries its
Monte Carlo standard error (Morris, White & Crowther 2019).
"""

from __future__ import annotations

import math
import time

from ._common import Estimate
from .calibration import (
    CalibrationPrior,
    CalibrationResult,
    ParameterEstimate,
    PublishedOutcomes,
    calibrate,
)
from .flip import FlipClaim, flip_claim, flip_map, fragility
from .programme import CountyDistribution, ProgrammeResult, Spread, simulate_programme
from .ranking import RankingResult, rank_reliability
from .recommend import Recommendation, candidate_rules, recommend_design

__all__ = [
    "CalibrationPrior",
    "CalibrationResult",
    "CountyDistribution",
    "Estimate",
    "FlipClaim",
    "ParameterEstimate",
    "ProgrammeResult",
    "PublishedOutcomes",
    "RankingResult",
    "Recommendation",
    "Spread",
    "calibrate",
    "candidate_rules",
    "flip_claim",
    "flip_map",
    "fragility",
    "illustrative_distribution",
    "rank_reliability",
    "recommend_design",
    "simulate_programme",
    "summary_sections",
]


def illustrative_distribution() -> CountyDistribution:
    """County rates as DESIGN §1 describes them: mostly well below 1 %, a thin tail.

    Median wrongful-exit rate 0.3 %, median omission rate 0.2 %, logit SD 0.8
    each, correlation 0.5: about 2 % of counties above 1 % wrongful exits and
    0.2 % of counties at 2 % or more. An assumption for illustration, not a fit.
    """
    return CountyDistribution.from_medians(
        0.003, 0.002, sigma_wrongful=0.8, sigma_omission=0.8, rho=0.5
    )


def summary_sections(*, quick: bool, seed: int) -> list[str]:
    """Headline answers to the five research questions, with MCSE, for ``summary.txt``.

    Parameters
    ----------
    quick : bool
        Smaller runs (about a quarter of the work).
    seed : int
        Seed of every simulation (``seed=0`` is a seed).

    Returns
    -------
    list of str
        Lines of text; they contain the words "flip", "programme",
        "calibration" and "rank".

    References
    ----------
    Morris, T. P., White, I. R. and Crowther, M. J. (2019). Using simulation
    studies to evaluate statistical methods. Statistics in Medicine 38, 2074–2102.
    """
    import numpy as np

    from .._seed import as_seed_sequence
    from ..scenario import Scenario
    from ._table import DEFAULT_GRID, build_check_table

    if not isinstance(quick, bool):
        raise ValueError(f"quick must be True or False; got {quick!r}")
    ss = as_seed_sequence(seed)
    s_flip, s_claim, s_table, s_cal, s_prog, s_rank, s_rec, s_table2, s_cal2 = ss.spawn(9)
    t0 = time.perf_counter()
    scenario = Scenario.official_2018()
    lines = ["", "== Research questions (povsim.research) =="]
    grid = DEFAULT_GRID if not quick else DEFAULT_GRID[::2]
    table = build_check_table(
        scenario,
        grid=grid,
        populations=3 if quick else 6,
        checks=128 if quick else 256,
        seed=s_table,
    )

    # 3. calibration first: the other questions use its distribution
    fit = calibrate(
        scenario=scenario,
        simulations=4000 if quick else 20000,
        predictive=100 if quick else 200,
        seed=s_cal,
        table=table,
    )
    lines += fit.summary_lines("official_2018 measurement")
    m = scenario.measurement
    f = (1 - m.specificity) * m.review_false
    n_o = scenario.design.households * (1 - (scenario.design.registered_share or 0.5))
    pub = fit.published
    f_max = -math.log(pub.no_omission) / n_o
    lines.append(
        f"  false flags surviving review: assumed {f * 1e4:.2f} per 10,000 sampled households; "
        f"'{pub.no_omission:.2%} with no omission found' allows at most about "
        f"{f_max * 1e4:.2f} (binomial bound, every county at zero omissions)"
    )
    realistic = fit.distribution()
    if not quick:
        # what less specific enumerators (2 % suspect flags, the first assumption)
        # would imply: the published shares are then out of reach
        loose = scenario.replace(**{"measurement.specificity": 0.98})
        table2 = build_check_table(loose, grid=grid, populations=6, checks=256, seed=s_table2)
        fit2 = calibrate(scenario=loose, simulations=20000, seed=s_cal2, table=table2)
        lines += fit2.summary_lines("less specific enumerators, specificity 0.98")
        fit17 = calibrate(
            PublishedOutcomes.round_2017(),
            scenario=scenario,
            simulations=20000,
            seed=s_cal2.spawn(1)[0],
            table=table,
        )
        lines += fit17.summary_lines("2017 round, official_2018 measurement")

    # 1. flip
    ds = flip_map(scenario, checks=1024 if quick else 4096, seed=s_flip)
    frag = fragility(ds)
    worst = max(frag, key=lambda k: frag[k][0])
    lines.append(
        "flip: P(1 household flips the verdict) peaks, over true values around each "
        "threshold (1000 households, two-stage), at "
        + ", ".join(
            f"{k} {v[0] * 100:.1f} ± {v[1] * 100:.1f} % (one household = {v[2] * 100:.1f} % of "
            f"the threshold)"
            for k, v in frag.items()
        )
    )
    sub = ds.sel(indicator="wrongful_exit").isel(households=0, design=0)
    at = int(np.argmin(np.abs(sub.value.values - 0.02)))
    lines.append(
        f"flip: a county generated at the 2 % wrongful-exit threshold "
        f"(its population: {sub.true_value.values[at]:.2%}): "
        f"P(1 household flips) {sub.p_flip.sel(k=1).values[at] * 100:.1f} ± "
        f"{sub.p_flip_mcse.sel(k=1).values[at] * 100:.1f} %, P(2 flip) "
        f"{sub.p_flip.sel(k=2).values[at] * 100:.1f} ± "
        f"{sub.p_flip_mcse.sel(k=2).values[at] * 100:.1f} %; most fragile near its threshold: "
        f"{worst} (its estimate barely varies, most of it being the registry count); "
        f"per household the error rates move most (persons, about 490 exited households)"
    )
    sizes = flip_map(
        scenario,
        indicators=["wrongful_exit"],
        values={"wrongful_exit": [0.025]},
        households=(500, 1000, 2000),
        designs=("two_stage", "stratified"),
        checks=1024 if quick else 4096,
        seed=s_flip,
    )
    cells = []
    for design in ("two_stage", "stratified"):
        for n in (500, 1000, 2000):
            c = sizes.sel(design=design, households=n).isel(indicator=0, point=0)
            cells.append(
                f"{design} {n}: {float(c.p_flip.sel(k=1)) * 100:.1f} ± "
                f"{float(c.p_flip_mcse.sel(k=1)) * 100:.1f} %"
            )
    lines.append(
        "flip: P(1 household flips) for a county generated at 2.5 % wrongful exits, by design and "
        "sample size: " + "; ".join(cells)
    )
    claims = []
    for label, dist, sc, seed_part in (
        ("calibrated 2018 counties", realistic, scenario, 0),
        ("illustrative counties (median 0.3 % / 0.2 %)", illustrative_distribution(), scenario, 1),
    ):
        claim = flip_claim(
            dist,
            scenario=sc,
            counties=24 if quick else 64,
            checks=512,
            seed=s_claim.spawn(2)[seed_part],
        )
        verdict = (
            "holds for every county drawn"
            if claim.share_fails.value == 0
            else f"fails for {claim.share_fails.format(100, 1)} % of counties"
        )
        lines.append(
            f"flip: {label}: P(1 household flips the verdict) {claim.p_flip1.format(100, 2)} %, "
            f"P(2 flip it) {claim.p_flip2.format(100, 2)} %; the claim "
            f"'1-2 households will not affect the result' {verdict} "
            f"(fails = P(2 flip) > {claim.tolerance:.0%})"
        )
        claims.append(claim)
    lines.append(
        f"flip: ANSWER: for counties like the 2018 ones the claim holds (P(1-2 households "
        f"flip the verdict) {claims[0].p_flip2.format(100, 2)} %); it fails for any county "
        f"near a threshold (one household flips {frag['wrongful_exit'][0] * 100:.0f} % of "
        f"checks at the wrongful-exit threshold, {frag[worst][0] * 100:.0f} % near the "
        f"{worst} threshold) and for {claims[1].share_fails.format(100, 0)} % of counties "
        f"with rates mostly below 1 %"
    )

    # 2. programme
    for label, dist, sc, tab in (
        ("calibrated 2018 rates, posterior predictive", fit, scenario, table),
        ("illustrative rates", illustrative_distribution(), scenario, table),
    ):
        prog = simulate_programme(
            dist,
            scenario=sc,
            replications=200 if quick else 1000,
            seed=s_prog,
            table=tab,
        )
        out = prog.summary_lines()
        out[0] = out[0] + f" ({label})"
        lines += out

    # 4. rank
    rank = rank_reliability(
        checks=1000 if quick else 4000, replications=100 if quick else 400, seed=s_rank
    )
    lines += rank.summary_lines()
    justified = rank.ranking_unreliable
    lines.append(
        f"rank: 不打分、不排队 (no scores, no rankings) is "
        f"{'statistically justified' if justified else 'not clearly needed'}: two compliant "
        f"counties 0.2 points apart are ordered correctly {rank.p_correct_order.format(100, 1)} "
        f"% of the time and neighbours in a {rank.counties}-county ranking "
        f"{rank.p_adjacent_correct.format(100, 1)} % (a coin toss: 50 %)"
    )

    # 5. recommendations
    rec = recommend_design(
        scenario,
        distances={"wrongful_exit": 0.01, "omission": 0.01},
        households=(1000, 2000, 3000, 4000),
        checks=500 if quick else 2000,
        seed=s_rec,
    )
    lines += rec.summary_lines()
    lines.append(f"(research sections took {time.perf_counter() - t0:.0f} s)")
    return lines
