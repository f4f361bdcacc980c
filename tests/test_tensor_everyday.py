"""Specification of the everyday ops a PyTorch user reaches for: min and max with ties, abs,
var and std, clamp, gelu, where, the comparisons, and the shape ops unsqueeze, squeeze,
permute and flatten.

Each op is compared number by number with a plain Python reference, its gradient with finite
differences (`gradcheck`, the full Jacobian) on random shapes and axes drawn by hypothesis,
and the points where PyTorch had to choose a rule (ties, kinks, boundaries, division by zero)
are tested by name with the number PyTorch gives.
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
    axis_arguments,
    broadcast_reference,
    draw_tensor,
    flat_numbers,
    floats,
    get,
    pick,
    positions,
    read_broadcast,
    reduce_reference,
    shapes,
)

from tinygrad_attn import Tensor, where
from tinygrad_attn import functional as F


def grads(fn, *inputs, upstream=None):
    """d(sum of upstream * fn(...))/d(each input) as nested lists, from a fresh backward."""
    for x in inputs:
        x.zero_grad()
    out = fn(*inputs)
    out.backward(Tensor.ones(*out.shape) if upstream is None else upstream)
    return [x.grad.tolist() for x in inputs]


def close(a, b, tol=1e-12):
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == pytest.approx(b, rel=tol, abs=tol)


def small_integers():
    """Numbers from {-1, 0, 1, 2}: many ties, and zeros, on purpose."""
    return st.sampled_from([-1.0, 0.0, 1.0, 2.0])


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
