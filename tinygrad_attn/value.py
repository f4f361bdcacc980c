"""Scalar autograd: one number, its gradient, and the chain rule.

A `Value` is one number in a computation. Every Value made by an operation remembers two
things about how it was made:

* its children: the one or two Values that went in, and
* its local derivatives: how much the result moves when each child moves a little.

For `c = a * b` the children are `(a, b)` and the local derivatives are `(b, a)`, because
d(a*b)/da = b and d(a*b)/db = a. Those numbers are stored right next to `c.data`.

`backward()` then walks the graph from the output back to the inputs and applies the chain
rule at every node, in one line:

    child.grad += local_derivative * node.grad

That line is all of backpropagation. The rest of this file is the list of operations, each
written as its forward value with its local derivatives beside it.

Numbers follow IEEE-754 like PyTorch: `exp` overflows to inf, `log(0)` is -inf and `x / 0` is
inf or nan. No Python OverflowError or ZeroDivisionError escapes an operation.

Inside `with tinygrad_attn.detect_anomaly():` every op also remembers the file and line that
made it, and the first nan, forward or backward, stops the program there (see the end of
this file).
"""

import math
import sys
import threading

__all__ = ["Value"]

_INF = math.inf
_NAN = math.nan


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
    """

    # Every operation in this file has one or two inputs, so a node keeps its children (a, b)
    # and their local derivatives (da, db) in four slots: no list, no set, no closure per
    # node. With __slots__ (no per-object dict) a node costs about a quarter of the memory of
    # a micrograd node (see benchmarks/). `_site` is filled only inside detect_anomaly().
    __slots__ = ("data", "grad", "label", "op", "_a", "_b", "_da", "_db", "_site")

    def __init__(self, data, label=""):
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
        try:
            self.data = float(data)
        except OverflowError:  # an int too big for a float: +-inf, as IEEE-754 rounds it
            self.data = _INF if data > 0 else -_INF
        self.grad = 0.0
        self.label = label
        self.op = ""  # "" marks a leaf: a number the user made, not an operation's result
        self._a = self._b = None  # children (none for a leaf)
        self._da = self._db = 0.0  # local derivatives d(self)/d(child)

    @classmethod
    def _from_op(cls, data, op, a, da, b=None, db=0.0):
        """The result of an operation: its value, its op name, and for each child the local
        derivative d(result)/d(child)."""
        out = cls.__new__(cls)
        out.data = data
        out.grad = 0.0
        out.label = ""
        out.op = op
        out._a, out._da = a, da
        out._b, out._db = b, db
        if _checking and _thread.checking:  # inside detect_anomaly() only
            _check_forward(out)
        return out

    # ------------------------------------------------------------------ the graph structure

    @property
    def children(self):
        """The Values this one was computed from: () for a leaf, (a,) or (a, b) for an op.
        The same Value appears twice when it is used twice, as in `a * a`."""
        if self._a is None:
            return ()
        if self._b is None:
            return (self._a,)
        return (self._a, self._b)

    @property
    def local_grads(self):
        """d(self)/d(child) for each child, in the same order as `children`."""
        if self._a is None:
            return ()
        if self._b is None:
            return (self._da,)
        return (self._da, self._db)

    def __repr__(self):
        label = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{label})"

    # ------------------------------------------------------------------ arithmetic

    def __add__(self, other):
        other = _as_value(other, "+")
        # d(a+b)/da = 1, d(a+b)/db = 1
        return Value._from_op(self.data + other.data, "+", self, 1.0, other, 1.0)

    def __radd__(self, other):  # number + Value
        return _as_value(other, "+") + self

    def __sub__(self, other):
        other = _as_value(other, "-")
        # d(a-b)/da = 1, d(a-b)/db = -1
        return Value._from_op(self.data - other.data, "-", self, 1.0, other, -1.0)

    def __rsub__(self, other):  # number - Value
        return _as_value(other, "-") - self

    def __mul__(self, other):
        other = _as_value(other, "*")
        # d(a*b)/da = b, d(a*b)/db = a
        return Value._from_op(self.data * other.data, "*", self, other.data, other, self.data)

    def __rmul__(self, other):  # number * Value
        return _as_value(other, "*") * self

    def __truediv__(self, other):
        other = _as_value(other, "/")
        a, b = self.data, other.data
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        return Value._from_op(_div(a, b), "/", self, _div(1.0, b), other, _div(-a, b * b))

    def __rtruediv__(self, other):  # number / Value
        return _as_value(other, "/") / self

    def __neg__(self):
        # d(-a)/da = -1
        return Value._from_op(-self.data, "neg", self, -1.0)

    def __pow__(self, other):
        if isinstance(other, (int, float)):
            # a ** n for a plain number n:  d(a^n)/da = n * a^(n-1)
            n = _float(other)
            a = self.data
            da = n * _pow(a, n - 1.0) if n != 0.0 else 0.0  # x^0 = 1 is flat, even at x = 0
            return Value._from_op(_pow(a, n), f"**{n:g}", self, da)
        if isinstance(other, Value):
            # a ** b for two Values: d(a^b)/da = b * a^(b-1), d(a^b)/db = a^b * ln(a)
            a, b = self.data, other.data
            out = _pow(a, b)
            # At a = 0 with b >= 0 the ln(a) factor is -inf but a^b is 0 (or 1 at b = 0);
            # like PyTorch, take the limit, 0, instead of 0 * -inf = nan.
            db = 0.0 if (a == 0.0 and b >= 0.0) else out * _log(a)
            da = b * _pow(a, b - 1.0) if b != 0.0 else 0.0  # a^0 = 1 is flat in a
            return Value._from_op(out, "**", self, da, other, db)
        raise TypeError(
            f"unsupported exponent type {type(other).__name__} ({other!r}); "
            "Value ** accepts an int, a float or a Value"
        )

    def __rpow__(self, other):  # number ** Value
        return _as_value(other, "**") ** self

    # ------------------------------------------------------------------ functions

    def exp(self):
        """e to the power of this number.

        >>> Value(0.0).exp().data
        1.0
        """
        out = _exp(self.data)
        # d(e^a)/da = e^a, the result itself
        return Value._from_op(out, "exp", self, out)

    def log(self):
        """The natural logarithm (log(0) is -inf, a negative number gives nan).

        >>> Value(1.0).log().data
        0.0
        """
        a = self.data
        # d(ln a)/da = 1/a
        return Value._from_op(_log(a), "log", self, _div(1.0, a))

    def tanh(self):
        """The hyperbolic tangent: squashes any number into (-1, 1).

        >>> Value(0.0).tanh().data
        0.0
        """
        t = math.tanh(self.data)
        # d(tanh a)/da = 1 - tanh(a)^2
        return Value._from_op(t, "tanh", self, 1.0 - t * t)

    def relu(self):
        """The number itself if it is positive, else 0.

        >>> Value(-2.0).relu().data, Value(3.0).relu().data
        (0.0, 3.0)
        """
        a = self.data
        # relu(a) = max(a, 0);  d/da = 0 where a <= 0 (also at exactly 0), else 1.
        # Written so that nan stays nan and passes its gradient on, as in PyTorch.
        return Value._from_op(0.0 if a <= 0.0 else a, "relu", self, 0.0 if a <= 0.0 else 1.0)

    def sigmoid(self):
        """1 / (1 + e^-x): squashes any number into (0, 1).

        >>> Value(0.0).sigmoid().data
        0.5
        """
        s = _sigmoid(self.data)
        # d(sigmoid a)/da = sigmoid(a) * (1 - sigmoid(a))
        return Value._from_op(s, "sigmoid", self, s * (1.0 - s))

    # ------------------------------------------------------------------ backpropagation

    def backward(self):
        """Fill `.grad` of every Value this one depends on with d(self)/d(that Value).

        Seeds `self.grad` with 1 (d(self)/d(self) = 1) and applies the chain rule from here
        back to the leaves. Gradients *accumulate*: they are added to whatever `.grad`
        already holds, so calling `backward()` twice gives twice the gradient, as in PyTorch.
        Reset with `v.grad = 0.0` (or an optimizer's `zero_grad()`) between steps.
        Inside `detect_anomaly()` a nan gradient stops it with a RuntimeError naming the op,
        and every `.grad` is left as it was.

        >>> x = Value(3.0)
        >>> y = x * x
        >>> y.backward(); x.grad      # dy/dx = 2x
        6.0
        >>> y.backward(); x.grad      # a second call adds the same amount again
        12.0
        """
        topo = self.topological_order()
        # This call's gradients start from zero; what was already in .grad is added back at
        # the end. Without this, a node's old gradient would flow down a second time.
        previous = [v.grad for v in topo]
        for v in topo:
            v.grad = 0.0
        self.grad = 1.0
        # Visit every node after all the nodes that use it (reverse topological order), so
        # its gradient is complete before it is passed on to its children.
        for v in reversed(topo):
            if v._a is not None:
                v._a.grad += v._da * v.grad  # the chain rule
                if v._b is not None:
                    v._b.grad += v._db * v.grad
        if _checking and _thread.checking:  # inside detect_anomaly() only
            _check_backward(topo, previous)
        for v, old in zip(topo, previous):
            v.grad += old

    def topological_order(self):
        """Every Value this one depends on (itself included), each listed after its children.

        Uses an explicit stack instead of recursion, so a graph a million nodes deep works.

        >>> a = Value(1.0, label="a")
        >>> b = a + 1
        >>> [v.label or v.op or v.data for v in (b * a).topological_order()]
        ['a', 1.0, '+', '*']
        """
        topo, visited = [], set()
        stack = [(self, False)]
        while stack:
            node, children_done = stack.pop()
            if children_done:
                topo.append(node)  # all its children are already in topo
            elif node not in visited:
                visited.add(node)
                stack.append((node, True))  # come back to it after its children
                for child in (node._b, node._a):
                    if child is not None and child not in visited:
                        stack.append((child, False))
        return topo


# ---------------------------------------------------------------------- helpers


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


def _float(x):
    """float(x), with an int too big for a float giving +-inf (IEEE-754 rounding) instead of
    OverflowError."""
    try:
        return float(x)
    except OverflowError:
        return _INF if x > 0 else -_INF


def _exp(x):
    """e**x, with overflow giving inf instead of OverflowError."""
    try:
        return math.exp(x)
    except OverflowError:
        return _INF


def _log(x):
    """ln(x) as in IEEE-754: log(0) = -inf, log of a negative number = nan."""
    if x > 0.0:
        return math.log(x)
    if x == 0.0:
        return -_INF
    return _NAN  # negative or nan


def _div(a, b):
    """a / b as in IEEE-754: x/0 = +-inf, 0/0 = nan."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)


def _pow(a, n):
    """a ** n as in C's pow(): overflow gives +-inf, 0 ** negative gives inf, a negative base
    with a fractional exponent gives nan (not a complex number)."""
    try:
        return math.pow(a, n)
    except OverflowError:
        negative = a < 0.0 and n == int(n) and int(n) % 2 == 1
        return -_INF if negative else _INF
    except ValueError:
        if a == 0.0:  # 0 ** negative: a pole
            odd = n == int(n) and int(n) % 2 == 1
            return math.copysign(_INF, a) if odd else _INF
        return _NAN  # negative base, fractional exponent


def _sigmoid(x):
    """1 / (1 + e^-x), computed so that neither branch overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = _exp(x)  # x < 0 (or nan): e^x is at most 1
    return e / (1.0 + e)


# ---------------------------------------------------------------------- detect_anomaly()
#
# `with tinygrad_attn.detect_anomaly():` (autograd.py) switches the checks on for the thread
# that runs it. Then every op made in that thread remembers the file and line that made it
# (in the node's `_site`, so it goes when the node goes) and stops at a nan result, and
# backward() stops at the first op whose local derivative turns a gradient into nan
# (0 * inf). Outside it the only cost is one test of a module flag per op: `_checking`
# counts the threads inside detect_anomaly() and is 0 nearly always (within the noise of
# the benchmarks).


class _ThreadChecks(threading.local):
    checking = False  # this thread is inside detect_anomaly()


_thread = _ThreadChecks()
_checking = 0  # how many threads are inside detect_anomaly() now
_checking_lock = threading.Lock()
_PACKAGE_DIR = __file__.replace("\\", "/").rsplit("/", 1)[0] + "/"


def set_anomaly_checks(on):
    """Switch the checks of `detect_anomaly()` on or off for Values made in this thread."""
    global _checking
    on = bool(on)
    with _checking_lock:
        if _thread.checking != on:
            _thread.checking = on
            _checking += 1 if on else -1


def _user_site():
    """(file, line) of the first caller outside this package: where the user made the op."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.replace("\\", "/").startswith(
        _PACKAGE_DIR
    ):
        frame = frame.f_back
    return None if frame is None else (frame.f_code.co_filename, frame.f_lineno)


def _check_forward(out):
    out._site = _user_site()
    if out.data != out.data:
        _anomaly_error(out, "forward")


def _check_backward(topo, previous):
    """Find the op nearest the output whose backward pass turned a gradient into nan, put
    every .grad back as it was, and name that op."""
    for v in reversed(topo):
        if v._a is None or math.isnan(v.grad):
            continue
        nan_a = math.isnan(v._da * v.grad)
        nan_b = v._b is not None and math.isnan(v._db * v.grad)
        if nan_a or nan_b:
            for node, old in zip(topo, previous):
                node.grad = old
            _anomaly_error(v, "backward")


def _anomaly_error(node, phase):
    inputs = ", ".join(f"{child.data:.6g}" for child in node.children)
    site = getattr(node, "_site", None)
    nan_inputs = phase == "forward" and any(child.data != child.data for child in node.children)
    raise RuntimeError(
        f"detect_anomaly: {node.op!r} produced nan in its {phase} pass; input values {inputs}; "
        + anomaly_advice(site, phase, nan_inputs)
    )


def anomaly_advice(site, phase, nan_inputs):
    """The end of every detect_anomaly() message (both engines): where the op was made, and
    what usually causes the nan."""
    where = f"{site[0]}:{site[1]}" if site else "an unknown place (made outside detect_anomaly)"
    if nan_inputs:
        advice = "its inputs already held nan: look where they were made"
    elif phase == "forward":
        advice = "log, sqrt or ** of a negative number, 0/0, 0 * inf and inf - inf give nan"
    else:
        advice = (
            "a gradient met an infinite local derivative (0 * inf = nan), e.g. from sqrt, log, "
            "/ or ** at 0 at or after this op: keep their inputs away from 0, e.g. "
            "sqrt(x + 1e-12) instead of sqrt(x)"
        )
    return f"the op was created at {where}. Cause: {advice}"
