"""Side by side with PyTorch (float64): the same numbers and the same gradients.

Skipped when torch is not installed; nothing else in the project needs it. Our Linear stores
its weight as (in, out), the orientation of y = x @ W + b; torch stores (out, in) and computes
x @ W.T, so weights are transposed when copied across.
"""

import math

import pytest

torch = pytest.importorskip("torch")

from tinygrad_attn import Tensor  # noqa: E402
from tinygrad_attn import functional as F  # noqa: E402
from tinygrad_attn.nn import LayerNorm, MultiHeadAttention  # noqa: E402


def ours(*shape, seed):
    return Tensor.randn(*shape, rng=seed, requires_grad=True)


def theirs(t):
    """A torch float64 leaf with the same numbers as our tensor."""
    return torch.tensor(t.tolist(), dtype=torch.float64, requires_grad=True)


def assert_close(a, b, tol=1e-10):
    """Our nested list and torch's agree number by number (nan with nan, inf with inf)."""
    b = b.detach().tolist() if hasattr(b, "detach") else b
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_close(x, y, tol)
    elif math.isnan(a) or math.isnan(b):
        assert math.isnan(a) and math.isnan(b)
    else:
        assert a == pytest.approx(b, rel=tol, abs=tol)


def compare(our_fn, torch_fn, *tensors, upstream_seed=99):
    """Forward numbers and gradients of every input, with one random upstream gradient."""
    mine = our_fn(*tensors)
    copies = [theirs(t) for t in tensors]
    reference = torch_fn(*copies)
    assert_close(mine.tolist(), reference)
    g = Tensor.randn(*mine.shape, rng=upstream_seed)
    mine.backward(g)
    reference.backward(torch.tensor(g.tolist(), dtype=torch.float64))
    for t, c in zip(tensors, copies):
        assert_close(t.grad.tolist(), c.grad)


# ---------------------------------------------------------------------- ops


@pytest.mark.parametrize(
    "name, our_fn, torch_fn",
    [
        ("broadcast /", lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1)),
        ("broadcast **", lambda a, b: (a * a + 0.5) ** b, lambda a, b: (a * a + 0.5) ** b),
        ("tanh sigmoid", lambda a, b: a.tanh() * b.sigmoid(), lambda a, b: a.tanh() * b.sigmoid()),
        ("relu exp", lambda a, b: (a.relu() + b).exp(), lambda a, b: (a.relu() + b).exp()),
        ("max", lambda a, b: (a + b).max(axis=0), lambda a, b: (a + b).max(dim=0).values),
        ("mean", lambda a, b: (a * b).mean(axis=(0, 2)), lambda a, b: (a * b).mean(dim=(0, 2))),
        ("softmax", lambda a, b: (a + b).softmax(1), lambda a, b: torch.softmax(a + b, 1)),
        (
            "log_softmax",
            lambda a, b: (a - b).log_softmax(0),
            lambda a, b: torch.log_softmax(a - b, 0),
        ),
        ("matmul", lambda a, b: a @ b.transpose(-2, -1), lambda a, b: a @ b.transpose(-2, -1)),
    ],
)
def test_ops_match_torch(name, our_fn, torch_fn):
    compare(our_fn, torch_fn, ours(2, 3, 4, seed=0), ours(3, 4, seed=1))


def test_batched_matmul_with_broadcast_batch_axes_matches_torch():
    compare(lambda a, b: a @ b, lambda a, b: a @ b, ours(2, 1, 3, 2, seed=2), ours(3, 2, 4, seed=3))


def test_softmax_with_masked_entries_and_a_fully_masked_row_matches_torch():
    mask = [[False, True, False], [True, True, True]]  # the second row is all -inf: nan
    compare(
        lambda x: x.masked_fill(mask, -math.inf).softmax(-1),
        lambda x: torch.softmax(x.masked_fill(torch.tensor(mask), -math.inf), -1),
        Tensor([[0.5, 2.0, -1.0], [1.0, 2.0, 3.0]], requires_grad=True),
    )


def test_cross_entropy_matches_torch():
    targets = [2, 0, 3]
    compare(
        lambda x: F.cross_entropy(x, targets),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(targets)),
        ours(3, 4, seed=4),
    )


def test_layer_norm_matches_torch():
    norm = LayerNorm(4)  # away from the start (weight 1, bias 0)
    norm.load_state_dict({"weight": [1.5, -0.5, 2.0, 1.0], "bias": [0.1, 0.2, -0.3, 0.0]})
    w, b = theirs(norm.weight), theirs(norm.bias)
    compare(
        norm, lambda x: torch.nn.functional.layer_norm(x, (4,), w, b, 1e-5), ours(2, 3, 4, seed=5)
    )
    assert_close(norm.weight.grad.tolist(), w.grad)
    assert_close(norm.bias.grad.tolist(), b.grad)


@pytest.mark.parametrize("causal", [False, True])
def test_scaled_dot_product_attention_matches_torch(causal):
    compare(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, causal=causal)[0],
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal),
        ours(2, 3, 4, seed=6),
        ours(2, 3, 4, seed=7),
        ours(2, 3, 5, seed=8),
    )


@pytest.mark.parametrize(
    "mask",
    [
        [[False, False, False], [True, False, False], [True, True, False]],  # a row sees nothing
        [[[False, False, False]], [[True, True, False]]],  # a batch item with no keys at all
        [False, False, False],  # no query sees anything
    ],
    ids=["one row", "one batch item", "every row"],
)
def test_attention_rows_with_no_key_give_zeros_and_finite_gradients_as_torch(mask):
    compare(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask=mask)[0],
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=torch.tensor(mask)
        ),
        ours(2, 3, 4, seed=6),
        ours(2, 3, 4, seed=7),
        ours(2, 3, 5, seed=8),
    )


# ---------------------------------------------------------------------- multi-head attention


def torch_copy_of(mha):
    """torch.nn.MultiheadAttention with our weights: in_proj stacks W_q, W_k, W_v as
    (out, in) blocks, i.e. our (in, out) weights transposed."""
    d = mha.d_model
    ref = torch.nn.MultiheadAttention(
        d, mha.num_heads, bias=False, batch_first=True, dtype=torch.float64
    )
    with torch.no_grad():
        for i, name in enumerate(("w_q", "w_k", "w_v")):
            w = torch.tensor(getattr(mha, name).weight.tolist(), dtype=torch.float64)
            ref.in_proj_weight[i * d : (i + 1) * d] = w.T
        ref.out_proj.weight.copy_(torch.tensor(mha.w_o.weight.tolist(), dtype=torch.float64).T)
    return ref


@pytest.mark.parametrize("causal", [False, True])
def test_multi_head_attention_matches_torch(causal):
    mha = MultiHeadAttention(d_model=6, num_heads=3, causal=causal, rng=0)
    ref = torch_copy_of(mha)
    x = ours(2, 4, 6, seed=9)
    x_ref = theirs(x)
    mask = (
        torch.triu(torch.ones(4, 4, dtype=torch.bool), diagonal=1) if causal else None
    )  # True = blocked

    out = mha(x)
    out_ref, weights_ref = ref(
        x_ref, x_ref, x_ref, attn_mask=mask, need_weights=True, average_attn_weights=False
    )
    assert_close(out.tolist(), out_ref)
    assert_close(mha.attention.tolist(), weights_ref)  # (B, heads, T, T)

    g = Tensor.randn(2, 4, 6, rng=10)
    out.backward(g)
    out_ref.backward(torch.tensor(g.tolist(), dtype=torch.float64))
    assert_close(x.grad.tolist(), x_ref.grad)
    d = mha.d_model
    for i, name in enumerate(("w_q", "w_k", "w_v")):
        assert_close(
            getattr(mha, name).weight.grad.tolist(), ref.in_proj_weight.grad[i * d : (i + 1) * d].T
        )
    assert_close(mha.w_o.weight.grad.tolist(), ref.out_proj.weight.grad.T)
