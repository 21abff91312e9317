"""The engine's exact discrete samplers against scipy.stats, cell by cell within 4 sigma."""

import numpy as np
import pytest
from helpers import SMALL_HETEROGENEOUS
from numba import njit
from scipy import stats

from povsim._engine.rng import seed_stream, stream_key
from povsim._engine.samplers import binomial, hypergeometric

DRAWS = 200_000


@njit
def _binomials(key, n, p, out):
    s = np.empty(4, np.uint64)
    seed_stream(s, key, 0, 0)
    for i in range(out.shape[0]):
        out[i] = binomial(s, n, p)


@njit
def _hypergeometrics(key, total, good, k, out):
    s = np.empty(4, np.uint64)
    seed_stream(s, key, 0, 0)
    for i in range(out.shape[0]):
        out[i] = hypergeometric(s, total, good, k)


def _assert_matches_pmf(draws, support, pmf):
    """Every cell's count within 4 binomial sigma of its expectation; nothing off support."""
    assert draws.min() >= support[0] and draws.max() <= support[-1]
    counts = np.bincount(draws - support[0], minlength=support.size)
    expected = DRAWS * pmf
    sigma = np.sqrt(DRAWS * pmf * (1 - pmf)) + 1e-9
    z = (counts - expected) / sigma
    worst = int(np.argmax(np.abs(z)))
    assert abs(z[worst]) <= 4.0 or (expected[worst] < 1 and counts[worst] <= 3), (
        f"value {support[worst]}: {counts[worst]} draws, {expected[worst]:.1f} expected"
    )
    # and the first two moments, within 4 standard errors
    mean = float(np.sum(support * pmf))
    sd = float(np.sqrt(np.sum((support - mean) ** 2 * pmf)))
    if sd > 0:
        assert abs(draws.mean() - mean) <= 4 * sd / np.sqrt(DRAWS)


BINOMIAL_CASES = [
    (20, 0.0003),  # the fast path: almost always 0
    (20, 0.05),
    (40, 0.5),
    (1, 0.9),  # mirrored
    (950, 0.01),  # approval misreporting
    (1000, 0.3),  # split into chunks
    (5000, 0.97),  # mirrored and split
    (7, 1.0),
    (0, 0.4),
]


@pytest.mark.parametrize(("n", "p"), BINOMIAL_CASES)
def test_binomial_matches_scipy(n, p):
    out = np.empty(DRAWS, np.int64)
    _binomials(stream_key(np.random.SeedSequence(n)), n, p, out)
    support = np.arange(n + 1)
    _assert_matches_pmf(out, support, stats.binom.pmf(support, n, p))


HYPERGEOMETRIC_CASES = [
    (140, 4, 20),  # remaining households among a village's registered sample
    (400, 30, 40),
    (400, 370, 40),  # mirrored on the good units
    (60, 10, 50),  # mirrored on the sample
    (60, 45, 50),  # both
    (50, 0, 10),
    (50, 50, 10),
    (50, 20, 50),
    (3000, 1500, 1400),  # P(0) underflows: unit-by-unit fallback
]


@pytest.mark.parametrize(("total", "good", "k"), HYPERGEOMETRIC_CASES)
def test_hypergeometric_matches_scipy(total, good, k):
    out = np.empty(DRAWS, np.int64)
    _hypergeometrics(stream_key(np.random.SeedSequence(total + good)), total, good, k, out)
    support = np.arange(0, min(good, k) + 1)
    _assert_matches_pmf(out, support, stats.hypergeom.pmf(support, total, good, k))


# -- fresh two-stage populations drawn as village counts ---------------------------------


def test_fresh_village_counts_match_whole_populations(monkeypatch):
    """The count-level fresh kernel and the household-level one agree within 4 MCSE."""
    import povsim
    from povsim import Design, Measurement, Scenario
    from povsim._engine import fresh

    county = SMALL_HETEROGENEOUS
    s = Scenario(
        county=county,
        design=Design.two_stage(200, 8),
        measurement=Measurement(sensitivity=0.9, specificity=0.99, team_sd=0.4, teams=3),
        population="fresh",
    )
    fast = povsim.simulate(s, checks=40_000, seed=3)
    monkeypatch.setattr(fresh, "fresh_tables_for", lambda *a: None)
    slow = povsim.simulate(s, checks=40_000, seed=4)
    for name in ("p_pass", "p_true_pass", "true_value", "estimate_mean", "estimate_sd"):
        a, b = fast[name].values, slow[name].values
        se = np.hypot(fast[f"{name}_mcse"].values, slow[f"{name}_mcse"].values)
        z = np.abs(a - b) / np.where(se > 0, se, np.inf)
        assert np.all(z <= 4), f"{name}: {a} vs {b} (z = {z})"
    np.testing.assert_allclose(
        fast.sampled_households.values, slow.sampled_households.values, rtol=0.01
    )
