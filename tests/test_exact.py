"""Tests for povsim.exact: exact oracles against SciPy, brute force and Monte Carlo."""

from __future__ import annotations

import doctest
import functools
import itertools
import math
import re
from collections import defaultdict
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import povsim.exact as exact
from povsim.exact import (
    OfficialIndicatorPassProbabilities,
    Plan,
    accept_probability,
    beta_binomial_accept_probability,
    find_plan,
    kish_accept_probability,
    kish_design_effect,
    official_indicator_pass_probabilities,
    official_pass_probability,
)


def test_docstring_examples_are_real_output():
    result = doctest.testmod(exact, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------------------
# accept_probability
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n, c, p", [(1, 0, 0.3), (50, 1, 0.02), (1000, 20, 0.013), (80, 80, 0.5)])
def test_binomial_matches_scipy(n, c, p):
    assert accept_probability(n, c, p) == pytest.approx(stats.binom.cdf(c, n, p), rel=1e-14)


@pytest.mark.parametrize(
    "population, n, c, p",
    [(10, 4, 1, 0.3), (200, 50, 1, 0.02), (15000, 500, 9, 0.003), (70000, 5000, 60, 0.01)],
)
def test_hypergeometric_matches_scipy(population, n, c, p):
    defects = round(p * population)
    expected = stats.hypergeom.cdf(c, population, defects, n)
    got = accept_probability(n, c, p, population=population)
    assert got == pytest.approx(expected, rel=1e-11)


def test_hypergeometric_matches_exact_rational_arithmetic():
    population, n, c, defects = 10**6, 30, 2, 10**4
    exact_value = sum(
        Fraction(math.comb(defects, k) * math.comb(population - defects, n - k))
        for k in range(c + 1)
    ) / math.comb(population, n)
    got = accept_probability(n, c, defects / population, population=population)
    assert abs(Fraction(got) - exact_value) / exact_value < 1e-13


def test_rounding_of_defects_is_nearest_integer_ties_to_even():
    # p * N = 2.5 -> 2 defects (ties to even), 3.5 -> 4.
    assert accept_probability(4, 0, 0.25, population=10) == pytest.approx(
        stats.hypergeom.cdf(0, 10, 2, 4), rel=1e-13
    )
    assert accept_probability(4, 0, 0.35, population=10) == pytest.approx(
        stats.hypergeom.cdf(0, 10, 4, 4), rel=1e-13
    )


def _brute_binomial_recorded(n, c, p, se, sp):
    """Enumerate (true, recorded) for every unit: 4**n outcomes."""
    outcome = [(1, p * se), (0, p * (1 - se)), (1, (1 - p) * (1 - sp)), (0, (1 - p) * sp)]
    total = 0.0
    for combo in itertools.product(outcome, repeat=n):
        if sum(r for r, _ in combo) <= c:
            total += math.prod(q for _, q in combo)
    return total


def _brute_hypergeometric_recorded(population, defects, n, c, se, sp):
    """Enumerate every subset of the lot and every recording outcome."""
    units = [1] * defects + [0] * (population - defects)
    subsets = list(itertools.combinations(range(population), n))
    total = 0.0
    for subset in subsets:
        for recorded in itertools.product((0, 1), repeat=n):
            if sum(recorded) > c:
                continue
            prob = 1.0
            for idx, r in zip(subset, recorded, strict=True):
                q = se if units[idx] else 1 - sp
                prob *= q if r else 1 - q
            total += prob
    return total / len(subsets)


@pytest.mark.parametrize("n, c, p, se, sp", [(5, 1, 0.2, 0.8, 0.9), (4, 2, 0.5, 0.6, 0.7)])
def test_binomial_imperfect_classification_brute_force(n, c, p, se, sp):
    got = accept_probability(n, c, p, sensitivity=se, specificity=sp)
    assert got == pytest.approx(_brute_binomial_recorded(n, c, p, se, sp), abs=1e-13)


@pytest.mark.parametrize(
    "population, n, c, p, se, sp",
    [(8, 4, 1, 0.375, 0.8, 0.9), (9, 5, 2, 0.5, 0.7, 0.85), (7, 3, 0, 0.0, 1.0, 0.9)],
)
def test_hypergeometric_imperfect_classification_brute_force(population, n, c, p, se, sp):
    defects = round(p * population)
    got = accept_probability(n, c, p, population=population, sensitivity=se, specificity=sp)
    expected = _brute_hypergeometric_recorded(population, defects, n, c, se, sp)
    assert got == pytest.approx(expected, abs=1e-13)


def test_imperfect_path_agrees_with_perfect_path_at_se_sp_one():
    got = exact._hyper_imperfect_cdf(15000, 45, 500, [0, 1, 3, 9], 1.0, 1.0)
    for c, value in zip([0, 1, 3, 9], got, strict=True):
        assert value == pytest.approx(stats.hypergeom.cdf(c, 15000, 45, 500), rel=1e-11)


def test_hypergeometric_tends_to_binomial():
    n, c, p = 50, 2, 0.04
    binomial = accept_probability(n, c, p)
    gaps = [abs(accept_probability(n, c, p, population=N) - binomial) for N in (100, 1000, 10**6)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-4


def test_array_p_shape_preserved_and_matches_scalar_calls():
    p = np.array([[0.0, 0.01, 0.02], [0.05, 0.3, 1.0]])
    for kwargs in ({}, {"population": 400, "sensitivity": 0.9, "specificity": 0.97}):
        out = accept_probability(40, 2, p, **kwargs)
        assert isinstance(out, np.ndarray)
        assert out.shape == p.shape
        for idx in np.ndindex(p.shape):
            assert out[idx] == accept_probability(40, 2, float(p[idx]), **kwargs)
    assert isinstance(accept_probability(40, 2, 0.1), float)
    assert isinstance(accept_probability(40, 2, np.float64(0.1), population=100), float)


def test_accept_everything_when_c_equals_n():
    assert accept_probability(7, 7, 0.9) == 1.0
    assert accept_probability(7, 7, 0.9, population=9, sensitivity=0.5, specificity=0.5) == 1.0


@st.composite
def _monotone_case(draw):
    n = draw(st.integers(1, 60))
    c = draw(st.integers(0, n))
    population = draw(st.one_of(st.none(), st.integers(n, 200)))
    se = draw(st.floats(0.0, 1.0))
    sp = draw(st.floats(1.0 - se, 1.0))  # se + sp >= 1: recorded rate non-decreasing in p
    p1 = draw(st.floats(0.0, 1.0))
    p2 = draw(st.floats(p1, 1.0))
    return n, c, population, se, sp, p1, p2


@settings(max_examples=30, deadline=None)
@given(_monotone_case())
def test_accept_probability_non_increasing_in_p(case):
    n, c, population, se, sp, p1, p2 = case
    kwargs = {"population": population, "sensitivity": se, "specificity": sp}
    a1 = accept_probability(n, c, p1, **kwargs)
    a2 = accept_probability(n, c, p2, **kwargs)
    assert 0.0 <= a2 <= 1.0
    assert a2 <= a1 + 1e-12


# --------------------------------------------------------------------------------------
# find_plan
# --------------------------------------------------------------------------------------


def _brute_force_plan(p1, alpha, p2, beta, accept, max_n):
    for n in range(1, max_n + 1):
        cs = np.arange(n + 1)
        f1, f2 = accept(n, cs, p1), accept(n, cs, p2)
        ok = (1.0 - f1 <= alpha) & (f2 <= beta)
        if ok.any():
            return n, int(np.argmax(ok))
    return None


def test_find_plan_textbook_binomial_case_is_minimal():
    plan = find_plan((0.01, 0.05), (0.05, 0.10))
    assert (plan.n, plan.c) == (132, 3)  # the classical AQL 1 % / LTPD 5 % plan

    def accept(n, cs, p):
        return stats.binom.cdf(cs, n, p)

    assert _brute_force_plan(0.01, 0.05, 0.05, 0.10, accept, 200) == (132, 3)


def test_find_plan_hypergeometric_is_minimal():
    plan = find_plan((0.01, 0.05), (0.05, 0.10), population=300)

    def accept(n, cs, p):
        return stats.hypergeom.cdf(cs, 300, round(p * 300), n)

    assert _brute_force_plan(0.01, 0.05, 0.05, 0.10, accept, 300) == (plan.n, plan.c)


def test_find_plan_imperfect_classification_is_minimal():
    kwargs = {"population": 300, "sensitivity": 0.9, "specificity": 0.995}
    plan = find_plan((0.02, 0.05), (0.12, 0.10), **kwargs)

    def accept(n, cs, p):
        return np.array([accept_probability(n, int(c), p, **kwargs) for c in cs])

    assert _brute_force_plan(0.02, 0.05, 0.12, 0.10, accept, plan.n) == (plan.n, plan.c)


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"population": 500}, {"sensitivity": 0.9, "specificity": 0.99}, {"population": 3000}],
)
def test_find_plan_reports_achieved_risks(kwargs):
    plan = find_plan((0.02, 0.05), (0.08, 0.10), **kwargs)
    assert isinstance(plan, Plan)
    accept1 = accept_probability(plan.n, plan.c, 0.02, **kwargs)
    accept2 = accept_probability(plan.n, plan.c, 0.08, **kwargs)
    assert plan.alpha == 1.0 - accept1
    assert plan.beta == accept2
    assert plan.alpha <= 0.05
    assert plan.beta <= 0.10
    if plan.c > 0:  # c is the smallest acceptance number meeting the producer's risk
        assert 1.0 - accept_probability(plan.n, plan.c - 1, 0.02, **kwargs) > 0.05


def test_find_plan_plan_is_frozen():
    plan = find_plan((0.01, 0.05), (0.05, 0.10))
    with pytest.raises(AttributeError):
        plan.n = 1


def test_find_plan_raises_when_no_plan_up_to_max_n():
    with pytest.raises(ValueError, match="no sampling plan with n <= 100"):
        find_plan((0.01, 0.05), (0.05, 0.10), max_n=100)
    with pytest.raises(ValueError, match="no sampling plan with n <= 50"):
        find_plan((0.01, 0.05), (0.05, 0.10), population=1000, max_n=50)
    # 0.01 * 10 and 0.04 * 10 both round to 0 defects: no n can tell the lots apart
    with pytest.raises(ValueError, match="whole lot was searched; p1 and p2 mean 0 and 0"):
        find_plan((0.01, 0.05), (0.04, 0.10), population=10)
    with pytest.raises(ValueError, match="sensitivity \\+ specificity <= 1"):
        find_plan((0.01, 0.05), (0.05, 0.10), sensitivity=0.5, specificity=0.5, max_n=50)


# --------------------------------------------------------------------------------------
# official_pass_probability
# --------------------------------------------------------------------------------------

_TINY = {
    "exited": ((2, 1), (4, 1)),  # 8 households
    "nonregistered": ((1, 1), (5, 2)),  # 9 households
    "remaining": ((0, 0), (4, 2)),  # 6 households
}


def _units(table):
    (pa, pd), (oa, od) = table
    return [(1, 1)] * pa + [(1, 0)] * pd + [(0, 1)] * oa + [(0, 0)] * od


@functools.cache
def _brute_stratum(table, size, replace, flagged, se, sp, over, under):
    """Distribution of (recorded problems, recorded approvals): every draw, every record."""
    units = _units(table)
    if replace:
        draws = list(itertools.product(range(len(units)), repeat=size))
    else:
        draws = list(itertools.combinations(range(len(units)), size))
    dist = defaultdict(float)
    for draw in draws:
        per_unit = []
        for idx in draw:
            problem, approve = units[idx]
            q_flag = (se if problem else 1 - sp) if flagged else 0.0
            q_app = 1 - under if approve else over
            per_unit.append(
                [
                    ((f, a), (q_flag if f else 1 - q_flag) * (q_app if a else 1 - q_app))
                    for f in (0, 1)
                    for a in (0, 1)
                ]
            )
        for combo in itertools.product(*per_unit):
            x = sum(o[0] for o, _ in combo)
            a = sum(o[1] for o, _ in combo)
            dist[(x, a)] += math.prod(q for _, q in combo) / len(draws)
    return dict(dist)


def _brute_official(kw):
    """Apply the rule with the engine's float arithmetic to every combined outcome."""
    args = (kw["replace"], kw["sensitivity"], kw["specificity"])
    misreport = (kw["approval_overreport"], kw["approval_underreport"])
    de = _brute_stratum(kw["exited"], kw["exited_sample"], args[0], True, *args[1:], *misreport)
    dn = _brute_stratum(
        kw["nonregistered"], kw["nonregistered_sample"], args[0], True, *args[1:], *misreport
    )
    dr = _brute_stratum(
        kw["remaining"], kw["remaining_sample"], args[0], False, *args[1:], *misreport
    )
    e_pop = sum(map(sum, kw["exited"]))
    n_pop = sum(map(sum, kw["nonregistered"]))
    r_pop = sum(map(sum, kw["remaining"]))
    p_pop = r_pop + e_pop + n_pop
    s_e, s_n = kw["exited_sample"], kw["nonregistered_sample"]
    total_sample = s_e + s_n + kw["remaining_sample"]
    out = dict.fromkeys(["incidence", "wrongful_exit", "omission", "approval", "all"], 0.0)
    for ((xw, ae), pe), ((xo, an), pn), ((_, ar), pr) in itertools.product(
        de.items(), dn.items(), dr.items()
    ):
        prob = pe * pn * pr
        w = xw / s_e
        o = xo / s_n
        incidence = (r_pop + w * e_pop + o * n_pop) / p_pop
        a = (ae + an + ar) / total_sample
        checks = {
            "incidence": incidence < kw["incidence_threshold"],
            "wrongful_exit": w < kw["wrongful_exit_threshold"],
            "omission": o < kw["omission_threshold"],
            "approval": a > kw["approval_threshold"]
            if kw["approval_strict"]
            else a >= kw["approval_threshold"],
        }
        checks["all"] = all(checks.values())
        for name, passed in checks.items():
            if passed:
                out[name] += prob
    return out


_MEASUREMENTS = {
    "perfect": {"sensitivity": 1.0, "specificity": 1.0},
    "imperfect": {
        "sensitivity": 0.8,
        "specificity": 0.9,
        "approval_overreport": 0.3,
        "approval_underreport": 0.1,
    },
}


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("measurement", sorted(_MEASUREMENTS))
@pytest.mark.parametrize("strict", [False, True])
def test_official_matches_brute_force_enumeration(replace, measurement, strict):
    sizes = (4, 3, 3) if not replace else (3, 3, 2)
    kw = {
        **_TINY,
        "exited_sample": sizes[0],
        "nonregistered_sample": sizes[1],
        "remaining_sample": sizes[2],
        "replace": replace,
        "sensitivity": 1.0,
        "specificity": 1.0,
        "approval_overreport": 0.0,
        "approval_underreport": 0.0,
        "incidence_threshold": 0.45,
        # ties on purpose: 1/4 < 0.25 is False, 6/10 >= 0.6 is True, 6/10 > 0.6 False
        "wrongful_exit_threshold": 0.25 if not replace else 0.34,
        "omission_threshold": 0.34,
        "approval_threshold": 0.6,
        "approval_strict": strict,
        **_MEASUREMENTS[measurement],
    }
    got = official_indicator_pass_probabilities(**kw)
    expected = _brute_official(kw)
    for name, value in expected.items():
        assert getattr(got, name) == pytest.approx(value, abs=1e-12), name
    assert official_pass_probability(**kw) == got.all
    assert 0.0 < got.all < 1.0


_REALISTIC = {
    "exited": [[30, 15], [14200, 755]],
    "exited_sample": 500,
    "nonregistered": [[100, 40], [66500, 3360]],
    "nonregistered_sample": 480,
    "remaining": [[0, 0], [285, 15]],
    "remaining_sample": 20,
}


def _largest_passing_count(size, threshold):
    return max(x for x in range(size + 1) if x / size < threshold)


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("se, sp", [(1.0, 1.0), (0.9, 0.99)])
def test_official_independence_when_approval_and_incidence_always_pass(replace, se, sp):
    kw = {**_REALISTIC, "replace": replace, "sensitivity": se, "specificity": sp}
    # approval >= 0 always holds; incidence < 1 holds whenever w and o pass.
    got = official_indicator_pass_probabilities(
        **kw, approval_threshold=0.0, incidence_threshold=1.0
    )
    assert got.approval == pytest.approx(1.0, abs=1e-13)
    assert got.all == pytest.approx(got.wrongful_exit * got.omission, rel=1e-12)

    for stratum, size, rate in (
        ("exited", "exited_sample", "wrongful_exit"),
        ("nonregistered", "nonregistered_sample", "omission"),
    ):
        table = np.asarray(kw[stratum])
        total = int(table.sum())
        expected = accept_probability(
            kw[size],
            _largest_passing_count(kw[size], 0.02),
            table[0].sum() / total,
            population=None if replace else total,
            sensitivity=se,
            specificity=sp,
        )
        assert getattr(got, rate) == pytest.approx(expected, rel=1e-11)


def test_official_approval_marginal_matches_convolution():
    got = official_indicator_pass_probabilities(**_REALISTIC)
    pmf = np.ones(1)
    for stratum, size in (
        ("exited", "exited_sample"),
        ("nonregistered", "nonregistered_sample"),
        ("remaining", "remaining_sample"),
    ):
        table = np.asarray(_REALISTIC[stratum])
        n = _REALISTIC[size]
        approving = int(table[:, 0].sum())
        pmf = np.convolve(pmf, stats.hypergeom.pmf(np.arange(n + 1), table.sum(), approving, n))
    total = len(pmf) - 1
    passing = (np.arange(total + 1) / total) >= 0.9
    assert got.approval == pytest.approx(pmf[passing].sum(), abs=1e-12)


def test_official_approval_marginal_with_misreporting_and_replacement():
    over, under = 0.05, 0.02
    got = official_indicator_pass_probabilities(
        **_REALISTIC,
        replace=True,
        approval_overreport=over,
        approval_underreport=under,
        approval_threshold=0.95,
        approval_strict=True,
    )
    pmf = np.ones(1)
    for stratum, size in (
        ("exited", "exited_sample"),
        ("nonregistered", "nonregistered_sample"),
        ("remaining", "remaining_sample"),
    ):
        table = np.asarray(_REALISTIC[stratum])
        n = _REALISTIC[size]
        share = table[:, 0].sum() / table.sum()
        q = share * (1 - under) + (1 - share) * over
        pmf = np.convolve(pmf, stats.binom.pmf(np.arange(n + 1), n, q))
    total = len(pmf) - 1
    passing = (np.arange(total + 1) / total) > 0.95
    assert got.approval == pytest.approx(pmf[passing].sum(), abs=1e-12)


def test_official_realistic_invariants():
    got = official_indicator_pass_probabilities(
        **_REALISTIC,
        sensitivity=0.9,
        specificity=0.99,
        approval_overreport=0.05,
        approval_underreport=0.02,
    )
    assert isinstance(got, OfficialIndicatorPassProbabilities)
    marginals = (got.incidence, got.wrongful_exit, got.omission, got.approval)
    assert all(0.0 <= value <= 1.0 for value in marginals)
    assert got.all <= min(marginals) + 1e-15
    assert got.all >= 1.0 - sum(1.0 - value for value in marginals) - 1e-12
    assert 0.0 <= got.truncation_error <= 1.2e-14
    with pytest.raises(AttributeError):
        got.all = 0.5


def test_official_remaining_sample_zero_and_perfect_pass():
    got = official_indicator_pass_probabilities(
        exited=[[0, 0], [50, 0]],
        exited_sample=10,
        nonregistered=[[0, 0], [100, 0]],
        nonregistered_sample=10,
        remaining=[[0, 0], [0, 0]],
        remaining_sample=0,
    )
    assert (got.incidence, got.wrongful_exit, got.omission, got.approval, got.all) == (
        1.0,
        1.0,
        1.0,
        1.0,
        1.0,
    )


# --------------------------------------------------------------------------------------
# Cluster designs
# --------------------------------------------------------------------------------------


def test_kish_design_effect():
    assert kish_design_effect(1, 0.7) == 1.0
    assert kish_design_effect(40, 0.0) == 1.0
    assert kish_design_effect(40, 0.05) == pytest.approx(2.95)
    assert kish_design_effect(12.5, 1.0) == 12.5


@pytest.mark.parametrize("se, sp", [(1.0, 1.0), (0.9, 0.98)])
def test_kish_accept_probability_is_binomial_without_clustering(se, sp):
    p = np.array([0.0, 0.01, 0.05, 0.2, 1.0])
    p_star = p * se + (1 - p) * (1 - sp)
    expected = stats.binom.cdf(12, 400, p_star)
    for kwargs in ({"cluster_size": 40, "icc": 0.0}, {"cluster_size": 1, "icc": 0.3}):
        got = kish_accept_probability(400, 12, p, sensitivity=se, specificity=sp, **kwargs)
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-300)


def test_kish_accept_probability_properties():
    assert kish_accept_probability(100, 100, 0.5, cluster_size=10, icc=0.2) == 1.0
    # fewer effective units flatten the OC curve: lower below c/n = 0.02, higher above it
    srs, clustered = (
        kish_accept_probability(1000, 20, [0.01, 0.03], cluster_size=40, icc=icc)
        for icc in (0.0, 0.05)
    )
    assert clustered[0] < srs[0] < 1.0
    assert 0.0 < srs[1] < clustered[1]


@pytest.mark.parametrize("se, sp", [(1.0, 1.0), (0.9, 0.98)])
def test_beta_binomial_icc_zero_is_binomial(se, sp):
    p = np.array([0.0, 0.01, 0.05, 1.0])
    p_star = p * se + (1 - p) * (1 - sp)
    got = beta_binomial_accept_probability(25, 40, 15, p, 0.0, sensitivity=se, specificity=sp)
    np.testing.assert_allclose(got, stats.binom.cdf(15, 1000, p_star), rtol=1e-14)


def test_beta_binomial_cluster_size_one_is_binomial():
    for icc in (0.05, 0.5, 0.99):
        got = beta_binomial_accept_probability(60, 1, 4, 0.05, icc)
        assert got == pytest.approx(stats.binom.cdf(4, 60, 0.05), rel=1e-12)


def test_beta_binomial_single_cluster_matches_scipy_and_limits():
    p, icc, m = 0.1, 0.2, 30
    scale = 1 / icc - 1
    expected = stats.betabinom.cdf(5, m, p * scale, (1 - p) * scale)
    assert beta_binomial_accept_probability(1, m, 5, p, icc) == pytest.approx(expected, rel=1e-10)
    # icc = 1: each cluster is all defects or none.
    assert beta_binomial_accept_probability(8, 10, 25, 0.3, 1.0) == pytest.approx(
        stats.binom.cdf(2, 8, 0.3), rel=1e-14
    )
    # continuity at icc -> 0, where scipy.stats.betabinom itself drifts
    near = beta_binomial_accept_probability(25, 40, 15, 0.01, 1e-10)
    assert near == pytest.approx(stats.binom.cdf(15, 1000, 0.01), abs=1e-7)
    assert beta_binomial_accept_probability(3, 4, 12, 0.5, 0.3) == 1.0


def test_beta_binomial_matches_monte_carlo():
    clusters, size, c, p, icc, se, sp = 10, 20, 12, 0.04, 0.1, 0.9, 0.98
    exact_value = beta_binomial_accept_probability(
        clusters, size, c, p, icc, sensitivity=se, specificity=sp
    )
    draws = 200_000
    rng = np.random.default_rng(20180702)
    p_star = p * se + (1 - p) * (1 - sp)
    scale = 1 / icc - 1
    rates = rng.beta(p_star * scale, (1 - p_star) * scale, size=(draws, clusters))
    totals = rng.binomial(size, rates).sum(axis=1)
    p_hat = np.mean(totals <= c)
    mcse = math.sqrt(exact_value * (1 - exact_value) / draws)
    assert abs(p_hat - exact_value) <= 4 * mcse


# --------------------------------------------------------------------------------------
# Validation: every public function names the parameter and the allowed range
# --------------------------------------------------------------------------------------

_NAN = float("nan")
_OFFICIAL_OK = {**_TINY, "exited_sample": 4, "nonregistered_sample": 3, "remaining_sample": 3}

_INVALID = [
    # accept_probability
    (accept_probability, (10, 1, _NAN), {}, "p"),
    (accept_probability, (10, 1, 1.5), {}, "p"),
    (accept_probability, (10, 1, [0.1, -0.1]), {}, "p"),
    (accept_probability, (-1, 0, 0.1), {}, "n"),
    (accept_probability, (2.5, 0, 0.1), {}, "n"),
    (accept_probability, (10, 11, 0.1), {}, "c"),
    (accept_probability, (10, 1.5, 0.1), {}, "c"),
    (accept_probability, (10, 1, 0.1), {"population": 5}, "n"),
    (accept_probability, (10, 1, 0.1), {"population": -3}, "population"),
    (accept_probability, (10, 1, 0.1), {"sensitivity": 1.1}, "sensitivity"),
    (accept_probability, (10, 1, 0.1), {"specificity": _NAN}, "specificity"),
    # find_plan
    (find_plan, ((0.05, 0.05), (0.05, 0.1)), {}, "p1"),
    (find_plan, ((0.06, 0.05), (0.05, 0.1)), {}, "p1"),
    (find_plan, ((_NAN, 0.05), (0.05, 0.1)), {}, "p1"),
    (find_plan, ((0.01, 1.5), (0.05, 0.1)), {}, "alpha"),
    (find_plan, ((0.01, 0.05), (0.05, 0.0)), {}, "beta"),
    (find_plan, ((0.01, 0.05), (1.05, 0.1)), {}, "p2"),
    (find_plan, (0.01, (0.05, 0.1)), {}, "producer"),
    (find_plan, ((0.01, 0.05, 0.1), (0.05, 0.1)), {}, "producer"),
    (find_plan, ((0.01, 0.05), (0.05, 0.1)), {"max_n": 0}, "max_n"),
    (find_plan, ((0.01, 0.05), (0.05, 0.1)), {"max_n": 10.5}, "max_n"),
    (find_plan, ((0.01, 0.05), (0.05, 0.1)), {"population": -1}, "population"),
    (find_plan, ((0.01, 0.05), (0.05, 0.1)), {"sensitivity": -0.1}, "sensitivity"),
    # kish_design_effect
    (kish_design_effect, (0.5, 0.1), {}, "cluster_size"),
    (kish_design_effect, (10, 1.2), {}, "icc"),
    (kish_design_effect, (10, _NAN), {}, "icc"),
    # beta_binomial_accept_probability
    (beta_binomial_accept_probability, (0, 10, 1, 0.1, 0.1), {}, "clusters"),
    (beta_binomial_accept_probability, (5, 2.5, 1, 0.1, 0.1), {}, "cluster_size"),
    (beta_binomial_accept_probability, (5, 10, 51, 0.1, 0.1), {}, "c"),
    (beta_binomial_accept_probability, (5, 10, -1, 0.1, 0.1), {}, "c"),
    (beta_binomial_accept_probability, (5, 10, 1, -0.1, 0.1), {}, "p"),
    (beta_binomial_accept_probability, (5, 10, 1, 0.1, _NAN), {}, "icc"),
    (beta_binomial_accept_probability, (5, 10, 1, 0.1, 0.1), {"specificity": 2}, "specificity"),
    # kish_accept_probability
    (kish_accept_probability, (0, 0, 0.1), {"cluster_size": 5, "icc": 0.1}, "n"),
    (kish_accept_probability, (10, 11, 0.1), {"cluster_size": 5, "icc": 0.1}, "c"),
    (kish_accept_probability, (10, 1, _NAN), {"cluster_size": 5, "icc": 0.1}, "p"),
    (kish_accept_probability, (10, 1, 0.1), {"cluster_size": 0.9, "icc": 0.1}, "cluster_size"),
    (kish_accept_probability, (10, 1, 0.1), {"cluster_size": 5, "icc": 2.0}, "icc"),
    # official_pass_probability (and the indicator variant, below)
    (official_pass_probability, (), {**_OFFICIAL_OK, "exited": [[1, 2], [3]]}, "exited"),
    (official_pass_probability, (), {**_OFFICIAL_OK, "exited": [[1, -2], [3, 4]]}, "exited[0][1]"),
    (
        official_pass_probability,
        (),
        {**_OFFICIAL_OK, "nonregistered": [[1, 0.5], [3, 4]]},
        "nonregistered[0][1]",
    ),
    (
        official_pass_probability,
        (),
        {**_OFFICIAL_OK, "remaining": [[1, 0], [4, 2]]},
        "remaining[0]",
    ),
    (official_pass_probability, (), {**_OFFICIAL_OK, "exited_sample": 9}, "exited_sample"),
    (official_pass_probability, (), {**_OFFICIAL_OK, "exited_sample": 0}, "exited_sample"),
    (
        official_pass_probability,
        (),
        {**_OFFICIAL_OK, "nonregistered_sample": -1},
        "nonregistered_sample",
    ),
    (official_pass_probability, (), {**_OFFICIAL_OK, "remaining_sample": 2.5}, "remaining_sample"),
    (
        official_pass_probability,
        (),
        {**_OFFICIAL_OK, "remaining": [[0, 0], [0, 0]], "replace": True},
        "remaining_sample",
    ),
    (official_pass_probability, (), {**_OFFICIAL_OK, "replace": "yes"}, "replace"),
    (official_pass_probability, (), {**_OFFICIAL_OK, "sensitivity": _NAN}, "sensitivity"),
    (official_pass_probability, (), {**_OFFICIAL_OK, "specificity": 1.01}, "specificity"),
    (
        official_pass_probability,
        (),
        {**_OFFICIAL_OK, "approval_overreport": -0.1},
        "approval_overreport",
    ),
    (
        official_pass_probability,
        (),
        {**_OFFICIAL_OK, "approval_underreport": 1.5},
        "approval_underreport",
    ),
    (
        official_pass_probability,
        (),
        {**_OFFICIAL_OK, "incidence_threshold": 3.0},
        "incidence_threshold",
    ),
    (
        official_pass_probability,
        (),
        {**_OFFICIAL_OK, "wrongful_exit_threshold": _NAN},
        "wrongful_exit_threshold",
    ),
    (
        official_pass_probability,
        (),
        {**_OFFICIAL_OK, "omission_threshold": -0.02},
        "omission_threshold",
    ),
    (
        official_pass_probability,
        (),
        {**_OFFICIAL_OK, "approval_threshold": 90},
        "approval_threshold",
    ),
    (official_pass_probability, (), {**_OFFICIAL_OK, "approval_strict": 1}, "approval_strict"),
]


@pytest.mark.parametrize(
    "func, args, kwargs, name",
    _INVALID,
    ids=[f"{f.__name__}-{name}-{i}" for i, (f, _, _, name) in enumerate(_INVALID)],
)
def test_invalid_inputs_raise_value_error_naming_the_parameter(func, args, kwargs, name):
    with pytest.raises(ValueError, match=re.escape(name)):
        func(*args, **kwargs)


def test_official_indicator_variant_validates_too():
    with pytest.raises(ValueError, match="exited_sample"):
        official_indicator_pass_probabilities(**{**_OFFICIAL_OK, "exited_sample": 9})


@pytest.mark.parametrize("tiny", [5e-324, 2.2250738585072014e-308, 1e-305])
def test_subnormal_probabilities_do_not_overflow(tiny):
    # scipy's binomial overflowed on subnormal probabilities (found by hypothesis)
    for population in (None, 4, 10):
        for se, sp in ((tiny, 1.0), (1.0, 1.0 - tiny), (tiny, 0.0)):
            out = exact.accept_probability(
                4, 1, [0.0, 0.5, 1.0], population=population, sensitivity=se, specificity=sp
            )
            assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 1))
            if se >= 1.0 - sp:  # recorded defects then rise with p
                assert np.all(np.diff(out) <= 1e-12)
