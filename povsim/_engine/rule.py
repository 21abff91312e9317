"""The decision rule and the verdict margin, on sufficient statistics.

A check is summarised by its recorded counts:

``x_w / n_w``  recorded wrongful-exit persons / persons in sampled exited households
``x_o / n_o``  recorded omitted persons / persons in sampled never-registered households
``x_a / n_a``  households answering that they approve / sampled households

and the county's registry totals ``R`` (remaining persons), ``E`` (exited
persons), ``N`` (never-registered persons), ``P = R + E + N``, which carry no
sampling error. The statistic compared with each threshold is the point
estimate (``method = POINT``), or a one-sided confidence bound of it: the upper
bound of the two error rates and the lower bound of approval for
``UPPER_BOUND`` (pass only if the bound clears the threshold), the reverse for
``LOWER_BOUND`` (fail only if the bound is beyond it). Incidence is always
``(R + w * E + o * N) / P`` evaluated at the statistics of ``w`` and ``o``.

Layout of the float rule vector is given by the ``R_*`` constants.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit

POINT = 0
UPPER_BOUND = 1
LOWER_BOUND = 2

WILSON = 0
CLOPPER_PEARSON = 1

R_INCIDENCE = 0
R_WRONGFUL = 1
R_OMISSION = 2
R_APPROVAL = 3
R_STRICT = 4  # 1.0: approval must exceed its threshold; 0.0: reach it
R_METHOD = 5
R_BOUND = 6
R_CONFIDENCE = 7  # one-sided confidence level of the bound
R_Z = 8  # standard normal quantile of R_CONFIDENCE (Wilson)
R_GUARD = 9
R_DEFF = 10
R_NPARAMS = 11

# The same as numpy scalars for compiled calls: a Python int is a literal to numba,
# which would compile a statistic kernel once per side.
UPPER_SIDE = np.int64(UPPER_BOUND)
LOWER_SIDE = np.int64(LOWER_BOUND)

# Bits of the fail mask.
FAIL_INCIDENCE = 1
FAIL_WRONGFUL = 2
FAIL_OMISSION = 4
FAIL_APPROVAL = 8

# Verdict margins are counted up to K_MAX; K_MAX + 1 means "more than K_MAX".
K_MAX = 10


@jit
def _betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < tiny:
        d = tiny
    d = 1.0 / d
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < tiny:
            d = tiny
        c = 1.0 + aa / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < tiny:
            d = tiny
        c = 1.0 + aa / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


@jit
def betainc(a, b, x):
    """Regularised incomplete beta function ``I_x(a, b)`` for ``a, b > 0``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    bt = math.exp(lbt)
    if x < (a + 1.0) / (a + b + 2.0):
        return bt * _betacf(a, b, x) / a
    return 1.0 - bt * _betacf(b, a, 1.0 - x) / b


@jit
def beta_ppf(q, a, b):
    """Quantile of the beta law by bisection on :func:`betainc` (to 1e-13)."""
    lo = 0.0
    hi = 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if betainc(a, b, mid) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13:
            break
    return 0.5 * (lo + hi)


@jit
def bound(x, n, upper, kind, confidence, z, deff):
    """One-sided confidence bound of a proportion ``x / n``.

    ``x`` and ``n`` are divided by the design effect ``deff`` first (Kish's
    effective sample size). Wilson (score) or Clopper–Pearson (exact beta).
    With ``n == 0`` there is no information: the upper bound is 1, the lower 0.
    """
    if n <= 0:
        return 1.0 if upper else 0.0
    xe = x / deff
    ne = n / deff
    if kind == WILSON:
        p = xe / ne
        z2 = z * z
        denom = 1.0 + z2 / ne
        centre = (p + z2 / (2.0 * ne)) / denom
        half = z * math.sqrt(max(p * (1.0 - p) / ne + z2 / (4.0 * ne * ne), 0.0)) / denom
        value = centre + half if upper else centre - half
        return min(1.0, max(0.0, value))
    if upper:
        if xe >= ne:
            return 1.0
        return beta_ppf(confidence, xe + 1.0, ne - xe)
    if xe <= 0.0:
        return 0.0
    return beta_ppf(1.0 - confidence, xe, ne - xe + 1.0)


@jit
def point_statistic(x, n, rule, bound_side):
    """The point estimate ``x / n`` (0 when ``n == 0``); the rule's ``POINT`` method."""
    return x / n if n > 0 else 0.0


@jit
def bound_statistic(x, n, rule, bound_side):
    """The confidence bound of ``x / n`` that the rule's bound method compares.

    ``bound_side`` is ``UPPER_BOUND`` for the error rates and ``LOWER_BOUND`` for
    approval: the upper bound is taken where it equals the rule's method (pass
    only if the bound clears the threshold), the lower bound otherwise.
    """
    return bound(
        x,
        n,
        int(rule[R_METHOD]) == bound_side,
        int(rule[R_BOUND]),
        rule[R_CONFIDENCE],
        rule[R_Z],
        rule[R_DEFF],
    )


def statistic_for(rule):
    """The statistic kernel of a rule vector, :func:`point_statistic` or :func:`bound_statistic`.

    Kernels take it as an argument, so numba compiles the confidence bounds only
    for rules that use them.
    """
    return point_statistic if int(rule[R_METHOD]) == POINT else bound_statistic


@jit(internal=True)
def incidence_of(w, o, totals_r, totals_e, totals_n):
    return (totals_r + w * totals_e + o * totals_n) / (totals_r + totals_e + totals_n)


@jit(internal=True)
def rates_fail_mask(w, o, totals_r, totals_e, totals_n, rule):
    """Fail bits of incidence, wrongful exit and omission for rate statistics ``w``, ``o``."""
    g = rule[R_GUARD]
    mask = 0
    if not (incidence_of(w, o, totals_r, totals_e, totals_n) < rule[R_INCIDENCE] - g):
        mask |= FAIL_INCIDENCE
    if not (w < rule[R_WRONGFUL] - g):
        mask |= FAIL_WRONGFUL
    if not (o < rule[R_OMISSION] - g):
        mask |= FAIL_OMISSION
    return mask


@jit(internal=True)
def approval_fails(a, rule):
    """True when the approval statistic ``a`` misses its threshold."""
    t = rule[R_APPROVAL] + rule[R_GUARD]
    if rule[R_STRICT] != 0.0:
        return not (a > t)
    return not (a >= t)


@jit(internal=True)
def _cumulative_largest(hist, take, out):
    """``out[j]`` = persons in the ``j`` largest households of ``hist`` (-1 past the end)."""
    out[0] = 0
    j = 1
    total = 0
    s = hist.shape[0] - 1
    while j < out.shape[0] and s >= 1:
        if hist[s] > 0 and take[s] < hist[s]:
            take[s] += 1
            total += s
            out[j] = total
            j += 1
        else:
            s -= 1
    while j < out.shape[0]:
        out[j] = -1
        j += 1


@jit
def verdict_margin(
    x_w,
    n_w,
    x_o,
    n_o,
    x_a,
    n_a,
    hist_wf,
    hist_wu,
    hist_of,
    hist_ou,
    totals_r,
    totals_e,
    totals_n,
    rule,
    statistic,
    scratch_take,
    stat_w,
    stat_o,
    cum_w,
    cum_o,
):
    """Smallest number of single-household changes that reverses the verdict.

    A *change* toggles one recorded item of one sampled household: the
    wrongful-exit flag of an exited household, the omission flag of a
    never-registered household, or the approval answer of any household. For a
    passing check the changes add problem flags (to households without one) or
    withdraw approvals; for a failing check they remove problem flags or add
    approvals. Among the same number of flag changes, changing the largest
    households moves every statistic furthest, so the search takes the ``j``
    largest (``hist_*`` are per-size household counts: ``f`` flagged,
    ``u`` unflagged) and tries every split of ``T = 1, 2, ...`` changes between
    the two error rates, plus the approval changes needed.

    Returns the margin in ``1 .. K_MAX``, or ``K_MAX + 1`` if more than ``K_MAX``
    changes (or no possible change) are needed.
    """
    kp1 = K_MAX + 1
    passing = rates_fail_mask(
        statistic(x_w, n_w, rule, UPPER_SIDE),
        statistic(x_o, n_o, rule, UPPER_SIDE),
        totals_r,
        totals_e,
        totals_n,
        rule,
    ) == 0 and not approval_fails(statistic(x_a, n_a, rule, LOWER_SIDE), rule)
    scratch_take[:] = 0
    _cumulative_largest(hist_wu if passing else hist_wf, scratch_take, cum_w)
    scratch_take[:] = 0
    _cumulative_largest(hist_ou if passing else hist_of, scratch_take, cum_o)
    sign = 1 if passing else -1
    for j in range(kp1):
        if cum_w[j] >= 0:
            stat_w[j] = statistic(x_w + sign * cum_w[j], n_w, rule, UPPER_SIDE)
        if cum_o[j] >= 0:
            stat_o[j] = statistic(x_o + sign * cum_o[j], n_o, rule, UPPER_SIDE)
    best = kp1
    if passing:
        for j in range(1, min(K_MAX, x_a) + 1):
            if approval_fails(statistic(x_a - j, n_a, rule, LOWER_SIDE), rule):
                best = j
                break
        for total in range(1, best):
            for jw in range(total + 1):
                jo = total - jw
                if cum_w[jw] < 0 or cum_o[jo] < 0:
                    continue
                if rates_fail_mask(stat_w[jw], stat_o[jo], totals_r, totals_e, totals_n, rule):
                    return total
        return best
    need_a = 0
    while need_a <= K_MAX and approval_fails(statistic(x_a + need_a, n_a, rule, LOWER_SIDE), rule):
        need_a += 1
        if x_a + need_a > n_a:
            return kp1
    if need_a > K_MAX:
        return kp1
    for total in range(0, K_MAX - need_a + 1):
        for jw in range(total + 1):
            jo = total - jw
            if cum_w[jw] < 0 or cum_o[jo] < 0:
                continue
            if rates_fail_mask(stat_w[jw], stat_o[jo], totals_r, totals_e, totals_n, rule) == 0:
                return max(need_a + total, 1)
    return kp1


def margin_scratch(max_size: int) -> tuple[np.ndarray, ...]:
    """Scratch arrays for :func:`verdict_margin` (histograms up to ``max_size`` persons)."""
    return (
        np.zeros(max_size + 1, np.int64),
        np.zeros(K_MAX + 1, np.float64),
        np.zeros(K_MAX + 1, np.float64),
        np.zeros(K_MAX + 1, np.int64),
        np.zeros(K_MAX + 1, np.int64),
    )


@jit
def margin_scratch_jit(max_size):
    """:func:`margin_scratch` inside compiled code."""
    return (
        np.zeros(max_size + 1, np.int64),
        np.zeros(K_MAX + 1, np.float64),
        np.zeros(K_MAX + 1, np.float64),
        np.zeros(K_MAX + 1, np.int64),
        np.zeros(K_MAX + 1, np.int64),
    )
