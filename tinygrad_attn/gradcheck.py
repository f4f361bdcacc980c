"""Gradient checking: is every derivative right?

`backward()` computes gradients with the chain rule. A gradient check computes the same
numbers a second, independent way, straight from the definition of a derivative:

    df/dx  ~  (f(x + eps) - f(x - eps)) / (2 * eps)        (a central difference)

It nudges one input number up and down by a tiny `eps`, runs the function again each time,
and watches how the output moves. If the two answers agree for every input number, the
backward pass is right; if one op's derivative is wrong, the check fails and its table shows
which number is off.

For an output with several numbers (a Tensor, or a list of Values) the check compares the
whole Jacobian: d(output j)/d(input i) for every pair, one backward pass per output number.

The check changes nothing: every input's numbers and gradients are restored afterwards.
"""

import math

from .autograd import no_grad
from .tensor import Tensor
from .value import Value

__all__ = ["gradcheck", "GradcheckResult"]


class GradcheckResult:
    """What `gradcheck` found: `.ok`, `.max_abs_err`, `.max_rel_err` and one row per
    (output number, input number) in `.rows`. `str(result)` is a readable table;
    `bool(result)` is `result.ok`, so `assert gradcheck(...)` works."""

    def __init__(self, rows, atol, rtol):
        self.rows = rows  # dicts: input, output, analytic, numeric, abs_err, rel_err, ok
        self.atol, self.rtol = atol, rtol
        self.ok = all(row["ok"] for row in rows)
        self.max_abs_err = max((row["abs_err"] for row in rows), default=0.0, key=_nan_last)
        self.max_rel_err = max((row["rel_err"] for row in rows), default=0.0, key=_nan_last)

    def __bool__(self):
        return self.ok

    def failures(self):
        """The rows that did not pass."""
        return [row for row in self.rows if not row["ok"]]

    def table(self, max_rows=None):
        """The comparison as a text table; with `max_rows`, failures are shown first."""
        rows = self.rows
        if max_rows is not None and len(rows) > max_rows:
            rows = (self.failures() + [r for r in rows if r["ok"]])[:max_rows]
        show_output = any(row["output"] for row in self.rows)
        header = ["input"] + (["output"] if show_output else [])
        header += ["analytic", "numeric", "abs err", "rel err", "check"]
        lines = []
        for row in rows:
            cells = [row["input"]] + ([row["output"]] if show_output else [])
            cells += [f"{row['analytic']:.6g}", f"{row['numeric']:.6g}"]
            cells += [f"{row['abs_err']:.1e}", f"{row['rel_err']:.1e}"]
            cells += ["ok" if row["ok"] else "FAIL"]
            lines.append(cells)
        widths = [max(len(str(c)) for c in column) for column in zip(header, *lines)]
        text = [
            "  ".join(h.ljust(w) for h, w in zip(header, widths)),
            "  ".join("-" * w for w in widths),
        ]
        text += ["  ".join(str(c).ljust(w) for c, w in zip(cells, widths)) for cells in lines]
        if len(rows) < len(self.rows):
            text.append(f"... {len(self.rows) - len(rows)} more rows (result.table() shows all)")
        return "\n".join(line.rstrip() for line in text)

    def __str__(self):
        verdict = "passed" if self.ok else f"FAILED ({len(self.failures())} of {len(self.rows)})"
        summary = (
            f"gradcheck {verdict}: max abs err {self.max_abs_err:.2e}, "
            f"max rel err {self.max_rel_err:.2e}; a row passes when "
            f"|analytic - numeric| <= {self.atol:g} + {self.rtol:g} * |numeric|"
        )
        return summary + "\n" + self.table(max_rows=20)

    def __repr__(self):
        return (
            f"GradcheckResult(ok={self.ok}, max_abs_err={self.max_abs_err:.3g}, "
            f"max_rel_err={self.max_rel_err:.3g}, rows={len(self.rows)})"
        )


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Check the gradients of `fn(*inputs)` against central differences.

    `inputs` is a Value or Tensor, or a list of them (other items, such as a list of target
    ids, are passed to `fn` unchanged and not checked). Every number of every input is nudged
    by +-eps. A (output, input) pair passes when
    `|analytic - numeric| <= atol + rtol * |numeric|`.

    >>> x = Value(0.5, label="x")
    >>> result = gradcheck(lambda x: x.tanh() * x, [x])
    >>> result.ok
    True
    >>> print(result.table())
    input  analytic  numeric   abs err  rel err  check
    -----  --------  --------  -------  -------  -----
    x      0.855341  0.855341  ...  ok

    A wrong gradient is caught: `Value(x.data)` is a constant, so backward misses half of
    d(x*x)/dx.

    >>> gradcheck(lambda x: x * Value(x.data), [x]).ok
    False
    """
    _check_arguments(fn, inputs, eps, atol, rtol)
    if isinstance(inputs, (Value, Tensor)):
        inputs = [inputs]
    inputs = list(inputs)
    slots = _input_slots(inputs)
    if not slots:
        raise ValueError(
            "gradcheck found nothing to check: pass Values, or Tensors with requires_grad=True"
        )
    saved = [(slot.get(), slot.get_grad()) for slot in slots]
    first = fn(*inputs)
    # backward() also fills the gradients of leaves that are not checked (a layer's weights
    # when only its input is checked): remember them too
    leaves = _leaf_gradients(first)
    try:
        outputs = _output_numbers(first)
        if isinstance(first, Tensor) and not first.requires_grad:
            raise RuntimeError(
                "gradcheck: fn's output does not require grad, so backward() cannot reach the "
                "inputs; compute it from the inputs, outside no_grad() and without .detach()"
            )
        analytic = _analytic_jacobian(fn, inputs, slots, len(outputs))
        numeric = _numeric_jacobian(fn, inputs, slots, eps)
    finally:  # leave everything as it was
        for leaf, grad in leaves:
            if isinstance(leaf, Tensor):
                leaf._grad = grad  # (the raw gradient, as backward() stores it)
            else:
                leaf.grad = grad
        for slot, (data, grad) in zip(slots, saved):
            slot.set(data)
            slot.set_grad(grad)

    rows = []
    for j in range(len(outputs)):
        for i, slot in enumerate(slots):
            a, n = analytic[j][i], numeric[j][i]
            abs_err = abs(a - n)
            scale = max(abs(a), abs(n))
            rel_err = abs_err / scale if scale > 0.0 else 0.0
            rows.append(
                {
                    "input": slot.name,
                    "output": f"out[{j}]" if len(outputs) > 1 else "",
                    "analytic": a,
                    "numeric": n,
                    "abs_err": abs_err,
                    "rel_err": rel_err,
                    "ok": abs_err <= atol + rtol * abs(n),  # False for nan
                }
            )
    return GradcheckResult(rows, atol, rtol)


def _check_arguments(fn, inputs, eps, atol, rtol):
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be a function, got {type(fn).__name__}")
    if not isinstance(inputs, (Value, Tensor)) and not hasattr(inputs, "__iter__"):
        raise TypeError(
            f"gradcheck: inputs must be a Value, a Tensor or a list of them, got "
            f"{type(inputs).__name__}"
        )
    for name, x in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError(f"gradcheck: {name} must be a number, got {type(x).__name__}")
        if not 0.0 <= x < math.inf:
            raise ValueError(f"gradcheck: {name} must be finite and >= 0, got {x}")
    if eps == 0.0:
        raise ValueError("gradcheck: eps is the step of the differences, it must be > 0 (1e-6)")


# ---------------------------------------------------------------------- the Jacobians


def _analytic_jacobian(fn, inputs, slots, n_outputs):
    """Row j: the gradient of output number j with respect to every input number, from one
    backward pass seeded at output j."""
    rows = []
    for j in range(n_outputs):
        for slot in slots:
            slot.set_grad(None)
        out = fn(*inputs)
        _backward_from_output(out, j)
        rows.append([slot.get_grad_number() for slot in slots])
    return rows


def _numeric_jacobian(fn, inputs, slots, eps):
    """Column i: how every output number moves when input number i moves by +-eps."""
    columns = []
    for slot in slots:
        x = slot.get()
        slot.set(x + eps)
        plus = _output_numbers(_forward_only(fn, inputs))
        slot.set(x - eps)
        minus = _output_numbers(_forward_only(fn, inputs))
        slot.set(x)
        columns.append([(p - m) / (2.0 * eps) for p, m in zip(plus, minus)])
    return [list(row) for row in zip(*columns)]  # transpose: rows are outputs


def _leaf_gradients(out):
    """[(leaf, its gradient now)] for every leaf of the graph that made `out`."""
    roots = list(out) if isinstance(out, (list, tuple)) else [out]
    leaves = {}
    for root in roots:
        if isinstance(root, (Value, Tensor)) and (isinstance(root, Value) or root.requires_grad):
            for node in root.topological_order():
                if not node.children:
                    leaves[id(node)] = (node, node.grad if isinstance(node, Value) else node._grad)
    return list(leaves.values())


def _backward_from_output(out, j):
    if isinstance(out, Value):
        out.backward()
    elif isinstance(out, (list, tuple)):
        out[j].backward()
    else:  # a Tensor: backward with a one-hot gradient picks output number j
        seed = [0.0] * len(out.data)
        seed[j] = 1.0
        out.backward(out._wrap(seed, out.shape))


def _forward_only(fn, inputs):
    with no_grad():  # the nudged runs need no graph
        return fn(*inputs)


def _output_numbers(out):
    """The output of fn as a flat list of floats."""
    if isinstance(out, Value):
        return [out.data]
    if isinstance(out, (list, tuple)) and out and all(isinstance(v, Value) for v in out):
        return [v.data for v in out]
    if isinstance(out, Tensor):
        return list(out.data)
    raise TypeError(
        f"gradcheck: fn must return a Value, a list of Values or a Tensor, got {type(out).__name__}"
    )


# ---------------------------------------------------------------------- input numbers


class _Slot:
    """One input number: how to read and write it and its gradient."""

    __slots__ = ("name", "get", "set", "get_grad", "set_grad", "get_grad_number")


def _input_slots(inputs):
    slots = []
    for k, x in enumerate(inputs):
        if isinstance(x, Value):
            slots.append(_value_slot(x, x.label or f"input{k}"))
        elif isinstance(x, Tensor) and x.requires_grad:
            name = x.label or f"input{k}"
            for index in range(len(x.data)):
                slots.append(_tensor_slot(x, index, f"{name}[{_unravel(index, x.shape)}]"))
    return slots


def _value_slot(v, name):
    slot = _Slot()
    slot.name = name
    slot.get = lambda: v.data
    slot.set = lambda number: setattr(v, "data", number)
    slot.get_grad = lambda: v.grad
    slot.set_grad = lambda g: setattr(v, "grad", 0.0 if g is None else g)
    slot.get_grad_number = lambda: v.grad
    return slot


def _tensor_slot(t, index, name):
    slot = _Slot()
    slot.name = name
    slot.get = lambda: t.data[index]
    # The nudges are put back exactly afterwards, so they are not counted as changes of the
    # tensor's version (a graph built before the check can still run backward()).
    slot.set = lambda number: list.__setitem__(t.data, index, number)
    slot.get_grad = lambda: t.grad
    slot.set_grad = lambda g: setattr(t, "grad", g)
    slot.get_grad_number = lambda: 0.0 if t.grad is None else t.grad.data[index]
    return slot


def _unravel(index, shape):
    """Flat index -> '1, 2' (row-major)."""
    parts = []
    for size in reversed(shape):
        parts.append(index % size)
        index //= size
    return ", ".join(str(p) for p in reversed(parts))


def _nan_last(x):
    return math.inf if x != x else x
