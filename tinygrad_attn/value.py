"""Scalar autograd: one number, its gradient, and the chain rule.

A `Value` is one number in a computation. Every Value made by an operation remembers how it
was made: its children, the one or two Values that went in, and its local derivatives, how
much the result moves when each child moves a little. For `c = a * b` the children are
(a, b) and the local derivatives are (b, a), because d(a*b)/da = b and d(a*b)/db = a:

    _from_op(a.data * b.data, "*", (a, b), (b.data, a.data))

`backward()` then visits the graph from the output back to the inputs and applies the chain
rule at every node, in one line:

    child.grad += local_derivative * node.grad

That line is all of backpropagation. The rest of this file is the list of operations, each
written as its value with its local derivatives beside it. The order in which `backward()`
visits the nodes comes from order.py, which the tensor engine uses too.

Numbers follow IEEE-754 like PyTorch (ieee.py): exp overflows to inf, log(0) is -inf and
x / 0 is inf or nan. Inside `with detect_anomaly():` the first nan stops the program where
it was made (anomaly.py).
"""

import math
from operator import attrgetter

from . import anomaly, ieee
from .order import topological_order

__all__ = ["Value"]


class Value:
    """One number in a computation graph, plus the gradient of the final output with respect
    to it.

    >>> a = Value(2.0, label="a")
    >>> b = Value(-3.0, label="b")
    >>> c = a * b + a              # c = ab + a
    >>> c.data
    -4.0
    >>> c.backward()
    >>> a.grad, b.grad             # dc/da = b + 1, dc/db = a
    (-2.0, 2.0)
    >>> x = Value(0.0)
    >>> [f(x).data for f in (Value.exp, Value.tanh, Value.relu, Value.sigmoid)]
    [1.0, 0.0, 0.0, 0.5]
    """

    # The children (a, b) and their local derivatives (da, db) are kept in four slots, not
    # two tuples: a node then takes a fifth of a micrograd node's memory (docs/06).
    __slots__ = ("data", "grad", "label", "op", "_a", "_b", "_da", "_db", "_site")

    def __init__(self, data, label=""):
        if type(data) is not float or type(label) is not str:
            data = _checked(data, label)
        self.data, self.grad, self.label = data, 0.0, label
        self.op = ""  # "" marks a leaf: a number the user made, not an operation's result
        self._a = self._b = None  # no children
        self._da = self._db = 0.0

    @property
    def children(self):
        """The Values this one was computed from: () for a leaf, (a,) or (a, b) for an op.
        The same Value appears twice when it is used twice, as in `a * a`."""
        return () if self._a is None else (self._a,) if self._b is None else (self._a, self._b)

    @property
    def local_grads(self):
        """d(self)/d(child) for each child, in the same order as `children`."""
        return () if self._a is None else (self._da,) if self._b is None else (self._da, self._db)

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    # ------------------------------------------------------------------ arithmetic

    def __add__(self, other):
        other = other if type(other) is Value else _as_value(other, "+")
        # d(a+b)/da = 1, d(a+b)/db = 1
        return _from_op(self.data + other.data, "+", (self, other), (1.0, 1.0))

    def __sub__(self, other):
        other = other if type(other) is Value else _as_value(other, "-")
        # d(a-b)/da = 1, d(a-b)/db = -1
        return _from_op(self.data - other.data, "-", (self, other), (1.0, -1.0))

    def __mul__(self, other):
        other = other if type(other) is Value else _as_value(other, "*")
        # d(a*b)/da = b, d(a*b)/db = a
        return _from_op(self.data * other.data, "*", (self, other), (other.data, self.data))

    def __truediv__(self, other):
        other = other if type(other) is Value else _as_value(other, "/")
        a, b = self.data, other.data
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        grads = (ieee.div(1.0, b), ieee.div(-a, b * b))
        return _from_op(ieee.div(a, b), "/", (self, other), grads)

    def __pow__(self, other):
        if isinstance(other, (int, float)):  # a ** n for a plain number n
            n = ieee.as_float(other)
            out, da, _ = ieee.power_rule(self.data, n)  # d(a^n)/da = n * a^(n-1)
            return _from_op(out, f"**{n:g}", (self,), (da,))
        if isinstance(other, Value):  # d(a^b)/da = b * a^(b-1), d(a^b)/db = a^b * ln(a)
            out, da, db = ieee.power_rule(self.data, other.data)
            return _from_op(out, "**", (self, other), (da, db))
        raise TypeError(
            f"unsupported exponent type {type(other).__name__} ({other!r}); "
            "Value ** accepts an int, a float or a Value"
        )

    def __neg__(self):
        return _from_op(-self.data, "neg", (self,), (-1.0,))  # d(-a)/da = -1

    def __radd__(self, other):  # number + Value
        return _as_value(other, "+") + self

    def __rsub__(self, other):  # number - Value
        return _as_value(other, "-") - self

    def __rmul__(self, other):  # number * Value
        return _as_value(other, "*") * self

    def __rtruediv__(self, other):  # number / Value
        return _as_value(other, "/") / self

    def __rpow__(self, other):  # number ** Value
        return _as_value(other, "**") ** self

    # ------------------------------------------------------------------ functions

    def exp(self):
        """e to the power of this number (overflow gives inf)."""
        out = ieee.exp(self.data)
        return _from_op(out, "exp", (self,), (out,))  # d(e^a)/da = e^a, the result

    def log(self):
        """The natural logarithm (log(0) is -inf, a negative number gives nan)."""
        a = self.data
        return _from_op(ieee.log(a), "log", (self,), (ieee.div(1.0, a),))  # d/da = 1/a

    def tanh(self):
        """The hyperbolic tangent: squashes any number into (-1, 1)."""
        t = math.tanh(self.data)
        return _from_op(t, "tanh", (self,), (1.0 - t * t,))  # d(tanh a)/da = 1 - tanh^2

    def relu(self):
        """The number itself if it is positive, else 0."""
        # d/da = 0 where a <= 0 (also at exactly 0), else 1. Written so that nan stays nan
        # and passes its gradient on, as in PyTorch.
        off = self.data <= 0.0
        return _from_op(0.0 if off else self.data, "relu", (self,), (0.0 if off else 1.0,))

    def sigmoid(self):
        """1 / (1 + e^-x): squashes any number into (0, 1)."""
        s = ieee.sigmoid(self.data)
        return _from_op(s, "sigmoid", (self,), (s * (1.0 - s),))  # d/da = s (1 - s)

    # ------------------------------------------------------------------ backpropagation

    def backward(self):
        """Fill `.grad` of every Value this one depends on with d(self)/d(that Value): seed
        d(self)/d(self) = 1 and apply the chain rule from here back to the leaves.
        Gradients *accumulate*, as in PyTorch: calling it twice gives twice the gradient;
        reset with `v.grad = 0.0` (or an optimizer's `zero_grad()`) between steps. Inside
        `detect_anomaly()` a nan gradient stops it with a RuntimeError naming the op, and
        every `.grad` is left as it was.

        >>> x = Value(3.0)
        >>> y = x * x
        >>> y.backward(); x.grad      # dy/dx = 2x
        6.0
        >>> y.backward(); x.grad      # a second call adds the same amount again
        12.0
        """
        topo = topological_order(self, _children)
        # Only this call's gradient may flow on from a node: one that still holds a gradient
        # from an earlier call (usually none does) starts from 0 and gets it back at the end.
        held = [(v, v.grad) for v in topo if v.grad]
        for v, _ in held:
            v.grad = 0.0
        self.grad = 1.0
        for v in reversed(topo):  # every node after all the nodes that use it
            if v._a is not None:
                v._a.grad += v._da * v.grad  # the chain rule
                if v._b is not None:
                    v._b.grad += v._db * v.grad
        if anomaly.watching and anomaly.here():
            anomaly.check_value_backward(topo, held)
        for v, grad in held:
            v.grad += grad

    def topological_order(self):
        """Every Value this one depends on (itself included), each after its children."""
        return topological_order(self, _children)


def _from_op(data, op, children, local_grads):
    """The result of an operation: its value, its op, the Values it was computed from and
    the local derivative d(result)/d(child) of each, in the same order."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out.label = ""
    out.op = op
    if len(children) == 2:
        out._a, out._b = children
        out._da, out._db = local_grads
    else:  # one child, no second
        out._a, out._da = children[0], local_grads[0]
        out._b, out._db = None, 0.0
    if anomaly.watching and anomaly.here():  # inside detect_anomaly() only
        anomaly.check_value(out)
    return out


_new = object.__new__
_children = attrgetter("_b", "_a")  # a Value's children, in the order they are visited


def _as_value(x, op):
    """Numbers on either side of an op become constant leaf Values (they show in graphs)."""
    if isinstance(x, Value):
        return x
    if isinstance(x, (int, float)):
        return Value(x)
    raise TypeError(
        f"unsupported operand for {op}: Value and {type(x).__name__} ({x!r}); "
        "use a Value, an int or a float"
    )


def _checked(data, label):
    """Value()'s number as a float (an int too big for one is +-inf), after the checks."""
    if isinstance(data, Value):
        raise TypeError(
            f"Value() needs a plain number, got a Value ({data!r}); "
            "use it directly, or Value(v.data) for a new leaf with the same number"
        )
    if not isinstance(data, (int, float)):
        raise TypeError(
            f"Value() needs an int or float, got {type(data).__name__} ({data!r}); "
            "convert it first, e.g. Value(float(x))"
        )
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {type(label).__name__}")
    return ieee.as_float(data)
