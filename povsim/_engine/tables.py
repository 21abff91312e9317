"""Inverse-CDF tables of a county's village-level laws (fresh two-stage populations).

A fresh population of a two-stage check is drawn village by village as counts
(see :func:`povsim._engine.fresh.block_fresh_two_stage`): for a village of
``n`` households, the registered count is Binomial(n, registered share of its
class); of ``r`` registered, the remaining count is Binomial(r, remaining
share); of ``e`` exited, the wrongful exits are beta-binomial (the village rate
is Beta with the county's mean and ICC, as in
:func:`povsim._engine.population.generate_population`); the same for omissions
among never-registered households and for disapprovals among all households.
Household sizes are independent of everything, so the persons of ``m``
households are the sum of ``m`` independent sizes, drawn as the sum of the
binary digits of ``m`` (tables of sums of ``2**j`` sizes).

Each table row is a cumulative distribution over ``k_min .. k_min + length - 1``;
tails of mass below ``2**-64`` are folded into the first entry and the last
entry is set above 1, so a lookup always ends; that is below the resolution of
the 53-bit uniforms that drive the lookups. Rows live in one flat array
(``cdf``) with ``rows[r] = (offset, k_min, length)``.
"""

from __future__ import annotations

import functools

import numpy as np

from . import population as pop

_TAIL = 2.0**-64

# Families of rows; ``base[F]`` is the first row of family F (see ``fresh_tables``).
TB_REG_POOR = 0  # row n - low: registered of n households, poor village
TB_REG_NONPOOR = 1  # row n - low
TB_REMAINING = 2  # row r: remaining of r registered
TB_WRONGFUL = 3  # row e: wrongful exits of e exited
TB_OMISSION = 4  # row n: omissions of n never registered
TB_DISAPPROVE = 5  # row n - low: disapprovals of n households
TB_SIZES = 6  # row j: persons of 2**j households
TB_N = 7


def _rows_from_pmf(pmf: np.ndarray, k0: int = 0) -> tuple[np.ndarray, int]:
    """Trim a pmf's negligible tails; return (cdf with last entry 2.0, k_min)."""
    pmf = np.clip(np.nan_to_num(pmf, nan=0.0), 0.0, None)
    cdf = np.cumsum(pmf)
    total = cdf[-1]
    lo = int(np.searchsorted(cdf, _TAIL * total, side="right"))
    hi = int(np.searchsorted(cdf, total * (1.0 - _TAIL), side="left"))
    hi = min(max(hi, lo), pmf.size - 1)
    row = cdf[lo : hi + 1] / total
    row[-1] = 2.0
    return row, k0 + lo


def _binomial_rows(ns, p):
    from scipy import stats

    out = []
    for n in ns:
        k = np.arange(n + 1)
        out.append(_rows_from_pmf(stats.binom.pmf(k, n, p)))
    return out


def _beta_binomial_rows(ns, mean, icc):
    # as beta_mean_icc: no heterogeneity at icc 0 or a degenerate mean ...
    if icc <= 0.0 or mean <= 0.0 or mean >= 1.0:
        return _binomial_rows(ns, mean)
    if icc >= 1.0:  # ... and at icc 1 the limit law: every village all or nothing
        out = []
        for n in ns:
            pmf = np.zeros(n + 1)
            pmf[0] += 1.0 - mean
            pmf[n] += mean
            out.append(_rows_from_pmf(pmf))
        return out
    from scipy import stats

    scale = (1.0 - icc) / icc
    a, b = mean * scale, (1.0 - mean) * scale
    out = []
    for n in ns:
        k = np.arange(n + 1)
        out.append(_rows_from_pmf(stats.betabinom.pmf(k, n, a, b)))
    return out


def _size_sum_rows(size_pmf: np.ndarray, max_households: int):
    """Rows for the persons of 2**j households, j = 0, 1, ... up to ``max_households``."""
    out = []
    pmf = np.concatenate([[0.0], size_pmf])  # index = persons
    k0 = 0
    j = 0
    while True:
        row, kmin = _rows_from_pmf(pmf, k0)
        out.append((row, kmin))
        if (1 << j) >= max_households:
            return out
        # trim before squaring, then convolve (direct, so tails stay accurate)
        lo = kmin - k0
        hi = lo + row.size
        part = pmf[lo:hi]
        pmf = np.convolve(part, part)
        pmf /= pmf.sum()
        k0 = 2 * kmin
        j += 1


@functools.lru_cache(maxsize=32)
def _cached(cint_t, cflt_t, size_cdf_t):
    cint = np.array(cint_t, np.int64)
    cflt = np.array(cflt_t, np.float64)
    size_cdf = np.array(size_cdf_t, np.float64)
    low, high = int(cint[pop.CI_HH_LOW]), int(cint[pop.CI_HH_HIGH])
    villages = int(cint[pop.CI_VILLAGES])
    village_ns = range(low, high + 1)
    all_ns = range(high + 1)
    families = [
        _binomial_rows(village_ns, cflt[pop.C_POOR_SHARE_REG]),
        _binomial_rows(village_ns, cflt[pop.C_NONPOOR_SHARE_REG]),
        _binomial_rows(all_ns, cflt[pop.C_REMAINING]),
        _beta_binomial_rows(all_ns, cflt[pop.C_WRONGFUL], cflt[pop.C_ICC_WRONGFUL]),
        _beta_binomial_rows(all_ns, cflt[pop.C_OMISSION], cflt[pop.C_ICC_OMISSION]),
        _beta_binomial_rows(village_ns, 1.0 - cflt[pop.C_APPROVAL], cflt[pop.C_ICC_APPROVAL]),
        _size_sum_rows(np.diff(np.concatenate([[0.0], size_cdf])), villages * high),
    ]
    base = np.zeros(TB_N, np.int64)
    rows = []
    chunks = []
    offset = 0
    for f, fam in enumerate(families):
        base[f] = len(rows)
        for row, kmin in fam:
            rows.append((offset, kmin, row.size))
            chunks.append(row)
            offset += row.size
    cdf = np.concatenate(chunks)
    rows_arr = np.array(rows, np.int64)
    for a in (cdf, rows_arr, base):
        a.setflags(write=False)
    return cdf, rows_arr, base


def fresh_tables(cint: np.ndarray, cflt: np.ndarray, size_cdf: np.ndarray):
    """``(cdf, rows, base)`` for a county's packed parameters (cached per county)."""
    return _cached(tuple(cint.tolist()), tuple(cflt.tolist()), tuple(size_cdf.tolist()))
