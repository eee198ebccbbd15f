"""Go's random numbers and trigonometry in pure Python, bit for bit.

rlgo's native envs draw from Go's math/rand/v2 PCG (envs.NewRNG) and call
Go's math.Sin and math.Cos, which differ from the C library's in the last
bit for some arguments. A Python env that must give the native env's
transitions exactly (to test the bridge bit for bit) uses these instead of
NumPy's generator and math.sin/math.cos. Sources: Go's
src/math/rand/v2/pcg.go, rand.go (Float64) and src/math/sin.go.
"""

import math

_M64 = (1 << 64) - 1
_MUL = (2549297995355413924 << 64) | 4865540595714422341
_INC = (6364136223846793005 << 64) | 1442695040888963407
_CHEAP_MUL = 0xDA942042E4DD58B5


class GoPCG:
    """math/rand/v2's PCG (128-bit LCG, DXSM output), state (hi, lo)."""

    def __init__(self, seed1, seed2):
        self.state = ((seed1 & _M64) << 64) | (seed2 & _M64)

    def uint64(self):
        self.state = (self.state * _MUL + _INC) & ((1 << 128) - 1)
        hi, lo = self.state >> 64, self.state & _M64
        hi ^= hi >> 32
        hi = (hi * _CHEAP_MUL) & _M64
        hi ^= hi >> 48
        hi = (hi * (lo | 1)) & _M64
        return hi

    def float64(self):
        """Rand.Float64: the low 53 bits over 2**53."""
        return float(self.uint64() & ((1 << 53) - 1)) / (1 << 53)


class GoRNG:
    """envs.NewRNG(seed, stream) with the part of NumPy's Generator API the
    test envs use: uniform(low, high, size) = low + (high-low)*Float64(),
    as NumPy computes it."""

    def __init__(self, seed, stream=0):
        self.pcg = GoPCG(seed, stream ^ 0x9E3779B97F4A7C15)

    def uniform(self, low=0.0, high=1.0, size=None):
        import numpy as np

        if size is None:
            return low + (high - low) * self.pcg.float64()
        n = int(np.prod(size))
        return np.array([low + (high - low) * self.pcg.float64() for _ in range(n)], dtype=np.float64).reshape(size)


_SIN = (1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6,
        -1.98412698295895385996e-4, 8.33333333332211858878e-3, -1.66666666666666307295e-1)
_COS = (-1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7,
        2.48015872888517045348e-5, -1.38888888888730564116e-3, 4.16666666666665929218e-2)
_PI4A = 7.85398125648498535156e-1
_PI4B = 3.77489470793079817668e-8
_PI4C = 2.69515142907905952645e-15
_FOUR_OVER_PI = 4 / math.pi  # 0x3ff45f306dc9c883, the float64 Go's constant 4/Pi rounds to
_REDUCE_THRESHOLD = 1 << 29


def _octant(x):
    j = int(x * _FOUR_OVER_PI)
    y = float(j)
    if j & 1 == 1:
        j += 1
        y += 1
    j &= 7
    z = ((x - y * _PI4A) - y * _PI4B) - y * _PI4C
    return j, z


def _sin_poly(z, zz):
    return z + z * zz * ((((((_SIN[0] * zz) + _SIN[1]) * zz + _SIN[2]) * zz + _SIN[3]) * zz + _SIN[4]) * zz + _SIN[5])


def _cos_poly(zz):
    return 1.0 - 0.5 * zz + zz * zz * ((((((_COS[0] * zz) + _COS[1]) * zz + _COS[2]) * zz + _COS[3]) * zz + _COS[4]) * zz + _COS[5])


def go_sin(x):
    """Go's math.Sin (pure-Go version, amd64 without FMA)."""
    if x == 0 or math.isnan(x):
        return x
    if math.isinf(x):
        return math.nan
    if abs(x) >= _REDUCE_THRESHOLD:
        raise ValueError("go_sin: |x| >= 2**29 needs Go's Payne-Hanek reduction, not ported")
    sign = False
    if x < 0:
        x, sign = -x, True
    j, z = _octant(x)
    if j > 3:
        sign, j = not sign, j - 4
    zz = z * z
    y = _cos_poly(zz) if j in (1, 2) else _sin_poly(z, zz)
    return -y if sign else y


def go_cos(x):
    """Go's math.Cos (pure-Go version, amd64 without FMA)."""
    if math.isnan(x) or math.isinf(x):
        return math.nan
    x = abs(x)
    if x >= _REDUCE_THRESHOLD:
        raise ValueError("go_cos: |x| >= 2**29 needs Go's Payne-Hanek reduction, not ported")
    sign = False
    j, z = _octant(x)
    if j > 3:
        j -= 4
        sign = not sign
    if j > 1:
        sign = not sign
    zz = z * z
    y = _sin_poly(z, zz) if j in (1, 2) else _cos_poly(zz)
    return -y if sign else y
