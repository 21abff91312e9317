"""The exact fast path of :func:`povsim.simulate` (``method="exact"`` or ``"auto"``).

Where the pass probability has a closed form — a fixed population of one-person
households, simple random sampling stratified by registry status (with or
without replacement), independent misclassification (no between-team spread)
and the point rule — :func:`povsim.exact.official_pass_probability` gives
``p_pass`` exactly, and the moments of the estimates follow from the
hypergeometric (or binomial) law of the sampled true counts mixed with the
binomial recording errors. Outputs with no closed form here (the verdict
margin, fail shares, the design effect) are NaN; ``attrs["method"]`` says
``"exact"``.
"""

from __future__ import annotations

import math

import numpy as np

from ._engine import kernel as _k
from .county import EXITED, NONREGISTERED, REMAINING, Population
from .scenario import Scenario


def exact_path_reason(scenario: Scenario, population: Population | None) -> str | None:
    """Return why the exact path does not apply, or None when it does."""
    if scenario.population != "fixed":
        return "the population is fresh for every check"
    if scenario.design.kind != "stratified":
        return f"the design is {scenario.design.kind!r}, not 'stratified'"
    if scenario.measurement.team_sd != 0.0:
        return "enumerator teams differ (team_sd > 0)"
    if scenario.rule.method != "point":
        return f"the rule uses {scenario.rule.method!r} statistics"
    if population is not None and int(population.size.max()) != 1:
        return "households have more than one person"
    if population is None and scenario.county.household_sizes != (1.0,):
        return "households have more than one person"
    return None


def _tables(pop: Population, status: int) -> list[list[int]]:
    sel = pop.status == status
    prob, appr = pop.problem[sel], pop.approve[sel]
    return [
        [int(np.sum(prob & appr)), int(np.sum(prob & ~appr))],
        [int(np.sum(~prob & appr)), int(np.sum(~prob & ~appr))],
    ]


def _count_moments(n, big_n, k, p_hit, p_false, replace):
    """Mean and variance of a recorded count: ``k`` of ``big_n`` units are 'positive'."""
    if n == 0 or big_n == 0:
        return 0.0, 0.0
    frac = k / big_n
    mean_d = n * frac
    var_d = n * frac * (1 - frac)
    if not replace and big_n > 1:
        var_d *= (big_n - n) / (big_n - 1)
    mean = n * p_false + mean_d * (p_hit - p_false)
    var = (
        (p_hit - p_false) ** 2 * var_d
        + mean_d * p_hit * (1 - p_hit)
        + (n - mean_d) * p_false * (1 - p_false)
    )
    return mean, var


def exact_pass_probability(scenario: Scenario, pop: Population, design=None) -> float:
    """Exact P(pass) of ``scenario`` (with ``design`` if given) on the fixed population ``pop``.

    Applies where :func:`exact_path_reason` returns None: stratified SRS of
    one-person households, independent misclassification, the point rule
    (with its guard band and approval strictness).
    """
    from .exact import official_pass_probability

    design = scenario.design if design is None else design
    meas = scenario.measurement
    rule = scenario.rule
    g = rule.guard_band
    tabs = {s: _tables(pop, s) for s in (EXITED, REMAINING, NONREGISTERED)}
    n_e, n_r, n_n = design.allocation(
        pop.stratum_households(EXITED), pop.stratum_households(REMAINING)
    )
    return official_pass_probability(
        exited=tabs[EXITED],
        exited_sample=n_e,
        remaining=tabs[REMAINING],
        remaining_sample=n_r,
        nonregistered=tabs[NONREGISTERED],
        nonregistered_sample=n_n,
        replace=design.replace,
        sensitivity=meas.effective_sensitivity,
        specificity=meas.effective_specificity,
        approval_overreport=meas.approval_overreport,
        approval_underreport=meas.approval_underreport,
        incidence_threshold=rule.incidence_threshold(pop.region) - g,
        wrongful_exit_threshold=rule.wrongful_exit - g,
        omission_threshold=rule.omission - g,
        approval_threshold=rule.approval + g,
        approval_strict=rule.approval_strict,
    )


def exact_dataset(prep, checks_requested: int):
    """Build the result Dataset of the exact path (same variables as a simulation)."""
    from .simulate import summarise

    scenario = prep.scenario
    pop = prep.population
    meas = scenario.measurement
    rule = scenario.rule
    se, sp = meas.effective_sensitivity, meas.effective_specificity
    over, under = meas.approval_overreport, meas.approval_underreport
    tabs = {s: _tables(pop, s) for s in (EXITED, REMAINING, NONREGISTERED)}
    n_e, n_r, n_n = scenario.design.allocation(
        pop.stratum_households(EXITED), pop.stratum_households(REMAINING)
    )
    replace = scenario.design.replace
    p_pass = exact_pass_probability(scenario, pop)
    # a summary with no checks, then the exact values written over it
    ds = summarise(prep, np.zeros(_k.I_NCOUNTS, np.int64), np.zeros(_k.F_NSUMS), 1)
    for name in ds.data_vars:
        if name != "true_value" and name != "true_value_mcse":
            ds[name][...] = np.nan
    truly_passes = pop.verdict(rule)
    ds["p_pass"][...] = p_pass
    ds["p_pass_mcse"][...] = 0.0
    ds["p_true_pass"][...] = float(truly_passes)
    ds["p_true_pass_mcse"][...] = 0.0
    if truly_passes:
        ds["false_fail"][...] = 1.0 - p_pass
        ds["false_fail_mcse"][...] = 0.0
    else:
        ds["false_pass"][...] = p_pass
        ds["false_pass_mcse"][...] = 0.0
    # moments of the estimates
    e_hh = pop.stratum_households(EXITED)
    n_hh = pop.stratum_households(NONREGISTERED)
    w_mean, w_var = _count_moments(n_e, e_hh, sum(tabs[EXITED][0]), se, 1 - sp, replace)
    o_mean, o_var = _count_moments(n_n, n_hh, sum(tabs[NONREGISTERED][0]), se, 1 - sp, replace)
    a_mean = a_var = 0.0
    for s, n_s in ((EXITED, n_e), (REMAINING, n_r), (NONREGISTERED, n_n)):
        t = tabs[s]
        approving = t[0][0] + t[1][0]
        m, v = _count_moments(n_s, pop.stratum_households(s), approving, 1 - under, over, replace)
        a_mean += m
        a_var += v
    n_all = n_e + n_r + n_n
    from ._engine import population as _p

    tot = pop.totals
    big_e, big_n, big_r = (
        tot[_p.T_EXITED_PERSONS],
        tot[_p.T_NONREG_PERSONS],
        tot[_p.T_REMAINING_PERSONS],
    )
    big_p = big_e + big_n + big_r
    w = (w_mean / n_e, w_var / n_e**2) if n_e else (0.0, 0.0)
    o = (o_mean / n_n, o_var / n_n**2) if n_n else (0.0, 0.0)
    a = (a_mean / n_all, a_var / n_all**2)
    inc = (
        (big_r + w[0] * big_e + o[0] * big_n) / big_p,
        (big_e / big_p) ** 2 * w[1] + (big_n / big_p) ** 2 * o[1],
    )
    for ind, (mean, var) in zip(ds.indicator.values, (inc, w, o, a), strict=True):
        ds["estimate_mean"].loc[{"indicator": ind}] = mean
        ds["estimate_sd"].loc[{"indicator": ind}] = math.sqrt(var)
        ds["estimate_mean_mcse"].loc[{"indicator": ind}] = 0.0
        ds["estimate_sd_mcse"].loc[{"indicator": ind}] = 0.0
        truth = float(ds["true_value"].sel(indicator=ind))
        ds["bias"].loc[{"indicator": ind}] = mean - truth
        ds["bias_mcse"].loc[{"indicator": ind}] = 0.0
    ds["sampled_households"][...] = [n_e, n_n, n_all]
    ds.attrs.update(
        method="exact",
        checks=0,
        checks_requested=int(checks_requested),
        note="exact fast path: p_pass and estimate moments in closed form; "
        "margin, fail shares and design effect are not computed (NaN)",
    )
    return ds
