"""Elementwise ops: each output number depends on the numbers at the same position.
(Comparisons, `where` and `clamp`, which choose between numbers, are in ops_select.py.)

Part of `Tensor` (tensor.py). Each op is three beats, as in value.py: compute the output's
numbers, define `backward` (output gradient -> one gradient per input) right beside it, and
`record` the result.

Two operands of different shapes are *broadcast* as in NumPy and PyTorch: shapes are lined up
from the right, and a size-1 axis (or a missing one) is repeated to match the other. A bias of
shape (3,) added to a (4, 3) matrix is added to each of the 4 rows. In the backward pass each
repeated number gets the *sum* of the gradients of all the places it was copied to.

Some loops are written as `list(map(add, a, b))`: the same as
`[x + y for x, y in zip(a, b)]`, with the loop run in C (about 5% faster on Python 3.11).

Numbers follow IEEE-754 like PyTorch: each op first runs the plain fast loop, and only when
Python raises (exp overflow, log(0), x/0) redoes it number by number with the IEEE helpers
from value.py.
"""

import math
from operator import add, mul, neg, sub, truediv

from . import ieee
from .autograd import record
from .shapes import broadcast_index, broadcast_shape, check_size, tiled_size

__all__ = ["ElementwiseOps"]

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class ElementwiseOps:
    __slots__ = ()

    # ------------------------------------------------------------------ two inputs

    def __add__(self, other):
        other = self._lift(other, "+")
        a, b, shape, ia, ib = _broadcast(self, other, "+")
        out = list(map(add, a, b))

        def backward(g):
            # d(a+b)/da = 1, d(a+b)/db = 1: the gradient passes through to both
            return _sum_to(self, g, ia, shape), _sum_to(other, g, ib, shape)

        return record(out, shape, "+", (self, other), backward, saves="nothing")

    def __sub__(self, other):
        other = self._lift(other, "-")
        a, b, shape, ia, ib = _broadcast(self, other, "-")
        out = list(map(sub, a, b))

        def backward(g):
            # d(a-b)/da = 1, d(a-b)/db = -1
            gb = list(map(neg, g)) if other.requires_grad else None
            return _sum_to(self, g, ia, shape), _sum_to(other, gb, ib, shape)

        return record(out, shape, "-", (self, other), backward, saves="nothing")

    def __mul__(self, other):
        other = self._lift(other, "*")
        a, b, shape, ia, ib = _broadcast(self, other, "*")
        out = list(map(mul, a, b))

        def backward(g):
            # d(a*b)/da = b, d(a*b)/db = a
            ga = list(map(mul, g, b)) if self.requires_grad else None
            gb = list(map(mul, g, a)) if other.requires_grad else None
            return _sum_to(self, ga, ia, shape), _sum_to(other, gb, ib, shape)

        return record(out, shape, "*", (self, other), backward, saves="inputs")

    def __truediv__(self, other):
        other = self._lift(other, "/")
        a, b, shape, ia, ib = _broadcast(self, other, "/")
        out = _div_lists(a, b)

        def backward(g):
            # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -(a/b)/b
            ga = _div_lists(g, b) if self.requires_grad else None
            gb = None
            if other.requires_grad:
                gb = _div_lists([-gi * o for gi, o in zip(g, out)], b)
            return _sum_to(self, ga, ia, shape), _sum_to(other, gb, ib, shape)

        return record(out, shape, "/", (self, other), backward)

    def __pow__(self, other):
        if isinstance(other, (int, float)):  # (a bool too: 1 or 0, as in Value and PyTorch)
            return self._pow_number(ieee.as_float(other))
        if not isinstance(other, type(self)):
            raise TypeError(
                f"unsupported exponent type {type(other).__name__} ({other!r}); "
                "Tensor ** accepts an int, a float or a Tensor"
            )
        a, b, shape, ia, ib = _broadcast(self, other, "**")
        out = _pow_lists(a, b)

        def backward(g):
            # d(a^b)/da = b * a^(b-1),  d(a^b)/db = a^b * ln(a)  (0 at a = 0, b >= 0)
            ga = gb = None
            if self.requires_grad:
                powers = _pow_lists(a, [y - 1.0 for y in b])
                ga = [gi * y * p if y != 0.0 else 0.0 for gi, y, p in zip(g, b, powers)]
            if other.requires_grad:
                gb = [
                    0.0 if (x == 0.0 and y >= 0.0) else gi * o * ieee.log(x)
                    for gi, x, y, o in zip(g, a, b, out)
                ]
            return _sum_to(self, ga, ia, shape), _sum_to(other, gb, ib, shape)

        return record(out, shape, "**", (self, other), backward)

    def _pow_number(self, n):
        x = self.data
        # x ** 2 is common (squares in losses and variances): a plain product is ~1.3x faster
        out = list(map(mul, x, x)) if n == 2.0 else _pow_lists(x, [n] * len(x))

        def backward(g):
            # d(x^n)/dx = n * x^(n-1)
            if n == 2.0:
                return ([2.0 * gi * v for gi, v in zip(g, x)],)
            if n == 0.0:  # x^0 = 1 is flat, even at x = 0
                return ([0.0] * len(x),)
            powers = _pow_lists(x, [n - 1.0] * len(x))
            return ([n * gi * p for gi, p in zip(g, powers)],)

        return record(out, self.shape, f"**{n:g}", (self,), backward, saves="inputs")

    def __radd__(self, other):  # number + Tensor
        return self._lift(other, "+") + self

    def __rsub__(self, other):  # number - Tensor
        return self._lift(other, "-") - self

    def __rmul__(self, other):  # number * Tensor
        return self._lift(other, "*") * self

    def __rtruediv__(self, other):  # number / Tensor
        return self._lift(other, "/") / self

    def __rpow__(self, other):  # number ** Tensor
        return self._lift(other, "**") ** self

    # ------------------------------------------------------------------ one input

    def __neg__(self):
        # d(-x)/dx = -1
        return record(
            list(map(neg, self.data)), self.shape, "neg", (self,), _negate_grad, saves="nothing"
        )

    def exp(self):
        try:
            out = list(map(math.exp, self.data))
        except OverflowError:
            out = list(map(ieee.exp, self.data))
        # d(e^x)/dx = e^x, the output itself
        return record(
            out, self.shape, "exp", (self,), lambda g: (list(map(mul, g, out)),), saves="output"
        )

    def log(self):
        x = self.data
        try:
            out = list(map(math.log, x))
        except ValueError:  # log(0) or log(negative)
            out = list(map(ieee.log, x))
        # d(ln x)/dx = 1/x
        return record(
            out, self.shape, "log", (self,), lambda g: (_div_lists(g, x),), saves="inputs"
        )

    def tanh(self):
        out = list(map(math.tanh, self.data))

        def backward(g):
            # d(tanh x)/dx = 1 - tanh(x)^2
            return ([gi * (1.0 - t * t) for gi, t in zip(g, out)],)

        return record(out, self.shape, "tanh", (self,), backward, saves="output")

    def relu(self):
        x = self.data
        out = [0.0 if v <= 0.0 else v for v in x]  # written so that nan stays nan

        def backward(g):
            # d(relu x)/dx = 0 where x <= 0 (also at exactly 0), else 1: at nan the gradient
            # passes through, as in PyTorch
            return ([0.0 if v <= 0.0 else gi for gi, v in zip(g, x)],)

        return record(out, self.shape, "relu", (self,), backward, saves="inputs")

    def sigmoid(self):
        out = list(map(ieee.sigmoid, self.data))

        def backward(g):
            # d(sigmoid x)/dx = sigmoid(x) * (1 - sigmoid(x))
            return ([gi * s * (1.0 - s) for gi, s in zip(g, out)],)

        return record(out, self.shape, "sigmoid", (self,), backward, saves="output")

    def sqrt(self):
        try:
            out = list(map(math.sqrt, self.data))
        except ValueError:  # a negative number: nan, as in IEEE-754
            out = [math.sqrt(v) if v >= 0.0 else math.nan for v in self.data]

        def backward(g):
            # d(sqrt x)/dx = 1 / (2 sqrt(x))
            return (_div_lists(g, [2.0 * s for s in out]),)

        return record(out, self.shape, "sqrt", (self,), backward, saves="output")

    def abs(self):
        """|x|: the distance from 0.

        >>> from tinygrad_attn import Tensor
        >>> Tensor([-2.0, 0.0, 3.0]).abs().tolist()
        [2.0, 0.0, 3.0]
        """
        x = self.data
        out = list(map(abs, x))

        def backward(g):
            # d|x|/dx = 1 where x > 0, -1 where x < 0, and 0 at exactly 0 (as in PyTorch)
            return ([gi if v > 0.0 else -gi if v < 0.0 else 0.0 for gi, v in zip(g, x)],)

        return record(out, self.shape, "abs", (self,), backward, saves="inputs")

    def gelu(self):
        """GELU, the smooth relu of GPT and BERT: x * Phi(x), where Phi(x) = (1 + erf(x /
        sqrt(2))) / 2 is the chance that a standard normal number is below x. The exact
        form, as PyTorch's default (not the tanh approximation).

        >>> from tinygrad_attn import Tensor
        >>> [round(v, 4) for v in Tensor([-1.0, 0.0, 1.0]).gelu().tolist()]
        [-0.1587, 0.0, 0.8413]
        """
        x = self.data
        phi = [0.5 * (1.0 + math.erf(v * _SQRT_HALF)) for v in x]  # Phi(x)
        out = list(map(mul, x, phi))

        def backward(g):
            # d(x Phi(x))/dx = Phi(x) + x phi(x), with phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
            # the normal density (the slope of Phi)
            return (
                [
                    gi * (p + v * math.exp(-0.5 * v * v) * _INV_SQRT_2PI)
                    for gi, v, p in zip(g, x, phi)
                ],
            )

        return record(out, self.shape, "gelu", (self,), backward, saves="inputs")

    def masked_fill(self, mask, value):
        """Replace the numbers where `mask` is True by `value` (the mask broadcasts to this
        tensor's shape). Attention uses it to put -inf where a word may not look.

        >>> from tinygrad_attn import Tensor
        >>> Tensor([1.0, 2.0, 3.0]).masked_fill([False, True, False], -1.0).tolist()
        [1.0, -1.0, 3.0]
        """
        if not isinstance(value, (int, float)):
            raise TypeError(f"masked_fill: value must be a number, got {type(value).__name__}")
        m = mask if isinstance(mask, type(self)) else type(self)(mask)
        if broadcast_shape(m.shape, self.shape, "masked_fill") != self.shape:
            raise ValueError(
                f"masked_fill: mask of shape {m.shape} does not broadcast to the tensor's "
                f"shape {self.shape}"
            )
        n = len(self.data)
        filled = [v != 0.0 for v in _gather(m.data, broadcast_index(m.shape, self.shape), n)]
        value = ieee.as_float(value)
        out = [value if f else x for x, f in zip(self.data, filled)]

        def backward(g):
            # filled positions hold a constant now: no gradient; the rest pass it through
            return ([0.0 if f else gi for gi, f in zip(g, filled)],)

        return record(out, self.shape, "masked_fill", (self,), backward, saves="nothing")


def _negate_grad(g):
    return (list(map(neg, g)),)


# ---------------------------------------------------------------------- broadcasting


def _gather(data, index, n):
    """`data` read through an index list (None: as it is); a single number is repeated."""
    if index is None:
        return data
    if len(data) == 1:
        return data * n
    return list(map(data.__getitem__, index))


def _broadcast(a, b, op):
    """Both operands' numbers laid out in the broadcast shape, with the index lists used."""
    if a.shape == b.shape:
        return a.data, b.data, a.shape, None, None
    shape = broadcast_shape(a.shape, b.shape, op)
    n = check_size(shape, op)  # (10**4, 1) + (1, 10**4) would make 10**8 numbers
    ia, ib = broadcast_index(a.shape, shape), broadcast_index(b.shape, shape)
    return _gather(a.data, ia, n), _gather(b.data, ib, n), shape, ia, ib


def _sum_to(t, g, index, out_shape):
    """The gradient of a broadcast operand: add up the gradients of all the output positions
    that read the same input number."""
    if g is None or not t.requires_grad:
        return None
    if index is None:
        return g
    if len(t.data) == 1:
        return [sum(g)]
    size = tiled_size(t.shape, out_shape)
    if size:  # t repeats as a whole (a bias row): column sums with strided slices, in C
        return [sum(g[j::size]) for j in range(size)]
    grad = [0.0] * len(t.data)
    for i, gi in zip(index, g):
        grad[i] += gi
    return grad


# ---------------------------------------------------------------------- IEEE-754 arithmetic


def _div_lists(a, b):
    try:
        return list(map(truediv, a, b))
    except ZeroDivisionError:
        return list(map(ieee.div, a, b))


def _pow_lists(a, b):
    try:
        return list(map(math.pow, a, b))
    except (ValueError, OverflowError):
        return list(map(ieee.power, a, b))
