"""Softmax and matrix multiplication: the two ops attention is made of.

Part of `Tensor` (tensor.py). Softmax turns each row of scores into probabilities; it is one
op with its own backward, checked against the same thing composed from the reductions of
ops_reduce.py and exp.

Matrix multiplication is where attention spends its time: C = A B, where C[i, j] is row i of
A dotted with column j of B. Its backward pass is two more matrix products of the same kind:

    dA = dC B^T        dB = A^T dC

The dot products themselves run in kernels.py.
"""

import math
from operator import mul

from .autograd import record
from .kernels import columns, dot_products, rows
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
        if len(b.shape) == 2 and len(a.shape) > 1 and a.shape[-1] == b.shape[0]:
            return _times_matrix(a, b)  # x @ W, one matrix on the right: the common case
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
        shape = batch + ((n,) if len(a.shape) > 1 else ()) + ((m,) if len(b.shape) > 1 else ())
        A, B = a.data, b.data
        # The product is made of pairs of matrices: an (n, k) block of A's numbers times a
        # (k, m) block of B's. One matrix on the right (x @ W in every Linear) pairs with all
        # of A's matrices at once: they are stacked into one tall matrix.
        if len(b_shape) == 2:
            n, a_starts, b_starts = numel(a_shape[:-1]), [0], [0]
        else:
            a_starts = _block_starts(a_shape[:-2], batch, n * k)  # where each matrix starts
            b_starts = _block_starts(b_shape[:-2], batch, k * m)
        if not (n and k and m and a_starts):  # an axis of size 0: every sum is empty
            return record([0.0] * numel(shape), shape, "matmul", (a, b), _zero_grads(A, B))

        out = []
        for sa, sb in zip(a_starts, b_starts):
            out += dot_products(rows(A, sa, n, k), columns(B, sb, k, m))  # C = A B

        def backward(dC):
            blocks = list(zip(a_starts, b_starts, range(0, len(dC), n * m)))  # in A, B, dC
            dA = dB = None
            if a.requires_grad:  # dA = dC B^T: the columns of B^T are the rows of B
                dA = [dot_products(rows(dC, sc, n, m), rows(B, sb, k, m)) for _, sb, sc in blocks]
                dA = _add_blocks(dA, a_starts, len(A))
            if b.requires_grad:  # dB = A^T dC: the rows of A^T are the columns of A
                dB = [
                    dot_products(columns(A, sa, n, k), columns(dC, sc, n, m))
                    for sa, _, sc in blocks
                ]
                dB = _add_blocks(dB, b_starts, len(B))
            return dA, dB

        return record(out, shape, "matmul", (a, b), backward, saves="inputs")

    def __rmatmul__(self, other):  # nested list @ Tensor
        return self._lift(other, "@", numbers=False) @ self


# ---------------------------------------------------------------------- matmul helpers


def _times_matrix(a, b):
    """a @ b for one matrix b (k, m) on the right and a (..., n, k): every row of a, of all
    its matrices at once, times b. The same products as __matmul__, with less to work out."""
    k, m = b.shape
    shape = a.shape[:-1] + (m,)
    n = check_size(shape, "matmul") // m if m else numel(a.shape[:-1])  # rows of a
    A, B = a.data, b.data
    if not (n and k and m):  # an axis of size 0: every sum is empty
        return record([0.0] * (n * m), shape, "matmul", (a, b), _zero_grads(A, B))
    out = dot_products(rows(A, 0, n, k), columns(B, 0, k, m))  # C = A B

    def backward(dC):
        dA = dB = None
        if a.requires_grad:  # dA = dC B^T: the columns of B^T are the rows of B
            dA = dot_products(rows(dC, 0, n, m), rows(B, 0, k, m))
        if b.requires_grad:  # dB = A^T dC: the rows of A^T are the columns of A
            dB = dot_products(columns(A, 0, n, k), columns(dC, 0, n, m))
        return dA, dB

    return record(out, shape, "matmul", (a, b), backward, saves="inputs")


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


def _add_blocks(pieces, starts, length):
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
