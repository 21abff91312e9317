"""Exact operating characteristics of household spot checks.

Everything here is a closed form or an exact finite sum (pure NumPy/SciPy): the
oracles that the Monte Carlo engine is tested against, plus two clearly labelled
approximations for two-stage designs.

* :func:`accept_probability` and :func:`find_plan`: single-attribute acceptance
  sampling ("accept the lot if at most ``c`` of ``n`` sampled units are recorded
  as defects"), binomial or hypergeometric, with imperfect classification.
* :func:`official_pass_probability` and :func:`official_indicator_pass_probabilities`:
  the exact pass probability of the official 2018 four-indicator exit rule under
  simple random sampling stratified by registry status.
* :func:`kish_design_effect`, :func:`beta_binomial_accept_probability` and
  :func:`kish_accept_probability`: cluster (two-stage) designs.

Conventions. A *recorded* defect is what the enumerator writes down: a true defect
is recorded with probability ``sensitivity`` and a non-defect with probability
``1 - specificity``, independently from unit to unit, so a unit drawn at random
from a population with defect fraction ``p`` is recorded as a defect with the
Rogan–Gladen probability ``p* = p * sensitivity + (1 - p) * (1 - specificity)``.
Functions that take a rate ``p`` accept a scalar (and then return a Python
``float``) or an array (and then return a float array of the same shape).

References
----------
.. [1] Rogan, W. J. & Gladen, B. (1978). Estimating prevalence from the results of
   a screening test. *American Journal of Epidemiology*, 107(1), 71–76.
.. [2] Kish, L. (1965). *Survey Sampling*. New York: Wiley.
.. [3] Dodge, H. F. & Romig, H. G. (1959). *Sampling Inspection Tables: Single and
   Double Sampling* (2nd ed.). New York: Wiley.
.. [4] Pagano, M. & Valadez, J. J. (2010). Commentary: Understanding practical lot
   quality assurance sampling. *International Journal of Epidemiology*, 39(1), 69–71.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from povsim._validate import (
    check_count,
    check_probability,
    check_probability_array,
    check_real,
)

# Probabilities below this are 0 to double precision in every sum here, and scipy's
# binomial (Boost's incomplete beta) overflows on subnormal ones: snap them to 0.
_TINY = 1e-300


def _snap(p):
    p = np.asarray(p, dtype=float)
    return np.where(p < _TINY, 0.0, p)


def _binom_pmf(k, n, p):
    return stats.binom.pmf(k, n, _snap(p))


def _binom_cdf(k, n, p):
    return stats.binom.cdf(k, n, _snap(p))


__all__ = [
    "OfficialIndicatorPassProbabilities",
    "Plan",
    "accept_probability",
    "beta_binomial_accept_probability",
    "find_plan",
    "kish_accept_probability",
    "kish_design_effect",
    "official_indicator_pass_probabilities",
    "official_pass_probability",
]

#: Probability mass (both tails together) that one truncation step may drop in
#: :func:`official_indicator_pass_probabilities`.  At most four steps per stratum and
#: three strata give a worst-case total of ``12 * _TAIL_MASS = 1.2e-14``.
_TAIL_MASS = 1e-15

#: Largest number of matrix elements built at once when summing over true counts.
_BLOCK_ELEMENTS = 1 << 20


# --------------------------------------------------------------------------------------
# Result objects
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A single-sampling plan and its achieved risks.

    Attributes
    ----------
    n : int
        Sample size.
    c : int
        Acceptance number: accept when at most ``c`` defects are recorded.
    alpha : float
        Achieved producer's risk, ``1 - P(accept | p1)``.
    beta : float
        Achieved consumer's risk, ``P(accept | p2)``.
    """

    n: int
    c: int
    alpha: float
    beta: float


@dataclass(frozen=True)
class OfficialIndicatorPassProbabilities:
    """Exact pass probabilities of the official rule and of each of its indicators.

    Attributes
    ----------
    incidence : float
        P(comprehensive poverty incidence < its threshold).
    wrongful_exit : float
        P(wrongful-exit rate < its threshold).
    omission : float
        P(omission rate < its threshold).
    approval : float
        P(public approval reaches its threshold).
    all : float
        P(all four indicators pass), the county's pass probability.
    truncation_error : float
        Probability mass dropped by tail truncation.  Every other field is a lower
        bound on the exact value and exceeds it by at most this amount (plus
        floating-point rounding of order 1e-15); it never exceeds 1.2e-14.
    """

    incidence: float
    wrongful_exit: float
    omission: float
    approval: float
    all: float
    truncation_error: float


# --------------------------------------------------------------------------------------
# Private numerical helpers (arrays and scalars in, arrays out; no validation)
# --------------------------------------------------------------------------------------


def _recorded_rate(p: NDArray[np.float64], se: float, sp: float) -> NDArray[np.float64]:
    """Rogan–Gladen recorded-defect probability, clipped to [0, 1] against rounding."""
    return np.clip(p * se + (1.0 - p) * (1.0 - sp), 0.0, 1.0)


def _as_result(values: ArrayLike, p: NDArray[np.float64]) -> float | NDArray[np.float64]:
    """Return a Python float for 0-d ``p``, else a float array shaped like ``p``."""
    out = np.clip(np.asarray(values, dtype=float), 0.0, 1.0)
    if p.ndim == 0:
        return float(out.reshape(()))
    return out.reshape(p.shape)


def _pmf_from_ratios(ratios: NDArray[np.float64]) -> NDArray[np.float64]:
    """Normalised pmf whose successive ratios ``pmf[k + 1] / pmf[k]`` are ``ratios``.

    Log-space cumulative sum, shifted by its maximum (no overflow), exponentiated and
    normalised; the relative error of each term grows like ``k * eps``.  Terms below
    about 1e-308 of the mode underflow to zero.
    """
    log_pmf = np.concatenate(([0.0], np.cumsum(np.log(ratios))))
    pmf = np.exp(log_pmf - log_pmf.max())
    return pmf / pmf.sum()


def _hypergeom_pmf(total: int, successes: int, draws: int) -> NDArray[np.float64]:
    """Hypergeometric pmf of the successes in ``draws`` draws, over ``0..draws``.

    Uses the exact ratio ``f(k+1)/f(k) = (K-k)(n-k) / ((k+1)(N-K-n+k+1))`` and
    normalises; about 1e-13 relative accuracy, faster and (for lots near 10^6) more
    accurate than ``scipy.stats.hypergeom.pmf``.
    """
    out = np.zeros(draws + 1)
    lo = max(0, draws - (total - successes))
    hi = min(draws, successes)
    if lo == hi:
        out[lo] = 1.0
        return out
    k = np.arange(lo, hi, dtype=float)
    ratios = ((successes - k) * (draws - k)) / ((k + 1.0) * (total - successes - draws + k + 1.0))
    out[lo : hi + 1] = _pmf_from_ratios(ratios)
    return out


def _hypergeom_cdf(total: int, successes: int, draws: int) -> NDArray[np.float64]:
    """Hypergeometric cdf over ``0..draws``; the last entry is exactly 1."""
    cdf = np.minimum(np.cumsum(_hypergeom_pmf(total, successes, draws)), 1.0)
    cdf[-1] = 1.0
    return cdf


def _betabinom_pmf(size: int, a: float, b: float) -> NDArray[np.float64]:
    """Beta-binomial pmf over ``0..size`` for ``a, b > 0`` by the exact ratio recurrence.

    ``scipy.stats.betabinom`` loses accuracy when ``a + b`` is large (ICC near 0):
    its total mass drifts by 1e-6 at ICC 1e-9.  The ratio
    ``f(k+1)/f(k) = (m-k)(k+a) / ((k+1)(m-k-1+b))`` has no such cancellation.
    """
    if size == 0:
        return np.ones(1)
    k = np.arange(size, dtype=float)
    ratios = ((size - k) * (k + a)) / ((k + 1.0) * (size - k - 1.0 + b))
    return _pmf_from_ratios(ratios)


def _recorded_pmf_given_true(true: int, size: int, se: float, sp: float) -> NDArray[np.float64]:
    """Pmf over ``0..size`` of ``Bin(true, se) + Bin(size - true, 1 - sp)``."""
    hits = _binom_pmf(np.arange(true + 1), true, se)
    false_alarms = _binom_pmf(np.arange(size - true + 1), size - true, 1.0 - sp)
    return np.convolve(hits, false_alarms)


def _hyper_imperfect_cdf(
    population: int, defects: int, n: int, cs: Sequence[int], se: float, sp: float
) -> NDArray[np.float64]:
    """P(recorded defects <= c) for each c in ``cs``: hypergeometric sampling, misclassified.

    Exact sum over the true sampled defects ``d ~ Hypergeom(population, defects, n)``
    of ``P(Bin(d, se) + Bin(n - d, 1 - sp) <= c)``, the inner probability being
    ``sum_j binom.pmf(j, d, se) * binom.cdf(c - j, n - d, 1 - sp)``.  Values of ``d``
    whose weight underflows to 0.0 are skipped (they add exactly 0.0).  Each ``c`` is
    computed on its own, so the value does not depend on the other entries of ``cs``.
    """
    weights = _hypergeom_pmf(population, defects, n)
    d = np.flatnonzero(weights)
    weights = weights[d]
    out = np.empty(len(cs))
    for i, c in enumerate(cs):
        if c >= n:
            out[i] = 1.0
            continue
        j = np.arange(min(c, int(d.max())) + 1)
        rows = max(1, _BLOCK_ELEMENTS // len(j))
        inner = np.empty(len(d))
        for start in range(0, len(d), rows):
            dd = d[start : start + rows, None]
            hits = _binom_pmf(j[None, :], dd, se)
            rest = _binom_cdf(c - j[None, :], n - dd, 1.0 - sp)
            inner[start : start + rows] = (hits * rest).sum(axis=1)
        out[i] = min(1.0, max(0.0, float(weights @ inner)))
    return out


def _hyper_accept(
    population: int, defects: int, n: int, cs: Sequence[int], se: float, sp: float
) -> NDArray[np.float64]:
    """P(accept) for each c in ``cs`` under hypergeometric sampling (the one code path)."""
    if se == 1.0 and sp == 1.0:
        return _hypergeom_cdf(population, defects, n)[np.asarray(cs, dtype=np.int64)]
    return _hyper_imperfect_cdf(population, defects, n, cs, se, sp)


def _binom_accept(n: int, cs: Sequence[int], p_star: float) -> NDArray[np.float64]:
    """P(accept) for each c in ``cs`` under binomial sampling (the one code path)."""
    c_arr = np.asarray(cs, dtype=np.int64)
    out = np.asarray(_binom_cdf(c_arr, n, p_star), dtype=float)
    out[c_arr >= n] = 1.0
    return out


def _trim(marginal: NDArray[np.float64], tail: float = _TAIL_MASS) -> tuple[int, int, float]:
    """Smallest index range ``[lo, hi]`` leaving at most ``tail / 2`` mass in each tail.

    Returns ``(lo, hi, dropped)``, ``dropped`` being the mass outside the range.
    """
    half = tail / 2.0
    left = np.cumsum(marginal)
    right = np.cumsum(marginal[::-1])
    lo = int(np.searchsorted(left, half, side="right"))
    k = int(np.searchsorted(right, half, side="right"))
    hi = len(marginal) - 1 - k
    if lo > hi:  # only possible when the total mass is below ``tail``
        return 0, len(marginal) - 1, 0.0
    dropped = (left[lo - 1] if lo > 0 else 0.0) + (right[k - 1] if k > 0 else 0.0)
    return lo, hi, float(dropped)


# --------------------------------------------------------------------------------------
# Acceptance sampling
# --------------------------------------------------------------------------------------


def accept_probability(
    n: int,
    c: int,
    p: ArrayLike,
    *,
    population: int | None = None,
    sensitivity: float = 1.0,
    specificity: float = 1.0,
) -> float | NDArray[np.float64]:
    """Probability that a sample of ``n`` units with at most ``c`` recorded defects is accepted.

    A fraction ``p`` of the units are defects; each sampled unit is recorded as a
    defect with probability ``sensitivity`` if it is one and ``1 - specificity`` if it
    is not, independently.  The lot is accepted when the recorded defects number at
    most ``c``.

    * ``population=None`` (an infinite lot, or sampling with replacement): each unit
      is recorded as a defect with the Rogan–Gladen probability
      ``p* = p * sensitivity + (1 - p) * (1 - specificity)`` [1]_, and the answer is
      ``binom.cdf(c, n, p*)``.
    * ``population=N`` (simple random sampling without replacement from a lot of
      ``N``): the lot holds ``D = rint(p * N)`` defects (nearest integer; an exact
      tie ``p * N = k + 0.5`` rounds to the even integer, as :func:`numpy.rint`
      does), the true sampled defects are ``d ~ Hypergeom(N, D, n)`` and the
      recorded defects are ``Bin(d, sensitivity) + Bin(n - d, 1 - specificity)``.
      The answer is the exact finite sum over ``d``.

    Parameters
    ----------
    n : int
        Sample size, at least 1 (at most ``population`` when it is given).
    c : int
        Acceptance number, ``0 <= c <= n``.
    p : float or array_like of float
        True defect fraction(s), each in [0, 1].
    population : int, optional
        Lot size ``N >= 1`` for sampling without replacement; ``None`` (default)
        for the binomial model.
    sensitivity : float, default 1.0
        P(recorded defect | defect), in [0, 1].
    specificity : float, default 1.0
        P(recorded non-defect | non-defect), in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        The acceptance probability: a ``float`` when ``p`` is a scalar, otherwise an
        array of the shape of ``p``.

    Raises
    ------
    ValueError
        If any input is out of range (the message names it and the allowed range).

    Notes
    -----
    Exact: SciPy's binomial cdf, and for the hypergeometric model the exact ratio
    recurrence of the hypergeometric pmf (normalised; relative accuracy about
    1e-13).  When ``c == n`` the result is exactly 1.

    References
    ----------
    .. [1] Rogan, W. J. & Gladen, B. (1978). Estimating prevalence from the results
       of a screening test. *American Journal of Epidemiology*, 107(1), 71–76.
    .. [2] Dodge, H. F. & Romig, H. G. (1959). *Sampling Inspection Tables*, 2nd ed.
       Wiley.

    Examples
    --------
    >>> from povsim.exact import accept_probability
    >>> round(accept_probability(50, 1, 0.02), 6)
    0.735771
    >>> round(accept_probability(50, 1, 0.02, population=200), 6)
    0.739357
    >>> round(accept_probability(50, 1, 0.02, sensitivity=0.9, specificity=0.99), 6)
    0.593392
    >>> accept_probability(50, 1, [0.0, 0.02, 0.1]).round(4)
    array([1.    , 0.7358, 0.0338])
    """
    if population is None:
        n = check_count("n", n, minimum=1)
    else:
        population = check_count("population", population, minimum=1)
        n = check_count("n", n, minimum=1, maximum=population, maximum_name="population")
    c = check_count("c", c, minimum=0, maximum=n, maximum_name="n")
    p_arr = check_probability_array("p", p)
    se = check_probability("sensitivity", sensitivity)
    sp = check_probability("specificity", specificity)

    if population is None:
        p_star = _recorded_rate(p_arr, se, sp)
        values = np.asarray(_binom_cdf(c, n, p_star), dtype=float)
        if c >= n:
            values = np.ones_like(values)
        return _as_result(values, p_arr)

    defects = np.rint(p_arr * population).astype(np.int64)
    unique, inverse = np.unique(defects, return_inverse=True)
    per_defects = np.array([_hyper_accept(population, int(d), n, [c], se, sp)[0] for d in unique])
    return _as_result(per_defects[inverse].reshape(p_arr.shape), p_arr)


def _check_risk_pair(name: str, value: object, rate: str, risk: str) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ValueError(f"{name} must be a pair ({rate}, {risk}); got {value!r}")
    if len(value) != 2:
        raise ValueError(f"{name} must be a pair ({rate}, {risk}); got {value!r}")
    p = check_probability(f"{name}[0] ({rate})", value[0])
    r = check_real(
        f"{name}[1] ({risk})", value[1], low=0.0, high=1.0, low_open=True, high_open=True
    )
    return p, r


def find_plan(
    producer: tuple[float, float],
    consumer: tuple[float, float],
    *,
    population: int | None = None,
    sensitivity: float = 1.0,
    specificity: float = 1.0,
    max_n: int = 5000,
) -> Plan:
    """Smallest single-sampling plan meeting a producer's and a consumer's risk.

    Searches ``n = 1, 2, ...`` and returns the first ``n`` (and for it the smallest
    ``c``) with ``P(accept | p1) >= 1 - alpha`` and ``P(accept | p2) <= beta``, where
    ``P(accept)`` is :func:`accept_probability` with the same ``population``,
    ``sensitivity`` and ``specificity`` (the producer condition is evaluated as
    ``1 - P(accept | p1) <= alpha`` so that the reported risk never exceeds the
    requested one).  This is the classical two-point (AQL/LTPD) design of
    Dodge & Romig [1]_ and ISO 2859, and of lot quality assurance sampling [2]_.

    Parameters
    ----------
    producer : tuple of float
        ``(p1, alpha)``: a lot with defect fraction ``p1`` (in [0, 1]) must be
        rejected with probability at most ``alpha`` (in (0, 1)).
    consumer : tuple of float
        ``(p2, beta)``: a lot with defect fraction ``p2 > p1`` (in [0, 1]) must be
        accepted with probability at most ``beta`` (in (0, 1)).
    population : int, optional
        Lot size for sampling without replacement (then ``n <= population``);
        ``None`` (default) for the binomial model.
    sensitivity : float, default 1.0
        P(recorded defect | defect), in [0, 1].
    specificity : float, default 1.0
        P(recorded non-defect | non-defect), in [0, 1].
    max_n : int, default 5000
        Largest sample size searched, at least 1.

    Returns
    -------
    Plan
        ``Plan(n, c, alpha, beta)`` with the achieved risks
        ``alpha = 1 - P(accept | p1)`` and ``beta = P(accept | p2)``.

    Raises
    ------
    ValueError
        If an input is out of range, if ``p1 >= p2``, or if no plan exists with
        ``n <= max_n`` (and ``n <= population``).

    Notes
    -----
    Cost: a handful of cdf evaluations per ``n`` (see the comments in the code for
    why one candidate ``c`` per ``n`` suffices).  With imperfect classification the
    recorded rate increases with ``p`` only when ``sensitivity + specificity > 1``.

    References
    ----------
    .. [1] Dodge, H. F. & Romig, H. G. (1959). *Sampling Inspection Tables: Single
       and Double Sampling*, 2nd ed. Wiley.  See also ISO 2859-1 (1999).
    .. [2] Pagano, M. & Valadez, J. J. (2010). Commentary: Understanding practical
       lot quality assurance sampling. *International Journal of Epidemiology*,
       39(1), 69–71.
    .. [3] Rogan, W. J. & Gladen, B. (1978). *American Journal of Epidemiology*,
       107(1), 71–76.

    Examples
    --------
    >>> from povsim.exact import find_plan
    >>> plan = find_plan((0.01, 0.05), (0.05, 0.10))
    >>> plan.n, plan.c
    (132, 3)
    >>> round(plan.alpha, 4), round(plan.beta, 4)
    (0.0443, 0.0992)
    >>> find_plan((0.01, 0.05), (0.05, 0.10), population=300).n
    94
    """
    p1, alpha = _check_risk_pair("producer", producer, "p1", "alpha")
    p2, beta = _check_risk_pair("consumer", consumer, "p2", "beta")
    if not p1 < p2:
        raise ValueError(
            f"producer[0] (p1) must be less than consumer[0] (p2); got p1={p1!r}, p2={p2!r}"
        )
    if population is not None:
        population = check_count("population", population, minimum=1)
    se = check_probability("sensitivity", sensitivity)
    sp = check_probability("specificity", specificity)
    max_n = check_count("max_n", max_n, minimum=1)

    n_limit = max_n if population is None else min(max_n, population)
    if population is None:
        p_star = _recorded_rate(np.array([p1, p2]), se, sp)

        def accept(which: int, n: int, cs: Sequence[int]) -> NDArray[np.float64]:
            return _binom_accept(n, cs, float(p_star[which]))
    else:
        lot = population
        defects = np.rint(np.array([p1, p2]) * lot).astype(np.int64)

        def accept(which: int, n: int, cs: Sequence[int]) -> NDArray[np.float64]:
            return _hyper_accept(lot, int(defects[which]), n, cs, se, sp)

    # Why one candidate c per n.  Write F_n(c) = P(at most c recorded defects in a
    # sample of n).  (i) F_n(c) is non-decreasing in c (the event {R <= c} grows with
    # c).  So the producer condition F_n(c | p1) >= 1 - alpha holds exactly for
    # c >= c_n, the smallest such c, and the consumer condition F_n(c | p2) <= beta
    # holds exactly for c <= some c'_n.  A plan with this n exists iff c_n <= c'_n,
    # i.e. iff c_n itself meets the consumer condition, and then c_n is the smallest
    # c that works.  (ii) c_n moves by at most one step as n grows: the first n of
    # n + 1 draws are a simple random sample of n (with or without replacement) and
    # recording is unit by unit, so R_{n+1} = R_n + B with B in {0, 1}.  Hence
    # F_{n+1}(c) <= F_n(c), giving c_{n+1} >= c_n, and F_{n+1}(c + 1) >= F_n(c),
    # giving c_{n+1} <= c_n + 1.  We therefore evaluate F_n only on the window
    # c_{n-1} - 1 .. c_{n-1} + 1 (vectorised over c; the lower end certifies
    # minimality) and fall back to all of 0..n if the computed values ever disagree
    # with (ii) at rounding level.
    c_prev = 0
    for n in range(1, n_limit + 1):
        lo, hi = max(0, c_prev - 1), min(n, c_prev + 1)
        window = np.arange(lo, hi + 1)
        producer_ok = 1.0 - accept(0, n, window) <= alpha
        if producer_ok.any() and (lo == 0 or not producer_ok[0]):
            c = int(window[np.argmax(producer_ok)])
        else:
            everything = np.arange(n + 1)
            c = int(np.argmax(1.0 - accept(0, n, everything) <= alpha))
        c_prev = c
        accept_p2 = float(accept(1, n, [c])[0])
        if accept_p2 <= beta:
            accept_p1 = float(accept(0, n, [c])[0])
            return Plan(n=n, c=c, alpha=1.0 - accept_p1, beta=accept_p2)

    hint, advice = "", "increase max_n or relax the risks"
    if se + sp <= 1.0:
        hint = " (sensitivity + specificity <= 1: recorded defects do not increase with p)"
    if population is not None and n_limit == population:
        hint += (
            f" (the whole lot was searched; p1 and p2 mean {defects[0]} and {defects[1]}"
            f" defects in a lot of {population})"
        )
        advice = "relax the risks"
    raise ValueError(
        f"no sampling plan with n <= {n_limit} meets producer (p1={p1}, alpha={alpha}) and "
        f"consumer (p2={p2}, beta={beta}){hint}; {advice}"
    )


# --------------------------------------------------------------------------------------
# The official 2018 four-indicator rule under stratified simple random sampling
# --------------------------------------------------------------------------------------

_TABLE_LAYOUT = "[[problem&approve, problem&disapprove], [ok&approve, ok&disapprove]]"


def _check_table(name: str, value: object) -> tuple[tuple[int, int], tuple[int, int]]:
    try:
        arr = np.asarray(value, dtype=object)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape != (2, 2):
        raise ValueError(
            f"{name} must be a 2x2 array of household counts {_TABLE_LAYOUT}; got {value!r}"
        )
    cells = [
        [check_count(f"{name}[{i}][{j}]", _plain(arr[i, j])) for j in range(2)] for i in range(2)
    ]
    return (cells[0][0], cells[0][1]), (cells[1][0], cells[1][1])


def _plain(value: object) -> object:
    """Unwrap NumPy scalars so that the validators see Python numbers."""
    return value.item() if isinstance(value, np.generic) else value


def _check_sample(name: str, value: object, stratum: str, size: int, replace: bool) -> int:
    minimum = 0 if name == "remaining_sample" else 1
    if replace:
        s = check_count(name, value, minimum=minimum)
        if s > 0 and size == 0:
            raise ValueError(f"{name} must be 0 when {stratum} holds no households; got {s}")
        return s
    return check_count(name, value, minimum=minimum, maximum=size, maximum_name=f"sum({stratum})")


def _check_bool(name: str, value: object) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


@dataclass(frozen=True)
class _StratumJoint:
    """Truncated joint pmf of (recorded problems, recorded approvals) in one stratum.

    ``joint[i, k] = P(X = x_lo + i, A = a_lo + k)``; ``dropped`` is the mass removed.
    """

    x_lo: int
    a_lo: int
    joint: NDArray[np.float64]
    dropped: float


def _trim_axis(joint: NDArray[np.float64], axis: int) -> tuple[int, NDArray[np.float64], float]:
    """Trim rows (``axis=0``) or columns (``axis=1``) by their marginal mass."""
    marginal = joint.sum(axis=1 - axis)
    lo, hi, dropped = _trim(marginal)
    kept = joint[lo : hi + 1] if axis == 0 else joint[:, lo : hi + 1]
    return lo, kept, dropped


def _stratum_joint(
    table: tuple[tuple[int, int], tuple[int, int]],
    size: int,
    replace: bool,
    flagged: bool,
    se: float,
    sp: float,
    over: float,
    under: float,
) -> _StratumJoint:
    """Exact (truncated) joint pmf of recorded problems and approvals in one stratum.

    The four cells of ``table`` are sampled by multivariate hypergeometric (or, with
    ``replace``, multinomial) sampling.  The pair (true problems K, true approvals A)
    is obtained as K's marginal times, given K = k, the convolution of the approvals
    among the k problem units and among the ``size - k`` other units (conditionally
    independent hypergeometric, or binomial, counts); this equals the overlap sum of
    the four-category pmf.  Given (K, A) the recorded problems
    ``Bin(K, se) + Bin(size - K, 1 - sp)`` and recorded approvals
    ``Bin(A, 1 - under) + Bin(size - A, over)`` are independent, so each is one
    stochastic-matrix product.  Unflagged strata record no problems at all.
    """
    (pa, pd), (oa, od) = table
    problems, oks = pa + pd, oa + od
    total = problems + oks
    if size == 0:
        return _StratumJoint(0, 0, np.ones((1, 1)), 0.0)

    if replace:
        k_pmf = _binom_pmf(np.arange(size + 1), size, problems / total)
    else:
        k_pmf = _hypergeom_pmf(total, problems, size)
    k_lo, k_hi, dropped = _trim(k_pmf)
    joint = np.zeros((k_hi - k_lo + 1, size + 1))
    for i, k in enumerate(range(k_lo, k_hi + 1)):
        if replace:
            in_problems = _binom_pmf(np.arange(k + 1), k, pa / problems if problems else 0.0)
            in_oks = _binom_pmf(np.arange(size - k + 1), size - k, oa / oks if oks else 0.0)
        else:
            in_problems = _hypergeom_pmf(problems, pa, k)
            in_oks = _hypergeom_pmf(oks, oa, size - k)
        joint[i] = k_pmf[k] * np.convolve(in_problems, in_oks)

    a_lo, joint, lost = _trim_axis(joint, axis=1)
    dropped += lost
    if over > 0.0 or under > 0.0:
        answers = np.array(
            [
                _recorded_pmf_given_true(a, size, 1.0 - under, 1.0 - over)
                for a in range(a_lo, a_lo + joint.shape[1])
            ]
        )
        a_lo, joint, lost = _trim_axis(joint @ answers, axis=1)
        dropped += lost

    x_lo = k_lo
    if not flagged:
        x_lo = 0
        joint = joint.sum(axis=0, keepdims=True)
    elif se < 1.0 or sp < 1.0:
        flags = np.array([_recorded_pmf_given_true(k, size, se, sp) for k in range(k_lo, k_hi + 1)])
        x_lo, joint, lost = _trim_axis(flags.T @ joint, axis=0)
        dropped += lost
    return _StratumJoint(x_lo, a_lo, joint, dropped)


def official_indicator_pass_probabilities(
    *,
    exited: ArrayLike,
    exited_sample: int,
    nonregistered: ArrayLike,
    nonregistered_sample: int,
    remaining: ArrayLike,
    remaining_sample: int,
    replace: bool = False,
    sensitivity: float = 1.0,
    specificity: float = 1.0,
    approval_overreport: float = 0.0,
    approval_underreport: float = 0.0,
    incidence_threshold: float = 0.03,
    wrongful_exit_threshold: float = 0.02,
    omission_threshold: float = 0.02,
    approval_threshold: float = 0.90,
    approval_strict: bool = False,
) -> OfficialIndicatorPassProbabilities:
    """Exact pass probability of the official 2018 rule and of each indicator.

    The county's rural population is fixed and split into three registry strata,
    each given as a 2x2 table of household counts (one person per household)
    ``[[problem&approve, problem&disapprove], [ok&approve, ok&disapprove]]``:
    exited registered households (a problem is a wrongful exit), non-registered
    households (a problem is an omission) and registered households not yet exited
    (never flagged; row 0 must be zeros).  A fixed number of households is drawn
    from each stratum by simple random sampling without replacement (or, with
    ``replace=True``, independent draws with replacement).

    Recording, independently for every sampled household: an exited or
    non-registered household is flagged as a problem with probability
    ``sensitivity`` if it is one and ``1 - specificity`` if not; every sampled
    household reports approval with probability ``1 - approval_underreport`` if it
    approves and ``approval_overreport`` if it does not.

    Estimates, in float64 exactly as the Monte Carlo engine computes them:
    ``w = X_w / exited_sample``, ``o = X_o / nonregistered_sample``,
    ``a = (A_e + A_n + A_r) / (exited_sample + nonregistered_sample + remaining_sample)``
    and ``incidence = (R + w * E + o * Nn) / P`` with ``R``, ``E``, ``Nn`` the stratum
    totals of ``remaining``, ``exited`` and ``nonregistered`` and ``P = R + E + Nn``.
    The county passes iff ``incidence < incidence_threshold``,
    ``w < wrongful_exit_threshold``, ``o < omission_threshold`` and
    ``a >= approval_threshold`` (``a > approval_threshold`` when ``approval_strict``).

    Parameters
    ----------
    exited, nonregistered, remaining : array_like of int, shape (2, 2)
        Household counts of the three strata (layout above); non-negative integers.
    exited_sample, nonregistered_sample : int
        Sample sizes, at least 1 (at most the stratum total without replacement).
    remaining_sample : int
        Sample size of the remaining-poor stratum, at least 0 (at most its total
        without replacement).
    replace : bool, default False
        Draw with replacement (multinomial) instead of without (hypergeometric).
    sensitivity, specificity : float, default 1.0
        Effective per-household probabilities of flagging a true problem and of not
        flagging a non-problem, in [0, 1].
    approval_overreport : float, default 0.0
        P(reports approval | does not approve), in [0, 1].
    approval_underreport : float, default 0.0
        P(does not report approval | approves), in [0, 1].
    incidence_threshold : float, default 0.03
        Comprehensive poverty incidence must be below it (0.02 central, 0.03
        western region), in [0, 1].
    wrongful_exit_threshold, omission_threshold : float, default 0.02
        The two rates must be below these, in [0, 1].
    approval_threshold : float, default 0.90
        Approval must reach it, in [0, 1].
    approval_strict : bool, default False
        Require approval strictly above the threshold.

    Returns
    -------
    OfficialIndicatorPassProbabilities
        Marginal pass probabilities ``incidence``, ``wrongful_exit``, ``omission``,
        ``approval``, the joint ``all`` and the ``truncation_error`` bound.

    Raises
    ------
    ValueError
        If any input is out of range (the message names it and the allowed range).

    Notes
    -----
    *Exactness.* Strata are independent, so with ``B[x_w, x_o]`` the joint pmf of
    the recorded problem counts weighted by the probability that the total
    approvals pass, ``P(pass) = sum over passing (x_w, x_o) of B``.  The only
    approximation is tail truncation: four times per stratum at most, a
    distribution loses at most ``1e-15`` of its mass (both tails together).  Every
    returned probability is therefore a lower bound that falls short of the exact
    value by at most ``truncation_error <= 1.2e-14`` (plus rounding, about 1e-15).

    *Comparisons.* Thresholds are compared with the float64 estimates computed by
    the same operations as the engine (``x / n``; ``(R + w * E + o * Nn) / P``
    evaluated left to right; ``t / total``), not with exact rationals, so that a tie
    such as ``1 / 50 < 0.02`` is decided identically in both.  The engine must not
    be compiled with ``fastmath`` (contraction into fused multiply-adds would change
    the last bit).

    References
    ----------
    .. [1] State Council Leading Group Office of Poverty Alleviation and
       Development (2017). 贫困县退出专项评估检查实施办法 (国开办发〔2017〕56号).
    .. [2] Rogan, W. J. & Gladen, B. (1978). *American Journal of Epidemiology*,
       107(1), 71–76.

    Examples
    --------
    >>> from povsim.exact import official_indicator_pass_probabilities
    >>> probs = official_indicator_pass_probabilities(
    ...     exited=[[30, 15], [14200, 755]], exited_sample=500,
    ...     nonregistered=[[100, 40], [66500, 3360]], nonregistered_sample=480,
    ...     remaining=[[0, 0], [285, 15]], remaining_sample=20,
    ...     sensitivity=0.9, specificity=0.99)
    >>> round(probs.wrongful_exit, 4), round(probs.omission, 4), round(probs.all, 4)
    (0.8931, 0.939, 0.8387)
    """
    ex = _check_table("exited", exited)
    nr = _check_table("nonregistered", nonregistered)
    rem = _check_table("remaining", remaining)
    if rem[0] != (0, 0):
        raise ValueError(
            "remaining[0] (problem households among the registered not yet exited) must be "
            f"[0, 0]: that stratum is never flagged; got {list(rem[0])}"
        )
    replace = _check_bool("replace", replace)
    sizes = {"exited": sum(ex[0]) + sum(ex[1]), "nonregistered": sum(nr[0]) + sum(nr[1])}
    sizes["remaining"] = sum(rem[1])
    s_e = _check_sample("exited_sample", exited_sample, "exited", sizes["exited"], replace)
    s_n = _check_sample(
        "nonregistered_sample",
        nonregistered_sample,
        "nonregistered",
        sizes["nonregistered"],
        replace,
    )
    s_r = _check_sample(
        "remaining_sample", remaining_sample, "remaining", sizes["remaining"], replace
    )
    se = check_probability("sensitivity", sensitivity)
    sp = check_probability("specificity", specificity)
    over = check_probability("approval_overreport", approval_overreport)
    under = check_probability("approval_underreport", approval_underreport)
    t_inc = check_probability("incidence_threshold", incidence_threshold)
    t_w = check_probability("wrongful_exit_threshold", wrongful_exit_threshold)
    t_o = check_probability("omission_threshold", omission_threshold)
    t_a = check_probability("approval_threshold", approval_threshold)
    strict = _check_bool("approval_strict", approval_strict)

    je = _stratum_joint(ex, s_e, replace, True, se, sp, over, under)
    jn = _stratum_joint(nr, s_n, replace, True, se, sp, over, under)
    jr = _stratum_joint(rem, s_r, replace, False, se, sp, over, under)

    # Approval: which totals t pass, with the engine's float64 t / total.
    total_sample = s_e + s_n + s_r
    share = np.arange(total_sample + 1) / total_sample
    approval_pass = share > t_a if strict else share >= t_a
    # H[m] = P(the remaining stratum's approvals bring m approvals up to a pass).
    r_values = jr.a_lo + np.arange(jr.joint.shape[1])
    r_pmf = jr.joint[0]
    a_e = je.a_lo + np.arange(je.joint.shape[1])
    a_n = jn.a_lo + np.arange(jn.joint.shape[1])
    m = a_e[:, None] + a_n[None, :]
    m_values = np.arange(m.min(), m.max() + 1)
    h = approval_pass[m_values[:, None] + r_values[None, :]].astype(float) @ r_pmf
    h_matrix = h[m - m_values[0]]
    weighted = je.joint @ h_matrix @ jn.joint.T  # [x_w, x_o]: P(X_w, X_o, approval passes)

    # Rates and incidence, in the engine's float64 arithmetic.
    x_w = je.x_lo + np.arange(je.joint.shape[0])
    x_o = jn.x_lo + np.arange(jn.joint.shape[0])
    w = x_w / s_e
    o = x_o / s_n
    r_pop, e_pop, n_pop = sizes["remaining"], sizes["exited"], sizes["nonregistered"]
    p_pop = r_pop + e_pop + n_pop
    incidence = (r_pop + w[:, None] * e_pop + o[None, :] * n_pop) / p_pop
    pass_w = w < t_w
    pass_o = o < t_o
    pass_i = incidence < t_inc

    marg_w = je.joint.sum(axis=1)
    marg_o = jn.joint.sum(axis=1)
    everything = weighted[pass_w[:, None] & pass_o[None, :] & pass_i].sum()

    def _prob(x: float) -> float:
        return min(1.0, max(0.0, float(x)))

    return OfficialIndicatorPassProbabilities(
        incidence=_prob(marg_w @ pass_i @ marg_o),
        wrongful_exit=_prob(marg_w @ pass_w),
        omission=_prob(marg_o @ pass_o),
        approval=_prob(je.joint.sum(axis=0) @ h_matrix @ jn.joint.sum(axis=0)),
        all=_prob(everything),
        truncation_error=je.dropped + jn.dropped + jr.dropped,
    )


def official_pass_probability(
    *,
    exited: ArrayLike,
    exited_sample: int,
    nonregistered: ArrayLike,
    nonregistered_sample: int,
    remaining: ArrayLike,
    remaining_sample: int,
    replace: bool = False,
    sensitivity: float = 1.0,
    specificity: float = 1.0,
    approval_overreport: float = 0.0,
    approval_underreport: float = 0.0,
    incidence_threshold: float = 0.03,
    wrongful_exit_threshold: float = 0.02,
    omission_threshold: float = 0.02,
    approval_threshold: float = 0.90,
    approval_strict: bool = False,
) -> float:
    """Exact probability that the official 2018 four-indicator rule passes the county.

    Stratified simple random sampling by registry status, one-person households,
    independent misclassification; see :func:`official_indicator_pass_probabilities`
    for the model, the arithmetic of the estimates and the truncation bound (the
    result is at most 1.2e-14 below the exact value).

    Parameters
    ----------
    exited, nonregistered, remaining : array_like of int, shape (2, 2)
        Household counts ``[[problem&approve, problem&disapprove],
        [ok&approve, ok&disapprove]]`` of the exited, non-registered and
        registered-not-yet-exited strata (``remaining[0]`` must be zeros).
    exited_sample, nonregistered_sample : int
        Sample sizes, at least 1 (at most the stratum total without replacement).
    remaining_sample : int
        Sample size of the remaining-poor stratum, at least 0.
    replace : bool, default False
        Draw with replacement instead of without.
    sensitivity, specificity : float, default 1.0
        Per-household problem-flag recording probabilities, in [0, 1].
    approval_overreport, approval_underreport : float, default 0.0
        P(reports approval | disapproves) and P(does not report approval | approves).
    incidence_threshold : float, default 0.03
        Incidence must be below it.
    wrongful_exit_threshold, omission_threshold : float, default 0.02
        The rates must be below these.
    approval_threshold : float, default 0.90
        Approval must reach it.
    approval_strict : bool, default False
        Require approval strictly above the threshold.

    Returns
    -------
    float
        P(all four indicators pass).

    Raises
    ------
    ValueError
        If any input is out of range.

    References
    ----------
    .. [1] 国开办发〔2017〕56号: 贫困县退出专项评估检查实施办法 (2017).
    .. [2] Rogan, W. J. & Gladen, B. (1978). *American Journal of Epidemiology*,
       107(1), 71–76.

    Examples
    --------
    >>> from povsim.exact import official_pass_probability
    >>> p = official_pass_probability(
    ...     exited=[[30, 15], [14200, 755]], exited_sample=500,
    ...     nonregistered=[[100, 40], [66500, 3360]], nonregistered_sample=480,
    ...     remaining=[[0, 0], [285, 15]], remaining_sample=20,
    ...     sensitivity=0.9, specificity=0.99)
    >>> round(p, 6)
    0.838685
    """
    return official_indicator_pass_probabilities(
        exited=exited,
        exited_sample=exited_sample,
        nonregistered=nonregistered,
        nonregistered_sample=nonregistered_sample,
        remaining=remaining,
        remaining_sample=remaining_sample,
        replace=replace,
        sensitivity=sensitivity,
        specificity=specificity,
        approval_overreport=approval_overreport,
        approval_underreport=approval_underreport,
        incidence_threshold=incidence_threshold,
        wrongful_exit_threshold=wrongful_exit_threshold,
        omission_threshold=omission_threshold,
        approval_threshold=approval_threshold,
        approval_strict=approval_strict,
    ).all


# --------------------------------------------------------------------------------------
# Cluster (two-stage) designs
# --------------------------------------------------------------------------------------


def kish_design_effect(cluster_size: float, icc: float) -> float:
    """Kish's design effect of cluster sampling, ``1 + (b - 1) * icc``.

    Parameters
    ----------
    cluster_size : float
        Households sampled per cluster ``b`` (may be an average), at least 1.
    icc : float
        Intra-cluster correlation ``rho``, in [0, 1].

    Returns
    -------
    float
        The design effect, in ``[1, b]``.

    Raises
    ------
    ValueError
        If an input is out of range.

    References
    ----------
    .. [1] Kish, L. (1965). *Survey Sampling*, section 5.4. New York: Wiley.

    Examples
    --------
    >>> from povsim.exact import kish_design_effect
    >>> kish_design_effect(40, 0.05)
    2.95
    """
    b = check_real("cluster_size", cluster_size, low=1.0)
    rho = check_probability("icc", icc)
    return 1.0 + (b - 1.0) * rho


def beta_binomial_accept_probability(
    clusters: int,
    cluster_size: int,
    c: int,
    p: ArrayLike,
    icc: float,
    *,
    sensitivity: float = 1.0,
    specificity: float = 1.0,
) -> float | NDArray[np.float64]:
    """Exact P(at most ``c`` recorded defects) when clusters contribute beta-binomial counts.

    Each of ``clusters`` independent clusters contributes a
    ``BetaBinomial(cluster_size, a, b)`` count of recorded defects with mean rate
    ``p* = p * sensitivity + (1 - p) * (1 - specificity)`` (Rogan–Gladen [1]_) and
    intra-cluster correlation ``icc = 1 / (a + b + 1)``, i.e.
    ``a = p* (1/icc - 1)`` and ``b = (1 - p*) (1/icc - 1)``.  The distribution of
    the total is the repeated convolution of the cluster pmf, truncated at ``c``
    after every step (exact: counts are non-negative, so mass above ``c`` never
    returns below it).

    Parameters
    ----------
    clusters : int
        Number of clusters sampled, at least 1.
    cluster_size : int
        Households sampled per cluster, at least 1.
    c : int
        Acceptance number, ``0 <= c <= clusters * cluster_size``.
    p : float or array_like of float
        True defect fraction(s), in [0, 1].
    icc : float
        Intra-cluster correlation of the *recorded* defect indicators, in [0, 1].
        ``icc = 0`` is the binomial limit, ``icc = 1`` makes every cluster all
        defects or none.
    sensitivity, specificity : float, default 1.0
        Classification probabilities, in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        The acceptance probability; a ``float`` for scalar ``p``, else an array of
        the shape of ``p``.

    Raises
    ------
    ValueError
        If an input is out of range.

    Notes
    -----
    Misclassification is applied to the cluster mean before the beta mixing: the
    *recorded* cluster rate is Beta-distributed with mean ``p*``.  (Mixing the true
    rate and then misclassifying would make the recorded rate a linear transform of
    a Beta variable, which is not beta-binomial.)  The cluster pmf uses the exact
    ratio recurrence of the beta-binomial pmf rather than
    ``scipy.stats.betabinom.pmf``, which loses accuracy as ``icc -> 0``.  The
    degenerate cases ``icc = 0``, ``icc = 1`` and ``p* in {0, 1}`` are handled in
    closed form.

    References
    ----------
    .. [1] Rogan, W. J. & Gladen, B. (1978). *American Journal of Epidemiology*,
       107(1), 71–76.
    .. [2] Kish, L. (1965). *Survey Sampling*. New York: Wiley.
    .. [3] Pagano, M. & Valadez, J. J. (2010). *International Journal of
       Epidemiology*, 39(1), 69–71.

    Examples
    --------
    >>> from povsim.exact import beta_binomial_accept_probability
    >>> round(beta_binomial_accept_probability(25, 40, 20, 0.01, 0.0), 6)
    0.998504
    >>> round(beta_binomial_accept_probability(25, 40, 20, 0.01, 0.05), 6)
    0.955953
    """
    clusters = check_count("clusters", clusters, minimum=1)
    cluster_size = check_count("cluster_size", cluster_size, minimum=1)
    total = clusters * cluster_size
    c = check_count("c", c, minimum=0, maximum=total, maximum_name="clusters * cluster_size")
    p_arr = check_probability_array("p", p)
    rho = check_probability("icc", icc)
    se = check_probability("sensitivity", sensitivity)
    sp = check_probability("specificity", specificity)

    p_star = _recorded_rate(p_arr, se, sp)
    unique, inverse = np.unique(p_star, return_inverse=True)
    values = np.array(
        [_beta_binomial_sum_cdf(clusters, cluster_size, c, float(q), rho) for q in unique]
    )
    return _as_result(values[inverse].reshape(p_arr.shape), p_arr)


def _beta_binomial_sum_cdf(clusters: int, size: int, c: int, q: float, rho: float) -> float:
    """P(sum of ``clusters`` iid BetaBinomial(size; mean q, ICC rho) <= c)."""
    if c >= clusters * size:
        return 1.0
    if rho == 0.0 or q in (0.0, 1.0):
        return float(_binom_cdf(c, clusters * size, q))
    if rho == 1.0:
        return float(_binom_cdf(c // size, clusters, q))
    scale = 1.0 / rho - 1.0
    cluster_pmf = _betabinom_pmf(size, q * scale, (1.0 - q) * scale)[: c + 1]
    total = cluster_pmf
    for _ in range(clusters - 1):
        total = np.convolve(total, cluster_pmf)[: c + 1]
    return min(1.0, float(total.sum()))


def kish_accept_probability(
    n: int,
    c: int,
    p: ArrayLike,
    *,
    cluster_size: float,
    icc: float,
    sensitivity: float = 1.0,
    specificity: float = 1.0,
) -> float | NDArray[np.float64]:
    """Approximate acceptance probability under cluster sampling via Kish's design effect.

    An approximation (Kish [1]_): the clustered sample of ``n`` is treated as a
    simple random sample of ``n_eff = n / deff`` units with acceptance number
    ``c_eff = c / deff``, ``deff = 1 + (cluster_size - 1) * icc``, and the binomial
    cdf is continued to non-integer arguments by the regularized incomplete beta
    function: ``P(X <= c) = I_{1 - p*}(n_eff - c_eff, c_eff + 1)``, with the
    Rogan–Gladen recorded rate ``p*`` [2]_.  With ``icc = 0`` (or
    ``cluster_size = 1``) it is the exact binomial probability.

    Parameters
    ----------
    n : int
        Total sample size, at least 1.
    c : int
        Acceptance number, ``0 <= c <= n``.
    p : float or array_like of float
        True defect fraction(s), in [0, 1].
    cluster_size : float
        Households per cluster (may be an average), at least 1.
    icc : float
        Intra-cluster correlation, in [0, 1].
    sensitivity, specificity : float, default 1.0
        Classification probabilities, in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        The approximate acceptance probability; a ``float`` for scalar ``p``, else
        an array of the shape of ``p``.  Exactly 1 when ``c == n``.

    Raises
    ------
    ValueError
        If an input is out of range.

    See Also
    --------
    beta_binomial_accept_probability : the exact answer for a beta-binomial model.

    References
    ----------
    .. [1] Kish, L. (1965). *Survey Sampling*. New York: Wiley.
    .. [2] Rogan, W. J. & Gladen, B. (1978). *American Journal of Epidemiology*,
       107(1), 71–76.

    Examples
    --------
    >>> from povsim.exact import kish_accept_probability
    >>> round(kish_accept_probability(1000, 20, 0.01, cluster_size=40, icc=0.05), 6)
    0.972594
    """
    n = check_count("n", n, minimum=1)
    c = check_count("c", c, minimum=0, maximum=n, maximum_name="n")
    p_arr = check_probability_array("p", p)
    b = check_real("cluster_size", cluster_size, low=1.0)
    rho = check_probability("icc", icc)
    se = check_probability("sensitivity", sensitivity)
    sp = check_probability("specificity", specificity)

    p_star = _recorded_rate(p_arr, se, sp)
    if c >= n:
        return _as_result(np.ones_like(p_star), p_arr)
    deff = 1.0 + (b - 1.0) * rho
    n_eff, c_eff = n / deff, c / deff
    values = special.betainc(n_eff - c_eff, c_eff + 1.0, 1.0 - p_star)
    return _as_result(values, p_arr)
