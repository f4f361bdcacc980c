"""Specification of the attention core (ops_attention.py): attention as one op gives the
numbers of attention step by step, its gradients pass gradcheck, and the switch between the
two (`step_by_step()`) holds per thread."""

import math
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_attn import Tensor, detect_anomaly, gradcheck, nn, step_by_step
from tinygrad_attn import functional as F
from tinygrad_attn.ops_attention import attention, attention_layer, keys_seen


def leaf(shape, seed, label="t"):
    return Tensor.randn(*shape, requires_grad=True, rng=seed, label=label)


def run(fn, inputs, loss_reads_weights=False, seed=99):
    """fn(*inputs) -> (output, weights): their numbers, and the gradient of every input for
    a fixed random gradient of the output (plus one of the weights, if asked)."""
    for t in inputs:
        t.zero_grad()
    out, weights = fn(*inputs)
    loss = (out * Tensor.randn(*out.shape, rng=seed)).sum()
    if loss_reads_weights:
        loss = loss + (weights * Tensor.randn(*weights.shape, rng=seed + 1)).sum()
    loss.backward()
    return out.tolist(), weights.tolist(), [t.grad.tolist() for t in inputs]


def both_ways(fn, inputs, loss_reads_weights=False):
    """fn run as one op and step by step."""
    fused = run(fn, inputs, loss_reads_weights)
    with step_by_step():
        composed = run(fn, inputs, loss_reads_weights)
    return fused, composed


def flat(nested):
    stack, out = [nested], []
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


def one_op(q, k, v, causal, heads=None):
    """ops_attention.attention with every query seeing all keys, or keys 0..t (causal)."""
    B = q.shape[:-2]
    return attention(q, k, v, keys_seen(None, causal, B, heads, q.shape[-2], k.shape[-2]), heads)


def scaled(q, k, v, causal):
    return F.scaled_dot_product_attention(q, k, v, causal=causal)


# ---------------------------------------------------------------------- the same numbers


@given(
    st.integers(0, 2),  # leading axes
    st.integers(1, 9),  # queries
    st.integers(1, 9),  # keys
    st.integers(1, 5),  # d
    st.integers(1, 4),  # d_v
    st.booleans(),
    st.integers(0, 10**6),
)
def test_one_op_gives_the_numbers_and_gradients_of_the_steps(lead, T_q, T_k, d, d_v, causal, seed):
    if causal:
        T_k = T_q  # a causal mask pairs query t with keys 0..t
    batch = (2, 3)[:lead]
    q = leaf(batch + (T_q, d), seed, "q")
    k = leaf(batch + (T_k, d), seed + 1, "k")
    v = leaf(batch + (T_k, d_v), seed + 2, "v")
    fused, composed = both_ways(lambda q, k, v: scaled(q, k, v, causal), [q, k, v])
    assert fused == composed  # output, weights and the three gradients, number for number


@given(st.integers(1, 9), st.integers(1, 4), st.booleans(), st.integers(0, 10**6))
def test_a_loss_that_reads_the_weights_too_gets_their_gradient_within_rounding(T, d, causal, seed):
    # Step by step, the weights add up their two gradients before softmax's backward pass;
    # as one op, each path goes through it on its own and q and k add the results: the same
    # sum in another order, so equal to within rounding, not number for number.
    q, k, v = leaf((T, d), seed, "q"), leaf((T, d), seed + 1, "k"), leaf((T, d), seed + 2, "v")
    fused, composed = both_ways(lambda q, k, v: scaled(q, k, v, causal), [q, k, v], True)
    assert fused[:2] == composed[:2]  # the forward numbers are the same
    for a, b in zip(flat(fused[2]), flat(composed[2])):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("T", [1, 7, 8, 9, 17, 33])  # around the blocks of 8 queries
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("bias", [False, True])  # the whole layer as one op; its core only
def test_multi_head_layer_as_one_op_equals_the_layer_step_by_step(T, causal, bias):
    mha = nn.MultiHeadAttention(d_model=6, num_heads=3, bias=bias, causal=causal, rng=T)
    x = leaf((2, T, 6), T + 1, "x")

    def layer(x, *weights):  # the weights are inputs too: their gradients are compared
        return mha(x), mha.attention

    fused, composed = both_ways(layer, [x, *mha.parameters()])
    assert fused == composed


def padding_mask(lengths, T, heads=True):
    """True at the first `length` keys of each sequence: (B, 1, 1, T), or (B, 1, T)."""
    rows = [[t < n for t in range(T)] for n in lengths]
    return Tensor([[row] for row in rows] if heads else rows).reshape(
        (len(lengths), 1, 1, T) if heads else (len(lengths), 1, T)
    )


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("lengths", [[3, 11], [11, 11], [1, 6, 11]])
def test_padding_at_the_end_of_the_keys_is_one_op_with_the_numbers_of_the_steps(causal, lengths):
    T = max(lengths)
    mha = nn.MultiHeadAttention(d_model=4, num_heads=2, causal=causal, rng=len(lengths))
    x = leaf((len(lengths), T, 4), 5, "x")
    mask = padding_mask(lengths, T)

    def layer(x, *weights):
        return mha(x, mask), mha.attention

    assert mha(x, mask).op == "attention"  # the whole layer as one op
    fused, composed = both_ways(layer, [x, *mha.parameters()])
    assert fused == composed
    q, k, v = (
        leaf((len(lengths), T, 3), 6),
        leaf((len(lengths), T, 3), 7),
        leaf((len(lengths), T, 2), 8),
    )
    sdpa_mask = padding_mask(lengths, T, heads=False)

    def function(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, mask=sdpa_mask, causal=causal)

    fused, composed = both_ways(function, [q, k, v])
    assert fused == composed


def test_a_causal_mask_with_more_keys_than_queries_is_one_op_too():
    q, k, v = leaf((3, 2), 0, "q"), leaf((5, 2), 1, "k"), leaf((5, 3), 2, "v")
    assert scaled(q, k, v, causal=True)[0].op == "attention"
    fused, composed = both_ways(lambda q, k, v: scaled(q, k, v, True), [q, k, v])
    assert fused == composed


def test_keys_seen_counts_the_first_keys_of_each_query_or_declines():
    assert keys_seen(None, True, (), None, 3, 3) == [(1, 2, 3)]
    assert keys_seen(None, False, (2,), 2, 2, 4) == [(4, 4)] * 4
    padding = Tensor([[[[1, 1, 0]]], [[[1, 0, 0]]]])  # (2, 1, 1, 3)
    assert keys_seen(padding, True, (2,), 2, 3, 3) == [(1, 2, 2)] * 2 + [(1, 1, 1)] * 2
    assert keys_seen(Tensor([[1, 0, 1]]), False, (), None, 2, 3) is None  # a hole
    assert keys_seen(Tensor([[0, 0, 0]]), False, (), None, 2, 3) is None  # nothing to see
    assert keys_seen(Tensor([[1, 1], [1, 0]]), False, (), None, 2, 2) is None  # per query


def test_the_layer_takes_the_one_op_only_outside_step_by_step():
    mha = nn.MultiHeadAttention(d_model=4, num_heads=2, causal=True, rng=0)
    x = Tensor.randn(3, 4, rng=1)
    ops = {t.op for t in mha(x).topological_order()}
    assert "attention" in ops and "softmax" not in ops
    with step_by_step():
        ops = {t.op for t in mha(x).topological_order()}
    assert "attention" not in ops and {"softmax", "masked_fill", "transpose"} <= ops


def test_a_mask_that_hides_other_keys_takes_the_steps():
    q = leaf((3, 2), 0)
    out, _ = F.scaled_dot_product_attention(q, q, q, mask=[[True, False, True]] * 3)
    assert out.op == "matmul"  # weights @ v, the last step


def test_the_outputs_carry_the_names_of_the_steps():
    q, k, v = leaf((4, 2), 0), leaf((4, 2), 1), leaf((4, 3), 2)
    out, weights = F.scaled_dot_product_attention(q, k, v, causal=True)
    assert (out.label, out.op, out.shape) == ("output", "attention", (4, 3))
    assert (weights.label, weights.shape) == ("weights", (4, 4))
    mha = nn.MultiHeadAttention(d_model=4, num_heads=2, rng=0)
    y = mha(Tensor.randn(2, 5, 4, rng=1))
    assert (y.label, y.op) == ("output", "attention") and mha.attention.shape == (2, 2, 5, 5)
    mha = nn.MultiHeadAttention(d_model=4, num_heads=2, bias=True, rng=0)  # y = concat W_o + b
    y = mha(Tensor.randn(2, 5, 4, rng=1))
    assert y.children[0].children[0].label == "concat"


def test_causal_weights_are_zero_after_each_query_and_rows_sum_to_one():
    q, k, v = leaf((2, 10, 3), 0), leaf((2, 10, 3), 1), leaf((2, 10, 3), 2)
    _, weights = one_op(q, k, v, causal=True)
    for matrix in weights.tolist():
        for t, row in enumerate(matrix):
            assert all(w == 0.0 for w in row[t + 1 :])
            assert math.isclose(sum(row), 1.0, rel_tol=1e-12)


# ---------------------------------------------------------------------- gradients


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("heads", [None, 2])
def test_gradcheck_passes_the_output_and_the_weights(causal, heads):
    q, k, v = leaf((2, 5, 4), 0), leaf((2, 5, 4), 1), leaf((2, 5, 2), 2)
    result = gradcheck(lambda q, k, v: one_op(q, k, v, causal, heads)[0], [q, k, v])
    assert result.ok, result
    result = gradcheck(lambda q, k: one_op(q, k, v, causal, heads)[1], [q, k])
    assert result.ok, result


@pytest.mark.parametrize("causal", [True, False])
def test_gradcheck_passes_the_whole_layer_as_one_op(causal):
    x = leaf((2, 4, 6), 0, "x")
    ws = [leaf((6, 6), seed, "w") for seed in (1, 2, 3, 4)]
    seen = keys_seen(None, causal, (2,), 3, 4, 4)
    result = gradcheck(lambda x, *ws: attention_layer(x, *ws, seen, 3)[0], [x, *ws])
    assert result.ok, result
    result = gradcheck(lambda x, *ws: attention_layer(x, *ws, ws[0], seen, 3)[1], [x, *ws[:3]])
    assert result.ok, result


def test_the_whole_layer_as_one_op_leaves_out_the_gradients_no_one_needs():
    mha = nn.MultiHeadAttention(d_model=4, num_heads=2, causal=True, rng=0)
    mha.w_k.weight.requires_grad = False  # a frozen weight
    x = Tensor.randn(3, 4, rng=1)  # data: no gradient
    y = mha(x)
    assert y.op == "attention"
    y.sum().backward()
    assert mha.w_k.weight.grad is None and x.grad is None
    assert all(layer.weight.grad is not None for layer in (mha.w_q, mha.w_v, mha.w_o))


def test_gradcheck_fails_when_the_written_out_backward_is_wrong(monkeypatch):
    from tinygrad_attn import ops_attention

    right = ops_attention._softmax_backward

    def off_by_a_little(*args):
        return [g * 1.01 for g in right(*args)]

    monkeypatch.setattr(ops_attention, "_softmax_backward", off_by_a_little)
    q, k, v = leaf((3, 2), 0), leaf((3, 2), 1), leaf((3, 2), 2)
    assert not gradcheck(lambda q, k, v: one_op(q, k, v, causal=True)[0], [q, k, v]).ok


# ---------------------------------------------------------------------- the engine's rules


def test_inputs_changed_in_place_after_the_op_refuse_backward():
    q, k, v = leaf((3, 2), 0, "q"), leaf((3, 2), 1, "k"), leaf((3, 2), 2, "v")
    out, _ = F.scaled_dot_product_attention(q, k, v, causal=True)
    v.data[0] = 5.0
    with pytest.raises(RuntimeError, match="'v' .* changed in place after 'attention'"):
        out.sum().backward()


def test_weights_changed_in_place_after_the_layer_refuse_backward():
    mha = nn.MultiHeadAttention(d_model=4, num_heads=2, causal=True, rng=0)
    y = mha(Tensor.randn(3, 4, rng=1))
    mha.w_o.weight.data[0] = 5.0  # e.g. an optimizer step before backward()
    with pytest.raises(RuntimeError, match="'w_o.weight' .* changed in place after 'attention'"):
        y.sum().backward()


def test_detect_anomaly_names_the_one_op():
    q, k = leaf((2, 2), 0), leaf((2, 2), 1)
    v = Tensor([[math.nan, 0.0], [1.0, 1.0]], requires_grad=True)
    with detect_anomaly(), pytest.raises(RuntimeError, match="'attention' produced nan"):
        F.scaled_dot_product_attention(q, k, v)


def test_step_by_step_holds_for_the_thread_that_entered_it():
    q = leaf((3, 2), 0)
    seen = []

    def other_thread():
        seen.append(F.scaled_dot_product_attention(q, q, q)[0].op)

    with step_by_step():
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(10)
        here = F.scaled_dot_product_attention(q, q, q)[0].op
    assert (here, seen) == ("matmul", ["attention"])


def test_leaving_step_by_step_that_was_not_entered_is_an_error():
    with pytest.raises(RuntimeError, match="step_by_step: this block was not entered"):
        step_by_step().__exit__(None, None, None)
