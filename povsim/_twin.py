"""The slow, obvious twin of the spot-check engine (plain NumPy, household by household).

:func:`simulate_twin` simulates the same spot checks as :func:`povsim.simulate`
without any of the numba kernels: it draws each sample with
:meth:`numpy.random.Generator.choice`, records every sampled household's status
with its own uniforms, applies the rule with :mod:`scipy.stats` bounds and finds
each check's verdict margin by brute force over every split of the changes. It
uses its own random numbers (one :class:`numpy.random.Generator`), so it is a
*statistical* twin: it agrees with the engine within Monte Carlo error, never
bit for bit. The tests use it as an oracle (STYLE.md, rule 2); it is far too
slow for real work.

Only the bookkeeping is shared with the engine: the result is laid out in the
engine's integer-count and float-sum vectors (``povsim._engine.kernel.I_*`` and
``F_*``) and turned into a Dataset by :func:`povsim.simulate.summarise`, so that
the two produce the same variables with the same definitions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special, stats

from ._engine import kernel as _k
from ._engine.rng import stream_key
from ._seed import as_seed_sequence
from ._validate import check_count
from .county import EXITED, NONREGISTERED, REMAINING, Population, _draw_population
from .rules import Rule
from .scenario import Scenario
from .simulate import _prepare, summarise

__all__ = ["TwinRule", "simulate_twin", "verdict_margin_twin"]

#: Verdict margins are searched up to this many changes; ``K_MAX + 1`` means more.
K_MAX = 10

FAIL_INCIDENCE = 1
FAIL_WRONGFUL = 2
FAIL_OMISSION = 4
FAIL_APPROVAL = 8


# -- the rule ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TwinRule:
    """A :class:`~povsim.rules.Rule` for one region, evaluated in plain Python and SciPy.

    Parameters
    ----------
    rule : Rule
        The rule (thresholds, method, bound, confidence, guard band, design effect).
    region : {"central", "western"}
        Region of the county (sets the incidence threshold when the rule has none).
    """

    rule: Rule
    region: str

    @property
    def thresholds(self) -> tuple[float, float, float, float]:
        """Thresholds of (incidence, wrongful exit, omission, approval)."""
        r = self.rule
        return (r.incidence_threshold(self.region), r.wrongful_exit, r.omission, r.approval)

    def bound(self, x: object, n: float, *, upper: bool) -> np.ndarray:
        """One-sided bound of the proportions ``x / n`` (``x`` an array of counts).

        Counts are divided by the rule's design effect first. Wilson: the closed
        form ``(p + z^2/2n ± z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)`` with
        ``z = ndtri(confidence)``, clipped to [0, 1]; Clopper–Pearson: quantiles
        of the beta law from :func:`scipy.stats.beta.ppf`. With ``n == 0`` the
        upper bound is 1 and the lower bound 0.
        """
        x = np.asarray(x, np.float64)
        if n <= 0:
            return np.full(x.shape, 1.0 if upper else 0.0)
        deff = self.rule.design_effect
        xe = x / deff
        ne = n / deff
        conf = self.rule.confidence
        if self.rule.bound == "wilson":
            z = float(special.ndtri(conf))
            p = xe / ne
            denom = 1.0 + z * z / ne
            centre = (p + z * z / (2.0 * ne)) / denom
            half = z * np.sqrt(np.maximum(p * (1.0 - p) / ne + z * z / (4.0 * ne * ne), 0.0))
            half = half / denom
            return np.clip(centre + half if upper else centre - half, 0.0, 1.0)
        if upper:
            full = xe >= ne
            safe = np.where(full, 0.0, xe)
            return np.where(full, 1.0, stats.beta.ppf(conf, safe + 1.0, ne - safe))
        empty = xe <= 0.0
        safe = np.where(empty, 1.0, xe)
        return np.where(empty, 0.0, stats.beta.ppf(1.0 - conf, safe, ne - safe + 1.0))

    def rate_statistic(self, x: object, n: float) -> np.ndarray:
        """Statistic of an error rate (array over counts ``x``) met with its threshold."""
        x = np.asarray(x, np.float64)
        if self.rule.method == "point":
            return x / n if n > 0 else np.zeros(x.shape)
        return self.bound(x, n, upper=self.rule.method == "upper_bound")

    def approval_statistic(self, x: object, n: float) -> np.ndarray:
        """Statistic of approval (array over counts ``x``); its bounds lie on the other side."""
        x = np.asarray(x, np.float64)
        if self.rule.method == "point":
            return x / n if n > 0 else np.zeros(x.shape)
        return self.bound(x, n, upper=self.rule.method == "lower_bound")

    def fail_mask(self, w: float, o: float, a: float, totals: tuple[float, float, float]) -> int:
        """Fail bits (``FAIL_*``) for rate statistics ``w``, ``o`` and approval statistic ``a``.

        ``totals`` are the county's (remaining, exited, never-registered) persons;
        incidence is ``(R + w E + o N) / (R + E + N)``.
        """
        t_inc, t_w, t_o, t_a = self.thresholds
        g = self.rule.guard_band
        r, e, n = totals
        incidence = (r + w * e + o * n) / (r + e + n)
        mask = 0
        if not incidence < t_inc - g:
            mask |= FAIL_INCIDENCE
        if not w < t_w - g:
            mask |= FAIL_WRONGFUL
        if not o < t_o - g:
            mask |= FAIL_OMISSION
        approved = a > t_a + g if self.rule.approval_strict else a >= t_a + g
        if not approved:
            mask |= FAIL_APPROVAL
        return mask

    def true_pass(self, truth: tuple[float, float, float, float]) -> bool:
        """The true verdict of indicators ``(incidence, w, o, approval)`` (no bounds, no band)."""
        t_inc, t_w, t_o, t_a = self.thresholds
        inc, w, o, a = truth
        ok = inc < t_inc and w < t_w and o < t_o
        return bool(ok and (a > t_a if self.rule.approval_strict else a >= t_a))


def verdict_margin_twin(
    rule: TwinRule,
    sizes_exited: object,
    flags_exited: object,
    sizes_nonreg: object,
    flags_nonreg: object,
    approvals: int,
    households: int,
    totals: tuple[float, float, float],
) -> int:
    """Smallest number of single-household changes that reverses a check's verdict.

    The definition of :func:`povsim.simulate`: a change toggles the wrongful-exit
    flag of one sampled exited household, the omission flag of one sampled
    never-registered household, or the approval answer of one sampled household.
    A passing check is reversed by adding flags or withdrawing approvals, a
    failing one by removing flags or adding approvals, with the county totals
    unchanged. Every rule statistic grows with its count, so among ``j`` flag
    changes of one kind the ``j`` largest candidate households move it furthest;
    the search tries *every* triple (wrongful, omission, approval changes) of
    each total ``1, 2, ..., K_MAX`` in turn.

    Parameters
    ----------
    rule : TwinRule
        The rule and region the verdict is taken under.
    sizes_exited, flags_exited : array of int, array of bool
        Persons and recorded wrongful-exit flag of each sampled exited household.
    sizes_nonreg, flags_nonreg : array of int, array of bool
        The same for sampled never-registered households (omission flags).
    approvals, households : int
        Households answering that they approve, and all sampled households.
    totals : (float, float, float)
        County persons remaining, exited and never registered.

    Returns
    -------
    int
        The margin in ``1 .. K_MAX``, or ``K_MAX + 1`` when more changes (or
        impossible ones) would be needed.
    """
    sizes_w = np.asarray(sizes_exited, np.int64)
    flags_w = np.asarray(flags_exited, bool)
    sizes_o = np.asarray(sizes_nonreg, np.int64)
    flags_o = np.asarray(flags_nonreg, bool)
    x_w, n_w = int(sizes_w[flags_w].sum()), int(sizes_w.sum())
    x_o, n_o = int(sizes_o[flags_o].sum()), int(sizes_o.sum())
    x_a, n_a = int(approvals), int(households)

    def mask_at(dw: int, do: int, da: int) -> int:
        return rule.fail_mask(
            float(rule.rate_statistic([x_w + dw], n_w)[0]),
            float(rule.rate_statistic([x_o + do], n_o)[0]),
            float(rule.approval_statistic([x_a + da], n_a)[0]),
            totals,
        )

    passing = mask_at(0, 0, 0) == 0
    sign = 1 if passing else -1  # flags: + added to a pass, - removed from a fail

    def largest_first(sizes: np.ndarray) -> np.ndarray:
        """Persons in the ``j`` largest candidates, ``j = 0 .. min(K_MAX, len)``."""
        ordered = np.sort(sizes)[::-1][:K_MAX]
        return np.concatenate([[0], np.cumsum(ordered)])

    cum_w = largest_first(sizes_w[~flags_w] if passing else sizes_w[flags_w])
    cum_o = largest_first(sizes_o[~flags_o] if passing else sizes_o[flags_o])
    room_a = x_a if passing else n_a - x_a  # approvals that can be withdrawn / added
    steps_a = np.arange(min(K_MAX, room_a) + 1)
    stat_w = rule.rate_statistic(x_w + sign * cum_w, n_w)
    stat_o = rule.rate_statistic(x_o + sign * cum_o, n_o)
    stat_a = rule.approval_statistic(x_a - sign * steps_a, n_a)
    for total in range(1, K_MAX + 1):
        for jw in range(min(total, cum_w.size - 1) + 1):
            for jo in range(min(total - jw, cum_o.size - 1) + 1):
                ja = total - jw - jo
                if ja >= steps_a.size:
                    continue
                mask = rule.fail_mask(
                    float(stat_w[jw]), float(stat_o[jo]), float(stat_a[ja]), totals
                )
                if (mask == 0) != passing:
                    return total
    return K_MAX + 1


# -- populations ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Households:
    """A population as one row per household, with the truth computed in NumPy."""

    village: np.ndarray
    village_poor: np.ndarray
    size: np.ndarray
    status: np.ndarray
    problem: np.ndarray
    approve: np.ndarray

    @classmethod
    def of(cls, population: Population) -> _Households:
        counts = np.diff(population.village_start)
        return cls(
            village=np.repeat(np.arange(counts.size), counts),
            village_poor=np.asarray(population.village_poor, bool),
            size=np.asarray(population.size, np.int64),
            status=np.asarray(population.status, np.int64),
            problem=np.asarray(population.problem, bool),
            approve=np.asarray(population.approve, bool),
        )

    @cached_property
    def totals(self) -> tuple[float, float, float]:
        """Persons remaining, exited and never registered."""
        return tuple(
            float(self.size[self.status == s].sum()) for s in (REMAINING, EXITED, NONREGISTERED)
        )

    @cached_property
    def truth(self) -> tuple[float, float, float, float]:
        """True (incidence, wrongful exit, omission, approval) by the official formulas."""
        r, e, n = self.totals
        ex = self.status == EXITED
        nr = self.status == NONREGISTERED
        w = float(self.size[ex & self.problem].sum()) / e if e > 0 else 0.0
        o = float(self.size[nr & self.problem].sum()) / n if n > 0 else 0.0
        a = float(self.approve.sum()) / self.size.size
        return (r + w * e + o * n) / (r + e + n), w, o, a


def _fresh_population(county, rng: np.random.Generator) -> Population:
    """Draw one population of ``county`` with NumPy, every stream from ``rng``."""
    return _draw_population(county, rng, rng, rng)


# -- one check -----------------------------------------------------------------------------
def _choose(rng: np.random.Generator, pool: np.ndarray, k: int, replace: bool) -> np.ndarray:
    """``k`` households of ``pool`` (all of them, at most, without replacement)."""
    if k <= 0 or pool.size == 0:
        return np.zeros(0, np.int64)
    if not replace:
        k = min(k, pool.size)
    return rng.choice(pool, size=k, replace=replace)


def _draw_sample(
    rng: np.random.Generator, design, hh: _Households
) -> tuple[np.ndarray, np.ndarray]:
    """One check's sample: (households, team group of each), as the Design docstring says."""
    replace = design.replace
    if design.kind == "two_stage":
        villages = np.arange(hh.village_poor.size)
        if design.poor_villages is None:
            chosen = _choose(rng, villages, design.villages, replace)
        else:
            chosen = np.concatenate(
                [
                    _choose(rng, villages[hh.village_poor], design.poor_villages, replace),
                    _choose(
                        rng,
                        villages[~hh.village_poor],
                        design.villages - design.poor_villages,
                        replace,
                    ),
                ]
            )
        picks, groups = [], []
        for j, v in enumerate(chosen):
            in_v = hh.village == v
            if design.per_village_registered is None:
                got = _choose(rng, np.flatnonzero(in_v), design.per_village, replace)
            else:
                registered = np.flatnonzero(in_v & (hh.status != NONREGISTERED))
                never = np.flatnonzero(in_v & (hh.status == NONREGISTERED))
                got = np.concatenate(
                    [
                        _choose(rng, registered, design.per_village_registered, replace),
                        _choose(
                            rng, never, design.per_village - design.per_village_registered, replace
                        ),
                    ]
                )
            picks.append(got)
            groups.append(np.full(got.size, j))
        if not picks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(picks).astype(np.int64), np.concatenate(groups).astype(np.int64)
    if design.kind == "srs":
        sel = _choose(rng, np.arange(hh.size.size), design.households, replace)
    else:
        exited = np.flatnonzero(hh.status == EXITED)
        remaining = np.flatnonzero(hh.status == REMAINING)
        never = np.flatnonzero(hh.status == NONREGISTERED)
        n_reg = design.registered
        e_hh, r_hh = exited.size, remaining.size
        n_exited = n_reg if e_hh + r_hh == 0 else math.floor(n_reg * e_hh / (e_hh + r_hh) + 0.5)
        sel = np.concatenate(
            [
                _choose(rng, exited, n_exited, replace),
                _choose(rng, remaining, n_reg - n_exited, replace),
                _choose(rng, never, design.households - n_reg, replace),
            ]
        )
    sel = sel.astype(np.int64)
    return sel, hh.village[sel]


def _logit_shift(p: float, shift: np.ndarray) -> np.ndarray:
    """``expit(logit(p) + shift)``; ``p`` itself where it is 0 or 1."""
    if p <= 0.0 or p >= 1.0:
        return np.full(shift.shape, p)
    return np.where(shift == 0.0, p, special.expit(special.logit(p) + shift))


def _check(rng, scenario: Scenario, rule: TwinRule, hh: _Households):
    """Simulate one check: (fail mask, margin, sampled household counts, estimates)."""
    m = scenario.measurement
    sel, group = _draw_sample(rng, scenario.design, hh)
    n = sel.size
    team = group % m.teams if m.teams is not None else group
    n_slots = m.teams if m.teams is not None else (int(group.max()) + 1 if n else 0)
    if m.team_sd > 0.0:
        z = rng.standard_normal((n_slots, 2))
        team_se = _logit_shift(m.sensitivity, m.team_sd * z[:, 0])
        team_sp = _logit_shift(m.specificity, m.team_sd * z[:, 1])
    else:
        team_se = np.full(n_slots, m.sensitivity)
        team_sp = np.full(n_slots, m.specificity)
    # every sampled household: its own three uniforms (flag, review, approval answer)
    u = rng.random((n, 3))
    status = hh.status[sel]
    size = hh.size[sel]
    problem = hh.problem[sel]
    se = team_se[team]
    sp = team_sp[team]
    flag = np.where(
        problem,
        (u[:, 0] < se) & (u[:, 1] < m.review_true),
        (u[:, 0] < 1.0 - sp) & (u[:, 1] < m.review_false),
    )
    flag &= status != REMAINING  # registry-remaining households are never checked
    answer = np.where(
        hh.approve[sel], u[:, 2] >= m.approval_underreport, u[:, 2] < m.approval_overreport
    )
    ex = status == EXITED
    nr = status == NONREGISTERED
    x_w, n_w = int(size[ex & flag].sum()), int(size[ex].sum())
    x_o, n_o = int(size[nr & flag].sum()), int(size[nr].sum())
    x_a = int(answer.sum())
    totals = hh.totals
    mask = rule.fail_mask(
        float(rule.rate_statistic([x_w], n_w)[0]),
        float(rule.rate_statistic([x_o], n_o)[0]),
        float(rule.approval_statistic([x_a], n)[0]),
        totals,
    )
    margin = verdict_margin_twin(rule, size[ex], flag[ex], size[nr], flag[nr], x_a, n, totals)
    w_hat = x_w / n_w if n_w > 0 else 0.0
    o_hat = x_o / n_o if n_o > 0 else 0.0
    a_hat = x_a / n if n > 0 else 0.0
    r, e, nn = totals
    inc_hat = (r + w_hat * e + o_hat * nn) / (r + e + nn)
    return mask, margin, (int(ex.sum()), int(nr.sum()), n), (inc_hat, w_hat, o_hat, a_hat)


# -- many checks ---------------------------------------------------------------------------
def simulate_twin(
    scenario: Scenario, *, checks: int, seed: int, population: Population | None = None
):
    """Simulate ``checks`` spot checks of ``scenario`` in plain NumPy (the engine's twin).

    Same model and same outputs as :func:`povsim.simulate`, with independent
    code and random numbers: agreement is within Monte Carlo error only.

    Parameters
    ----------
    scenario : Scenario
        County, design, measurement and rule.
    checks : int
        Number of simulated checks (>= 1); each takes about a millisecond.
    seed : int
        Seed of the one :func:`numpy.random.default_rng` generator (>= 0).
    population : Population, optional
        A concrete population to check (fixed mode only); by default the one
        drawn from ``scenario.county`` with ``scenario.population_seed``.

    Returns
    -------
    xarray.Dataset
        The variables of :func:`povsim.simulate`, from the same count and sum
        vectors; ``attrs["implementation"]`` says it came from the twin.

    Examples
    --------
    >>> import povsim
    >>> from povsim._twin import simulate_twin
    >>> s = povsim.Scenario(
    ...     county=povsim.County(villages=10, households_per_village=(20, 30)),
    ...     design=povsim.Design.srs(50),
    ... )
    >>> ds = simulate_twin(s, checks=20, seed=1)
    >>> int(ds.attrs["checks"])
    20
    """
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a povsim.Scenario; got {scenario!r}")
    checks = check_count("checks", checks, minimum=1)
    seed = check_count("seed", seed)
    # _prepare validates the population and the design's fit and gives the metadata
    # summarise needs (shift, fixed population); its packed engine arrays go unused.
    prep = _prepare(scenario, stream_key(as_seed_sequence(seed)), population)
    rng = np.random.default_rng(seed)
    region = scenario.county.region if prep.fresh else prep.population.region
    rule = TwinRule(scenario.rule, region)
    fixed = None if prep.fresh else _Households.of(prep.population)
    shift = [float(s) for s in prep.shift]
    ints = np.zeros(_k.I_NCOUNTS, np.int64)
    sums = np.zeros(_k.F_NSUMS, np.float64)
    for _ in range(checks):
        hh = _Households.of(_fresh_population(scenario.county, rng)) if prep.fresh else fixed
        truth = hh.truth
        true_pass = rule.true_pass(truth)
        mask, margin, (hh_w, hh_o, hh_all), estimate = _check(rng, scenario, rule, hh)
        passed = mask == 0
        ints[_k.I_CHECKS] += 1
        ints[_k.I_PASS] += passed
        ints[_k.I_TRUE_PASS] += true_pass
        ints[_k.I_PASS_AND_TRUE_PASS] += passed and true_pass
        ints[_k.I_MASK + mask] += 1
        ints[(_k.I_MARGIN_PASS if passed else _k.I_MARGIN_FAIL) + margin] += 1
        ints[_k.I_HH_EXITED] += hh_w
        ints[_k.I_HH_NONREG] += hh_o
        ints[_k.I_HH_ALL] += hh_all
        for j in range(4):
            base = j * _k.F_STRIDE
            d = estimate[j] - shift[j]
            e = estimate[j] - truth[j]
            t = truth[j] - shift[j]
            sums[base + _k.F_D1] += d
            sums[base + _k.F_D2] += d * d
            sums[base + _k.F_D3] += d**3
            sums[base + _k.F_D4] += d**4
            sums[base + _k.F_E1] += e
            sums[base + _k.F_E2] += e * e
            sums[base + _k.F_T1] += t
            sums[base + _k.F_T2] += t * t
    ds = summarise(prep, ints, sums, checks)
    ds.attrs.update(
        seed=str(seed),
        checks_requested=checks,
        interrupted=0,
        implementation="povsim._twin.simulate_twin (plain NumPy)",
    )
    return ds
