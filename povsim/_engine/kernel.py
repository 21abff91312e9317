"""The spot-check engine: many simulated checks, accumulated into counts.

One *check* draws a sample of households from a population by the design,
records each sampled household's status through the measurement model, applies
the rule and computes the verdict margin (:func:`povsim._engine.rule.verdict_margin`).
Checks are grouped in fixed *blocks* of ``BLOCK`` consecutive check indices;
:func:`run_blocks` runs a range of blocks in parallel (``numba.prange``) and
writes one row of integer counts and one row of float sums per block. The
caller folds the rows in block order, so results are bit-identical whatever the
number of threads, the number of blocks per call or the executor. Check ``i``
draws only from the streams of ``(key, i, purpose)`` (see :mod:`.rng`).

In ``fresh`` mode check ``i`` first draws population ``i`` of the county
(:func:`povsim._engine.population.generate_population`), so that rates are taken
over the distribution of counties; otherwise every check samples the one fixed
population passed in.

Vectors
-------
``design`` int64[D_NPARAMS], ``meas`` float64[M_NPARAMS], ``rule`` float64[R_NPARAMS]
(:mod:`.rule`), population totals float64[T_NTOTALS] (:mod:`.population`).

Outputs per block
-----------------
``out_int[b, I_*]`` and ``out_flt[b, F_*]`` as laid out below.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange, uint64

from . import population as pop
from . import rule as rl
from ._jit import jit
from .rng import (
    PURPOSE_MEASUREMENT,
    PURPOSE_SAMPLING,
    PURPOSE_TEAMS,
    below,
    normal,
    seed_stream,
    uniform,
)

BLOCK = 1024

SRS = 0
STRATIFIED = 1
TWO_STAGE = 2

D_KIND = 0
D_HOUSEHOLDS = 1
D_VILLAGES = 2
D_POOR_VILLAGES = 3  # -1: villages not stratified
D_PER_VILLAGE = 4
D_PER_VILLAGE_REGISTERED = 5  # -1: households not stratified inside villages
D_REPLACE = 6
D_REGISTERED = 7  # stratified SRS: registered households sampled
D_NPARAMS = 8

M_SENSITIVITY = 0
M_SPECIFICITY = 1
M_TEAM_SD = 2
M_TEAMS = 3  # 0: one team per village
M_REVIEW_TRUE = 4
M_REVIEW_FALSE = 5
M_OVERREPORT = 6
M_UNDERREPORT = 7
M_NPARAMS = 8

# Integer counts per block.
I_CHECKS = 0
I_PASS = 1
I_TRUE_PASS = 2
I_PASS_AND_TRUE_PASS = 3
I_MASK = 4  # 16 entries: checks by fail mask (mask 0 = pass)
I_MARGIN_PASS = I_MASK + 16  # K_MAX + 2 entries: passing checks by margin (index = margin)
I_MARGIN_FAIL = I_MARGIN_PASS + rl.K_MAX + 2
I_HH_EXITED = I_MARGIN_FAIL + rl.K_MAX + 2
I_HH_NONREG = I_HH_EXITED + 1
I_HH_ALL = I_HH_NONREG + 1
I_NCOUNTS = I_HH_ALL + 1

# Float sums per block, for indicator j in (incidence, wrongful, omission, approval):
# base F_STRIDE * j + offset.
F_D1 = 0  # sum (estimate - shift)
F_D2 = 1
F_D3 = 2
F_D4 = 3
F_E1 = 4  # sum (estimate - truth)
F_E2 = 5
F_T1 = 6  # sum (truth - shift)
F_T2 = 7
F_STRIDE = 8
F_NSUMS = 4 * F_STRIDE

# Per-check records (only when asked for: ``record`` has BLOCK rows, else none).
C_X_W = 0  # recorded wrongful-exit persons
C_N_W = 1  # persons in sampled exited households
C_X_O = 2  # recorded omitted persons
C_N_O = 3  # persons in sampled never-registered households
C_X_A = 4  # approving answers
C_N_A = 5  # sampled households
C_HH_W = 6  # sampled exited households
C_HH_O = 7  # sampled never-registered households
C_MASK = 8  # fail mask (0 = pass)
C_MARGIN = 9
C_TRUE_PASS = 10
C_TRUE_INCIDENCE = 11
C_TRUE_WRONGFUL = 12
C_TRUE_OMISSION = 13
C_TRUE_APPROVAL = 14
C_NFIELDS = 15

_HASH_MUL = uint64(0x9E3779B97F4A7C15)


@jit(inline="always")
def _slot(key, mask):
    return int((uint64(key) * _HASH_MUL) >> uint64(40)) & mask


@jit
def sample_range(state, lo, n, k, replace, out, pos, hkey, hval, hstamp, stamp):
    """Append ``k`` draws from ``lo .. lo + n - 1`` to ``out[pos:]``; return the new end.

    Without replacement this is a partial Fisher–Yates shuffle of a *virtual*
    identity array whose displaced entries live in a small open-addressing hash
    table (``hkey``/``hval``, valid where ``hstamp == stamp``), so the cost is
    O(k), not O(n). ``k`` is capped at ``n``. Exactly ``k`` uniforms are used.
    """
    if n <= 0 or k <= 0:
        return pos
    if replace:
        for i in range(k):
            out[pos + i] = lo + below(state, n)
        return pos + k
    if k > n:
        k = n
    mask = hkey.shape[0] - 1
    for i in range(k):
        j = i + below(state, n - i)
        # value currently at position j
        sj = _slot(j, mask)
        vj = j
        while hstamp[sj] == stamp:
            if hkey[sj] == j:
                vj = hval[sj]
                break
            sj = (sj + 1) & mask
        # value currently at position i (i < j or i == j)
        si = _slot(i, mask)
        vi = i
        while hstamp[si] == stamp:
            if hkey[si] == i:
                vi = hval[si]
                break
            si = (si + 1) & mask
        if j != i:
            # position j now holds vi; find or make j's slot
            sj = _slot(j, mask)
            while hstamp[sj] == stamp and hkey[sj] != j:
                sj = (sj + 1) & mask
            hstamp[sj] = stamp
            hkey[sj] = j
            hval[sj] = vi
        out[pos + i] = lo + vj
    return pos + k


@jit
def _logit_shift(p, shift):
    if p <= 0.0 or p >= 1.0 or shift == 0.0:
        return p
    x = math.log(p / (1.0 - p)) + shift
    return 1.0 / (1.0 + math.exp(-x))


@jit
def draw_sample(
    state,
    design,
    village_start,
    stratum_start,
    village_order,
    n_poor_villages,
    hh_village,
    strata_index,
    strata_bounds,
    totals,
    sel,
    sel_group,
    vbuf,
    hkey,
    hval,
    hstamp,
    stamp,
):
    """Draw one check's sample into ``sel`` (households) and ``sel_group`` (team groups).

    Returns ``(households drawn, next hash stamp)``.
    """
    kind = design[D_KIND]
    replace = design[D_REPLACE] != 0
    n = 0
    if kind == TWO_STAGE:
        m = design[D_VILLAGES]
        m_poor = design[D_POOR_VILLAGES]
        n_vill = village_order.shape[0]
        if m_poor >= 0:
            got = sample_range(
                state, 0, n_poor_villages, m_poor, replace, vbuf, 0, hkey, hval, hstamp, stamp
            )
            stamp += 1
            got = sample_range(
                state,
                n_poor_villages,
                n_vill - n_poor_villages,
                m - m_poor,
                replace,
                vbuf,
                got,
                hkey,
                hval,
                hstamp,
                stamp,
            )
            stamp += 1
        else:
            got = sample_range(state, 0, n_vill, m, replace, vbuf, 0, hkey, hval, hstamp, stamp)
            stamp += 1
        b = design[D_PER_VILLAGE]
        b_reg = design[D_PER_VILLAGE_REGISTERED]
        for j in range(got):
            v = village_order[vbuf[j]]
            start = n
            if b_reg >= 0:
                lo = stratum_start[v, 0]
                n = sample_range(
                    state,
                    lo,
                    stratum_start[v, 2] - lo,
                    b_reg,
                    replace,
                    sel,
                    n,
                    hkey,
                    hval,
                    hstamp,
                    stamp,
                )
                stamp += 1
                lo = stratum_start[v, 2]
                n = sample_range(
                    state,
                    lo,
                    stratum_start[v, 3] - lo,
                    b - b_reg,
                    replace,
                    sel,
                    n,
                    hkey,
                    hval,
                    hstamp,
                    stamp,
                )
                stamp += 1
            else:
                lo = village_start[v]
                n = sample_range(
                    state,
                    lo,
                    village_start[v + 1] - lo,
                    b,
                    replace,
                    sel,
                    n,
                    hkey,
                    hval,
                    hstamp,
                    stamp,
                )
                stamp += 1
            for i in range(start, n):
                sel_group[i] = j
        return n, stamp
    if kind == SRS:
        n = sample_range(
            state,
            0,
            strata_bounds[3],
            design[D_HOUSEHOLDS],
            replace,
            sel,
            0,
            hkey,
            hval,
            hstamp,
            stamp,
        )
        stamp += 1
    else:
        n_reg = design[D_REGISTERED]
        e_hh = totals[pop.T_EXITED_HH]
        r_hh = totals[pop.T_REMAINING_HH]
        n_exited = n_reg
        if e_hh + r_hh > 0:
            n_exited = int(math.floor(n_reg * e_hh / (e_hh + r_hh) + 0.5))
        wanted = (n_exited, n_reg - n_exited, design[D_HOUSEHOLDS] - n_reg)
        for s in range(3):
            lo = strata_bounds[s]
            n = sample_range(
                state,
                lo,
                strata_bounds[s + 1] - lo,
                wanted[s],
                replace,
                sel,
                n,
                hkey,
                hval,
                hstamp,
                stamp,
            )
            stamp += 1
    for i in range(n):
        h = strata_index[sel[i]]
        sel[i] = h
        sel_group[i] = hh_village[h]
    return n, stamp


@jit
def index_strata(village_start, status, hh_village, strata_index, strata_bounds):
    """Fill the county-wide stratum order (exited, remaining, nonregistered) and villages."""
    households = status.shape[0] if village_start.shape[0] == 0 else village_start[-1]
    counts = np.zeros(3, np.int64)
    for h in range(households):
        counts[status[h]] += 1
    strata_bounds[0] = 0
    for s in range(3):
        strata_bounds[s + 1] = strata_bounds[s] + counts[s]
    fill = strata_bounds[:3].copy()
    for v in range(village_start.shape[0] - 1):
        for h in range(village_start[v], village_start[v + 1]):
            hh_village[h] = v
            s = status[h]
            strata_index[fill[s]] = h
            fill[s] += 1


@jit
def _truth(totals, rule):
    """True indicators (incidence, w, o, approval) and the true verdict at the rule's thresholds."""
    e = totals[pop.T_EXITED_PERSONS]
    n = totals[pop.T_NONREG_PERSONS]
    r = totals[pop.T_REMAINING_PERSONS]
    w = totals[pop.T_WRONGFUL_PERSONS] / e if e > 0 else 0.0
    o = totals[pop.T_OMITTED_PERSONS] / n if n > 0 else 0.0
    a = totals[pop.T_APPROVING] / totals[pop.T_HOUSEHOLDS]
    inc = rl.incidence_of(w, o, r, e, n)
    ok = inc < rule[rl.R_INCIDENCE] and w < rule[rl.R_WRONGFUL] and o < rule[rl.R_OMISSION]
    if rule[rl.R_STRICT] != 0.0:
        ok = ok and a > rule[rl.R_APPROVAL]
    else:
        ok = ok and a >= rule[rl.R_APPROVAL]
    return inc, w, o, a, ok


@jit
def _run_block(
    b,
    checks,
    key,
    fresh,
    village_start,
    stratum_start,
    village_poor,
    village_order,
    n_poor_villages,
    size,
    status,
    problem,
    approve,
    hh_village,
    strata_index,
    strata_bounds,
    totals,
    cint,
    cflt,
    size_cdf,
    design,
    meas,
    rule,
    shift,
    max_size,
    max_sample,
    ri,
    rf,
    record,
):
    """Run the checks of block ``b`` and add their counts to ``ri`` and sums to ``rf``.

    When ``record`` has rows, check ``c`` of the block is also written to
    ``record[c - b * BLOCK]`` (fields ``C_*``).
    """
    s_state = np.empty(4, np.uint64)
    m_state = np.empty(4, np.uint64)
    t_state = np.empty(4, np.uint64)
    sel = np.empty(max_sample, np.int64)
    sel_group = np.empty(max_sample, np.int64)
    vbuf = np.empty(max(design[D_VILLAGES], 1), np.int64)
    hsize = 1
    while hsize < 4 * max_sample:
        hsize *= 2
    hkey = np.empty(hsize, np.int64)
    hval = np.empty(hsize, np.int64)
    hstamp = np.full(hsize, -1, np.int64)
    stamp = 0
    hist_wf = np.zeros(max_size + 1, np.int64)
    hist_wu = np.zeros(max_size + 1, np.int64)
    hist_of = np.zeros(max_size + 1, np.int64)
    hist_ou = np.zeros(max_size + 1, np.int64)
    take, stat_w, stat_o, cum_w, cum_o = (
        np.zeros(max_size + 1, np.int64),
        np.zeros(rl.K_MAX + 1, np.float64),
        np.zeros(rl.K_MAX + 1, np.float64),
        np.zeros(rl.K_MAX + 1, np.int64),
        np.zeros(rl.K_MAX + 1, np.int64),
    )
    if fresh:
        hmax = cint[pop.CI_VILLAGES] * cint[pop.CI_HH_HIGH]
        high = cint[pop.CI_HH_HIGH]
        f_vstart = np.empty(cint[pop.CI_VILLAGES] + 1, np.int64)
        f_sstart = np.empty((cint[pop.CI_VILLAGES], 4), np.int64)
        f_vpoor = np.empty(cint[pop.CI_VILLAGES], np.bool_)
        f_size = np.empty(hmax, np.int64)
        f_status = np.empty(hmax, np.int8)
        f_problem = np.empty(hmax, np.bool_)
        f_approve = np.empty(hmax, np.bool_)
        f_hh_village = np.empty(hmax, np.int64)
        f_strata_index = np.empty(hmax, np.int64)
        f_strata_bounds = np.empty(4, np.int64)
        f_totals = np.empty(pop.T_NTOTALS, np.float64)
        f_order = np.arange(cint[pop.CI_VILLAGES])
        sc_size = np.empty(high, np.int64)
        sc_status = np.empty(high, np.int8)
        sc_problem = np.empty(high, np.bool_)
        sc_approve = np.empty(high, np.bool_)
    else:
        f_vstart = village_start
        f_sstart = stratum_start
        f_vpoor = village_poor
        f_size = size
        f_status = status
        f_problem = problem
        f_approve = approve
        f_hh_village = hh_village
        f_strata_index = strata_index
        f_strata_bounds = strata_bounds
        f_totals = totals
        f_order = village_order
        sc_size = np.empty(0, np.int64)
        sc_status = np.empty(0, np.int8)
        sc_problem = np.empty(0, np.bool_)
        sc_approve = np.empty(0, np.bool_)
    n_poor = cint[pop.CI_POOR_VILLAGES] if fresh else n_poor_villages
    teams = int(meas[M_TEAMS])
    n_slots = teams if teams > 0 else max(design[D_VILLAGES], f_vstart.shape[0] - 1)
    team_se = np.empty(n_slots, np.float64)
    team_sp = np.empty(n_slots, np.float64)
    rtrue = meas[M_REVIEW_TRUE]
    rfalse = meas[M_REVIEW_FALSE]
    over = meas[M_OVERREPORT]
    under = meas[M_UNDERREPORT]
    team_sd = meas[M_TEAM_SD]

    first = b * BLOCK
    last = min(first + BLOCK, checks)
    for c in range(first, last):
        if fresh:
            pop.generate_population(
                key,
                c,
                cint,
                cflt,
                size_cdf,
                f_vstart,
                f_sstart,
                f_vpoor,
                f_size,
                f_status,
                f_problem,
                f_approve,
                sc_size,
                sc_status,
                sc_problem,
                sc_approve,
            )
            pop.population_totals(f_vstart[-1], f_size, f_status, f_problem, f_approve, f_totals)
            if design[D_KIND] != TWO_STAGE:
                index_strata(f_vstart, f_status, f_hh_village, f_strata_index, f_strata_bounds)
        t_inc, t_w, t_o, t_a, true_pass = _truth(f_totals, rule)
        seed_stream(s_state, key, c, PURPOSE_SAMPLING)
        seed_stream(m_state, key, c, PURPOSE_MEASUREMENT)
        n, stamp = draw_sample(
            s_state,
            design,
            f_vstart,
            f_sstart,
            f_order,
            n_poor,
            f_hh_village,
            f_strata_index,
            f_strata_bounds,
            f_totals,
            sel,
            sel_group,
            vbuf,
            hkey,
            hval,
            hstamp,
            stamp,
        )
        # enumerator teams
        if team_sd > 0.0:
            seed_stream(t_state, key, c, PURPOSE_TEAMS)
            for t in range(n_slots):
                team_se[t] = _logit_shift(meas[M_SENSITIVITY], team_sd * normal(t_state))
                team_sp[t] = _logit_shift(meas[M_SPECIFICITY], team_sd * normal(t_state))
        else:
            team_se[:] = meas[M_SENSITIVITY]
            team_sp[:] = meas[M_SPECIFICITY]
        hist_wf[:] = 0
        hist_wu[:] = 0
        hist_of[:] = 0
        hist_ou[:] = 0
        x_w = 0
        n_w = 0
        x_o = 0
        n_o = 0
        x_a = 0
        hh_w = 0
        hh_o = 0
        for i in range(n):
            h = sel[i]
            g = sel_group[i]
            t = g % teams if teams > 0 else g
            u1 = uniform(m_state)
            u2 = uniform(m_state)
            u3 = uniform(m_state)
            st = f_status[h]
            sz = f_size[h]
            if st != pop.REMAINING:
                if f_problem[h]:
                    flag = u1 < team_se[t] and u2 < rtrue
                else:
                    flag = u1 < 1.0 - team_sp[t] and u2 < rfalse
                if st == pop.EXITED:
                    n_w += sz
                    hh_w += 1
                    if flag:
                        x_w += sz
                        hist_wf[sz] += 1
                    else:
                        hist_wu[sz] += 1
                else:
                    n_o += sz
                    hh_o += 1
                    if flag:
                        x_o += sz
                        hist_of[sz] += 1
                    else:
                        hist_ou[sz] += 1
            if f_approve[h]:
                x_a += u3 >= under
            else:
                x_a += u3 < over
        r_p = f_totals[pop.T_REMAINING_PERSONS]
        e_p = f_totals[pop.T_EXITED_PERSONS]
        n_p = f_totals[pop.T_NONREG_PERSONS]
        mask = rl.rates_fail_mask(
            rl.rate_statistic(x_w, n_w, rule),
            rl.rate_statistic(x_o, n_o, rule),
            r_p,
            e_p,
            n_p,
            rule,
        )
        if rl.approval_fails(rl.approval_statistic(x_a, n, rule), rule):
            mask |= rl.FAIL_APPROVAL
        margin = rl.verdict_margin(
            x_w,
            n_w,
            x_o,
            n_o,
            x_a,
            n,
            hist_wf,
            hist_wu,
            hist_of,
            hist_ou,
            r_p,
            e_p,
            n_p,
            rule,
            take,
            stat_w,
            stat_o,
            cum_w,
            cum_o,
        )
        passed = mask == 0
        ri[I_CHECKS] += 1
        ri[I_PASS] += passed
        ri[I_TRUE_PASS] += true_pass
        ri[I_PASS_AND_TRUE_PASS] += passed and true_pass
        ri[I_MASK + mask] += 1
        if passed:
            ri[I_MARGIN_PASS + margin] += 1
        else:
            ri[I_MARGIN_FAIL + margin] += 1
        ri[I_HH_EXITED] += hh_w
        ri[I_HH_NONREG] += hh_o
        ri[I_HH_ALL] += n
        # estimates with the published formulas
        w_hat = x_w / n_w if n_w > 0 else 0.0
        o_hat = x_o / n_o if n_o > 0 else 0.0
        a_hat = x_a / n if n > 0 else 0.0
        inc_hat = rl.incidence_of(w_hat, o_hat, r_p, e_p, n_p)
        _add_moments(rf, 0, inc_hat, t_inc, shift[0])
        _add_moments(rf, 1, w_hat, t_w, shift[1])
        _add_moments(rf, 2, o_hat, t_o, shift[2])
        _add_moments(rf, 3, a_hat, t_a, shift[3])
        if record.shape[0] > 0:
            row = record[c - first]
            row[C_X_W] = x_w
            row[C_N_W] = n_w
            row[C_X_O] = x_o
            row[C_N_O] = n_o
            row[C_X_A] = x_a
            row[C_N_A] = n
            row[C_HH_W] = hh_w
            row[C_HH_O] = hh_o
            row[C_MASK] = mask
            row[C_MARGIN] = margin
            row[C_TRUE_PASS] = true_pass
            row[C_TRUE_INCIDENCE] = t_inc
            row[C_TRUE_WRONGFUL] = t_w
            row[C_TRUE_OMISSION] = t_o
            row[C_TRUE_APPROVAL] = t_a


@jit(inline="always")
def _add_moments(rf, j, est, truth, shift):
    base = j * F_STRIDE
    d = est - shift
    d2 = d * d
    rf[base + F_D1] += d
    rf[base + F_D2] += d2
    rf[base + F_D3] += d2 * d
    rf[base + F_D4] += d2 * d2
    e = est - truth
    rf[base + F_E1] += e
    rf[base + F_E2] += e * e
    t = truth - shift
    rf[base + F_T1] += t
    rf[base + F_T2] += t * t


@jit(parallel=True)
def run_blocks(
    first_block,
    n_blocks,
    checks,
    key,
    fresh,
    village_start,
    stratum_start,
    village_poor,
    village_order,
    n_poor_villages,
    size,
    status,
    problem,
    approve,
    hh_village,
    strata_index,
    strata_bounds,
    totals,
    cint,
    cflt,
    size_cdf,
    design,
    meas,
    rule,
    shift,
    max_size,
    max_sample,
    out_int,
    out_flt,
    out_rec,
):
    """Run blocks ``first_block .. first_block + n_blocks - 1`` in parallel.

    ``out_int`` (int64[n_blocks, I_NCOUNTS]) and ``out_flt``
    (float64[n_blocks, F_NSUMS]) receive one row per block; rows are zeroed here.
    ``out_rec`` is float64[n_blocks, BLOCK, C_NFIELDS] to record every check, or
    float64[n_blocks, 0, C_NFIELDS] not to.
    """
    for bi in prange(n_blocks):
        out_int[bi, :] = 0
        out_flt[bi, :] = 0.0
        _run_block(
            first_block + bi,
            checks,
            key,
            fresh,
            village_start,
            stratum_start,
            village_poor,
            village_order,
            n_poor_villages,
            size,
            status,
            problem,
            approve,
            hh_village,
            strata_index,
            strata_bounds,
            totals,
            cint,
            cflt,
            size_cdf,
            design,
            meas,
            rule,
            shift,
            max_size,
            max_sample,
            out_int[bi],
            out_flt[bi],
            out_rec[bi],
        )


@jit
def fold_sums(rows, acc):
    """Add float rows to ``acc`` strictly in row order (the deterministic fold)."""
    for i in range(rows.shape[0]):
        for j in range(rows.shape[1]):
            acc[j] += rows[i, j]
