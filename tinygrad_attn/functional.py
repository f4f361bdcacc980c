"""Attention and its helpers as plain functions of tensors: each body is its formula.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V

`scaled_dot_product_attention` is that line: scores (how well each word's query matches each
word's key), scaled by 1/sqrt(d_k) so they do not grow with the dimension, masked where a word
may not look, turned into probabilities by softmax (each row sums to 1), and used to take a
weighted average of the values.

Everything here is composed from Tensor ops, so every gradient comes from their backward
functions: nothing new to trust, and `gradcheck` confirms it. The tensors attention computes
carry the names the explanation uses (`scores`, `scaled scores`, `weights`), which graph
pictures show. Attention, layer norm and cross-entropy also run as one op each, with the
same numbers and their backward passes written out (ops_attention.py, ops_fused.py), except
inside `step_by_step()`, where graph pictures show every step.
"""

import math
from functools import lru_cache

from . import ops_fused
from .autograd import fused
from .ops_attention import attention, attention_layer, keys_seen
from .shapes import check_size
from .tensor import Tensor, random_generator

__all__ = [
    "softmax",
    "log_softmax",
    "cross_entropy",
    "layer_norm",
    "scaled_dot_product_attention",
    "causal_mask",
    "sinusoidal_positions",
    "dropout",
    "gelu",
]


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis`.

    >>> [round(p, 3) for p in softmax(Tensor([0.0, 0.0, math.log(2)])).tolist()]
    [0.25, 0.25, 0.5]
    """
    _need_tensor(x, "softmax", "x")
    return x.softmax(axis)


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, computed stably.

    >>> [round(v, 4) for v in log_softmax(Tensor([0.0, 0.0])).tolist()]
    [-0.6931, -0.6931]
    """
    _need_tensor(x, "log_softmax", "x")
    return x.log_softmax(axis)


def cross_entropy(logits, targets):
    """The mean over rows of -log(softmax(logits)[target]): small when the model gives the
    right class a high probability. `logits` has shape (..., classes); `targets` holds one
    class id per row (a list of ints, nested lists, or a Tensor of whole numbers).

    >>> loss = cross_entropy(Tensor([[2.0, 0.0], [0.0, 2.0]]), [0, 1])
    >>> round(loss.item(), 4)      # -log(e^2 / (e^2 + 1))
    0.1269
    """
    _need_tensor(logits, "cross_entropy", "logits")
    if logits.ndim < 1:
        raise ValueError("cross_entropy: logits need a class axis, got a 0-d tensor")
    classes = logits.shape[-1]
    ids = _class_ids(targets)
    rows = len(logits.data) // classes if classes else 0
    if len(ids) != rows:
        raise ValueError(
            f"cross_entropy: {rows} rows of logits (shape {logits.shape}) but {len(ids)} "
            f"targets; give one target per row"
        )
    for t in ids:
        if not 0 <= t < classes:
            raise ValueError(
                f"cross_entropy: target {t} is out of range for {classes} classes "
                f"(valid: 0..{classes - 1})"
            )
    if fused():  # the steps below as one op, with the same numbers (ops_fused.py)
        loss = ops_fused.cross_entropy(logits.reshape(rows, classes), ids)
        if loss is not None:
            return loss.named("loss")
    logp = logits.reshape(rows, classes).log_softmax(-1)  # (rows, classes)
    # pick each row's log p(target): row r's target sits at flat position r * classes + t.
    # (Picking, not multiplying by a one-hot mask: 0 * -inf would be nan for a masked class.)
    picked = logp.reshape(rows * classes)[[r * classes + t for r, t in enumerate(ids)]]
    return (-picked.mean()).named("loss")


def layer_norm(x, weight=None, bias=None, eps=1e-5):
    """Normalise the last axis to mean 0 and variance 1, then scale by `weight` and shift by
    `bias`: (x - mean) / sqrt(var + eps) * weight + bias.

    >>> [round(v, 3) for v in layer_norm(Tensor([1.0, 2.0, 3.0])).tolist()]
    [-1.225, 0.0, 1.225]
    """
    _check_layer_norm(x, weight, bias, eps)
    if fused() and _one_per_entry(x, weight) and _one_per_entry(x, bias):
        out = ops_fused.layer_norm(x, weight, bias, eps)  # the steps below as one op
        if out is not None:
            return out
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=-1, keepdims=True)  # the biased variance, as PyTorch
    out = centered / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    """softmax(q k^T / sqrt(d_k)) v, returning (output, attention weights).

    q: (..., T_q, d_k), k: (..., T_k, d_k), v: (..., T_k, d_v). `mask` is boolean (a Tensor
    or nested lists) that broadcasts to (..., T_q, T_k): True where a query may attend to a
    key. `causal=True` also stops each position from looking at later positions. A query
    that may look at no key at all (a padding position whose keys are all masked) gets
    weights 0 and output 0, with finite gradients, as PyTorch's
    `scaled_dot_product_attention` gives it (a softmax over nothing would be 0/0 = nan).

    >>> q = k = v = Tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> out, weights = scaled_dot_product_attention(q, k, v, causal=True)
    >>> weights.tolist()[0]            # the first word can only look at itself
    [1.0, 0.0]
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        _need_tensor(t, "attention", name)
        if t.ndim < 2:
            raise ValueError(f"attention: {name} needs shape (..., T, d), got {t.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"attention: q and k must have the same last size d_k, got {q.shape} and {k.shape}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"attention: k and v must hold the same number of positions, got {k.shape} and "
            f"{v.shape}"
        )
    one_op = one_op_attention(q, k, v, mask, causal)
    if one_op:  # the steps below as one op, with the same numbers (ops_attention.py)
        out, weights = one_op
        return out.named("output"), weights
    d_k = q.shape[-1]
    scores = (q @ k.transpose(-2, -1)).named("scores")  # (..., T_q, T_k)
    scores = (scores / math.sqrt(d_k)).named("scaled scores")
    blocked = _blocked_positions(mask, causal, scores.shape)
    looks = None  # 0 for the queries that may look at no key, 1 for the others
    if mask is not None:  # (a causal mask alone leaves every query its own position)
        blocked, looks = _queries_that_look(blocked)
    if blocked is not None:
        scores = scores.masked_fill(blocked, -math.inf)  # exp(-inf) = 0: no attention there
        scores = scores.named("masked scores")
    weights = scores.softmax(-1).named("weights")  # (..., T_q, T_k), each row sums to 1
    if looks is not None:  # rows with no key to look at: no attention at all, 0 not nan
        weights = (weights * looks).named("weights")  # (..., T_q, T_k) * (..., T_q, 1)
    return (weights @ v).named("output"), weights  # (..., T_q, d_v)


def one_op_attention(q, k, v, mask, causal, heads=None):
    """Attention as one op (ops_attention.py): (output, weights), or None where it does not
    apply: inside step_by_step(), for q, k and v with different leading axes or an axis of
    size 0, and for masks that hide more than padding at the end of the keys."""
    if not fused() or not q.shape[:-2] == k.shape[:-2] == v.shape[:-2]:
        return None
    if not (all(q.shape) and all(k.shape) and all(v.shape)):
        return None
    allowed = None if mask is None else mask if isinstance(mask, Tensor) else Tensor(mask)
    seen = keys_seen(allowed, causal, q.shape[:-2], heads, q.shape[-2], k.shape[-2])
    return None if seen is None else attention(q, k, v, seen, heads)


def one_op_attention_layer(x, w_q, w_k, w_v, w_o, mask, causal, heads):
    """The whole multi-head attention layer with the weights W_q, W_k, W_v, W_o (no
    biases) as one op (ops_attention.py): (output, weights), or None where
    `one_op_attention` would decline."""
    square = (x.shape[-1], x.shape[-1])  # (d_model, d_model)
    if not fused() or not all(x.shape) or any(w.shape != square for w in (w_q, w_k, w_v, w_o)):
        return None
    allowed = None if mask is None else mask if isinstance(mask, Tensor) else Tensor(mask)
    T = x.shape[-2]
    seen = keys_seen(allowed, causal, x.shape[:-2], heads, T, T)
    return None if seen is None else attention_layer(x, w_q, w_k, w_v, w_o, seen, heads)


def causal_mask(T):
    """(T, T) boolean Tensor, True where position i may attend to position j, i.e. j <= i.

    >>> causal_mask(3).tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    """
    if isinstance(T, bool) or not isinstance(T, int) or T < 1:
        raise ValueError(f"causal_mask: T must be a positive int, got {T!r}")
    check_size((T, T), "causal_mask")
    return Tensor._wrap(list(_causal(T, T, allowed=True)), (T, T))


def sinusoidal_positions(T, d):
    """The fixed position code of "Attention Is All You Need": row t holds
    sin(t / 10000^(2i/d)) in column 2i and cos(t / 10000^(2i/d)) in column 2i+1.

    >>> [round(v, 3) for v in sinusoidal_positions(2, 4).tolist()[1]]
    [0.841, 0.54, 0.01, 1.0]
    """
    for name, n in (("T", T), ("d", d)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"sinusoidal_positions: {name} must be a positive int, got {n!r}")
    check_size((T, d), "sinusoidal_positions")
    rows = []
    for t in range(T):
        row = []
        for col in range(d):
            angle = t / 10000 ** ((col - col % 2) / d)
            row.append(math.sin(angle) if col % 2 == 0 else math.cos(angle))
        rows.append(row)
    return Tensor(rows)


def gelu(x):
    """GELU, x * Phi(x) (Phi: the normal distribution's cumulative probability), as
    `torch.nn.functional.gelu`: the smooth relu of GPT's feed-forward layers.

    >>> [round(v, 4) for v in gelu(Tensor([-1.0, 0.0, 2.0])).tolist()]
    [-0.1587, 0.0, 1.9545]
    """
    _need_tensor(x, "gelu", "x")
    return x.gelu()


def dropout(x, p=0.5, training=True, rng=None):
    """While `training`, each number of `x` becomes 0 with probability `p` and the others
    are scaled by 1 / (1 - p), which keeps every number's expected value; otherwise `x` is
    returned as it is. `rng` is a seed or `random.Random` (default: the default generator).

    >>> dropout(Tensor([1.0, 1.0, 1.0, 1.0]), p=0.5, rng=1).tolist()
    [0.0, 2.0, 2.0, 0.0]
    >>> dropout(Tensor([1.0, 1.0]), p=0.5, training=False).tolist()
    [1.0, 1.0]
    """
    _need_tensor(x, "dropout", "x")
    _check_probability(p, "dropout")
    if not training or p == 0:
        return x
    gen = random_generator(rng)
    scale = 1.0 / (1.0 - p) if p < 1 else 0.0  # p = 1 drops everything
    mask = [0.0 if gen.random() < p else scale for _ in range(len(x.data))]
    return x * Tensor._wrap(mask, x.shape, "dropout mask")  # a dropped number: gradient 0


# ---------------------------------------------------------------------- helpers


@lru_cache(maxsize=64)
def _causal(T_q, T_k, allowed):
    """Flat (T_q, T_k) mask numbers: 1.0 where key j is allowed (j <= i) or, with
    allowed=False, where it is blocked."""
    return tuple(1.0 if (j <= i) == allowed else 0.0 for i in range(T_q) for j in range(T_k))


def _blocked_positions(mask, causal, scores_shape):
    """The positions a query may NOT attend to, as a mask for masked_fill (True = blocked)."""
    T_q, T_k = scores_shape[-2:]
    blocked = None
    if causal:
        blocked = Tensor._wrap(list(_causal(T_q, T_k, allowed=False)), (T_q, T_k))
    if mask is not None:
        allowed = mask if isinstance(mask, Tensor) else Tensor(mask)
        if not _broadcasts_to(allowed.shape, scores_shape):
            raise ValueError(
                f"attention: mask of shape {allowed.shape} does not fit the scores of shape "
                f"{scores_shape} (it must broadcast to (..., T_q, T_k) = (..., {T_q}, {T_k}))"
            )
        not_allowed = Tensor._wrap([0.0 if a else 1.0 for a in allowed.data], allowed.shape)
        if blocked is None:
            blocked = not_allowed
        else:  # blocked if either says so
            merged = blocked + not_allowed
            blocked = Tensor._wrap([1.0 if b else 0.0 for b in merged.data], merged.shape)
    return blocked


def _queries_that_look(blocked):
    """(blocked, looks) for a blocked-positions mask of shape (..., T_q, T_k or 1). A row
    blocked everywhere would be a softmax of nothing but -inf (0/0 = nan); it is unblocked
    here, so that its softmax is finite, and `looks` (..., T_q, 1) is 0.0 there and 1.0
    elsewhere, to multiply its weights by. `looks` is None when every row has a key."""
    shape = blocked.shape if blocked.ndim > 1 else (1,) + blocked.shape
    n = shape[-1]
    flags = blocked.data
    dead = [all(flags[i : i + n]) for i in range(0, len(flags), n)]  # one flag per row
    if not any(dead):
        return blocked, None
    unblocked = []
    for row, gone in enumerate(dead):
        unblocked += [0.0] * n if gone else flags[row * n : (row + 1) * n]
    looks = Tensor._wrap([0.0 if gone else 1.0 for gone in dead], shape[:-1] + (1,))
    return Tensor._wrap(unblocked, shape), looks


def _need_tensor(x, function, name):
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{function}: {name} must be a Tensor, got {type(x).__name__}; wrap it: Tensor({name})"
        )


def _check_probability(p, function):
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{function}: p must be a number, got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(
            f"{function}: p is the chance to drop each number, between 0 and 1 (e.g. 0.1), got {p}"
        )


def _check_eps(eps, function):
    """eps keeps a division away from 0: a finite number >= 0."""
    if isinstance(eps, bool) or not isinstance(eps, (int, float)):
        raise TypeError(f"{function}: eps must be a number, got {type(eps).__name__}")
    if not 0.0 <= eps < math.inf:
        raise ValueError(f"{function}: eps must be a finite number >= 0 (e.g. 1e-5), got {eps}")


def _check_layer_norm(x, weight, bias, eps):
    _need_tensor(x, "layer_norm", "x")
    if x.ndim == 0:
        raise ValueError("layer_norm: x needs an axis to normalise (the last), got a 0-d tensor")
    _check_eps(eps, "layer_norm")
    for name, p in (("weight", weight), ("bias", bias)):
        shape = () if p is None else p.shape if isinstance(p, Tensor) else Tensor(p).shape
        if not _broadcasts_to(shape, x.shape[-1:]):
            raise ValueError(
                f"layer_norm: {name} of shape {shape} does not fit inputs of shape {x.shape}; "
                f"it needs one number per entry of the last axis ({x.shape[-1]})"
            )


def _one_per_entry(x, p):
    """Is `p` a Tensor with one number per entry of x's last axis (as nn.LayerNorm's)?"""
    return isinstance(p, Tensor) and p.shape == x.shape[-1:]


def _broadcasts_to(shape, target):
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(reversed(shape), reversed(target)))


def _class_ids(targets):
    if isinstance(targets, Tensor):
        values = targets.data
    elif isinstance(targets, (list, tuple)):
        values = _flatten(targets)
    elif isinstance(targets, int) and not isinstance(targets, bool):
        values = [targets]
    else:
        raise TypeError(
            f"cross_entropy: targets must be a list of ints or a Tensor, got "
            f"{type(targets).__name__}"
        )
    ids = []
    for t in values:
        whole = isinstance(t, int) or (isinstance(t, float) and t.is_integer())
        if isinstance(t, bool) or not whole:
            raise TypeError(f"cross_entropy: targets must be whole numbers, got {t!r}")
        ids.append(int(t))
    return ids


def _flatten(items):
    """Nested lists -> their items in order (a stack of our own: any depth works; a list
    that contains itself is refused)."""
    out, stack, around = [], [(iter(items), id(items))], {id(items)}
    while stack:
        for item in stack[-1][0]:
            if isinstance(item, (list, tuple)):
                if id(item) in around:
                    raise ValueError("cross_entropy: the targets list contains itself")
                stack.append((iter(item), id(item)))
                around.add(id(item))
                break
            out.append(item)
        else:  # this list is done
            around.discard(stack.pop()[1])
    return out
