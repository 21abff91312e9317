"""The one place where user seeds become engine keys (STYLE.md, rule 3)."""

from __future__ import annotations

import numbers

import numpy as np

SeedLike = int | np.random.SeedSequence | np.random.Generator


def as_seed_sequence(seed: object, name: str = "seed") -> np.random.SeedSequence:
    """Normalise ``seed`` (int >= 0, SeedSequence or Generator) to a SeedSequence.

    ``seed=0`` is a seed like any other; ``None`` is refused, because povsim's
    results must always be reproducible from their ``attrs``.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist())
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0:
        return np.random.SeedSequence(int(seed))
    raise ValueError(
        f"{name} must be a non-negative integer, a numpy SeedSequence or a numpy Generator; "
        f"got {seed!r}"
    )


def describe(ss: np.random.SeedSequence) -> str:
    """Return a string from which ``ss`` can be rebuilt (for ``Dataset.attrs``)."""
    if not ss.spawn_key:
        return str(ss.entropy)
    return f"SeedSequence(entropy={ss.entropy}, spawn_key={tuple(ss.spawn_key)})"
