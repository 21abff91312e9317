"""Decision rules: the official 2018 rule and the alternatives compared with it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._engine import rule as _rl
from ._validate import check_choice, check_probability, check_real

METHODS = ("point", "upper_bound", "lower_bound")
BOUNDS = ("wilson", "clopper_pearson")
INCIDENCE_THRESHOLDS = {"central": 0.02, "western": 0.03}

__all__ = ["BOUNDS", "INCIDENCE_THRESHOLDS", "METHODS", "Rule"]


@dataclass(frozen=True)
class Rule:
    """A pass/fail rule on the four indicators (all must hold: 任何一项指标不符合条件的，不予退出).

    With the defaults this is the official 2018 rule: incidence below 2 % (central
    region) or 3 % (western region), wrongful-exit and omission rates below 2 %
    (persons), approval at least 90 % (households).

    Parameters
    ----------
    incidence : float or None
        Incidence threshold; ``None`` takes the county's region (2 % or 3 %).
    wrongful_exit, omission : float
        Thresholds of the two error rates (pass requires the statistic to be
        strictly below).
    approval : float
        Approval threshold (pass requires the statistic to reach it, or to
        exceed it when ``approval_strict``).
    approval_strict : bool
        ``False``: approval >= threshold (达到, the 2018 wording); ``True``: > (高于).
    method : {"point", "upper_bound", "lower_bound"}
        Which statistic meets the thresholds: the point estimate (official);
        ``"upper_bound"`` passes only if each error rate's upper confidence bound
        is below its threshold (and approval's lower bound reaches its threshold);
        ``"lower_bound"`` fails only if an error rate's lower bound reaches its
        threshold (or approval's upper bound misses it). Incidence uses the
        bounds of the two error rates in its formula.
    bound : {"wilson", "clopper_pearson"}
        The one-sided confidence bound.
    confidence : float
        One-sided confidence level of the bound, in (0.5, 1).
    guard_band : float
        Added to the approval threshold and subtracted from the others: a
        positive band makes passing harder, a negative one easier.
    design_effect : float
        Divides counts before the bound is computed (Kish's effective sample
        size), to allow for clustering; >= 1 in practice.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and
    statistical inference. JASA 22, 209–212.
    Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or fiducial
    limits illustrated in the case of the binomial. Biometrika 26, 404–413.
    """

    incidence: float | None = None
    wrongful_exit: float = 0.02
    omission: float = 0.02
    approval: float = 0.90
    approval_strict: bool = False
    method: str = "point"
    bound: str = "wilson"
    confidence: float = 0.95
    guard_band: float = 0.0
    design_effect: float = 1.0

    def __post_init__(self) -> None:
        if self.incidence is not None:
            object.__setattr__(self, "incidence", check_probability("incidence", self.incidence))
        for name in ("wrongful_exit", "omission", "approval"):
            object.__setattr__(self, name, check_probability(name, getattr(self, name)))
        if not isinstance(self.approval_strict, bool):
            raise ValueError(f"approval_strict must be True or False; got {self.approval_strict!r}")
        check_choice("method", self.method, METHODS)
        check_choice("bound", self.bound, BOUNDS)
        object.__setattr__(
            self,
            "confidence",
            check_real(
                "confidence", self.confidence, low=0.5, high=1.0, low_open=True, high_open=True
            ),
        )
        object.__setattr__(
            self, "guard_band", check_real("guard_band", self.guard_band, low=-1.0, high=1.0)
        )
        object.__setattr__(
            self,
            "design_effect",
            check_real("design_effect", self.design_effect, low=0.0, high=1e6, low_open=True),
        )

    @classmethod
    def official_2018(cls) -> Rule:
        """The official 2018 rule (DESIGN §1)."""
        return cls()

    def incidence_threshold(self, region: str) -> float:
        """The incidence threshold that applies to a county of ``region``."""
        check_choice("region", region, tuple(INCIDENCE_THRESHOLDS))
        return INCIDENCE_THRESHOLDS[region] if self.incidence is None else self.incidence

    def true_verdict(self, indicators: object, region: str) -> bool:
        """Whether true indicators meet the thresholds (no bounds, no guard band)."""
        ok = (
            indicators.incidence < self.incidence_threshold(region)
            and indicators.wrongful_exit < self.wrongful_exit
            and indicators.omission < self.omission
        )
        if self.approval_strict:
            return bool(ok and indicators.approval > self.approval)
        return bool(ok and indicators.approval >= self.approval)

    def _engine_params(self, region: str) -> np.ndarray:
        vec = np.zeros(_rl.R_NPARAMS, np.float64)
        vec[_rl.R_INCIDENCE] = self.incidence_threshold(region)
        vec[_rl.R_WRONGFUL] = self.wrongful_exit
        vec[_rl.R_OMISSION] = self.omission
        vec[_rl.R_APPROVAL] = self.approval
        vec[_rl.R_STRICT] = 1.0 if self.approval_strict else 0.0
        vec[_rl.R_METHOD] = METHODS.index(self.method)
        vec[_rl.R_BOUND] = BOUNDS.index(self.bound)
        vec[_rl.R_CONFIDENCE] = self.confidence
        from scipy.special import ndtri

        vec[_rl.R_Z] = float(ndtri(self.confidence))
        vec[_rl.R_GUARD] = self.guard_band
        vec[_rl.R_DEFF] = self.design_effect
        return vec
