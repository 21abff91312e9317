"""A scenario bundles a county, a design, a measurement and a rule."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from ._validate import check_choice, check_count
from .county import REGIONS, County
from .design import Design
from .measurement import Measurement, ReviewStage
from .rules import Rule

POPULATION_MODES = ("fixed", "fresh")

__all__ = ["POPULATION_MODES", "Scenario"]


@dataclass(frozen=True)
class Scenario:
    """Everything one simulated spot check needs.

    Parameters
    ----------
    county : County
        The synthetic county generator.
    design : Design
        How households are drawn.
    measurement : Measurement
        How their status is recorded (default: perfectly).
    rule : Rule
        The pass/fail rule (default: the official 2018 rule).
    population : {"fixed", "fresh"}
        ``"fixed"``: every check samples the same population, drawn once from
        the county with ``population_seed`` (the operating characteristic of one
        county). ``"fresh"``: check ``i`` samples its own population ``i`` (rates
        over the distribution of counties; false pass and false fail are then
        conditional rates).
    population_seed : int
        Seed of the fixed population, or of the sequence of fresh ones.

    Examples
    --------
    >>> s = Scenario.official_2018(region="central")
    >>> s.rule.incidence_threshold(s.county.region)
    0.02
    """

    county: County = field(default_factory=County)
    design: Design = field(default_factory=Design)
    measurement: Measurement = field(default_factory=Measurement)
    rule: Rule = field(default_factory=Rule)
    population: str = "fixed"
    population_seed: int = 2018

    def __post_init__(self) -> None:
        for name, cls in (
            ("county", County),
            ("design", Design),
            ("measurement", Measurement),
            ("rule", Rule),
        ):
            if not isinstance(getattr(self, name), cls):
                raise ValueError(
                    f"{name} must be a povsim.{cls.__name__}; got {getattr(self, name)!r}"
                )
        check_choice("population", self.population, POPULATION_MODES)
        object.__setattr__(
            self, "population_seed", check_count("population_seed", self.population_seed)
        )

    @classmethod
    def official_2018(cls, region: str = "western", **changes: Any) -> Scenario:
        """The embedded default: a synthetic county and the 2018 design, measurement and rule.

        A county of 200 villages (30 % designated poor) with about 85,000
        households, expected wrongful-exit rate 0.5 %, omission rate 0.3 % and
        approval 95 %; a two-stage sample of 1000 households in 25 villages (65 %
        poor villages, half the households from the registry); imperfect
        enumerators with the five-level review chain and a county rebuttal
        (:meth:`Measurement.official_2018`); the official rule for ``region``.

        Parameters
        ----------
        region : {"central", "western"}
            The county's region (incidence threshold 2 % or 3 %).
        **changes
            Dotted-path overrides, e.g. ``{"county.omission_rate": 0.01}`` given
            as ``**{"county.omission_rate": 0.01}``.
        """
        check_choice("region", region, REGIONS)
        scenario = cls(
            county=County(region=region),
            design=Design.two_stage(),
            measurement=Measurement.official_2018(),
            rule=Rule.official_2018(),
        )
        return scenario.replace(**changes) if changes else scenario

    def replace(self, **changes: Any) -> Scenario:
        """Return a copy with fields changed; keys are dotted paths (``"rule.approval"``)."""
        result = self
        for path, value in changes.items():
            result = _replace_path(result, path, value)
        return result

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, nested, with review stages as dicts."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The scenario as JSON (round-trips through :meth:`from_json`)."""
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        """Rebuild a scenario written by :meth:`to_json` (e.g. from ``Dataset.attrs``)."""
        d = json.loads(text)
        county = dict(d["county"])
        county["households_per_village"] = tuple(county["households_per_village"])
        county["household_sizes"] = tuple(county["household_sizes"])
        meas = dict(d["measurement"])
        meas["review"] = tuple(ReviewStage(**s) for s in meas["review"])
        return cls(
            county=County(**county),
            design=Design(**d["design"]),
            measurement=Measurement(**meas),
            rule=Rule(**d["rule"]),
            population=d["population"],
            population_seed=d["population_seed"],
        )

    def flat_parameters(self) -> dict[str, Any]:
        """Parameters as ``{"county.villages": 200, ...}`` (netCDF-safe values)."""
        out: dict[str, Any] = {}

        def walk(prefix: str, obj: Any) -> None:
            if isinstance(obj, dict):
                for k, v in obj.items():
                    walk(f"{prefix}.{k}" if prefix else k, v)
            elif isinstance(obj, list | tuple) and obj and isinstance(obj[0], dict):
                for i, v in enumerate(obj):
                    walk(f"{prefix}.{i}", v)
            elif obj is None:
                out[prefix] = "None"
            elif isinstance(obj, bool):
                out[prefix] = int(obj)
            elif isinstance(obj, list | tuple):
                out[prefix] = list(obj) if obj else "()"
            else:
                out[prefix] = obj

        walk("", self.to_dict())
        return out


def _replace_path(obj: Any, path: str, value: Any) -> Any:
    head, _, rest = path.partition(".")
    if not dataclasses.is_dataclass(obj) or head not in {f.name for f in dataclasses.fields(obj)}:
        raise ValueError(f"unknown scenario field {path!r} on {type(obj).__name__}")
    if rest:
        value = _replace_path(getattr(obj, head), rest, value)
    return dataclasses.replace(obj, **{head: value})
