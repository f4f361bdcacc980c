"""Layer norm and cross-entropy as one op each, with their backward passes written out.

functional.py builds both from primitives: layer norm is nine ops (mean, subtract, square,
mean, add eps, sqrt, divide, scale, shift) and cross-entropy about ten (max, subtract, exp,
sum, log, subtract, pick, mean, negate). A transformer calls layer norm twice per block and
once more at the end, and every training step ends in cross-entropy; on a short sentence
each of those ops costs more in bookkeeping than in arithmetic. So here each is ONE op: the
numbers in between are plain lists, and the backward pass is the chain rule through all of
them, written out as formulas.

Layer norm, for each row x of n numbers, with weight w and bias b:

    mean = sum(x) / n      c = x - mean      var = sum(c * c) / n      s = sqrt(var + eps)
    x_hat = c / s          y = x_hat * w + b
    dw = sum over rows of dy * x_hat         db = sum over rows of dy
    dx_hat = dy * w
    dx = (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / s

Cross-entropy, for N rows of logits x, row r's right class t_r:

    loss = -(1/N) * sum over rows of log softmax(x_r)[t_r]
    log softmax(x)[t] = (x[t] - top) - log(sum(exp(x - top)))     (top = max(x))
    dx_r = g / N * (softmax(x_r) - one_hot(t_r))

The forward passes do the composed ops' arithmetic in the same order, so they give the same
numbers; the gradients are equal within rounding (the formulas add in another order).
functional.py takes the composed ops inside `step_by_step()` (graph pictures show every
step) and for numbers that are not all finite, where IEEE-754's rules for inf and nan are
the composed ops' to apply; the tests check that the two ways agree. How much faster: docs/06
and benchmarks/ (workload E).
"""

import math

from .autograd import record

__all__ = ["layer_norm", "cross_entropy"]


def layer_norm(x, weight, bias, eps):
    """Layer norm over the last axis as one op; `weight` and `bias` hold one number per
    entry of that axis. None where the composed ops should do it: numbers that are not all
    finite, a row with nothing to divide by (eps = 0 and all its numbers equal), or one
    whose variance is too large for a float.

    >>> from tinygrad_attn import Tensor
    >>> y = layer_norm(Tensor([[1.0, 2.0, 3.0]]), Tensor.ones(3), Tensor.zeros(3), 1e-5)
    >>> [round(v, 3) for v in y.tolist()[0]], y.op
    ([-1.225, 0.0, 1.225], 'layer_norm')
    """
    X, W, B = x.data, weight.data, bias.data
    n = x.shape[-1]
    if not math.isfinite(sum(X) + sum(W) + sum(B)):  # (a sum too large for a float, too)
        return None
    sqrt = math.sqrt
    out, x_hats, stds = [], [], []
    for start in range(0, len(X), n):
        row = X[start : start + n]
        mean = sum(row, 0.0) / n
        c = [v - mean for v in row]
        s = sqrt(sum([ci * ci for ci in c], 0.0) / n + eps)
        if not 0.0 < s < math.inf:
            return None  # 0 / 0 or a variance too large for a float: the composed ops' case
        x_hat = [ci / s for ci in c]
        out += [h * wi + bi for h, wi, bi in zip(x_hat, W, B)]
        x_hats.append(x_hat)
        stds.append(s)

    def backward(g):
        dx, dw, db = [], [0.0] * n, [0.0] * n
        for r, (x_hat, s) in enumerate(zip(x_hats, stds)):
            dy = g[r * n : (r + 1) * n]
            dw = [a + d * h for a, d, h in zip(dw, dy, x_hat)]  # dw = sum of dy * x_hat
            db = [a + d for a, d in zip(db, dy)]  # db = sum of dy
            dx_hat = [d * wi for d, wi in zip(dy, W)]  # dx_hat = dy * w
            mean_d = sum(dx_hat, 0.0) / n
            mean_dh = sum([d * h for d, h in zip(dx_hat, x_hat)], 0.0) / n
            # dx = (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)) / s
            dx += [(d - mean_d - h * mean_dh) / s for d, h in zip(dx_hat, x_hat)]
        return dx, dw, db

    return record(out, x.shape, "layer_norm", (x, weight, bias), backward, saves="inputs")


def cross_entropy(logits, targets):
    """The mean over rows of -log softmax(row)[target] as one op: `logits` (N, classes),
    `targets` N class ids, checked by the caller. None where the composed ops should do it:
    logits that are not all finite, or no rows.

    >>> from tinygrad_attn import Tensor
    >>> loss = cross_entropy(Tensor([[2.0, 0.0], [0.0, 2.0]]), [0, 1])
    >>> round(loss.item(), 4), loss.op
    (0.1269, 'cross_entropy')
    """
    X = logits.data
    N, C = len(targets), logits.shape[-1]
    if not N or not math.isfinite(sum(X)):
        return None
    exp, log = math.exp, math.log
    picked, probs = [], []  # log softmax(row)[target], and softmax(row), row by row
    for r, t in enumerate(targets):
        row = X[r * C : (r + 1) * C]
        top = max(row)  # subtracted so exp never overflows; it cancels out
        e = [exp(v - top) for v in row]
        total = sum(e, 0.0)
        picked.append((row[t] - top) - log(total))
        probs.append([ei / total for ei in e])
    loss = -(sum(picked) / N)

    def backward(g):
        # d(loss)/dx = g / N * (softmax(x) - one_hot(target)), row by row
        scale = g[0] / N
        grad = []
        for p, t in zip(probs, targets):
            d = [pi * scale for pi in p]
            d[t] = (p[t] - 1.0) * scale
            grad += d
        return (grad,)

    return record([loss], (), "cross_entropy", (logits,), backward, saves="nothing")
