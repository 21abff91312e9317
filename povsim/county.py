"""Synthetic counties and the concrete populations drawn from them.

A :class:`County` is a *generator*: villages (designated poor and non-poor),
households per village, household sizes, registry status, the true problem
status of each household and whether it approves, with village-level
heterogeneity given as an intra-cluster correlation (ICC) per indicator. A
:class:`Population` is one finite, concrete draw: its true indicators, and so its
true verdict under any :class:`~povsim.rules.Rule`, are computed from it exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from ._engine import population as _pop
from ._seed import as_seed_sequence
from ._validate import check_choice, check_count, check_probability

REGIONS = ("central", "western")

#: Household sizes 1, 2, ..., 8: the 2018 survey quoted in DESIGN §1 (2 persons 9 %,
#: 3 persons 18 %, 4 persons 33 %, 5 persons 22 %, 6 persons 9 %) with the remaining
#: 9 % spread as 4 % one-person, 3 % seven-person and 2 % eight-person households.
DEFAULT_HOUSEHOLD_SIZES = (0.04, 0.09, 0.18, 0.33, 0.22, 0.09, 0.03, 0.02)

EXITED = _pop.EXITED
REMAINING = _pop.REMAINING
NONREGISTERED = _pop.NONREGISTERED

__all__ = ["County", "Indicators", "Population", "REGIONS"]


@dataclass(frozen=True)
class County:
    """A synthetic county generator.

    Parameters
    ----------
    region : {"central", "western"}
        Sets the incidence threshold of the official rule (2 % or 3 %).
    villages : int
        Administrative villages in the county.
    poor_village_share : float
        Share of villages that are designated poor villages (the first ones).
    households_per_village : (int, int)
        Village sizes are uniform on this inclusive range.
    household_sizes : tuple of float
        Probabilities of households of 1, 2, ... persons (must sum to 1).
    registered_share_poor, registered_share_nonpoor : float
        Share of households in the poverty registry (建档立卡) in poor and
        non-poor villages.
    remaining_share : float
        Share of registered households not yet exited (the registry-remaining poor).
    wrongful_exit_rate : float
        Expected share of exited registered households that are wrongful exits.
    omission_rate : float
        Expected share of never-registered households that meet the poverty
        standard (omissions).
    approval_rate : float
        Expected share of households that approve (群众认可度).
    icc_wrongful_exit, icc_omission, icc_approval : float
        Intra-cluster correlation of each indicator between villages: each
        village draws its own rate from a beta law with the expected rate as
        mean and ``1 / (a + b + 1) = icc``; 0 means no heterogeneity.

    Notes
    -----
    Sizes, problems and approval are drawn independently given the village, so
    the expected persons-weighted rates equal the household rates above.

    Examples
    --------
    >>> from povsim import County
    >>> pop = County(villages=20, wrongful_exit_rate=0.01).generate(seed=1)
    >>> pop.villages, pop.region
    (20, 'western')
    """

    region: str = "western"
    villages: int = 200
    poor_village_share: float = 0.3
    households_per_village: tuple[int, int] = (250, 600)
    household_sizes: tuple[float, ...] = DEFAULT_HOUSEHOLD_SIZES
    registered_share_poor: float = 0.35
    registered_share_nonpoor: float = 0.12
    remaining_share: float = 0.03
    wrongful_exit_rate: float = 0.005
    omission_rate: float = 0.003
    approval_rate: float = 0.95
    icc_wrongful_exit: float = 0.02
    icc_omission: float = 0.02
    icc_approval: float = 0.05

    def __post_init__(self) -> None:
        check_choice("region", self.region, REGIONS)
        check_count("villages", self.villages, minimum=1)
        for name in (
            "poor_village_share",
            "registered_share_poor",
            "registered_share_nonpoor",
            "remaining_share",
            "wrongful_exit_rate",
            "omission_rate",
            "approval_rate",
            "icc_wrongful_exit",
            "icc_omission",
            "icc_approval",
        ):
            object.__setattr__(self, name, check_probability(name, getattr(self, name)))
        hpv = self.households_per_village
        if not isinstance(hpv, tuple | list) or len(hpv) != 2:
            raise ValueError(
                f"households_per_village must be a pair (low, high) of integers >= 1; got {hpv!r}"
            )
        low = check_count("households_per_village[0]", hpv[0], minimum=1)
        high = check_count("households_per_village[1]", hpv[1], minimum=low)
        object.__setattr__(self, "households_per_village", (low, high))
        sizes = tuple(
            check_probability(f"household_sizes[{i}]", p)
            for i, p in enumerate(self.household_sizes)
        )
        if not sizes or abs(sum(sizes) - 1.0) > 1e-9:
            raise ValueError(
                f"household_sizes must be probabilities of 1, 2, ... persons summing to 1; "
                f"got {self.household_sizes!r} (sum {sum(sizes)!r})"
            )
        object.__setattr__(self, "household_sizes", sizes)

    @property
    def poor_villages(self) -> int:
        """Number of designated poor villages, ``round(villages * poor_village_share)``."""
        return int(round(self.villages * self.poor_village_share))

    @property
    def max_households(self) -> int:
        """The most households a population of this county can hold."""
        return self.villages * self.households_per_village[1]

    def expected_indicators(self) -> Indicators:
        """Expected indicators of a population (persons and households alike)."""
        n_poor = self.poor_villages
        reg = (
            n_poor * self.registered_share_poor
            + (self.villages - n_poor) * self.registered_share_nonpoor
        ) / self.villages
        remaining = reg * self.remaining_share
        exited = reg - remaining
        nonreg = 1.0 - reg
        incidence = remaining + exited * self.wrongful_exit_rate + nonreg * self.omission_rate
        return Indicators(
            incidence=incidence,
            wrongful_exit=self.wrongful_exit_rate,
            omission=self.omission_rate,
            approval=self.approval_rate,
        )

    # -- the packed form the engine takes ---------------------------------------------------
    def _engine_params(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cint = np.zeros(_pop.CI_NPARAMS, np.int64)
        cint[_pop.CI_VILLAGES] = self.villages
        cint[_pop.CI_POOR_VILLAGES] = self.poor_villages
        cint[_pop.CI_HH_LOW], cint[_pop.CI_HH_HIGH] = self.households_per_village
        cflt = np.zeros(_pop.C_NPARAMS, np.float64)
        cflt[_pop.C_POOR_SHARE_REG] = self.registered_share_poor
        cflt[_pop.C_NONPOOR_SHARE_REG] = self.registered_share_nonpoor
        cflt[_pop.C_REMAINING] = self.remaining_share
        cflt[_pop.C_WRONGFUL] = self.wrongful_exit_rate
        cflt[_pop.C_OMISSION] = self.omission_rate
        cflt[_pop.C_APPROVAL] = self.approval_rate
        cflt[_pop.C_ICC_WRONGFUL] = self.icc_wrongful_exit
        cflt[_pop.C_ICC_OMISSION] = self.icc_omission
        cflt[_pop.C_ICC_APPROVAL] = self.icc_approval
        cdf = np.cumsum(np.asarray(self.household_sizes, np.float64))
        cdf[-1] = 1.0
        return cint, cflt, cdf

    def generate(self, seed: object = 0, *, index: int = 0) -> Population:
        """Draw one concrete population.

        Parameters
        ----------
        seed : int, numpy SeedSequence or numpy Generator
            The same seed (and ``index``) always gives the same population.
        index : int
            Which population of the seed's sequence to draw. (``simulate`` in
            ``population="fresh"`` mode draws a new population for every check
            from the same law, in compiled code and from streams of its own; for
            two-stage designs without replacement it draws only what the check
            observes.)

        Notes
        -----
        Drawn in NumPy (:func:`_draw_population`), so a fixed population costs
        no compilation. Village sizes, village rates and households each have
        their own stream (children of ``seed`` keyed by ``index``).

        Returns
        -------
        Population
        """
        ss = as_seed_sequence(seed)
        index = check_count("index", index)
        children = (
            np.random.SeedSequence(
                ss.entropy, spawn_key=(*ss.spawn_key, index, purpose), pool_size=ss.pool_size
            )
            for purpose in range(3)  # village sizes, village rates, households
        )
        streams = [np.random.Generator(np.random.PCG64(child)) for child in children]
        return _draw_population(self, *streams)


@dataclass(frozen=True)
class Indicators:
    """The four indicators of the official rule (as fractions, not percent)."""

    incidence: float
    wrongful_exit: float
    omission: float
    approval: float

    def as_dict(self) -> dict[str, float]:
        """Return the indicators keyed by name."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, eq=False)
class Population:
    """A finite, concrete county population.

    Households are stored village by village and, inside a village, by registry
    status (exited, remaining, never registered); see :mod:`povsim._engine.population`
    for the layout. Build one with :meth:`County.generate` or
    :meth:`Population.from_households`.
    """

    village_start: np.ndarray
    stratum_start: np.ndarray
    village_poor: np.ndarray
    size: np.ndarray
    status: np.ndarray
    problem: np.ndarray
    approve: np.ndarray
    region: str = "western"
    totals: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        check_choice("region", self.region, REGIONS)
        totals = _totals(self.size, self.status, self.problem, self.approve)
        object.__setattr__(self, "totals", totals)

    @classmethod
    def from_households(
        cls,
        *,
        village: object,
        size: object,
        status: object,
        problem: object,
        approve: object,
        village_poor: object = None,
        region: str = "western",
    ) -> Population:
        """Build a population from one row per household.

        Parameters
        ----------
        village : array of int
            Village of each household, ``0 .. V - 1`` (every village non-empty).
        size : array of int
            Persons in each household (>= 1).
        status : array of {"exited", "remaining", "nonregistered"} or of int
            Registry status (ints as :data:`EXITED`, :data:`REMAINING`,
            :data:`NONREGISTERED`).
        problem : array of bool
            True for a wrongful exit (exited) or an omission (never registered);
            must be False for remaining households.
        approve : array of bool
            Whether the household approves.
        village_poor : array of bool, optional
            Designated poor villages (default: none).
        region : {"central", "western"}
            Sets the incidence threshold of the official rule.
        """
        check_choice("region", region, REGIONS)
        village = np.asarray(village)
        n = village.shape[0]
        if village.ndim != 1 or n == 0:
            raise ValueError("village must be a non-empty 1-D array of village numbers")
        arrays = {
            "size": np.asarray(size),
            "status": np.asarray(status),
            "problem": np.asarray(problem),
            "approve": np.asarray(approve),
        }
        for name, arr in arrays.items():
            if arr.shape != (n,):
                raise ValueError(f"{name} must have one entry per household ({n}); got {arr.shape}")
        if not np.issubdtype(village.dtype, np.integer) or village.min() < 0:
            raise ValueError("village must hold integers >= 0")
        n_villages = int(village.max()) + 1
        if np.bincount(village, minlength=n_villages).min() == 0:
            raise ValueError("village numbers must be 0 .. V - 1 with no empty village")
        sz = arrays["size"]
        if not np.issubdtype(sz.dtype, np.integer) or sz.min() < 1:
            raise ValueError("size must hold integers >= 1 (persons per household)")
        st = arrays["status"]
        if st.dtype.kind in "US":
            names = {"exited": EXITED, "remaining": REMAINING, "nonregistered": NONREGISTERED}
            bad = set(np.unique(st)) - set(names)
            if bad:
                raise ValueError(
                    f"status must be one of 'exited', 'remaining', 'nonregistered'; got {bad}"
                )
            st = np.vectorize(names.__getitem__, otypes=[np.int8])(st)
        st = st.astype(np.int64)
        if st.min() < 0 or st.max() > 2:
            raise ValueError("status must be 0 (exited), 1 (remaining) or 2 (nonregistered)")
        prob = arrays["problem"].astype(bool)
        if (prob & (st == REMAINING)).any():
            raise ValueError(
                "problem must be False for remaining (registered, not exited) households"
            )
        if village_poor is None:
            vpoor = np.zeros(n_villages, np.bool_)
        else:
            vpoor = np.asarray(village_poor, dtype=bool)
            if vpoor.shape != (n_villages,):
                raise ValueError(f"village_poor must have one entry per village ({n_villages})")
        order = np.lexsort((st, village))
        village_sorted = village[order]
        st_sorted = st[order]
        vstart = np.searchsorted(village_sorted, np.arange(n_villages + 1)).astype(np.int64)
        sstart = np.empty((n_villages, 4), np.int64)
        for v in range(n_villages):
            lo, hi = vstart[v], vstart[v + 1]
            sstart[v, :3] = lo + np.searchsorted(st_sorted[lo:hi], [0, 1, 2])
            sstart[v, 3] = hi
        return cls(
            village_start=vstart,
            stratum_start=sstart,
            village_poor=vpoor,
            size=sz[order].astype(np.int64),
            status=st_sorted.astype(np.int8),
            problem=prob[order],
            approve=arrays["approve"].astype(bool)[order],
            region=region,
        )

    # -- sizes -------------------------------------------------------------------------------
    @property
    def households(self) -> int:
        """Number of households."""
        return int(self.size.shape[0])

    @property
    def villages(self) -> int:
        """Number of villages."""
        return int(self.village_start.shape[0] - 1)

    @property
    def persons(self) -> int:
        """Number of persons (the county's rural population)."""
        return int(self.size.sum())

    def stratum_households(self, status: int) -> int:
        """Households of a registry status (``EXITED``, ``REMAINING``, ``NONREGISTERED``)."""
        return int(self.totals[(_pop.T_EXITED_HH, _pop.T_REMAINING_HH, _pop.T_NONREG_HH)[status]])

    # -- the truth ---------------------------------------------------------------------------
    @property
    def indicators(self) -> Indicators:
        """The exact true indicators, computed with the official formulas.

        Wrongful-exit and omission rates are persons-weighted; approval counts
        households; incidence is ``(remaining + w * exited + o * nonregistered) /
        persons``, the formula the check uses, evaluated at the true rates.
        """
        return Indicators(*_true_indicators(self.totals))

    def verdict(self, rule: object = None) -> bool:
        """True verdict (pass) under ``rule``'s thresholds (default: the official rule)."""
        from .rules import Rule

        rule = Rule() if rule is None else rule
        return rule.true_verdict(self.indicators, self.region)

    def icc(self, indicator: str) -> float:
        """Finite-population ICC of a household indicator between villages.

        ``rho = sigma_b^2 / (sigma_b^2 + sigma_w^2)`` with ``sigma_b^2`` the
        household-weighted variance of village means and ``sigma_w^2`` the mean
        within-village variance (both with divisor N), so that for equal village
        sizes and sampling with replacement Kish's ``1 + (b - 1) rho`` is the exact
        design effect of a two-stage sample of ``b`` households per village.

        Parameters
        ----------
        indicator : {"approval"}
            Household-level indicator (the only one defined on every household).
        """
        check_choice("indicator", indicator, ("approval",))
        y = self.approve.astype(np.float64)
        vid = np.repeat(np.arange(self.villages), np.diff(self.village_start))
        n_v = np.bincount(vid, minlength=self.villages).astype(np.float64)
        mean_v = np.bincount(vid, weights=y, minlength=self.villages) / n_v
        grand = y.mean()
        between = float(np.sum(n_v * (mean_v - grand) ** 2) / y.size)
        total = float(np.mean((y - grand) ** 2))
        return between / total if total > 0 else 0.0


def _village_rates(u: np.ndarray, mean: float, icc: float) -> np.ndarray:
    """Village rates with the given mean and ICC: quantiles of their beta law at ``u``.

    The beta law has ``a + b = (1 - icc) / icc`` (so ``icc = 1 / (a + b + 1)``);
    ``icc == 0`` or a degenerate mean gives every village ``mean``, and
    ``icc == 1`` is the limit in which a village's rate is 1 with probability
    ``mean`` and 0 otherwise. As quantiles at fixed uniforms, the rates rise
    with ``mean`` (common random numbers across county rates).
    """
    if icc <= 0.0 or mean <= 0.0 or mean >= 1.0:
        return np.full(u.shape, mean)
    if icc >= 1.0:
        return (u < mean).astype(np.float64)
    from scipy import special

    scale = (1.0 - icc) / icc
    return special.betaincinv(mean * scale, (1.0 - mean) * scale, u)


def _draw_population(
    county: County,
    villages_rng: np.random.Generator,
    rates_rng: np.random.Generator,
    households_rng: np.random.Generator,
) -> Population:
    """Draw one population of ``county`` in NumPy (the model of the County docstring).

    Village sizes are uniform integers; each village's three rates are
    quantiles of their beta laws (:func:`_village_rates`) at one uniform per
    village and indicator; every household takes four uniforms (size, status,
    problem, approval) whatever the parameters. Populations of nearby
    parameters drawn from the same streams therefore share their draws (common
    random numbers). :func:`povsim._engine.population.generate_population` draws
    the same law in compiled code for fresh populations.
    """
    v_count = county.villages
    low, high = county.households_per_village
    n_v = villages_rng.integers(low, high, endpoint=True, size=v_count)
    u_rates = rates_rng.random((v_count, 3))
    p_w = _village_rates(u_rates[:, 0], county.wrongful_exit_rate, county.icc_wrongful_exit)
    p_o = _village_rates(u_rates[:, 1], county.omission_rate, county.icc_omission)
    p_a = _village_rates(u_rates[:, 2], county.approval_rate, county.icc_approval)
    village = np.repeat(np.arange(v_count), n_v)
    u = households_rng.random((village.size, 4))
    cdf = np.cumsum(np.asarray(county.household_sizes, np.float64))
    size = np.searchsorted(cdf[:-1], u[:, 0], side="right") + 1
    poor = np.arange(v_count) < county.poor_villages
    reg = np.where(poor, county.registered_share_poor, county.registered_share_nonpoor)[village]
    status = np.where(
        u[:, 1] < reg * county.remaining_share,
        REMAINING,
        np.where(u[:, 1] < reg, EXITED, NONREGISTERED),
    )
    problem = np.where(
        status == EXITED,
        u[:, 2] < p_w[village],
        (status == NONREGISTERED) & (u[:, 2] < p_o[village]),
    )
    return Population.from_households(
        village=village,
        size=size,
        status=status,
        problem=problem,
        approve=u[:, 3] < p_a[village],
        village_poor=poor,
        region=county.region,
    )


def _totals(size, status, problem, approve) -> np.ndarray:
    """A population's exact totals (float64[T_NTOTALS], as ``population_totals`` lays them out)."""
    size = np.asarray(size, np.float64)
    by_status = np.bincount(status, minlength=3)
    persons = np.bincount(status, weights=size, minlength=3)
    problem_persons = np.bincount(status, weights=size * problem, minlength=3)
    out = np.zeros(_pop.T_NTOTALS, np.float64)
    out[_pop.T_EXITED_PERSONS] = persons[EXITED]
    out[_pop.T_WRONGFUL_PERSONS] = problem_persons[EXITED]
    out[_pop.T_NONREG_PERSONS] = persons[NONREGISTERED]
    out[_pop.T_OMITTED_PERSONS] = problem_persons[NONREGISTERED]
    out[_pop.T_REMAINING_PERSONS] = persons[REMAINING]
    out[_pop.T_HOUSEHOLDS] = size.shape[0]
    out[_pop.T_APPROVING] = np.count_nonzero(approve)
    out[_pop.T_EXITED_HH] = by_status[EXITED]
    out[_pop.T_REMAINING_HH] = by_status[REMAINING]
    out[_pop.T_NONREG_HH] = by_status[NONREGISTERED]
    return out


def _true_indicators(totals: np.ndarray) -> tuple[float, float, float, float]:
    e = totals[_pop.T_EXITED_PERSONS]
    n = totals[_pop.T_NONREG_PERSONS]
    r = totals[_pop.T_REMAINING_PERSONS]
    w = totals[_pop.T_WRONGFUL_PERSONS] / e if e > 0 else 0.0
    o = totals[_pop.T_OMITTED_PERSONS] / n if n > 0 else 0.0
    a = totals[_pop.T_APPROVING] / totals[_pop.T_HOUSEHOLDS]
    inc = (r + w * e + o * n) / (r + e + n)
    return float(inc), float(w), float(o), float(a)
