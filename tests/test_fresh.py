"""Fresh-population tables: guide-table lookups against the binary search, and their laws."""

import numpy as np
import pytest
from conftest import assert_within_mcse
from helpers import SMALL_HETEROGENEOUS
from hypothesis import given
from hypothesis import strategies as st
from numba import njit
from scipy import stats

from povsim import County
from povsim._engine import fresh, tables
from povsim._engine.rng import seed_stream, stream_key

TOP = 2**53 - 1  # the largest 53-bit integer: u = 1 - 2**-53


@njit
def _mismatches(ws, cdf, rows, guide, cells, out):
    """Per row, how many ``w`` give a guide-table value other than the binary search's."""
    for r in range(rows.shape[0]):
        for w in ws:
            if fresh.guide_draw(w, cdf, rows, guide, cells, r) != fresh.table_draw(
                w * 2.0**-53, cdf, rows, r
            ):
                out[r] += 1


@njit
def _edge_mismatches(cdf, rows, guide, cells, out):
    """The same at every step of every row (``w = t - 1, t, t + 1``) and every cell's ends."""
    for r in range(rows.shape[0]):
        off = rows[r, tables.ROW_OFFSET]
        for k in range(rows[r, tables.ROW_LENGTH]):
            t = np.int64(np.ceil(cdf[off + k] * 2.0**53))
            for w in (t - 1, t, t + 1):
                if 0 <= w <= TOP and fresh.guide_draw(
                    w, cdf, rows, guide, cells, r
                ) != fresh.table_draw(w * 2.0**-53, cdf, rows, r):
                    out[r] += 1
        s = guide[r] & tables.GUIDE_SHIFT_MASK
        for i in range(1 << (53 - s)):
            for w in (i << s, ((i + 1) << s) - 1):
                if fresh.guide_draw(w, cdf, rows, guide, cells, r) != fresh.table_draw(
                    w * 2.0**-53, cdf, rows, r
                ):
                    out[r] += 1


def _uniform_words(n, seed):
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [rng.integers(0, 2**53, n), [0, 1, 2, 2**52 - 1, 2**52, TOP - 1, TOP]]
    ).astype(np.int64)


def _assert_lookups_agree(cdf, rows, guide, cells, n=2000, seed=0):
    bad = np.zeros(rows.shape[0], np.int64)
    _mismatches(_uniform_words(n, seed), cdf, rows, guide, cells, bad)
    _edge_mismatches(cdf, rows, guide, cells, bad)
    assert not bad.any(), f"rows {np.flatnonzero(bad)[:10]} disagree"


COUNTIES = {
    "official": County(),
    "small, heterogeneous": SMALL_HETEROGENEOUS,
    # degenerate laws (rates 0 and 1, no heterogeneity, all-or-nothing villages) and
    # large villages, so rows are long and their candidates pass 2**11
    "degenerate": County(
        villages=5,
        households_per_village=(3000, 3002),
        registered_share_poor=1.0,
        remaining_share=0.0,
        wrongful_exit_rate=0.0,
        omission_rate=0.5,
        icc_omission=1.0,
        icc_approval=0.0,
        household_sizes=(0.0, 0.5, 0.0, 0.5),
    ),
}


@pytest.mark.parametrize("name", list(COUNTIES))
def test_guide_lookup_is_the_binary_search(name):
    """Every row of a county's tables: the same value for any uniform, edges included."""
    cint, cflt, size_cdf = COUNTIES[name]._engine_params()
    cdf, rows, guide, cells, base = tables.fresh_tables(cint, cflt, size_cdf)
    assert rows.shape[0] == guide.shape[0] and base.shape == (tables.TB_N,)
    _assert_lookups_agree(cdf, rows, guide, cells)


def _tables_of(pmfs):
    """Flat tables (as ``fresh_tables`` lays them out) of a list of pmfs."""
    chunks, cell_chunks, rows, guide = [], [], [], []
    offset = cell_offset = 0
    for pmf in pmfs:
        row, kmin = tables._rows_from_pmf(np.asarray(pmf, float))
        bits = tables._cell_bits(row)
        cells, searching = tables._guide_cells(row, bits)
        assert cells.size == (1 << bits) + 1
        assert searching <= tables.SEARCH_SHARE * (1 << bits) or bits == tables.MAX_CELL_BITS
        rows.append((offset, kmin, row.size))
        guide.append(
            (kmin << tables.GUIDE_KMIN_AT)
            | (cell_offset << tables.GUIDE_CELLS_AT)
            | (tables.UNIFORM_BITS - bits)
        )
        chunks.append(row)
        cell_chunks.append(cells)
        offset += row.size
        cell_offset += cells.size
    return (
        np.concatenate(chunks),
        np.array(rows, np.int64),
        np.array(guide, np.int64),
        np.concatenate(cell_chunks),
    )


@given(
    st.lists(
        st.one_of(
            st.floats(0.0, 1.0),
            st.sampled_from([0.0, 1e-300, 1e-17, 2.0**-53, 2.0**-20, 0.5]),
        ),
        min_size=1,
        max_size=300,
    ).filter(lambda w: sum(w) > 0)
)
def test_guide_lookup_is_the_binary_search_for_any_pmf(weights):
    """Invariant: for any pmf (tiny, equal, zero masses), lookups agree at every edge."""
    cdf, rows, guide, cells = _tables_of([weights])
    _assert_lookups_agree(cdf, rows, guide, cells, n=200)


def test_guide_lookup_long_rows():
    """Long rows: many steps per cell, candidates past 2**11, a long tail in one cell."""
    k = np.arange(12_001)
    pmfs = [
        stats.binom.pmf(k, 12_000, 0.5),  # about a thousand values, at the most cells
        np.full(3000, 1.0),  # 3000 equal steps: every cell searches, some past 2**11
        np.r_[1.0, np.full(4000, 1e-12)],  # 4000 tiny steps crowding the last cell
    ]
    cdf, rows, guide, cells = _tables_of(pmfs)
    _assert_lookups_agree(cdf, rows, guide, cells, n=5000)


# -- the laws drawn ----------------------------------------------------------------------

DRAWS = 200_000


@njit
def _guide_draws(key, cdf, rows, guide, cells, r, out):
    s = np.empty(4, np.uint64)
    seed_stream(s, key, 0, 0)
    for i in range(out.shape[0]):
        out[i] = fresh.guide_draw(fresh._bits(fresh.next_u64(s)), cdf, rows, guide, cells, r)


def _assert_matches_pmf(draws, support, pmf):
    """Every cell's count within 4 binomial sigma of its expectation; nothing off support."""
    assert draws.min() >= support[0] and draws.max() <= support[-1]
    counts = np.bincount(draws - support[0], minlength=support.size)
    expected = draws.size * pmf
    sigma = np.sqrt(draws.size * pmf * (1 - pmf)) + 1e-9
    z = (counts - expected) / sigma
    worst = int(np.argmax(np.abs(z)))
    assert abs(z[worst]) <= 4.0 or (expected[worst] < 1 and counts[worst] <= 3), (
        f"value {support[worst]}: {counts[worst]} draws, {expected[worst]:.1f} expected"
    )


@pytest.mark.parametrize(
    ("family", "index", "law"),
    [
        # official county: villages of 250 .. 600 households
        (tables.TB_REG_POOR, 425 - 250, lambda k: stats.binom.pmf(k, 425, 0.35)),
        (tables.TB_REMAINING, 150, lambda k: stats.binom.pmf(k, 150, 0.03)),
        (
            tables.TB_DISAPPROVE,
            600 - 250,
            lambda k: stats.betabinom.pmf(k, 600, 0.05 * 19.0, 0.95 * 19.0),
        ),
        (
            tables.TB_SIZES,
            0,
            lambda k: np.r_[0.0, County().household_sizes, np.zeros(k.size)][k],
        ),
    ],
)
def test_guide_draws_follow_their_law(family, index, law):
    cint, cflt, size_cdf = County()._engine_params()
    cdf, rows, guide, cells, base = tables.fresh_tables(cint, cflt, size_cdf)
    out = np.empty(DRAWS, np.int64)
    _guide_draws(
        stream_key(np.random.SeedSequence(family)),
        cdf,
        rows,
        guide,
        cells,
        base[family] + index,
        out,
    )
    support = np.arange(0, out.max() + 1)
    _assert_matches_pmf(out, support, law(support))


@njit
def _sums_of_sizes(key, households, cdf, rows, guide, cells, base, out):
    s = np.empty(4, np.uint64)
    seed_stream(s, key, 0, 0)
    for i in range(out.shape[0]):
        out[i] = fresh._sum_of_sizes(s, households, cdf, rows, guide, cells, base)


@pytest.mark.parametrize("households", [0, 1, 7, 1000, 61_234])
def test_sum_of_sizes_mean_and_variance(households):
    """Persons of m households: mean m E[size] and variance m Var[size], within 4 MCSE."""
    county = County()
    cint, cflt, size_cdf = county._engine_params()
    cdf, rows, guide, cells, base = tables.fresh_tables(cint, cflt, size_cdf)
    out = np.empty(20_000, np.int64)
    _sums_of_sizes(
        stream_key(np.random.SeedSequence(households)),
        households,
        cdf,
        rows,
        guide,
        cells,
        base,
        out,
    )
    p = np.asarray(county.household_sizes)
    size = np.arange(1, p.size + 1)
    mean, var = households * (p @ size), households * (p @ size**2 - (p @ size) ** 2)
    if households == 0:
        assert not out.any()
        return
    assert_within_mcse(out.mean(), out.std() / np.sqrt(out.size), mean)
    dev2 = (out - out.mean()) ** 2
    assert_within_mcse(dev2.mean(), dev2.std() / np.sqrt(out.size), var)


@njit
def _county_totals(key, n, villages, fam_row, low, span, cdf, rows, guide, cells, base, out):
    s = np.empty(4, np.uint64)
    seed_stream(s, key, 0, 0)
    tot = np.zeros(fresh.V_N, np.int64)
    for i in range(n):
        tot[:] = 0
        fresh._count_villages(s, villages, fam_row, low, span, cdf, rows, guide, cells, base, tot)
        out[i] = tot


def test_count_villages_means():
    """Counts of villages not sampled: each total's mean is its exact expectation (4 MCSE)."""
    county = County(villages=40, households_per_village=(50, 90), icc_approval=0.2)
    cint, cflt, size_cdf = county._engine_params()
    cdf, rows, guide, cells, base = tables.fresh_tables(cint, cflt, size_cdf)
    n = 20_000
    out = np.empty((n, fresh.V_N), np.int64)
    _county_totals(
        stream_key(np.random.SeedSequence(5)),
        n,
        40,
        base[tables.TB_REG_NONPOOR],
        50,
        41,
        cdf,
        rows,
        guide,
        cells,
        base,
        out,
    )
    hh = 40 * 70.0
    reg = hh * county.registered_share_nonpoor
    rem = reg * county.remaining_share
    exact = {
        fresh.V_HOUSEHOLDS: hh,
        fresh.V_REMAINING: rem,
        fresh.V_EXITED: reg - rem,
        fresh.V_NONREG: hh - reg,
        fresh.V_WRONGFUL: (reg - rem) * county.wrongful_exit_rate,
        fresh.V_OMITTED: (hh - reg) * county.omission_rate,
        fresh.V_DISAPPROVE: hh * (1 - county.approval_rate),
    }
    for field, value in exact.items():
        x = out[:, field]
        assert_within_mcse(x.mean(), x.std() / np.sqrt(n), value)
    # counts never exceed their population
    assert (out[:, fresh.V_EXITED] >= out[:, fresh.V_WRONGFUL]).all()
    assert (out[:, fresh.V_NONREG] >= out[:, fresh.V_OMITTED]).all()
    assert (out[:, fresh.V_HOUSEHOLDS] >= out[:, fresh.V_DISAPPROVE]).all()


def test_all_or_nothing_villages_at_icc_one():
    """At ICC 1 a village's rate is 1 or 0 (as the household-level populations): so its count."""
    county = County(omission_rate=0.2, icc_omission=1.0)
    cint, cflt, size_cdf = county._engine_params()
    cdf, rows, guide, cells, base = tables.fresh_tables(cint, cflt, size_cdf)
    out = np.empty(DRAWS, np.int64)
    _guide_draws(
        stream_key(np.random.SeedSequence(11)),
        cdf,
        rows,
        guide,
        cells,
        base[tables.TB_OMISSION] + 300,
        out,
    )
    support = np.arange(301)
    pmf = np.zeros(301)
    pmf[0], pmf[300] = 0.8, 0.2
    _assert_matches_pmf(out, support, pmf)
