"""Tests of povsim.research: each answer against an exact or independent computation."""

import dataclasses
import math

import numpy as np
import pytest
from conftest import assert_within_mcse

import povsim
from povsim import County, Design, Measurement, Rule, Scenario
from povsim.research import (
    CalibrationPrior,
    CountyDistribution,
    PublishedOutcomes,
    calibrate,
    flip_claim,
    flip_map,
    rank_reliability,
    recommend_design,
    simulate_programme,
)
from povsim.research._common import population_totals, verdict_from_counts
from povsim.research._table import build_check_table
from povsim.research.calibration import _simulate_rounds
from povsim.research.ranking import _county, estimated_incidence

SMALL = County(villages=60, poor_village_share=0.5, households_per_village=(80, 120))


def small_scenario(**changes):
    s = Scenario(
        county=SMALL,
        design=Design.two_stage(400, 10),
        measurement=Measurement.official_2018(),
        rule=Rule(),
    )
    return s.replace(**changes) if changes else s


@pytest.fixture(scope="module")
def small_table():
    grid = np.array([0.0, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.02, 0.025, 0.04])
    return build_check_table(small_scenario(), grid=grid, populations=3, checks=128, seed=5)


# -- 1. flip: a hand-computed verdict margin ------------------------------------------------


def test_flip_map_hand_computed_margin():
    # One village pair of 1000 households, every household of 5 persons, no problems,
    # everybody approves. The stratified sample takes 80 exited and 120 never-registered
    # households (400 and 600 persons). A passing check is reversed by
    #   wrongful exit: 1 flagged household -> 5/400 = 1.25 % < 2 %; 2 -> 10/400 = 2.5 % >= 2 %
    #   omission:      2 households -> 10/600 = 1.67 %; 3 -> 2.5 %
    #   approval:      11 withdrawals needed (90/100... 189/200 -> below 90 % needs 21)
    #   incidence (3 %): never within 2 households.
    # So the margin is exactly 2 in every check: P(margin <= 1) = 0, P(margin <= 2) = 1.
    # With every exited household wrongful (w = 100 %) the check fails and more than
    # 10 flags must be removed: P(margin <= 2) = 0.
    county = County(
        villages=2,
        poor_village_share=0.0,
        households_per_village=(500, 500),
        household_sizes=(0.0, 0.0, 0.0, 0.0, 1.0),
        registered_share_nonpoor=0.5,
        remaining_share=0.0,
        wrongful_exit_rate=0.0,
        omission_rate=0.0,
        approval_rate=1.0,
        icc_wrongful_exit=0.0,
        icc_omission=0.0,
        icc_approval=0.0,
    )
    s = Scenario(county=county, design=Design.stratified(200, registered_share=0.4))
    ds = flip_map(
        s,
        indicators=["wrongful_exit"],
        values={"wrongful_exit": [0.0, 1.0]},
        households=[200],
        designs=["stratified"],
        checks=256,
        seed=1,
    )
    p = ds.p_flip.isel(indicator=0, households=0, design=0)
    np.testing.assert_array_equal(p.sel(k=1).values, [0.0, 0.0])
    np.testing.assert_array_equal(p.sel(k=2).values, [1.0, 0.0])
    np.testing.assert_array_equal(ds.p_pass.values.ravel(), [1.0, 0.0])
    # one household moves the wrongful-exit rate by 1/80 of the rate's scale
    assert float(ds.step.values.ravel()[0]) == pytest.approx(1 / 80)


def test_flip_map_validates_before_work():
    with pytest.raises(ValueError, match="indicators"):
        flip_map(indicators=["poverty"], checks=100)
    with pytest.raises(ValueError, match="households"):
        flip_map(households=[10], checks=100)
    with pytest.raises(ValueError, match="checks"):
        flip_map(checks=5)
    with pytest.raises(ValueError, match="distribution"):
        flip_claim("not a distribution")


def test_flip_claim_counts_counties():
    d = CountyDistribution.from_medians(0.004, 0.002, sigma_wrongful=0.5, sigma_omission=0.5)
    res = flip_claim(d, scenario=small_scenario(), counties=4, checks=256, seed=3)
    assert res.per_county.shape == (4, 4)
    assert 0 <= res.p_flip1.value <= res.p_flip2.value <= 1
    assert res.share_fails.value == pytest.approx(np.mean(res.per_county[:, 3] > 0.05))


# -- the emulator's verdict is the engine's -------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        Rule(),
        Rule(guard_band=0.004),
        Rule(method="upper_bound", confidence=0.9, design_effect=2.0),
        Rule(method="lower_bound", confidence=0.95),
    ],
)
def test_verdict_from_counts_matches_engine(rule):
    s = small_scenario(rule=rule, **{"county.wrongful_exit_rate": 0.015})
    pop = s.county.generate(s.population_seed)
    rows = povsim.simulate_checks(s, checks=2000, seed=11, population=pop)
    passed = verdict_from_counts(
        rule,
        pop.region,
        x_w=rows.recorded_wrongful_persons.values,
        n_w=rows.exited_persons.values,
        x_o=rows.recorded_omitted_persons.values,
        n_o=rows.nonregistered_persons.values,
        x_a=rows.approving.values,
        n_a=rows.households.values,
        totals=population_totals(pop),
    )
    np.testing.assert_array_equal(passed, rows.fail_mask.values == 0)


def test_nothing_found_events_nearly_independent():
    # the emulator pairs the two sides of a check independently; the engine's two
    # "nothing found" events share villages and teams: check the dependence is small
    s = small_scenario(**{"county.wrongful_exit_rate": 0.002, "county.omission_rate": 0.002})
    rows = povsim.simulate_checks(s, checks=8000, seed=4)
    zw = rows.recorded_wrongful_persons.values == 0
    zo = rows.recorded_omitted_persons.values == 0
    both = (zw & zo).mean()
    se = math.sqrt(both * (1 - both) / zw.size)
    assert abs(both - zw.mean() * zo.mean()) <= 4 * se


# -- 2. programme: expected counts against a direct computation -----------------------------


def test_programme_point_mass_against_direct_computation():
    # one population per grid point: every county is that population, whose provincial
    # check passes with the probability p computed over all pairs of table rows
    grid = np.array([0.0, 0.025])
    s = small_scenario()
    table = build_check_table(s, grid=grid, populations=1, checks=256, seed=7)
    truth = bool(
        povsim.County.generate(
            SMALL.__class__(
                **{**SMALL.__dict__, "wrongful_exit_rate": 0.025, "omission_rate": 0.025}
            ),
            table.population_seeds[0],
        ).verdict()
    )
    assert not truth  # the county truly fails (realised rates above 2 %)
    x_w, n_w = table.x_w[1, 0], table.n_w[1, 0]
    x_o, n_o = table.x_o[1, 0], table.n_o[1, 0]
    passed = verdict_from_counts(
        s.rule,
        "western",
        x_w=x_w[:, None],
        n_w=n_w[:, None],
        x_o=x_o[None, :],
        n_o=n_o[None, :],
        x_a=table.x_a[1, 0][:, None],
        n_a=table.n_a[1, 0][:, None],
        totals=tuple(table.totals[1, 0]),
    )
    p = float(passed.mean())
    assert 0.05 < p < 0.95
    k, national = 100, 10
    from scipy.stats import binom

    b = np.arange(k + 1)
    e_min = float(np.sum(np.minimum(b, national) * binom.pmf(b, k, p)))
    d = CountyDistribution(math.log(0.025 / 0.975), math.log(0.025 / 0.975), 0.0, 0.0, 0.0)
    res = simulate_programme(
        d,
        scenario=s,
        regions={"western": k},
        national=national,
        provinces=5,
        replications=400,
        seed=9,
        table=table,
    )
    assert res.truly_failing.mean.value == k
    assert_within_mcse(res.wrongly_passed.mean.value, res.wrongly_passed.mean.mcse, k * p)
    assert_within_mcse(res.caught.mean.value, res.caught.mean.mcse, e_min * (1 - p))
    assert res.false_alarms.mean.value == 0.0
    assert_within_mcse(res.false_pass_rate.value, res.false_pass_rate.mcse, p)
    # and the emulator's p agrees with the engine's own pass probability
    pop = table_population(s, table, 0.025)
    ds = povsim.simulate(s, checks=20000, seed=13, population=pop)
    se = math.sqrt(float(ds.p_pass_mcse) ** 2 + p * (1 - p) / 256)
    assert abs(float(ds.p_pass) - p) <= 4 * se


def table_population(s, table, rate):
    county = s.county.__class__(
        **{**s.county.__dict__, "wrongful_exit_rate": rate, "omission_rate": rate}
    )
    return county.generate(table.population_seeds[0])


def test_programme_validates():
    d = CountyDistribution.from_medians(0.001, 0.001)
    with pytest.raises(ValueError, match="national"):
        simulate_programme(d, national=0)
    with pytest.raises(ValueError, match="provinces"):
        simulate_programme(d, national=10, provinces=11)
    with pytest.raises(ValueError, match="replications"):
        simulate_programme(d, replications=1)
    with pytest.raises(ValueError, match="rho"):
        CountyDistribution(-5, -5, 1, 1, rho=1.5)


# -- 3. calibration recovers known parameters -----------------------------------------------


def test_calibration_recovers_known_parameters(small_table):
    truth = {"mu_wrongful": math.log(0.002 / 0.998), "mu_omission": math.log(0.001 / 0.999)}
    theta = np.array([[truth["mu_wrongful"], truth["mu_omission"], 0.8, 0.8, 0.5]])
    rng = np.random.default_rng(2024)
    stats, _ = _simulate_rounds(theta, small_table, 1000, 400, rng)
    observed = PublishedOutcomes(
        counties=1000,
        central=400,
        no_wrongful=float(stats[0, 0]),
        no_omission=float(stats[0, 1]),
        neither=float(stats[0, 2]),
    )
    prior = CalibrationPrior().fixed(sigma_wrongful=0.8, sigma_omission=0.8)
    fit = calibrate(
        observed,
        scenario=small_scenario(),
        prior=prior,
        simulations=4000,
        accept=0.05,
        predictive=20,
        seed=6,
        table=small_table,
    )
    assert fit.reproducible and fit.adjusted
    for name, value in truth.items():
        est = fit.parameters[name]
        assert abs(est.mean.value - value) <= 3 * est.sd + 4 * est.mean.mcse, (name, est)
        prior_sd = (prior.mu_wrongful[1] - prior.mu_wrongful[0]) / math.sqrt(12)
        assert est.sd < prior_sd / 2  # the data are informative
    rho = fit.parameters["rho"]
    assert rho.low <= 0.5 <= rho.high
    for pred, obs in zip(fit.predictive, observed.statistics, strict=True):
        assert abs(pred.value - obs) < 0.03
    # posterior predictive programmes: one posterior draw per programme
    prog = simulate_programme(
        fit, scenario=small_scenario(), replications=20, seed=2, table=small_table
    )
    assert prog.posterior and prog.counties == 283


def test_calibration_reports_unreachable_shares(small_table):
    # nothing-found shares above what false flags alone allow cannot be reproduced
    published = PublishedOutcomes(counties=283, no_wrongful=0.999, no_omission=0.999, neither=0.998)
    fit = calibrate(
        published,
        scenario=small_scenario(),
        simulations=500,
        predictive=10,
        seed=1,
        table=small_table,
    )
    assert not fit.reproducible and not fit.adjusted
    zw, zo = small_table.zero_probability()
    assert zw[0] < 0.999 and zo[0] < 0.999  # what the false flags alone allow
    assert fit.shortfall[0] == pytest.approx(0.999 - zw[0])
    assert fit.shortfall[1] == pytest.approx(0.999 - zo[0])
    assert any("NOT reproducible" in line for line in fit.summary_lines())


def test_published_2018_counts_and_validation():
    assert PublishedOutcomes.round_2018().counts == (245, 256, 230)
    with pytest.raises(ValueError, match="neither"):
        PublishedOutcomes(no_wrongful=0.8, no_omission=0.9, neither=0.85)
    with pytest.raises(ValueError, match="accept"):
        calibrate(accept=0.9)
    with pytest.raises(ValueError, match="sigma_wrongful"):
        CalibrationPrior(sigma_wrongful=(2.0, 1.0))


# -- 4. ranking against the exact answer ----------------------------------------------------


def _exact_incidence_pmf(pop, n_e, n_o):
    from scipy.stats import binom

    r_p, e_p, n_p = population_totals(pop)
    ind = pop.indicators
    xw = np.arange(n_e + 1)
    xo = np.arange(n_o + 1)
    pw = binom.pmf(xw, n_e, ind.wrongful_exit)
    po = binom.pmf(xo, n_o, ind.omission)
    value = (r_p + (xw / n_e)[:, None] * e_p + (xo / n_o)[None, :] * n_p) / (r_p + e_p + n_p)
    return value.ravel(), np.outer(pw, po).ravel()


def test_rank_pair_against_exact_binomial_answer():
    # one-person households, registry-stratified SRS with replacement, perfect
    # measurement: each estimate is (R + X_w/n_e E + X_o/n_o N) / P with independent
    # binomial X_w, X_o, so P(correct order) is an exact finite sum
    county = County(
        villages=40,
        poor_village_share=0.0,
        households_per_village=(150, 150),
        household_sizes=(1.0,),
        registered_share_nonpoor=0.3,
        wrongful_exit_rate=0.005,
        omission_rate=0.004,
    )
    s = Scenario(
        county=county,
        design=Design.stratified(600, registered_share=0.5, replace=True),
        rule=Rule(incidence=0.02),
    )
    res = rank_reliability(s, checks=6000, counties=3, replications=10, seed=8)
    pops = [_county(s, inc, s.population_seed)[1] for inc in (0.016, 0.018)]
    n_reg = 300
    exited = [p.stratum_households(0) for p in pops]
    remaining = [p.stratum_households(1) for p in pops]
    n_e = [s.design.allocation(e, r)[0] for e, r in zip(exited, remaining, strict=True)]
    assert all(n_reg - ne >= 0 for ne in n_e)
    a_val, a_p = _exact_incidence_pmf(pops[0], n_e[0], 300)
    b_val, b_p = _exact_incidence_pmf(pops[1], n_e[1], 300)
    order = np.argsort(b_val)
    b_sorted, b_cdf = b_val[order], np.cumsum(b_p[order])
    below = np.searchsorted(b_sorted, a_val, side="right")
    at_or_below = np.where(below > 0, b_cdf[np.maximum(below - 1, 0)], 0.0)
    strictly = np.searchsorted(b_sorted, a_val, side="left")
    strictly_below = np.where(strictly > 0, b_cdf[np.maximum(strictly - 1, 0)], 0.0)
    ties = at_or_below - strictly_below
    exact = float(np.sum(a_p * ((1 - at_or_below) + 0.5 * ties)))
    assert res.pair_true[0] < res.pair_true[1]
    assert_within_mcse(res.p_correct_order.value, res.p_correct_order.mcse, exact)
    assert abs(res.p_correct_normal - exact) < 0.03
    # the verdict on 不打分、不排队: either kind of unreliability is enough
    est = type(res.p_correct_order)
    sure = dataclasses.replace(
        res, p_correct_order=est(0.95, 0.01), p_adjacent_correct=est(0.8, 0.01)
    )
    assert not sure.ranking_unreliable
    assert dataclasses.replace(sure, p_correct_order=est(0.85, 0.01)).ranking_unreliable
    assert dataclasses.replace(sure, p_adjacent_correct=est(0.55, 0.01)).ranking_unreliable


def test_estimated_incidence_matches_engine_mean():
    s = small_scenario()
    pop = s.county.generate(s.population_seed)
    rows = povsim.simulate_checks(s, checks=4000, seed=2, population=pop)
    est = estimated_incidence(rows, population_totals(pop))
    ds = povsim.simulate(s, checks=4000, seed=2, population=pop)
    assert float(est.mean()) == pytest.approx(float(ds.estimate_mean.sel(indicator="incidence")))


def test_rank_validates():
    with pytest.raises(ValueError, match="counties"):
        rank_reliability(counties=2)
    with pytest.raises(ValueError, match="incidence_range"):
        rank_reliability(incidence_range=(0.02, 0.01))


# -- 5. recommendations meet their targets when re-simulated -------------------------------


def test_recommendation_meets_targets_when_resimulated():
    s = small_scenario()
    rec = recommend_design(
        s,
        distances={"wrongful_exit": 0.015},
        target=0.10,
        households=(400, 800),
        villages=(10, 20),
        checks=1500,
        seed=3,
    )
    assert rec.feasible
    design = Design.two_stage(rec.households, rec.villages)
    for name, passing, value, pop_seed in rec.counties:
        sc = s.replace(
            **{"county.wrongful_exit_rate": value, "population_seed": pop_seed},
            design=design,
            rule=rec.rule,
        )
        ds = povsim.simulate(sc, checks=6000, seed=99)
        assert name == "wrongful_exit"
        risk = 1 - float(ds.p_pass) if passing else float(ds.p_pass)
        assert risk <= rec.target + 4 * float(ds.p_pass_mcse), (passing, risk)


def test_recommend_validates():
    with pytest.raises(ValueError, match="distances"):
        recommend_design(distances={"poverty": 0.01})
    with pytest.raises(ValueError, match="target"):
        recommend_design(target=0.7)


# -- the summary --------------------------------------------------------------------------


@pytest.mark.slow
def test_summary_sections_quick_words():
    lines = povsim.research.summary_sections(quick=True, seed=1)
    text = "\n".join(lines).lower()
    for word in ("flip", "programme", "calibration", "rank"):
        assert word in text
    assert "±" in text


def test_check_table_validates_grid():
    with pytest.raises(ValueError, match="grid"):
        build_check_table(small_scenario(), grid=[0.01, 0.02])
    with pytest.raises(ValueError, match="grid"):
        build_check_table(small_scenario(), grid=[0.0, 0.02, 0.01])
    with pytest.raises(ValueError, match="populations"):
        build_check_table(small_scenario(), grid=[0.0, 0.02], populations=0)


def test_summary_sections_validates():
    with pytest.raises(ValueError, match="quick"):
        povsim.research.summary_sections(quick="yes", seed=1)
    with pytest.raises(ValueError, match="seed"):
        povsim.research.summary_sections(quick=True, seed=-1)
