"""What is recorded: enumerators, the review chain and approval answers."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._validate import check_count, check_probability, check_real

__all__ = ["Measurement", "ReviewStage"]


@dataclass(frozen=True)
class ReviewStage:
    """One stage of the review chain (凡疑必核).

    Parameters
    ----------
    name : str
        For reports only.
    confirm_true : float
        Probability that a flagged *true* problem survives this stage (a
        county's successful rebuttal of a true problem is ``1 - confirm_true``).
    confirm_false : float
        Probability that a *false* flag survives this stage.
    """

    name: str
    confirm_true: float = 1.0
    confirm_false: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError(f"name must be a string; got {self.name!r}")
        for attr in ("confirm_true", "confirm_false"):
            object.__setattr__(
                self, attr, check_probability(f"{self.name}.{attr}", getattr(self, attr))
            )


@dataclass(frozen=True)
class Measurement:
    """How a sampled household's status is recorded.

    Each sampled exited household is checked for a wrongful exit and each
    never-registered household for an omission. The enumerators flag a true
    problem with probability ``sensitivity`` and a household without one with
    probability ``1 - specificity``; each flag then passes every
    :class:`ReviewStage` in turn. The recorded problem probabilities are
    therefore

    ``Se_eff = Se * prod(confirm_true)`` and ``1 - Sp_eff = (1 - Sp) * prod(confirm_false)``,

    and a sample's recorded rate has the Rogan–Gladen expectation
    ``p * Se_eff + (1 - p) * (1 - Sp_eff)``.

    Parameters
    ----------
    sensitivity, specificity : float
        Average enumerator accuracy.
    team_sd : float
        Between-team spread: each enumerator team's sensitivity and specificity
        are ``expit(logit(mean) + team_sd * z)`` with independent standard normal
        ``z`` per team and per check. Errors therefore correlate inside the
        villages a team covers. 0 means every team is alike.
    teams : int or None
        Enumerator teams per check. Sampled village ``j`` (two-stage designs) or
        county village ``v`` (SRS designs) is covered by team ``j % teams``;
        ``None`` gives each village its own team.
    review : tuple of ReviewStage
        The review chain, in order. Empty (the default) keeps every flag.
    approval_overreport : float
        Probability that a household that does not approve answers that it does.
    approval_underreport : float
        Probability that a household that approves answers that it does not.

    References
    ----------
    Rogan, W. J. and Gladen, B. (1978). Estimating prevalence from the results of
    a screening test. American Journal of Epidemiology 107(1), 71–76.
    """

    sensitivity: float = 1.0
    specificity: float = 1.0
    team_sd: float = 0.0
    teams: int | None = None
    review: tuple[ReviewStage, ...] = ()
    approval_overreport: float = 0.0
    approval_underreport: float = 0.0

    def __post_init__(self) -> None:
        for name in ("sensitivity", "specificity", "approval_overreport", "approval_underreport"):
            object.__setattr__(self, name, check_probability(name, getattr(self, name)))
        object.__setattr__(self, "team_sd", check_real("team_sd", self.team_sd, low=0.0, high=10.0))
        if self.teams is not None:
            object.__setattr__(self, "teams", check_count("teams", self.teams, minimum=1))
        review = tuple(self.review)
        for i, stage in enumerate(review):
            if not isinstance(stage, ReviewStage):
                raise ValueError(f"review[{i}] must be a ReviewStage; got {stage!r}")
        object.__setattr__(self, "review", review)

    @property
    def review_true(self) -> float:
        """Probability that a flagged true problem survives the whole chain."""
        return math.prod(s.confirm_true for s in self.review)

    @property
    def review_false(self) -> float:
        """Probability that a false flag survives the whole chain."""
        return math.prod(s.confirm_false for s in self.review)

    @property
    def effective_sensitivity(self) -> float:
        """``sensitivity * prod(confirm_true)`` (with ``team_sd = 0``)."""
        return self.sensitivity * self.review_true

    @property
    def effective_specificity(self) -> float:
        """``1 - (1 - specificity) * prod(confirm_false)`` (with ``team_sd = 0``)."""
        return 1.0 - (1.0 - self.specificity) * self.review_false

    @property
    def is_perfect(self) -> bool:
        """True when every recorded status is the true status."""
        return (
            self.effective_sensitivity == 1.0
            and self.effective_specificity == 1.0
            and self.approval_overreport == 0.0
            and self.approval_underreport == 0.0
        )

    @classmethod
    def official_2018(cls) -> Measurement:
        """Illustrative 2018 measurement: imperfect enumerators and the five-level review.

        The numbers are assumptions for methodology work, not estimates: enumerators
        flag 90 % of true problems and 0.5 % of other households as suspect; the five
        review levels (enumerator pair, team leader, provincial departments, expert
        group, final working group) each keep 98–99 % of true problems and 50–60 %
        of false flags, and a county rebuttal removes 5 % of true problems and 70 %
        of false flags; teams differ (logit SD 0.5); 2 % of non-approving
        households say they approve and 1 % of approving ones say they do not.

        The false-flag rate is set low enough for the published 2018 outcomes to
        be reachable: with 2 % suspect flags, even a county with no true problem
        would show a wrongful exit or an omission more often than the 81.27 % of
        counties with neither allows (see :func:`povsim.research.calibrate`).
        """
        return cls(
            sensitivity=0.90,
            specificity=0.995,
            team_sd=0.5,
            review=(
                ReviewStage("enumerator pair", 0.99, 0.6),
                ReviewStage("team leader", 0.99, 0.6),
                ReviewStage("provincial departments", 0.98, 0.5),
                ReviewStage("expert group", 0.98, 0.5),
                ReviewStage("final working group", 0.98, 0.6),
                ReviewStage("county rebuttal", 0.95, 0.3),
            ),
            approval_overreport=0.02,
            approval_underreport=0.01,
        )
