"""Input validation shared by every public entry point.

Each helper either returns the value normalised (a Python ``float``/``int``/``str``
or a float ``ndarray``) or raises a ``ValueError`` that names the parameter and
the allowed range. Public functions call these *before* doing any work.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

__all__ = [
    "check_choice",
    "check_count",
    "check_probability",
    "check_probability_array",
    "check_real",
]


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_real(
    name: str,
    value: object,
    *,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float, or raise if it is not a finite real in the range."""
    lo_br = "(" if low_open else "["
    hi_br = ")" if high_open else "]"
    allowed = f"a real number in {lo_br}{low}, {high}{hi_br}"
    if not _is_real(value):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    x = float(value)
    if math.isnan(x):
        raise ValueError(f"{name} must be {allowed}; got NaN")
    too_low = x <= low if low_open else x < low
    too_high = x >= high if high_open else x > high
    if too_low or too_high:
        raise ValueError(f"{name} must be {allowed}; got {x!r}")
    return x


def check_probability(name: str, value: object) -> float:
    """Return ``value`` as a float in [0, 1], or raise ``ValueError``."""
    return check_real(name, value, low=0.0, high=1.0)


def check_probability_array(name: str, value: object) -> np.ndarray:
    """Return ``value`` as a float array with every element in [0, 1]."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be real numbers in [0, 1]; got {value!r}") from None
    if arr.size and (np.isnan(arr).any() or (arr < 0).any() or (arr > 1).any()):
        bad = arr[np.isnan(arr) | (arr < 0) | (arr > 1)].ravel()[0]
        raise ValueError(f"{name} must be real numbers in [0, 1]; got {bad!r}")
    return arr


def check_count(
    name: str,
    value: object,
    *,
    minimum: int = 0,
    maximum: int | None = None,
    maximum_name: str | None = None,
) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]``, or raise ``ValueError``.

    Integral floats (``1e6``) are accepted; fractional values, NaN, booleans and
    non-numbers are not.
    """
    upper = "" if maximum is None else f", at most {maximum}"
    if maximum is not None and maximum_name:
        upper = f", at most {maximum_name} = {maximum}"
    allowed = f"an integer >= {minimum}{upper}"
    if not _is_real(value):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    x = float(value)
    if math.isnan(x) or math.isinf(x) or x != math.floor(x):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    n = int(value)
    if n < minimum or (maximum is not None and n > maximum):
        raise ValueError(f"{name} must be {allowed}; got {n}")
    return n


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, or raise ``ValueError``."""
    options = tuple(choices)
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}")
    return value
