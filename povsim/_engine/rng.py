"""Counter-keyed random streams for the engine.

Every simulated check draws from its own xoshiro256** stream whose 256-bit state
is a bijective hash (the splitmix64 finaliser) of a 256-bit key derived from the
user's seed with :class:`numpy.random.SeedSequence`, the check's index and a
*purpose* (households, village rates, sampling, measurement,
enumerator teams). A check's random numbers
therefore depend only on ``(seed, check index, purpose)``: never on the thread
that runs it, the chunk it falls in or the executor. Keeping purposes apart
also gives common random numbers: changing a measurement parameter does not
shift the draws that pick the sample.

State arrays are ``uint64[4]``. All functions are ``@njit`` and compiled lazily
on first call.

References
----------
Blackman, D. and Vigna, S. (2021). Scrambled linear pseudorandom number
generators. ACM Transactions on Mathematical Software 47(4), 36.
Steele, G. L., Lea, D. and Flood, C. H. (2014). Fast splittable pseudorandom
number generators. OOPSLA 2014 (splitmix64).
"""

from __future__ import annotations

import math

import numpy as np
from numba import uint64

from ._jit import jit

# numpy scalars, not Python ints: numba compiles a function once per *literal*
# argument value, so plain ints would compile ``seed_stream`` once per purpose.
PURPOSE_HOUSEHOLDS = np.int64(0)
PURPOSE_VILLAGES = np.int64(1)
PURPOSE_SAMPLING = np.int64(2)
PURPOSE_MEASUREMENT = np.int64(3)
PURPOSE_TEAMS = np.int64(4)
PURPOSE_FRESH_VILLAGES = np.int64(5)  # fresh two-stage populations, aggregated per village
PURPOSE_VILLAGE_RATES = np.int64(6)  # one sub-stream per village and indicator
_PURPOSES = 8

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_M1 = uint64(0xBF58476D1CE4E5B9)
_M2 = uint64(0x94D049BB133111EB)
_TWO_M53 = 1.0 / 9007199254740992.0
_ROT_A = np.uint64(7)  # numpy scalars, not literals: one compilation of _rotl
_ROT_B = np.uint64(45)


@jit
def _rotl(x, k):
    return (x << k) | (x >> (uint64(64) - k))


@jit
def mix64(z):
    """Splitmix64 finaliser: a bijection of the 64-bit integers."""
    z = uint64(z)
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@jit
def seed_stream(state, key, index, purpose):
    """Fill ``state`` (uint64[4]) with the stream of ``(key, index, purpose)``.

    For a fixed key and purpose, distinct indices give distinct states in every
    word (``mix64`` is a bijection and ``4 * (8 * index + purpose) + i`` is
    injective for ``index < 2**58`` and ``purpose < 8``).
    """
    base = uint64(4) * (uint64(_PURPOSES) * uint64(index) + uint64(purpose))
    for i in range(4):
        state[i] = mix64(key[i] ^ mix64((base + uint64(i)) * _GOLDEN))
    if state[0] == 0 and state[1] == 0 and state[2] == 0 and state[3] == 0:
        state[0] = uint64(1)


@jit
def seed_substream(state, key, index, purpose, sub):
    """Fill ``state`` with sub-stream ``sub`` of ``(key, index, purpose)``.

    For a fixed key, index and purpose, distinct ``sub`` give distinct states
    (``mix64`` is a bijection, and XOR with a fixed word is one too). Used where
    one population needs many independent streams, e.g. one per village and
    indicator, so that a rejection sampler's varying number of draws in one
    place cannot shift the draws of another (common random numbers).
    """
    seed_stream(state, key, index, purpose)
    salt = mix64((uint64(sub) + uint64(1)) * _M2)
    for i in range(4):
        state[i] = mix64(state[i] ^ salt)
    if state[0] == 0 and state[1] == 0 and state[2] == 0 and state[3] == 0:
        state[0] = uint64(1)


@jit
def next_u64(s):
    """Advance the xoshiro256** state ``s`` and return the next 64-bit output."""
    result = _rotl(s[1] * uint64(5), _ROT_A) * uint64(9)
    t = s[1] << uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], _ROT_B)
    return result


@jit
def next_state(s0, s1, s2, s3):
    """xoshiro256** on a state held in four scalars: ``(output, s0, s1, s2, s3)``.

    The same sequence as :func:`next_u64` on ``[s0, s1, s2, s3]``; hot loops keep
    the state in registers this way instead of in an array.
    """
    result = _rotl(s1 * uint64(5), _ROT_A) * uint64(9)
    t = s1 << uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, _ROT_B)
    return result, s0, s1, s2, s3


@jit
def to_unit(x):
    """The double in [0, 1) of a 64-bit output (its top 53 bits), as :func:`uniform`."""
    return float(x >> uint64(11)) * _TWO_M53


@jit
def uniform(s):
    """Return a double uniform on [0, 1) with 53 random bits."""
    return float(next_u64(s) >> uint64(11)) * _TWO_M53


@jit
def below(s, n):
    """Return an integer uniform on ``0 .. n - 1`` using exactly one draw.

    ``floor(u * n)`` with a 53-bit ``u``: the bias is below ``n / 2**53``
    (under 1e-10 for any population here), and every call consumes exactly one
    draw, which keeps streams aligned across the points of a sweep.
    """
    k = int(uniform(s) * n)
    return k if k < n else n - 1


@jit
def normal(s):
    """Standard normal deviate (Box–Muller, one output per two uniforms)."""
    u1 = 1.0 - uniform(s)
    u2 = uniform(s)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@jit
def gamma(s, shape):
    """Gamma(shape, 1) deviate by Marsaglia & Tsang (2000); boosted for shape < 1."""
    if shape <= 0.0:
        return 0.0
    boost = 1.0
    a = shape
    if a < 1.0:
        boost = (1.0 - uniform(s)) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = normal(s)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = 1.0 - uniform(s)
        if math.log(u) < 0.5 * x * x + d - d * v + d * math.log(v):
            return d * v * boost


@jit
def beta_mean_icc(s, mean, icc):
    """Draw a rate from the beta law with the given mean and intra-cluster correlation.

    ``icc`` is ``1 / (a + b + 1)``; ``icc == 0`` (or a degenerate mean) returns
    ``mean`` without consuming draws, and ``icc == 1`` is the limit in which a
    village's rate is 1 with probability ``mean`` and 0 otherwise.
    """
    if icc <= 0.0 or mean <= 0.0 or mean >= 1.0:
        return mean
    if icc >= 1.0:  # the limit of the beta law: every village all or nothing
        return 1.0 if uniform(s) < mean else 0.0
    scale = (1.0 - icc) / icc
    x = gamma(s, mean * scale)
    y = gamma(s, (1.0 - mean) * scale)
    if x + y <= 0.0:
        return mean
    return x / (x + y)


def stream_key(seed_sequence: np.random.SeedSequence) -> np.ndarray:
    """Return the 256-bit engine key (``uint64[4]``) of a seed sequence."""
    return seed_sequence.generate_state(4, np.uint64)
