"""Softmax and matrix multiplication: the two ops attention is made of.

Part of `Tensor` (tensor.py). Softmax turns each row of scores into probabilities; it is one
op with its own backward, checked against the same thing composed from the reductions of
ops_reduce.py and exp.

Matrix multiplication is where attention spends its time: C[i, j] is row i of A dotted with
column j of B. The dot products run as `sum(map(mul, row, col))` (`math.sumprod` on Python
3.12+), so the multiply-adds happen in C rather than in a Python loop; the backward pass is
two more matrix products of the same kind: dA = dC @ B^T, dB = A^T @ dC.
"""

import math
from operator import mul

from .autograd import record
from .shapes import broadcast_index, broadcast_shape, check_size, normalize_axis, numel

__all__ = ["MatrixOps"]


class MatrixOps:
    __slots__ = ()

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
