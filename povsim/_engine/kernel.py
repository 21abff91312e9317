"""The spot-check engine: many simulated checks, accumulated into counts.

One *check* draws a sample of households from a population by the design,
records each sampled household's status through the measurement model, applies
the rule and computes the verdict margin (:func:`povsim._engine.rule.verdict_margin`).
Checks are grouped in fixed *blocks* of ``BLOCK`` consecutive check indices;
:func:`run_blocks` runs a range of blocks on ``numba.get_num_threads()`` threads
(``nogil`` block kernels) and writes one row of integer counts and one row of
float sums per block. The caller folds the rows in block order, so results are
bit-identical whatever the number of threads, the number of blocks per call or
the executor. Check ``i`` draws only from the streams of ``(key, i, purpose)``
(see :mod:`.rng`): sampling, measurement and enumerator teams apart, so a
measurement or rule change never changes which households are drawn.

What is drawn, exactly in law:

- Households: Floyd's algorithm (a uniformly random k-subset from k exactly
  uniform bounded integers; in two-stage checks 32-bit ones by Lemire's method,
  two per 64-bit output) inside each stratum; villages by a partial
  Fisher–Yates shuffle, whose order sets the teams (sampled village ``j`` has
  team ``j % teams``).
- Flags: in a two-stage sample, per village and group (exited / never
  registered x true problem) the flagged number is binomial with the team's
  probability and the flagged households a uniform subset of the group, the
  same law as one Bernoulli trial per household (:func:`_flag_village`); bounds
  on each team's probability (:func:`flag_bound_table`) settle most villages
  from one uniform per group. Other designs flag household by household.
  Approval answers: two binomial draws per check (approvers who say no,
  non-approvers who say yes).
- Fresh populations: two-stage designs without replacement draw each village as
  counts from table-driven exact laws and only the sampled households in detail
  (:func:`povsim._engine.fresh.block_fresh_two_stage`); other fresh designs draw
  whole populations (:func:`povsim._engine.population.generate_population`).

Vectors
-------
``design`` int64[D_NPARAMS], ``meas`` float64[M_NPARAMS], ``rule`` float64[R_NPARAMS]
(:mod:`.rule`), population totals float64[T_NTOTALS] (:mod:`.population`).

Outputs per block
-----------------
``out_int[b, I_*]`` and ``out_flt[b, F_*]`` as laid out below.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import uint64

from . import population as pop
from . import rule as rl
from ._jit import jit
from .rng import (
    PURPOSE_MEASUREMENT,
    PURPOSE_SAMPLING,
    PURPOSE_TEAMS,
    below,
    next_state,
    seed_stream,
    uniform,
)
from .samplers import binomial, binomial_u

BLOCK = 1024

# A household packed in 16 bits for the two-stage kernel (encode_households).
CODE_SIZE = 0xFF  # persons, 1 .. 255
CODE_PROBLEM = 8  # bit: a wrongful exit or an omission
CODE_APPROVE = 9  # bit: approves
CODE_STATUS = 10  # bits 10-11: EXITED, REMAINING or NONREGISTERED
_MASK32 = uint64(0xFFFFFFFF)
_TWO32 = uint64(1 << 32)
# Cells per uniform of the team flag-bound table (flag_bound_table); a multiple of 4.
QTAB_SIZE = 64

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

# Per-check accumulators (int64[A_N]) and histogram rows (int64[4, max_size + 1]).
A_X_W = 0
A_N_W = 1
A_X_O = 2
A_N_O = 3
A_APPROVERS = 4  # sampled households that truly approve
A_N = 5
A_HH_W = 6
A_HH_O = 7
A_NFIELDS = 8
H_WF = 0  # exited, flagged, by size
H_WU = 1  # exited, not flagged
H_OF = 2  # never registered, flagged
H_OU = 3  # never registered, not flagged


@jit
def _logit_shift(p, shift):
    if p <= 0.0 or p >= 1.0 or shift == 0.0:
        return p
    x = math.log(p / (1.0 - p)) + shift
    return 1.0 / (1.0 + math.exp(-x))


@jit
def _team_prob(tq, tu, t, problem, meas):
    """Recorded-flag probability of a household (``problem`` 0 or 1) checked by team ``t``.

    ``P(flag) = Se_t * prod(confirm_true)`` for a true problem and
    ``(1 - Sp_t) * prod(confirm_false)`` otherwise, the product of the
    enumerator's and the review chain's independent Bernoulli steps. With
    ``team_sd > 0`` the team's logits of ``Se_t`` and ``Sp_t`` are shifted by
    ``team_sd`` times the two normals of one Box–Muller pair of its uniforms
    ``tu[t]``; each is computed on first use and kept in ``tq[t]``.
    """
    if meas[M_TEAM_SD] <= 0.0:
        if problem:
            return meas[M_SENSITIVITY] * meas[M_REVIEW_TRUE]
        return (1.0 - meas[M_SPECIFICITY]) * meas[M_REVIEW_FALSE]
    q = tq[t, problem]
    if q >= 0.0:
        return q
    sd = meas[M_TEAM_SD]
    r = math.sqrt(-2.0 * math.log(1.0 - tu[t, 0]))
    ang = 2.0 * math.pi * tu[t, 1]
    if problem:
        q = meas[M_REVIEW_TRUE] * _logit_shift(meas[M_SENSITIVITY], sd * r * math.cos(ang))
    else:
        q = meas[M_REVIEW_FALSE] * (1.0 - _logit_shift(meas[M_SPECIFICITY], sd * r * math.sin(ang)))
    tq[t, problem] = q
    return q


@jit
def _flag_bounds(meas):
    """Upper bounds of every team's flag probability without and with a true problem.

    They are the exact probabilities when teams are alike (``team_sd == 0``).
    """
    if meas[M_TEAM_SD] > 0.0:
        return meas[M_REVIEW_FALSE], meas[M_REVIEW_TRUE]
    return (
        (1.0 - meas[M_SPECIFICITY]) * meas[M_REVIEW_FALSE],
        meas[M_SENSITIVITY] * meas[M_REVIEW_TRUE],
    )


def flag_bound_table(meas):
    """Bounds of a team's flag probabilities by the cell of its two uniforms: float64[G*G, 4].

    A team's sensitivity and specificity shift their logits by ``team_sd * z``
    with Box–Muller's ``z_se = r cos(2 pi u1)``, ``z_sp = r sin(2 pi u1)`` and
    ``r = sqrt(-2 log(1 - u0))`` (:func:`_team_prob`). Over the cell
    ``[i/G, (i+1)/G) x [j/G, (j+1)/G)`` of ``(u0, u1)``, ``r`` is monotone and
    ``cos``/``sin`` are monotone (``G`` is a multiple of 4, so their extremes lie
    on cell edges), so each ``z`` lies between products of the edge values and
    each flag probability between its values there. Row ``i * G + j`` holds
    ``(low_0, low_1, high_0, high_1)`` for households without (0) and with (1)
    a true problem, widened by a relative 1e-9 against rounding; the last ``r``
    cell is unbounded and gets ``[0, 1]``. With alike teams every row holds the
    exact probabilities. The engine decides a flag from the bounds and computes
    a team's exact probability only when its uniform falls between them.
    """
    g = QTAB_SIZE
    sd = float(meas[M_TEAM_SD])
    table = np.empty((g * g, 4))
    if sd <= 0.0:  # teams alike: the exact probabilities
        q0, q1 = _flag_bounds(meas)
        table[:] = (q0, q1, q0, q1)
        return table
    edges = np.arange(g + 1) / g
    with np.errstate(divide="ignore"):
        r = np.sqrt(-2.0 * np.log1p(-edges))  # r[g] = inf
    ang = 2.0 * np.pi * edges

    def shifted(p, z):
        if p <= 0.0 or p >= 1.0:
            return np.full_like(z, p)
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-(np.log(p / (1.0 - p)) + sd * z)))

    def z_range(trig):
        ra, rb = r[:-1, None], r[1:, None]
        ca, cb = trig[None, :-1], trig[None, 1:]
        with np.errstate(invalid="ignore"):
            corners = np.stack(np.broadcast_arrays(ra * ca, ra * cb, rb * ca, rb * cb))
        return corners.min(axis=0).ravel(), corners.max(axis=0).ravel()

    lo_se, hi_se = z_range(np.cos(ang))
    lo_sp, hi_sp = z_range(np.sin(ang))
    up, down = 1.0 + 1e-9, 1.0 - 1e-9
    rf, rt = float(meas[M_REVIEW_FALSE]), float(meas[M_REVIEW_TRUE])
    sp, se = float(meas[M_SPECIFICITY]), float(meas[M_SENSITIVITY])
    table[:, 0] = rf * (1.0 - shifted(sp, hi_sp)) * down
    table[:, 2] = rf * (1.0 - shifted(sp, lo_sp)) * up
    table[:, 1] = rt * shifted(se, lo_se) * down
    table[:, 3] = rt * shifted(se, hi_se) * up
    last = np.arange(g * g) >= (g - 1) * g  # u0 in the last cell: r unbounded
    table[last, 0:2] = 0.0
    table[last, 2:4] = 1.0
    return np.clip(np.nan_to_num(table, nan=0.0), 0.0, 1.0)


@jit(internal=True)
def _begin_check(c, key, meas, states, qtab, qb, tq, tu, acc, hist):
    """Seed check ``c``'s streams, draw its teams' uniforms and flag bounds, zero its counts."""
    seed_stream(states[0], key, c, PURPOSE_SAMPLING)
    seed_stream(states[1], key, c, PURPOSE_MEASUREMENT)
    n_slots = tq.shape[0]
    if meas[M_TEAM_SD] > 0.0:
        t_state = states[2]
        seed_stream(t_state, key, c, PURPOSE_TEAMS)
        for t in range(n_slots):
            u0 = uniform(t_state)
            u1 = uniform(t_state)
            tu[t, 0] = u0
            tu[t, 1] = u1
            tq[t, 0] = -1.0
            tq[t, 1] = -1.0
            cell = int(u0 * QTAB_SIZE) * QTAB_SIZE + int(u1 * QTAB_SIZE)
            for i in range(4):
                qb[t, i] = qtab[cell, i]
    else:
        for t in range(n_slots):
            for i in range(4):
                qb[t, i] = qtab[0, i]
    for i in range(A_NFIELDS):
        acc[i] = 0
    for i in range(4):
        for j in range(hist.shape[1]):
            hist[i, j] = 0


def encode_households(size, status, problem, approve):
    """Pack households into uint16 codes: size, problem and approval bits, registry status."""
    return (
        np.asarray(size, np.int64)
        | (np.asarray(problem, np.int64) << CODE_PROBLEM)
        | (np.asarray(approve, np.int64) << CODE_APPROVE)
        | (np.asarray(status, np.int64) << CODE_STATUS)
    ).astype(np.uint16)


@jit
def _encode_jit(size, status, problem, approve, code):
    """:func:`encode_households` inside compiled code, into ``code``."""
    for h in range(code.shape[0]):
        code[h] = (
            size[h]
            | (np.int64(problem[h]) << CODE_PROBLEM)
            | (np.int64(approve[h]) << CODE_APPROVE)
            | (np.int64(status[h]) << CODE_STATUS)
        )


@jit(internal=True)
def _pick_villages(state, order, lo, n, k, replace, out, got, swaps):
    """Append ``k`` villages of ``order[lo:lo + n]`` to ``out[got:]`` in random order.

    Without replacement: a partial Fisher–Yates shuffle done in place and undone
    afterwards (``k`` uniforms; ``k`` capped at ``n``); with replacement ``k``
    independent draws. The order matters: sampled village ``j`` gets team ``j % teams``.
    """
    if n <= 0 or k <= 0:
        return got
    if replace:
        for i in range(k):
            out[got + i] = order[lo + below(state, n)]
        return got + k
    if k > n:
        k = n
    for i in range(k):
        j = i + below(state, n - i)
        swaps[i] = j
        tmp = order[lo + i]
        order[lo + i] = order[lo + j]
        order[lo + j] = tmp
        out[got + i] = order[lo + i]
    for i in range(k - 1, -1, -1):
        j = swaps[i]
        tmp = order[lo + i]
        order[lo + i] = order[lo + j]
        order[lo + j] = tmp
    return got + k


@jit(internal=True)
def _pick_design_villages(state, order, n_poor, m, m_poor, replace, vsel, swaps):
    """A check's ``m`` sampled villages into ``vsel``, in draw order; returns how many.

    ``order[:n_poor]`` are the poor villages. With ``m_poor >= 0`` the design
    stratifies villages: ``m_poor`` poor ones are drawn first, then ``m - m_poor``
    of the others (:func:`_pick_villages`).
    """
    zero = np.int64(0)
    n_vill = order.shape[0]
    if m_poor < 0:
        return _pick_villages(state, order, zero, n_vill, m, replace, vsel, zero, swaps)
    got = _pick_villages(state, order, zero, n_poor, m_poor, replace, vsel, zero, swaps)
    return _pick_villages(
        state, order, n_poor, n_vill - n_poor, m - m_poor, replace, vsel, got, swaps
    )


@jit(internal=True)
def _stratum_span(v, seg, b, b_reg, village_start, stratum_start):
    """``(first household, households, sample size)`` of segment ``seg`` of village ``v``.

    With ``b_reg < 0`` the one segment is the whole village, sampled ``b``;
    otherwise segment 0 is the registered households, sampled ``b_reg``, and
    segment 1 the never-registered ones, sampled ``b - b_reg``.
    """
    if b_reg < 0:
        lo = village_start[v]
        return lo, village_start[v + 1] - lo, b
    if seg == 0:
        lo = stratum_start[v, 0]
        return lo, stratum_start[v, 2] - lo, b_reg
    lo = stratum_start[v, 2]
    return lo, stratum_start[v, 3] - lo, b - b_reg


@jit(internal=True)
def _flag_village(m_state, t, meas, qb, tq, tu, acc, hist, gsz, gcnt, u0, u1, u2, u3):
    """Flag one village's sampled households (team ``t``), group ``g`` at uniform ``u_g``.

    Group ``g = 2 * never_registered + problem`` holds ``gcnt[g]`` households with
    sizes ``gsz[g, :gcnt[g]]``; each is flagged independently with the team's
    probability ``q``, so the flagged number is binomial and the flagged
    households a uniformly random subset of that size (a partial shuffle of the
    group, from further uniforms of ``m_state``). One household is flagged when
    ``u < q``; more are ``Binomial(m, q)`` at ``u``. The team's bounds ``qb[t]``
    (from :func:`flag_bound_table`) settle most draws without ``q`` itself:
    ``u < low`` flags a single household and ``u >= high`` does not, and below
    Bernoulli's bound ``1 - m * high`` the binomial is 0.
    """
    for g in range(4):
        mg = gcnt[g]
        if mg == 0:
            continue
        u = u0 if g == 0 else u1 if g == 1 else u2 if g == 2 else u3
        prob = g & 1
        high = qb[t, 2 + prob]
        if _no_flag(mg, u, high):
            continue
        if mg == 1:
            x = 1 if u < qb[t, prob] or u < _team_prob(tq, tu, t, prob, meas) else 0
        else:
            x = binomial_u(u, m_state, mg, _team_prob(tq, tu, t, prob, meas))
        hu = H_WU if g < 2 else H_OU
        for i in range(x):
            r = i + below(m_state, mg - i)
            sz = gsz[g, r]
            gsz[g, r] = gsz[g, i]
            gsz[g, i] = sz
            hist[hu, sz] -= 1
            hist[hu - 1, sz] += 1
            if g < 2:
                acc[A_X_W] += sz
            else:
                acc[A_X_O] += sz


@jit(internal=True)
def _no_flag(mg, u, high):
    """Whether ``mg`` households at uniform ``u`` certainly get no flag (``high`` bounds q)."""
    if high <= 0.0:
        return True
    if mg == 1:
        return u >= high
    return high <= 0.5 and u < 1.0 - mg * high


@jit(internal=True)
def _measure_village(m_state, t, meas, qb, tq, tu, acc, hist, gsz, gcnt):
    """Record the flags of one village's sampled households (team ``t``).

    One uniform per non-empty group, then :func:`_flag_village` unless the
    bounds settle every group. (:func:`_check_two_stage` writes these two steps
    out itself: on its hot path a call with this many arrays costs more than a
    settled village, and numba's inlining of this function measured slower.)
    """
    u0, u1, u2, u3, settled = _village_uniforms(m_state, t, qb, gcnt)
    if not settled:
        _flag_village(m_state, t, meas, qb, tq, tu, acc, hist, gsz, gcnt, u0, u1, u2, u3)


@jit(internal=True)
def _village_uniforms(m_state, t, qb, gcnt):
    """One uniform per non-empty group (in group order), and whether no group can be flagged."""
    u0 = u1 = u2 = u3 = 1.0
    settled = True
    for g in range(4):
        mg = gcnt[g]
        if mg == 0:
            continue
        u = uniform(m_state)
        if g == 0:
            u0 = u
        elif g == 1:
            u1 = u
        elif g == 2:
            u2 = u
        else:
            u3 = u
        if not _no_flag(mg, u, qb[t, 2 + (g & 1)]):
            settled = False
    return u0, u1, u2, u3, settled


@jit(internal=True)
def _below32(r32, n, s0, s1, s2, s3):
    """Exactly uniform integer in ``0 .. n - 1`` from 32 random bits (Lemire 2019).

    ``r32 * n >> 32``, redrawn (from the high half of a fresh output) in the rare
    case, probability below ``n / 2**32``, where the low half falls under
    ``2**32 mod n``: without bias for any ``n < 2**32``. Returns
    ``(value, s0, s1, s2, s3)``.
    """
    m = r32 * n
    if (m & _MASK32) < n:
        thresh = (_TWO32 - n) % n
        while (m & _MASK32) < thresh:
            x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
            m = (x >> uint64(32)) * n
    return np.int64(m >> uint64(32)), s0, s1, s2, s3


@jit(internal=True)
def _floyd_pick(r32, jj, lo, code, mark, stamp, s0, s1, s2, s3):
    """One step of Floyd's algorithm: the code of a household not yet taken.

    ``t`` is uniform on ``0 .. jj``; a ``t`` already taken in this stratum
    (``mark[t] == stamp``) is replaced by ``jj``, which cannot be taken yet.
    Returns ``(code, s0, s1, s2, s3)``.
    """
    t, s0, s1, s2, s3 = _below32(r32, uint64(jj + 1), s0, s1, s2, s3)
    t = jj if mark[t] == stamp else t
    mark[t] = stamp
    return code[lo + t], s0, s1, s2, s3


@jit(internal=True)
def _check_two_stage(
    s_state,
    m_state,
    design,
    meas,
    teams,
    code,
    village_start,
    stratum_start,
    vperm,
    n_poor,
    mark,
    stamp,
    vbuf,
    vsel,
    swaps,
    qb,
    tq,
    tu,
    acc,
    hist,
    hsz,
    gsz,
    gcnt,
):
    """One two-stage check: villages, then households per village, measured village by village.

    Households inside a village stratum are a uniformly random ``k``-subset by
    Floyd's algorithm (``k`` exactly uniform bounded integers, two from each
    64-bit output; ``mark`` holds the stratum's taken positions under this
    ``stamp``), or ``k`` independent draws with replacement. The sampled
    households' codes (:func:`encode_households`) are gathered in ``vbuf`` and
    sorted into the measurement groups ``gsz``/``gcnt`` village by village;
    ``hsz`` (int64[4, max_size + 1]) counts the sampled exited (rows 0, 1) and
    never-registered (rows 2, 3) households by size, two rows each so that
    consecutive increments do not wait on each other. Returns the next stamp.
    """
    replace = design[D_REPLACE] != 0
    got = _pick_design_villages(
        s_state, vperm, n_poor, design[D_VILLAGES], design[D_POOR_VILLAGES], replace, vsel, swaps
    )
    b = design[D_PER_VILLAGE]
    b_reg = design[D_PER_VILLAGE_REGISTERED]
    n_seg = 2 if b_reg >= 0 else 1
    n_all = 0
    approvers = 0
    n_w = 0
    n_o = 0
    for i in range(hsz.shape[0]):
        for j in range(hsz.shape[1]):
            hsz[i, j] = 0
    # the sampling stream in registers for the household loop
    s0 = s_state[0]
    s1 = s_state[1]
    s2 = s_state[2]
    s3 = s_state[3]
    for j in range(got):
        v = vsel[j]
        nb = 0
        for seg in range(n_seg):
            lo, n, k = _stratum_span(v, seg, b, b_reg, village_start, stratum_start)
            if n <= 0 or k <= 0:
                continue
            if not replace and k > n:
                k = n
            if replace:
                for _ in range(k):
                    x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
                    t, s0, s1, s2, s3 = _below32(x & _MASK32, uint64(n), s0, s1, s2, s3)
                    vbuf[nb] = code[lo + t]
                    nb += 1
                continue
            stamp += 1
            jj = n - k
            while jj < n:  # two households from each 64-bit output
                x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
                c, s0, s1, s2, s3 = _floyd_pick(
                    x & _MASK32, jj, lo, code, mark, stamp, s0, s1, s2, s3
                )
                vbuf[nb] = c
                nb += 1
                jj += 1
                if jj < n:
                    c, s0, s1, s2, s3 = _floyd_pick(
                        x >> uint64(32), jj, lo, code, mark, stamp, s0, s1, s2, s3
                    )
                    vbuf[nb] = c
                    nb += 1
                    jj += 1
        n_all += nb
        g0 = 0
        g1 = 0
        g2 = 0
        g3 = 0
        for i in range(nb):
            c = np.int64(vbuf[i])
            approvers += (c >> CODE_APPROVE) & 1
            st = c >> CODE_STATUS
            if st == pop.REMAINING:
                continue
            sz = c & CODE_SIZE
            if st == pop.EXITED:
                n_w += sz
                hsz[i & 1, sz] += 1
                if (c >> CODE_PROBLEM) & 1:
                    gsz[1, g1] = sz
                    g1 += 1
                else:
                    gsz[0, g0] = sz
                    g0 += 1
            else:
                n_o += sz
                hsz[2 + (i & 1), sz] += 1
                if (c >> CODE_PROBLEM) & 1:
                    gsz[3, g3] = sz
                    g3 += 1
                else:
                    gsz[2, g2] = sz
                    g2 += 1
        gcnt[0] = g0
        gcnt[1] = g1
        gcnt[2] = g2
        gcnt[3] = g3
        t = j % teams if teams > 0 else j
        u0, u1, u2, u3, settled = _village_uniforms(m_state, t, qb, gcnt)
        if not settled:  # a problem household, or a flag the bounds cannot rule out
            _flag_village(m_state, t, meas, qb, tq, tu, acc, hist, gsz, gcnt, u0, u1, u2, u3)
    s_state[0] = s0
    s_state[1] = s1
    s_state[2] = s2
    s_state[3] = s3
    hh_w = 0
    hh_o = 0
    for sz in range(hsz.shape[1]):  # flagged households were already moved from U to F
        w = hsz[0, sz] + hsz[1, sz]
        o = hsz[2, sz] + hsz[3, sz]
        hist[H_WU, sz] += w
        hist[H_OU, sz] += o
        hh_w += w
        hh_o += o
    acc[A_N] += n_all
    acc[A_APPROVERS] += approvers
    acc[A_N_W] += n_w
    acc[A_HH_W] += hh_w
    acc[A_N_O] += n_o
    acc[A_HH_O] += hh_o
    return stamp


@jit(internal=True)
def _check_households(
    s_state,
    m_state,
    design,
    meas,
    teams,
    strata_index,
    strata_bounds,
    hh_village,
    totals,
    size,
    status,
    problem,
    approve,
    mark,
    stamp,
    tq,
    tu,
    acc,
    hist,
):
    """One SRS or stratified check: households drawn county-wide, measured one by one."""
    replace = design[D_REPLACE] != 0
    if design[D_KIND] == SRS:
        n_strata = 1
        wanted = (design[D_HOUSEHOLDS], 0, 0)
        bounds = (0, strata_bounds[3], 0, 0)
    else:
        n_reg = design[D_REGISTERED]
        e_hh = totals[pop.T_EXITED_HH]
        r_hh = totals[pop.T_REMAINING_HH]
        n_exited = n_reg
        if e_hh + r_hh > 0:
            n_exited = int(math.floor(n_reg * e_hh / (e_hh + r_hh) + 0.5))
        n_strata = 3
        wanted = (n_exited, n_reg - n_exited, design[D_HOUSEHOLDS] - n_reg)
        bounds = (strata_bounds[0], strata_bounds[1], strata_bounds[2], strata_bounds[3])
    q0, q1 = _flag_bounds(meas)
    for s in range(n_strata):
        lo = bounds[s]
        n = bounds[s + 1] - lo
        k = wanted[s]
        if n <= 0 or k <= 0:
            continue
        if not replace and k > n:
            k = n
        stamp += 1
        for j in range(n - k, n):
            if replace:
                pos = lo + below(s_state, n)
            else:
                t = below(s_state, j + 1)
                if mark[lo + t] == stamp:
                    t = j
                mark[lo + t] = stamp
                pos = lo + t
            h = strata_index[pos]
            acc[A_N] += 1
            acc[A_APPROVERS] += approve[h]
            st = status[h]
            if st == pop.REMAINING:
                continue
            sz = size[h]
            prob = int(problem[h])
            u = uniform(m_state)
            flag = False
            if u < (q1 if prob else q0):
                v = hh_village[h]
                flag = u < _team_prob(tq, tu, v % teams if teams > 0 else v, prob, meas)
            if st == pop.EXITED:
                acc[A_N_W] += sz
                acc[A_HH_W] += 1
                if flag:
                    acc[A_X_W] += sz
                    hist[H_WF, sz] += 1
                else:
                    hist[H_WU, sz] += 1
            else:
                acc[A_N_O] += sz
                acc[A_HH_O] += 1
                if flag:
                    acc[A_X_O] += sz
                    hist[H_OF, sz] += 1
                else:
                    hist[H_OU, sz] += 1
    return stamp


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


@jit(internal=True)
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


@jit(internal=True)
def _finish_check(
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
    true_inc,
    true_w,
    true_o,
    true_a,
    true_pass,
    scratch,
    ri,
    rf,
    record,
):
    """Record approval answers, apply the rule and the margin, and count the check."""
    n = acc[A_N]
    approvers = acc[A_APPROVERS]
    x_a = (
        approvers
        - binomial(m_state, approvers, meas[M_UNDERREPORT])
        + binomial(m_state, n - approvers, meas[M_OVERREPORT])
    )
    x_w = acc[A_X_W]
    n_w = acc[A_N_W]
    x_o = acc[A_X_O]
    n_o = acc[A_N_O]
    r_p = totals[pop.T_REMAINING_PERSONS]
    e_p = totals[pop.T_EXITED_PERSONS]
    n_p = totals[pop.T_NONREG_PERSONS]
    mask = rl.rates_fail_mask(
        statistic(x_w, n_w, rule, rl.UPPER_SIDE),
        statistic(x_o, n_o, rule, rl.UPPER_SIDE),
        r_p,
        e_p,
        n_p,
        rule,
    )
    if rl.approval_fails(statistic(x_a, n, rule, rl.LOWER_SIDE), rule):
        mask |= rl.FAIL_APPROVAL
    take, stat_w, stat_o, cum_w, cum_o = scratch
    margin = rl.verdict_margin(
        x_w,
        n_w,
        x_o,
        n_o,
        x_a,
        n,
        hist[H_WF],
        hist[H_WU],
        hist[H_OF],
        hist[H_OU],
        r_p,
        e_p,
        n_p,
        rule,
        statistic,
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
    ri[I_HH_EXITED] += acc[A_HH_W]
    ri[I_HH_NONREG] += acc[A_HH_O]
    ri[I_HH_ALL] += n
    # estimates with the published formulas
    w_hat = x_w / n_w if n_w > 0 else 0.0
    o_hat = x_o / n_o if n_o > 0 else 0.0
    a_hat = x_a / n if n > 0 else 0.0
    inc_hat = rl.incidence_of(w_hat, o_hat, r_p, e_p, n_p)
    _add_moments(rf, inc_hat, w_hat, o_hat, a_hat, true_inc, true_w, true_o, true_a, shift)
    if record.shape[0] > 0:
        row = record[c - first]
        row[C_X_W] = x_w
        row[C_N_W] = n_w
        row[C_X_O] = x_o
        row[C_N_O] = n_o
        row[C_X_A] = x_a
        row[C_N_A] = n
        row[C_HH_W] = acc[A_HH_W]
        row[C_HH_O] = acc[A_HH_O]
        row[C_MASK] = mask
        row[C_MARGIN] = margin
        row[C_TRUE_PASS] = true_pass
        row[C_TRUE_INCIDENCE] = true_inc
        row[C_TRUE_WRONGFUL] = true_w
        row[C_TRUE_OMISSION] = true_o
        row[C_TRUE_APPROVAL] = true_a


@jit
def _n_slots(design, meas, n_villages):
    """Team slots a check draws: sampled-village positions (two-stage) or county villages."""
    teams = int(meas[M_TEAMS])
    if design[D_KIND] == TWO_STAGE:
        m_vill = max(design[D_VILLAGES], 1)
        return min(teams, m_vill) if teams > 0 else m_vill
    return teams if teams > 0 else max(n_villages, 1)


def work_arrays(design, meas, n_villages, max_village, max_size, village_order=None):
    """Per-block scratch of the check kernels, allocated in NumPy (nothing to compile).

    ``(states, order, mark, vbuf, vsel, swaps, gsz, gcnt, acc, hist, hsz, qb, tq,
    tu, margin)``: the check's stream states, a copy of the village order (shuffled
    in place and restored by every check), stratum marks (``max_village``), a
    village's sampled codes, the sampled villages and the shuffle's swaps, the
    measurement groups, the check's counts and size histograms, the team bounds,
    probabilities and uniforms, and :func:`povsim._engine.rule.margin_scratch`.
    """
    m_vill = max(int(design[D_VILLAGES]), 1)
    per_village = max(int(design[D_PER_VILLAGE]), 1)
    n_slots = int(_n_slots.py_func(design, meas, n_villages))
    order = np.arange(n_villages) if village_order is None else village_order.copy()
    return (
        np.zeros((3, 4), np.uint64),
        order.astype(np.int64),
        np.full(max(max_village, 1), -1, np.int32),
        np.zeros(per_village, np.uint16),
        np.zeros(m_vill, np.int64),
        np.zeros(m_vill, np.int64),
        np.zeros((4, per_village), np.int64),
        np.zeros(4, np.int64),
        np.zeros(A_NFIELDS, np.int64),
        np.zeros((4, max_size + 1), np.int64),
        np.zeros((4, max_size + 1), np.int64),
        np.zeros((n_slots, 4), np.float64),
        np.zeros((n_slots, 2), np.float64),
        np.zeros((n_slots, 2), np.float64),
        rl.margin_scratch(max_size),
    )


@jit(nogil=True)
def _block_two_stage(
    b,
    checks,
    key,
    code,
    village_start,
    stratum_start,
    village_order,
    n_poor,
    totals,
    design,
    meas,
    rule,
    statistic,
    shift,
    max_size,
    qtab,
    work,
    ri,
    rf,
    record,
):
    """Run the two-stage checks of block ``b`` on a fixed population (counts into ri, rf)."""
    states, order, mark, vbuf, vsel, swaps, gsz, gcnt, acc, hist, hsz, qb, tq, tu, scratch = work
    stamp = np.int64(0)
    teams = int(meas[M_TEAMS])
    t_inc, t_w, t_o, t_a, true_pass = _truth(totals, rule)
    first = b * BLOCK
    for c in range(first, min(first + BLOCK, checks)):
        _begin_check(c, key, meas, states, qtab, qb, tq, tu, acc, hist)
        stamp = _check_two_stage(
            states[0],
            states[1],
            design,
            meas,
            teams,
            code,
            village_start,
            stratum_start,
            order,
            n_poor,
            mark,
            stamp,
            vbuf,
            vsel,
            swaps,
            qb,
            tq,
            tu,
            acc,
            hist,
            hsz,
            gsz,
            gcnt,
        )
        _finish_check(
            c,
            first,
            states[1],
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


@jit(nogil=True)
def _block_households(
    b,
    checks,
    key,
    n_villages,
    size,
    status,
    problem,
    approve,
    hh_village,
    strata_index,
    strata_bounds,
    totals,
    design,
    meas,
    rule,
    statistic,
    shift,
    max_size,
    qtab,
    work,
    ri,
    rf,
    record,
):
    """Run the SRS or stratified checks of block ``b`` on a fixed population."""
    states, _, _, _, _, _, _, _, acc, hist, _, qb, tq, tu, scratch = work
    mark = np.full(max(size.shape[0], 1), -1, np.int64)
    stamp = np.int64(0)
    teams = int(meas[M_TEAMS])
    t_inc, t_w, t_o, t_a, true_pass = _truth(totals, rule)
    first = b * BLOCK
    for c in range(first, min(first + BLOCK, checks)):
        _begin_check(c, key, meas, states, qtab, qb, tq, tu, acc, hist)
        stamp = _check_households(
            states[0],
            states[1],
            design,
            meas,
            teams,
            strata_index,
            strata_bounds,
            hh_village,
            totals,
            size,
            status,
            problem,
            approve,
            mark,
            stamp,
            tq,
            tu,
            acc,
            hist,
        )
        _finish_check(
            c,
            first,
            states[1],
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


@jit(nogil=True)
def _block_fresh_generated(
    b,
    checks,
    key,
    cint,
    cflt,
    size_cdf,
    design,
    meas,
    rule,
    statistic,
    shift,
    max_size,
    qtab,
    work,
    ri,
    rf,
    record,
):
    """Run the checks of block ``b``, each on its own population drawn household by household."""
    n_vill = cint[pop.CI_VILLAGES]
    high = cint[pop.CI_HH_HIGH]
    hmax = n_vill * high
    vstart = np.empty(n_vill + 1, np.int64)
    sstart = np.empty((n_vill, 4), np.int64)
    vpoor = np.empty(n_vill, np.bool_)
    size = np.empty(hmax, np.int64)
    status = np.empty(hmax, np.int8)
    problem = np.empty(hmax, np.bool_)
    approve = np.empty(hmax, np.bool_)
    code = np.empty(hmax, np.uint16)
    hh_village = np.empty(hmax, np.int64)
    strata_index = np.empty(hmax, np.int64)
    strata_bounds = np.empty(4, np.int64)
    totals = np.empty(pop.T_NTOTALS, np.float64)
    sc_size = np.empty(high, np.int64)
    sc_status = np.empty(high, np.int8)
    sc_problem = np.empty(high, np.bool_)
    sc_approve = np.empty(high, np.bool_)
    states, order, vmark, vbuf, vsel, swaps, gsz, gcnt, acc, hist, hsz, qb, tq, tu, scratch = work
    vstamp = np.int64(0)
    mark = np.full(max(hmax, 1), -1, np.int64)
    stamp = np.int64(0)
    teams = int(meas[M_TEAMS])
    first = b * BLOCK
    two_stage = design[D_KIND] == TWO_STAGE
    for c in range(first, min(first + BLOCK, checks)):
        pop.generate_population(
            key,
            c,
            cint,
            cflt,
            size_cdf,
            vstart,
            sstart,
            vpoor,
            size,
            status,
            problem,
            approve,
            sc_size,
            sc_status,
            sc_problem,
            sc_approve,
        )
        households = vstart[-1]
        pop.population_totals(households, size, status, problem, approve, totals)
        t_inc, t_w, t_o, t_a, true_pass = _truth(totals, rule)
        _begin_check(c, key, meas, states, qtab, qb, tq, tu, acc, hist)
        if two_stage:
            _encode_jit(size, status, problem, approve, code[:households])
            vstamp = _check_two_stage(
                states[0],
                states[1],
                design,
                meas,
                teams,
                code,
                vstart,
                sstart,
                order,
                cint[pop.CI_POOR_VILLAGES],
                vmark,
                vstamp,
                vbuf,
                vsel,
                swaps,
                qb,
                tq,
                tu,
                acc,
                hist,
                hsz,
                gsz,
                gcnt,
            )
        else:
            index_strata(vstart, status, hh_village, strata_index, strata_bounds)
            stamp = _check_households(
                states[0],
                states[1],
                design,
                meas,
                teams,
                strata_index,
                strata_bounds,
                hh_village,
                totals,
                size,
                status,
                problem,
                approve,
                mark,
                stamp,
                tq,
                tu,
                acc,
                hist,
            )
        _finish_check(
            c,
            first,
            states[1],
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


@jit(internal=True)
def _add_moments(rf, inc, w, o, a, t_inc, t_w, t_o, t_a, shift):
    """Add one check's estimates and truths of the four indicators to the sums ``rf``."""
    for j in range(4):
        if j == 0:
            est, truth = inc, t_inc
        elif j == 1:
            est, truth = w, t_w
        elif j == 2:
            est, truth = o, t_o
        else:
            est, truth = a, t_a
        base = j * F_STRIDE
        d = est - shift[j]
        d2 = d * d
        rf[base + F_D1] += d
        rf[base + F_D2] += d2
        rf[base + F_D3] += d2 * d
        rf[base + F_D4] += d2 * d2
        e = est - truth
        rf[base + F_E1] += e
        rf[base + F_E2] += e * e
        t = truth - shift[j]
        rf[base + F_T1] += t
        rf[base + F_T2] += t * t


def plan_blocks(
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
):
    """Choose the block kernel of a scenario and pack its arguments: ``(kernel, args, work)``.

    Fixed populations run :func:`_block_two_stage` or :func:`_block_households`;
    fresh ones :func:`povsim._engine.fresh.block_fresh_two_stage` (two-stage without replacement,
    populations drawn as village counts from :func:`fresh_tables_for`) or
    :func:`_block_fresh_generated`. Only the chosen kernel is compiled. ``work``
    allocates a block's scratch (:func:`work_arrays`), or is None for a kernel
    that allocates its own.
    """
    from . import fresh as fr

    if design[D_KIND] == TWO_STAGE and max_size > CODE_SIZE:  # codes hold 8 bits of size
        raise ValueError(f"household sizes must be at most {CODE_SIZE} persons; got {max_size}")
    qtab = flag_bound_table(meas)
    statistic = rl.statistic_for(rule)
    tables = fr.fresh_tables_for(fresh, cint, cflt, size_cdf, design)
    if fresh and tables is not None:
        args = (key, cint, *tables, design, meas, rule, statistic, shift, max_size, qtab)
        return fr.block_fresh_two_stage, args, None
    if fresh:
        args = (key, cint, cflt, size_cdf, design, meas, rule, statistic, shift, max_size, qtab)
        n_vill = int(cint[pop.CI_VILLAGES])
        work = functools.partial(
            work_arrays, design, meas, n_vill, int(cint[pop.CI_HH_HIGH]), max_size
        )
        return _block_fresh_generated, args, work
    if design[D_KIND] == TWO_STAGE:
        code = encode_households(size, status, problem, approve)
        args = (
            key,
            code,
            village_start,
            stratum_start,
            village_order,
            n_poor_villages,
            totals,
            design,
            meas,
            rule,
            statistic,
            shift,
            max_size,
            qtab,
        )
        max_village = int(np.diff(village_start).max(initial=0))
        work = functools.partial(
            work_arrays, design, meas, len(village_order), max_village, max_size, village_order
        )
        return _block_two_stage, args, work
    args = (
        key,
        village_start.shape[0] - 1,
        size,
        status,
        problem,
        approve,
        hh_village,
        strata_index,
        strata_bounds,
        totals,
        design,
        meas,
        rule,
        statistic,
        shift,
        max_size,
        qtab,
    )
    work = functools.partial(work_arrays, design, meas, village_start.shape[0] - 1, 0, max_size)
    return _block_households, args, work


def run_blocks(first_block, n_blocks, checks, plan, out_int, out_flt, out_rec):
    """Run blocks ``first_block .. first_block + n_blocks - 1`` of a plan in parallel.

    ``plan`` is ``(kernel, args, work)`` from :func:`plan_blocks`. ``out_int``
    (int64[n_blocks, I_NCOUNTS]) and ``out_flt`` (float64[n_blocks, F_NSUMS])
    receive one row per block; rows are zeroed here. ``out_rec`` is
    float64[n_blocks, BLOCK, C_NFIELDS] to record every check, or
    float64[n_blocks, 0, C_NFIELDS] not to.

    Blocks are handed out one at a time to ``numba.get_num_threads()`` Python
    threads that run the ``nogil`` block kernels; each block writes only its own
    rows, so the result does not depend on which thread ran it. (A ``prange``
    loop would do the same but doubles the compilation time.)
    """
    import itertools
    import threading

    import numba

    kernel, args, make_work = plan
    counter = itertools.count()
    errors = []
    stop = []

    def work():
        try:
            while not stop:
                bi = next(counter)  # atomic under the GIL
                if bi >= n_blocks:
                    return
                out_int[bi, :] = 0
                out_flt[bi, :] = 0.0
                extra = () if make_work is None else (make_work(),)
                kernel(
                    first_block + bi, checks, *args, *extra, out_int[bi], out_flt[bi], out_rec[bi]
                )
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)
            stop.append(True)

    threads = max(1, min(int(numba.get_num_threads()), n_blocks))
    if threads == 1:
        work()
    else:
        pool = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
        for t in pool:
            t.start()
        try:
            for t in pool:
                t.join()
        except BaseException:  # e.g. KeyboardInterrupt: no new blocks; the caller drops this chunk
            stop.append(True)
            raise
    if errors:
        raise errors[0]


def fold_sums(rows, acc):
    """Add float rows to ``acc`` strictly in row order (the deterministic fold).

    ``cumsum`` adds sequentially, so the result is ``(((acc + r0) + r1) + ...)``
    bit for bit, whatever the number of rows per call.
    """
    if rows.shape[0]:
        acc[:] = np.cumsum(np.concatenate([acc[None, :], rows]), axis=0)[-1]
