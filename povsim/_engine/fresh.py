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
    _finish_check_any,
    _measure_village,
    _n_slots,
    _pick_villages,
    _truth,
)
from .rng import PURPOSE_FRESH_VILLAGES, seed_stream, uniform
from .samplers import hypergeometric
from .tables import (
    TB_DISAPPROVE,
    TB_OMISSION,
    TB_REG_NONPOOR,
    TB_REG_POOR,
    TB_REMAINING,
    TB_SIZES,
    TB_WRONGFUL,
)


@jit
def table_draw(u, cdf, rows, r):
    """Inverse CDF at ``u`` of table row ``r`` (see :mod:`.tables`): binary search."""
    off = rows[r, 0]
    lo = 0
    hi = rows[r, 2] - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        if cdf[off + mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return rows[r, 1] + lo


@jit
def _sum_of_sizes(f_state, households, cdf, rows, base):
    """Persons of ``households`` independent households: one table draw per binary digit."""
    total = 0
    j = 0
    m = households
    while m > 0:
        if m & 1:
            total += table_draw(uniform(f_state), cdf, rows, base[TB_SIZES] + j)
        m >>= 1
        j += 1
    return total


@jit
def _draw_size(state, size_cdf):
    u = uniform(state)
    k = 0
    while k < size_cdf.shape[0] - 1 and u >= size_cdf[k]:
        k += 1
    return k + 1


@jit(nogil=True)
def block_fresh_two_stage(
    b,
    checks,
    key,
    cint,
    size_cdf,
    cdf,
    rows,
    base,
    design,
    meas,
    rule,
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
    scratch = rl.margin_scratch_jit(max_size)
    states = np.empty((4, 4), np.uint64)
    s_state = states[0]
    m_state = states[1]
    f_state = states[3]
    zero = np.int64(0)
    no = design[D_REPLACE] != design[D_REPLACE]  # False, typed bool (not a literal)
    m_poor = design[D_POOR_VILLAGES]
    s_cnt = np.zeros(4, np.int64)  # sampled households by category: exited ok, wrongful,
    s_persons = np.zeros(4, np.int64)  # never registered ok, omitted; and their persons
    first = b * BLOCK
    for c in range(first, min(first + BLOCK, checks)):
        _begin_check(c, key, meas, states, qtab, qb, tq, tu, acc, hist)
        seed_stream(f_state, key, c, PURPOSE_FRESH_VILLAGES)
        # which villages the check samples (villages are exchangeable in their class)
        if m_poor >= 0:
            got = _pick_villages(s_state, order, zero, n_poor, m_poor, no, vsel, zero, swaps)
            got = _pick_villages(
                s_state, order, n_poor, n_vill - n_poor, m_vill - m_poor, no, vsel, got, swaps
            )
        else:
            got = _pick_villages(s_state, order, zero, n_vill, m_vill, no, vsel, zero, swaps)
        for j in range(got):
            slot_of[vsel[j]] = j
        hh = 0
        n_exited = 0
        n_remaining = 0
        n_nonreg = 0
        n_wrongful = 0
        n_omitted = 0
        n_disapprove = 0
        for g in range(4):
            s_cnt[g] = 0
            s_persons[g] = 0
        n_all = 0
        approvers = 0
        for v in range(n_vill):
            n_v = low + min(int(uniform(f_state) * span), span - 1)
            fam = TB_REG_POOR if v < n_poor else TB_REG_NONPOOR
            reg = table_draw(uniform(f_state), cdf, rows, base[fam] + n_v - low)
            rem = table_draw(uniform(f_state), cdf, rows, base[TB_REMAINING] + reg)
            ex = reg - rem
            nonreg = n_v - reg
            wrong = table_draw(uniform(f_state), cdf, rows, base[TB_WRONGFUL] + ex)
            omit = table_draw(uniform(f_state), cdf, rows, base[TB_OMISSION] + nonreg)
            dis = table_draw(uniform(f_state), cdf, rows, base[TB_DISAPPROVE] + n_v - low)
            hh += n_v
            n_exited += ex
            n_remaining += rem
            n_nonreg += nonreg
            n_wrongful += wrong
            n_omitted += omit
            n_disapprove += dis
            j = slot_of[v]
            if j < 0:
                continue
            slot_of[v] = -1
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
                for i in range(gcnt[g]):
                    sz = _draw_size(s_state, size_cdf)
                    gsz[g, i] = sz
                    hist[hu, sz] += 1
                    s_persons[g] += sz
                s_cnt[g] += gcnt[g]
            _measure_village(
                m_state, j % teams if teams > 0 else j, meas, qb, tq, tu, acc, hist, gsz, gcnt
            )
        # persons: sampled households' sizes plus sums of independent sizes for the rest
        p_ok_e = s_persons[0] + _sum_of_sizes(
            f_state, n_exited - n_wrongful - s_cnt[0], cdf, rows, base
        )
        p_wrong = s_persons[1] + _sum_of_sizes(f_state, n_wrongful - s_cnt[1], cdf, rows, base)
        p_ok_n = s_persons[2] + _sum_of_sizes(
            f_state, n_nonreg - n_omitted - s_cnt[2], cdf, rows, base
        )
        p_omit = s_persons[3] + _sum_of_sizes(f_state, n_omitted - s_cnt[3], cdf, rows, base)
        p_rem = _sum_of_sizes(f_state, n_remaining, cdf, rows, base)
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
        _finish_check_any(
            c,
            first,
            m_state,
            acc,
            hist,
            totals,
            rule,
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
