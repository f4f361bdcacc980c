"""Specification of the statistics a PyTorch user reaches for: max and min with PyTorch's
rules for ties, argmax and argmin, var and std with a correction.

Each is compared number by number with a plain Python reference, its gradient with finite
differences (`gradcheck`) on random shapes and axes drawn by hypothesis, and the points where
PyTorch had to choose a rule (ties, nan, division by zero) are tested by name with the number
PyTorch gives (tests/test_torch_ops.py checks them against torch itself).
"""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_tensor_ops import (
    assert_gradients_match,
    axis_arguments,
    close,
    draw_tensor,
    flat_numbers,
    floats,
    get,
    grads,
    pick,
    positions,
    reduce_reference,
    shapes,
    small_integers,
)

from tinygrad_attn import Tensor
from tinygrad_attn import functional as F


def axes_of(axis, ndim):
    if axis is None:
        return set(range(ndim))
    return {a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}


# ---------------------------------------------------------------------- max and min with ties


@pytest.mark.parametrize("op", ["max", "min"])
@given(data=st.data())
def test_the_gradient_of_max_and_min_follows_pytorchs_rule_for_ties(op, data):
    # Along one axis (an int, as torch.max(x, dim)) the first of the tied numbers takes the
    # whole gradient; over all numbers (None, as torch.max(x)) or a tuple of axes (as
    # torch.amax) every tied number takes an equal share.
    x = draw_tensor(data, data.draw(shapes(min_dims=1), label="shape"), small_integers())
    axis = data.draw(axis_arguments(x.ndim), label="axis")
    out = getattr(x, op)(axis=axis, keepdims=True)
    upstream = Tensor.randn(*out.shape, rng=0)
    (gx,) = grads(lambda x: getattr(x, op)(axis=axis, keepdims=True), x, upstream=upstream)
    axes = axes_of(axis, x.ndim)
    groups = {}
    for index in positions(x.shape):
        kept = tuple(0 if d in axes else i for d, i in enumerate(index))
        groups.setdefault(kept, []).append(index)
    for kept, members in groups.items():
        best, g = get(out, kept), get(upstream, kept)
        winners = [i for i in members if get(x, i) == best]  # in row-major order
        if isinstance(axis, int):
            expected = {i: (g if i == winners[0] else 0.0) for i in members}
        else:
            expected = {i: (g / len(winners) if i in winners else 0.0) for i in members}
        for index in members:
            assert pick(gx, index) == pytest.approx(expected[index], rel=1e-12)


@given(data=st.data())
def test_min_is_minus_the_max_of_minus_x_in_numbers_and_gradients(data):
    x = draw_tensor(data, data.draw(shapes(min_dims=1), label="shape"), small_integers())
    axis = data.draw(axis_arguments(x.ndim), label="axis")
    assert x.min(axis).tolist() == (-(-x).max(axis)).tolist()
    assert grads(lambda x: x.min(axis), x) == grads(lambda x: -(-x).max(axis), x)


def test_max_over_all_numbers_shares_the_gradient_among_ties_like_torch_max():
    x = Tensor([[1.0, 3.0], [3.0, 2.0]], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [[0.0, 0.5], [0.5, 0.0]]


def test_max_along_one_axis_gives_a_tie_to_the_first_like_torch_max_dim():
    x = Tensor([[1.0, 3.0, 3.0], [3.0, 2.0, 3.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def test_max_over_a_tuple_of_axes_shares_ties_like_torch_amax():
    x = Tensor([[1.0, 3.0, 3.0], [3.0, 2.0, 0.0]], requires_grad=True)
    x.max(axis=(1,)).sum().backward()  # one axis, but as a tuple: amax's rule
    assert x.grad.tolist() == [[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]


def test_min_over_all_numbers_shares_ties_and_nan_wins():
    x = Tensor([1.0, 1.0, 3.0], requires_grad=True)
    x.min().backward()
    assert x.grad.tolist() == [0.5, 0.5, 0.0]
    y = Tensor([1.0, math.nan, 3.0, math.nan], requires_grad=True)
    assert math.isnan(y.min().item())
    y.min().backward()
    assert y.grad.tolist() == [0.0, 0.5, 0.0, 0.5]  # as torch.max(x) and torch.min(x)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@given(data=st.data())
def test_argmax_and_argmin_point_at_the_first_extreme_along_an_axis_or_in_the_flat_list(op, data):
    x = draw_tensor(data, data.draw(shapes(min_dims=1), label="shape"), small_integers())
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    where_it_is = getattr(x, op)(axis=axis, keepdims=keepdims)
    value = getattr(x, op[3:])(axis=axis, keepdims=keepdims)  # max or min
    assert not where_it_is.requires_grad and where_it_is.op == ""
    assert where_it_is.shape == value.shape
    if axis is None:
        k = int(where_it_is.item())
        assert x.data[k] == value.item() and value.item() not in x.data[:k]
        return
    ax = axis % x.ndim
    for index in positions(value.shape):
        k = int(get(where_it_is, index))
        line = list(index) if keepdims else list(index[:ax]) + [0] + list(index[ax:])
        numbers = []
        for j in range(x.shape[ax]):
            line[ax] = j
            numbers.append(get(x, tuple(line)))
        assert numbers[k] == get(value, index) and get(value, index) not in numbers[:k]


def test_argmax_counts_nan_as_the_largest_and_wants_one_axis():
    assert Tensor([1.0, math.nan, 5.0, math.nan]).argmax().item() == 1.0
    assert Tensor([[2.0, 1.0]]).argmax(keepdims=True).shape == (1, 1)
    with pytest.raises(TypeError, match="axis must be an int or None"):
        Tensor([[1.0]]).argmax(axis=(0, 1))
    with pytest.raises(ValueError, match="size 0"):
        Tensor([[], []]).argmin(axis=1)


# ---------------------------------------------------------------------- var and std


def variance_reference(numbers, correction):
    n = len(numbers)
    mean = math.fsum(numbers) / n
    return math.fsum((v - mean) ** 2 for v in numbers) / (n - correction)


@st.composite
def spread_arguments(draw):
    """A tensor shape, an axis argument, and a correction below the group's count."""
    shape = draw(shapes(min_dims=1))
    axis = draw(axis_arguments(len(shape)))
    count = math.prod(shape[d] for d in axes_of(axis, len(shape)))
    correction = draw(st.sampled_from([c for c in (0, 1, 0.5) if c < count]))
    return shape, axis, correction


@pytest.mark.parametrize("op", ["var", "std"])
@given(data=st.data())
def test_var_and_std_over_any_axes_with_any_correction(op, data):
    shape, axis, correction = data.draw(spread_arguments(), label="shape, axis, correction")
    x = draw_tensor(data, shape, "distinct")  # distinct numbers: std > 0 in every group
    keepdims = data.draw(st.booleans(), label="keepdims")

    def reference(numbers):
        v = variance_reference(numbers, correction)
        return v if op == "var" else math.sqrt(v)

    out = getattr(x, op)(axis=axis, correction=correction, keepdims=keepdims)
    expected_shape, expected = reduce_reference(x, axis, keepdims, reference)
    assert out.shape == expected_shape
    assert close(flat_numbers(out), expected, tol=1e-10)
    assert_gradients_match(
        lambda x: getattr(x, op)(axis=axis, correction=correction, keepdims=keepdims), [x]
    )


@given(data=st.data())
def test_var_ignores_a_shift_scales_with_the_square_and_its_gradient_sums_to_zero(data):
    shape, axis, correction = data.draw(spread_arguments(), label="shape, axis, correction")
    x = draw_tensor(data, shape)
    shift, scale = data.draw(floats(), label="shift"), data.draw(floats(), label="scale")
    var = x.var(axis, correction)
    assert close((x + shift).var(axis, correction).tolist(), var.tolist(), tol=1e-9)
    assert close((x * scale).var(axis, correction).tolist(), (var * scale**2).tolist(), tol=1e-9)
    # moving every number of a group by the same amount changes nothing: the gradient's
    # numbers in each group add up to 0
    (gx,) = grads(lambda x: x.var(axis, correction), x)
    assert close(Tensor(gx).sum(axis).reshape(-1).tolist(), [0.0] * len(var.data), tol=1e-9)


@given(data=st.data())
def test_var_std_and_the_two_corrections_fit_together(data):
    shape = data.draw(shapes(min_dims=1), label="shape")
    x = draw_tensor(data, shape)
    n = len(x.data)
    if n > 1:
        assert close((x.var(correction=0) * n).item(), (x.var() * (n - 1)).item(), tol=1e-10)
    assert close(x.std(correction=0).item(), math.sqrt(x.var(correction=0).item()))


def test_layer_norm_is_x_minus_the_mean_over_the_root_of_var_with_correction_0():
    x = Tensor.randn(3, 5, rng=0, requires_grad=True)
    composed = (x - x.mean(-1, keepdims=True)) / (
        x.var(-1, correction=0, keepdims=True) + 1e-5
    ).sqrt()
    assert close(composed.tolist(), F.layer_norm(x).tolist())
    upstream = Tensor.randn(3, 5, rng=1)
    assert close(
        grads(lambda x: F.layer_norm(x), x, upstream=upstream),
        grads(
            lambda x: (
                (x - x.mean(-1, keepdims=True))
                / (x.var(-1, correction=0, keepdims=True) + 1e-5).sqrt()
            ),
            x,
            upstream=upstream,
        ),
        tol=1e-10,
    )


def test_std_of_equal_numbers_is_zero_with_gradient_zero_like_pytorch():
    x = Tensor([2.0, 2.0, 2.0], requires_grad=True)
    out = x.std()
    out.backward()
    assert out.item() == 0.0 and x.grad.tolist() == [0.0, 0.0, 0.0]


def test_the_default_correction_is_one_as_in_pytorch():
    x = Tensor([1.0, 2.0, 3.0, 4.0])
    assert x.var().item() == pytest.approx(5 / 3) and x.std().item() == pytest.approx(
        math.sqrt(5 / 3)
    )
    assert x.var(correction=0).item() == 1.25


def test_a_correction_equal_to_the_count_divides_by_zero_like_pytorch():
    assert math.isnan(Tensor([2.0]).var().item())  # one number, correction 1: 0 / 0
    assert math.isnan(Tensor([2.0]).std().item())
    assert Tensor([2.0, 3.0]).var(correction=2).item() == math.inf


@pytest.mark.parametrize("correction", [3, 2.5, -1])
def test_a_correction_larger_than_the_count_or_negative_is_a_value_error(correction):
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    with pytest.raises(ValueError, match="correction"):
        x.var(axis=0, correction=correction)
    with pytest.raises(ValueError, match=r"shape \(2, 3\)" if correction > 0 else ">= 0"):
        x.std(axis=0, correction=correction)
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]] and x.grad is None
