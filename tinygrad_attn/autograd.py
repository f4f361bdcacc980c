"""How gradients flow through tensors: recording ops, then walking the graph backwards.

Every tensor op ends with `record(...)`: the output's numbers and shape, the op's name, the
tensors that went in (its children) and a `backward` function that turns the output's
gradient into one gradient per child. `backward(root)` then visits the graph from the root
to the leaves and applies each of those functions: the chain rule, one op at a time, exactly
as `Value.backward()` does it one number at a time.

The switches below change what `record` does:

* `no_grad()`: record nothing (evaluation, optimizer updates);
* `scope(label)`: remember which module call made each op, for graph pictures;
* `detect_anomaly()`: stop at the first op that produces nan, naming it and where it was made.
"""

import itertools
from operator import add, attrgetter

from . import value
from .value import _user_site, anomaly_advice

__all__ = ["no_grad", "scope", "detect_anomaly", "record", "backward", "topological_order"]


class _state:
    """Engine-wide switches, changed only by the context managers below."""

    grad_enabled = True  # False inside no_grad(): ops record no graph
    scope = ()  # the module calls we are inside, for graph pictures: ((id, label), ...)
    anomaly = False  # True inside detect_anomaly()


_creation_counter = itertools.count()  # every tensor gets the next number when it is made


class no_grad:
    """Inside `with no_grad():` ops record no graph: faster, for evaluation and updates.

    >>> from tinygrad_attn import Tensor
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self):
        self._saved = _state.grad_enabled
        _state.grad_enabled = False
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self._saved


class scope:
    """Group the ops made inside into a labelled box in graph pictures. `Module` calls open
    one automatically; multi-head attention opens one per head.

    >>> from tinygrad_attn import Tensor
    >>> with scope("my block"):
    ...     y = Tensor([1.0], requires_grad=True) * 2
    >>> [label for _, label in y.scope]
    ['my block']
    """

    _counter = itertools.count()

    def __init__(self, label):
        if not isinstance(label, str):
            raise TypeError(f"scope: label must be a str, got {type(label).__name__}")
        self.label = label

    def __enter__(self):
        self._saved = _state.scope
        _state.scope = self._saved + ((next(scope._counter), self.label),)
        return self

    def __exit__(self, *exc):
        _state.scope = self._saved


class detect_anomaly:
    """Inside `with detect_anomaly():` an op whose forward or backward pass produces nan
    raises a RuntimeError naming the op, its input shapes, and the file and line that
    created it. Run both the forward pass and `backward()` inside it. It works for Tensors
    and for Values (for a Value the message gives its input values instead of shapes).
    A backward pass that stops this way leaves every `.grad` as it was.

    >>> from tinygrad_attn import Tensor
    >>> with detect_anomaly():
    ...     x = Tensor([-1.0, 4.0], requires_grad=True)
    ...     y = x.log()
    Traceback (most recent call last):
    ...
    RuntimeError: detect_anomaly: 'log' produced nan in its forward pass; input shapes (2,); ...
    """

    def __enter__(self):
        self._saved = _state.anomaly
        _state.anomaly = True
        value.set_anomaly_checks(True)
        return self

    def __exit__(self, *exc):
        _state.anomaly = self._saved
        value.set_anomaly_checks(self._saved)


# ---------------------------------------------------------------------- recording an op


def init_tensor(t, data, shape, label=""):
    """Set every field of a new tensor object: a leaf, until `record` says otherwise."""
    t.data = data
    t.shape = shape
    t._grad = None
    t.requires_grad = False
    t.label = label
    t.op = ""
    t.children = ()
    t._backward = None
    t.scope = _state.scope
    t._order = next(_creation_counter)
    return t  # (t._site is set only inside detect_anomaly())


def record(data, shape, op, children, backward):
    """The output of an op. It keeps its children and its backward function only when some
    child requires grad (and not inside no_grad()): otherwise there is nothing to learn."""
    cls = type(children[0])
    out = cls.__new__(cls)  # the fields of init_tensor, set here directly: this runs per op
    out.data = data
    out.shape = shape
    out._grad = None
    out.label = ""
    out.op = op
    out.scope = _state.scope
    out._order = next(_creation_counter)
    out.requires_grad = False
    out.children = ()
    out._backward = None
    if _state.grad_enabled:
        for child in children:
            if child.requires_grad:
                out.requires_grad = True
                out.children = children
                out._backward = backward
                break
    if _state.anomaly:
        out._site = _user_site()
        out.children = children
        if _has_nan(data):
            _anomaly_error(out, "forward")
    return out


# ---------------------------------------------------------------------- walking it backwards


def topological_order(root):
    """`root` and every tensor it depends on that requires grad, each after its children.

    A tensor is always made after the tensors it is computed from, so the order in which
    tensors were created is already a valid order: collect the graph, sort by creation.
    (No recursion: a 100,000-op chain works.)
    """
    seen, stack = {root}, [root]
    while stack:
        for child in stack.pop().children:
            if child.requires_grad and child not in seen:
                seen.add(child)
                stack.append(child)
    return sorted(seen, key=_creation_order)


_creation_order = attrgetter("_order")


def backward(root, seed):
    """Apply the chain rule from `root` (whose gradient is the flat list `seed`) back to the
    leaves, adding each tensor's gradient into its `.grad`."""
    check_nan = _state.anomaly
    if check_nan and _has_nan(seed):
        raise RuntimeError(
            f"detect_anomaly: the gradient given to backward() holds nan (output shape "
            f"{root.shape}); pass a gradient of finite numbers"
        )
    grads = {root: seed}  # this call's gradient of each tensor, built up as we go
    done = []  # (tensor, its gradient from this call), stored in .grad once the walk is over
    for node in reversed(topological_order(root)):  # each node after all nodes that use it
        g = grads.pop(node, None)
        if g is None:
            continue
        done.append((node, g))
        if node._backward is None:
            continue  # a leaf: nothing further back
        for child, child_grad in zip(node.children, node._backward(g)):
            if child_grad is None or not child.requires_grad:
                continue
            if check_nan and _has_nan(child_grad):
                _anomaly_error(node, "backward")  # nothing has been stored in .grad yet
            before = grads.get(child)
            grads[child] = child_grad if before is None else _add(before, child_grad)
    # Gradients accumulate across calls, as in PyTorch. The plain list is stored; the `.grad`
    # property wraps it in a Tensor when someone looks. Gradient lists are never changed in
    # place, so several tensors may share one.
    for node, g in done:
        before = node._grad
        if before is None:
            node._grad = g
        else:
            node._grad = _add(before if type(before) is list else before.data, g)


def _add(a, b):
    return list(map(add, a, b))  # a + b, number by number (map runs the loop in C)


# ---------------------------------------------------------------------- anomalies


def _has_nan(data):
    return any(x != x for x in data)


def _anomaly_error(node, phase):
    inputs = ", ".join(str(c.shape) for c in node.children) or "none"
    nan_inputs = phase == "forward" and any(_has_nan(c.data) for c in node.children)
    raise RuntimeError(
        f"detect_anomaly: {node.op!r} produced nan in its {phase} pass; input shapes {inputs}; "
        + anomaly_advice(getattr(node, "_site", None), phase, nan_inputs)
    )
