"""povsim: Monte Carlo and exact operating characteristics of household spot checks.

The motivating case is China's 2018 poverty-county exit spot check: about 1000
sampled households per county, four conjunctive indicators, and the official
claim that 1–2 problem households cannot flip a verdict.
"""

from ._version import __version__
from .county import County, Indicators, Population
from .design import Design
from .measurement import Measurement, ReviewStage
from .planning import SamplePlan, plan_sample_size
from .rules import Rule
from .scenario import Scenario
from .simulate import simulate, simulate_checks
from .sweep import crn_variance_ratio, sample_size_axis, sweep


def __getattr__(name: str):
    # ``povsim.exact`` needs scipy.stats, which takes longer to import than all of
    # povsim: load it on first use so that ``import povsim`` stays fast (``povsim.plot``
    # likewise, for matplotlib).
    if name in ("exact", "plot", "research"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'povsim' has no attribute {name!r}")


__all__ = [
    "County",
    "Design",
    "Indicators",
    "Measurement",
    "Population",
    "ReviewStage",
    "Rule",
    "SamplePlan",
    "Scenario",
    "__version__",
    "crn_variance_ratio",
    "exact",
    "plan_sample_size",
    "plot",
    "research",
    "sample_size_axis",
    "simulate",
    "simulate_checks",
    "sweep",
]
