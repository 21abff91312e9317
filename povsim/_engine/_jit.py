"""The engine's one ``jit`` decorator: lazy compilation, caching only on request.

Kernels compile on first call (never at import). ``POVSIM_NUMBA_CACHE=1`` turns
on numba's on-disk cache (off by default: it has raced and crashed under
multiprocessing, numba issues #4807 and #10128); ``POVSIM_FASTMATH`` is not
offered because the engine's comparisons with thresholds must be exact IEEE.
"""

from __future__ import annotations

import os

from numba import njit

CACHE = os.environ.get("POVSIM_NUMBA_CACHE", "") not in ("", "0")


def jit(func=None, **options):
    """``numba.njit`` with the package's cache setting; usable bare or with options."""
    options.setdefault("cache", CACHE)
    if func is None:
        return njit(**options)
    return njit(**options)(func)
