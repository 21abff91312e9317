"""The engine against exact answers: within 4 MCSE, 10**6 checks each.

Every scenario here has a closed form (DESIGN §4): simple random sampling with
and without replacement (binomial, hypergeometric), independent
misclassification (Rogan–Gladen), and the official four-indicator rule under
stratified SRS with one-person households. The table of (scenario, exact,
estimate, MCSE, z) is printed with ``pytest -s``.
"""

import numpy as np
import pytest
from conftest import z_score
from helpers import one_person_population

from povsim import Design, Measurement, Rule, Scenario, exact, simulate

CHECKS = 10**6
N_NONREG = 20_000
SAMPLE = 500
PERFECT = Measurement()
ONLY_OMISSION = Rule(incidence=1.0, approval=0.0)  # only the omission rate can fail


def largest_passing_count(n, threshold):
    """Largest recorded count x with x / n < threshold, in the engine's float arithmetic."""
    return max(x for x in range(n + 1) if x / n < threshold)


def omission_only(omitted, *, replace, measurement=PERFECT):
    pop = one_person_population(exited=2000, remaining=100, nonregistered=N_NONREG, omitted=omitted)
    design = Design.stratified(SAMPLE, registered_share=0.0, replace=replace)
    scenario = Scenario(design=design, measurement=measurement, rule=ONLY_OMISSION)
    c = largest_passing_count(SAMPLE, 0.02)
    expected = exact.accept_probability(
        SAMPLE,
        c,
        omitted / N_NONREG,
        population=None if replace else N_NONREG,
        sensitivity=measurement.effective_sensitivity,
        specificity=measurement.effective_specificity,
    )
    return scenario, pop, expected


def stratum_table(pop, status):
    sel = pop.status == status
    prob, appr = pop.problem[sel], pop.approve[sel]
    return [
        [int(np.sum(prob & appr)), int(np.sum(prob & ~appr))],
        [int(np.sum(~prob & appr)), int(np.sum(~prob & ~appr))],
    ]


def official_stratified(wrongful, omitted, disapprove, measurement=PERFECT):
    pop = one_person_population(
        exited=5000,
        wrongful=wrongful,
        remaining=300,
        nonregistered=N_NONREG,
        omitted=omitted,
        disapprove=disapprove,
    )
    design = Design.stratified(1000)
    scenario = Scenario(design=design, measurement=measurement)
    n_e, n_r, n_n = design.allocation(5000, 300)
    expected = exact.official_pass_probability(
        exited=stratum_table(pop, 0),
        exited_sample=n_e,
        remaining=stratum_table(pop, 1),
        remaining_sample=n_r,
        nonregistered=stratum_table(pop, 2),
        nonregistered_sample=n_n,
        sensitivity=measurement.effective_sensitivity,
        specificity=measurement.effective_specificity,
        approval_overreport=measurement.approval_overreport,
        approval_underreport=measurement.approval_underreport,
        incidence_threshold=0.03,
    )
    return scenario, pop, expected


IMPERFECT = Measurement(sensitivity=0.92, specificity=0.995)
IMPERFECT_OFFICIAL = Measurement(
    sensitivity=0.95,
    specificity=0.998,
    approval_overreport=0.02,
    approval_underreport=0.01,
)

CASES = {
    "SRS without replacement (hypergeometric), p ~ 0.5": (
        lambda: omission_only(380, replace=False),
        (0.4, 0.6),
    ),
    "SRS with replacement (binomial), p ~ 0.95": (
        lambda: omission_only(215, replace=True),
        (0.9, 0.99),
    ),
    "SRS with misclassification (Rogan-Gladen), p ~ 0.05": (
        lambda: omission_only(580, replace=False, measurement=IMPERFECT),
        (0.02, 0.1),
    ),
    "official rule, stratified SRS, p ~ 0.5": (
        lambda: official_stratified(100, 200, 0),
        (0.4, 0.6),
    ),
    "official rule, stratified SRS, misclassified, p ~ 0.95": (
        lambda: official_stratified(50, 120, 1000, IMPERFECT_OFFICIAL),
        (0.9, 0.99),
    ),
    "official rule, stratified SRS, misclassified, p ~ 0.05": (
        lambda: official_stratified(130, 330, 2300, IMPERFECT_OFFICIAL),
        (0.02, 0.1),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_engine_matches_exact_within_4_mcse(name):
    build, (low, high) = CASES[name]
    scenario, pop, expected = build()
    assert low < expected < high, f"scenario set-up: exact p_pass {expected:.4f}"
    ds = simulate(scenario, checks=CHECKS, seed=20181, population=pop)
    z = z_score(ds.p_pass, ds.p_pass_mcse, expected)
    print(
        f"\n| {name} | {expected:.5f} | {float(ds.p_pass):.5f} | "
        f"{float(ds.p_pass_mcse):.5f} | {z:+.2f} |"
    )
    assert abs(z) <= 4


def test_exact_fast_path_agrees_with_simulation():
    scenario, pop, expected = official_stratified(100, 200, 500, IMPERFECT_OFFICIAL)
    fast = simulate(scenario, checks=10, seed=1, population=pop, method="exact")
    assert fast.attrs["method"] == "exact"
    assert float(fast.p_pass) == pytest.approx(expected, abs=1e-12)
    assert float(fast.p_pass_mcse) == 0.0
    sim = simulate(scenario, checks=200_000, seed=2, population=pop)
    assert sim.attrs["method"] == "simulation"
    for name in ("estimate_mean", "estimate_sd"):
        for ind in fast.indicator.values:
            z = z_score(
                sim[name].sel(indicator=ind),
                sim[f"{name}_mcse"].sel(indicator=ind),
                float(fast[name].sel(indicator=ind)),
            )
            assert abs(z) <= 4, (name, ind, z)
    assert np.isnan(float(fast.p_flip.sel(k=1)))
    auto = simulate(scenario, checks=10, seed=1, population=pop, method="auto")
    assert auto.attrs["method"] == "exact"


def test_exact_fast_path_refused_where_no_closed_form():
    two_stage = Scenario(design=Design.two_stage())
    with pytest.raises(ValueError, match="method='exact'"):
        simulate(two_stage, checks=10, seed=1, method="exact")
    auto = simulate(two_stage, checks=1024, seed=1, method="auto")
    assert auto.attrs["method"] == "simulation"
    with pytest.raises(ValueError, match="method"):
        simulate(two_stage, checks=10, seed=1, method="closed")
