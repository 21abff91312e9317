"""Question 2: how wrong is a whole exit programme (the 2018 round and others)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._seed import as_seed_sequence
from .._validate import check_count, check_real
from ..scenario import Scenario
from ._common import Estimate, check_scenario, format_rate, mean_estimate
from ._table import CheckTable, build_check_table

__all__ = ["CountyDistribution", "ProgrammeResult", "Spread", "simulate_programme"]


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class CountyDistribution:
    """Distribution of county-level true wrongful-exit and omission rates.

    A bivariate logit-normal law: ``logit(w) = mu_wrongful + sigma_wrongful * z1``,
    ``logit(o) = mu_omission + sigma_omission * z2``, ``corr(z1, z2) = rho``.
    ``sigma = 0`` gives a point mass. Rates are the expected rates of the
    county generator (:class:`povsim.County`); each county's realised population
    rates scatter around them.

    Parameters
    ----------
    mu_wrongful, mu_omission : float
        Logit of the median rate, in [-20, 5].
    sigma_wrongful, sigma_omission : float
        Spread on the logit scale, in [0, 5].
    rho : float
        Correlation of the two logits, in [-1, 1].

    Examples
    --------
    >>> d = CountyDistribution.from_medians(0.001, 0.0005, sigma_wrongful=1.0)
    >>> round(d.median_wrongful, 6)
    0.001
    """

    mu_wrongful: float
    mu_omission: float
    sigma_wrongful: float = 1.0
    sigma_omission: float = 1.0
    rho: float = 0.0

    def __post_init__(self) -> None:
        for name in ("mu_wrongful", "mu_omission"):
            object.__setattr__(self, name, check_real(name, getattr(self, name), low=-20, high=5))
        for name in ("sigma_wrongful", "sigma_omission"):
            object.__setattr__(self, name, check_real(name, getattr(self, name), low=0, high=5))
        object.__setattr__(self, "rho", check_real("rho", self.rho, low=-1.0, high=1.0))

    @classmethod
    def from_medians(
        cls,
        wrongful: float,
        omission: float,
        *,
        sigma_wrongful: float = 1.0,
        sigma_omission: float = 1.0,
        rho: float = 0.0,
    ) -> CountyDistribution:
        """Build from median rates (in (0, 1)) instead of logits."""
        for name, v in (("wrongful", wrongful), ("omission", omission)):
            check_real(name, v, low=0.0, high=1.0, low_open=True, high_open=True)
        return cls(_logit(wrongful), _logit(omission), sigma_wrongful, sigma_omission, rho)

    @property
    def median_wrongful(self) -> float:
        """Median wrongful-exit rate."""
        return 1.0 / (1.0 + math.exp(-self.mu_wrongful))

    @property
    def median_omission(self) -> float:
        """Median omission rate."""
        return 1.0 / (1.0 + math.exp(-self.mu_omission))

    def exceedance(self, threshold: float = 0.02) -> tuple[float, float]:
        """P(w >= threshold) and P(o >= threshold) (exact, normal cdf on the logit scale)."""
        from scipy.special import ndtr

        t = _logit(threshold)
        out = []
        for mu, sd in (
            (self.mu_wrongful, self.sigma_wrongful),
            (self.mu_omission, self.sigma_omission),
        ):
            out.append(float(mu >= t) if sd == 0 else float(ndtr((mu - t) / sd)))
        return out[0], out[1]

    def sample(self, size, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``size`` counties' rates ``(w, o)``."""
        z1 = rng.standard_normal(size)
        z2 = rng.standard_normal(size)
        z2 = self.rho * z1 + math.sqrt(max(1.0 - self.rho**2, 0.0)) * z2
        w = 1.0 / (1.0 + np.exp(-(self.mu_wrongful + self.sigma_wrongful * z1)))
        o = 1.0 / (1.0 + np.exp(-(self.mu_omission + self.sigma_omission * z2)))
        return w, o


@dataclass(frozen=True)
class Spread:
    """Mean over replications (with MCSE), SD and 5 %/95 % quantiles across them."""

    mean: Estimate
    sd: float
    q05: float
    q95: float

    def format(self, scale: float = 1.0, digits: int = 2) -> str:
        """One-line text: ``mean ± mcse (SD sd, 90 % range q05–q95)``."""
        return (
            f"{self.mean.format(scale, digits)} (SD {self.sd * scale:.{digits}f}, "
            f"90 % of programmes {self.q05 * scale:.{digits}f}–{self.q95 * scale:.{digits}f})"
        )


def _spread(values: np.ndarray) -> Spread:
    values = np.asarray(values, dtype=float)
    return Spread(
        mean=mean_estimate(values),
        sd=float(values.std(ddof=1)) if values.size > 1 else math.nan,
        q05=float(np.quantile(values, 0.05)),
        q95=float(np.quantile(values, 0.95)),
    )


def _ratio(num: np.ndarray, den: np.ndarray) -> Estimate:
    """Pooled ratio sum(num) / sum(den) over replications, delta-method MCSE."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    r = num.size
    if den.sum() < 1:
        return Estimate(math.nan, math.nan)
    q = num.sum() / den.sum()
    resid = num - q * den
    se = math.sqrt(resid.var(ddof=1) / r) / den.mean() if r > 1 else math.nan
    return Estimate(float(q), float(se))


@dataclass(frozen=True)
class ProgrammeResult:
    """Outcome of a simulated exit programme (counts per programme, over replications).

    Attributes
    ----------
    counties, national, replications : int
        Counties checked by the provinces, counties drawn for the national spot
        check, simulated programmes.
    truly_failing : Spread
        Counties whose population truly fails the rule.
    wrongly_passed : Spread
        Truly failing counties passed by their provincial check (false passes).
    wrongly_passed_share : Spread
        ``wrongly_passed / counties``.
    wrongly_failed : Spread
        Truly passing counties failed by their provincial check (false fails).
    exiting : Spread
        Counties passed by the provincial checks (they exit).
    national_wrongly_passed : Spread
        Wrongly passed counties among those drawn for the national check.
    caught : Spread
        Wrongly passed counties whose national check fails them.
    false_alarms : Spread
        Truly passing exiting counties whose national check fails them.
    false_pass_rate, false_fail_rate : Estimate
        Pooled P(provincial pass | truly fails) and P(provincial fail | truly passes).
    catch_rate : Estimate
        Pooled share of all wrongly passed counties that the national check catches.
    distribution : CountyDistribution
        The distribution (at the posterior mean when ``posterior``).
    posterior : bool
        True when each programme drew its own distribution from a calibration's
        posterior (posterior predictive programmes).
    seed : str
    """

    counties: int
    national: int
    replications: int
    truly_failing: Spread
    wrongly_passed: Spread
    wrongly_passed_share: Spread
    wrongly_failed: Spread
    exiting: Spread
    national_wrongly_passed: Spread
    caught: Spread
    false_alarms: Spread
    false_pass_rate: Estimate
    false_fail_rate: Estimate
    catch_rate: Estimate
    distribution: CountyDistribution
    posterior: bool = False
    seed: str = field(default="")

    def summary_lines(self) -> list[str]:
        """Headline lines for ``summary.txt``."""
        rate = format_rate

        return [
            f"programme: {self.counties} counties, {self.national} in the national spot check, "
            f"{self.replications} simulated programmes",
            f"  truly failing counties: {self.truly_failing.format()}",
            f"  wrongly passed by the provincial checks: {self.wrongly_passed.format()} "
            f"(share {self.wrongly_passed_share.mean.format(100)} %; "
            f"false-pass rate {rate(self.false_pass_rate)})",
            f"  wrongly failed by the provincial checks: {self.wrongly_failed.format()} "
            f"(false-fail rate {rate(self.false_fail_rate, 3)})",
            f"  caught by the national spot check: {self.caught.format()} "
            f"(of all wrongly passed: {rate(self.catch_rate)})",
            f"  false alarms raised by the national spot check: {self.false_alarms.format()}",
        ]


DEFAULT_REGIONS = {"central": 114, "western": 169}


def simulate_programme(
    distribution: CountyDistribution,
    *,
    scenario: Scenario | None = None,
    regions: dict[str, int] | None = None,
    national: int = 60,
    provinces: int = 22,
    replications: int = 400,
    seed: object = 0,
    table: CheckTable | None = None,
    national_table: CheckTable | None = None,
) -> ProgrammeResult:
    """Simulate a whole exit programme: provincial checks, then a national spot check.

    Each replication draws ``sum(regions.values())`` counties' true rates from
    ``distribution``, generates each county (its truth is that of its
    population), checks every county once (the provincial check), and draws
    ``national`` of the counties that passed — first one from each of
    ``provinces`` provinces (counties are assigned to provinces in turn), the
    rest by simple random sampling — for an independent second check of the same
    population (the national spot check). Checks are emulated from engine checks
    of the scenario (:mod:`povsim.research._table`), so sampling, clustering and
    misclassification are the engine's.

    Parameters
    ----------
    distribution : CountyDistribution or CalibrationResult
        County-level true rates. A :class:`CalibrationResult` makes every
        programme draw its own parameters from the calibration's posterior
        (posterior predictive programmes: the spread then includes the
        uncertainty of the fit).
    scenario : Scenario, optional
        County generator, design, measurement and rule of the provincial checks
        (default :meth:`Scenario.official_2018`). The rule must use the point
        estimate or Wilson bounds.
    regions : dict, optional
        Counties per region, default ``{"central": 114, "western": 169}`` (2018).
    national : int
        Counties drawn for the national spot check (60 in 2018, 20 %).
    provinces : int
        Provinces that must each have a county in the national draw (22 in 2018);
        at most ``national``.
    replications : int
        Simulated programmes (>= 2).
    seed : int, SeedSequence or Generator
        Seed of every random draw (``seed=0`` is a seed).
    table, national_table : CheckTable, optional
        Prebuilt emulator tables for the provincial and national checks (the
        national one defaults to the provincial one: the same procedure).

    Returns
    -------
    ProgrammeResult
        Every count as a :class:`Spread` over replications with MCSE.

    References
    ----------
    Morris, T. P., White, I. R. and Crowther, M. J. (2019). Using simulation
    studies to evaluate statistical methods. Statistics in Medicine 38, 2074–2102.
    Pagano, M. and Valadez, J. J. (2010). Understanding practical lot quality
    assurance sampling. International Journal of Epidemiology 39, 69–71.
    Kish, L. (1965). Survey Sampling. Wiley.
    Rogan, W. J. and Gladen, B. (1978). Estimating prevalence from the results of
    a screening test. American Journal of Epidemiology 107, 71–76.

    Examples
    --------
    >>> d = CountyDistribution.from_medians(0.0005, 0.0003)  # doctest: +SKIP
    >>> simulate_programme(d, replications=200, seed=1).wrongly_passed.mean  # doctest: +SKIP
    """
    from .calibration import CalibrationResult

    if not isinstance(distribution, CountyDistribution | CalibrationResult):
        raise ValueError(
            "distribution must be a CountyDistribution or a CalibrationResult; "
            f"got {distribution!r}"
        )
    scenario = check_scenario(scenario)
    regions = dict(DEFAULT_REGIONS if regions is None else regions)
    if set(regions) - {"central", "western"} or not regions:
        raise ValueError(f"regions must map 'central'/'western' to counts; got {regions!r}")
    for name, k in regions.items():
        check_count(f"regions[{name!r}]", k)
    k_total = sum(regions.values())
    if k_total < 1:
        raise ValueError("regions must hold at least one county in total")
    national = check_count(
        "national", national, minimum=1, maximum=k_total, maximum_name="counties"
    )
    provinces = check_count(
        "provinces", provinces, minimum=1, maximum=national, maximum_name="national"
    )
    replications = check_count("replications", replications, minimum=2)
    ss = as_seed_sequence(seed)
    table_ss, rng_ss = ss.spawn(2)
    if table is None:
        table = build_check_table(scenario, seed=table_ss)
    if national_table is None:
        national_table = table
    rng = np.random.default_rng(rng_ss)
    if isinstance(distribution, CalibrationResult):
        wts = distribution.weights / distribution.weights.sum()
        rows = rng.choice(wts.size, size=replications, p=wts)
        per_rep = [CountyDistribution(*distribution.draws[i]) for i in rows]
        summary_distribution = distribution.distribution()
    else:
        per_rep = [distribution] * replications
        summary_distribution = distribution
    central = np.zeros(k_total, dtype=bool)
    central[: regions.get("central", 0)] = True
    province = np.arange(k_total) % provinces

    out = {
        k: np.zeros(replications)
        for k in (
            "truly_failing",
            "wrongly_passed",
            "wrongly_failed",
            "exiting",
            "truly_passing",
            "national_wp",
            "caught",
            "false_alarms",
        )
    }
    for r in range(replications):
        w, o = per_rep[r].sample(k_total, rng)
        em = table.emulate(w, o, central, rng, checks=1)
        truth = em["true_pass"]
        passed = em["passed"][:, 0]
        out["truly_failing"][r] = (~truth).sum()
        out["truly_passing"][r] = truth.sum()
        out["wrongly_passed"][r] = (~truth & passed).sum()
        out["wrongly_failed"][r] = (truth & ~passed).sum()
        out["exiting"][r] = passed.sum()
        chosen = _national_draw(passed, province, provinces, national, rng)
        if chosen.size:
            if national_table is table:
                # the same populations, an independent check: re-draw rows of the same county
                em2 = table.recheck(em, chosen, rng)
            else:
                em2 = national_table.emulate(w[chosen], o[chosen], central[chosen], rng)["passed"][
                    :, 0
                ]
            t = truth[chosen]
            out["national_wp"][r] = (~t).sum()
            out["caught"][r] = (~t & ~em2).sum()
            out["false_alarms"][r] = (t & ~em2).sum()
    return ProgrammeResult(
        counties=k_total,
        national=national,
        replications=replications,
        truly_failing=_spread(out["truly_failing"]),
        wrongly_passed=_spread(out["wrongly_passed"]),
        wrongly_passed_share=_spread(out["wrongly_passed"] / k_total),
        wrongly_failed=_spread(out["wrongly_failed"]),
        exiting=_spread(out["exiting"]),
        national_wrongly_passed=_spread(out["national_wp"]),
        caught=_spread(out["caught"]),
        false_alarms=_spread(out["false_alarms"]),
        false_pass_rate=_ratio(out["wrongly_passed"], out["truly_failing"]),
        false_fail_rate=_ratio(out["wrongly_failed"], out["truly_passing"]),
        catch_rate=_ratio(out["caught"], out["wrongly_passed"]),
        distribution=summary_distribution,
        posterior=isinstance(distribution, CalibrationResult),
        seed=str(ss.entropy),
    )


def _national_draw(passed, province, provinces, national, rng) -> np.ndarray:
    """One passing county per province where there is one, the rest by SRS."""
    idx = np.flatnonzero(passed)
    if idx.size <= national:
        return idx
    chosen = []
    for p in range(provinces):
        cand = idx[province[idx] == p]
        if cand.size:
            chosen.append(int(rng.choice(cand)))
    chosen_arr = np.array(chosen, dtype=np.int64)
    rest = np.setdiff1d(idx, chosen_arr)
    extra = rng.choice(rest, size=national - chosen_arr.size, replace=False)
    return np.sort(np.concatenate([chosen_arr, extra]))
