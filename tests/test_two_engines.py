"""Two engines, one answer: the tensor engine agrees with the scalar engine, number by number.

Each test writes a computation twice, once with Values and the formula helpers of
tests/engines.py, once with Tensor ops and the library's functions, and asserts that every
output number and every input number's gradient agree to ~1e-12.
"""

import math

import pytest
from engines import (
    absolute,
    assert_engines_agree,
    causal_softmax,
    clamp,
    layer_norm,
    matmul,
    smallest,
    softmax,
    transpose,
    variance,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_attn import Tensor
from tinygrad_attn import functional as F
from tinygrad_attn.nn import AttentionHead


def matrix(rows, cols, seed):
    """A fixed (rows, cols) matrix of numbers in about -2..2 (no shared values)."""
    return Tensor.randn(rows, cols, rng=seed).tolist()


def numbers(rows, cols):
    n = st.floats(-2.0, 2.0, allow_nan=False)
    return st.lists(st.lists(n, min_size=cols, max_size=cols), min_size=rows, max_size=rows)


# ---------------------------------------------------------------------- building blocks


@settings(max_examples=25)
@given(data=st.data())
def test_matmul_agrees(data):
    n, k, m = (data.draw(st.integers(1, 4), label=name) for name in "nkm")
    report = assert_engines_agree(
        scalar_fn=lambda a, b: matmul(a, b),
        tensor_fn=lambda a, b: a @ b,
        inputs={"a": data.draw(numbers(n, k), label="a"), "b": data.draw(numbers(k, m), label="b")},
    )
    assert (report.outputs, report.gradients) == (n * m, n * k + k * m)


@settings(max_examples=25)
@given(data=st.data())
def test_softmax_agrees_along_rows_and_columns(data):
    x = data.draw(numbers(3, 4), label="x")
    assert_engines_agree(
        scalar_fn=lambda x: [softmax(row) for row in x],
        tensor_fn=lambda x: x.softmax(-1),
        inputs={"x": x},
    )
    assert_engines_agree(
        scalar_fn=lambda x: transpose([softmax(column) for column in transpose(x)]),
        tensor_fn=lambda x: F.softmax(x, axis=0),
        inputs={"x": x},
    )


def test_log_softmax_and_cross_entropy_agree():
    logits, targets = matrix(3, 4, seed=0), [2, 0, 3]

    def scalar_loss(logits):
        # -mean over rows of log softmax(row)[target]
        picked = [softmax(row)[t].log() for row, t in zip(logits, targets)]
        total = picked[0] + picked[1] + picked[2]
        return -total / 3

    assert_engines_agree(
        scalar_fn=lambda logits: [[p.log() for p in softmax(row)] for row in logits],
        tensor_fn=lambda logits: logits.log_softmax(),
        inputs={"logits": logits},
    )
    assert_engines_agree(
        scalar_fn=scalar_loss,
        tensor_fn=lambda logits: F.cross_entropy(logits, targets),
        inputs={"logits": logits},
    )


def test_layer_norm_agrees():
    def scalar_fn(x, weight, bias):
        gain, shift = weight, bias
        return [[v * g + b for v, g, b in zip(layer_norm(row), gain, shift)] for row in x]

    report = assert_engines_agree(
        scalar_fn=scalar_fn,
        tensor_fn=lambda x, weight, bias: F.layer_norm(x, weight, bias),
        inputs={"x": matrix(3, 4, seed=1), "weight": [1.5, -0.5, 2.0, 1.0], "bias": [0.1] * 4},
    )
    assert report.gradients == 12 + 4 + 4


# ---------------------------------------------------------------------- everyday ops


@pytest.mark.parametrize("correction", [0, 1])
def test_var_and_std_agree_along_rows_and_over_everything(correction):
    x = matrix(3, 4, seed=11)
    assert_engines_agree(
        scalar_fn=lambda x: [variance(row, correction) for row in x],
        tensor_fn=lambda x: x.var(axis=1, correction=correction),
        inputs={"x": x},
    )
    assert_engines_agree(
        scalar_fn=lambda x: [variance(column, correction) ** 0.5 for column in transpose(x)],
        tensor_fn=lambda x: x.std(axis=0, correction=correction),
        inputs={"x": x},
    )
    assert_engines_agree(
        scalar_fn=lambda x: [variance([v for row in x for v in row], correction)],
        tensor_fn=lambda x: x.var(correction=correction).reshape(1),
        inputs={"x": x},
    )


def test_abs_and_clamp_agree_at_their_kinks_too():
    x = [[-1.5, 0.0, 2.0], [-0.5, 1.0, 0.25]]  # 0 for abs; -0.5 and 1.0 are clamp's bounds
    assert_engines_agree(
        scalar_fn=lambda x: [[absolute(v) for v in row] for row in x],
        tensor_fn=lambda x: x.abs(),
        inputs={"x": x},
    )
    assert_engines_agree(
        scalar_fn=lambda x: [[clamp(v, -0.5, 1.0) for v in row] for row in x],
        tensor_fn=lambda x: x.clamp(-0.5, 1.0),
        inputs={"x": x},
    )


def test_min_along_an_axis_and_where_agree():
    x = [[1.0, -2.0, -2.0], [0.5, 3.0, 0.5]]  # ties: the first smallest takes the gradient
    assert_engines_agree(
        scalar_fn=lambda x: [smallest(row) for row in x],
        tensor_fn=lambda x: x.min(axis=1),
        inputs={"x": x},
    )
    y = matrix(2, 3, seed=12)
    assert_engines_agree(
        scalar_fn=lambda x, y: [
            [a if a.data > 0 else b for a, b in zip(r, s)] for r, s in zip(x, y)
        ],
        tensor_fn=lambda x, y: x.where(x > 0, y),
        inputs={"x": x, "y": y},
    )


def test_indexing_and_permute_agree():
    x = Tensor.randn(3, 2, 4, rng=13).tolist()
    assert_engines_agree(
        scalar_fn=lambda x: [[[row[j] for j in (3, 0, 3)] for row in block] for block in x[1:]],
        tensor_fn=lambda x: x[1:, :, [3, 0, 3]],  # position 3 picked twice: two gradients
        inputs={"x": x},
    )
    assert_engines_agree(
        scalar_fn=lambda x: [block[1][::2] for block in x],
        tensor_fn=lambda x: x[..., 1, ::2],
        inputs={"x": x},
    )
    assert_engines_agree(
        scalar_fn=lambda x: [[[x[i][j][k] for i in range(3)] for j in range(2)] for k in range(4)],
        tensor_fn=lambda x: x.permute(2, 1, 0),
        inputs={"x": x},
    )


# ---------------------------------------------------------------------- a full attention head

WORDS, DIMS = 4, 3  # 4 words, each a vector of 3 numbers


def attention_inputs():
    return {
        "x": matrix(WORDS, DIMS, seed=2),
        "w_q": matrix(DIMS, DIMS, seed=3),
        "w_k": matrix(DIMS, DIMS, seed=4),
        "w_v": matrix(DIMS, DIMS, seed=5),
    }


TARGET = Tensor.randn(WORDS, DIMS, rng=6).tolist()  # what the head's output is pulled towards


def scalar_attention_loss(x, w_q, w_k, w_v):
    """The head written number by number: Q, K, V; scores / sqrt(d); causal softmax; @ V;
    then the mean squared difference to TARGET."""
    q, k, v = matmul(x, w_q), matmul(x, w_k), matmul(x, w_v)
    scores = [[s / math.sqrt(DIMS) for s in row] for row in matmul(q, transpose(k))]
    weights = causal_softmax(scores)
    out = matmul(weights, v)
    squares = [(o - t) ** 2 for row, t_row in zip(out, TARGET) for o, t in zip(row, t_row)]
    total = squares[0]
    for s in squares[1:]:
        total = total + s
    return total / len(squares)


def tensor_attention_loss(x, w_q, w_k, w_v):
    q, k, v = x @ w_q, x @ w_k, x @ w_v  # (T, d) each
    scores = q @ k.T / math.sqrt(DIMS)  # (T, T)
    mask = Tensor([[j > i for j in range(WORDS)] for i in range(WORDS)])  # True = later word
    weights = scores.masked_fill(mask, -math.inf).softmax(-1)
    out = weights @ v  # (T, d)
    return ((out - Tensor(TARGET)) ** 2).mean()


def test_attention_head_written_with_tensor_ops_agrees():
    report = assert_engines_agree(scalar_attention_loss, tensor_attention_loss, attention_inputs())
    assert report.gradients == WORDS * DIMS + 3 * DIMS * DIMS  # x, w_q, w_k, w_v


def test_attention_head_from_the_library_agrees():
    def library_loss(x, w_q, w_k, w_v):
        q, k, v = x @ w_q, x @ w_k, x @ w_v
        out, _ = F.scaled_dot_product_attention(q, k, v, causal=True)
        return ((out - Tensor(TARGET)) ** 2).mean()

    assert_engines_agree(scalar_attention_loss, library_loss, attention_inputs())


def test_attention_head_module_agrees():
    head = AttentionHead(d_model=DIMS, d_head=DIMS, causal=True, rng=0)

    def module_loss(x, w_q, w_k, w_v):
        head.w_q.weight, head.w_k.weight, head.w_v.weight = w_q, w_k, w_v
        return ((head(x) - Tensor(TARGET)) ** 2).mean()

    assert_engines_agree(scalar_attention_loss, module_loss, attention_inputs())


# ---------------------------------------------------------------------- the comparison itself


def test_the_comparison_catches_a_wrong_gradient():
    # detach() hides one path from backward: the tensor side's gradient is half the truth
    with pytest.raises(AssertionError, match=r"d/dx\[0\]: Value 2.0, Tensor 1.0"):
        assert_engines_agree(lambda x: [v * v for v in x], lambda x: x * x.detach(), {"x": [1.0]})


def test_the_comparison_catches_a_wrong_output():
    with pytest.raises(AssertionError, match="out: Value 2.0, Tensor 3.0"):
        assert_engines_agree(lambda x: [v * 2 for v in x], lambda x: x * 3, {"x": [1.0]})
