"""Reductions: ops that combine many numbers into one. Sums, means, maxima and minima (and
where they are: argmax, argmin), variances and standard deviations.

Part of `Tensor` (tensor.py). A reduction along an axis sees the tensor as
(outer, n, inner) around that axis: the n numbers that are combined sit `inner` places apart
in the flat list, so a strided slice `data[start : stop : inner]` picks them up at once.
Several axes are reduced one after the other; all of them at once is one call on the whole
list. In the backward pass each number's gradient comes from the one result it went into.
"""

import math

from . import ieee
from .autograd import record
from .ops_elementwise import _gather
from .shapes import broadcast_index, normalize_axes, normalize_axis, numel, reduce_layout

__all__ = ["ReduceOps"]


class ReduceOps:
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
        data = [ieee.div(s, n) for s in sums]
        shape = kept if keepdims else _drop_axes(self.shape, axes)

        def backward(g):
            # d(mean)/dx_i = 1/n for each of the n numbers averaged: each gets g / n
            share = [ieee.div(v, n) for v in g]
            return (_gather(share, broadcast_index(kept, self.shape), len(self.data)),)

        return record(data, shape, "mean", (self,), backward, saves="nothing")

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

    def argmax(self, axis=None, keepdims=False):
        """Where the largest number is: its index along `axis` (an int), or its place in
        the flat list with axis=None, as `torch.argmax`. The first one wins a tie, and nan
        counts as the largest. The indices are whole numbers (stored as floats) with no
        graph: a position is not something to take a gradient of.

        >>> from tinygrad_attn import Tensor
        >>> x = Tensor([[1, 5, 2], [7, 0, 7]])
        >>> x.argmax(axis=1).tolist(), x.argmax().item()
        ([1.0, 0.0], 3.0)
        """
        return self._where_extreme(axis, keepdims, "argmax")

    def argmin(self, axis=None, keepdims=False):
        """Where the smallest number is; the same rules as `argmax`.

        >>> from tinygrad_attn import Tensor
        >>> Tensor([[1, 5, 2], [7, 0, 7]]).argmin(axis=1).tolist()
        [0.0, 1.0]
        """
        return self._where_extreme(axis, keepdims, "argmin")

    def _where_extreme(self, axis, keepdims, op):
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int)):
            raise TypeError(
                f"{op}: axis must be an int or None (one axis, as torch.{op}), got {axis!r}"
            )
        if axis is None:
            shape, n = (1,) * len(self.shape) if keepdims else (), len(self.data)
            groups = [self.data]
        else:
            ax = normalize_axis(axis, len(self.shape))
            outer, n, inner = reduce_layout(self.shape, ax)
            span = n * inner
            groups = [
                self.data[o * span + i : (o + 1) * span : inner]
                for o in range(outer)
                for i in range(inner)
            ]
            shape = self.shape[:ax] + ((1,) if keepdims else ()) + self.shape[ax + 1 :]
        if n == 0:
            raise ValueError(
                f"{op}(): an axis of size 0 in shape {self.shape}: nothing to compare; take "
                f"the {op} over axes that hold numbers"
            )
        top = max if op == "argmax" else min
        out = []
        for numbers in groups:
            nan = [k for k, v in enumerate(numbers) if v != v]
            out.append(float(nan[0] if nan else numbers.index(top(numbers))))
        return self._wrap(out, shape)

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
            return ([ieee.div(2.0 * gi * c, divisor) for gi, c in zip(spread(g), centered)],)

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
            scale = spread(
                [ieee.div(gi, divisor * s) if s != 0.0 else 0.0 for gi, s in zip(g, out)]
            )
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

        mean = [ieee.div(t, count) for t in totals]
        centered = [v - m for v, m in zip(self.data, spread(mean))]
        squares, _ = _reduce([c * c for c in centered], self.shape, axes, _sum_axis, sum)
        divisor = count - correction  # 0 when they are equal: nan or inf, as in PyTorch
        out = [ieee.div(s, divisor) for s in squares]
        shape = kept if keepdims else _drop_axes(self.shape, axes)
        return out, shape, centered, divisor, spread


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
