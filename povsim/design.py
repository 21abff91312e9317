"""How households are drawn for a spot check."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ._validate import check_choice, check_count, check_probability

KINDS = ("srs", "stratified", "two_stage")

__all__ = ["Design", "KINDS"]


@dataclass(frozen=True)
class Design:
    """A sampling design.

    Parameters
    ----------
    kind : {"srs", "stratified", "two_stage"}
        ``"srs"``: simple random sampling of ``households`` from the whole county.
        ``"stratified"``: simple random sampling inside registry strata —
        ``round(households * registered_share)`` registered households, split
        between exited and remaining in proportion to their numbers in the
        county, and the rest from never-registered households.
        ``"two_stage"``: ``villages`` villages, of which
        ``round(villages * poor_village_share)`` from the designated poor
        villages and the rest from the others (one simple random sample per
        village stratum; ``poor_village_share=None`` draws villages without
        stratifying), then ``round(households / villages)`` households in each
        sampled village, of which ``round(per_village * registered_share)``
        from the registry (exited and remaining together) and the rest from
        never-registered households (``registered_share=None``: one simple random
        sample of the village). Where a village has fewer households in a
        stratum than asked for, all of them are taken (the sample shrinks).
    households : int
        Households sampled per check (about 1000 in 2018).
    villages : int
        Villages sampled (two-stage designs only; 24–29 in practice).
    poor_village_share : float or None
        Share of sampled villages drawn from the poor villages (about 65 %).
    registered_share : float or None
        Share of sampled households drawn from the registry (about half).
    replace : bool
        Sample with replacement at every stage (the binomial reference case).

    Examples
    --------
    >>> Design.two_stage().per_village
    40
    """

    kind: str = "two_stage"
    households: int = 1000
    villages: int = 25
    poor_village_share: float | None = 0.65
    registered_share: float | None = 0.5
    replace: bool = False

    def __post_init__(self) -> None:
        check_choice("kind", self.kind, KINDS)
        object.__setattr__(
            self, "households", check_count("households", self.households, minimum=1)
        )
        object.__setattr__(self, "villages", check_count("villages", self.villages, minimum=1))
        for name in ("poor_village_share", "registered_share"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, check_probability(name, value))
        if not isinstance(self.replace, bool):
            raise ValueError(f"replace must be True or False; got {self.replace!r}")
        if self.kind == "two_stage" and self.villages > self.households:
            raise ValueError(
                f"villages must be at most households = {self.households} in a two-stage "
                f"design; got {self.villages}"
            )
        if self.kind == "stratified" and self.registered_share is None:
            raise ValueError("registered_share must be a share in [0, 1] for a stratified design")

    @classmethod
    def srs(cls, households: int = 1000, *, replace: bool = False) -> Design:
        """Simple random sampling of households from the whole county."""
        return cls(kind="srs", households=households, replace=replace)

    @classmethod
    def stratified(
        cls, households: int = 1000, *, registered_share: float = 0.5, replace: bool = False
    ) -> Design:
        """Simple random sampling stratified by registry status."""
        return cls(
            kind="stratified",
            households=households,
            registered_share=registered_share,
            replace=replace,
        )

    @classmethod
    def two_stage(
        cls,
        households: int = 1000,
        villages: int = 25,
        *,
        poor_village_share: float | None = 0.65,
        registered_share: float | None = 0.5,
        replace: bool = False,
    ) -> Design:
        """Villages (stratified poor / non-poor), then households (stratified by registry)."""
        return cls(
            kind="two_stage",
            households=households,
            villages=villages,
            poor_village_share=poor_village_share,
            registered_share=registered_share,
            replace=replace,
        )

    @property
    def per_village(self) -> int:
        """Households asked for in each sampled village (two-stage designs)."""
        return max(1, int(round(self.households / self.villages)))

    @property
    def poor_villages(self) -> int | None:
        """Sampled villages drawn from the poor stratum (None: unstratified)."""
        if self.poor_village_share is None:
            return None
        return int(round(self.villages * self.poor_village_share))

    @property
    def per_village_registered(self) -> int | None:
        """Registered households asked for in each sampled village (None: unstratified)."""
        if self.registered_share is None:
            return None
        return int(round(self.per_village * self.registered_share))

    def allocation(self, exited: int, remaining: int) -> tuple[int, int, int]:
        """Households a stratified design asks of the (exited, remaining, never-registered) strata.

        The registered sample is split in proportion to the ``exited`` and
        ``remaining`` households of the population, rounded half up.
        """
        n_reg = self.registered or 0
        n_exited = n_reg
        if exited + remaining > 0:
            n_exited = int(math.floor(n_reg * exited / (exited + remaining) + 0.5))
        return n_exited, n_reg - n_exited, self.households - n_reg

    @property
    def registered(self) -> int | None:
        """Registered households sampled by a stratified design."""
        if self.registered_share is None:
            return None
        return int(round(self.households * self.registered_share))
