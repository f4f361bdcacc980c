"""Arithmetic as IEEE-754 defines it, where Python would raise instead.

Python's float arithmetic stops with an exception where IEEE-754 (and so C, NumPy and
PyTorch) gives a number: `math.exp(1000)` raises OverflowError where IEEE-754 says inf,
`1.0 / 0.0` raises ZeroDivisionError where it says inf, `math.log(0)` raises where it says
-inf. A training run that meets one of these should see the inf or nan (and
`detect_anomaly()` can then say where it came from), not crash. Both engines use these
helpers; each one tries the plain operation first and only handles the exception.

>>> exp(1000.0), div(1.0, 0.0), div(0.0, 0.0), log(0.0), power(-8.0, 1 / 3)
(inf, inf, nan, -inf, nan)
"""

import math

__all__ = ["as_float", "exp", "log", "div", "power", "sigmoid", "power_rule"]

INF, NAN = math.inf, math.nan


def as_float(x):
    """float(x), with an int too big for a float giving +-inf (IEEE-754 rounding) instead of
    OverflowError."""
    try:
        return float(x)
    except OverflowError:
        return INF if x > 0 else -INF


def exp(x):
    """e**x, with overflow giving inf."""
    try:
        return math.exp(x)
    except OverflowError:
        return INF


def log(x):
    """ln(x): log(0) = -inf, log of a negative number = nan."""
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -INF
    return NAN  # negative or nan


def div(a, b):
    """a / b: x/0 = +-inf, 0/0 = nan."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return NAN
        return math.copysign(INF, a) * math.copysign(1.0, b)


def power(a, n):
    """a ** n as C's pow(): overflow gives +-inf, 0 ** negative gives inf, a negative base
    with a fractional exponent gives nan (not a complex number)."""
    try:
        return math.pow(a, n)
    except OverflowError:
        negative = a < 0.0 and n == int(n) and int(n) % 2 == 1
        return -INF if negative else INF
    except ValueError:
        if a == 0.0:  # 0 ** negative: a pole
            odd = n == int(n) and int(n) % 2 == 1
            return math.copysign(INF, a) if odd else INF
        return NAN  # negative base, fractional exponent


def power_rule(a, b):
    """a ** b and its two local derivatives, (a^b, d/da, d/db), with the edge cases as in
    PyTorch:

        d(a^b)/da = b * a^(b-1)   (0 when b = 0: a^0 = 1 is flat in a, even at a = 0)
        d(a^b)/db = a^b * ln(a)   (0 at a = 0 with b >= 0: the limit, not 0 * -inf = nan)

    >>> power_rule(2.0, 3.0)[:2], power_rule(0.0, 2.0)
    ((8.0, 12.0), (0.0, 0.0, 0.0))
    """
    out = power(a, b)
    da = b * power(a, b - 1.0) if b != 0.0 else 0.0
    db = 0.0 if (a == 0.0 and b >= 0.0) else out * log(a)
    return out, da, db


def sigmoid(x):
    """1 / (1 + e^-x), computed so that neither branch overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = exp(x)  # x < 0 (or nan): e^x is at most 1
    return e / (1.0 + e)
