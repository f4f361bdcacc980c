"""Layers: each is one idea of the transformer, with the names of the formulas.

    head_i    = Attention(X W_i^Q, X W_i^K, X W_i^V)
    MultiHead = Concat(head_1, ..., head_h) W^O

`Linear` is `y = x @ W + b` (weight stored as (in, out): the formula's orientation, not
PyTorch's transposed storage). `AttentionHead` is one head_i. `MultiHeadAttention` computes all
heads at once: head i uses columns [i*d_head, (i+1)*d_head) of the projected Q, K and V, the
heads run side by side along their own axis, and are concatenated and projected by W^O.

Every layer is a `Module` (module.py): it finds and names its parameters
("blocks.0.attn.w_q.weight"), draws as a box in graph pictures, and saves to JSON.
`Dropout` is the one layer that acts differently while training (`model.train()`, the
start) and while evaluating (`model.eval()`).
"""

import math

from .. import functional as F
from ..autograd import scope
from ..module import Module
from ..shapes import check_size
from ..tensor import Tensor, random_generator

__all__ = [
    "Module",
    "Linear",
    "Embedding",
    "LayerNorm",
    "AttentionHead",
    "MultiHeadAttention",
    "FeedForward",
    "TransformerBlock",
    "TinyTransformer",
    "Dropout",
]


def _check_width(module, x, width):
    if not isinstance(x, Tensor):
        raise TypeError(f"{type(module).__name__}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim == 0 or x.shape[-1] != width:
        raise ValueError(
            f"{type(module).__name__}: expected inputs of width {width} (the last axis), got "
            f"shape {x.shape} with width {x.shape[-1] if x.shape else 'none'}"
        )


def _positive(**sizes):
    for name, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{name} must be a positive int, got {n!r}")


def _uniform(shape, bound, rng):
    n = check_size(shape, "Linear")  # nn.Linear(10**6, 10**6) is refused before it fills memory
    return Tensor._wrap([rng.uniform(-bound, bound) for _ in range(n)], shape)


def _parameter(t):
    t.requires_grad = True
    return t


# ---------------------------------------------------------------------- layers


class Linear(Module):
    """y = x @ W + b, with W of shape (in_features, out_features).

    Initialised like PyTorch: uniform in +-1/sqrt(in_features). `rng` (a seed or
    `random.Random`) makes it reproducible; without it the default generator is used.

    >>> layer = Linear(3, 2, rng=0)
    >>> layer.weight.shape, layer.bias.shape
    ((3, 2), (2,))
    >>> layer(Tensor.ones(4, 3)).shape
    (4, 2)
    """

    def __init__(self, in_features, out_features, bias=True, rng=None):
        _positive(in_features=in_features, out_features=out_features)
        gen = random_generator(rng)
        bound = 1.0 / math.sqrt(in_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = _parameter(_uniform((in_features, out_features), bound, gen))
        self.bias = _parameter(_uniform((out_features,), bound, gen)) if bias else None

    def forward(self, x):
        _check_width(self, x, self.in_features)
        y = x @ self.weight  # (..., in) @ (in, out) -> (..., out)
        return y + self.bias if self.bias is not None else y

    def __repr__(self):
        return f"Linear({self.in_features}, {self.out_features}, bias={self.bias is not None})"


class Embedding(Module):
    """A table of learned vectors, one row per token id: ids (...) -> vectors (..., dim).
    The vectors start as random normal numbers with standard deviation `std`.

    >>> emb = Embedding(10, 4, rng=0)
    >>> emb([[1, 2, 3]]).shape
    (1, 3, 4)
    """

    def __init__(self, num, dim, rng=None, std=1.0):
        _positive(num=num, dim=dim)
        check_size((num, dim), "Embedding")
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not 0 < std < math.inf:
            raise ValueError(f"Embedding: std must be a finite number > 0, got {std!r}")
        gen = random_generator(rng)
        self.num, self.dim = num, dim
        self.weight = _parameter(Tensor.randn(num, dim, rng=gen))
        if std != 1.0:
            self.weight.data[:] = [std * x for x in self.weight.data]

    def forward(self, ids):
        flat, shape = _token_ids(ids)
        for i in flat:
            if not 0 <= i < self.num:
                raise IndexError(f"Embedding: id {i} is out of range for {self.num} rows")
        return self.weight[flat].reshape(*shape, self.dim)  # pick rows, then (..., dim)

    def __repr__(self):
        return f"Embedding({self.num}, {self.dim})"


class LayerNorm(Module):
    """Normalise each vector to mean 0 and variance 1, then scale and shift (learned).

    >>> LayerNorm(4)(Tensor.randn(2, 4, rng=0)).shape
    (2, 4)
    """

    def __init__(self, dim, eps=1e-5):
        _positive(dim=dim)
        F._check_eps(eps, "LayerNorm")
        self.dim, self.eps = dim, eps
        self.weight = _parameter(Tensor.ones(dim))
        self.bias = _parameter(Tensor.zeros(dim))

    def forward(self, x):
        _check_width(self, x, self.dim)
        return F.layer_norm(x, self.weight, self.bias, self.eps)


class AttentionHead(Module):
    """One head: head = Attention(X W^Q, X W^K, X W^V), with W^Q, W^K, W^V of shape
    (d_model, d_head). After each call `.attention` holds the weights, shape (..., T, T).

    >>> head = AttentionHead(d_model=3, d_head=2, rng=0)
    >>> head(Tensor.randn(4, 3, rng=1)).shape
    (4, 2)
    """

    def __init__(self, d_model, d_head, causal=False, rng=None):
        _positive(d_model=d_model, d_head=d_head)
        gen = random_generator(rng)
        self.d_model, self.d_head, self.causal = d_model, d_head, causal
        self.w_q = Linear(d_model, d_head, bias=False, rng=gen)  # Q: what am I looking for?
        self.w_k = Linear(d_model, d_head, bias=False, rng=gen)  # K: where can I find it?
        self.w_v = Linear(d_model, d_head, bias=False, rng=gen)  # V: what is the actual content?
        self.attention = None

    def forward(self, x, mask=None):
        _check_width(self, x, self.d_model)
        q, k, v = self.w_q(x).named("Q"), self.w_k(x).named("K"), self.w_v(x).named("V")
        out, self.attention = F.scaled_dot_product_attention(q, k, v, mask, self.causal)
        return out.named("head")  # (..., T, d_head)


class MultiHeadAttention(Module):
    """Concat(head_1, ..., head_h) W^O, with all heads computed at once.

    `w_q`, `w_k`, `w_v`, `w_o` are Linear(d_model, d_model); head i uses columns
    [i*d_head, (i+1)*d_head) of the projected Q, K and V. Input (T, d_model) or
    (B, T, d_model); after each call `.attention` holds the weights, shape (..., heads, T, T).

    >>> mha = MultiHeadAttention(d_model=4, num_heads=2, rng=0)
    >>> mha(Tensor.randn(3, 4, rng=1)).shape, mha.attention.shape
    ((3, 4), (2, 3, 3))
    """

    def __init__(self, d_model, num_heads, bias=False, causal=False, rng=None):
        _positive(d_model=d_model, num_heads=num_heads)
        if d_model % num_heads:
            raise ValueError(
                f"d_model must be divisible by num_heads: {d_model} is not divisible by "
                f"{num_heads} (each head gets d_model / num_heads columns)"
            )
        gen = random_generator(rng)
        self.d_model, self.num_heads, self.causal = d_model, num_heads, causal
        self.d_head = d_model // num_heads
        self.w_q = Linear(d_model, d_model, bias=bias, rng=gen)
        self.w_k = Linear(d_model, d_model, bias=bias, rng=gen)
        self.w_v = Linear(d_model, d_model, bias=bias, rng=gen)
        self.w_o = Linear(d_model, d_model, bias=bias, rng=gen)
        self.attention = None

    def forward(self, x, mask=None):
        _check_width(self, x, self.d_model)
        if x.ndim not in (2, 3):
            raise ValueError(
                f"MultiHeadAttention: input must be (T, d_model) or (B, T, d_model), got {x.shape}"
            )
        *batch, T, _ = x.shape
        h, d_head = self.num_heads, self.d_head
        layers = (self.w_q, self.w_k, self.w_v, self.w_o)
        if all(type(layer) is Linear and layer.bias is None for layer in layers):
            # the whole layer as one op, with the same numbers (ops_attention.py)
            w_q, w_k, w_v, w_o = (layer.weight for layer in layers)
            one_op = F.one_op_attention_layer(x, w_q, w_k, w_v, w_o, mask, self.causal, h)
            if one_op:
                y, self.attention = one_op  # (..., T, d_model), (..., h, T, T)
                return y.named("output")
        q, k, v = self.w_q(x).named("Q"), self.w_k(x).named("K"), self.w_v(x).named("V")
        one_op = F.one_op_attention(q, k, v, mask, self.causal, heads=h)
        if one_op:  # the steps below as one op, with the same numbers (ops_attention.py)
            concat, self.attention = one_op  # (..., T, d_model), (..., h, T, T)
            return self.w_o(concat.named("concat")).named("output")  # (..., T, d_model)
        with scope("heads"):
            # split: (..., T, d_model) -> (..., T, h, d_head) -> (..., h, T, d_head)
            q = q.reshape(*batch, T, h, d_head).transpose(-3, -2)
            k = k.reshape(*batch, T, h, d_head).transpose(-3, -2)
            v = v.reshape(*batch, T, h, d_head).transpose(-3, -2)
            heads, self.attention = F.scaled_dot_product_attention(q, k, v, mask, self.causal)
            heads.named(f"head_1..head_{h}" if h > 1 else "head_1")  # (..., h, T, d_head)
            # concat: (..., h, T, d_head) -> (..., T, h, d_head) -> (..., T, d_model)
            concat = heads.transpose(-3, -2).reshape(*batch, T, self.d_model).named("concat")
        return self.w_o(concat).named("output")  # (..., T, d_model)


class FeedForward(Module):
    """Two linear layers with a relu between: each position is transformed on its own.

    >>> FeedForward(4, 8, rng=0)(Tensor.randn(3, 4, rng=1)).shape
    (3, 4)
    """

    def __init__(self, d_model, d_hidden=None, rng=None):
        d_hidden = 4 * d_model if d_hidden is None else d_hidden
        _positive(d_model=d_model, d_hidden=d_hidden)
        gen = random_generator(rng)
        self.up = Linear(d_model, d_hidden, rng=gen)
        self.down = Linear(d_hidden, d_model, rng=gen)

    def forward(self, x):
        return self.down(self.up(x).relu())


class TransformerBlock(Module):
    """x + attention(norm(x)), then x + feed_forward(norm(x)): the pre-norm block with
    residual connections. `d_hidden=0` leaves out the feed-forward part.

    >>> TransformerBlock(4, 2, rng=0)(Tensor.randn(3, 4, rng=1)).shape
    (3, 4)
    """

    def __init__(self, d_model, num_heads, d_hidden=None, causal=True, rng=None):
        _positive(d_model=d_model, num_heads=num_heads)
        gen = random_generator(rng)
        self.norm1 = LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, num_heads, causal=causal, rng=gen)
        if d_hidden == 0:
            self.norm2 = self.ff = None
        else:
            self.norm2 = LayerNorm(d_model)
            self.ff = FeedForward(d_model, d_hidden, rng=gen)

    def forward(self, x, mask=None):
        x = x + self.attn(self.norm1(x), mask)  # (..., T, d_model)
        if self.ff is not None:
            x = x + self.ff(self.norm2(x))
        return x


class TinyTransformer(Module):
    """A small language model: token embeddings + positions -> blocks -> logits.

    ids (T,) or (B, T) -> logits (..., T, vocab_size). `positions` is "learned" (an
    Embedding) or "sinusoidal" (fixed, `F.sinusoidal_positions`). `embedding_std` is the
    spread of the learned token and position vectors at the start.

    >>> model = TinyTransformer(vocab_size=5, d_model=8, num_heads=2, num_layers=1,
    ...                         max_len=6, rng=0)
    >>> model([[1, 2, 3]]).shape
    (1, 3, 5)
    """

    def __init__(
        self,
        vocab_size,
        d_model,
        num_heads,
        num_layers,
        max_len,
        d_hidden=None,
        causal=True,
        positions="learned",
        rng=None,
        embedding_std=1.0,
    ):
        _positive(vocab_size=vocab_size, d_model=d_model, num_heads=num_heads)
        _positive(num_layers=num_layers, max_len=max_len)
        if positions not in ("learned", "sinusoidal"):
            raise ValueError(f"positions must be 'learned' or 'sinusoidal', got {positions!r}")
        gen = random_generator(rng)
        self.vocab_size, self.max_len, self.positions = vocab_size, max_len, positions
        self.tokens = Embedding(vocab_size, d_model, rng=gen, std=embedding_std)
        if positions == "learned":
            self.pos = Embedding(max_len, d_model, rng=gen, std=embedding_std)
        else:
            self.pos = None
            self._sinusoid = F.sinusoidal_positions(max_len, d_model)
        self.blocks = [
            TransformerBlock(d_model, num_heads, d_hidden, causal, rng=gen)
            for _ in range(num_layers)
        ]
        self.norm = LayerNorm(d_model)
        self.out = Linear(d_model, vocab_size, rng=gen)

    def forward(self, ids, mask=None):
        """`mask` (optional, True = may attend) broadcasts to the attention weights (..., heads,
        T, T); e.g. (B, 1, 1, T) with False at the padding of shorter sequences."""
        _, shape = _token_ids(ids)
        T = shape[-1]
        if T > self.max_len:
            raise ValueError(f"TinyTransformer: sequence of length {T} > max_len {self.max_len}")
        x = self.tokens(ids)  # (..., T, d_model)
        if self.pos is not None:
            x = x + self.pos(list(range(T)))  # + (T, d_model), the same for every sequence
        else:
            x = x + self._sinusoid[:T]
        for block in self.blocks:
            x = block(x, mask)
        return self.out(self.norm(x))  # (..., T, vocab_size)

    def attention_maps(self):
        """The attention weights of every block's last call: [(..., heads, T, T), ...]."""
        return [block.attn.attention for block in self.blocks]


class Dropout(Module):
    """While training, each number is set to 0 with probability `p` and the others are
    multiplied by 1 / (1 - p), so the expected value of every number stays the same; in
    eval mode (`model.eval()`) it passes its input through unchanged. A layer that cannot
    lean on any single number learns more robust features.

    `rng` (a seed or `random.Random`) makes the numbers it drops reproducible; without it
    the default generator is used (see `manual_seed`).

    >>> drop = Dropout(0.5, rng=0)
    >>> drop(Tensor.ones(6)).tolist()         # about half dropped, the rest doubled
    [2.0, 2.0, 0.0, 0.0, 2.0, 0.0]
    >>> drop.eval()(Tensor.ones(3)).tolist()  # evaluating: nothing dropped
    [1.0, 1.0, 1.0]
    """

    def __init__(self, p=0.5, rng=None):
        F._check_probability(p, "Dropout")
        self.p = float(p)
        # a seed becomes a generator of our own here, so the drops go on from where they
        # were; None keeps reading the default generator (manual_seed reseeds it)
        self.rng = random_generator(rng) if rng is not None else None

    def forward(self, x):
        return F.dropout(x, self.p, training=self.training, rng=self.rng)

    def __repr__(self):
        return f"Dropout(p={self.p})"


def _token_ids(ids):
    """Token ids (nested lists or a Tensor of whole numbers) -> (flat list of ints, shape)."""
    if type(ids) is list and ids and all(type(row) is list for row in ids):  # (B, T) ints
        flat = [i for row in ids for i in row]
        if all(len(row) == len(ids[0]) for row in ids) and all(type(i) is int for i in flat):
            return flat, (len(ids), len(ids[0]))  # as they are: nothing to check or convert
    elif type(ids) is list and all(type(i) is int for i in ids):  # (T,) ints
        return ids, (len(ids),)
    t = ids if isinstance(ids, Tensor) else Tensor(ids)
    if t.ndim == 0:
        raise ValueError("token ids need at least one axis, got a single number")
    flat = []
    for v in t.data:
        if not float(v).is_integer():
            raise TypeError(f"token ids must be whole numbers, got {v!r}")
        flat.append(int(v))
    return flat, t.shape
