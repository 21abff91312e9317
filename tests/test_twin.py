"""The numba engine against its plain-NumPy twin (povsim._twin), within Monte Carlo error.

Every comparison is ``|a - b| <= 4 * sqrt(mcse_a**2 + mcse_b**2)`` (STYLE.md, rule 8).
For proportions the two MCSEs are also taken at the pooled proportion (the usual
two-sample test), and the larger tolerance is used: a rare event seen 0 times in
the twin's few checks has a plug-in MCSE of 0, which would otherwise make the
tolerance too tight.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import povsim
from povsim import County, Design, Measurement, ReviewStage, Rule, Scenario
from povsim._engine import rule as engine_rule
from povsim._twin import TwinRule, simulate_twin, verdict_margin_twin

ENGINE_CHECKS = 40_000  # for the headline scenario; the engine's MCSE is then negligible

MEASUREMENT = Measurement(
    sensitivity=0.9,
    specificity=0.99,
    team_sd=0.6,
    teams=4,
    review=(ReviewStage("enumerator pair", 0.97, 0.6), ReviewStage("county rebuttal", 0.95, 0.4)),
    approval_overreport=0.03,
    approval_underreport=0.02,
)

SMALL_COUNTY = County(
    villages=50,
    poor_village_share=0.4,
    households_per_village=(40, 120),
    registered_share_poor=0.4,
    registered_share_nonpoor=0.15,
    wrongful_exit_rate=0.011,
    omission_rate=0.009,
    approval_rate=0.94,
    icc_wrongful_exit=0.05,
    icc_omission=0.05,
    icc_approval=0.05,
)

# name -> (scenario, engine checks, twin checks)
SCENARIOS = {
    # (a) the required one: two-stage, imperfect teams, review chain, approval misreporting
    "two_stage": (
        Scenario(
            county=SMALL_COUNTY,
            design=Design.two_stage(240, 12, poor_village_share=0.6, registered_share=0.5),
            measurement=MEASUREMENT,
        ),
        ENGINE_CHECKS,
        4000,
    ),
    # (b) stratified SRS, pass only if the Wilson upper bounds clear the thresholds
    "stratified_wilson_upper": (
        Scenario(
            county=County(
                villages=40,
                households_per_village=(40, 120),
                wrongful_exit_rate=0.005,
                omission_rate=0.005,
            ),
            design=Design.stratified(300, registered_share=0.5),
            measurement=Measurement(sensitivity=0.95, specificity=0.998),
            rule=Rule(method="upper_bound", bound="wilson", confidence=0.9),
        ),
        40_000,
        2500,
    ),
    # (c) SRS with replacement, fail only if a Clopper-Pearson lower bound reaches a threshold
    "srs_replace_cp_lower": (
        Scenario(
            county=County(
                villages=40,
                households_per_village=(40, 120),
                wrongful_exit_rate=0.03,
                omission_rate=0.021,
                approval_rate=0.9,
            ),
            design=Design.srs(300, replace=True),
            measurement=Measurement(sensitivity=0.95, specificity=0.995, approval_underreport=0.01),
            rule=Rule(method="lower_bound", bound="clopper_pearson", incidence=0.5),
        ),
        10_000,  # the engine's Clopper-Pearson bisection is the slow part here
        2500,
    ),
    # (d) a fresh population for every check, two-stage
    "fresh_two_stage": (
        Scenario(
            county=SMALL_COUNTY,
            design=Design.two_stage(240, 12, poor_village_share=0.6, registered_share=0.5),
            measurement=MEASUREMENT,
            population="fresh",
        ),
        10_000,
        1500,
    ),
}


def _z(a, mcse_a, b, mcse_b, pooled=None):
    """Standardised difference (0 when both are exact and equal; inf when they differ)."""
    se = math.sqrt(mcse_a**2 + mcse_b**2)
    if pooled is not None:
        se = max(se, pooled)
    if se == 0.0:
        return 0.0 if a == b else math.inf
    return abs(a - b) / se


def _pooled_se(p_a, n_a, p_b, n_b):
    if n_a <= 0 or n_b <= 0:
        return None
    p = (p_a * n_a + p_b * n_b) / (n_a + n_b)
    return math.sqrt(p * (1.0 - p) * (1.0 / n_a + 1.0 / n_b))


def compare(engine, twin):
    """Every compared quantity as ``name -> (engine, twin, z)``."""
    out = {}
    r_a, r_b = engine.attrs["checks"], twin.attrs["checks"]
    fail_a = r_a * (1.0 - float(engine.p_pass))
    fail_b = r_b * (1.0 - float(twin.p_pass))
    true_a, true_b = r_a * float(engine.p_true_pass), r_b * float(twin.p_true_pass)
    props = [("p_pass", None, r_a, r_b), ("p_true_pass", None, r_a, r_b)]
    props += [("false_pass", None, r_a - true_a, r_b - true_b)]
    props += [("false_fail", None, true_a, true_b)]
    props += [("p_flip", {"k": k}, r_a, r_b) for k in engine.k.values]
    props += [("fail_share", {"indicator": i}, fail_a, fail_b) for i in engine.indicator.values]
    for name, sel, n_a, n_b in props:
        a_var, b_var = engine[name], twin[name]
        a_se, b_se = engine[f"{name}_mcse"], twin[f"{name}_mcse"]
        if sel is not None:
            a_var, b_var, a_se, b_se = (x.sel(sel) for x in (a_var, b_var, a_se, b_se))
        a, b = float(a_var), float(b_var)
        if math.isnan(a) and math.isnan(b):
            continue  # undefined in both (e.g. false_fail for a population that truly fails)
        assert not (math.isnan(a) or math.isnan(b)), f"{name} {sel}: {a} vs {b}"
        pooled = _pooled_se(a, round(n_a), b, round(n_b))
        label = name if sel is None else f"{name}[{next(iter(sel.values()))}]"
        out[label] = (a, b, _z(a, float(a_se), b, float(b_se), pooled))
    for name in ("estimate_mean", "true_value"):
        for ind in engine.indicator.values:
            a = float(engine[name].sel(indicator=ind))
            b = float(twin[name].sel(indicator=ind))
            a_se = float(engine[f"{name}_mcse"].sel(indicator=ind))
            b_se = float(twin[f"{name}_mcse"].sel(indicator=ind))
            out[f"{name}[{ind}]"] = (a, b, _z(a, a_se, b, b_se))
    return out


@pytest.fixture(scope="module")
def engine_warm():
    """Compile the engine once (the first call pays numba's compilation)."""
    povsim.simulate(SCENARIOS["two_stage"][0], checks=1, seed=0)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_engine_agrees_with_twin(name, engine_warm):
    scenario, engine_checks, twin_checks = SCENARIOS[name]
    engine = povsim.simulate(scenario, checks=engine_checks, seed=11)
    twin = simulate_twin(scenario, checks=twin_checks, seed=12)
    assert set(engine.data_vars) == set(twin.data_vars)
    results = compare(engine, twin)
    bad = {k: v for k, v in results.items() if not v[2] <= 4.0}
    assert not bad, f"{name}: engine vs twin beyond 4 MCSE: {bad}"


def test_headline_scenario_is_informative(engine_warm):
    scenario = SCENARIOS["two_stage"][0]
    ds = povsim.simulate(scenario, checks=ENGINE_CHECKS, seed=11)
    assert 0.2 <= float(ds.p_pass) <= 0.8
    flip = ds.p_flip.values
    assert 0.05 < flip[0] < 0.95 and flip[1] < 0.99


def test_twin_validates_like_simulate():
    scenario = SCENARIOS["two_stage"][0]
    with pytest.raises(ValueError, match="checks"):
        simulate_twin(scenario, checks=0, seed=1)
    with pytest.raises(ValueError, match="seed"):
        simulate_twin(scenario, checks=1, seed=-1)
    with pytest.raises(ValueError, match="scenario"):
        simulate_twin("official", checks=1, seed=1)
    with pytest.raises(ValueError, match="population"):
        simulate_twin(SCENARIOS["fresh_two_stage"][0], checks=1, seed=1, population=object())


# -- the verdict margin, case by case --------------------------------------------------------
def _random_rule(rng):
    method = ("point", "upper_bound", "lower_bound")[rng.integers(3)]
    return Rule(
        incidence=float(rng.uniform(0.02, 0.4)),
        wrongful_exit=float(rng.uniform(0.01, 0.4)),
        omission=float(rng.uniform(0.01, 0.4)),
        approval=float(rng.uniform(0.4, 0.95)),
        approval_strict=bool(rng.integers(2)),
        method=method,
        bound=("wilson", "clopper_pearson")[rng.integers(2)],
        confidence=float(rng.uniform(0.6, 0.99)),
        guard_band=float(rng.choice([0.0, rng.uniform(-0.02, 0.02)])),
        design_effect=float(rng.choice([1.0, rng.uniform(1.0, 2.5)])),
    )


def _engine_margin(rule, sizes_w, flags_w, sizes_o, flags_o, x_a, n_a, totals):
    max_size = 8
    hist = [np.zeros(max_size + 1, np.int64) for _ in range(4)]
    for s, f in zip(sizes_w, flags_w, strict=True):
        hist[0 if f else 1][s] += 1
    for s, f in zip(sizes_o, flags_o, strict=True):
        hist[2 if f else 3][s] += 1
    r, e, n = totals
    params = rule._engine_params("western")
    return int(
        engine_rule.verdict_margin(
            int(sizes_w[flags_w].sum()),
            int(sizes_w.sum()),
            int(sizes_o[flags_o].sum()),
            int(sizes_o.sum()),
            x_a,
            n_a,
            *hist,
            r,
            e,
            n,
            params,
            engine_rule.statistic_for(params),
            *engine_rule.margin_scratch(max_size),
        )
    )


def test_margin_matches_engine_on_random_small_cases():
    rng = np.random.default_rng(2018)
    seen = set()
    for _ in range(400):
        rule = _random_rule(rng)
        n_w, n_o = int(rng.integers(0, 25)), int(rng.integers(0, 25))
        n_a = n_w + n_o + int(rng.integers(0, 6))
        sizes_w = rng.integers(1, 9, n_w)
        sizes_o = rng.integers(1, 9, n_o)
        flags_w = rng.random(n_w) < rng.uniform(0.0, 0.4)
        flags_o = rng.random(n_o) < rng.uniform(0.0, 0.4)
        x_a = int(rng.binomial(n_a, rng.uniform(0.5, 1.0)))
        totals = tuple(float(t) for t in rng.integers(0, 5000, 3) + np.array([0, 1, 1]))
        twin = verdict_margin_twin(
            TwinRule(rule, "western"), sizes_w, flags_w, sizes_o, flags_o, x_a, n_a, totals
        )
        engine = _engine_margin(rule, sizes_w, flags_w, sizes_o, flags_o, x_a, n_a, totals)
        assert twin == engine, (rule, sizes_w, flags_w, sizes_o, flags_o, x_a, n_a, totals)
        seen.add((rule.method, twin))
    # the cases exercise every method and a spread of margins
    assert {m for m, _ in seen} == {"point", "upper_bound", "lower_bound"}
    assert len({k for _, k in seen}) >= 6


def test_margin_hand_case():
    # 10 sampled exited households of 4 persons (40 persons); wrongful-exit threshold
    # 0.2 (8 persons); omission, incidence and approval far from their thresholds.
    rule = TwinRule(Rule(wrongful_exit=0.2, incidence=0.9), "western")
    sizes = np.full(10, 4)
    others = (np.zeros(0, np.int64), np.zeros(0, bool), 100, 100, (0.0, 1.0, 1.0))

    def margin(flagged):
        return verdict_margin_twin(rule, sizes, np.arange(10) < flagged, *others)

    assert margin(0) == 2  # pass at 0/40: two added flags reach 8/40
    assert margin(1) == 1  # pass at 4/40: one more reaches 8/40
    assert margin(2) == 1  # fail at 8/40: one removed gives 4/40
    assert margin(3) == 2  # fail at 12/40
