"""Synthetic county populations, household by household, in compiled code.

:func:`generate_population` draws a population for every check of a fresh
simulation whose design needs whole populations. Fixed populations come from
:meth:`povsim.County.generate`, which draws the same law in NumPy (and costs no
compilation); the tests hold the two to the same law.

Layout of a population (all arrays indexed by household unless said):

``village_start``  int64[V + 1]   village v holds ``village_start[v]:village_start[v+1]``
``stratum_start``  int64[V, 4]    inside village v, households are ordered by registry status:
                                  exited ``[s[v,0], s[v,1])``, remaining ``[s[v,1], s[v,2])``,
                                  never registered ``[s[v,2], s[v,3])``
``village_poor``   bool[V]        designated poor village
``size``           int64[H]       persons in the household
``status``         int8[H]        EXITED, REMAINING or NONREGISTERED
``problem``        bool[H]        a wrongful exit (exited) or an omission (never registered)
``approve``        bool[H]        the household approves of the exit

Random numbers: village sizes come from the ``PURPOSE_VILLAGES`` stream, each
village's three rates from their own sub-streams of ``PURPOSE_VILLAGE_RATES``,
and household-level draws from the ``PURPOSE_HOUSEHOLDS`` stream; each
household consumes exactly four uniforms (size, status, problem, approval)
whatever the parameters, so populations drawn
with nearby parameters share their draws (common random numbers).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .rng import (
    PURPOSE_HOUSEHOLDS,
    PURPOSE_VILLAGE_RATES,
    PURPOSE_VILLAGES,
    beta_mean_icc,
    seed_stream,
    seed_substream,
    uniform,
)

EXITED = 0
REMAINING = 1
NONREGISTERED = 2

# Layout of the float parameter vector of the county generator.
C_POOR_SHARE_REG = 0  # registered share of households in poor villages
C_NONPOOR_SHARE_REG = 1  # registered share of households in non-poor villages
C_REMAINING = 2  # share of registered households not yet exited
C_WRONGFUL = 3  # expected wrongful-exit rate among exited households
C_OMISSION = 4  # expected omission rate among never-registered households
C_APPROVAL = 5  # expected approval rate
C_ICC_WRONGFUL = 6
C_ICC_OMISSION = 7
C_ICC_APPROVAL = 8
C_NPARAMS = 9

# Layout of the integer parameter vector.
CI_VILLAGES = 0
CI_POOR_VILLAGES = 1
CI_HH_LOW = 2
CI_HH_HIGH = 3
CI_NPARAMS = 4

# Layout of a population's exact totals (see ``population_totals``).
T_EXITED_PERSONS = 0
T_WRONGFUL_PERSONS = 1
T_NONREG_PERSONS = 2
T_OMITTED_PERSONS = 3
T_REMAINING_PERSONS = 4
T_HOUSEHOLDS = 5
T_APPROVING = 6
T_EXITED_HH = 7
T_REMAINING_HH = 8
T_NONREG_HH = 9
T_NTOTALS = 10


@jit
def generate_population(
    key,
    index,
    cint,
    cflt,
    size_cdf,
    village_start,
    stratum_start,
    village_poor,
    size,
    status,
    problem,
    approve,
    scratch_size,
    scratch_status,
    scratch_problem,
    scratch_approve,
):
    """Draw population ``index`` of the county described by ``cint``/``cflt``.

    Output arrays must hold ``cint[CI_VILLAGES] * cint[CI_HH_HIGH]`` households;
    the scratch arrays ``cint[CI_HH_HIGH]``. ``size_cdf[k]`` is P(size <= k + 1).
    Returns the number of households written.
    """
    hh_state = np.empty(4, np.uint64)
    v_state = np.empty(4, np.uint64)
    seed_stream(hh_state, key, index, PURPOSE_HOUSEHOLDS)
    seed_stream(v_state, key, index, PURPOSE_VILLAGES)
    r_state = np.empty(4, np.uint64)
    villages = cint[CI_VILLAGES]
    n_poor = cint[CI_POOR_VILLAGES]
    lo = cint[CI_HH_LOW]
    span = cint[CI_HH_HIGH] - lo + 1
    kmax = size_cdf.shape[0]
    pos = 0
    for v in range(villages):
        poor = v < n_poor
        n_v = lo + min(int(uniform(v_state) * span), span - 1)
        # each village rate from its own sub-stream: the beta sampler's varying
        # number of draws cannot shift any other draw of the population
        seed_substream(r_state, key, index, PURPOSE_VILLAGE_RATES, 3 * v)
        p_w = beta_mean_icc(r_state, cflt[C_WRONGFUL], cflt[C_ICC_WRONGFUL])
        seed_substream(r_state, key, index, PURPOSE_VILLAGE_RATES, 3 * v + 1)
        p_o = beta_mean_icc(r_state, cflt[C_OMISSION], cflt[C_ICC_OMISSION])
        seed_substream(r_state, key, index, PURPOSE_VILLAGE_RATES, 3 * v + 2)
        p_a = beta_mean_icc(r_state, cflt[C_APPROVAL], cflt[C_ICC_APPROVAL])
        reg = cflt[C_POOR_SHARE_REG] if poor else cflt[C_NONPOOR_SHARE_REG]
        rem = reg * cflt[C_REMAINING]
        counts = np.zeros(3, np.int64)
        for j in range(n_v):
            u = uniform(hh_state)
            k = 0
            while k < kmax - 1 and u >= size_cdf[k]:
                k += 1
            scratch_size[j] = k + 1
            u = uniform(hh_state)
            if u < rem:
                st = REMAINING
            elif u < reg:
                st = EXITED
            else:
                st = NONREGISTERED
            scratch_status[j] = st
            counts[st] += 1
            u = uniform(hh_state)
            if st == EXITED:
                scratch_problem[j] = u < p_w
            elif st == NONREGISTERED:
                scratch_problem[j] = u < p_o
            else:
                scratch_problem[j] = False
            scratch_approve[j] = uniform(hh_state) < p_a
        village_start[v] = pos
        village_poor[v] = poor
        stratum_start[v, 0] = pos
        stratum_start[v, 1] = pos + counts[EXITED]
        stratum_start[v, 2] = pos + counts[EXITED] + counts[REMAINING]
        stratum_start[v, 3] = pos + n_v
        fill = np.empty(3, np.int64)
        fill[0] = stratum_start[v, 0]
        fill[1] = stratum_start[v, 1]
        fill[2] = stratum_start[v, 2]
        for j in range(n_v):
            st = scratch_status[j]
            h = fill[st]
            fill[st] += 1
            size[h] = scratch_size[j]
            status[h] = st
            problem[h] = scratch_problem[j]
            approve[h] = scratch_approve[j]
        pos += n_v
    village_start[villages] = pos
    return pos


@jit
def population_totals(households, size, status, problem, approve, out):
    """Write a population's exact totals into ``out`` (float64[T_NTOTALS])."""
    for i in range(T_NTOTALS):
        out[i] = 0.0
    for h in range(households):
        s = size[h]
        st = status[h]
        if st == EXITED:
            out[T_EXITED_PERSONS] += s
            out[T_EXITED_HH] += 1
            if problem[h]:
                out[T_WRONGFUL_PERSONS] += s
        elif st == NONREGISTERED:
            out[T_NONREG_PERSONS] += s
            out[T_NONREG_HH] += 1
            if problem[h]:
                out[T_OMITTED_PERSONS] += s
        else:
            out[T_REMAINING_PERSONS] += s
            out[T_REMAINING_HH] += 1
        out[T_HOUSEHOLDS] += 1
        if approve[h]:
            out[T_APPROVING] += 1
