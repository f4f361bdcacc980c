"""`to_torch` and `from_torch`: each of our layers and its PyTorch twin compute the same
numbers and the same gradients (every input and every weight) to 1e-10, in both directions,
and a model trained here and moved keeps its predictions. Run by `make test-torch`."""

import math
import re

import pytest

from tinygrad_attn import Tensor, nn, optim
from tinygrad_attn import functional as F
from tinygrad_attn.interop import from_torch, to_torch

torch = pytest.importorskip("torch")

TOL = 1e-10


def assert_same(a, b):
    b = b.detach().tolist() if hasattr(b, "detach") else b
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif math.isnan(a) or math.isnan(b):
        assert math.isnan(a) and math.isnan(b)
    else:
        assert a == pytest.approx(b, rel=TOL, abs=TOL)


def linear_weights(module):
    """The names of the Linear weights, which torch stores transposed."""
    return {
        f"{name}.weight" if name else "weight"
        for name, m in module.named_modules()
        if isinstance(m, nn.Linear)
    }


def assert_twins(ours, twin, make_input, *extra):
    """Same output (and attention), same gradient of the input (when it is numbers, not
    token ids) and of every weight, for a random upstream gradient."""
    kind, data = make_input()
    if kind == "numbers":
        x = Tensor(data, requires_grad=True)
        x_torch = torch.tensor(data, dtype=torch.float64, requires_grad=True)
    else:
        x, x_torch = data, torch.tensor(data)
    extra_torch = [torch.tensor(e) for e in extra]
    out, out_torch = ours(x, *extra), twin(x_torch, *extra_torch)
    assert_same(out.tolist(), out_torch)
    if getattr(ours, "attention", None) is not None:
        assert_same(ours.attention.tolist(), twin.attention)
    if isinstance(ours, nn.TinyTransformer):
        for a, b in zip(ours.attention_maps(), twin.attention_maps()):
            assert_same(a.tolist(), b)
    upstream = Tensor.randn(*out.shape, rng=42)
    out.backward(upstream)
    out_torch.backward(torch.tensor(upstream.tolist(), dtype=torch.float64))
    if kind == "numbers":
        assert_same(x.grad.tolist(), x_torch.grad)
    theirs = dict(twin.named_parameters())
    linear = linear_weights(ours)
    assert set(theirs) == {name for name, _ in ours.named_parameters()}
    for name, p in ours.named_parameters():
        g = theirs[name].grad
        assert_same(p.grad.tolist(), g.T if name in linear else g)


def numbers(*shape, seed=1):
    return lambda: ("numbers", Tensor.randn(*shape, rng=seed).tolist())


def ids(rows, length, vocab=7, seed=2):
    return lambda: (
        "ids",
        [[(3 * i + 5 * j + seed) % vocab for j in range(length)] for i in range(rows)],
    )


def away_from_the_start(module, seed=3):
    """LayerNorms start at weight 1, bias 0: move them so a swapped weight would show."""
    for name, p in module.named_parameters():
        if "norm" in name or name in ("weight", "bias"):
            p.data[:] = Tensor.randn(*p.shape, rng=seed).data
            seed += 1
    return module


MASK = [[True, False, True, True], [True, True, False, True]] * 2  # (4, 4): no row empty
EMPTY_ROW = [[True, True, False, False], [False] * 4, [True] * 4, [False, False, True, True]]

CASES = {
    "Linear (T, in)": (lambda: nn.Linear(3, 5, rng=0), numbers(4, 3), ()),
    "Linear (B, T, in), no bias": (
        lambda: nn.Linear(3, 5, bias=False, rng=0),
        numbers(2, 4, 3),
        (),
    ),
    "Embedding": (lambda: nn.Embedding(7, 3, rng=0), ids(2, 4), ()),
    "LayerNorm": (lambda: away_from_the_start(nn.LayerNorm(5, eps=1e-3)), numbers(2, 3, 5), ()),
    "FeedForward": (lambda: nn.FeedForward(4, 6, rng=0), numbers(2, 3, 4), ()),
    "AttentionHead, causal": (
        lambda: nn.AttentionHead(4, 3, causal=True, rng=0),
        numbers(4, 4),
        (),
    ),
    "AttentionHead, mask": (lambda: nn.AttentionHead(4, 3, rng=0), numbers(2, 4, 4), (MASK,)),
    "MultiHeadAttention (T, d)": (lambda: nn.MultiHeadAttention(6, 3, rng=0), numbers(4, 6), ()),
    "MultiHeadAttention causal, bias, (B, T, d)": (
        lambda: nn.MultiHeadAttention(6, 2, bias=True, causal=True, rng=0),
        numbers(2, 4, 6),
        (),
    ),
    "MultiHeadAttention causal and mask": (
        lambda: nn.MultiHeadAttention(4, 2, causal=True, rng=0),
        numbers(2, 4, 4),
        (MASK,),
    ),
    "MultiHeadAttention, a query that may look at nothing": (
        lambda: nn.MultiHeadAttention(4, 2, bias=True, rng=0),
        numbers(2, 4, 4),
        (EMPTY_ROW,),
    ),
    "AttentionHead, causal and a query that may look at nothing": (
        lambda: nn.AttentionHead(4, 3, causal=True, rng=0),
        numbers(4, 4),
        ([[False, True, True, True]] * 4,),
    ),
    "TransformerBlock": (
        lambda: away_from_the_start(nn.TransformerBlock(4, 2, d_hidden=8, rng=0)),
        numbers(2, 4, 4),
        (),
    ),
    "TransformerBlock, attention only, not causal": (
        lambda: away_from_the_start(nn.TransformerBlock(4, 2, d_hidden=0, causal=False, rng=0)),
        numbers(4, 4),
        (MASK,),
    ),
    "TinyTransformer, learned positions": (
        lambda: away_from_the_start(nn.TinyTransformer(7, 8, 2, 2, max_len=6, rng=0)),
        ids(3, 5),
        (),
    ),
    "TinyTransformer, sinusoidal positions, one sequence": (
        lambda: away_from_the_start(
            nn.TinyTransformer(7, 4, 1, 1, max_len=5, d_hidden=6, positions="sinusoidal", rng=0)
        ),
        lambda: ("ids", [[1, 6, 0, 2]]),
        (),
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_to_torch_makes_a_twin_with_the_same_numbers_and_gradients(case):
    make, make_input, extra = CASES[case]
    ours = make()
    assert_twins(ours, to_torch(ours), make_input, *extra)


@pytest.mark.parametrize("case", CASES)
def test_from_torch_fills_our_model_with_torchs_weights(case):
    make, make_input, extra = CASES[case]
    twin = to_torch(make())
    with torch.no_grad():  # weights that PyTorch made: nothing left of ours
        gen = torch.Generator().manual_seed(5)
        for p in twin.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float64))
    ours = make()
    for p in ours.parameters():
        p.data[:] = [0.0] * len(p.data)
    assert from_torch(twin, like=ours) is ours
    assert_twins(ours, twin, make_input, *extra)


def test_torchs_own_layers_come_back_too():
    for twin, ours in (
        (torch.nn.Linear(4, 3, dtype=torch.float64), nn.Linear(4, 3)),
        (torch.nn.Embedding(5, 2, dtype=torch.float64), nn.Embedding(5, 2)),
        (torch.nn.LayerNorm(3, dtype=torch.float64), nn.LayerNorm(3)),
    ):
        from_torch(twin, like=ours)
        make_input = {nn.Linear: numbers(2, 4), nn.Embedding: ids(2, 3, vocab=5)}.get(
            type(ours), numbers(2, 3)
        )
        assert_twins(ours, twin, make_input)


def test_a_float32_torch_model_comes_back_with_its_numbers_exactly():
    twin = torch.nn.Linear(3, 2)  # PyTorch's default float32
    ours = from_torch(twin, like=nn.Linear(3, 2))
    assert ours.weight.tolist() == twin.weight.detach().double().T.tolist()


def test_tensors_cross_both_ways():
    x = Tensor([[1.5, -2.0]], requires_grad=True)
    t = to_torch(x)
    assert t.dtype == torch.float64 and t.requires_grad and t.tolist() == [[1.5, -2.0]]
    back = from_torch(t * 2)
    assert isinstance(back, Tensor) and back.tolist() == [[3.0, -4.0]]


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_the_twin_computes_on_the_device_of_its_input(positions):
    # "meta" tensors have shapes but no numbers: any tensor the twin made on the CPU instead
    # of the input's device (a mask, the positions) would make PyTorch refuse to mix them,
    # as it would on a GPU
    model = nn.TinyTransformer(7, 4, 2, 1, max_len=5, positions=positions, rng=0)
    twin = to_torch(model).to(device="meta", dtype=torch.float32)
    logits = twin(torch.tensor([[1, 2, 3]], device="meta"))
    assert logits.device.type == "meta" and tuple(logits.shape) == (1, 3, 7)
    mha = to_torch(nn.MultiHeadAttention(4, 2, causal=True, rng=0)).to("meta")
    out = mha(torch.zeros(3, 4, device="meta", dtype=torch.float64), [[True] * 3] * 3)
    assert out.device.type == "meta"


def test_modes_cross_over():
    drop = nn.Dropout(0.3)
    assert to_torch(drop).training and not to_torch(drop.eval()).training
    model = nn.TransformerBlock(4, 2, rng=0).eval()
    assert not any(m.training for m in to_torch(model).modules())


# ---------------------------------------------------------------------- training, then moving


def small_task():
    """Next-token pairs: each sequence counts up, modulo 7."""
    xs = [[(s + t) % 7 for t in range(5)] for s in range(7)]
    ys = [[(s + t + 1) % 7 for t in range(5)] for s in range(7)]
    return xs, ys


def test_a_model_trained_here_keeps_its_predictions_in_torch_and_back():
    xs, ys = small_task()
    model = nn.TinyTransformer(7, 8, 2, 1, max_len=5, rng=0)
    opt = optim.AdamW(model.parameters(), lr=0.05)
    for _ in range(40):
        opt.zero_grad()
        F.cross_entropy(model(xs), ys).backward()
        opt.step()
    logits = model(xs)
    accuracy = sum(
        max(range(7), key=row.__getitem__) == y
        for rows, targets in zip(logits.tolist(), ys)
        for row, y in zip(rows, targets)
    ) / (7 * 5)
    assert accuracy > 0.9  # it has learned something worth keeping

    twin = to_torch(model).eval()
    with torch.no_grad():
        twin_logits = twin(torch.tensor(xs))
    assert_same(logits.tolist(), twin_logits)
    assert twin_logits.argmax(-1).tolist() == [
        [max(range(7), key=row.__getitem__) for row in rows] for rows in logits.tolist()
    ]

    # one more step in PyTorch, then back: our model predicts what the torch model predicts
    torch_opt = torch.optim.SGD(twin.parameters(), lr=0.1)
    loss = torch.nn.functional.cross_entropy(
        twin(torch.tensor(xs)).reshape(-1, 7), torch.tensor(ys).reshape(-1)
    )
    loss.backward()
    torch_opt.step()
    fresh = nn.TinyTransformer(7, 8, 2, 1, max_len=5, rng=99)
    back = from_torch(twin, like=fresh)
    with torch.no_grad():
        assert_same(back(xs).tolist(), twin(torch.tensor(xs)))


# ---------------------------------------------------------------------- refusals


def snapshot(module):
    return [list(p.data) for p in module.parameters()]


@pytest.mark.parametrize(
    "twin, like, message",
    [
        (
            lambda: to_torch(nn.TinyTransformer(5, 8, 2, 1, max_len=4, rng=0)),
            lambda: nn.TinyTransformer(5, 4, 2, 1, max_len=4, rng=0),
            r"tokens.weight: torch has \(5, 8\), ours needs \(5, 4\)",
        ),
        (
            lambda: to_torch(nn.TinyTransformer(5, 4, 2, 2, max_len=4, rng=0)),
            lambda: nn.TinyTransformer(5, 4, 2, 1, max_len=4, rng=0),
            r"not in ours: blocks.1.norm1.weight",
        ),
        (
            lambda: to_torch(nn.MultiHeadAttention(6, 3, rng=0)),
            lambda: nn.MultiHeadAttention(6, 2, rng=0),
            "num_heads: torch has 3, ours has 2",
        ),
        (
            lambda: to_torch(nn.TinyTransformer(5, 4, 2, 1, 4, positions="sinusoidal")),
            lambda: nn.TinyTransformer(5, 4, 2, 1, 4, rng=0),
            "missing in torch: pos.weight",
        ),
        (
            lambda: torch.nn.Linear(3, 2, dtype=torch.float64),
            lambda: nn.LayerNorm(3),
            r"LayerNorm: weight: torch has \(2, 3\), ours needs \(3,\); bias: torch has \(2,\)",
        ),
        (
            lambda: torch.nn.LayerNorm(3, eps=1e-6),
            lambda: nn.LayerNorm(3),
            "eps: torch has 1e-06, ours has 1e-05",
        ),
        (
            lambda: to_torch(nn.Linear(3, 3, rng=0)),
            lambda: nn.Linear(3, 3, bias=False, rng=0),
            "not in ours: bias",
        ),
    ],
)
def test_another_architecture_or_size_is_refused_and_nothing_changes(twin, like, message):
    ours = like()
    before = snapshot(ours)
    with pytest.raises(ValueError, match="from_torch: the torch module does not fit") as error:
        from_torch(twin(), like=ours)
    assert re.search(message, str(error.value)), str(error.value)
    assert snapshot(ours) == before


def test_things_that_are_not_modules_are_a_type_error():
    with pytest.raises(TypeError, match="knows our layers Linear, Embedding"):
        to_torch(nn.Module())
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        from_torch(nn.Linear(2, 2), like=nn.Linear(2, 2))
    with pytest.raises(TypeError, match="like= must be one of our modules"):
        from_torch(torch.nn.Linear(2, 2), like=torch.nn.Linear(2, 2))
