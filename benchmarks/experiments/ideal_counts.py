"""How fast could the counts kernel be? Its household part, idealised, against the ceiling.

``counts-kernel.patch`` (beside this file) draws each sampled village stratum of a
two-stage check as counts: one guide-table lookup gives the number ``r`` of
*special* households in the stratum's sample jointly with the persons of the
*plain* ones, and only the ``r`` special households are drawn in detail (Floyd's
algorithm). This script times the least that such a kernel must do per check, on
the patch's own tables for ``Scenario.official_2018(region="western")``:

- seed the sampling and measurement streams, draw the villages;
- per sampled stratum, the one lookup, and the special households by Floyd's
  algorithm, each tallied branch-free (one table load and one add);
- per sampled village, one uniform against a flag bound.

It leaves out everything else a real kernel needs: sorting the special households
into measurement groups, the flags, the size histograms of the verdict margin, the
rare paths. It prints this *idealised household part* per check, with and without
the special households, as a share of a check's budget: 2000 uniforms of the
ceiling generator (as in ``benchmarks/bench_engine.py``), timed alternately in the
same process on one thread. The frame of a check (everything but its households,
the ``frame`` row of the benchmark) comes on top.

Run it on a scratch copy of the repository with the patch applied::

    git worktree add --detach /tmp/povsim-counts main
    cd /tmp/povsim-counts && git apply benchmarks/experiments/counts-kernel.patch
    NUMBA_NUM_THREADS=1 PYTHONPATH=. python benchmarks/experiments/ideal_counts.py
"""

from __future__ import annotations

import importlib
import statistics
import time

import numpy as np
from numba import njit, uint64

import povsim
from povsim._engine import counts as ct
from povsim._engine import kernel as k
from povsim._engine.fresh import _bits, guide_draw
from povsim._engine.rng import (
    PURPOSE_MEASUREMENT,
    PURPOSE_SAMPLING,
    next_state,
    seed_stream,
    stream_key,
    uniform,
)

CHECKS = 100_000
REPS = 7
CEILING_DRAWS = 100_000_000


def tally_table() -> np.ndarray:
    """Packed tally of each household code: persons, one household, approval, problem."""
    codes = np.arange(1 << 16, dtype=np.uint64)
    size = codes & np.uint64(k.CODE_SIZE)
    approve = (codes >> np.uint64(k.CODE_APPROVE)) & np.uint64(1)
    problem = (codes >> np.uint64(k.CODE_PROBLEM)) & np.uint64(1)
    return (
        size
        | (np.uint64(1) << np.uint64(16))
        | (approve << np.uint64(28))
        | (problem << np.uint64(40))
    )


@njit
def household_part(checks, key, tables, vorder, n_poor, design, tally, flag_bound, specials):
    """The idealised household part of ``checks`` checks; ``specials=0`` skips the Floyd draws."""
    scode, strata, n_seg, cdf, rows, guide, cells, w_bits = tables
    s_state = np.empty(4, np.uint64)
    m_state = np.empty(4, np.uint64)
    order = vorder.copy()
    m = design[k.D_VILLAGES]
    vsel = np.zeros(m, np.int64)
    swaps = np.zeros(m, np.int64)
    mark = np.full(max(1, np.max(strata[:, ct.ST_SPECIAL])), -1, np.int32)
    stamp = 0
    w_mask = (np.int64(1) << w_bits) - 1
    total = uint64(0)
    unsettled = 0
    for c in range(checks):
        seed_stream(s_state, key, c, PURPOSE_SAMPLING)
        seed_stream(m_state, key, c, PURPOSE_MEASUREMENT)
        got = k._pick_design_villages(
            s_state, order, n_poor, m, design[k.D_POOR_VILLAGES], False, vsel, swaps
        )
        s0, s1, s2, s3 = s_state[0], s_state[1], s_state[2], s_state[3]
        acc = uint64(0)
        persons = 0
        plain = 0
        for j in range(got):
            for seg in range(n_seg):
                i = vsel[j] * n_seg + seg
                x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
                value = guide_draw(_bits(x), cdf, rows, guide, cells, i)
                r = value >> w_bits
                persons += value & w_mask
                plain += strata[i, ct.ST_K] - r
                lo = strata[i, ct.ST_LO]
                n = strata[i, ct.ST_SPECIAL]
                stamp += 1
                jj = n - r * specials
                while jj < n:
                    x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
                    t, s0, s1, s2, s3 = k._below32(x & k._MASK32, uint64(jj + 1), s0, s1, s2, s3)
                    t = jj if mark[t] == stamp else t
                    mark[t] = stamp
                    acc += tally[scode[lo + t]]
                    jj += 1
            if uniform(m_state) < flag_bound:
                unsettled += 1
        total += acc + uint64(persons + plain)
    return total, unsettled


@njit
def ceiling(key, n):
    """The benchmark's ceiling on one thread: ``n`` uniforms summed."""
    s = np.empty(4, np.uint64)
    seed_stream(s, key, 0, 0)
    acc = 0.0
    for _ in range(n):
        acc += uniform(s)
    return acc


def main() -> None:
    sim = importlib.import_module("povsim.simulate")
    scenario = povsim.Scenario.official_2018(region="western")
    prep = sim._prepare(scenario, stream_key(np.random.SeedSequence(1)), None)
    fn, args, _ = prep.plan()
    if fn is not ct.block_counts:
        raise RuntimeError("the counts kernel does not apply to this population")
    key, scode, strata, n_seg, cdf, rows, guide, cells, w_bits, s_top, vorder, n_poor = args[:12]
    design = args[13]
    tables = (scode, strata, n_seg, cdf, rows, guide, cells, w_bits)
    n_special = strata[:, ct.ST_SPECIAL].sum()
    share = n_special / (n_special + strata[:, ct.ST_PLAIN].sum())
    megabytes = sum(a.nbytes for a in (cdf, rows, guide, cells)) / 2**20
    print(f"cut-off size {s_top}; special households {share:.1%}; tables {megabytes:.1f} MB")
    tally = tally_table()
    bound = 0.02  # a flag bound of the usual size: the branch is rarely taken
    call = (key, tables, vorder, n_poor, design, tally, bound)
    household_part(100, *call, 1)
    household_part(100, *call, 0)
    ceiling(key, 10)
    rows_out = []
    for _ in range(REPS):
        t0 = time.perf_counter()
        ceiling(key, CEILING_DRAWS)
        budget = 2000 * (time.perf_counter() - t0) / CEILING_DRAWS
        t0 = time.perf_counter()
        household_part(CHECKS, *call, 1)
        full = (time.perf_counter() - t0) / CHECKS
        t0 = time.perf_counter()
        household_part(CHECKS, *call, 0)
        lookups = (time.perf_counter() - t0) / CHECKS
        rows_out.append((budget, full, lookups))
        print(
            f"budget {budget * 1e6:.2f} us a check; idealised household part {full * 1e6:.2f} us "
            f"({full / budget:.2f}); without the special households {lookups * 1e6:.2f} us "
            f"({lookups / budget:.2f})"
        )
    full_share = statistics.median(f / b for b, f, _ in rows_out)
    lookup_share = statistics.median(x / b for b, _, x in rows_out)
    print(
        f"medians of {REPS}: idealised household part {full_share:.3f} of the budget, "
        f"{lookup_share:.3f} without the special households"
    )


if __name__ == "__main__":
    main()
