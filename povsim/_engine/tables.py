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
(``cdf``) with ``rows[r, ROW_OFFSET], rows[r, ROW_KMIN], rows[r, ROW_LENGTH]``.
The inverse CDF at ``u`` is the smallest ``k`` with ``cdf[k] > u``
(:func:`povsim._engine.fresh.table_draw`, a binary search).

Guide tables make that lookup O(1) (Chen and Asau 1974; Devroye 1986,
section III.2.4), giving exactly the binary search's answer for every uniform.
A uniform is ``u = w / 2**53`` with ``w`` a 53-bit integer, and ``cdf[k] > u``
exactly when ``t[k] = ceil(cdf[k] * 2**53) > w``, so lookups work on integers.
Row ``r`` cuts the ``w`` into ``2**g`` cells of ``2**s`` values (``s = 53 -
g``); the candidate ``k_i`` of cell ``i`` is the answer at its first ``w``.
Where the answer takes at most two values in the cell (``k_i``, then ``k_i +
1`` from some ``w`` on), the cell (an int32) holds ``k_i << 20`` and the top 20
bits of that step's offset in the cell (``2**s``: no step). Comparing them with
the top bits of ``w``'s offset gives the answer, but where they are equal (one
lookup in ``2**19`` of such cells) one comparison with ``cdf[k_i]`` settles
it. Where the answer takes three or more values (the tails, where many entries
crowd one cell), or ``k_i >= 2**11``, the cell holds ``~k_i`` (negative) and
the lookup binary-searches ``cdf`` from ``k_i`` to the next cell's candidate (a
sentinel cell ``2**g`` ends each row). ``g`` is the smallest that leaves such
cells at most :data:`SEARCH_SHARE` of the row (``g <= MAX_CELL_BITS``), so
nearly every lookup is two loads, ``guide[r]`` (the row's first cell, ``s``
and ``k_min`` in one word) and the cell, and a few integer operations. A row's
cells are contiguous, and the rows of a family follow one another.

References
----------
Chen, H.-C. and Asau, Y. (1974). On generating random variates from an
empirical distribution. AIIE Transactions 6(2), 163-166.
Devroye, L. (1986). Non-Uniform Random Variate Generation. Springer, section III.2.4.
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

# Columns of ``rows``.
ROW_OFFSET = 0  # first entry of the row in ``cdf``
ROW_KMIN = 1  # value of the row's first entry
ROW_LENGTH = 2  # entries

# ``guide[r]`` packs what a lookup needs in one word (one load):
# ``k_min << 32 | first cell << 6 | s``.
GUIDE_SHIFT_MASK = 63
GUIDE_CELLS_AT = 6
GUIDE_CELLS_MASK = (1 << 26) - 1
GUIDE_KMIN_AT = 32

UNIFORM_BITS = 53
SEARCH_SHARE = 1.0 / 32.0  # at most this share of a row's cells need a search...
MAX_CELL_BITS = 10  # ...unless that needs more than 2**10 cells
CELL_STEP_BITS = 20  # a cell (int32): k_i << 20 | the step's top 20 bits ...
CELL_K_BITS = 11  # ... for k_i < 2**11; or ~k_i (negative): search


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


def _thresholds(row: np.ndarray) -> np.ndarray:
    """``ceil(row * 2**53)`` as integers: ``row[k] > w / 2**53`` iff ``threshold[k] > w``."""
    return np.ceil(np.ldexp(row, UNIFORM_BITS)).astype(np.int64)


def _guide_cells(row: np.ndarray, bits: int) -> tuple[np.ndarray, int]:
    """The ``2**bits + 1`` packed cells of a row (see the module docstring); and how many search.

    Cell ``i`` covers the 53-bit integers ``w`` in ``[i << s, (i + 1) << s)``
    with ``s = 53 - bits``.
    """
    s = UNIFORM_BITS - bits
    t = _thresholds(row)
    starts = np.arange((1 << bits) + 1, dtype=np.int64) << s
    k = np.searchsorted(t, starts, side="right")  # candidate: smallest k with t[k] > start
    k_i, k_next = k[:-1], k[1:]
    # where the answer steps to k_i + 1, relative to the cell (2**s: never), kept to its top bits
    step = np.where(k_next == k_i, 1 << s, t[np.minimum(k_i, row.size - 1)] - starts[:-1])
    coarse = step >> (s + 1 - CELL_STEP_BITS)
    one_step = k_next - k_i <= 1
    direct = one_step & (k_i < 1 << CELL_K_BITS)
    cells = np.where(direct, (k_i << CELL_STEP_BITS) | coarse, ~k_i)
    cells = np.append(cells, ~k[-1])  # the sentinel: k_{2**bits} bounds the last search
    return cells.astype(np.int32), int(np.count_nonzero(~one_step))


def _cell_bits(row: np.ndarray) -> int:
    """The smallest ``bits`` with at most :data:`SEARCH_SHARE` of the cells searching.

    A cell searches where two or more thresholds ``t`` fall in it, i.e. in
    ``(i << s, (i + 1) << s]``: where ``(t - 1) >> s`` repeats.
    """
    t = _thresholds(row)
    t = t[t <= 1 << UNIFORM_BITS] - 1
    for bits in range(MAX_CELL_BITS + 1):
        cell = t >> (UNIFORM_BITS - bits)
        repeats = cell[1:] == cell[:-1]
        searching = np.count_nonzero(repeats[1:] & ~repeats[:-1]) + int(repeats[:1].sum())
        if searching <= SEARCH_SHARE * (1 << bits):
            return bits
    return MAX_CELL_BITS


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
    guide = []
    chunks = []
    cell_chunks = []
    offset = 0
    cell_offset = 0
    for f, fam in enumerate(families):
        base[f] = len(rows)
        for row, kmin in fam:
            bits = _cell_bits(row)
            cells, _ = _guide_cells(row, bits)
            if cell_offset > GUIDE_CELLS_MASK or kmin >= 1 << (63 - GUIDE_KMIN_AT):
                raise ValueError("the county is too large for the fresh-population tables")
            rows.append((offset, kmin, row.size))
            guide.append(
                (kmin << GUIDE_KMIN_AT) | (cell_offset << GUIDE_CELLS_AT) | (UNIFORM_BITS - bits)
            )
            chunks.append(row)
            cell_chunks.append(cells)
            offset += row.size
            cell_offset += cells.size
    cdf = np.concatenate(chunks)
    rows_arr = np.array(rows, np.int64)
    guide_arr = np.array(guide, np.int64)
    cells_arr = np.concatenate(cell_chunks)
    for a in (cdf, rows_arr, guide_arr, cells_arr, base):
        a.setflags(write=False)
    return cdf, rows_arr, guide_arr, cells_arr, base


def fresh_tables(cint: np.ndarray, cflt: np.ndarray, size_cdf: np.ndarray):
    """``(cdf, rows, guide, cells, base)`` for a county's packed parameters (cached per county)."""
    return _cached(tuple(cint.tolist()), tuple(cflt.tolist()), tuple(size_cdf.tolist()))
