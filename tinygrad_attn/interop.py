"""From here to PyTorch and back: the same model, the same weights, one call each way.

A model built and trained here can go on in PyTorch, where training runs on GPUs:

    torch_model = to_torch(model)                 # a torch.nn.Module, float64, same weights
    model = from_torch(torch_model, like=model)   # the weights back into our model
    to_torch(x), from_torch(t)                    # a Tensor and a torch tensor, both ways

`to_torch` builds, for each of our layers, a PyTorch module that computes exactly what ours
computes (the same formulas in the same order), and copies every weight across. Two things
differ in how the numbers are stored, not in what is computed:

* our `Linear` keeps its weight as (in, out), the orientation of y = x @ W + b; PyTorch's
  `nn.Linear` keeps (out, in) and computes x @ W.T + b, so the weight is transposed;
* our attention is written out as its formula (scores, mask, softmax, weighted values), so
  the PyTorch modules do the same rather than call `nn.MultiheadAttention`, whose weights,
  bias and mask conventions differ. After each call `.attention` holds the weights, as ours.

PyTorch is optional: this module imports without it, and a function that needs it says how
to install it. The PyTorch classes are defined the first time they are needed.
"""

import math

from .module import Module
from .nn import (
    AttentionHead,
    Dropout,
    Embedding,
    FeedForward,
    LayerNorm,
    Linear,
    MultiHeadAttention,
    TinyTransformer,
    TransformerBlock,
)
from .tensor import Tensor

__all__ = ["to_torch", "from_torch"]

INSTALL = (
    "{what} needs PyTorch, which is not installed. Install its CPU build (no GPU needed): "
    "pip install torch --index-url https://download.pytorch.org/whl/cpu"
)

CONVERTIBLE = (
    Linear,
    Embedding,
    LayerNorm,
    Dropout,
    FeedForward,
    AttentionHead,
    MultiHeadAttention,
    TransformerBlock,
    TinyTransformer,
)


def to_torch(module):
    """The equivalent `torch.nn.Module` of one of our layers, in float64, with the same
    weights and the same training/eval mode. Its outputs and gradients equal ours to about
    1e-12. A Tensor gives a torch tensor of float64 with the same numbers (and the same
    requires_grad), ready to feed it.

    >>> import torch
    >>> from tinygrad_attn import Tensor, nn
    >>> layer = nn.Linear(3, 2, rng=0)
    >>> twin = to_torch(layer)
    >>> twin                                # PyTorch's own Linear: weight stored (out, in)
    Linear(in_features=3, out_features=2, bias=True)
    >>> twin.weight.shape, layer.weight.shape
    (torch.Size([2, 3]), (3, 2))
    >>> x = Tensor.randn(4, 3, rng=1)
    >>> ours, theirs = layer(x).tolist(), twin(to_torch(x)).tolist()
    >>> max(abs(a - b) for r, s in zip(ours, theirs) for a, b in zip(r, s)) < 1e-12
    True
    """
    torch = _import_torch("to_torch")
    if isinstance(module, Tensor):
        return torch.tensor(
            module.tolist(), dtype=torch.float64, requires_grad=module.requires_grad
        )
    _check_convertible(module, "to_torch")
    twin = _build(module, torch, _torch_classes(torch))
    twin.train(module.training)
    linear = _linear_weights(module)
    theirs = dict(twin.named_parameters())
    with torch.no_grad():
        for name, p in module.named_parameters():
            numbers = torch.tensor(p.tolist(), dtype=torch.float64)
            theirs[name].copy_(numbers.T if name in linear else numbers)
    return twin


def from_torch(torch_module, like=None):
    """Copy the weights of `torch_module` into `like` (one of our modules of the same
    architecture and sizes) and return `like`. Linear weights are transposed back to our
    (in, out). A module that does not fit is refused with every difference listed, and
    `like` is left unchanged. A torch tensor (no `like` needed) gives a Tensor of its
    numbers.

    >>> import torch
    >>> from tinygrad_attn import nn
    >>> twin = torch.nn.Linear(3, 2, dtype=torch.float64)    # made and trained in PyTorch
    >>> layer = from_torch(twin, like=nn.Linear(3, 2))
    >>> layer.weight.tolist() == twin.weight.T.tolist()
    True
    >>> from_torch(twin, like=nn.Linear(2, 3))
    Traceback (most recent call last):
    ...
    ValueError: from_torch: the torch module does not fit Linear(2, 3, bias=True): weight: ...
    """
    torch = _import_torch("from_torch")
    if isinstance(torch_module, torch.Tensor) and like is None:
        return Tensor(torch_module.detach().to(torch.float64).tolist())
    if not isinstance(torch_module, torch.nn.Module):
        raise TypeError(
            f"from_torch: the first argument must be a torch.nn.Module (or a torch tensor), "
            f"got {type(torch_module).__name__}"
        )
    if not isinstance(like, Module):
        raise TypeError(
            f"from_torch: like= must be one of our modules (the model to fill), got "
            f"{type(like).__name__}; e.g. from_torch(torch_model, like=nn.Linear(3, 2))"
        )
    linear = _linear_weights(like)
    theirs = dict(torch_module.named_parameters())
    ours = dict(like.named_parameters())
    problems = [f"missing in torch: {name}" for name in ours if name not in theirs]
    problems += [f"not in ours: {name}" for name in theirs if name not in ours]
    for name, p in ours.items():
        if name not in theirs:
            continue
        has, needs = tuple(theirs[name].shape), p.shape
        if name in linear:
            needs = tuple(reversed(needs))
        if has != needs:
            note = ""
            if name in linear:
                note = f" (transposed: {needs} as torch stores Linear weights (out, in))"
            problems.append(f"{name}: torch has {has}, ours needs {p.shape}{note}")
    problems += _setting_differences(like, torch_module)
    if problems:
        raise ValueError(
            f"from_torch: the torch module does not fit {_describe(like)}: " + "; ".join(problems)
        )
    state = {}
    for name in ours:
        numbers = theirs[name].detach().to(torch.float64)
        state[name] = (numbers.T if name in linear else numbers).tolist()
    like.load_state_dict(state)  # everything was checked: this changes every weight at once
    return like


# ---------------------------------------------------------------------- helpers


def _import_torch(what):
    try:
        import torch
    except ImportError:
        raise ModuleNotFoundError(INSTALL.format(what=what), name="torch") from None
    return torch


def _check_convertible(module, what):
    if type(module) not in CONVERTIBLE:
        names = ", ".join(c.__name__ for c in CONVERTIBLE)
        raise TypeError(
            f"{what}: knows our layers {names}; got {type(module).__name__}. For a model of "
            f"your own, convert each of its layers and write its forward() in PyTorch"
        )


def _linear_weights(module):
    """The names of the Linear weights inside `module`: the ones stored transposed."""
    return {
        f"{name}.weight" if name else "weight"
        for name, m in module.named_modules()
        if type(m) is Linear
    }


def _describe(module):
    return repr(module) if type(module) in (Linear, Embedding, Dropout) else type(module).__name__


# Settings that change what a module computes without changing its weights' shapes: the
# number of heads (the same w_q split another way), causal masking, eps, positions.
SETTINGS = {
    LayerNorm: ("eps",),
    Dropout: ("p",),
    AttentionHead: ("causal",),
    MultiHeadAttention: ("num_heads", "causal"),
    TinyTransformer: ("positions", "max_len"),
}


def _setting_differences(like, torch_module):
    theirs = dict(torch_module.named_modules())
    problems = []
    for name, module in like.named_modules():
        twin = theirs.get(name)
        if twin is None:
            continue  # its weights were already reported missing (or it has none)
        for setting in SETTINGS.get(type(module), ()):
            ours, other = getattr(module, setting), getattr(twin, setting, None)
            if other is not None and other != ours:
                where = f"{name}." if name else ""
                problems.append(f"{where}{setting}: torch has {other!r}, ours has {ours!r}")
    return problems


def _build(module, torch, classes):
    """A fresh PyTorch module with our module's architecture (its weights are copied after)."""
    nn, f64 = torch.nn, torch.float64
    kind = type(module)
    if kind is Linear:
        return nn.Linear(
            module.in_features, module.out_features, bias=module.bias is not None, dtype=f64
        )
    if kind is Embedding:
        return nn.Embedding(module.num, module.dim, dtype=f64)
    if kind is LayerNorm:
        return nn.LayerNorm(module.dim, eps=module.eps, dtype=f64)
    if kind is Dropout:
        return nn.Dropout(module.p)
    if kind is FeedForward:
        return classes.FeedForward(module.up.in_features, module.up.out_features)
    if kind is AttentionHead:
        return classes.AttentionHead(module.d_model, module.d_head, module.causal)
    if kind is MultiHeadAttention:
        bias = module.w_q.bias is not None
        return classes.MultiHeadAttention(module.d_model, module.num_heads, bias, module.causal)
    if kind is TransformerBlock:
        d_hidden = 0 if module.ff is None else module.ff.up.out_features
        return classes.TransformerBlock(
            module.attn.d_model, module.attn.num_heads, d_hidden, module.attn.causal
        )
    block = module.blocks[0]
    d_hidden = 0 if block.ff is None else block.ff.up.out_features
    return classes.TinyTransformer(
        module.vocab_size,
        block.attn.d_model,
        block.attn.num_heads,
        len(module.blocks),
        module.max_len,
        d_hidden,
        block.attn.causal,
        module.positions,
    )


_classes = {}


def _torch_classes(torch):
    """Our layers written in PyTorch, defined once, the first time they are needed."""
    if "made" not in _classes:
        _classes["made"] = _define(torch)
    return _classes["made"]


def _define(torch):
    from . import functional as F

    nn, f64 = torch.nn, torch.float64

    def attention(q, k, v, mask, causal):
        """softmax(q k^T / sqrt(d_k)) v, as F.scaled_dot_product_attention: `mask` is True
        where a query may look at a key; causal also hides later positions."""
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., T_q, T_k)
        T_q, T_k = scores.shape[-2:]
        allowed, device = None, scores.device  # (on the GPU too, wherever the input is)
        if causal:
            allowed = torch.ones(T_q, T_k, dtype=torch.bool, device=device).tril()
        if mask is not None:
            given = torch.as_tensor(mask, device=device).bool()
            allowed = given if allowed is None else allowed & given
        looks = None  # False for a query that may look at no key at all
        if allowed is not None:
            looks = allowed.any(dim=-1, keepdim=True)  # (..., T_q, 1)
            allowed = allowed | ~looks  # such a row is left unmasked for the softmax ...
            scores = scores.masked_fill(~allowed, -math.inf)  # exp(-inf) = 0
        weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k), rows sum to 1
        if looks is not None:
            weights = weights * looks  # ... and gets no attention: zeros, not 0/0 = nan
        return weights @ v, weights

    class FeedForwardTorch(nn.Module):
        """down(relu(up(x)))."""

        def __init__(self, d_model, d_hidden):
            super().__init__()
            self.up = nn.Linear(d_model, d_hidden, dtype=f64)
            self.down = nn.Linear(d_hidden, d_model, dtype=f64)

        def forward(self, x):
            return self.down(torch.relu(self.up(x)))

    class AttentionHeadTorch(nn.Module):
        """head = Attention(X W^Q, X W^K, X W^V)."""

        def __init__(self, d_model, d_head, causal):
            super().__init__()
            self.d_model, self.d_head, self.causal = d_model, d_head, causal
            self.w_q = nn.Linear(d_model, d_head, bias=False, dtype=f64)
            self.w_k = nn.Linear(d_model, d_head, bias=False, dtype=f64)
            self.w_v = nn.Linear(d_model, d_head, bias=False, dtype=f64)
            self.attention = None

        def forward(self, x, mask=None):
            q, k, v = self.w_q(x), self.w_k(x), self.w_v(x)  # (..., T, d_head) each
            out, self.attention = attention(q, k, v, mask, self.causal)
            return out

    class MultiHeadAttentionTorch(nn.Module):
        """Concat(head_1, ..., head_h) W^O; head i uses columns [i*d_head, (i+1)*d_head)."""

        def __init__(self, d_model, num_heads, bias=False, causal=False):
            super().__init__()
            self.d_model, self.num_heads, self.causal = d_model, num_heads, causal
            self.d_head = d_model // num_heads
            self.w_q = nn.Linear(d_model, d_model, bias=bias, dtype=f64)
            self.w_k = nn.Linear(d_model, d_model, bias=bias, dtype=f64)
            self.w_v = nn.Linear(d_model, d_model, bias=bias, dtype=f64)
            self.w_o = nn.Linear(d_model, d_model, bias=bias, dtype=f64)
            self.attention = None

        def forward(self, x, mask=None):
            *batch, T, _ = x.shape
            h, d_head = self.num_heads, self.d_head
            # split: (..., T, d_model) -> (..., T, h, d_head) -> (..., h, T, d_head)
            q = self.w_q(x).reshape(*batch, T, h, d_head).transpose(-3, -2)
            k = self.w_k(x).reshape(*batch, T, h, d_head).transpose(-3, -2)
            v = self.w_v(x).reshape(*batch, T, h, d_head).transpose(-3, -2)
            heads, self.attention = attention(q, k, v, mask, self.causal)
            # concat: (..., h, T, d_head) -> (..., T, h, d_head) -> (..., T, d_model)
            concat = heads.transpose(-3, -2).reshape(*batch, T, self.d_model)
            return self.w_o(concat)

    class TransformerBlockTorch(nn.Module):
        """x + attention(norm(x)), then x + feed_forward(norm(x))."""

        def __init__(self, d_model, num_heads, d_hidden=None, causal=True):
            super().__init__()
            self.norm1 = nn.LayerNorm(d_model, eps=1e-5, dtype=f64)
            self.attn = MultiHeadAttentionTorch(d_model, num_heads, causal=causal)
            d_hidden = 4 * d_model if d_hidden is None else d_hidden
            if d_hidden == 0:
                self.norm2 = self.ff = None
            else:
                self.norm2 = nn.LayerNorm(d_model, eps=1e-5, dtype=f64)
                self.ff = FeedForwardTorch(d_model, d_hidden)

        def forward(self, x, mask=None):
            x = x + self.attn(self.norm1(x), mask)  # (..., T, d_model)
            if self.ff is not None:
                x = x + self.ff(self.norm2(x))
            return x

    class TinyTransformerTorch(nn.Module):
        """token embeddings + positions -> blocks -> layer norm -> logits."""

        def __init__(self, vocab_size, d_model, num_heads, num_layers, max_len, d_hidden=None,
                     causal=True, positions="learned"):  # fmt: skip
            super().__init__()
            self.vocab_size, self.max_len, self.positions = vocab_size, max_len, positions
            self.tokens = nn.Embedding(vocab_size, d_model, dtype=f64)
            if positions == "learned":
                self.pos = nn.Embedding(max_len, d_model, dtype=f64)
            else:
                self.pos = None
                table = F.sinusoidal_positions(max_len, d_model).tolist()
                self.register_buffer("sinusoid", torch.tensor(table, dtype=f64), persistent=False)
            self.blocks = nn.ModuleList(
                TransformerBlockTorch(d_model, num_heads, d_hidden, causal)
                for _ in range(num_layers)
            )
            self.norm = nn.LayerNorm(d_model, eps=1e-5, dtype=f64)
            self.out = nn.Linear(d_model, vocab_size, dtype=f64)

        def forward(self, ids):
            ids = torch.as_tensor(ids, dtype=torch.long)  # (T,) or (B, T)
            T = ids.shape[-1]
            if T > self.max_len:
                raise ValueError(
                    f"TinyTransformer: sequence of length {T} > max_len {self.max_len}"
                )
            x = self.tokens(ids)  # (..., T, d_model)
            if self.pos is not None:
                x = x + self.pos(torch.arange(T, device=ids.device))  # + (T, d_model)
            else:
                x = x + self.sinusoid[:T]
            for block in self.blocks:
                x = block(x)
            return self.out(self.norm(x))  # (..., T, vocab_size)

        def attention_maps(self):
            return [block.attn.attention for block in self.blocks]

    class Classes:
        FeedForward = FeedForwardTorch
        AttentionHead = AttentionHeadTorch
        MultiHeadAttention = MultiHeadAttentionTorch
        TransformerBlock = TransformerBlockTorch
        TinyTransformer = TinyTransformerTorch

    for cls in vars(Classes).values():  # named as ours, for repr and printing
        if isinstance(cls, type):
            cls.__name__ = cls.__qualname__ = cls.__name__.removesuffix("Torch")
    return Classes
