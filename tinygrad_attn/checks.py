"""A catalogue of gradient checks: every op of the engine, each checked at random points.

`tinygrad-attn gradcheck`, `demos/02_gradient_checking.py` and the tests all run this list,
so a derivative added to the engine is proved in all three places at once.

Names say what is checked: "Value ..." for the scalar engine, "Tensor ..." for each tensor op,
"F. ..." for the functions of `functional` and "Layer ..." for the layers of `nn` (checked
with respect to their input and every parameter). Everything is small (a few dozen numbers),
so the whole catalogue runs in a few seconds.

>>> results = run_checks(only="value")
>>> all(result.ok for _, result in results)
True
>>> [name for name, _ in run_checks(only="Layer Linear")]
['Layer Linear(3, 2)']
"""

import math
import random

from . import functional as F
from . import nn
from .gradcheck import gradcheck
from .tensor import Tensor
from .value import Value

__all__ = [
    "value_checks",
    "tensor_checks",
    "function_checks",
    "layer_checks",
    "all_checks",
    "run_checks",
]


def value_checks(rng):
    """(name, fn, inputs) for every operation of the scalar engine."""

    def leaf(low=-2.0, high=2.0, label="x"):
        return Value(rng.uniform(low, high), label=label)

    def two():
        return [leaf(label="a"), leaf(label="b")]

    return [
        ("Value a + b", lambda a, b: a + b, two()),
        ("Value a - b", lambda a, b: a - b, two()),
        ("Value a * b", lambda a, b: a * b, two()),
        ("Value a / b", lambda a, b: a / b, [leaf(label="a"), leaf(0.5, 2.0, "b")]),
        ("Value -a", lambda a: -a, [leaf(label="a")]),
        ("Value a ** 3", lambda a: a**3, [leaf(label="a")]),
        ("Value a ** -0.5", lambda a: a**-0.5, [leaf(0.5, 2.0, "a")]),
        ("Value a ** b", lambda a, b: a**b, [leaf(0.5, 2.0, "a"), leaf(label="b")]),
        ("Value 2 ** a", lambda a: 2**a, [leaf(label="a")]),
        ("Value 1 - a / 3", lambda a: 1 - a / 3, [leaf(label="a")]),
        ("Value a.exp()", lambda a: a.exp(), [leaf(label="a")]),
        ("Value a.log()", lambda a: a.log(), [leaf(0.5, 3.0, "a")]),
        ("Value a.tanh()", lambda a: a.tanh(), [leaf(label="a")]),
        ("Value a.relu()", lambda a: a.relu(), [leaf(0.2, 2.0, "a")]),
        ("Value a.relu() (a < 0)", lambda a: a.relu(), [leaf(-2.0, -0.2, "a")]),
        ("Value a.sigmoid()", lambda a: a.sigmoid(), [leaf(label="a")]),
        ("Value a * a (reused)", lambda a: a * a, [leaf(label="a")]),
        (
            "Value neuron tanh(w.x + b)",
            _neuron,
            [leaf(label=n) for n in ("w1", "w2", "x1", "x2", "b")],
        ),
    ]


def _neuron(w1, w2, x1, x2, b):
    return (w1 * x1 + w2 * x2 + b).tanh()


# ---------------------------------------------------------------------- tensor ops


def tensor_checks(rng):
    """(name, fn, inputs) for every op of the tensor engine."""

    def t(*shape, low=-2.0, high=2.0, label="a"):
        """A leaf of `shape` with numbers drawn uniformly from [low, high]."""
        numbers = [rng.uniform(low, high) for _ in range(math.prod(shape))]
        return Tensor(Tensor(numbers).reshape(shape), requires_grad=True, label=label)

    def away_from_zero(*shape, label="a"):
        """Numbers with 0.2 <= |x| <= 2: relu has a kink at 0."""
        numbers = [rng.uniform(0.2, 2.0) * rng.choice((-1.0, 1.0)) for _ in range(math.prod(shape))]
        return Tensor(Tensor(numbers).reshape(shape), requires_grad=True, label=label)

    def distinct(*shape, label="a"):
        """Numbers at least 0.4 apart: max() has no ties to break."""
        n = math.prod(shape)
        numbers = [0.5 * (k - n / 2) + rng.uniform(0.0, 0.1) for k in rng.sample(range(n), n)]
        return Tensor(Tensor(numbers).reshape(shape), requires_grad=True, label=label)

    def clamped(*shape, label="a"):
        """Numbers at least 0.2 away from clamp's bounds -1 and 1, inside and outside."""
        numbers = [
            rng.choice((-1.0, 1.0)) * rng.choice((0.4, 1.5)) + rng.uniform(-0.15, 0.15)
            for _ in range(math.prod(shape))
        ]
        return Tensor(Tensor(numbers).reshape(shape), requires_grad=True, label=label)

    mask = [[True, False, False], [False, True, False]]
    return [
        (
            "Tensor a + b (broadcast (2, 3) and (3,))",
            lambda a, b: a + b,
            [t(2, 3), t(3, label="b")],
        ),
        (
            "Tensor a - b (broadcast (2, 1) and (3,))",
            lambda a, b: a - b,
            [t(2, 1), t(3, label="b")],
        ),
        (
            "Tensor a * b (broadcast (2, 3) and (2, 1))",
            lambda a, b: a * b,
            [t(2, 3), t(2, 1, label="b")],
        ),
        ("Tensor a / b (broadcast)", lambda a, b: a / b, [t(2, 3), t(3, low=0.5, label="b")]),
        ("Tensor a ** b", lambda a, b: a**b, [t(2, 2, low=0.5), t(2, 2, label="b")]),
        ("Tensor a ** 3", lambda a: a**3, [t(2, 3)]),
        ("Tensor a ** -0.5", lambda a: a**-0.5, [t(2, 3, low=0.5)]),
        ("Tensor 2 ** a", lambda a: 2**a, [t(2, 3)]),
        ("Tensor 1 - a / 3", lambda a: 1 - a / 3, [t(2, 3)]),
        ("Tensor -a", lambda a: -a, [t(2, 3)]),
        ("Tensor a * a (reused)", lambda a: a * a, [t(2, 3)]),
        ("Tensor a.exp()", lambda a: a.exp(), [t(2, 3)]),
        ("Tensor a.log()", lambda a: a.log(), [t(2, 3, low=0.5, high=3.0)]),
        ("Tensor a.tanh()", lambda a: a.tanh(), [t(2, 3)]),
        ("Tensor a.relu()", lambda a: a.relu(), [away_from_zero(2, 3)]),
        ("Tensor a.sigmoid()", lambda a: a.sigmoid(), [t(2, 3)]),
        ("Tensor a.sqrt()", lambda a: a.sqrt(), [t(2, 3, low=0.5, high=3.0)]),
        ("Tensor a.sum()", lambda a: a.sum(), [t(2, 3)]),
        ("Tensor a.sum(axis=(0, 2))", lambda a: a.sum(axis=(0, 2)), [t(2, 3, 2)]),
        ("Tensor a.mean(axis=-1, keepdims=True)", lambda a: a.mean(-1, keepdims=True), [t(2, 3)]),
        ("Tensor a.max(axis=1)", lambda a: a.max(axis=1), [distinct(2, 3)]),
        ("Tensor a.softmax(axis=0)", lambda a: a.softmax(axis=0), [t(3, 2)]),
        ("Tensor a.log_softmax()", lambda a: a.log_softmax(), [t(2, 3)]),
        ("Tensor a @ b", lambda a, b: a @ b, [t(2, 3), t(3, 2, label="b")]),
        (
            "Tensor a @ b (batched, broadcast)",
            lambda a, b: a @ b,
            [t(2, 1, 2, 3), t(3, 3, 2, label="b")],
        ),
        ("Tensor v @ a (vector)", lambda v, a: v @ a, [t(3, label="v"), t(3, 2)]),
        ("Tensor a.reshape(3, -1)", lambda a: a.reshape(3, -1), [t(2, 3)]),
        ("Tensor a.transpose(0, 2)", lambda a: a.transpose(0, 2), [t(2, 3, 2)]),
        ("Tensor a.T", lambda a: a.T, [t(2, 3)]),
        ("Tensor a[1:]", lambda a: a[1:], [t(3, 2)]),
        ("Tensor a[[2, 0, 2]]", lambda a: a[[2, 0, 2]], [t(3, 2)]),
        ("Tensor a.split(2, axis=1)[1]", lambda a: a.split(2, axis=1)[1], [t(2, 3)]),
        (
            "Tensor cat([a, b], axis=1)",
            lambda a, b: Tensor.cat([a, b], axis=1),
            [t(2, 1), t(2, 2, label="b")],
        ),
        (
            "Tensor stack([a, b], axis=1)",
            lambda a, b: Tensor.stack([a, b], axis=1),
            [t(2, 3), t(2, 3, label="b")],
        ),
        ("Tensor a.masked_fill(mask, 0.5)", lambda a: a.masked_fill(mask, 0.5), [t(2, 3)]),
        ("Tensor a.min(axis=0)", lambda a: a.min(axis=0), [distinct(3, 2)]),
        ("Tensor a.max() (shares ties)", lambda a: a.max(), [distinct(2, 3)]),
        ("Tensor a.abs()", lambda a: a.abs(), [away_from_zero(2, 3)]),
        ("Tensor a.var(axis=1)", lambda a: a.var(axis=1), [t(2, 3)]),
        ("Tensor a.std(correction=0)", lambda a: a.std(correction=0), [t(2, 3)]),
        ("Tensor a.clamp(-1, 1)", lambda a: a.clamp(-1.0, 1.0), [clamped(2, 3)]),
        ("Tensor a.gelu()", lambda a: a.gelu(), [t(2, 3)]),
        (
            "Tensor where(a > 0, a, b)",
            lambda a, b: a.where(a > 0, b),
            [away_from_zero(2, 3), t(3, label="b")],
        ),
        ("Tensor a.unsqueeze(1)", lambda a: a.unsqueeze(1), [t(2, 3)]),
        ("Tensor a.squeeze()", lambda a: a.squeeze(), [t(2, 1, 3)]),
        ("Tensor a.permute(2, 0, 1)", lambda a: a.permute(2, 0, 1), [t(2, 3, 2)]),
        ("Tensor a.flatten(1)", lambda a: a.flatten(1), [t(2, 3, 2)]),
        ("Tensor a[:, [2, 0, 2]]", lambda a: a[:, [2, 0, 2]], [t(2, 3)]),
        ("Tensor a[..., 1::2, None]", lambda a: a[..., 1::2, None], [t(2, 2, 4)]),
    ]


# ---------------------------------------------------------------------- functions and layers


def function_checks(rng):
    """(name, fn, inputs) for the functions of `functional` built on the tensor ops."""

    def t(*shape, label="x"):
        return Tensor.randn(*shape, rng=rng, requires_grad=True, label=label)

    def attention(causal=False, mask=None):
        return lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask, causal)[0]

    qkv = [("q", (3, 2)), ("k", (3, 2)), ("v", (3, 2))]
    return [
        (
            "F.cross_entropy(logits, targets)",
            lambda logits: F.cross_entropy(logits, [2, 0, 1]),
            [t(3, 3, label="logits")],
        ),
        (
            "F.layer_norm(x, weight, bias)",
            lambda x, w, b: F.layer_norm(x, w, b),
            [t(2, 4), t(4, label="weight"), t(4, label="bias")],
        ),
        (
            "F.scaled_dot_product_attention",
            attention(),
            [t(*shape, label=name) for name, shape in qkv],
        ),
        (
            "F.scaled_dot_product_attention (causal)",
            attention(causal=True),
            [t(2, *shape, label=name) for name, shape in qkv],
        ),
        (
            "F.scaled_dot_product_attention (mask)",
            attention(mask=[[True, False, True], [True, True, False], [False, True, True]]),
            [t(*shape, label=name) for name, shape in qkv],
        ),
    ]


def layer_checks(rng):
    """(name, fn, inputs) for every layer of `nn`, with respect to its input and every
    parameter."""

    def x(*shape):
        return Tensor.randn(*shape, rng=rng, requires_grad=True, label="x")

    def layer(name, module, inputs, *extra):
        return (name, lambda x, *params: module(x, *extra), [inputs, *module.parameters()])

    norm = nn.LayerNorm(4)  # away from the start (weight 1, bias 0)
    weight, bias = (
        [rng.uniform(0.5, 1.5) for _ in range(4)],
        [rng.uniform(-0.5, 0.5) for _ in range(4)],
    )
    norm.load_state_dict({"weight": weight, "bias": bias})
    embedding = nn.Embedding(5, 3, rng=rng)
    model = nn.TinyTransformer(
        vocab_size=5, d_model=4, num_heads=2, num_layers=1, max_len=4, d_hidden=4, rng=rng
    )

    def model_loss(*params):
        return F.cross_entropy(model([[1, 2, 3], [4, 0, 4]]), [[2, 3, 0], [0, 4, 1]])

    return [
        layer("Layer Linear(3, 2)", nn.Linear(3, 2, rng=rng), x(2, 3)),
        ("Layer Embedding(5, 3)", lambda w: embedding([[0, 3], [3, 4]]), [embedding.weight]),
        layer("Layer LayerNorm(4)", norm, x(2, 4)),
        layer("Layer AttentionHead(3, 2, causal)", nn.AttentionHead(3, 2, True, rng=rng), x(4, 3)),
        layer(
            "Layer MultiHeadAttention(4, 2) (T, d)", nn.MultiHeadAttention(4, 2, rng=rng), x(3, 4)
        ),
        layer(
            "Layer MultiHeadAttention(4, 2, causal) (B, T, d)",
            nn.MultiHeadAttention(4, 2, causal=True, rng=rng),
            x(2, 3, 4),
        ),
        layer("Layer FeedForward(3, 4)", nn.FeedForward(3, 4, rng=rng), x(2, 3)),
        layer(
            "Layer TransformerBlock(4, 2)", nn.TransformerBlock(4, 2, d_hidden=4, rng=rng), x(3, 4)
        ),
        ("Layer TinyTransformer + cross_entropy", model_loss, model.parameters()),
    ]


def all_checks(seed=0):
    """Every check in the catalogue, with inputs drawn from a seeded generator."""
    rng = random.Random(seed)
    return value_checks(rng) + tensor_checks(rng) + function_checks(rng) + layer_checks(rng)


def run_checks(seed=0, only=None):
    """Run the catalogue; returns [(name, GradcheckResult)]. `only` keeps names starting
    with it, case-insensitively ("value", "tensor", "F.", "layer")."""
    results = []
    for name, fn, inputs in all_checks(seed):
        if only and not name.lower().startswith(only.lower()):
            continue
        results.append((name, gradcheck(fn, inputs)))
    return results
