"""``povsim.simulate``: many simulated spot checks of one scenario, with MCSE."""

from __future__ import annotations

import math
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

from ._engine import kernel as _k
from ._engine import population as _pop
from ._engine import rule as _rl
from ._engine.rng import stream_key
from ._exact_path import exact_dataset, exact_path_reason
from ._seed import as_seed_sequence, describe
from ._srs import srs_variances
from ._validate import check_choice, check_count
from ._version import __version__
from .county import Population
from .scenario import Scenario

INDICATORS = ("incidence", "wrongful_exit", "omission", "approval")
FLIP_K = (1, 2, 5, 10)

__all__ = ["FLIP_K", "INDICATORS", "simulate", "simulate_checks"]


@dataclass
class _Prepared:
    """Everything the kernel needs for one scenario, packed as arrays."""

    scenario: Scenario
    key: np.ndarray
    fresh: bool
    arrays: tuple
    cint: np.ndarray
    cflt: np.ndarray
    size_cdf: np.ndarray
    design: np.ndarray
    meas: np.ndarray
    rule: np.ndarray
    shift: np.ndarray
    max_size: int
    max_sample: int
    population: Population | None
    _plan: tuple | None = None

    def plan(self) -> tuple:
        """Kernel, arguments and scratch (:func:`povsim._engine.kernel.plan_blocks`), once."""
        if self._plan is None:
            self._plan = _k.plan_blocks(
                self.key,
                self.fresh,
                *self.arrays,
                self.cint,
                self.cflt,
                self.size_cdf,
                self.design,
                self.meas,
                self.rule,
                self.shift,
                self.max_size,
            )
        return self._plan


def _design_vector(design) -> np.ndarray:
    vec = np.zeros(_k.D_NPARAMS, np.int64)
    vec[_k.D_KIND] = ("srs", "stratified", "two_stage").index(design.kind)
    vec[_k.D_HOUSEHOLDS] = design.households
    vec[_k.D_VILLAGES] = design.villages if design.kind == "two_stage" else 0
    vec[_k.D_POOR_VILLAGES] = -1 if design.poor_villages is None else design.poor_villages
    vec[_k.D_PER_VILLAGE] = design.per_village
    reg = design.per_village_registered
    vec[_k.D_PER_VILLAGE_REGISTERED] = -1 if reg is None else reg
    vec[_k.D_REPLACE] = int(design.replace)
    vec[_k.D_REGISTERED] = -1 if design.registered is None else design.registered
    return vec


def _measurement_vector(m) -> np.ndarray:
    vec = np.zeros(_k.M_NPARAMS, np.float64)
    vec[_k.M_SENSITIVITY] = m.sensitivity
    vec[_k.M_SPECIFICITY] = m.specificity
    vec[_k.M_TEAM_SD] = m.team_sd
    vec[_k.M_TEAMS] = 0 if m.teams is None else m.teams
    vec[_k.M_REVIEW_TRUE] = m.review_true
    vec[_k.M_REVIEW_FALSE] = m.review_false
    vec[_k.M_OVERREPORT] = m.approval_overreport
    vec[_k.M_UNDERREPORT] = m.approval_underreport
    return vec


def _check_design_fits(design, *, households, strata, poor_villages, villages) -> None:
    """Refuse a design that asks for more units than the population has (no replacement)."""
    if design.replace:
        return
    if design.kind == "srs" and design.households > households:
        raise ValueError(
            f"design.households must be at most the population's {households} households "
            f"when sampling without replacement; got {design.households}"
        )
    if design.kind == "stratified":
        e_hh, r_hh, _ = strata
        wanted = design.allocation(e_hh, r_hh)
        for name, want, have in zip(
            ("exited", "remaining", "never-registered"), wanted, strata, strict=True
        ):
            if want > have:
                raise ValueError(
                    f"design.households asks for {want} {name} households but the population "
                    f"has only {have}; design.households must be smaller"
                )
    if design.kind == "two_stage":
        if design.poor_villages is None:
            if design.villages > villages:
                raise ValueError(
                    f"design.villages must be at most the county's {villages} villages; "
                    f"got {design.villages}"
                )
        else:
            nonpoor = villages - poor_villages
            if (
                design.poor_villages > poor_villages
                or design.villages - design.poor_villages > nonpoor
            ):
                raise ValueError(
                    f"design.villages with poor_village_share asks for {design.poor_villages} "
                    f"poor and {design.villages - design.poor_villages} non-poor villages; "
                    f"the county has {poor_villages} and {nonpoor}"
                )


def _prepare(scenario: Scenario, key: np.ndarray, population: Population | None) -> _Prepared:
    county = scenario.county
    fresh = scenario.population == "fresh"
    cint, cflt, size_cdf = county._engine_params()
    design = scenario.design
    if fresh:
        if population is not None:
            raise ValueError("population must be None when scenario.population is 'fresh'")
        if design.kind != "stratified":  # strata vary between populations: capped in the kernel
            _check_design_fits(
                design,
                households=county.villages * county.households_per_village[0],
                strata=(0, 0, 0),
                poor_villages=county.poor_villages,
                villages=county.villages,
            )
        max_size = len(county.household_sizes)
        empty_i = np.zeros(1, np.int64)
        arrays = (
            np.zeros(1, np.int64),
            np.zeros((0, 4), np.int64),
            np.zeros(0, np.bool_),
            np.zeros(0, np.int64),
            0,
            empty_i,
            np.zeros(1, np.int8),
            np.zeros(1, np.bool_),
            np.zeros(1, np.bool_),
            empty_i,
            empty_i,
            np.zeros(4, np.int64),
            np.zeros(_pop.T_NTOTALS, np.float64),
        )
        expected = county.expected_indicators()
        shift = np.array(
            [expected.incidence, expected.wrongful_exit, expected.omission, expected.approval]
        )
        region = county.region
    else:
        if population is None:
            population = county.generate(scenario.population_seed)
        elif not isinstance(population, Population):
            raise ValueError(f"population must be a povsim.Population; got {population!r}")
        _check_design_fits(
            design,
            households=population.households,
            strata=tuple(population.stratum_households(s) for s in range(3)),
            poor_villages=int(population.village_poor.sum()),
            villages=population.villages,
        )
        h = population.households if design.kind != "two_stage" else 0
        hh_village = np.empty(h, np.int64)
        strata_index = np.empty(h, np.int64)
        strata_bounds = np.zeros(4, np.int64)
        if h:  # the county-wide strata of SRS and stratified designs
            _k.index_strata(
                population.village_start, population.status, hh_village, strata_index, strata_bounds
            )
        order = np.concatenate(
            [np.flatnonzero(population.village_poor), np.flatnonzero(~population.village_poor)]
        ).astype(np.int64)
        arrays = (
            population.village_start,
            population.stratum_start,
            population.village_poor,
            order,
            int(population.village_poor.sum()),
            population.size,
            population.status,
            population.problem,
            population.approve,
            hh_village,
            strata_index,
            strata_bounds,
            population.totals,
        )
        max_size = int(population.size.max())
        ind = population.indicators
        shift = np.array([ind.incidence, ind.wrongful_exit, ind.omission, ind.approval])
        region = population.region
    if design.kind == "two_stage":
        max_sample = design.villages * design.per_village
    else:
        max_sample = design.households
    return _Prepared(
        scenario=scenario,
        key=key,
        fresh=fresh,
        arrays=arrays,
        cint=cint,
        cflt=cflt,
        size_cdf=size_cdf,
        design=_design_vector(design),
        meas=_measurement_vector(scenario.measurement),
        rule=scenario.rule._engine_params(region),
        shift=shift,
        max_size=max_size,
        max_sample=max(max_sample, 1),
        population=population,
    )


def _run_chunk(prep: _Prepared, checks: int, first_block: int, n_blocks: int, record: bool = False):
    out_int = np.zeros((n_blocks, _k.I_NCOUNTS), np.int64)
    out_flt = np.zeros((n_blocks, _k.F_NSUMS), np.float64)
    out_rec = np.zeros((n_blocks, _k.BLOCK if record else 0, _k.C_NFIELDS), np.float64)
    _k.run_blocks(first_block, n_blocks, checks, prep.plan(), out_int, out_flt, out_rec)
    if record:
        return out_int, out_flt, out_rec.reshape(-1, _k.C_NFIELDS)
    return out_int, out_flt


class _Progress:
    """A one-line progress report on stderr (only when it is a terminal, or when asked)."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else bool(enabled)
        self.start = time.perf_counter()
        self.shown = False

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.start
        if elapsed < 1.0 and done < self.total:
            return
        rate = done / elapsed if elapsed > 0 else float("inf")
        eta = (self.total - done) / rate if rate > 0 else float("inf")
        sys.stderr.write(
            f"\rpovsim: {done:,}/{self.total:,} checks ({100 * done / self.total:5.1f} %), "
            f"{rate:,.0f} checks/s, {eta:,.0f} s left "
        )
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def run_counts(
    prep: _Prepared,
    checks: int,
    *,
    chunk_blocks: int | None = None,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Run ``checks`` checks; return (int counts, float sums, checks done, interrupted).

    Chunks of blocks are run one after the other and folded in block order; a
    ``KeyboardInterrupt`` between chunks keeps every finished block.
    """
    n_blocks_total = -(-checks // _k.BLOCK)
    ints = np.zeros(_k.I_NCOUNTS, np.int64)
    sums = np.zeros(_k.F_NSUMS, np.float64)
    threads = _threads()
    step = chunk_blocks if chunk_blocks is not None else threads
    done_blocks = 0
    bar = _Progress(checks, progress)
    interrupted = False
    try:
        while done_blocks < n_blocks_total:
            n = min(step, n_blocks_total - done_blocks)
            t0 = time.perf_counter()
            out_int, out_flt = _run_chunk(prep, checks, done_blocks, n)
            ints += out_int.sum(axis=0)
            _k.fold_sums(out_flt, sums)
            done_blocks += n
            bar.update(min(done_blocks * _k.BLOCK, checks))
            if chunk_blocks is None:
                # aim at about half a second a chunk: interruptible and responsive
                elapsed = time.perf_counter() - t0
                if elapsed < 0.25:
                    step = min(step * 2, 1 << 16)
                elif elapsed > 1.0 and step > threads:
                    step = max(threads, step // 2)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    return ints, sums, min(done_blocks * _k.BLOCK, checks), interrupted


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


def simulate(
    scenario: Scenario,
    *,
    checks: int,
    seed: object,
    population: Population | None = None,
    progress: bool | None = None,
    chunk_blocks: int | None = None,
    method: str = "simulate",
):
    """Simulate ``checks`` spot checks of ``scenario`` and summarise them with MCSE.

    Parameters
    ----------
    scenario : Scenario
        County, design, measurement and rule.
    checks : int
        Number of simulated checks (>= 1). Memory does not grow with it.
    seed : int, numpy SeedSequence or numpy Generator
        The same seed gives bit-identical results whatever the number of
        threads or ``chunk_blocks``.
    population : Population, optional
        A concrete population to check (fixed mode only); by default the one
        drawn from ``scenario.county`` with ``scenario.population_seed``.
    progress : bool, optional
        Show a progress line on stderr (default: only when stderr is a terminal).
    chunk_blocks : int, optional
        Blocks of 1024 checks per engine call (default: adaptive). Changes only
        speed and responsiveness, never the numbers.
    method : {"simulate", "exact", "auto"}
        ``"exact"`` returns the closed-form answer where one exists (a fixed
        population of one-person households, SRS stratified by registry status,
        independent misclassification, the point rule): ``p_pass``, false pass /
        fail and the estimates' mean and SD exactly (MCSE 0), the rest NaN, and
        ``attrs["method"] = "exact"``; it raises ``ValueError`` elsewhere.
        ``"auto"`` takes the exact path where it applies and simulates otherwise.

    Returns
    -------
    xarray.Dataset
        Every estimate has a ``*_mcse`` twin (Monte Carlo standard error,
        Morris, White & Crowther 2019):

        - ``p_pass``: probability that the check passes the county.
        - ``p_true_pass``: share of checks whose population truly passes (0 or 1
          for a fixed population).
        - ``false_pass`` = P(pass | population truly fails) and ``false_fail`` =
          P(fail | population truly passes); NaN where the condition never occurred.
        - ``fail_share`` (dim ``indicator``): share of failing checks in which the
          indicator failed (jointly with others or not); ``fail_share_alone``: in
          which it was the only failing indicator.
        - ``estimate_mean``, ``estimate_sd`` (dim ``indicator``): sampling
          distribution of the estimated indicator (published formulas);
          ``true_value``: the population's value (mean over populations in fresh
          mode); ``bias`` = mean(estimate - truth).
        - ``design_effect`` (dim ``indicator``, fixed mode): variance of the
          estimate over the variance of the same estimator under simple random
          sampling of the same average number of households of the indicator's
          domain (exited, never-registered, all) from the same population, with
          the same (independent) misclassification; NaN in fresh mode.
        - ``p_flip`` (dim ``k`` = 1, 2, 5, 10): P(margin <= k), where the verdict
          margin of a check is the smallest number of single-household changes of
          recorded status that reverses its verdict. A change toggles one recorded
          item of one sampled household: the wrongful-exit flag of an exited
          household, the omission flag of a never-registered household, or the
          approval answer of any household (a household whose flag and answer
          both change counts twice). A passing check is reversed by adding flags
          or withdrawing approvals, a failing one by removing flags or adding
          approvals; the rule (with its bounds, if any) is re-applied with the
          county totals unchanged. ``p_flip_pass`` and ``p_flip_fail`` condition
          on the verdict; ``p_margin`` (dim ``margin`` = 1..11) is the margin's
          distribution, with 11 meaning more than 10.

        ``attrs`` hold the seed, povsim version, number of checks, the scenario as
        JSON (``scenario_json``, see :meth:`Scenario.from_json`) and every
        parameter as ``param.<dotted path>``.

    Examples
    --------
    >>> import povsim
    >>> s = povsim.Scenario(design=povsim.Design.srs(500))
    >>> ds = povsim.simulate(s, checks=2048, seed=1)
    >>> float(ds.p_pass) >= 0.0
    True

    References
    ----------
    Morris, T. P., White, I. R. and Crowther, M. J. (2019). Using simulation
    studies to evaluate statistical methods. Statistics in Medicine 38,
    2074–2102.
    """
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a povsim.Scenario; got {scenario!r}")
    checks = check_count("checks", checks, minimum=1, maximum=2**53)
    ss = as_seed_sequence(seed)
    if chunk_blocks is not None:
        chunk_blocks = check_count("chunk_blocks", chunk_blocks, minimum=1)
    check_choice("method", method, ("simulate", "exact", "auto"))
    reason = exact_path_reason(scenario, population) if method != "simulate" else None
    if method == "exact" and reason is not None:
        raise ValueError(f"method='exact' has no closed form here: {reason}")
    prep = _prepare(scenario, stream_key(ss), population)
    if method != "simulate" and reason is None:
        ds = exact_dataset(prep, checks)
        ds.attrs["seed"] = describe(ss)
        return ds
    ints, sums, done, interrupted = run_counts(
        prep, checks, chunk_blocks=chunk_blocks, progress=progress
    )
    if interrupted:
        if done == 0:
            raise KeyboardInterrupt
        warnings.warn(
            f"interrupted: the result covers the first {done} of {checks} checks",
            RuntimeWarning,
            stacklevel=2,
        )
    ds = summarise(prep, ints, sums, done)
    ds.attrs.update(
        seed=describe(ss),
        checks_requested=checks,
        interrupted=int(interrupted),
        method="simulation",
    )
    return ds


def summarise(prep: _Prepared, ints: np.ndarray, sums: np.ndarray, checks: int):
    """Turn folded counts and sums into the result Dataset (see :func:`simulate`)."""
    import xarray as xr

    scenario = prep.scenario
    r = float(checks)
    ind = list(INDICATORS)
    ks = np.array(FLIP_K)
    margins = np.arange(1, _rl.K_MAX + 2)

    def prop(count: float, total: float) -> tuple[float, float]:
        if total <= 0:
            return math.nan, math.nan
        p = count / total
        return p, math.sqrt(p * (1.0 - p) / total)

    n_pass = ints[_k.I_PASS]
    n_true = ints[_k.I_TRUE_PASS]
    n_both = ints[_k.I_PASS_AND_TRUE_PASS]
    p_pass, p_pass_se = prop(n_pass, r)
    p_true, p_true_se = prop(n_true, r)
    if not prep.fresh:
        p_true_se = 0.0
    false_pass, false_pass_se = prop(n_pass - n_both, r - n_true)
    false_fail, false_fail_se = prop(n_true - n_both, n_true)

    masks = ints[_k.I_MASK : _k.I_MASK + 16]
    n_fail = r - n_pass
    bits = (_rl.FAIL_INCIDENCE, _rl.FAIL_WRONGFUL, _rl.FAIL_OMISSION, _rl.FAIL_APPROVAL)
    share = np.full(4, np.nan)
    share_se = np.full(4, np.nan)
    alone = np.full(4, np.nan)
    alone_se = np.full(4, np.nan)
    for j, bit in enumerate(bits):
        joint = sum(masks[m] for m in range(16) if m & bit)
        share[j], share_se[j] = prop(joint, n_fail)
        alone[j], alone_se[j] = prop(masks[bit], n_fail)

    m_pass = ints[_k.I_MARGIN_PASS : _k.I_MARGIN_PASS + _rl.K_MAX + 2][1:]
    m_fail = ints[_k.I_MARGIN_FAIL : _k.I_MARGIN_FAIL + _rl.K_MAX + 2][1:]
    m_all = m_pass + m_fail
    flip = np.array([prop(m_all[:k].sum(), r) for k in ks])
    flip_pass = np.array([prop(m_pass[:k].sum(), n_pass) for k in ks])
    flip_fail = np.array([prop(m_fail[:k].sum(), n_fail) for k in ks])
    pmf = np.array([prop(c, r) for c in m_all])

    mean = np.empty(4)
    mean_se = np.empty(4)
    sd = np.empty(4)
    sd_se = np.empty(4)
    var_se = np.empty(4)
    truth = np.empty(4)
    truth_se = np.empty(4)
    bias = np.empty(4)
    bias_se = np.empty(4)
    for j in range(4):
        s = sums[j * _k.F_STRIDE : (j + 1) * _k.F_STRIDE]
        d1 = s[_k.F_D1] / r
        m2 = max(s[_k.F_D2] / r - d1 * d1, 0.0)
        m4 = s[_k.F_D4] / r - 4 * d1 * s[_k.F_D3] / r + 6 * d1 * d1 * s[_k.F_D2] / r - 3 * d1**4
        var = m2 * r / (r - 1) if r > 1 else math.nan
        mean[j] = prep.shift[j] + d1
        mean_se[j] = math.sqrt(var / r) if r > 1 else math.nan
        sd[j] = math.sqrt(var) if r > 1 else math.nan
        var_se[j] = math.sqrt(max(m4 - m2 * m2, 0.0) / r) if r > 1 else math.nan
        sd_se[j] = var_se[j] / (2 * sd[j]) if sd[j] > 0 else math.nan
        t1 = s[_k.F_T1] / r
        truth[j] = prep.shift[j] + t1
        t_var = max(s[_k.F_T2] / r - t1 * t1, 0.0)
        truth_se[j] = math.sqrt(t_var / r) if prep.fresh and r > 1 else 0.0
        e1 = s[_k.F_E1] / r
        e_var = max(s[_k.F_E2] / r - e1 * e1, 0.0)
        bias[j] = e1
        bias_se[j] = math.sqrt(e_var / max(r - 1, 1.0))

    deff = np.full(4, np.nan)
    deff_se = np.full(4, np.nan)
    if not prep.fresh:
        v_srs = srs_variances(
            prep.population,
            scenario.measurement,
            exited=ints[_k.I_HH_EXITED] / r,
            nonregistered=ints[_k.I_HH_NONREG] / r,
            households=ints[_k.I_HH_ALL] / r,
            replace=scenario.design.replace,
        )
        for j in range(4):
            if v_srs[j] > 0:
                deff[j] = sd[j] ** 2 / v_srs[j]
                deff_se[j] = var_se[j] / v_srs[j]

    def var(dims, value, long_name, units="1", **extra):
        return xr.Variable(dims, value, {"long_name": long_name, "units": units, **extra})

    data = {
        "p_pass": var((), p_pass, "probability that the check passes the county"),
        "p_pass_mcse": var((), p_pass_se, "MCSE of p_pass"),
        "p_true_pass": var((), p_true, "share of checked populations that truly pass"),
        "p_true_pass_mcse": var((), p_true_se, "MCSE of p_true_pass"),
        "false_pass": var((), false_pass, "P(check passes | population truly fails)"),
        "false_pass_mcse": var((), false_pass_se, "MCSE of false_pass"),
        "false_fail": var((), false_fail, "P(check fails | population truly passes)"),
        "false_fail_mcse": var((), false_fail_se, "MCSE of false_fail"),
        "fail_share": var(("indicator",), share, "share of failing checks failed by the indicator"),
        "fail_share_mcse": var(("indicator",), share_se, "MCSE of fail_share"),
        "fail_share_alone": var(
            ("indicator",), alone, "share of failing checks failed by the indicator alone"
        ),
        "fail_share_alone_mcse": var(("indicator",), alone_se, "MCSE of fail_share_alone"),
        "estimate_mean": var(("indicator",), mean, "mean of the estimated indicator"),
        "estimate_mean_mcse": var(("indicator",), mean_se, "MCSE of estimate_mean"),
        "estimate_sd": var(("indicator",), sd, "standard deviation of the estimated indicator"),
        "estimate_sd_mcse": var(("indicator",), sd_se, "MCSE of estimate_sd"),
        "true_value": var(("indicator",), truth, "true indicator of the checked population(s)"),
        "true_value_mcse": var(("indicator",), truth_se, "MCSE of true_value (fresh mode)"),
        "bias": var(("indicator",), bias, "mean of estimate minus true value"),
        "bias_mcse": var(("indicator",), bias_se, "MCSE of bias"),
        "design_effect": var(
            ("indicator",),
            deff,
            "realised design effect against simple random sampling",
            reference="Kish (1965), Survey Sampling",
        ),
        "design_effect_mcse": var(("indicator",), deff_se, "MCSE of design_effect"),
        "p_flip": var(("k",), flip[:, 0], "P(verdict reversed by changing <= k households)"),
        "p_flip_mcse": var(("k",), flip[:, 1], "MCSE of p_flip"),
        "p_flip_pass": var(("k",), flip_pass[:, 0], "P(margin <= k | check passes)"),
        "p_flip_pass_mcse": var(("k",), flip_pass[:, 1], "MCSE of p_flip_pass"),
        "p_flip_fail": var(("k",), flip_fail[:, 0], "P(margin <= k | check fails)"),
        "p_flip_fail_mcse": var(("k",), flip_fail[:, 1], "MCSE of p_flip_fail"),
        "p_margin": var(("margin",), pmf[:, 0], "distribution of the verdict margin"),
        "p_margin_mcse": var(("margin",), pmf[:, 1], "MCSE of p_margin"),
        "sampled_households": var(
            ("domain",),
            np.array([ints[_k.I_HH_EXITED], ints[_k.I_HH_NONREG], ints[_k.I_HH_ALL]]) / r,
            "mean households sampled per check",
            units="households",
        ),
    }
    coords = {
        "indicator": ("indicator", ind, {"long_name": "indicator of the official rule"}),
        "k": ("k", ks, {"long_name": "households changed", "units": "households"}),
        "margin": (
            "margin",
            margins,
            {
                "long_name": "verdict margin",
                "units": "households",
                "note": f"{_rl.K_MAX + 1} means more than {_rl.K_MAX}",
            },
        ),
        "domain": ("domain", ["exited", "nonregistered", "all"]),
    }
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        title="povsim spot-check simulation",
        povsim_version=__version__,
        checks=int(checks),
        population_mode=scenario.population,
        scenario_json=scenario.to_json(),
        mcse_reference="Morris, White & Crowther (2019), Statistics in Medicine 38:2074-2102",
    )
    for name, value in scenario.flat_parameters().items():
        ds.attrs[f"param.{name}"] = value
    return ds


RECORD_FIELDS = (
    "recorded_wrongful_persons",
    "exited_persons",
    "recorded_omitted_persons",
    "nonregistered_persons",
    "approving",
    "households",
    "exited_households",
    "nonregistered_households",
    "fail_mask",
    "margin",
    "true_pass",
    "true_incidence",
    "true_wrongful_exit",
    "true_omission",
    "true_approval",
)


def simulate_checks(
    scenario: Scenario, *, checks: int, seed: object, population: Population | None = None
):
    """Every simulated check, one row each (for inspection; memory grows with ``checks``).

    The same checks as :func:`simulate` with the same seed, before they are
    counted: the recorded counts (persons for the two error rates, households for
    approval), the sampled households per domain, the fail mask (bits 1
    incidence, 2 wrongful exit, 4 omission, 8 approval; 0 = pass), the verdict
    margin (11 = more than 10) and the truth of the checked population.

    Parameters
    ----------
    scenario : Scenario
        County, design, measurement and rule.
    checks : int
        At most 10**7 (use :func:`simulate` for more).
    seed : int, numpy SeedSequence or numpy Generator
        As for :func:`simulate`; the same seed gives the same checks.
    population : Population, optional
        A concrete population to check (fixed mode only).

    Returns
    -------
    xarray.Dataset
        One variable per field over dimension ``check``.
    """
    import xarray as xr

    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a povsim.Scenario; got {scenario!r}")
    checks = check_count("checks", checks, minimum=1, maximum=10**7)
    ss = as_seed_sequence(seed)
    prep = _prepare(scenario, stream_key(ss), population)
    n_blocks = -(-checks // _k.BLOCK)
    _, _, rec = _run_chunk(prep, checks, 0, n_blocks, record=True)
    rec = rec[:checks]
    data = {}
    for j, name in enumerate(RECORD_FIELDS):
        col = rec[:, j]
        if not name.startswith("true_") or name == "true_pass":
            col = col.astype(np.int64)
        data[name] = ("check", col)
    ds = xr.Dataset(data, coords={"check": np.arange(checks)})
    ds.attrs.update(seed=describe(ss), povsim_version=__version__, scenario_json=scenario.to_json())
    return ds
