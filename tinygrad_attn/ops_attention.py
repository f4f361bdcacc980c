"""The attention core as one op, with its backward pass written out by hand.

functional.py writes attention as its formula, one op per step: scores, scaling, mask,
softmax, weighted sum. Each step is a tensor with its own backward function, and graph
pictures show every one of them. Attention runs in every layer of every training step,
so here the same arithmetic is done as ONE op: the steps in between are plain lists, not
tensors, and the backward pass is the chain rule through all of them, written out. For one
head, with d the width of a query:

    S  = Q K^T / sqrt(d)     P  = softmax(S), row by row       Out = P V
    dP = dOut V^T            dS = P * (dP - rowsum(dP * P)) / sqrt(d)
    dQ = dS K                dK = dS^T Q                       dV  = P^T dOut

(dS is softmax's backward rule from ops_matrix.py, then the scaling's.) Each query sees the
first n keys, n its own: all of them, or with a causal mask keys 0..t for query t, and
fewer where a mask hides padding at the end of the keys. A weight beyond n is 0, and the
products leave those zeros out where they can: the queries go in blocks of 8, and a block
reads only the keys its queries see.

The composed path stays the reference: inside `step_by_step()` (graph pictures), and for
masks that hide other keys, attention takes it. Both do the same products, adding the same
numbers in the same order, so they agree number for number (tests/test_attention_core.py);
a product of a weight 0 that the composed path adds and this one leaves out can change only
the sign of a zero (and keeps an inf or nan of a hidden key out of the output). How much
faster: docs/06 and benchmarks/.
"""

import math
from functools import lru_cache
from operator import add, mul

from .autograd import record
from .kernels import columns, dot_products, rows
from .shapes import broadcast_index, check_size, numel

__all__ = ["attention", "attention_layer", "keys_seen"]

BLOCK = 8  # queries per block, when they see different numbers of keys


def attention(q, k, v, seen, heads=None):
    """(output, weights) of softmax(q k^T / sqrt(d)) v where query t of the i-th (matrix,
    head) sees the first seen[i][t] keys (at least 1; see `keys_seen`).

    Without `heads`, q is (..., T_q, d), k (..., T_k, d) and v (..., T_k, d_v), as for
    `F.scaled_dot_product_attention`, and the weights are (..., T_q, T_k). With `heads=h`
    the last axes hold h heads side by side (head i in columns [i*d, (i+1)*d), as in
    `nn.MultiHeadAttention`): the output is (..., T_q, h*d_v) and the weights
    (..., h, T_q, T_k). The leading axes of q, k and v must be the same.

    >>> from tinygrad_attn import Tensor
    >>> q = k = v = Tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> out, weights = attention(q, k, v, keys_seen(None, True, (), None, 2, 2))
    >>> weights.tolist()[0], out.shape
    ([1.0, 0.0], (2, 2))
    """
    out, weights, weights_shape, backward, weights_backward = _attend(
        q.data, k.data, v.data, q.shape, k.shape[-2], v.shape[-1], seen, heads
    )
    H = heads or 1
    out_shape = q.shape[:-1] + (H * (v.shape[-1] // H),)
    output = record(out, out_shape, "attention", (q, k, v), backward, saves="inputs")
    weights = record(weights, weights_shape, "attention weights", (q, k), weights_backward)
    return output, weights.named("weights")


def attention_layer(x, w_q, w_k, w_v, w_o, seen, heads):
    """Multi-head attention, the whole layer, as one op: `nn.MultiHeadAttention` with
    bias-free projections. x is (..., T, d_model), each W (d_model, d_model); returns
    (output, weights) with the output (..., T, d_model) and the weights (..., h, T, T).

        Q, K, V = x W_q, x W_k, x W_v      heads = attention(Q, K, V)      y = heads W_o

    The backward pass of each product is the one of `@` (ops_matrix.py), with the same
    numbers; between them, the attention core's (`attention`):

        dW_o = heads^T dy      dheads = dy W_o^T      -> dQ, dK, dV
        dW_q = x^T dQ (the same for K and V)          dx = dQ W_q^T + dK W_k^T + dV W_v^T

    >>> from tinygrad_attn import Tensor
    >>> x = w = Tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> y, weights = attention_layer(x, w, w, w, w, keys_seen(None, True, (), 1, 2, 2), 1)
    >>> y.shape, weights.shape, weights.tolist()[0][0]   # the first word sees only itself
    ((2, 2), (1, 2, 2), [1.0, 0.0])
    """
    D = x.shape[-1]  # d_model
    n = len(x.data) // D  # rows of x, of every sequence of the batch
    x_rows, x_cols = rows(x.data, 0, n, D), columns(x.data, 0, n, D)
    Q, K, V = (dot_products(x_rows, columns(w.data, 0, D, D)) for w in (w_q, w_k, w_v))
    concat, weights, weights_shape, core_backward, core_weights_backward = _attend(
        Q, K, V, x.shape, x.shape[-2], D, seen, heads
    )
    y = dot_products(rows(concat, 0, n, D), columns(w_o.data, 0, D, D))  # heads W_o

    def projections_backward(ws, grads):  # (dx, dW, ...) from dP, the gradient of P = x W
        dx, dW = None, []
        for w, dP in zip(ws, grads):
            if x.requires_grad:  # dx = dP W^T, added up over the projections
                part = dot_products(rows(dP, 0, n, D), rows(w.data, 0, D, D))
                dx = part if dx is None else list(map(add, dx, part))
            dW.append(dot_products(x_cols, columns(dP, 0, n, D)) if w.requires_grad else None)
        return (dx, *dW)

    def backward(dy):
        dW_o = dot_products(columns(concat, 0, n, D), columns(dy, 0, n, D))
        dheads = dot_products(rows(dy, 0, n, D), rows(w_o.data, 0, D, D))
        return (*projections_backward((w_q, w_k, w_v), core_backward(dheads)), dW_o)

    def weights_backward(g):  # the weights' own gradient, when a loss reads them
        return projections_backward((w_q, w_k), core_weights_backward(g))

    children = (x, w_q, w_k, w_v, w_o)
    output = record(y, x.shape, "attention", children, backward, saves="inputs")
    weights = record(weights, weights_shape, "attention weights", children[:3], weights_backward)
    return output, weights.named("weights")


def _attend(q, k, v, q_shape, T_k, Dv, seen, heads):
    """The numbers of attention for the flat lists q, k, v (q of shape q_shape, k of T_k
    rows, v of T_k rows of Dv): (output, weights, the weights' shape, backward: dOut ->
    (dQ, dK, dV), weights_backward: dWeights -> (dQ, dK))."""
    H = heads or 1
    *batch, T_q, D = q_shape
    d, dv = D // H, Dv // H
    weights_shape = tuple(batch) + ((H,) if heads else ()) + (T_q, T_k)
    check_size(weights_shape, "attention")
    scale = math.sqrt(d)
    blocks = []  # one _Head for each matrix and head
    for i, n_seen in enumerate(seen):
        b, h = divmod(i, H)
        q_rows = _head_rows(q, b * T_q * D, T_q, D, h * d, d)  # (T_q, d)
        k_rows = _head_rows(k, b * T_k * D, T_k, D, h * d, d)  # (T_k, d)
        v_rows = _head_rows(v, b * T_k * Dv, T_k, Dv, h * dv, dv)  # (T_k, d_v)
        blocks.append(_Head(q_rows, k_rows, v_rows, n_seen, scale))
    out = _join_heads([head.forward() for head in blocks], H, T_q, dv)
    weights = []
    zeros = [0.0] * T_k
    for head in blocks:
        for p in head.P:
            weights += p
            weights += zeros[len(p) :]  # 0 for the keys beyond its block's

    def backward(g):
        dQ, dK, dV = [], [], []
        for i, head in enumerate(blocks):
            b, h = divmod(i, H)
            dq, dk, dv_ = head.backward(_head_rows(g, b * T_q * Dv, T_q, Dv, h * dv, dv))
            dQ.append(dq)
            dK.append(dk)
            dV.append(dv_)
        return _join_heads(dQ, H, T_q, d), _join_heads(dK, H, T_k, d), _join_heads(dV, H, T_k, dv)

    def weights_backward(g):
        dQ, dK = [], []
        for head, start in zip(blocks, range(0, len(g), T_q * T_k)):
            dq, dk = head.scores_backward(_head_rows(g, start, T_q, T_k, 0, T_k))
            dQ.append(dq)
            dK.append(dk)
        return _join_heads(dQ, H, T_q, d), _join_heads(dK, H, T_k, d)

    return out, weights, weights_shape, backward, weights_backward


class _Head:
    """One head of one matrix: its rows of Q, K and V, the number of keys each query sees,
    and, after the forward pass, its weights P (each row padded with zeros to the number of
    keys its block of queries reads)."""

    __slots__ = ("q_rows", "k_rows", "v_rows", "seen", "scale", "queries", "keys", "P")

    def __init__(self, q_rows, k_rows, v_rows, seen, scale):
        self.q_rows, self.k_rows, self.v_rows = q_rows, k_rows, v_rows
        self.seen, self.scale = seen, scale
        self.queries, self.keys = _plan(seen, len(k_rows))

    def forward(self):
        """S = Q K^T / sqrt(d), P = softmax(S) row by row, Out = P V: the output, flat."""
        q_rows, k_rows, seen, scale = self.q_rows, self.k_rows, self.seen, self.scale
        T_k = len(k_rows)
        zeros = [0.0] * T_k
        v_cols = list(zip(*self.v_rows))
        P, out = [], []
        for t0, t1, end in self.queries:  # queries t0..t1-1 see at most the first `end` keys
            S = dot_products(q_rows[t0:t1], k_rows[:end])  # Q K^T, (t1 - t0, end)
            for t, start in zip(range(t0, t1), range(0, len(S), end)):
                n = seen[t]
                P.append(_softmax(S[start : start + n], scale) + zeros[n:end])
            out += dot_products(P[t0:t1], _first(v_cols, end, T_k))  # P V
        self.P = P
        return out

    def backward(self, g_rows):
        """(dQ, dK, dV) from dOut, the gradient of the output (as rows)."""
        T_k = len(self.k_rows)
        dP = []  # dP = dOut V^T, each row as long as its block's keys
        for t0, t1, end in self.queries:
            rows_of_dP = dot_products(g_rows[t0:t1], self.v_rows[:end])
            dP += [rows_of_dP[j : j + end] for j in range(0, len(rows_of_dP), end)]
        dq, dk = self.scores_backward(dP)
        return dq, dk, _transposed_product(self.P, g_rows, self.keys, T_k)  # dV = P^T dOut

    def scores_backward(self, dP):
        """(dQ, dK) from dP, the gradient of the weights: softmax's backward and the
        scaling's give dS, then dQ = dS K and dK = dS^T Q."""
        T_k = len(self.k_rows)
        zeros = [0.0] * T_k
        scale = self.scale
        dS = [_softmax_backward(p, g, n, scale, zeros) for p, g, n in zip(self.P, dP, self.seen)]
        k_cols = list(zip(*self.k_rows))
        dq = []
        for t0, t1, end in self.queries:
            dq += dot_products(dS[t0:t1], _first(k_cols, end, T_k))  # dS K
        return dq, _transposed_product(dS, self.q_rows, self.keys, T_k)  # dK = dS^T Q


def keys_seen(mask, causal, batch, heads, T_q, T_k):
    """How many keys each query sees, for every (matrix, head) of the attention, when each
    sees the first few: with a causal mask keys 0..t for query t, and a mask (True = may
    attend) may hide keys at the end, the same ones for every query and head (the padding of
    shorter sequences, mask shape (..., 1, 1, T_k) or (..., 1, T_k)). Returns one tuple of
    T_q counts per (matrix, head), or None when the mask is of another kind or hides every
    key from some query: the composed path takes those.
    """
    if mask is None:
        return _unmasked(causal, numel(batch) * (heads or 1), T_q, T_k)
    limit = _unmasked(causal, 1, T_q, T_k)[0]
    shape = tuple(batch) + ((heads,) if heads else ()) + (T_q, T_k)
    m_shape = (1,) * (len(shape) - len(mask.shape)) + tuple(mask.shape)
    shared = 3 if heads else 2  # the axes of keys, queries (and heads) at the end
    if len(m_shape) != len(shape) or m_shape[-1] != T_k or any(n != 1 for n in m_shape[-shared:-1]):
        return None  # not one row of keys for all queries (and heads)
    m_shape = m_shape[:-shared]
    if any(m not in (1, n) for m, n in zip(m_shape, batch)):
        return None
    flags = mask.data
    counts = []  # for each row of the mask: how many keys it shows, or None
    for start in range(0, len(flags), T_k):
        row = [f != 0.0 for f in flags[start : start + T_k]]
        n = row.index(False) if False in row else T_k
        counts.append(n if n and not any(row[n:]) else None)
    index = broadcast_index(m_shape, tuple(batch)) or range(numel(batch))
    lists = {}
    seen = []
    for r in index:
        n = counts[r]
        if n is None:
            return None
        per_query = lists.get(n) or lists.setdefault(n, tuple(min(x, n) for x in limit))
        seen += [per_query] * (heads or 1)
    return seen


@lru_cache(maxsize=256)
def _unmasked(causal, blocks, T_q, T_k):
    """keys_seen without a mask: the same counts for every block (a list to read, not to
    change: it is kept for the next call)."""
    return [tuple(min(t + 1, T_k) if causal else T_k for t in range(T_q))] * blocks


@lru_cache(maxsize=256)
def _plan(seen, T_k):
    """The blocks of one (matrix, head): queries (t0, t1, end): the queries t0..t1-1 see at
    most the first `end` keys; keys (j0, j1, first): the keys j0..j1-1 are seen by the
    queries from `first` on (the counts grow from query to query)."""
    T_q = len(seen)
    if seen[0] == seen[-1]:  # every query sees the same keys: one block each way
        return [(0, T_q, seen[0])], [(0, seen[0], 0)]
    queries = [(t0, min(t0 + BLOCK, T_q)) for t0 in range(0, T_q, BLOCK)]
    queries = [(t0, t1, seen[t1 - 1]) for t0, t1 in queries]
    keys, first = [], 0
    for j0 in range(0, seen[-1], BLOCK):
        while seen[first] <= j0:
            first += 1
        keys.append((j0, min(j0 + BLOCK, seen[-1]), first))
    return queries, keys


def _softmax(scores, scale, exp=math.exp):
    """softmax(scores / scale) of one row, as `Tensor.softmax` computes it (the largest
    scaled score is the largest score, scaled: dividing by scale > 0 keeps the order)."""
    top = max(scores) / scale
    e = [exp(s / scale - top) for s in scores]  # s / scale - top <= 0: never overflows
    total = sum(e)
    return [x / total for x in e]


def _softmax_backward(p, dp, n, scale, zeros):
    """dS for one row of weights p (the first n keys seen) and their gradient dp: softmax's
    rule dS_j = p_j (dp_j - sum_i dp_i p_i), divided by the scale as the scores were; 0
    where the key was not seen. As long as p."""
    dot = sum(map(mul, dp, p))
    return [pj * (g - dot) / scale for pj, g in zip(p[:n], dp)] + zeros[n : len(p)]


def _transposed_product(A, B, keys, T_k):
    """A^T B for A (T_q, T_k) and B (T_q, width), both given as rows (A's rows as long as
    their blocks' keys): row j of the result is sum_t A[t][j] B[t], over the queries that
    see key j (0 for a key none sees)."""
    B_cols = list(zip(*B))
    out = []
    for j0, j1, first in keys:  # (every row from `first` on holds at least j1 numbers)
        A_rows = A if j0 == 0 and len(A[-1]) == j1 else [row[j0:j1] for row in A[first:]]
        A_cols = list(zip(*A_rows))  # columns j0..j1-1 of A, from query `first` on
        out += dot_products(A_cols, [c[first:] for c in B_cols] if first else B_cols)
    unseen = T_k - (keys[-1][1] if keys else 0)
    return out + [0.0] * (unseen * len(B_cols))


def _first(rows, end, length):
    """The first `end` numbers of each row (all `length` of them: the rows themselves)."""
    return rows if end == length else [r[:end] for r in rows]


def _head_rows(flat, start, n_rows, stride, offset, width):
    """Rows of one head: `width` numbers at `offset` in each of n_rows rows of `stride`."""
    begin = start + offset
    return [flat[i : i + width] for i in range(begin, begin + n_rows * stride, stride)]


def _join_heads(pieces, H, T, width):
    """The heads' (T, width) results side by side: (..., T, H * width), row by row. Column c
    of head h is every (H * width)-th number from h * width + c: one strided slice each."""
    out = []
    if H == 1:
        for piece in pieces:
            out += piece
        return out
    row = H * width
    out = [0.0] * (len(pieces) * T * width)
    for i, piece in enumerate(pieces):
        b, h = divmod(i, H)
        start = b * T * row + h * width
        for c in range(width):
            out[start + c : (b + 1) * T * row : row] = piece[c::width]
    return out
