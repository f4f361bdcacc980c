"""One causal multi-head attention layer, forward and backward, written out by hand.

No graph, no engine: plain lists of floats, explicit loops, `sum(map(mul, a, b))` for every
dot product (the multiply-adds run in C), and only what the gradients need. Masked positions
(a word looking at later words) are skipped instead of computed and thrown away. This is the
speed a pure-Python autograd engine cannot easily beat: the bar for the Tensor engine.

    q, k, v = x W_q, x W_k, x W_v                       (T, d_model) each, split into heads
    weights = softmax(q k^T / sqrt(d_head)), causal     (heads, T, T)
    y       = concat_heads(weights v) W_o                (T, d_model)
    loss    = mean(y * y)
"""

import math
from operator import mul

__all__ = ["attention_loss_and_grads"]


def matmul(a, b):
    """a @ b for lists of rows: every row of a . every column of b."""
    cols = list(zip(*b))
    return [[sum(map(mul, row, col)) for col in cols] for row in a]


def transpose(a):
    return [list(col) for col in zip(*a)]


def attention_loss_and_grads(x, w_q, w_k, w_v, w_o, heads):
    """(loss, [dW_q, dW_k, dW_v, dW_o]) of the layer; x is (T, d_model), each W (d_model,
    d_model), all lists of rows of floats.

    >>> x, w = [[1.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]]
    >>> loss, grads = attention_loss_and_grads(x, w, w, w, w, heads=1)
    >>> loss                       # one word attends to itself: y = x, mean(y*y) = 1/2
    0.5
    """
    T, d_model = len(x), len(x[0])
    d_head = d_model // heads
    scale = 1.0 / math.sqrt(d_head)
    q, k, v = matmul(x, w_q), matmul(x, w_k), matmul(x, w_v)  # (T, d_model)
    concat = [[0.0] * d_model for _ in range(T)]  # the heads' outputs, side by side
    saved = []  # per head what backward needs: its rows of q, k, v and its weights
    for h in range(heads):
        cols = slice(h * d_head, (h + 1) * d_head)
        qh, kh, vh = [r[cols] for r in q], [r[cols] for r in k], [r[cols] for r in v]
        v_cols = list(zip(*vh))  # column c: that dimension of every word's value
        weights = []  # row t holds the weights of words 0..t (later words are masked)
        for t in range(T):
            q_t = qh[t]
            scores = [scale * sum(map(mul, q_t, k_s)) for k_s in kh[: t + 1]]
            top = max(scores)
            e = [math.exp(sc - top) for sc in scores]
            total = sum(e)
            p = [ei / total for ei in e]
            weights.append(p)
            # p @ v; map stops at the shorter list, so only words 0..t are used
            concat[t][cols] = [sum(map(mul, p, col)) for col in v_cols]
        saved.append((qh, kh, vh, weights))
    y = matmul(concat, w_o)  # (T, d_model)
    n = T * d_model
    loss = sum(yi * yi for row in y for yi in row) / n

    # ---- backward: the same steps in reverse, each with its derivative
    dy = [[2.0 * yi / n for yi in row] for row in y]  # d mean(y*y) / dy = 2y / n
    dw_o = matmul(transpose(concat), dy)  # y = concat @ W_o
    dconcat = matmul(dy, transpose(w_o))
    dq, dk, dv = ([[] for _ in range(T)] for _ in range(3))  # filled head by head
    for h, (qh, kh, vh, weights) in enumerate(saved):
        dout = [r[h * d_head : (h + 1) * d_head] for r in dconcat]  # d(this head's output)
        q_cols, k_cols, dout_cols = list(zip(*qh)), list(zip(*kh)), list(zip(*dout))
        dscores = []
        for t, p in enumerate(weights):
            dout_t = dout[t]
            dp = [sum(map(mul, dout_t, v_s)) for v_s in vh[: t + 1]]  # out = p @ v
            dot = sum(map(mul, p, dp))
            # softmax: d score_s = p_s (dp_s - sum_j p_j dp_j); times the 1/sqrt(d_head) scale
            ds = [scale * ps * (dps - dot) for ps, dps in zip(p, dp)]
            dscores.append(ds)
            dq[t] += [sum(map(mul, ds, col)) for col in k_cols]  # ds @ k
        for s in range(T):  # key/value s receives from every query t >= s
            ds_col = [dscores[t][s] for t in range(s, T)]
            p_col = [weights[t][s] for t in range(s, T)]
            dk[s] += [sum(map(mul, ds_col, col[s:])) for col in q_cols]  # ds^T @ q
            dv[s] += [sum(map(mul, p_col, col[s:])) for col in dout_cols]  # p^T @ dout
    x_t = transpose(x)
    grads = [matmul(x_t, dq), matmul(x_t, dk), matmul(x_t, dv), dw_o]  # dW = x^T @ d(x W)
    return loss, grads
