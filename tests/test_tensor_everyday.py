"""Specification of the everyday elementwise and shape ops a PyTorch user reaches for: abs,
clamp, gelu, where, the comparisons, and unsqueeze, squeeze, permute and flatten.

Each op is compared number by number with a plain Python reference, its gradient with finite
differences (`gradcheck`, the full Jacobian) on random shapes drawn by hypothesis, and the
points where PyTorch had to choose a rule (kinks, bounds, nan) are tested by name with the
number PyTorch gives (tests/test_torch_ops.py checks them against torch itself). The
statistics (max, min, argmax, var, std) are in tests/test_tensor_stats.py.
"""

import math
import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_tensor_ops import (
    assert_gradients_match,
    assert_numbers,
    away_from_zero,
    broadcast_reference,
    close,
    draw_tensor,
    flat_numbers,
    floats,
    get,
    grads,
    positions,
    read_broadcast,
    shapes,
    small_integers,
)

from tinygrad_attn import Tensor, where

# ---------------------------------------------------------------------- abs


@given(data=st.data())
def test_abs_is_the_distance_from_zero_and_its_slope_is_the_sign(data):
    x = draw_tensor(data, data.draw(shapes(), label="shape"), away_from_zero())
    assert_numbers(x.abs(), x.shape, [abs(v) for v in flat_numbers(x)])
    assert_gradients_match(lambda x: x.abs(), [x])
    assert close(x.abs().tolist(), (x * x).sqrt().tolist())


def test_abs_at_exactly_zero_has_gradient_zero_like_pytorch():
    x = Tensor([0.0, -0.0, 2.0, -2.0, math.nan], requires_grad=True)
    out = x.abs()
    out.sum().backward()
    assert out.tolist()[:4] == [0.0, 0.0, 2.0, 2.0] and math.isnan(out.tolist()[4])
    assert x.grad.tolist() == [0.0, 0.0, 1.0, -1.0, 0.0]


# ---------------------------------------------------------------------- clamp


@st.composite
def bounds(draw):
    kind = draw(st.sampled_from(["both", "min", "max"]))
    low, high = sorted(draw(st.lists(floats(-1.5, 1.5), min_size=2, max_size=2)))
    return {"both": (low, high), "min": (low, None), "max": (None, high)}[kind]


@given(data=st.data())
def test_clamp_keeps_numbers_inside_the_bounds_and_passes_gradient_only_inside(data):
    x = draw_tensor(data, data.draw(shapes(), label="shape"))
    low, high = data.draw(bounds(), label="bounds")
    out = x.clamp(low, high)
    lo = -math.inf if low is None else low
    hi = math.inf if high is None else high
    assert_numbers(out, x.shape, [min(max(v, lo), hi) for v in flat_numbers(x)])
    (gx,) = grads(lambda x: x.clamp(low, high), x)
    expected = [1.0 if lo <= v <= hi else 0.0 for v in x.data]
    assert Tensor(gx).reshape(-1).tolist() == expected
    # the same as choosing with where
    chosen = x.where(x >= lo, lo).where(x <= hi, hi)
    assert out.tolist() == chosen.tolist()


def test_clamp_passes_the_gradient_at_the_bounds_themselves_like_pytorch():
    x = Tensor([-1.0, 1.0, 0.5, 2.0, -2.0], requires_grad=True)
    x.clamp(-1.0, 1.0).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]


def test_clamp_with_min_above_max_gives_max_everywhere_and_nan_stays_nan():
    x = Tensor([-1.0, 1.5, 3.0, math.nan], requires_grad=True)
    out = x.clamp(2.0, 1.0)
    assert out.tolist()[:3] == [1.0, 1.0, 1.0] and math.isnan(out.tolist()[3])
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_clamp_with_one_bound_and_the_gradient_check():
    assert Tensor([-1.0, 3.0]).clamp(max=2).tolist() == [-1.0, 2.0]
    x = Tensor([[-1.5, 0.3], [0.7, 1.9]], requires_grad=True)
    assert_gradients_match(lambda x: x.clamp(-1.0, 1.0), [x])


# ---------------------------------------------------------------------- gelu

SQRT_HALF = math.sqrt(0.5)


@given(data=st.data())
def test_gelu_is_x_times_the_normal_cdf_and_its_gradient_checks(data):
    x = draw_tensor(data, data.draw(shapes(), label="shape"), floats(-4.0, 4.0))
    phi = [0.5 * (1.0 + math.erf(v * SQRT_HALF)) for v in flat_numbers(x)]
    assert_numbers(x.gelu(), x.shape, [v * p for v, p in zip(flat_numbers(x), phi)])
    assert_gradients_match(lambda x: x.gelu(), [x])
    # x Phi(x) - (-x) Phi(-x) = x (Phi(x) + Phi(-x)) = x
    assert close((x.gelu() - (-x).gelu()).tolist(), x.tolist())


def test_gelu_at_the_named_points_matches_pytorch():
    x = Tensor([0.0, 1.0, -1.0, 40.0, -40.0], requires_grad=True)
    out = x.gelu()
    out.sum().backward()
    assert close(out.tolist(), [0.0, 0.841344746068543, -0.15865525393145702, 40.0, -0.0])
    assert close(x.grad.tolist(), [0.5, 1.0833154705876864, -0.08331547058768635, 1.0, 0.0])
    ends = Tensor([math.inf, -math.inf, math.nan], requires_grad=True)
    out = ends.gelu()
    out.sum().backward()
    assert out.tolist()[0] == math.inf and math.isnan(out.tolist()[1])  # -inf * 0
    assert all(math.isnan(g) for g in ends.grad.tolist())  # inf * 0 in the slope, as torch


# ---------------------------------------------------------------------- where


@st.composite
def three_shapes(draw):
    """The shape of the result and three shapes that broadcast to it."""
    out = draw(shapes(min_dims=1))

    def smaller():
        ndim = draw(st.integers(0, len(out)))
        return tuple(1 if draw(st.booleans()) else n for n in out[len(out) - ndim :])

    return out, smaller(), smaller(), smaller()


@given(data=st.data())
def test_where_takes_a_where_the_condition_holds_and_b_elsewhere_with_broadcasting(data):
    _, c_shape, a_shape, b_shape = data.draw(three_shapes(), label="shapes")
    n = math.prod(c_shape)
    flags = data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="condition")
    cond = Tensor([float(f) for f in flags]).reshape(c_shape)
    a = draw_tensor(data, a_shape, label="a")
    b = draw_tensor(data, b_shape, label="b")
    out = where(cond, a, b)
    shape = broadcast_reference(broadcast_reference(c_shape, a_shape), b_shape)
    expected = [
        get(a, read_broadcast(i, a_shape))
        if get(cond, read_broadcast(i, c_shape))
        else get(b, read_broadcast(i, b_shape))
        for i in positions(shape)
    ]
    assert_numbers(out, shape, expected)
    assert_gradients_match(lambda a, b: where(cond, a, b), [a, b])
    # choosing both ways gives every number once: where(c, a, b) + where(c, b, a) = a + b
    assert close((out + where(cond, b, a)).tolist(), (a + b + Tensor.zeros(*shape)).tolist())


def test_where_takes_numbers_nested_lists_and_the_method_form():
    x = Tensor([-1.0, 2.0, -3.0], requires_grad=True)
    relu = x.where(x > 0, 0.0)
    assert relu.tolist() == [0.0, 2.0, 0.0]
    assert where([True, False, True], 1.0, x).tolist() == [1.0, 2.0, 1.0]
    relu.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]


# ---------------------------------------------------------------------- comparisons

COMPARISONS = {
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@pytest.mark.parametrize("op", list(COMPARISONS))
@given(data=st.data())
def test_comparisons_give_float_masks_with_broadcasting_and_no_graph(op, data):
    a_shape = data.draw(shapes(), label="a shape")
    b_shape = a_shape[data.draw(st.integers(0, len(a_shape)), label="drop") :]
    a = draw_tensor(data, a_shape, small_integers(), label="a")
    b = draw_tensor(data, b_shape, small_integers(), label="b")
    test = COMPARISONS[op]
    mask = test(a, b)
    expected = [
        1.0 if test(get(a, i), get(b, read_broadcast(i, b_shape))) else 0.0
        for i in positions(a_shape)
    ]
    assert_numbers(mask, a_shape, expected)
    assert not mask.requires_grad and mask.op == "" and mask.children == ()
    flipped = test(b, a)  # the smaller operand on the left
    assert flipped.shape == a_shape


def test_comparisons_come_in_pairs_that_add_up_to_one():
    a = Tensor([[1.0, 2.0], [3.0, math.nan]])
    b = Tensor([2.0, 2.0])
    for yes, no in ((a > b, a <= b), (a == b, a != b)):
        total = (yes + no).tolist()
        assert total[0] == [1.0, 1.0] and total[1][0] == 1.0
    assert (a > b).tolist()[1][1] == 0.0 and (a != b).tolist()[1][1] == 1.0  # nan: IEEE


def test_numbers_and_lists_compare_on_either_side():
    x = Tensor([1.0, 2.0, 3.0])
    assert (2 < x).tolist() == (x > 2).tolist() == [0.0, 0.0, 1.0]
    assert (x == [1, 0, 3]).tolist() == [1.0, 0.0, 1.0]


def test_tensors_stay_hashable_and_equal_only_to_tensors_numbers_and_lists():
    x = Tensor([1.0])
    assert len({x, Tensor([1.0])}) == 2 and {x: 1}[x] == 1
    assert (x == None) is False and (x != "a") is True  # noqa: E711
    with pytest.raises(TypeError, match="unsupported operand for <"):
        x < "1"  # noqa: B015


def test_a_mask_from_a_comparison_drives_masked_fill_and_where():
    scores = Tensor([[0.5, 2.0], [1.0, -1.0]], requires_grad=True)
    kept = scores.masked_fill(scores < 0, 0.0)
    assert kept.tolist() == [[0.5, 2.0], [1.0, 0.0]]


# ---------------------------------------------------------------------- new views of the numbers


@given(data=st.data())
def test_unsqueeze_adds_an_axis_that_squeeze_takes_away(data):
    x = draw_tensor(data, data.draw(shapes(), label="shape"))
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim), label="axis")
    wide = x.unsqueeze(axis)
    place = axis % (x.ndim + 1)
    assert wide.shape == x.shape[:place] + (1,) + x.shape[place:]
    assert wide.data == x.data
    assert wide.squeeze(axis).shape == x.shape and wide.squeeze(axis).data == x.data
    assert_gradients_match(lambda x: x.unsqueeze(axis), [x])


@given(data=st.data())
def test_squeeze_removes_size_one_axes_and_leaves_other_named_axes_alone(data):
    shape = data.draw(shapes(max_side=2), label="shape")
    x = draw_tensor(data, shape)
    assert x.squeeze().shape == tuple(n for n in shape if n != 1)
    if shape:
        axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
        expected = (
            shape
            if shape[axis] != 1
            else shape[: axis % len(shape)] + shape[axis % len(shape) + 1 :]
        )
        assert x.squeeze(axis).shape == expected  # a size-2 axis is left as it is (PyTorch)
        assert x.squeeze(axis).data == x.data
    assert_gradients_match(lambda x: x.squeeze(), [x])


@given(data=st.data())
def test_flatten_merges_a_run_of_axes_like_reshape(data):
    x = draw_tensor(data, data.draw(shapes(min_dims=1), label="shape"))
    start = data.draw(st.integers(0, x.ndim - 1), label="start")
    end = data.draw(st.integers(start, x.ndim - 1), label="end")
    merged = math.prod(x.shape[start : end + 1])
    expected = x.shape[:start] + (merged,) + x.shape[end + 1 :]
    assert x.flatten(start, end).tolist() == x.reshape(expected).tolist()
    assert x.flatten().shape == (len(x.data),)
    assert_gradients_match(lambda x: x.flatten(start, end), [x])


@st.composite
def permutations_of(draw, ndim):
    order = draw(st.permutations(range(ndim)))
    return tuple(d - ndim if draw(st.booleans()) else d for d in order)


@given(data=st.data())
def test_permute_moves_each_number_to_its_reordered_index_and_back(data):
    x = draw_tensor(data, data.draw(shapes(min_dims=1), label="shape"))
    dims = data.draw(permutations_of(x.ndim), label="dims")
    order = [d % x.ndim for d in dims]
    out = x.permute(*dims)
    assert out.shape == tuple(x.shape[d] for d in order)
    for index in positions(out.shape):
        source = [0] * x.ndim
        for k, d in enumerate(order):
            source[d] = index[k]
        assert get(out, index) == get(x, tuple(source))
    inverse = tuple(order.index(d) for d in range(x.ndim))
    assert out.permute(inverse).tolist() == x.tolist()
    assert_gradients_match(lambda x: x.permute(dims), [x])


@given(data=st.data())
def test_permute_that_swaps_two_axes_is_transpose(data):
    x = draw_tensor(data, data.draw(shapes(min_dims=2), label="shape"))
    d0, d1 = data.draw(st.lists(st.integers(0, x.ndim - 1), min_size=2, max_size=2, unique=True))
    order = list(range(x.ndim))
    order[d0], order[d1] = d1, d0
    assert x.permute(order).tolist() == x.transpose(d0, d1).tolist()
    upstream = Tensor.randn(*x.transpose(d0, d1).shape, rng=2)
    assert grads(lambda x: x.permute(order), x, upstream=upstream) == grads(
        lambda x: x.transpose(d0, d1), x, upstream=upstream
    )


def test_a_single_number_squeezes_flattens_and_unsqueezes_like_pytorch():
    x = Tensor(3.0)
    assert x.squeeze().shape == x.squeeze(0).shape == x.squeeze(-1).shape == ()
    assert x.flatten().shape == (1,) and x.unsqueeze(0).shape == (1,)
    assert Tensor.zeros(1, 3, 1).squeeze((0, 2)).shape == (3,)


@pytest.mark.parametrize(
    "op, error",
    [
        (lambda x: x.permute(0), ValueError),
        (lambda x: x.permute(1, 1), ValueError),
        (lambda x: x.permute(0, 2), IndexError),
        (lambda x: x.unsqueeze(3), IndexError),
        (lambda x: x.unsqueeze(-4), IndexError),
        (lambda x: x.squeeze(2), IndexError),
        (lambda x: x.flatten(1, 0), ValueError),
        (lambda x: x.flatten(0, 2), IndexError),
        (lambda x: x.clamp(), TypeError),
        (lambda x: x.where([True, False], 0.0), ValueError),
        (lambda x: x.min(axis=(0, 0)), ValueError),
    ],
)
def test_bad_axes_and_arguments_raise_and_change_nothing(op, error):
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    x.grad = Tensor([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    with pytest.raises(error):
        op(x)
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]] and x.shape == (2, 3)
    assert x.grad.tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
