"""Ops that compare and choose: > < >= <= == != give masks, `where` and `clamp` choose.

Part of `Tensor` (tensor.py). A comparison answers a yes/no question for every number and
writes the answers as a *mask*: 1.0 for yes, 0.0 for no. A mask is data, not a computation a
gradient could flow through (a small change of x does not change whether x > 0), so it is a
new leaf with no graph, as in PyTorch, where it holds bools.

`where(condition, a, b)` takes each number from `a` where the condition holds and from `b`
where it does not; the gradient goes back the same way, to whichever one was taken. `clamp`
keeps numbers inside [min, max]: the ones it had to move are constants now, so they pass no
gradient back. All of them broadcast like + and *.
"""

import operator

from .autograd import record
from .ieee import as_float
from .ops_elementwise import _broadcast, _gather, _sum_to
from .shapes import broadcast_index, broadcast_shape, check_size

__all__ = ["SelectOps"]


class SelectOps:
    __slots__ = ()

    # ------------------------------------------------------------------ comparisons

    def __gt__(self, other):
        """x > y, number by number: a mask of 1.0 (yes) and 0.0 (no), with no graph.

        >>> from tinygrad_attn import Tensor
        >>> (Tensor([1.0, 2.0, 3.0]) > 2).tolist()
        [0.0, 0.0, 1.0]
        """
        return self._compare(other, ">", operator.gt)

    def __lt__(self, other):
        return self._compare(other, "<", operator.lt)

    def __ge__(self, other):
        return self._compare(other, ">=", operator.ge)

    def __le__(self, other):
        return self._compare(other, "<=", operator.le)

    def __eq__(self, other):
        """x == y, number by number, as a mask (`x == "text"` or `x == None` is False).

        >>> from tinygrad_attn import Tensor
        >>> (Tensor([[1.0, 2.0], [2.0, 1.0]]) == Tensor([1.0, 1.0])).tolist()
        [[1.0, 0.0], [0.0, 1.0]]
        """
        try:
            return self._compare(other, "==", operator.eq)
        except TypeError:
            return NotImplemented  # Python then says False, as for any two unequal things

    def __ne__(self, other):
        try:
            return self._compare(other, "!=", operator.ne)
        except TypeError:
            return NotImplemented

    # Defining == would make tensors unhashable; they are still told apart by identity, so
    # sets and dicts of tensors (the graph walk uses them) keep working.
    __hash__ = object.__hash__

    def _compare(self, other, op, test):
        other = self._lift(other, op)
        a, b, shape, _, _ = _broadcast(self, other, op)
        return self._wrap([1.0 if test(x, y) else 0.0 for x, y in zip(a, b)], shape)

    # ------------------------------------------------------------------ choosing

    def where(self, condition, other):
        """This tensor's number where `condition` holds (is not 0), `other`'s elsewhere:
        `x.where(condition, y)` is `where(condition, x, y)`, as `torch.Tensor.where`.
        `condition`, this tensor and `other` (a Tensor, a number or nested lists)
        broadcast together.

        >>> from tinygrad_attn import Tensor
        >>> x = Tensor([-1.0, 2.0, -3.0])
        >>> x.where(x > 0, 0.0).tolist()
        [0.0, 2.0, 0.0]
        """
        other = self._lift(other, "where")
        cond = condition if isinstance(condition, type(self)) else _mask_tensor(condition, self)
        shape = broadcast_shape(
            broadcast_shape(cond.shape, self.shape, "where"), other.shape, "where"
        )
        n = check_size(shape, "where")  # refused before a number is made if too many
        taken = [c != 0.0 for c in _gather(cond.data, broadcast_index(cond.shape, shape), n)]
        ia, ib = broadcast_index(self.shape, shape), broadcast_index(other.shape, shape)
        a, b = _gather(self.data, ia, n), _gather(other.data, ib, n)
        out = [x if t else y for t, x, y in zip(taken, a, b)]

        def backward(g):
            # d(out)/da = 1 where the condition holds, else 0; d(out)/db the other way round
            ga = [gi if t else 0.0 for gi, t in zip(g, taken)] if self.requires_grad else None
            gb = [0.0 if t else gi for gi, t in zip(g, taken)] if other.requires_grad else None
            return _sum_to(self, ga, ia, shape), _sum_to(other, gb, ib, shape)

        return record(out, shape, "where", (self, other), backward, saves="nothing")

    def clamp(self, min=None, max=None):
        """Each number kept inside [min, max]: below min becomes min, above max becomes
        max. Give either bound or both. As in PyTorch, min > max gives max everywhere and
        nan stays nan.

        >>> from tinygrad_attn import Tensor
        >>> Tensor([-2.0, 0.5, 3.0]).clamp(-1.0, 1.0).tolist()
        [-1.0, 0.5, 1.0]
        >>> Tensor([-2.0, 0.5, 3.0]).clamp(min=0.0).tolist()
        [0.0, 0.5, 3.0]
        """
        if min is None and max is None:
            raise TypeError("clamp: give min, max or both, e.g. x.clamp(min=0.0)")
        for name, bound in (("min", min), ("max", max)):
            if bound is not None and (
                isinstance(bound, bool) or not isinstance(bound, (int, float))
            ):
                raise TypeError(f"clamp: {name} must be a number, got {type(bound).__name__}")
        low = -float("inf") if min is None else as_float(min)
        high = float("inf") if max is None else as_float(max)
        x = self.data
        out = []
        for v in x:
            v2 = low if v < low else v  # first up to min, then down to max (as PyTorch)
            out.append(high if v2 > high else v2)

        def backward(g):
            # d(clamp x)/dx = 1 where min <= x <= max (the bounds included, as PyTorch), 0
            # where x was moved to a bound: there it no longer depends on x
            return ([gi if low <= v <= high else 0.0 for gi, v in zip(g, x)],)

        return record(out, self.shape, "clamp", (self,), backward, saves="inputs")


def _mask_tensor(condition, like):
    """A condition given as nested lists (of bools or numbers) as a tensor."""
    if isinstance(condition, (list, tuple, bool, int, float)):
        return type(like)(condition)
    raise TypeError(
        f"where: condition must be a Tensor (a mask such as x > 0) or nested lists of bools, "
        f"got {type(condition).__name__}"
    )
