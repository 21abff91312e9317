"""povsim: Monte Carlo and exact operating characteristics of household spot checks.

The motivating case is China's 2018 poverty-county exit spot check: about 1000
sampled households per county, four conjunctive indicators, and the official
claim that 1–2 problem households cannot flip a verdict.
"""

from ._version import __version__
from .county import County, Indicators, Population
from .design import Design
from .measurement import Measurement, ReviewStage
from .rules import Rule
from .scenario import Scenario
from .simulate import simulate

from . import exact  # noqa: E402, I001

__all__ = [
    "County",
    "Design",
    "Indicators",
    "Measurement",
    "Population",
    "ReviewStage",
    "Rule",
    "Scenario",
    "__version__",
    "exact",
    "simulate",
]
