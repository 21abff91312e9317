"""Fresh-population tables (the count-level fresh kernel's laws)."""

import numpy as np
from numba import njit

from povsim import County
from povsim._engine import fresh, tables
from povsim._engine.rng import seed_stream, stream_key, uniform

DRAWS = 200_000


@njit
def _table_draws(key, cdf, rows, r, out):
    s = np.empty(4, np.uint64)
    seed_stream(s, key, 0, 0)
    for i in range(out.shape[0]):
        out[i] = fresh.table_draw(uniform(s), cdf, rows, r)


def test_all_or_nothing_villages_at_icc_one():
    """At ICC 1 a village's rate is 1 or 0 (as the household-level populations): so its count."""
    county = County(omission_rate=0.2, icc_omission=1.0)
    cint, cflt, size_cdf = county._engine_params()
    cdf, rows, base = tables.fresh_tables(cint, cflt, size_cdf)
    out = np.empty(DRAWS, np.int64)
    _table_draws(
        stream_key(np.random.SeedSequence(11)), cdf, rows, base[tables.TB_OMISSION] + 300, out
    )
    assert set(np.unique(out)) == {0, 300}
    share = np.mean(out == 300)
    assert abs(share - 0.2) <= 4 * np.sqrt(0.2 * 0.8 / DRAWS)
