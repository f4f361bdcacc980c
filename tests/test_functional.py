"""Specification of `tinygrad_attn.functional`: cross-entropy, layer norm, attention, masks
and position codes, each checked against its formula and with `gradcheck`."""

import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_attn import Tensor, gradcheck
from tinygrad_attn import functional as F


def close(a, b, tol=1e-12):
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    return a == pytest.approx(b, rel=tol, abs=tol)


def leaf(*shape, seed, label="x"):
    return Tensor.randn(*shape, rng=seed, requires_grad=True, label=label)


def assert_gradients_match(fn, inputs):
    result = gradcheck(fn, inputs)
    assert result.ok, str(result)


# ---------------------------------------------------------------------- cross-entropy


def test_cross_entropy_is_minus_the_mean_log_probability_of_the_targets():
    logits = leaf(3, 4, seed=0)
    targets = [1, 3, 0]
    logp = logits.log_softmax().tolist()
    expected = -sum(logp[r][t] for r, t in enumerate(targets)) / 3
    assert F.cross_entropy(logits, targets).item() == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_of_a_sure_right_answer_is_near_zero():
    logits = Tensor([[20.0, 0.0], [0.0, 20.0]])
    assert F.cross_entropy(logits, [0, 1]).item() < 1e-8
    assert F.cross_entropy(logits, [1, 0]).item() == pytest.approx(20.0)


def test_cross_entropy_of_uniform_logits_is_log_of_the_class_count():
    assert F.cross_entropy(Tensor.zeros(5, 7), [0, 1, 2, 3, 6]).item() == pytest.approx(math.log(7))


def test_cross_entropy_takes_targets_as_a_list_nested_lists_or_an_int_tensor():
    logits = leaf(2, 3, 4, seed=1)  # (batch, T, classes)
    nested = [[0, 1, 2], [3, 3, 0]]
    expected = F.cross_entropy(logits.reshape(6, 4), [0, 1, 2, 3, 3, 0]).item()
    assert F.cross_entropy(logits, nested).item() == expected
    assert F.cross_entropy(logits, Tensor(nested)).item() == expected
    assert F.cross_entropy(logits, [0, 1, 2, 3, 3, 0]).item() == expected
    assert F.cross_entropy(logits, (0, 1, 2, 3, 3, 0)).item() == expected


def test_cross_entropy_gradient_is_softmax_minus_one_hot_over_rows():
    logits = leaf(3, 4, seed=2)
    targets = [1, 3, 0]
    F.cross_entropy(logits, targets).backward()
    p = logits.softmax().tolist()
    expected = [
        [(p[r][c] - (1.0 if c == t else 0.0)) / 3 for c in range(4)] for r, t in enumerate(targets)
    ]
    assert close(logits.grad.tolist(), expected)


def test_cross_entropy_passes_gradcheck():
    assert_gradients_match(lambda x: F.cross_entropy(x, [2, 0, 1]), [leaf(3, 3, seed=3)])


@pytest.mark.parametrize("target", [-1, 4, 10])
def test_cross_entropy_with_an_out_of_range_target_names_it_and_the_class_count(target):
    logits = leaf(2, 4, seed=4)
    with pytest.raises(ValueError, match=rf"target {target} is out of range for 4 classes"):
        F.cross_entropy(logits, [0, target])


def test_cross_entropy_needs_one_target_per_row():
    with pytest.raises(
        ValueError, match=re.escape("3 rows of logits (shape (3, 2)) but 2 targets")
    ):
        F.cross_entropy(Tensor.zeros(3, 2), [0, 1])


@pytest.mark.parametrize("targets", [[0.5, 1], ["a", 0], [True, 0], 1.5])
def test_cross_entropy_targets_must_be_whole_numbers(targets):
    with pytest.raises(TypeError, match="targets"):
        F.cross_entropy(Tensor.zeros(2, 2), targets)


# ---------------------------------------------------------------------- layer norm


@settings(max_examples=30)
@given(
    rows=st.lists(
        st.lists(st.floats(-5.0, 5.0, allow_nan=False), min_size=4, max_size=4).filter(
            lambda row: max(row) - min(row) > 0.1  # a flat row has no variance to scale
        ),
        min_size=1,
        max_size=3,
    )
)
def test_layer_norm_gives_each_row_mean_zero_and_variance_one(rows):
    out = F.layer_norm(Tensor(rows)).tolist()
    for row in out:
        mean = sum(row) / len(row)
        var = sum((v - mean) ** 2 for v in row) / len(row)
        assert mean == pytest.approx(0.0, abs=1e-9)
        assert var == pytest.approx(1.0, rel=1e-2)  # eps = 1e-5 under the square root


def test_layer_norm_scales_and_shifts():
    x = Tensor([[1.0, 2.0, 3.0]])
    plain = F.layer_norm(x).tolist()[0]
    scaled = F.layer_norm(x, Tensor([2.0, 2.0, 2.0]), Tensor([1.0, 0.0, -1.0])).tolist()[0]
    assert close(scaled, [2 * plain[0] + 1, 2 * plain[1], 2 * plain[2] - 1])
    assert close(plain, [-math.sqrt(1.5 / (1 + 1.5e-5)), 0.0, math.sqrt(1.5 / (1 + 1.5e-5))])


def test_layer_norm_passes_gradcheck():
    x, w, b = leaf(2, 4, seed=5), leaf(4, seed=6, label="w"), leaf(4, seed=7, label="b")
    assert_gradients_match(lambda x, w, b: F.layer_norm(x, w, b), [x, w, b])


# ---------------------------------------------------------------------- attention


def test_attention_is_softmax_of_scaled_scores_times_values():
    q, k, v = leaf(3, 2, seed=8), leaf(4, 2, seed=9), leaf(4, 3, seed=10)
    out, weights = F.scaled_dot_product_attention(q, k, v)
    scores = (q @ k.T).tolist()
    expected = [
        [math.exp(s / math.sqrt(2)) / sum(math.exp(t / math.sqrt(2)) for t in row) for s in row]
        for row in scores
    ]
    assert weights.shape == (3, 4) and close(weights.tolist(), expected)
    assert out.shape == (3, 3) and close(out.tolist(), (weights @ v).tolist())


def test_causal_attention_weights_are_exactly_zero_above_the_diagonal_and_rows_sum_to_one():
    x = leaf(2, 5, 3, seed=11)
    _, weights = F.scaled_dot_product_attention(x, x, x, causal=True)
    for matrix in weights.tolist():
        for i, row in enumerate(matrix):
            assert row[i + 1 :] == [0.0] * (len(row) - i - 1)
            assert all(w > 0.0 for w in row[: i + 1])
            assert sum(row) == pytest.approx(1.0, abs=1e-12)


def test_a_mask_marks_where_a_query_may_attend():
    q, k, v = leaf(2, 2, seed=12), leaf(3, 2, seed=13), leaf(3, 2, seed=14)
    mask = [[True, False, True], [False, True, True]]  # True = may attend
    out, weights = F.scaled_dot_product_attention(q, k, v, mask=mask)
    assert weights.tolist()[0][1] == 0.0 and weights.tolist()[1][0] == 0.0
    # the same as attending over only the allowed keys
    for row, keys in enumerate([[0, 2], [1, 2]]):
        alone, _ = F.scaled_dot_product_attention(q[[row]], k[keys], v[keys])
        assert close(out.tolist()[row], alone.tolist()[0])
    as_tensor, _ = F.scaled_dot_product_attention(q, k, v, mask=Tensor(mask))
    assert as_tensor.tolist() == out.tolist()


def test_a_mask_and_causal_combine():
    x = leaf(3, 2, seed=15)
    mask = [[True, True, True], [False, True, True], [True, True, True]]
    _, weights = F.scaled_dot_product_attention(x, x, x, mask=mask, causal=True)
    w = weights.tolist()
    assert w[0] == [1.0, 0.0, 0.0]  # causal: the first word sees only itself
    assert w[1][0] == 0.0 and w[1][1] == 1.0 and w[1][2] == 0.0  # mask blocks 0, causal 2
    assert w[2][0] > 0.0 and w[2][2] > 0.0


def test_a_mask_broadcasts_over_batch_and_heads():
    x = leaf(2, 2, 3, 2, seed=16)  # (B, heads, T, d)
    _, weights = F.scaled_dot_product_attention(x, x, x, mask=[[True, True, False]] * 3)
    assert weights.shape == (2, 2, 3, 3)
    assert all(row[2] == 0.0 for b in weights.tolist() for h in b for row in h)


def test_a_mask_of_the_wrong_shape_names_both_shapes():
    q = leaf(3, 2, seed=17)
    with pytest.raises(ValueError, match=re.escape("mask of shape (2, 3)")) as info:
        F.scaled_dot_product_attention(q, q, q, mask=[[True] * 3] * 2)
    assert "scores of shape (3, 3)" in str(info.value)


def test_q_k_v_of_mismatched_shapes_are_named():
    q, k = leaf(3, 2, seed=18), leaf(3, 4, seed=19)
    with pytest.raises(ValueError, match=re.escape("(3, 2) and (3, 4)")):
        F.scaled_dot_product_attention(q, k, k)
    with pytest.raises(ValueError, match=re.escape("(3, 2) and (4, 2)")):
        F.scaled_dot_product_attention(q, q, leaf(4, 2, seed=20))
    with pytest.raises(ValueError, match=re.escape("(..., T, d)")):
        F.scaled_dot_product_attention(leaf(2, seed=21), q, q)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_passes_gradcheck_for_q_k_and_v(causal):
    q = leaf(2, 3, 2, seed=22, label="q")
    k = leaf(2, 3, 2, seed=23, label="k")
    v = leaf(2, 3, 2, seed=24, label="v")

    def attention(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, causal=causal)[0]

    assert_gradients_match(attention, [q, k, v])


def test_attention_weights_pass_gradcheck_with_a_mask():
    q, k = leaf(3, 2, seed=25, label="q"), leaf(3, 2, seed=26, label="k")
    v = leaf(3, 2, seed=27, label="v")
    mask = [[True, False, True], [True, True, False], [False, True, True]]
    assert_gradients_match(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask=mask)[1], [q, k, v]
    )


# ---------------------------------------------------------------------- masks and positions


def test_causal_mask_allows_each_position_itself_and_the_past():
    assert F.causal_mask(1).tolist() == [[1.0]]
    mask = F.causal_mask(4).tolist()
    assert mask == [[1.0 if j <= i else 0.0 for j in range(4)] for i in range(4)]


def test_the_causal_mask_as_a_mask_equals_causal_true():
    x = leaf(4, 2, seed=28)
    with_mask, _ = F.scaled_dot_product_attention(x, x, x, mask=F.causal_mask(4))
    with_flag, _ = F.scaled_dot_product_attention(x, x, x, causal=True)
    assert with_mask.tolist() == with_flag.tolist()


@pytest.mark.parametrize("T", [0, -1, 2.0, True])
def test_causal_mask_needs_a_positive_int(T):
    with pytest.raises(ValueError, match="positive int"):
        F.causal_mask(T)


def test_sinusoidal_positions_have_the_known_values():
    pe = F.sinusoidal_positions(3, 4).tolist()
    assert pe[0] == [0.0, 1.0, 0.0, 1.0]  # sin(0), cos(0), sin(0), cos(0)
    # column 2i: sin(t / 10000^(2i/d)); column 2i+1: cos of the same angle; d = 4
    assert close(pe[1], [math.sin(1), math.cos(1), math.sin(0.01), math.cos(0.01)])
    assert close(pe[2], [math.sin(2), math.cos(2), math.sin(0.02), math.cos(0.02)])


def test_sinusoidal_positions_of_an_odd_width():
    pe = F.sinusoidal_positions(2, 3).tolist()
    assert close(pe[1], [math.sin(1), math.cos(1), math.sin(1 / 10000 ** (2 / 3))])


def test_sinusoidal_positions_need_positive_ints():
    with pytest.raises(ValueError, match="d must be a positive int"):
        F.sinusoidal_positions(3, 0)


def test_softmax_and_log_softmax_functions_are_the_tensor_methods():
    x = leaf(2, 3, seed=29)
    assert F.softmax(x, axis=0).tolist() == x.softmax(0).tolist()
    assert F.log_softmax(x).tolist() == x.log_softmax(-1).tolist()


# ---------------------------------------------------------------------- queries with no key


def test_a_query_that_may_look_at_no_key_gets_zero_weights_and_a_zero_output():
    q, k, v = leaf(3, 2, seed=1), leaf(3, 2, seed=2), leaf(3, 2, seed=3)
    mask = [[False, False, False], [True, False, False], [True, True, True]]
    out, weights = F.scaled_dot_product_attention(q, k, v, mask=mask)
    assert weights.tolist()[0] == [0.0, 0.0, 0.0] and out.tolist()[0] == [0.0, 0.0]
    assert weights.tolist()[1] == [1.0, 0.0, 0.0] and close(sum(weights.tolist()[2]), 1.0)
    assert_gradients_match(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, mask=mask)[0], [q, k, v]
    )
    assert q.grad is None  # (gradcheck leaves gradients as they were)
    (out * out).sum().backward()
    assert q.grad.tolist()[0] == [0.0, 0.0] and all(map(math.isfinite, k.grad.data + v.grad.data))


def test_one_step_on_a_padded_batch_keeps_every_weight_finite():
    from tinygrad_attn import nn, optim

    block = nn.TransformerBlock(4, 2, causal=True, rng=0)
    x = Tensor.randn(2, 3, 4, rng=1)
    # the second sequence is padding only: its keys are all masked (a (B, 1, 1, T_k) mask)
    pad = Tensor([[[[True, True, True]]], [[[False, False, False]]]])
    opt = optim.Adam(block.parameters(), lr=0.1)
    out = block(x, mask=pad)
    assert all(map(math.isfinite, out.data))
    (out * out).mean().backward()
    assert all(math.isfinite(g) for p in block.parameters() for g in p.grad.data)
    opt.step()
    assert all(math.isfinite(w) for p in block.parameters() for w in p.data)
    assert block.attn.attention.tolist()[1] == [[[0.0] * 3] * 3] * 2  # no attention at all
