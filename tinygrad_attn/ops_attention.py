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

(dS is softmax's backward rule from ops_matrix.py, then the scaling's.) With a causal mask
query t may look at keys 0..t only: its scores stop there and its weights beyond are 0.

The composed path stays the reference: inside `step_by_step()` (graph pictures) and for
masks other than the causal one, attention takes it. Both do the same products, adding
the same numbers in the same order, so they agree number for number (tests/
test_attention_core.py); where the composed path adds a product of a weight 0 (a masked
position), this one leaves it out, which can change only the sign of a zero (and keeps a
masked inf or nan in V out of the output). How much faster: docs/06 and benchmarks/.
"""

import math
from operator import mul

from .autograd import record
from .kernels import dot_products
from .shapes import check_size, numel

__all__ = ["attention"]


def attention(q, k, v, causal=False, heads=None):
    """(output, weights) of softmax(q k^T / sqrt(d)) v, with a causal mask if `causal`.

    Without `heads`, q is (..., T_q, d), k (..., T_k, d) and v (..., T_k, d_v), as for
    `F.scaled_dot_product_attention`, and the weights are (..., T_q, T_k). With `heads=h`
    the last axes hold h heads side by side (head i in columns [i*d, (i+1)*d), as in
    `nn.MultiHeadAttention`): the output is (..., T_q, h*d_v) and the weights
    (..., h, T_q, T_k). The leading axes of q, k and v must be the same, and with a causal
    mask T_q = T_k.

    >>> from tinygrad_attn import Tensor
    >>> q = k = v = Tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> out, weights = attention(q, k, v, causal=True)
    >>> weights.tolist()[0], out.shape
    ([1.0, 0.0], (2, 2))
    """
    H = heads or 1
    *batch, T_q, D = q.shape
    T_k, Dv = k.shape[-2], v.shape[-1]
    d, dv = D // H, Dv // H
    weights_shape = tuple(batch) + ((H,) if heads else ()) + (T_q, T_k)
    check_size(weights_shape, "attention")
    scale = math.sqrt(d)
    # Which keys each query sees: all of them, or with a causal mask keys 0..t for query t.
    # Queries go in blocks: a block [t0, t1) needs the keys [0, end) and no more, and the
    # keys [t0, t1) are seen by the queries from `first` on.
    if causal:
        seen = list(range(1, T_q + 1))
        spans = [(t0, min(t0 + _BLOCK, T_q)) for t0 in range(0, T_q, _BLOCK)]
        queries = [(t0, t1, t1) for t0, t1 in spans]  # (t0, t1, end)
        keys = [(t0, t1, t0) for t0, t1 in spans]  # (j0, j1, first)
    else:
        seen = [T_k] * T_q
        queries, keys = [(0, T_q, T_k)], [(0, T_k, 0)]
    zeros = [0.0] * T_k
    Q, K, V = q.data, k.data, v.data
    saved = []  # for each matrix and head: its rows of Q, K, V, K's columns, its weights
    outputs = []  # each head's output, (T_q, d_v) row by row
    for b in range(numel(batch)):
        for h in range(H):
            q_rows = _head_rows(Q, b * T_q * D, T_q, D, h * d, d)  # (T_q, d)
            k_rows = _head_rows(K, b * T_k * D, T_k, D, h * d, d)  # (T_k, d)
            v_rows = _head_rows(V, b * T_k * Dv, T_k, Dv, h * dv, dv)  # (T_k, d_v)
            k_cols, v_cols = list(zip(*k_rows)), list(zip(*v_rows))
            P, out = [], []  # P: the weights, row t as long as its block's keys
            for t0, t1, end in queries:
                S = dot_products(q_rows[t0:t1], k_rows[:end])  # Q K^T, (t1 - t0, end)
                for t, start in zip(range(t0, t1), range(0, len(S), end)):
                    n = seen[t]
                    P.append(_softmax(S[start : start + n], scale) + zeros[n:end])
                out += dot_products(P[t0:t1], [c[:end] for c in v_cols])  # Out = P V
            outputs.append(out)
            saved.append((q_rows, k_rows, v_rows, k_cols, P))
    weights = []
    for *_, P in saved:
        for p in P:
            weights += p
            weights += zeros[len(p) :]
    out = _join_heads(outputs, H, T_q, dv)

    def scores_backward(dP, block):
        """dQ and dK of one head from dP, the gradient of its weights: softmax's backward
        and the scaling's give dS, then dQ = dS K and dK = dS^T Q."""
        q_rows, k_rows, _, k_cols, P = block
        dS = [_softmax_backward(p, dp, n, scale) for p, dp, n in zip(P, dP, seen)]
        dq = []
        for t0, t1, end in queries:
            dq += dot_products(dS[t0:t1], [c[:end] for c in k_cols])  # dQ = dS K
        dk = _transposed_product(dS, q_rows, keys)  # dK = dS^T Q
        return dq, dk

    def backward(g):
        dQ, dK, dV = [], [], []
        for block, start in zip(saved, _head_starts(H, T_q, Dv, dv)):
            g_rows = _head_rows(g, start, T_q, Dv, 0, dv)  # dOut of this head, (T_q, d_v)
            v_rows, P = block[2], block[4]
            dP = []
            for t0, t1, end in queries:  # dP = dOut V^T
                rows_of_dP = dot_products(g_rows[t0:t1], v_rows[:end])
                dP += [rows_of_dP[i : i + end] for i in range(0, len(rows_of_dP), end)]
            dq, dk = scores_backward(dP, block)
            dQ.append(dq)
            dK.append(dk)
            dV.append(_transposed_product(P, g_rows, keys))  # dV = P^T dOut
        return _join_heads(dQ, H, T_q, d), _join_heads(dK, H, T_k, d), _join_heads(dV, H, T_k, dv)

    def weights_backward(g):  # the weights' own gradient, when a loss reads them
        dQ, dK = [], []
        for block, start in zip(saved, range(0, len(g), T_q * T_k)):
            dP = [g[start + t * T_k : start + t * T_k + T_k] for t in range(T_q)]
            dq, dk = scores_backward(dP, block)
            dQ.append(dq)
            dK.append(dk)
        return _join_heads(dQ, H, T_q, d), _join_heads(dK, H, T_k, d)

    out_shape = q.shape[:-1] + (H * dv,)
    output = record(out, out_shape, "attention", (q, k, v), backward, saves="inputs")
    weights = record(weights, weights_shape, "attention weights", (q, k), weights_backward)
    return output, weights.named("weights")


_BLOCK = 8  # queries per block with a causal mask


def _softmax(scores, scale, exp=math.exp):
    """softmax(scores / scale) of one row, as `Tensor.softmax` computes it (the largest
    scaled score is the largest score, scaled: dividing by scale > 0 keeps the order)."""
    top = max(scores) / scale
    e = [exp(s / scale - top) for s in scores]  # s / scale - top <= 0: never overflows
    total = sum(e)
    return [x / total for x in e]


def _softmax_backward(p, dp, n, scale):
    """dS for one row of weights p (its first n seen) and their gradient dp: softmax's rule
    dS_j = p_j (dp_j - sum_i dp_i p_i), divided by the scale as the scores were; 0 where
    the key was not seen."""
    dot = sum(map(mul, dp, p))
    return [pj * (g - dot) / scale for pj, g in zip(p[:n], dp)] + [0.0] * (len(p) - n)


def _transposed_product(A, B, keys):
    """A^T B for A (T_q, T_k) given as rows (row t as long as its block's keys: zero
    beyond) and B (T_q, width) as rows: row j of the result is sum_t A[t][j] B[t], over
    the queries that see key j."""
    B_cols = list(zip(*B))
    out = []
    for j0, j1, first in keys:
        A_cols = list(zip(*[row[j0:j1] for row in A[first:]]))  # columns j0..j1 of A
        out += dot_products(A_cols, [c[first:] for c in B_cols])
    return out


def _head_rows(flat, start, n_rows, stride, offset, width):
    """Rows of one head: `width` numbers at `offset` in each of n_rows rows of `stride`."""
    begin = start + offset
    return [flat[i : i + width] for i in range(begin, begin + n_rows * stride, stride)]


def _head_starts(H, T, D, width):
    """Where each (matrix, head) block's first row starts in a (..., T, H * width) layout,
    in the order of `blocks`; the rows are D apart."""
    b = 0
    while True:
        for h in range(H):
            yield b * T * D + h * width
        b += 1


def _join_heads(pieces, H, T, width):
    """The heads' (T, width) results side by side: (..., T, H * width), row by row."""
    if H == 1:
        return [x for piece in pieces for x in piece]
    out = []
    for b in range(0, len(pieces), H):
        group = pieces[b : b + H]
        for t in range(0, T * width, width):
            for piece in group:
                out += piece[t : t + width]
    return out
