"""The engine's one ``jit`` decorator: lazy compilation, caching only on request.

Kernels compile on first call (never at import). ``POVSIM_NUMBA_CACHE=1`` turns
on numba's on-disk cache (off by default: it has raced and crashed under
multiprocessing, numba issues #4807 and #10128); ``POVSIM_FASTMATH`` is not
offered because the engine's comparisons with thresholds must be exact IEEE.

``internal=True`` marks a function that only compiled code calls: numba then
builds no Python entry point for it (``no_cpython_wrapper``), which saves
compilation time, most for functions with many array arguments. Such a
function cannot be called from Python (numba has no wrapper to enter it by),
so only private helpers of the block kernels carry the mark; tests call them
through a compiled caller.
"""

from __future__ import annotations

import os

from numba import njit

CACHE = os.environ.get("POVSIM_NUMBA_CACHE", "") not in ("", "0")


def jit(func=None, *, internal=False, **options):
    """``numba.njit`` with the package's cache setting; usable bare or with options."""
    options.setdefault("cache", CACHE)
    if internal:
        options["no_cpython_wrapper"] = True
        options["no_cfunc_wrapper"] = True
    if func is None:
        return njit(**options)
    return njit(**options)(func)
