"""Specification of layer norm and cross-entropy as one op each (ops_fused.py): the same
numbers as the composed ops of functional.py, gradients equal within rounding, gradcheck
passes (and fails on a wrong backward), the scalar engine agrees, and the composed ops
take over inside step_by_step() and for numbers that are not finite."""

import math

import pytest
from engines import assert_engines_agree, layer_norm, softmax
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_attn import Tensor, detect_anomaly, gradcheck, nn, ops_fused, step_by_step
from tinygrad_attn import functional as F


def leaf(shape, seed, label="t", scale=1.0):
    t = Tensor.randn(*shape, rng=seed, label=label)
    return Tensor([scale * v for v in t.data], requires_grad=True, label=label).reshape(*shape)


def numbers_and_grads(fn, inputs, seed=7):
    """fn(*inputs): its numbers, and every input's gradient for a fixed random output grad."""
    for t in inputs:
        t.zero_grad()
    out = fn(*inputs)
    (out * Tensor.randn(*out.shape, rng=seed)).sum().backward()
    return out, [t.grad.data for t in inputs]


def both_ways(fn, inputs):
    fused = numbers_and_grads(fn, inputs)
    with step_by_step():
        composed = numbers_and_grads(fn, inputs)
    return fused, composed


def assert_close(a, b, rel=1e-12):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x == pytest.approx(y, rel=rel, abs=rel), (a, b)


shapes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 6))


# ---------------------------------------------------------------------- layer norm


@settings(max_examples=30, deadline=None)
@given(shape=shapes, lead=st.integers(0, 2), seed=st.integers(0, 10**6), scale=st.floats(0.01, 100))
def test_layer_norm_as_one_op_gives_the_numbers_of_the_steps(shape, lead, seed, scale):
    shape = shape[3 - lead - 1 :]  # 1, 2 or 3 axes
    x = leaf(shape, seed, "x", scale)
    w, b = leaf(shape[-1:], seed + 1, "w"), leaf(shape[-1:], seed + 2, "b")
    (out, grads), (ref, ref_grads) = both_ways(lambda x, w, b: F.layer_norm(x, w, b), [x, w, b])
    assert out.op == "layer_norm" and ref.op == "+"
    assert out.shape == ref.shape == x.shape
    assert out.data == ref.data  # the same arithmetic in the same order: the same numbers
    for g, r in zip(grads, ref_grads):
        assert_close(g, r, rel=1e-9)


def test_layer_norm_as_one_op_passes_gradcheck():
    x, w, b = leaf((2, 3, 5), 1, "x"), leaf((5,), 2, "w"), leaf((5,), 3, "b")
    result = gradcheck(lambda x, w, b: F.layer_norm(x, w, b), [x, w, b])
    assert F.layer_norm(x, w, b).op == "layer_norm"
    assert result.ok, result


def test_gradcheck_fails_when_layer_norms_written_out_backward_is_wrong(monkeypatch):
    real = ops_fused.record

    def record_with_a_wrong_dx(data, shape, op, children, backward, saves):
        def wrong(g):
            dx, dw, db = backward(g)
            return [2.0 * v for v in dx], dw, db  # twice the right dx

        return real(data, shape, op, children, wrong, saves)

    monkeypatch.setattr(ops_fused, "record", record_with_a_wrong_dx)
    x, w, b = leaf((2, 4), 1, "x"), leaf((4,), 2, "w"), leaf((4,), 3, "b")
    assert not gradcheck(lambda x, w, b: F.layer_norm(x, w, b), [x, w, b]).ok


@settings(max_examples=20, deadline=None)
@given(rows=st.integers(1, 3), width=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_layer_norm_as_one_op_agrees_with_the_scalar_engine(rows, width, seed):
    def scalar_fn(x, weight, bias):
        return [[v * g + s for v, g, s in zip(layer_norm(r), weight, bias)] for r in x]

    def tensor_fn(x, weight, bias):
        out = F.layer_norm(x, weight, bias)
        assert out.op == "layer_norm"
        return out

    report = assert_engines_agree(
        scalar_fn=scalar_fn,
        tensor_fn=tensor_fn,
        inputs={
            "x": Tensor.randn(rows, width, rng=seed).tolist(),
            "weight": Tensor.randn(width, rng=seed + 1).tolist(),
            "bias": Tensor.randn(width, rng=seed + 2).tolist(),
        },
        tol=1e-10,
    )
    assert report.gradients == rows * width + 2 * width


def test_the_layer_norm_module_runs_as_one_op_outside_step_by_step_only():
    norm = nn.LayerNorm(4)
    x = Tensor.randn(3, 4, rng=0)
    assert norm(x).op == "layer_norm"
    with step_by_step():
        assert norm(x).op == "+"


@pytest.mark.parametrize(
    "x, eps",
    [
        ([[1.0, math.inf, 2.0]], 1e-5),  # not finite: inf - inf is nan, IEEE-754's rules
        ([[1.0, math.nan, 2.0]], 1e-5),
        ([[3.0, 3.0, 3.0]], 0.0),  # eps 0 and nothing to divide by: 0 / 0
        ([[1e300, -1e300, 0.0]], 1e-5),  # a variance too large for a float
    ],
)
def test_layer_norm_leaves_numbers_it_cannot_divide_to_the_steps(x, eps):
    x = Tensor(x, requires_grad=True)
    w, b = Tensor.ones(3, requires_grad=True), Tensor.zeros(3, requires_grad=True)
    assert ops_fused.layer_norm(x, w, b, eps) is None
    out = F.layer_norm(x, w, b, eps)
    with step_by_step():
        ref = F.layer_norm(x, w, b, eps)
    assert out.op == ref.op == "+"
    assert str(out.data) == str(ref.data)  # nan and inf where the steps give them


def test_layer_norm_with_a_broadcast_weight_or_none_takes_the_steps():
    x = Tensor.randn(2, 3, rng=0)
    assert F.layer_norm(x).op == "/"
    assert F.layer_norm(x, Tensor([2.0]), Tensor.zeros(3)).op == "+"  # weight of shape (1,)


def test_layer_norm_as_one_op_refuses_backward_after_its_weight_changed_in_place():
    x, w, b = leaf((2, 3), 1), leaf((3,), 2), leaf((3,), 3)
    out = F.layer_norm(x, w, b)
    w.data[0] = 5.0
    with pytest.raises(RuntimeError, match="changed in place"):
        out.sum().backward()


# ---------------------------------------------------------------------- cross-entropy


@settings(max_examples=30, deadline=None)
@given(
    rows=st.integers(1, 6),
    classes=st.integers(1, 7),
    seed=st.integers(0, 10**6),
    scale=st.floats(0.01, 100),
    data=st.data(),
)
def test_cross_entropy_as_one_op_gives_the_numbers_of_the_steps(rows, classes, seed, scale, data):
    targets = data.draw(st.lists(st.integers(0, classes - 1), min_size=rows, max_size=rows))
    logits = leaf((rows, classes), seed, "logits", scale)
    (out, grads), (ref, ref_grads) = both_ways(lambda x: F.cross_entropy(x, targets), [logits])
    assert out.op == "cross_entropy" and ref.op == "neg"
    assert out.label == ref.label == "loss"
    assert out.shape == ref.shape == ()
    assert out.data == ref.data  # the same numbers
    assert_close(grads[0], ref_grads[0], rel=1e-9)


def test_cross_entropy_as_one_op_keeps_the_shape_of_logits_with_more_axes():
    logits = leaf((2, 3, 4), 0, "logits")
    loss = F.cross_entropy(logits, [[0, 1, 2], [3, 3, 0]])
    assert loss.op == "cross_entropy"
    loss.backward()
    assert logits.grad.shape == (2, 3, 4)
    # each row's gradient is (softmax - one hot) / rows: it sums to 0
    for r in range(6):
        assert sum(logits.grad.data[4 * r : 4 * r + 4]) == pytest.approx(0.0, abs=1e-15)


def test_cross_entropy_as_one_op_passes_gradcheck():
    logits = leaf((4, 5), 3, "logits")
    result = gradcheck(lambda x: F.cross_entropy(x, [2, 0, 4, 4]), [logits])
    assert F.cross_entropy(logits, [2, 0, 4, 4]).op == "cross_entropy"
    assert result.ok, result


def test_gradcheck_fails_when_cross_entropys_written_out_backward_is_wrong(monkeypatch):
    real = ops_fused.record

    def record_with_a_wrong_grad(data, shape, op, children, backward, saves):
        return real(data, shape, op, children, lambda g: ([-v for v in backward(g)[0]],), saves)

    monkeypatch.setattr(ops_fused, "record", record_with_a_wrong_grad)
    assert not gradcheck(lambda x: F.cross_entropy(x, [1, 0]), [leaf((2, 3), 1)]).ok


def test_cross_entropy_as_one_op_agrees_with_the_scalar_engine():
    logits = Tensor.randn(4, 5, rng=4).tolist()
    targets = [3, 0, 4, 3]

    def scalar_loss(logits):
        picked = [softmax(row)[t].log() for row, t in zip(logits, targets)]
        total = picked[0]
        for p in picked[1:]:
            total = total + p
        return -total / len(picked)

    def tensor_loss(logits):
        loss = F.cross_entropy(logits, targets)
        assert loss.op == "cross_entropy"
        return loss

    assert_engines_agree(scalar_fn=scalar_loss, tensor_fn=tensor_loss, inputs={"logits": logits})


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_cross_entropy_leaves_logits_that_are_not_finite_to_the_steps(bad):
    logits = Tensor([[0.0, bad, 1.0], [2.0, 0.0, 1.0]], requires_grad=True)
    loss = F.cross_entropy(logits, [2, 0])
    with step_by_step():
        ref = F.cross_entropy(logits, [2, 0])
    assert loss.op == ref.op == "neg"
    assert str(loss.data) == str(ref.data)


def test_detect_anomaly_names_the_one_op_of_a_loss_whose_gradient_is_nan():
    # softmax gives class 2 a probability of exactly 0, and 0 * inf is nan
    logits = Tensor([[0.0, 1000.0, -1000.0]], requires_grad=True)
    with detect_anomaly():
        loss = F.cross_entropy(logits, [0]) * math.inf
        with pytest.raises(RuntimeError, match="'cross_entropy' produced nan in its backward"):
            loss.backward()
