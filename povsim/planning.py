"""Sample-size planning: the smallest check that keeps both wrong-verdict risks small.

:func:`plan_sample_size` searches sample sizes for the smallest one whose
false-fail risk at a county that truly passes and false-pass risk at a county
that truly fails are both at most their targets, under the scenario's
clustering and misclassification. Where a closed form exists (stratified simple
random sampling of one-person households, independent misclassification, the
point rule; see ``simulate(method="exact")``) the risks are exact; elsewhere
they are simulated on common random numbers (one :func:`povsim.sweep`).

Risks are not monotone in the sample size: the integer number of recorded
problems that fails a check jumps as ``n`` grows (the sawtooth of acceptance
sampling), so a sample that meets the targets may be followed by a larger one
that does not. The plan therefore reports both the smallest ``n`` that meets
the targets and the smallest ``n`` from which every larger ``n`` in the
searched range meets them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import check_choice, check_count, check_real
from .scenario import Scenario
from .sweep import _apply, sample_size_axis

__all__ = ["SamplePlan", "plan_sample_size"]


@dataclass(frozen=True)
class SamplePlan:
    """The result of :func:`plan_sample_size`.

    Attributes
    ----------
    households, villages : int or None
        The smallest sample meeting both targets (None: none in the range);
        ``villages`` is None for designs without villages.
    stable_households, stable_villages : int or None
        The smallest sample from which every larger candidate in the range
        meets both targets (the sawtooth-aware answer).
    false_fail, false_pass : float
        Risks at ``households`` (NaN when it is None).
    false_fail_mcse, false_pass_mcse : float
        Their Monte Carlo standard errors (0 for exact answers).
    method : str
        ``"exact"`` or ``"simulation"``.
    targets : tuple of float
        ``(false_fail, false_pass)`` asked for.
    table : xarray.Dataset
        Every candidate: ``households``, ``villages``, ``false_fail``,
        ``false_pass`` (with MCSE) and ``meets``, over dimension ``candidate``.
    """

    households: int | None
    villages: int | None
    stable_households: int | None
    stable_villages: int | None
    false_fail: float
    false_fail_mcse: float
    false_pass: float
    false_pass_mcse: float
    method: str
    targets: tuple[float, float]
    table: Any

    def report(self) -> str:
        """A few lines for people: the answer, then every candidate."""
        t = self.table
        ff_t, fp_t = self.targets

        def size(n, v):
            return (
                "none in the range"
                if n is None
                else (f"{n} households" + (f" in {v} villages" if v is not None else ""))
            )

        lines = [
            f"sample-size plan ({self.method}): false fail <= {ff_t:g} at the passing county, "
            f"false pass <= {fp_t:g} at the failing county",
            f"  smallest sample meeting both: {size(self.households, self.villages)}",
            f"  from which every larger one (searched) meets both: "
            f"{size(self.stable_households, self.stable_villages)}",
            "",
            f"  {'households':>10} {'villages':>8} {'false fail':>18} {'false pass':>18}  meets",
        ]
        for i in range(t.sizes["candidate"]):
            r = t.isel(candidate=i)
            v = int(r.villages) if int(r.villages) > 0 else "-"
            lines.append(
                f"  {int(r.households):>10} {v!s:>8} "
                f"{float(r.false_fail):8.4f} ± {float(r.false_fail_mcse):.4f} "
                f"{float(r.false_pass):8.4f} ± {float(r.false_pass_mcse):.4f}  "
                f"{'yes' if bool(r.meets) else 'no'}"
            )
        return "\n".join(lines)


def _truth(scenario: Scenario) -> bool | None:
    if scenario.population == "fresh":
        return None
    pop = scenario.county.generate(scenario.population_seed)
    return scenario.rule.true_verdict(pop.indicators, pop.region)


def _villages_that_fit(scenario: Scenario) -> int:
    """The most villages a two-stage design of ``scenario`` can draw from its county."""
    county = scenario.county
    share = scenario.design.poor_village_share
    if share is None:
        return county.villages
    poor = county.poor_villages
    for v in range(county.villages, 0, -1):
        p = int(round(v * share))
        if p <= poor and v - p <= county.villages - poor:
            return v
    return 1


def _exact_pass_probabilities(scenario: Scenario, sizes: list[int]) -> np.ndarray:
    """Exact P(pass) of ``scenario`` with ``design.households = n`` for each n (stratified SRS)."""
    from ._exact_path import exact_pass_probability

    pop = scenario.county.generate(scenario.population_seed)
    return np.array(
        [
            exact_pass_probability(
                scenario, pop, _apply(scenario, {"design.households": n}, "households").design
            )
            for n in sizes
        ]
    )


def plan_sample_size(
    scenario: Scenario,
    *,
    passing: Mapping[str, Any],
    failing: Mapping[str, Any],
    false_fail: float = 0.05,
    false_pass: float = 0.05,
    households: tuple[int, int] = (250, 4000),
    step: int | None = None,
    per_village: int = 40,
    max_villages: int | None = None,
    checks: int = 4000,
    seed: object = 2018,
    method: str = "auto",
    executor: object = None,
    progress: bool | None = None,
) -> SamplePlan:
    """The smallest sample keeping false fail and false pass below their targets.

    Parameters
    ----------
    scenario : Scenario
        Design kind, clustering (the county's ICCs), measurement and rule.
    passing, failing : dict
        Dotted-path changes giving a county that truly passes and one that
        truly fails, e.g. ``{"county.wrongful_exit_rate": 0.015}`` and
        ``{"county.wrongful_exit_rate": 0.025}`` (checked on the fixed
        population).
    false_fail, false_pass : float
        Targets, in (0, 1): P(fail | passing county) and P(pass | failing county).
    households : (int, int)
        The range of sample sizes searched (inclusive).
    step : int, optional
        Households between candidates (default: the range in about 400 steps
        on the exact path, about 16 steps by simulation, rounded to
        ``per_village`` for two-stage designs). ``step=1`` resolves the whole
        sawtooth (exact: about 40 ms per candidate).
    per_village : int
        Households per sampled village in two-stage designs (villages scale
        with the sample, see :func:`povsim.sample_size_axis`).
    max_villages : int, optional
        Cap on the villages (default: the most the county can provide).
    checks : int
        Simulated checks per candidate and county (simulation only).
    seed : int, SeedSequence or Generator
        The common seed (simulation only).
    method : {"auto", "exact", "simulate"}
        ``"exact"`` refuses a scenario without a closed form; ``"auto"`` takes it
        where it exists.
    executor : executor or dask Client, optional
        As for :func:`povsim.sweep`.
    progress : bool, optional
        As for :func:`povsim.sweep`.

    Returns
    -------
    SamplePlan

    Examples
    --------
    >>> import povsim
    >>> s = povsim.Scenario(county=povsim.County(household_sizes=(1.0,)),
    ...                     design=povsim.Design.stratified(1000))
    >>> plan = povsim.plan_sample_size(
    ...     s, passing={"county.wrongful_exit_rate": 0.01},
    ...     failing={"county.wrongful_exit_rate": 0.03}, households=(100, 1500), step=50)
    >>> plan.method, plan.households is not None
    ('exact', True)
    """
    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a povsim.Scenario; got {scenario!r}")
    for name, ch in (("passing", passing), ("failing", failing)):
        if not isinstance(ch, Mapping) or not ch:
            raise ValueError(f"{name} must be a non-empty dict of dotted paths to values")
    ff_target = check_real(
        "false_fail", false_fail, low=0.0, high=1.0, low_open=True, high_open=True
    )
    fp_target = check_real(
        "false_pass", false_pass, low=0.0, high=1.0, low_open=True, high_open=True
    )
    if not isinstance(households, tuple | list) or len(households) != 2:
        raise ValueError(f"households must be a pair (smallest, largest); got {households!r}")
    lo = check_count("households[0]", households[0], minimum=1)
    hi = check_count("households[1]", households[1], minimum=lo)
    per_village = check_count("per_village", per_village, minimum=1)
    if max_villages is not None:
        max_villages = check_count("max_villages", max_villages, minimum=1)
    checks = check_count("checks", checks, minimum=1)
    check_choice("method", method, ("auto", "exact", "simulate"))
    good = _apply(scenario, passing, "passing")
    bad = _apply(scenario, failing, "failing")
    if _truth(good) is False:
        raise ValueError("passing must describe a county that truly passes; its population fails")
    if _truth(bad) is True:
        raise ValueError("failing must describe a county that truly fails; its population passes")
    two_stage = scenario.design.kind == "two_stage"

    from ._exact_path import exact_path_reason

    reason = exact_path_reason(good, None) or exact_path_reason(bad, None)
    if method == "exact" and reason is not None:
        raise ValueError(f"method='exact' has no closed form here: {reason}")
    exact = method != "simulate" and reason is None
    if step is None:
        if exact:
            step = max(1, (hi - lo) // 400)
        else:
            step = max(1, (hi - lo) // 15)
            if two_stage:
                step = max(per_village, int(round(step / per_village)) * per_village)
    step = check_count("step", step, minimum=1)
    sizes = list(range(lo, hi + 1, step))
    if sizes[-1] != hi:
        sizes.append(hi)
    if two_stage:
        if max_villages is None:
            max_villages = _villages_that_fit(scenario)
        axis = sample_size_axis(sizes, per_village=per_village, max_villages=max_villages)
    else:
        axis = [{"design.households": n} for n in sizes]

    if exact:
        pass_good = _exact_pass_probabilities(good, sizes)
        pass_bad = _exact_pass_probabilities(bad, sizes)
        ff = 1.0 - pass_good
        fp = pass_bad
        ff_se = np.zeros(len(sizes))
        fp_se = np.zeros(len(sizes))
        how = "exact"
    else:
        from .sweep import sweep

        ds = sweep(
            scenario,
            {
                "county": {"passing": dict(passing), "failing": dict(failing)},
                "design.households": axis,
            },
            checks=checks,
            seed=seed,
            executor=executor,
            progress=progress,
        )
        g = ds.sel(county="passing")
        b = ds.sel(county="failing")
        ff = 1.0 - g.p_pass.values
        ff_se = g.p_pass_mcse.values
        fp = b.p_pass.values
        fp_se = b.p_pass_mcse.values
        how = "simulation"
    meets = (ff <= ff_target) & (fp <= fp_target)
    first = int(np.argmax(meets)) if meets.any() else None
    stable = None
    if meets[-1]:
        j = len(meets) - 1
        while j > 0 and meets[j - 1]:
            j -= 1
        stable = j
    villages = [c.get("design.villages", 0) for c in axis]

    import xarray as xr

    table = xr.Dataset(
        {
            "households": ("candidate", np.array(sizes)),
            "villages": ("candidate", np.array(villages)),
            "false_fail": ("candidate", ff, {"long_name": "P(fail | county truly passes)"}),
            "false_fail_mcse": ("candidate", ff_se),
            "false_pass": ("candidate", fp, {"long_name": "P(pass | county truly fails)"}),
            "false_pass_mcse": ("candidate", fp_se),
            "meets": ("candidate", meets),
        },
        attrs={"method": how, "target_false_fail": ff_target, "target_false_pass": fp_target},
    )

    def v_of(i):
        return None if i is None or not two_stage else int(villages[i])

    return SamplePlan(
        households=None if first is None else sizes[first],
        villages=v_of(first),
        stable_households=None if stable is None else sizes[stable],
        stable_villages=v_of(stable),
        false_fail=math.nan if first is None else float(ff[first]),
        false_fail_mcse=math.nan if first is None else float(ff_se[first]),
        false_pass=math.nan if first is None else float(fp[first]),
        false_pass_mcse=math.nan if first is None else float(fp_se[first]),
        method=how,
        targets=(ff_target, fp_target),
        table=table,
    )
