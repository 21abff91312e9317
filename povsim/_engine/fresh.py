"""Fresh two-stage populations drawn as village counts, one per check.

:func:`block_fresh_two_stage` runs a block of checks, each on its own
population drawn village by village as counts from table-driven exact laws
(:mod:`.tables`), with only the sampled households in detail. Measurement, the
rule and the accumulation are those of :mod:`.kernel`.
"""

from __future__ import annotations

import numpy as np

from . import population as pop
from . import rule as rl
from ._jit import jit
from .kernel import (
    A_APPROVERS,
    A_HH_O,
    A_HH_W,
    A_N,
    A_N_O,
    A_N_W,
    A_NFIELDS,
    BLOCK,
    D_KIND,
    D_PER_VILLAGE,
    D_PER_VILLAGE_REGISTERED,
    D_POOR_VILLAGES,
    D_REPLACE,
    D_VILLAGES,
    H_OU,
    H_WU,
    M_TEAMS,
    TWO_STAGE,
    _begin_check,
    _finish_check,
    _measure_village,
    _n_slots,
    _pick_design_villages,
    _truth,
)
from .rng import PURPOSE_FRESH_VILLAGES, next_state, next_u64, seed_stream
from .samplers import hypergeometric
from .tables import (
    CELL_STEP_BITS,
    GUIDE_CELLS_AT,
    GUIDE_CELLS_MASK,
    GUIDE_KMIN_AT,
    GUIDE_SHIFT_MASK,
    ROW_KMIN,
    ROW_LENGTH,
    ROW_OFFSET,
    TB_DISAPPROVE,
    TB_OMISSION,
    TB_REG_NONPOOR,
    TB_REG_POOR,
    TB_REMAINING,
    TB_SIZES,
    TB_WRONGFUL,
)

_TWO_M53 = 2.0**-53  # w * _TWO_M53 is the uniform of a 53-bit integer w, as in .rng

# County totals of the villages drawn so far (``tot`` of :func:`_count_villages`).
V_HOUSEHOLDS = 0
V_EXITED = 1
V_REMAINING = 2
V_NONREG = 3
V_WRONGFUL = 4
V_OMITTED = 5
V_DISAPPROVE = 6
V_N = 7


@jit
def table_draw(u, cdf, rows, r):
    """Inverse CDF at ``u`` of table row ``r`` (see :mod:`.tables`): binary search.

    The slow, obvious twin of :func:`guide_draw` (which gives the same value at
    ``u = w / 2**53``).
    """
    off = rows[r, ROW_OFFSET]
    lo = 0
    hi = rows[r, ROW_LENGTH] - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[off + mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return rows[r, ROW_KMIN] + lo


@jit
def guide_draw(w, cdf, rows, guide, cells, r):
    """Inverse CDF of table row ``r`` at ``u = w / 2**53`` (``w`` a 53-bit integer): guide table.

    The value :func:`table_draw` gives at ``u``, found in O(1): ``guide[r]``
    locates the row's cells, and the cell of ``w`` holds the candidate and the
    threshold where the answer steps up (see :mod:`.tables`), or, in the few
    cells of the tails, the bounds of a short binary search.
    """
    # unsigned indices: numba skips the wraparound of negative ones (never met here)
    p = guide[np.uint64(r)]
    s = p & GUIDE_SHIFT_MASK
    c = ((p >> GUIDE_CELLS_AT) & GUIDE_CELLS_MASK) + (w >> s)
    e = np.int64(cells[np.uint64(c)])
    nxt = np.int64(cells[np.uint64(c + 1)])
    coarse = e & ((1 << CELL_STEP_BITS) - 1)
    q = (w & ((1 << s) - 1)) >> (s + 1 - CELL_STEP_BITS)
    k = (e >> CELL_STEP_BITS) + (q > coarse)
    # rare: a cell of the tails (binary search up to the next cell's candidate) or
    # w too near the step for its top bits (one comparison with the cdf)
    hi = k
    if e < 0:
        k = ~e
        hi = ~nxt if nxt < 0 else nxt >> CELL_STEP_BITS
    elif q == coarse:
        hi = k + 1
    # (no branch of its own around this loop: numba would count references per lookup)
    while k < hi:
        mid = (k + hi) >> 1
        if cdf[rows[r, ROW_OFFSET] + mid] > w * _TWO_M53:
            hi = mid
        else:
            k = mid + 1
    return (p >> GUIDE_KMIN_AT) + k


@jit
def _bits(x):
    """The 53-bit integer ``w`` of a 64-bit output (``uniform`` is ``w / 2**53``)."""
    return np.int64(x >> np.uint64(11))


# inlined by numba: LLVM leaves a function of five lookups as a call (and inlines
# guide_draw itself, so that one stays a plain jit function: less to compile)
@jit(inline="always")
def _village(s0, s1, s2, s3, fam_row, low, span, cdf, rows, guide, cells, base):
    """One village's counts from six draws of the state ``s0 .. s3`` (see the kernel).

    Returns ``(s0, s1, s2, s3, households, registered, remaining, wrongful,
    omitted, disapproving)``.
    """
    x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
    n_v = low + min(int(_bits(x) * _TWO_M53 * span), span - 1)
    x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
    reg = guide_draw(_bits(x), cdf, rows, guide, cells, fam_row + n_v - low)
    x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
    rem = guide_draw(_bits(x), cdf, rows, guide, cells, base[TB_REMAINING] + reg)
    x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
    wrong = guide_draw(_bits(x), cdf, rows, guide, cells, base[TB_WRONGFUL] + reg - rem)
    x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
    omit = guide_draw(_bits(x), cdf, rows, guide, cells, base[TB_OMISSION] + n_v - reg)
    x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
    dis = guide_draw(_bits(x), cdf, rows, guide, cells, base[TB_DISAPPROVE] + n_v - low)
    return s0, s1, s2, s3, n_v, reg, rem, wrong, omit, dis


@jit
def _add_counts(tot, hh, ex, rem, nonreg, wrong, omit, dis):
    """Add villages' household counts to the county totals ``tot`` (``V_*`` slots)."""
    tot[V_HOUSEHOLDS] += hh
    tot[V_EXITED] += ex
    tot[V_REMAINING] += rem
    tot[V_NONREG] += nonreg
    tot[V_WRONGFUL] += wrong
    tot[V_OMITTED] += omit
    tot[V_DISAPPROVE] += dis


@jit
def _count_villages(state, villages, fam_row, low, span, cdf, rows, guide, cells, base, tot):
    """Draw ``villages`` villages not sampled: only their counts, added to ``tot[V_*]``.

    The stream's state is held in registers for the loop and written back.
    """
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    hh = 0
    ex = 0
    rem = 0
    nonreg = 0
    wrong = 0
    omit = 0
    dis = 0
    for _ in range(villages):
        s0, s1, s2, s3, n_v, r_v, rem_v, wrong_v, omit_v, dis_v = _village(
            s0, s1, s2, s3, fam_row, low, span, cdf, rows, guide, cells, base
        )
        hh += n_v
        ex += r_v - rem_v
        rem += rem_v
        nonreg += n_v - r_v
        wrong += wrong_v
        omit += omit_v
        dis += dis_v
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    _add_counts(tot, hh, ex, rem, nonreg, wrong, omit, dis)


@jit
def _draw_sizes(state, m, cdf, rows, guide, cells, r, gsz, g, hist, h):
    """Sizes of ``m`` households into ``gsz[g, :m]``, counted in ``hist[h]``; their persons."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    persons = 0
    for i in range(m):
        x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
        sz = guide_draw(_bits(x), cdf, rows, guide, cells, r)
        gsz[g, i] = sz
        hist[h, sz] += 1
        persons += sz
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return persons


@jit
def _sum_of_sizes(f_state, households, cdf, rows, guide, cells, base):
    """Persons of ``households`` independent households: one table draw per binary digit."""
    total = 0
    j = 0
    m = households
    while m > 0:
        if m & 1:
            total += guide_draw(
                _bits(next_u64(f_state)), cdf, rows, guide, cells, base[TB_SIZES] + j
            )
        m >>= 1
        j += 1
    return total


@jit(nogil=True)
def block_fresh_two_stage(
    b,
    checks,
    key,
    cint,
    cdf,
    rows,
    guide,
    cells,
    base,
    design,
    meas,
    rule,
    statistic,
    shift,
    max_size,
    qtab,
    ri,
    rf,
    record,
):
    """Run the checks of block ``b``, each on a fresh population drawn as village counts.

    What a two-stage check observes of its population is the sampled villages in
    detail and the county only through its totals, so population ``c`` is drawn
    village by village as counts, each exactly from its law given the counts
    before it (:mod:`.tables`): households ``n``, registered ``~ Bin(n, share)``,
    remaining ``~ Bin(registered, share)``, wrongful exits among the exited,
    omissions among the never registered and disapprovals among all
    households beta-binomial (the village rates of the county model integrated
    out). In a sampled village, the sample's composition is then drawn by
    hypergeometric laws given the village counts (approval is independent of
    registry status given the village, so the sample's disapprovals are
    hypergeometric in the whole village), and each sampled household's size
    from the size law. Persons of the households not sampled are sums of
    independent sizes. The law of every count a check uses is the one of
    :func:`povsim._engine.population.generate_population` (without replacement
    only; with replacement the kernel draws whole populations).

    Every table lookup is :func:`guide_draw` (O(1), the value of the binary
    search :func:`table_draw`); the villages not sampled, in runs between the
    sampled ones, are drawn by :func:`_count_villages` with the stream held in
    registers. Sampled households' sizes come from the table of one
    household's persons (the county's size law).
    ``cdf``, ``rows``, ``guide``, ``cells`` and ``base`` are the tables of
    :func:`povsim._engine.tables.fresh_tables`.
    """
    n_vill = cint[pop.CI_VILLAGES]
    n_poor = cint[pop.CI_POOR_VILLAGES]
    low = cint[pop.CI_HH_LOW]
    span = cint[pop.CI_HH_HIGH] - low + 1
    m_vill = max(design[D_VILLAGES], 1)
    b_per = design[D_PER_VILLAGE]
    b_reg = design[D_PER_VILLAGE_REGISTERED]
    teams = int(meas[M_TEAMS])
    n_slots = _n_slots(design, meas, n_vill)
    size_row = base[TB_SIZES]  # persons of one household
    order = np.arange(n_vill)
    slot_of = np.full(n_vill, -1, np.int64)
    vsel = np.empty(m_vill, np.int64)
    swaps = np.empty(m_vill, np.int64)
    gsz = np.empty((4, max(b_per, 1)), np.int64)
    gcnt = np.zeros(4, np.int64)
    acc = np.zeros(A_NFIELDS, np.int64)
    hist = np.zeros((4, max_size + 1), np.int64)
    qb = np.empty((n_slots, 4), np.float64)
    tq = np.empty((n_slots, 2), np.float64)
    tu = np.empty((n_slots, 2), np.float64)
    totals = np.zeros(pop.T_NTOTALS, np.float64)
    tot = np.zeros(V_N, np.int64)
    scratch = rl.margin_scratch_jit(max_size)
    states = np.empty((4, 4), np.uint64)
    s_state = states[0]
    m_state = states[1]
    f_state = states[3]
    no = design[D_REPLACE] != design[D_REPLACE]  # False, typed bool (not a literal)
    m_poor = design[D_POOR_VILLAGES]
    s_cnt = np.zeros(4, np.int64)  # sampled households by category: exited ok, wrongful,
    s_persons = np.zeros(4, np.int64)  # never registered ok, omitted; and their persons
    first = b * BLOCK
    for c in range(first, min(first + BLOCK, checks)):
        _begin_check(c, key, meas, states, qtab, qb, tq, tu, acc, hist)
        seed_stream(f_state, key, c, PURPOSE_FRESH_VILLAGES)
        # which villages the check samples (villages are exchangeable in their class)
        got = _pick_design_villages(s_state, order, n_poor, m_vill, m_poor, no, vsel, swaps)
        for j in range(got):
            slot_of[vsel[j]] = j
        for i in range(V_N):
            tot[i] = 0
        for g in range(4):
            s_cnt[g] = 0
            s_persons[g] = 0
        n_all = 0
        approvers = 0
        # villages in order: runs not sampled as counts only, then a sampled one in detail
        v = 0
        while v < n_vill:
            end = n_poor if v < n_poor else n_vill
            fam_row = base[TB_REG_POOR] if v < n_poor else base[TB_REG_NONPOOR]
            nxt = v
            while nxt < end and slot_of[nxt] < 0:
                nxt += 1
            _count_villages(
                f_state, nxt - v, fam_row, low, span, cdf, rows, guide, cells, base, tot
            )
            v = nxt
            if v == end:
                continue
            j = slot_of[v]
            slot_of[v] = -1
            v += 1
            s0, s1, s2, s3, n_v, reg, rem, wrong, omit, dis = _village(
                f_state[0],
                f_state[1],
                f_state[2],
                f_state[3],
                fam_row,
                low,
                span,
                cdf,
                rows,
                guide,
                cells,
                base,
            )
            f_state[0], f_state[1], f_state[2], f_state[3] = s0, s1, s2, s3
            ex = reg - rem
            nonreg = n_v - reg
            _add_counts(tot, n_v, ex, rem, nonreg, wrong, omit, dis)
            # the sample's composition in this village, given its counts
            if b_reg >= 0:
                k_reg = min(b_reg, reg)
                k_non = min(b_per - b_reg, nonreg)
                rem_s = hypergeometric(s_state, reg, rem, k_reg)
                ex_s = k_reg - rem_s
            else:
                k_all = min(b_per, n_v)
                ex_s = hypergeometric(s_state, n_v, ex, k_all)
                rem_s = hypergeometric(s_state, n_v - ex, rem, k_all - ex_s)
                k_reg = ex_s + rem_s
                k_non = k_all - k_reg
            wrong_s = hypergeometric(s_state, ex, wrong, ex_s)
            omit_s = hypergeometric(s_state, nonreg, omit, k_non)
            dis_s = hypergeometric(s_state, n_v, dis, k_reg + k_non)
            n_all += k_reg + k_non
            approvers += k_reg + k_non - dis_s
            gcnt[0] = ex_s - wrong_s
            gcnt[1] = wrong_s
            gcnt[2] = k_non - omit_s
            gcnt[3] = omit_s
            for g in range(4):
                hu = H_WU if g < 2 else H_OU
                s_persons[g] += _draw_sizes(
                    s_state, gcnt[g], cdf, rows, guide, cells, size_row, gsz, g, hist, hu
                )
                s_cnt[g] += gcnt[g]
            _measure_village(
                m_state, j % teams if teams > 0 else j, meas, qb, tq, tu, acc, hist, gsz, gcnt
            )
        hh = tot[V_HOUSEHOLDS]
        n_exited = tot[V_EXITED]
        n_remaining = tot[V_REMAINING]
        n_nonreg = tot[V_NONREG]
        n_wrongful = tot[V_WRONGFUL]
        n_omitted = tot[V_OMITTED]
        n_disapprove = tot[V_DISAPPROVE]
        # persons: sampled households' sizes plus sums of independent sizes for the rest
        p_ok_e = s_persons[0] + _sum_of_sizes(
            f_state, n_exited - n_wrongful - s_cnt[0], cdf, rows, guide, cells, base
        )
        p_wrong = s_persons[1] + _sum_of_sizes(
            f_state, n_wrongful - s_cnt[1], cdf, rows, guide, cells, base
        )
        p_ok_n = s_persons[2] + _sum_of_sizes(
            f_state, n_nonreg - n_omitted - s_cnt[2], cdf, rows, guide, cells, base
        )
        p_omit = s_persons[3] + _sum_of_sizes(
            f_state, n_omitted - s_cnt[3], cdf, rows, guide, cells, base
        )
        p_rem = _sum_of_sizes(f_state, n_remaining, cdf, rows, guide, cells, base)
        totals[pop.T_EXITED_PERSONS] = p_ok_e + p_wrong
        totals[pop.T_WRONGFUL_PERSONS] = p_wrong
        totals[pop.T_NONREG_PERSONS] = p_ok_n + p_omit
        totals[pop.T_OMITTED_PERSONS] = p_omit
        totals[pop.T_REMAINING_PERSONS] = p_rem
        totals[pop.T_HOUSEHOLDS] = hh
        totals[pop.T_APPROVING] = hh - n_disapprove
        totals[pop.T_EXITED_HH] = n_exited
        totals[pop.T_REMAINING_HH] = n_remaining
        totals[pop.T_NONREG_HH] = n_nonreg
        acc[A_N] += n_all
        acc[A_APPROVERS] += approvers
        acc[A_N_W] += s_persons[0] + s_persons[1]
        acc[A_HH_W] += s_cnt[0] + s_cnt[1]
        acc[A_N_O] += s_persons[2] + s_persons[3]
        acc[A_HH_O] += s_cnt[2] + s_cnt[3]
        t_inc, t_w, t_o, t_a, true_pass = _truth(totals, rule)
        _finish_check(
            c,
            first,
            m_state,
            acc,
            hist,
            totals,
            rule,
            statistic,
            meas,
            shift,
            t_inc,
            t_w,
            t_o,
            t_a,
            true_pass,
            scratch,
            ri,
            rf,
            record,
        )


def fresh_tables_for(fresh, cint, cflt, size_cdf, design):
    """Tables for :func:`block_fresh_two_stage` where it applies, else None."""
    if not fresh or design[D_KIND] != TWO_STAGE or design[D_REPLACE] != 0:
        return None
    from .tables import fresh_tables

    return fresh_tables(cint, cflt, size_cdf)
