"""Ops that combine many numbers into one: sums, means, maxima and minima, variances, softmax
and matrix multiplication.

Part of `Tensor` (tensor.py). A reduction along an axis sees the tensor as
(outer, n, inner) around that axis: the n numbers that are combined sit `inner` places apart
in the flat list, so a strided slice `data[start : stop : inner]` picks them up at once.

Matrix multiplication is where attention spends its time: C[i, j] is row i of A dotted with
column j of B. The dot products run as `sum(map(mul, row, col))` (`math.sumprod` on Python
3.12+), so the multiply-adds happen in C rather than in a Python loop; the backward pass is
two more matrix products of the same kind: dA = dC @ B^T, dB = A^T @ dC.
"""

import math
from operator import mul

from .autograd import record
from .ops_elementwise import _gather
from .shapes import (
    broadcast_index,
    broadcast_shape,
    check_size,
    normalize_axes,
    normalize_axis,
    numel,
    reduce_layout,
)
from .value import _div

__all__ = ["MatrixOps"]


class MatrixOps:
    __slots__ = ()

    # ------------------------------------------------------------------ reductions

    def sum(self, axis=None, keepdims=False):
        """Add up the numbers along `axis` (an int, a tuple of ints, or None for all).

        >>> from tinygrad_attn import Tensor
        >>> Tensor([[1, 2, 3], [4, 5, 6]]).sum(axis=1).tolist()
        [6.0, 15.0]
        """
        axes = normalize_axes(axis, len(self.shape))
        data, kept = _reduce(self.data, self.shape, axes, _sum_axis, _add_up)
        shape = kept if keepdims else _drop_axes(self.shape, axes)

        def backward(g):
            # d(sum)/dx = 1 for every x that was added: each gets the whole gradient
            return (_gather(g, broadcast_index(kept, self.shape), len(self.data)),)

        return record(data, shape, "sum", (self,), backward, saves="nothing")

    def mean(self, axis=None, keepdims=False):
        """The average along `axis`: the sum divided by how many numbers were added. One op
        (one node in graph pictures), with its own backward.

        >>> from tinygrad_attn import Tensor
        >>> Tensor([[1, 2], [3, 4]]).mean(axis=0).tolist()
        [2.0, 3.0]
        """
        axes = normalize_axes(axis, len(self.shape))
        n = numel(tuple(self.shape[d] for d in axes))
        sums, kept = _reduce(self.data, self.shape, axes, _sum_axis, sum)
        data = [_div(s, n) for s in sums]
        shape = kept if keepdims else _drop_axes(self.shape, axes)

        def backward(g):
            # d(mean)/dx_i = 1/n for each of the n numbers averaged: each gets g / n
            spread = _gather(g, broadcast_index(kept, self.shape), len(self.data))
            return ([_div(v, n) for v in spread],)

        return record(data, shape, "mean", (self,), backward)

    def max(self, axis=None, keepdims=False):
        """The largest number along `axis` (an int, a tuple of ints, or None for all). A
        nan anywhere in a group makes its max nan.

        Where several numbers tie for the largest, the gradient follows PyTorch: along one
        axis (`axis=1`, like `torch.max(x, dim=1)`) it all goes to the first of them; over
        every number (`axis=None`, like `torch.max(x)`) or a tuple of axes (like
        `torch.amax`) it is shared equally among them.

        >>> from tinygrad_attn import Tensor
        >>> Tensor([[1, 5, 2], [7, 0, 3]]).max(axis=1).tolist()
        [5.0, 7.0]
        """
        return self._extreme(axis, keepdims, "max")

    def min(self, axis=None, keepdims=False):
        """The smallest number along `axis`; ties and nan as for `max`.

        >>> from tinygrad_attn import Tensor
        >>> Tensor([[1, 5, 2], [7, 0, 3]]).min(axis=1).tolist()
        [1.0, 0.0]
        """
        return self._extreme(axis, keepdims, "min")

    def _extreme(self, axis, keepdims, op):
        """max or min: the same op with the comparison turned round."""
        axes = normalize_axes(axis, len(self.shape))
        if any(self.shape[d] == 0 for d in axes):
            raise ValueError(
                f"{op}(): an axis of size 0 in shape {self.shape}: nothing to compare; take "
                f"the {op} over axes that hold numbers"
            )
        top = max if op == "max" else min
        if any(map(math.isnan, self.data)):  # Python's max() may skip a nan: keep it, as IEEE
            top = _nan_aware(top)
        data, kept = _reduce(self.data, self.shape, axes, _extreme_axis(top), top)
        shape = kept if keepdims else _drop_axes(self.shape, axes)
        share = not isinstance(axis, int)  # None or a tuple of axes: ties share the gradient
        x = self.data

        def backward(g):
            # d(max)/dx = 1 for the largest x of its group, 0 for the others; where several
            # tie, the first takes it all (one axis) or each takes 1/count (several axes)
            group = broadcast_index(kept, self.shape) or range(len(x))
            best = data
            winners = [v == best[j] or v != v for v, j in zip(x, group)]  # v != v: the nan
            grad = [0.0] * len(x)
            if share:
                count = [0] * len(best)
                for won, j in zip(winners, group):
                    count[j] += won
                for i, (won, j) in enumerate(zip(winners, group)):
                    if won:
                        grad[i] = g[j] / count[j]
            else:
                routed = [False] * len(best)
                for i, (won, j) in enumerate(zip(winners, group)):
                    if won and not routed[j]:
                        grad[i] = g[j]
                        routed[j] = True
            return (grad,)

        return record(data, shape, op, (self,), backward)

    # ------------------------------------------------------------------ spread

    def var(self, axis=None, correction=1, keepdims=False):
        """The variance along `axis`: the squared distances from the mean, added up and
        divided by (count - correction), as `torch.var`. correction=1 (the default) is the
        sample variance, correction=0 the mean of the squares (what layer norm uses).

        >>> from tinygrad_attn import Tensor
        >>> x = Tensor([1.0, 2.0, 3.0, 4.0])    # the mean is 2.5; the squares add up to 5
        >>> x.var().item(), x.var(correction=0).item()      # 5 / 3 and 5 / 4
        (1.6666666666666667, 1.25)
        """
        out, shape, centered, divisor, spread = self._spread(axis, correction, keepdims, "var")

        def backward(g):
            # var = sum_i (x_i - mean)^2 / divisor  =>  d(var)/dx_i = 2 (x_i - mean) / divisor
            # (the mean moves too, but the (x_j - mean) add up to 0, so that term vanishes)
            return ([_div(2.0 * gi * c, divisor) for gi, c in zip(spread(g), centered)],)

        return record(out, shape, "var", (self,), backward, saves="inputs")

    def std(self, axis=None, correction=1, keepdims=False):
        """The standard deviation along `axis`: the square root of `var` (same `correction`).

        >>> from tinygrad_attn import Tensor
        >>> Tensor([2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).std(correction=0).item()
        2.0
        """
        var, shape, centered, divisor, spread = self._spread(axis, correction, keepdims, "std")
        out = [math.sqrt(v) if v >= 0.0 else v for v in var]  # (sqrt of nan is nan)

        def backward(g):
            # std = sqrt(var)  =>  d(std)/dx_i = (x_i - mean) / (divisor * std); where all the
            # numbers are equal (std = 0) PyTorch takes it as 0, and so do we
            scale = spread([_div(gi, divisor * s) if s != 0.0 else 0.0 for gi, s in zip(g, out)])
            return ([k * c for k, c in zip(scale, centered)],)

        return record(out, shape, "std", (self,), backward)

    def _spread(self, axis, correction, keepdims, op):
        """What var and std share: (variances, result shape, x - mean for every number,
        count - correction, a function that copies one number per group to its members)."""
        if isinstance(correction, bool) or not isinstance(correction, (int, float)):
            raise TypeError(f"{op}: correction must be a number, got {correction!r}")
        axes = normalize_axes(axis, len(self.shape))
        count = numel(tuple(self.shape[d] for d in axes))
        if correction < 0 or correction != correction:
            raise ValueError(f"{op}: correction must be >= 0, got {correction}")
        if correction > count:  # a negative divisor: no meaning (PyTorch would give inf)
            raise ValueError(
                f"{op}: correction {correction} is larger than the count, {count} numbers per "
                f"group (shape {self.shape}, axis {axis}); use correction=1 (the default: "
                f"divide by count - 1) or correction=0 (divide by the count)"
            )
        totals, kept = _reduce(self.data, self.shape, axes, _sum_axis, sum)
        group = broadcast_index(kept, self.shape)

        def spread(numbers):
            return _gather(numbers, group, len(self.data))

        mean = [_div(t, count) for t in totals]
        centered = [v - m for v, m in zip(self.data, spread(mean))]
        squares, _ = _reduce([c * c for c in centered], self.shape, axes, _sum_axis, sum)
        divisor = count - correction  # 0 when they are equal: nan or inf, as in PyTorch
        out = [_div(s, divisor) for s in squares]
        shape = kept if keepdims else _drop_axes(self.shape, axes)
        return out, shape, centered, divisor, spread

    # ------------------------------------------------------------------ softmax

    def softmax(self, axis=-1):
        """exp(x) / sum(exp(x)) along `axis`: each row becomes probabilities that sum to 1.
        The row's maximum is subtracted first (same result, no overflow), and -inf entries
        give exact zeros.

        This op is fused (one op, its own backward) because attention calls it on every
        score matrix: forward + backward run 1.6-2x faster than `_softmax_composed`, which
        builds the same thing from five primitives (benchmarks/, workload D). The tests check
        that the two agree.

        >>> from tinygrad_attn import Tensor
        >>> [round(p, 4) for p in Tensor([1.0, 2.0, 3.0]).softmax().tolist()]
        [0.09, 0.2447, 0.6652]
        """
        if not self.shape:
            return self._softmax_composed(axis=None)
        ax = normalize_axis(axis, len(self.shape))
        if ax != len(self.shape) - 1:  # work on the last axis, then move the axis back
            return self.transpose(ax, -1).softmax(-1).transpose(ax, -1)
        n = self.shape[-1] or 1
        x = self.data
        exp = math.exp
        out = []
        for start in range(0, len(x), n):
            row = x[start : start + n]
            top = max(row)
            e = [exp(v - top) for v in row]  # v - top <= 0: never overflows
            total = sum(e)
            out += [v / total for v in e]

        def backward(g):
            # for p = softmax(x):  dx_i = p_i * (g_i - sum_j g_j p_j)
            grad = []
            for start in range(0, len(out), n):
                p, gp = out[start : start + n], g[start : start + n]
                dot = sum(map(mul, gp, p))
                grad += [pi * (gi - dot) for pi, gi in zip(p, gp)]
            return (grad,)

        return record(out, self.shape, "softmax", (self,), backward, saves="output")

    def _softmax_composed(self, axis=-1):
        """softmax from primitives (max, -, exp, sum, /): the reference for the fused op."""
        shifted = self - self.max(axis=axis, keepdims=True).detach()
        e = shifted.exp()
        return e / e.sum(axis=axis, keepdims=True)

    def log_softmax(self, axis=-1):
        """log(softmax(x)), computed stably as x - max - log(sum(exp(x - max))).

        >>> from tinygrad_attn import Tensor
        >>> [round(v, 4) for v in Tensor([1.0, 2.0, 3.0]).log_softmax().tolist()]
        [-2.4076, -1.4076, -0.4076]
        """
        if not self.shape:  # a single number: its own row
            axis = None
        if not self.data:  # no numbers (an axis of size 0): nothing to normalise
            return self + 0.0
        # Subtracting the row's maximum changes nothing (it cancels out), so it is treated as
        # a constant: it is only there to keep exp() from overflowing.
        shifted = self - self.max(axis=axis, keepdims=True).detach()
        return shifted - shifted.exp().sum(axis=axis, keepdims=True).log()

    # ------------------------------------------------------------------ matrix multiplication

    def __matmul__(self, other):
        """Matrix product. A 1-D operand is a row (on the left) or a column (on the right),
        and that axis is removed from the result; leading batch axes broadcast.

        >>> from tinygrad_attn import Tensor
        >>> (Tensor([[1, 2], [3, 4]]) @ Tensor([[5], [6]])).tolist()
        [[17.0], [39.0]]
        """
        a, b = self, self._lift(other, "@", numbers=False)
        if not a.shape or not b.shape:
            raise ValueError(
                f"matmul: {a.shape} @ {b.shape}: both operands need at least one axis "
                f"(use * to multiply by a number)"
            )
        a_shape = (1,) + a.shape if len(a.shape) == 1 else a.shape  # vector on the left: a row
        b_shape = b.shape + (1,) if len(b.shape) == 1 else b.shape  # on the right: a column
        n, k = a_shape[-2:]
        k2, m = b_shape[-2:]
        if k != k2:
            raise ValueError(
                f"matmul: {a.shape} @ {b.shape}: inner sizes {k} and {k2} differ; the left's "
                f"last size must equal the right's second-to-last (transpose one of them?)"
            )
        batch = a_shape[:-2]
        if len(b_shape) > 2:
            batch = broadcast_shape(a_shape[:-2], b_shape[:-2], f"matmul {a.shape} @ {b.shape}")
        check_size(batch + (n, m), "matmul")  # the output, before any of it is made
        if len(b_shape) == 2:
            # One matrix on the right (x @ W in every Linear): a batch of A's matrices is one
            # tall matrix, so all its rows go through at once. Long dot products in the
            # backward pass instead of one small product per matrix: ~17% faster training.
            n_rows, a_blocks, b_blocks = numel(a_shape[:-1]), (0,), (0,)
        else:
            n_rows = n  # rows per matrix
            a_blocks = _block_starts(a_shape[:-2], batch, n * k)  # where each A matrix starts
            b_blocks = _block_starts(b_shape[:-2], batch, k * m)
        A, B = a.data, b.data
        nk, km, nm = n_rows * k, k * m, n_rows * m
        shape = batch
        if len(a.shape) > 1:
            shape += (n,)
        if len(b.shape) > 1:
            shape += (m,)
        if not (n_rows and k and m and a_blocks):  # an axis of size 0: every sum is empty
            return record([0.0] * numel(shape), shape, "matmul", (a, b), _zero_grads(A, B))

        out = []
        for sa, sb in zip(a_blocks, b_blocks):
            rows = [A[i : i + k] for i in range(sa, sa + nk, k)]  # rows of A
            cols = [B[j : sb + km : m] for j in range(sb, sb + m)]  # columns of B
            out += _dot_all(rows, cols)  # C[i, j] = row i of A . column j of B

        def backward(g):
            # C = A @ B  =>  dA = dC @ B^T  and  dB = A^T @ dC, for each matrix of the batch
            blocks = list(zip(a_blocks, b_blocks, range(0, len(g), nm)))  # starts in A, B, dC
            ga = gb = None
            if a.requires_grad:
                pieces = []
                for _, sb, sc in blocks:
                    g_rows = [g[i : i + m] for i in range(sc, sc + nm, m)]  # rows of dC
                    b_rows = [B[p : p + m] for p in range(sb, sb + km, m)]  # = columns of B^T
                    pieces.append(_dot_all(g_rows, b_rows))
                ga = _combine_blocks(pieces, a_blocks, len(A))
            if b.requires_grad:
                pieces = []
                for sa, _, sc in blocks:
                    a_cols = [A[p : sa + nk : k] for p in range(sa, sa + k)]  # = rows of A^T
                    g_cols = [g[j : sc + nm : m] for j in range(sc, sc + m)]  # columns of dC
                    pieces.append(_dot_all(a_cols, g_cols))
                gb = _combine_blocks(pieces, b_blocks, len(B))
            return ga, gb

        return record(out, shape, "matmul", (a, b), backward, saves="inputs")

    def __rmatmul__(self, other):  # nested list @ Tensor
        return self._lift(other, "@", numbers=False) @ self


# ---------------------------------------------------------------------- reductions


def _reduce(data, shape, axes, reduce_axis, reduce_all):
    """Reduce `axes` one at a time; returns the numbers and the shape with those axes at 1."""
    if len(axes) == len(shape):  # everything at once
        return [reduce_all(data)], (1,) * len(shape)
    for ax in reversed(axes):
        data, shape = reduce_axis(data, shape, ax)
    return (list(data) if not axes else data), shape


def _add_up(numbers):
    return sum(numbers, 0.0)  # a float even when there are no numbers: 0.0, not the int 0


def _sum_axis(data, shape, ax):
    outer, n, inner = reduce_layout(shape, ax)
    if inner == 1:  # the numbers to add sit side by side
        out = [sum(data[o * n : (o + 1) * n], 0.0) for o in range(outer)]
    else:  # ... or `inner` apart
        span = n * inner
        out = [
            sum(data[o * span + i : (o + 1) * span : inner], 0.0)
            for o in range(outer)
            for i in range(inner)
        ]
    return out, shape[:ax] + (1,) + shape[ax + 1 :]


def _extreme_axis(top):
    """Reduce one axis with `top` (max or min)."""

    def reduce_axis(data, shape, ax):
        outer, n, inner = reduce_layout(shape, ax)
        span = n * inner
        out = [
            top(data[o * span + i : (o + 1) * span : inner])
            for o in range(outer)
            for i in range(inner)
        ]
        return out, shape[:ax] + (1,) + shape[ax + 1 :]

    return reduce_axis


def _nan_aware(top):
    """max() or min() that gives nan when any number is nan (Python's keeps or drops it by
    position)."""
    return lambda numbers: math.nan if any(map(math.isnan, numbers)) else top(numbers)


def _drop_axes(shape, axes):
    return tuple(size for d, size in enumerate(shape) if d not in axes)


# ---------------------------------------------------------------------- matmul helpers


def _block_starts(batch_shape, batch, size):
    """Where the matrix for each output batch position starts (batch axes broadcast)."""
    index = broadcast_index(batch_shape, batch)
    if index is None:  # no broadcasting: block b is the b-th matrix
        index = range(numel(batch))
    return [i * size for i in index]


def _zero_grads(A, B):
    """The backward pass of a product with an axis of size 0: C holds no number that A or B
    contributed to (or only empty sums), so their gradients are 0."""
    return lambda g: ([0.0] * len(A), [0.0] * len(B))


def _combine_blocks(pieces, starts, length):
    """One gradient from per-block gradients: joined in order, or added up where broadcasting
    made several output blocks read the same input block."""
    if len(pieces) == 1:
        return pieces[0]
    if len(set(starts)) == len(starts):  # each input block was read once, in order
        return [x for piece in pieces for x in piece]
    grad = [0.0] * length
    for start, piece in zip(starts, pieces):
        end = start + len(piece)
        grad[start:end] = [t + v for t, v in zip(grad[start:end], piece)]
    return grad


if hasattr(math, "sumprod"):  # Python 3.12+: one C call per dot product

    def _dot_all(rows, cols):
        """Every row . every column: the inner loop of every matmul, forward and backward."""
        return [math.sumprod(r, c) for r in rows for c in cols]

else:

    def _dot_all(rows, cols):
        """Every row . every column: the inner loop of every matmul, forward and backward.
        sum(map(mul, r, c)) runs the multiply-adds in C: on Python 3.11 about 1.3x faster
        than a `for` loop over the numbers and 1.5x faster than summing a list comprehension
        (rows of 16 to 64 numbers); 64x64 products reach 88% of the fastest plain-Python
        multiply-add rate (benchmarks/, workload C)."""
        return [sum(map(mul, r, c)) for r in rows for c in cols]
