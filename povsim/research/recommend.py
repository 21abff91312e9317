"""Question 5: the sample size, villages and rule that keep both error risks below 5 %."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .._seed import as_seed_sequence
from .._validate import check_choice, check_count, check_real
from ..design import Design
from ..rules import Rule
from ..scenario import Scenario
from ..simulate import simulate_checks
from ._common import Estimate, check_scenario, population_totals, proportion, verdict_from_counts
from .flip import _set_indicator, _threshold

__all__ = ["Recommendation", "candidate_rules", "recommend_design"]

RECOMMEND_INDICATORS = ("wrongful_exit", "omission", "incidence", "approval")


def candidate_rules(base: Rule | None = None) -> list[Rule]:
    """The rules compared by default: guard bands and one-sided Wilson bound rules.

    Point rules with guard bands from -0.2 to +1.0 percentage points (0.1 steps),
    and rules on the upper (pass only if the bound clears the threshold) or lower
    (fail only if the bound is beyond it) Wilson bound at one-sided confidence
    0.8, 0.9 and 0.95, with design effect 1 or 2.
    """
    base = Rule() if base is None else base
    rules = [
        dataclasses.replace(base, method="point", guard_band=round(float(g), 4))
        for g in np.arange(-0.002, 0.01001, 0.001)
    ]
    for method in ("upper_bound", "lower_bound"):
        for conf in (0.8, 0.9, 0.95):
            for deff in (1.0, 2.0):
                rules.append(
                    dataclasses.replace(
                        base,
                        method=method,
                        bound="wilson",
                        confidence=conf,
                        design_effect=deff,
                        guard_band=0.0,
                    )
                )
    return rules


def describe_rule(rule: Rule) -> str:
    """Short text for a rule."""
    if rule.method == "point":
        return f"point estimate, guard band {rule.guard_band * 100:+.1f} points"
    side = "upper" if rule.method == "upper_bound" else "lower"
    return f"{side} {rule.confidence:.0%} Wilson bound, design effect {rule.design_effect:g}"


@dataclass(frozen=True)
class Recommendation:
    """The cheapest design and rule meeting both risk targets.

    Attributes
    ----------
    feasible : bool
        Whether any candidate met both targets.
    households, villages : int
        The recommended sample (two-stage: ``villages`` villages).
    rule : Rule
        The recommended rule.
    false_pass, false_fail : Estimate
        Its worst false-pass and false-fail probability over the stated
        counties, with MCSE.
    target : float
    distances : dict
    table : xarray.Dataset
        ``false_pass``, ``false_fail`` (and MCSE) of every candidate evaluated,
        dims ``candidate`` (design) and ``rule``.
    counties : tuple of (str, bool, float, int)
        The stated counties: indicator, intended true verdict (pass), true value
        set in the county generator, and the population seed used.
    """

    feasible: bool
    households: int
    villages: int
    rule: Rule
    false_pass: Estimate
    false_fail: Estimate
    target: float
    distances: dict
    table: object = field(repr=False)
    counties: tuple = field(default=(), repr=False)

    def summary_lines(self) -> list[str]:
        """Headline lines for ``summary.txt``."""
        dist = ", ".join(f"{k} ±{v * 100:.2f} points" for k, v in self.distances.items())
        if not self.feasible:
            return [f"recommendation for counties at {dist}: no candidate met both targets"]
        return [
            f"recommendation for counties at {dist} from the thresholds (both risks <= "
            f"{self.target:.0%}): {self.households} households in {self.villages} villages, "
            f"{describe_rule(self.rule)}; false pass {self.false_pass.format(100, 2)} %, "
            f"false fail {self.false_fail.format(100, 2)} %",
        ]


def recommend_design(
    scenario: Scenario | None = None,
    *,
    distances: dict | None = None,
    target: float = 0.05,
    households: Sequence[int] = (1000, 1500, 2000, 3000, 4000),
    villages: Sequence[int] = (25, 50),
    rules: Sequence[Rule] | None = None,
    checks: int = 2000,
    stop_at_first: bool = True,
    seed: object = 0,
) -> Recommendation:
    """Sample size, villages and rule that keep false pass and false fail below a target.

    For each indicator in ``distances``, two counties are built from the
    scenario's county: one at ``distance`` on the passing side of its threshold
    (truly passes) and one at ``distance`` on the failing side (truly fails);
    the other indicators keep the scenario's values. Each candidate two-stage
    design (``households`` in ``villages`` villages, in order of cost: fewer
    households first, then fewer villages) is simulated on the four or more
    populations with realistic clustering and the scenario's misclassification;
    every candidate rule is applied to the same simulated checks (common random
    numbers). A candidate meets the target when, for every stated county,
    ``risk + 2 * MCSE <= target``. Among the cheapest design that meets it, the
    rule with the smallest worst risk is recommended.

    Parameters
    ----------
    scenario : Scenario, optional
        Default :meth:`Scenario.official_2018` (western region).
    distances : dict, optional
        Indicator name -> distance from its threshold (a fraction, e.g. 0.005 for
        half a percentage point); default ``{"wrongful_exit": 0.005,
        "omission": 0.005}``.
    target : float
        Largest acceptable false-pass and false-fail probability, in (0, 0.5).
    households : sequence of int
        Candidate sample sizes (>= 100).
    villages : sequence of int
        Candidate numbers of villages (>= 1).
    rules : sequence of Rule, optional
        Candidate rules (point or Wilson-bound rules); default
        :func:`candidate_rules` of the scenario's rule.
    checks : int
        Checks per population and design (>= 200).
    stop_at_first : bool
        Stop at the first (cheapest) design that meets the target.
    seed : int, SeedSequence or Generator
        Seed of every random draw (``seed=0`` is a seed).

    Returns
    -------
    Recommendation

    References
    ----------
    Pagano, M. and Valadez, J. J. (2010). Understanding practical lot quality
    assurance sampling. International Journal of Epidemiology 39, 69–71.
    Olives, C., Pagano, M., Deitchler, M. et al. (2009). Cluster designs to
    assess the prevalence of acute malnutrition by lot quality assurance
    sampling: a validation study by computer simulation. Journal of the Royal
    Statistical Society A 172(2), 495–510.
    Hedt-Gauthier, B. L., Mitsunaga, T., Hund, L., Olives, C. and Pagano, M.
    (2013). The effect of clustering on lot quality assurance sampling.
    Emerging Themes in Epidemiology 10, 11.
    Kish, L. (1965). Survey Sampling. Wiley.
    Rogan, W. J. and Gladen, B. (1978). American Journal of Epidemiology 107, 71–76.
    Morris, T. P., White, I. R. and Crowther, M. J. (2019). Statistics in Medicine
    38, 2074–2102.
    """
    import xarray as xr

    scenario = check_scenario(scenario)
    distances = (
        {"wrongful_exit": 0.005, "omission": 0.005} if distances is None else dict(distances)
    )
    if not distances:
        raise ValueError("distances must give at least one indicator's distance")
    for name, d in distances.items():
        check_choice("distances", name, RECOMMEND_INDICATORS)
        distances[name] = check_real(f"distances[{name!r}]", d, low=0.0, high=0.5, low_open=True)
    target = check_real("target", target, low=0.0, high=0.5, low_open=True, high_open=True)
    households = sorted(check_count("households", h, minimum=100) for h in households)
    villages = sorted(check_count("villages", v, minimum=1) for v in villages)
    if not households or not villages:
        raise ValueError("households and villages must each hold at least one candidate")
    rules = candidate_rules(scenario.rule) if rules is None else list(rules)
    for i, r in enumerate(rules):
        if not isinstance(r, Rule):
            raise ValueError(f"rules[{i}] must be a povsim.Rule; got {r!r}")
        if r.method != "point" and r.bound != "wilson":
            raise ValueError(f"rules[{i}].bound must be 'wilson'; got {r.bound!r}")
    if not rules:
        raise ValueError("rules must hold at least one Rule")
    checks = check_count("checks", checks, minimum=200)
    # the stated counties, each with its intended true verdict
    counties = []
    for name, d in distances.items():
        t = _threshold(scenario, name)
        sign = -1.0 if name == "approval" else 1.0
        for passing in (True, False):
            value = t - sign * d if passing else t + sign * d
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"distances[{name!r}] puts the county outside [0, 1]")
            sc = _set_indicator(scenario, name, value)
            counties.append((name, passing, value, sc))
    for h in households:
        for v in villages:
            Design.two_stage(h, v)  # validates
    ss = as_seed_sequence(seed)
    pops = []
    chosen = []
    for name, passing, value, sc in counties:
        pop = None
        for attempt in range(50):
            cand = sc.county.generate(sc.population_seed + attempt)
            if cand.verdict(scenario.rule) == passing:
                pop = cand
                chosen.append((name, passing, value, sc.population_seed + attempt))
                break
        if pop is None:
            raise ValueError(
                f"no population of the county at distances[{name!r}] has the intended true "
                f"verdict; increase the distance"
            )
        pops.append((name, passing, sc, pop, population_totals(pop)))

    designs, fp, fp_se, ff, ff_se = [], [], [], [], []
    best = None
    for h in households:
        for v in villages:
            design = dataclasses.replace(
                scenario.design, households=h, villages=v, kind="two_stage"
            )
            risk_p = np.zeros(len(rules))
            risk_p_se = np.zeros(len(rules))
            risk_f = np.zeros(len(rules))
            risk_f_se = np.zeros(len(rules))
            ok = np.ones(len(rules), dtype=bool)
            for _name, passing, sc, pop, totals in pops:
                rows = simulate_checks(
                    sc.replace(design=design, population="fixed"),
                    checks=checks,
                    seed=ss,
                    population=pop,
                )
                counts = {
                    "x_w": rows.recorded_wrongful_persons.values,
                    "n_w": rows.exited_persons.values,
                    "x_o": rows.recorded_omitted_persons.values,
                    "n_o": rows.nonregistered_persons.values,
                    "x_a": rows.approving.values,
                    "n_a": rows.households.values,
                }
                for j, rule in enumerate(rules):
                    passed = verdict_from_counts(rule, pop.region, totals=totals, **counts)
                    wrong = proportion(float((~passed if passing else passed).sum()), checks)
                    if passing:
                        if wrong.value >= risk_f[j]:
                            risk_f[j], risk_f_se[j] = wrong.value, wrong.mcse
                    elif wrong.value >= risk_p[j]:
                        risk_p[j], risk_p_se[j] = wrong.value, wrong.mcse
                    ok[j] &= wrong.value + 2 * wrong.mcse <= target
            designs.append((h, v))
            fp.append(risk_p)
            fp_se.append(risk_p_se)
            ff.append(risk_f)
            ff_se.append(risk_f_se)
            if best is None and ok.any():
                worst = np.where(ok, np.maximum(risk_p, risk_f), np.inf)
                j = int(np.argmin(worst))
                best = (h, v, j, len(designs) - 1)
            if best is not None and stop_at_first:
                break
        if best is not None and stop_at_first:
            break

    labels = [describe_rule(r) for r in rules]
    table = xr.Dataset(
        {
            "false_pass": (("candidate", "rule"), np.array(fp)),
            "false_pass_mcse": (("candidate", "rule"), np.array(fp_se)),
            "false_fail": (("candidate", "rule"), np.array(ff)),
            "false_fail_mcse": (("candidate", "rule"), np.array(ff_se)),
        },
        coords={
            "candidate": np.arange(len(designs)),
            "households": ("candidate", np.array([d[0] for d in designs])),
            "villages": ("candidate", np.array([d[1] for d in designs])),
            "rule": labels,
        },
        attrs={"target": target, "checks": checks, "seed": str(ss.entropy)},
    )
    if best is None:
        return Recommendation(
            feasible=False,
            households=households[-1],
            villages=villages[-1],
            rule=rules[0],
            false_pass=Estimate(math.nan, math.nan),
            false_fail=Estimate(math.nan, math.nan),
            target=target,
            distances=distances,
            table=table,
            counties=tuple(chosen),
        )
    h, v, j, c = best
    return Recommendation(
        feasible=True,
        households=h,
        villages=v,
        rule=rules[j],
        false_pass=Estimate(float(fp[c][j]), float(fp_se[c][j])),
        false_fail=Estimate(float(ff[c][j]), float(ff_se[c][j])),
        target=target,
        distances=distances,
        table=table,
        counties=tuple(chosen),
    )
