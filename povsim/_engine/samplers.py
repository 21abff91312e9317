"""Exact discrete samplers on the engine's streams (binomial, hypergeometric).

Both are inverse-CDF samplers: one uniform gives the smallest ``k`` whose
cumulative probability exceeds it, walking the probability mass function up from
``k = 0`` by its ratio recurrence. They are exact up to floating-point rounding
of the cumulative sums (about 1e-15), like any inverse-CDF method. Work is kept
small by symmetry (the rarer outcome is counted) and, for the binomial, by
splitting ``n`` into chunks with a small mean (a binomial is the sum of binomials
over a partition of its trials), so the walk never runs long and ``(1 - p)^n``
never underflows. A fast path returns 0 without a logarithm when the uniform is
below Bernoulli's bound ``1 - n p <= (1 - p)^n``; it gives exactly the value
the walk would give.

References
----------
Devroye, L. (1986). Non-Uniform Random Variate Generation. Springer, chapter X
(inversion for discrete distributions).
"""

from __future__ import annotations

import math

from ._jit import jit
from .rng import below, uniform

# Largest mean of one inverse-CDF walk (the binomial splits its trials to stay below).
_CHUNK_MEAN = 16.0


@jit(internal=True)
def _binomial_walk(u, n, p):
    """Inverse CDF of Binomial(n, p) at ``u``; ``p <= 0.5`` and ``n p`` modest."""
    if u < 1.0 - n * p:
        return 0
    ratio = p / (1.0 - p)
    pk = math.exp(n * math.log1p(-p))
    cdf = pk
    k = 0
    while u >= cdf and k < n:
        pk *= ratio * (n - k) / (k + 1)
        k += 1
        cdf += pk
    return k


@jit(internal=True)
def binomial_u(u, s, n, p):
    """Binomial(n, p) whose first uniform is ``u`` (further ones, if any, from ``s``).

    For ``p <= 0.5`` and ``n p <= 16`` exactly one uniform is used, and the value
    is the inverse CDF at ``u``.
    """
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    flip = p > 0.5
    if flip:
        p = 1.0 - p
    chunk = n
    if n * p > _CHUNK_MEAN:
        chunk = max(1, int(_CHUNK_MEAN / p))
    c = min(chunk, n)
    total = _binomial_walk(u, c, p)
    left = n - c
    while left > 0:
        c = min(chunk, left)
        total += _binomial_walk(uniform(s), c, p)
        left -= c
    return n - total if flip else total


@jit
def binomial(s, n, p):
    """Binomial(n, p) from stream ``s``; no draw when the answer is certain."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    return binomial_u(uniform(s), s, n, p)


@jit
def _hypergeometric_small(s, total, good, k):
    """Inverse CDF of successes in ``k`` of ``total`` with ``good`` successes.

    Requires ``good <= total / 2`` and ``k <= total / 2``. Falls back to drawing
    the ``k`` units one by one (exact, ``k`` uniforms) when ``P(0)`` underflows.
    """
    m = min(good, k)
    p0 = 1.0
    if good <= k:
        for i in range(good):
            p0 *= (total - k - i) / (total - i)
    else:
        for i in range(k):
            p0 *= (total - good - i) / (total - i)
    if p0 < 1e-250:
        got = 0
        left_good = good
        for i in range(k):
            if below(s, total - i) < left_good:
                got += 1
                left_good -= 1
        return got
    u = uniform(s)
    pk = p0
    cdf = pk
    x = 0
    while u >= cdf and x < m:
        pk *= (good - x) * (k - x) / ((x + 1.0) * (total - good - k + x + 1.0))
        x += 1
        cdf += pk
    return x


@jit
def hypergeometric(s, total, good, k):
    """Successes in a sample of ``k`` without replacement from ``total`` units, ``good`` good.

    Exact (inverse CDF on the smaller of the symmetric forms); no draw when the
    answer is certain.
    """
    if k <= 0 or good <= 0:
        return 0
    if k >= total:
        return good
    if good >= total:
        return k
    flip_good = good > total - good
    if flip_good:
        good = total - good
    flip_k = k > total - k
    if flip_k:
        k = total - k
    x = _hypergeometric_small(s, total, good, k)
    if flip_k:
        x = good - x  # successes among the units left out
    if flip_good:
        x = (total - k if flip_k else k) - x
    return x
