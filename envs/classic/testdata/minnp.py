"""minnp: the few parts of NumPy 2 that Gymnasium's classic-control step
functions use, in pure Python, so that CPython without NumPy can run their
code unchanged (the gen_*_steps.py scripts import it as np).

Scalars follow NumPy 2's promotion rules (NEP 50), as implemented for
scalars in numpy/_core/src/umath/scalarmath.c.src (convert_to_<type>,
CONVERT_PYSCALAR):

* F32 is np.float32; F64 is np.float64 (a float subclass, as np.float64 is).
* A Python float or int combined with an F32 is "weak": it is rounded to
  float32 first and the operation, arithmetic or comparison, is done in
  float32. So np.float32(x) * 0.0015 rounds 0.0015 to float32, and
  np.float32(0.45) >= 0.45 is True.
* F32 combined with F64 gives F64, computed in float64.
* F64 combined with a Python float gives F64; Python floats stay floats.

float32 arithmetic is emulated exactly: each + - * / is computed in float64
on float32 operands, which is exact up to one final rounding (53 >= 2*24+2),
and rounded to float32 with struct, which is C's (float) cast.

cos, sin and x**2 of float64 values are recorded in CALLS, so that each
transcript carries CPython's values for them (the C library's cos, sin and
pow; pow(x, 2) is not always x*x correctly rounded, for one on glibc). The
Go tests feed them to their reference step to compare the rest of the
arithmetic bit for bit.
"""
import math as _math
import operator as _op
import struct as _struct

float32 = "float32"
float64 = "float64"
ndarray = list  # for annotations
pi = _math.pi

# (function name, float64 argument) -> float64 result, in call order.
CALLS = {}


def _record(name, x, y):
    CALLS[(name, x)] = y
    return y


def round32(x):
    """x rounded to the nearest float32, as C's (float)x (ties to even)."""
    return _struct.unpack("<f", _struct.pack("<f", x))[0]


def _is_scalar(x):
    return isinstance(x, (int, float, F32))  # F64 is a float


def _promote(a, b):
    """NEP 50: (float32?, a, b) for a binary operation on a and b."""
    if isinstance(a, F64) or isinstance(b, F64):
        return False, float(a), float(b)
    if isinstance(a, F32) or isinstance(b, F32):
        return True, round32(float(a)), round32(float(b))
    return False, float(a), float(b)


def _pow(x, y):
    r = x**y
    if y == 2:
        _record("pow2", x, r)
    return r


def _binary(fn):
    def forward(self, other):
        if not _is_scalar(other):
            return NotImplemented
        is32, x, y = _promote(self, other)
        r = fn(x, y)
        return F32(r) if is32 else F64(r)

    def reflected(self, other):
        if not _is_scalar(other):
            return NotImplemented
        is32, x, y = _promote(other, self)
        r = fn(x, y)
        return F32(r) if is32 else F64(r)

    return forward, reflected


def _compare(fn):
    def cmp(self, other):
        if not _is_scalar(other):
            return NotImplemented
        _, x, y = _promote(self, other)
        return fn(x, y)

    return cmp


class F32:
    """np.float32."""

    __slots__ = ("v",)
    __hash__ = None

    def __init__(self, x):
        self.v = round32(float(x))

    def __float__(self):
        return self.v

    def __repr__(self):
        return "np.float32(%r)" % self.v

    def __neg__(self):
        return F32(-self.v)

    def __pow__(self, other):
        # np.float32 ** 2 is powf in float32. For a float32 u, pow(u, 2.0) in
        # float64 is exact (u*u has at most 48 bits), so rounding it to
        # float32 gives the correctly rounded square, as Go's float32 u*u.
        if not _is_scalar(other):
            return NotImplemented
        is32, x, y = _promote(self, other)
        r = x**y
        return F32(r) if is32 else F64(_pow(x, y))

    __add__, __radd__ = _binary(_op.add)
    __sub__, __rsub__ = _binary(_op.sub)
    __mul__, __rmul__ = _binary(_op.mul)
    __truediv__, __rtruediv__ = _binary(_op.truediv)
    __lt__ = _compare(_op.lt)
    __le__ = _compare(_op.le)
    __gt__ = _compare(_op.gt)
    __ge__ = _compare(_op.ge)
    __eq__ = _compare(_op.eq)
    __ne__ = _compare(_op.ne)


def _binary64(fn):
    def forward(self, other):
        if not _is_scalar(other):
            return NotImplemented
        return F64(fn(float(self), float(other)))

    def reflected(self, other):
        if not _is_scalar(other):
            return NotImplemented
        return F64(fn(float(other), float(self)))

    return forward, reflected


class F64(float):
    """np.float64: a float whose arithmetic, even with an F32, is float64.
    Its % is Python's (NumPy's npy_remainder is the same: fmod, moved into
    the divisor's sign)."""

    def __repr__(self):
        return "np.float64(%r)" % float(self)

    def __neg__(self):
        return F64(-float(self))

    __add__, __radd__ = _binary64(_op.add)
    __sub__, __rsub__ = _binary64(_op.sub)
    __mul__, __rmul__ = _binary64(_op.mul)
    __truediv__, __rtruediv__ = _binary64(_op.truediv)
    __mod__, __rmod__ = _binary64(_op.mod)
    __pow__, __rpow__ = _binary64(_pow)
    # Comparisons are float's: with an F32 float's return NotImplemented
    # and F32's reflected ones compare in float64.


class Vec(list):
    """A 1-D float64 array: elementwise arithmetic with arrays and scalars."""

    def _map(self, other, fn, reflected=False):
        if isinstance(other, list):
            pairs = zip(self, other, strict=True)
        elif _is_scalar(other):
            pairs = ((a, other) for a in self)
        else:
            return NotImplemented
        if reflected:
            return Vec(F64(fn(float(b), float(a))) for a, b in pairs)
        return Vec(F64(fn(float(a), float(b))) for a, b in pairs)

    def __add__(self, other):
        return self._map(other, _op.add)

    def __radd__(self, other):
        return self._map(other, _op.add, True)

    def __mul__(self, other):
        return self._map(other, _op.mul)

    def __rmul__(self, other):
        return self._map(other, _op.mul, True)


def _scalar(x):
    return x if isinstance(x, (F32, F64)) else F64(float(x))


def cos(x):
    """np.cos. For np.float32 NumPy computes in float32 (its own SIMD code);
    this rounds the float64 cos, which may differ in the last bit."""
    if isinstance(x, F32):
        return F32(_math.cos(x.v))
    return F64(_record("cos", float(x), _math.cos(float(x))))


def sin(x):
    """np.sin; see cos."""
    if isinstance(x, F32):
        return F32(_math.sin(x.v))
    return F64(_record("sin", float(x), _math.sin(float(x))))


def clip(a, a_min, a_max):
    """np.clip: minimum(maximum(a, a_min), a_max) in a's dtype (the Python
    bounds are weak)."""
    if isinstance(a, list):
        return [clip(x, a_min, a_max) for x in a]
    if isinstance(a, F32):
        return F32(min(max(a.v, round32(float(a_min))), round32(float(a_max))))
    return F64(min(max(float(a), float(a_min)), float(a_max)))


def array(seq, dtype=None):
    """np.array of scalars: float32 if asked for or if every element is an
    np.float32, else float64. A list stands for the array."""
    if dtype == float32 or (dtype is None and all(isinstance(x, F32) for x in seq)):
        return [F32(x) for x in seq]
    return Vec(F64(float(x)) for x in seq)


def asarray(seq):
    """np.asarray of a tuple of float64 scalars."""
    return Vec(F64(float(x)) for x in seq)


def append(arr, value):
    """np.append(arr, value) of a float32 or float64 array and a Python
    number: concatenate promotes to float64."""
    return Vec([F64(float(x)) for x in arr] + [F64(float(value))])


def zeros(shape, dtype=float64):
    rows, cols = shape
    return [Vec(F64(0.0) for _ in range(cols)) for _ in range(rows)]


def arange(n):
    return range(n)


class _LoggedMath:
    """The math module as Gymnasium's code calls it, with cos recorded."""

    pi = _math.pi
    pow = staticmethod(_math.pow)

    @staticmethod
    def cos(x):
        return _record("cos", float(x), _math.cos(float(x)))


logged_math = _LoggedMath()


def hexes(values):
    """Each value's float64 bits as float.hex (float32 values are exact)."""
    return [float.hex(float(v)) for v in values]


def write_transcript(path, title, lines):
    """Writes the transcript: a title, the recorded calls, then lines."""
    out = ["# " + title + " Do not edit.",
           "# Recorded calls: <name> <x> <CPython's name(x)>, float.hex."]
    for (name, x), y in CALLS.items():
        out.append(" ".join([name, float.hex(x), float.hex(y)]))
    out += lines
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
