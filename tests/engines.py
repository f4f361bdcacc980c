"""Two engines, one answer: run one computation on Values and on Tensors and compare.

The scalar engine (`Value`) makes one graph node per number; the tensor engine makes one node
per array and has fused, vectorised ops. If both give the same outputs and the same gradient
for every input number, the tensor engine's backward functions agree with the chain rule
applied one number at a time.

The scalar side is written with the helpers below, whose bodies are the formulas: a matrix
product is rows dotted with columns, softmax is exp over the sum of exps.

    >>> from tinygrad_attn import Value
    >>> report = assert_engines_agree(
    ...     scalar_fn=lambda a, b: matmul(a, b),
    ...     tensor_fn=lambda a, b: a @ b,
    ...     inputs={"a": [[1.0, 2.0]], "b": [[3.0], [4.0]]},
    ... )
    >>> report.outputs, report.gradients
    (1, 4)
"""

import math

from tinygrad_attn import Tensor, Value

__all__ = [
    "assert_engines_agree",
    "values",
    "matmul",
    "transpose",
    "softmax",
    "causal_softmax",
    "layer_norm",
    "variance",
    "absolute",
    "clamp",
    "smallest",
    "flatten",
]

# ---------------------------------------------------------------------- the scalar side


def values(nested, label):
    """Nested lists of numbers -> the same nesting of Values labelled "x[0, 1]"."""

    def build(item, index):
        if isinstance(item, (list, tuple)):
            return [build(x, index + (i,)) for i, x in enumerate(item)]
        return Value(float(item), label=f"{label}[{', '.join(map(str, index))}]")

    return build(nested, ())


def flatten(nested):
    """Nested lists -> one flat list, row by row (a single item -> a list of one)."""
    if not isinstance(nested, (list, tuple)):
        return [nested]
    return [x for item in nested for x in flatten(item)]


def transpose(a):
    """Rows become columns: out[j][i] = a[i][j]."""
    return [list(column) for column in zip(*a)]


def matmul(a, b):
    """C[i][j] = row i of a dotted with column j of b."""
    columns = transpose(b)
    return [[_dot(row, col) for col in columns] for row in a]


def _dot(u, v):
    total = u[0] * v[0]
    for x, y in zip(u[1:], v[1:]):
        total = total + x * y
    return total


def softmax(row):
    """exp(x_i - max) / sum_j exp(x_j - max): the max is a plain number (a constant)."""
    top = max(v.data for v in row)
    exps = [(v - top).exp() for v in row]
    total = _sum(exps)
    return [e / total for e in exps]


def causal_softmax(scores):
    """Softmax of row i over positions j <= i only; later positions get exactly 0."""
    out = []
    for i, row in enumerate(scores):
        allowed = softmax(row[: i + 1])
        out.append(allowed + [Value(0.0) for _ in row[i + 1 :]])
    return out


def layer_norm(row, eps=1e-5):
    """(x - mean) / sqrt(var + eps), with the biased variance (divide by n)."""
    n = len(row)
    mean = _sum(row) / n
    centered = [x - mean for x in row]
    var = _sum([c * c for c in centered]) / n
    return [c / (var + eps) ** 0.5 for c in centered]


def variance(row, correction=1):
    """sum((x - mean)^2) / (n - correction)."""
    n = len(row)
    mean = _sum(row) / n
    return _sum([(x - mean) * (x - mean) for x in row]) / (n - correction)


def absolute(v):
    """|v| = relu(v) + relu(-v): slope 1 or -1, and 0 at exactly 0 (both relus are flat)."""
    return v.relu() + (-v).relu()


def clamp(v, low, high):
    """v itself inside [low, high] (the bounds included); a constant bound outside it."""
    if v.data < low:
        return Value(low)
    if v.data > high:
        return Value(high)
    return v


def smallest(row):
    """The first Value holding the smallest number: its gradient goes there alone."""
    best = row[0]
    for v in row[1:]:
        if v.data < best.data:
            best = v
    return best


def _sum(items):
    total = items[0]
    for x in items[1:]:
        total = total + x
    return total


# ---------------------------------------------------------------------- the comparison


class Agreement:
    """What `assert_engines_agree` compared: how many output numbers and input gradients,
    and the largest differences it saw."""

    def __init__(self, outputs, gradients, max_output_diff, max_grad_diff):
        self.outputs, self.gradients = outputs, gradients
        self.max_output_diff, self.max_grad_diff = max_output_diff, max_grad_diff


def assert_engines_agree(scalar_fn, tensor_fn, inputs, tol=1e-12):
    """Run `scalar_fn` on Values and `tensor_fn` on Tensors made from the same `inputs`
    ({name: nested lists}), then assert that every output number and every input number's
    gradient agree within `tol` (relative to the size of the number, at least 1).

    A non-scalar output is reduced to one number first, sum_i w_i * out_i with fixed weights
    w_i = 1 + i/10, so each output position gets its own weight in the gradient.
    """
    scalar_inputs = {name: values(data, name) for name, data in inputs.items()}
    tensor_inputs = {
        name: Tensor(data, requires_grad=True, label=name) for name, data in inputs.items()
    }
    scalar_out = flatten(scalar_fn(**scalar_inputs))
    tensor_out = tensor_fn(**tensor_inputs)
    tensor_numbers = flatten(tensor_out.tolist())
    assert len(scalar_out) == len(tensor_numbers), (
        f"the engines give {len(scalar_out)} and {len(tensor_numbers)} output numbers"
    )
    output_diff = _compare(
        [v.data for v in scalar_out], tensor_numbers, ["out"] * len(scalar_out), tol
    )

    weights = [1.0 + i / 10 for i in range(len(scalar_out))]
    _sum([w * v for w, v in zip(weights, scalar_out)]).backward()
    tensor_out.backward(Tensor(weights).reshape(tensor_out.shape))

    scalar_grads, tensor_grads, names = [], [], []
    for name, leaves in scalar_inputs.items():
        grad = tensor_inputs[name].grad
        leaves = flatten(leaves)
        scalar_grads += [v.grad for v in leaves]
        tensor_grads += [0.0] * len(leaves) if grad is None else flatten(grad.tolist())
        names += [v.label for v in leaves]
    grad_diff = _compare(scalar_grads, tensor_grads, [f"d/d{n}" for n in names], tol)
    return Agreement(len(scalar_out), len(scalar_grads), output_diff, grad_diff)


def _compare(expected, actual, names, tol):
    """Largest scaled difference; AssertionError listing every number that disagrees."""
    worst, wrong = 0.0, []
    for name, e, a in zip(names, expected, actual):
        if e == a or (math.isnan(e) and math.isnan(a)):
            continue  # equal, including equal infinities and nan against nan
        diff = abs(e - a) / max(1.0, abs(e))
        if diff <= tol:
            worst = max(worst, diff)
        else:  # also when diff is nan
            wrong.append(f"{name}: Value {e!r}, Tensor {a!r}")
    assert not wrong, "the engines disagree:\n  " + "\n  ".join(wrong)
    return worst
