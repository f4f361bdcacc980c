"""Specification of the tensor engine as a whole: laws its ops obey, the named traps of
automatic differentiation, IEEE-754 numbers, and `gradcheck` on tensors."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_attn import Tensor, gradcheck, no_grad
from tinygrad_attn import functional as F

# ---------------------------------------------------------------------- drawing tensors


def floats(low=-3.0, high=3.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def away_from_zero(low=0.5, high=2.0):
    return st.tuples(floats(low, high), st.sampled_from((-1.0, 1.0))).map(lambda p: p[0] * p[1])


def shapes(min_dims=1, max_dims=3, max_side=3):
    sides = st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims)
    return sides.map(tuple).filter(lambda shape: math.prod(shape) <= 24)


def leaf(data, shape, numbers=None, label="x"):
    """A leaf tensor of `shape` that requires grad, its numbers drawn by hypothesis."""
    n = math.prod(shape)
    flat = data.draw(
        st.lists(floats() if numbers is None else numbers, min_size=n, max_size=n), label=label
    )
    return Tensor(Tensor(flat).reshape(shape), requires_grad=True, label=label)


def close(a, b, tol=1e-12):
    """Two nested lists (or numbers) agree number by number."""
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y, tol) for x, y in zip(a, b))
    return a == pytest.approx(b, rel=tol, abs=tol)


def gradients(fn, *inputs):
    """d(sum of fn's output)/d(each input), as nested lists, from a fresh backward pass."""
    for x in inputs:
        x.zero_grad()
    fn(*inputs).sum().backward()
    return [x.grad.tolist() for x in inputs]


# ---------------------------------------------------------------------- laws


@given(data=st.data())
def test_softmax_rows_sum_to_one_along_any_axis(data):
    x = leaf(data, data.draw(shapes(), label="shape"), floats(-30.0, 30.0))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    p = x.softmax(axis)
    assert all(0.0 <= v <= 1.0 for v in p.reshape(-1).tolist())
    sums = p.sum(axis=axis).reshape(-1).tolist()
    assert all(s == pytest.approx(1.0, abs=1e-12) for s in sums)


@given(data=st.data())
def test_matmul_is_associative(data):
    n, k, m, p = (data.draw(st.integers(1, 3), label=name) for name in "nkmp")
    a = leaf(data, (n, k), label="a")
    b = leaf(data, (k, m), label="b")
    c = leaf(data, (m, p), label="c")
    assert close(((a @ b) @ c).tolist(), (a @ (b @ c)).tolist(), tol=1e-9)


@st.composite
def broadcast_shapes(draw):
    out = draw(shapes(min_dims=1))
    ndim = draw(st.integers(0, len(out)))
    small = tuple(1 if draw(st.booleans()) else size for size in out[len(out) - ndim :])
    return out, small


def expand(t, shape):
    """Copy `t` out to `shape` explicitly, with reshape and cat: no broadcasting involved."""
    t = t.reshape((1,) * (len(shape) - t.ndim) + t.shape)
    for axis, size in enumerate(shape):
        if t.shape[axis] == 1 and size > 1:
            t = Tensor.cat([t] * size, axis)
    return t


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
@given(data=st.data())
def test_broadcasting_has_the_gradients_of_an_explicit_copy(op, data):
    # A broadcast operand is read many times, so its gradient is the sum over all those
    # places: exactly what backward gives through explicit copies made with cat.
    fn = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
    }[op]
    big_shape, small_shape = data.draw(broadcast_shapes(), label="shapes")
    a = leaf(data, big_shape, away_from_zero(), label="a")  # both may be divided by
    b = leaf(data, small_shape, away_from_zero(), label="b")
    broadcast = gradients(fn, a, b)
    copied = gradients(lambda a, b: fn(a, expand(b, big_shape)), a, b)
    assert close(broadcast, copied)
    flipped = gradients(lambda a, b: fn(b, a), a, b)  # the small operand on the left
    copied = gradients(lambda a, b: fn(expand(b, big_shape), a), a, b)
    assert close(flipped, copied, tol=1e-10)


def test_multiplying_by_ones_broadcasts_a_row_to_every_row():
    b = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    expanded = Tensor.ones(4, 1) * b
    assert expanded.tolist() == [[1.0, 2.0, 3.0]] * 4
    expanded.sum().backward()
    assert b.grad.tolist() == [4.0, 4.0, 4.0]  # each number was read by 4 rows


@given(data=st.data())
def test_fused_softmax_equals_the_composed_reference_in_numbers_and_gradients(data):
    x = leaf(data, data.draw(shapes(), label="shape"), floats(-5.0, 5.0))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    weights = leaf(data, x.shape, label="weights").detach()  # a random upstream gradient
    fused, composed = x.softmax(axis), x._softmax_composed(axis)
    assert close(fused.tolist(), composed.tolist())
    (fused * weights).sum().backward()
    g_fused = x.grad.tolist()
    x.zero_grad()
    (composed * weights).sum().backward()
    assert close(g_fused, x.grad.tolist(), tol=1e-10)


def test_fused_softmax_equals_the_composed_reference_with_masked_entries():
    x = Tensor([[0.5, -math.inf, 2.0], [-math.inf, -math.inf, 1.0]], requires_grad=True)
    weights = Tensor([[1.0, 2.0, -1.0], [0.5, 3.0, 2.0]])
    (x.softmax() * weights).sum().backward()
    fused_grad = x.grad.tolist()
    x.zero_grad()
    (x._softmax_composed() * weights).sum().backward()
    assert x.softmax().tolist() == x._softmax_composed().tolist()
    assert close(fused_grad, x.grad.tolist())


@given(data=st.data())
def test_log_softmax_is_the_log_of_softmax(data):
    x = leaf(data, data.draw(shapes(), label="shape"), floats(-20.0, 20.0))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    assert close(x.log_softmax(axis).tolist(), x.softmax(axis).log().tolist(), tol=1e-9)
    assert close(
        gradients(lambda x: x.log_softmax(axis) * x.detach(), x),
        gradients(lambda x: x.softmax(axis).log() * x.detach(), x),
        tol=1e-8,
    )


def test_log_softmax_is_finite_where_log_of_softmax_underflows():
    x = Tensor([0.0, -800.0])
    assert x.softmax().log().tolist()[1] == -math.inf  # e^-800 underflows to 0
    assert x.log_softmax().tolist() == [0.0, -800.0]


@given(data=st.data())
def test_mean_is_the_sum_divided_by_the_count(data):
    x = leaf(data, data.draw(shapes(), label="shape"))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    assert close(x.mean(axis).tolist(), (x.sum(axis) / x.shape[axis]).tolist())


@given(data=st.data())
def test_split_then_cat_gives_back_the_tensor(data):
    x = leaf(data, data.draw(shapes(), label="shape"))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    size = data.draw(st.integers(1, x.shape[axis]), label="size")
    assert Tensor.cat(x.split(size, axis), axis).tolist() == x.tolist()


@given(data=st.data())
def test_stack_is_cat_of_tensors_with_a_new_size_one_axis(data):
    shape = data.draw(shapes(min_dims=0, max_dims=2), label="shape")
    parts = [leaf(data, shape, label=f"t{k}") for k in range(3)]
    axis = data.draw(st.integers(0, len(shape)), label="axis")
    widened = [p.reshape(shape[:axis] + (1,) + shape[axis:]) for p in parts]
    assert Tensor.stack(parts, axis).tolist() == Tensor.cat(widened, axis).tolist()


@given(data=st.data())
def test_a_list_index_is_a_stack_of_int_indices(data):
    x = leaf(data, data.draw(shapes(), label="shape"))
    rows = data.draw(st.lists(st.integers(-len(x), len(x) - 1), min_size=1, max_size=4))
    assert x[rows].tolist() == Tensor.stack([x[i] for i in rows]).tolist()
    assert close(
        gradients(lambda x: x[rows], x), gradients(lambda x: Tensor.stack([x[i] for i in rows]), x)
    )


# ---------------------------------------------------------------------- named traps: graphs


def test_a_tensor_times_itself_counts_both_paths():
    x = Tensor([3.0, -1.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [6.0, -2.0]  # d(x^2)/dx = 2x


def test_a_tensor_plus_itself_counts_both_paths():
    x = Tensor([3.0, -1.0], requires_grad=True)
    (x + x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_a_tensor_used_by_two_ops_gets_both_gradients():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    h = x * 3  # h feeds two ops below
    out = (h.exp().log() + h @ Tensor([[1.0], [1.0]])).sum()  # d/dh = 1 + (row of ones) = 2
    out.backward()
    assert h.grad.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    assert close(x.grad.tolist(), [[9.0, 9.0], [9.0, 9.0]])


def test_relu_at_exactly_zero_has_gradient_zero_like_pytorch():
    x = Tensor([0.0, -0.0, 1.0, -1.0], requires_grad=True)
    out = x.relu()
    out.sum().backward()
    assert out.tolist() == [0.0, 0.0, 1.0, 0.0]
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0]


def test_a_100000_op_chain_backpropagates_without_recursion():
    x = Tensor([0.5, -2.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    assert y.tolist() == [100_000.5, 99_998.0]


def test_backward_twice_adds_twice_for_leaves_and_intermediates():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    out = (h * 3).sum()
    out.backward()
    first = (x.grad.tolist(), h.grad.tolist())
    out.backward()
    assert x.grad.tolist() == [2 * g for g in first[0]]
    assert h.grad.tolist() == [2 * g for g in first[1]]
    assert first == ([6.0, 12.0], [3.0, 3.0])


def test_intermediate_tensors_keep_their_gradient():
    x = Tensor([1.0, -1.0], requires_grad=True)
    scores = x * 2
    weights = scores.softmax()
    loss = (weights * Tensor([1.0, 0.0])).sum()
    loss.backward()
    assert loss.grad.tolist() == 1.0
    assert weights.grad.tolist() == [1.0, 0.0]
    assert scores.grad is not None and scores.grad.shape == (2,)
    assert close(x.grad.tolist(), [2 * g for g in scores.grad.tolist()])


def test_no_grad_records_nothing():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = (w * 2).exp().sum()
    assert not y.requires_grad and y.children == ()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()
    z = w * 2  # recording resumes after the block
    assert z.requires_grad and z.children


def test_no_grad_recording_resumes_even_after_an_error():
    w = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError), no_grad():
        w.reshape(2)
    assert (w * 2).requires_grad


def test_detach_cuts_the_history():
    x = Tensor([1.0, 2.0], requires_grad=True)
    d = (x * 3).detach()
    assert d.tolist() == [3.0, 6.0] and not d.requires_grad and d.op == "" and d.children == ()
    out = (x * d).sum()  # d is a constant now: d(out)/dx = d, not d + 3x
    out.backward()
    assert x.grad.tolist() == [3.0, 6.0]


def test_zero_grad_forgets_the_gradient():
    x = Tensor([1.0], requires_grad=True)
    (x * 5).sum().backward()
    assert x.grad.tolist() == [5.0]
    x.zero_grad()
    assert x.grad is None
    (x * 5).sum().backward()
    assert x.grad.tolist() == [5.0]


def test_only_inputs_that_require_grad_get_a_gradient():
    x, c = Tensor([1.0], requires_grad=True), Tensor([2.0])
    (x * c).sum().backward()
    assert x.grad.tolist() == [2.0] and c.grad is None


def test_backward_with_a_given_gradient_seeds_a_non_scalar_output():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(Tensor([1.0, 0.0, -1.0]))
    assert x.grad.tolist() == [2.0, 0.0, -6.0]
    x.zero_grad()
    (x * x).backward([1.0, 1.0, 1.0])  # nested lists work too
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


# ---------------------------------------------------------------------- named traps: softmax


LOG2 = math.log(2.0)


@pytest.mark.parametrize(
    "logits, probabilities, log_probabilities",
    [
        ([1e4, 0.0, -1e4], [1.0, 0.0, 0.0], [0.0, -1e4, -2e4]),
        ([-1e4, 0.0, 1e4], [0.0, 0.0, 1.0], [-2e4, -1e4, 0.0]),
        ([1e4, 1e4, 0.0], [0.5, 0.5, 0.0], [-LOG2, -LOG2, -1e4 - LOG2]),
        ([-1e4, -1e4, 0.0], [0.0, 0.0, 1.0], [-1e4, -1e4, 0.0]),
    ],
)
def test_softmax_and_log_softmax_stay_finite_and_right_at_huge_logits(
    logits, probabilities, log_probabilities
):
    x = Tensor([logits], requires_grad=True)
    assert close(x.softmax().tolist(), [probabilities])
    assert close(x.log_softmax().tolist(), [log_probabilities])
    x.log_softmax().sum().backward()
    # d/dx_i of sum_j log softmax_j = 1 - n p_i: finite, however large the logits
    assert close(x.grad.tolist(), [[1.0 - 3 * p for p in probabilities]])


def test_cross_entropy_stays_finite_and_right_at_huge_logits():
    logits = Tensor([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]], requires_grad=True)
    loss = F.cross_entropy(logits, [2, 0])  # both rows bet everything on the wrong class
    assert loss.item() == pytest.approx((2e4 + 1e4) / 2)
    loss.backward()
    # d(loss)/d(logits) = (softmax - one_hot) / rows
    assert close(logits.grad.tolist(), [[0.5, 0.0, -0.5], [-0.5, 0.5, 0.0]])


def test_minus_infinity_gives_exact_zeros_in_softmax_and_its_gradient():
    x = Tensor([[1.0, -math.inf, 2.0, -math.inf]], requires_grad=True)
    p = x.softmax()
    assert p.tolist()[0][1] == 0.0 and p.tolist()[0][3] == 0.0
    assert close(p.tolist()[0][0] + p.tolist()[0][2], 1.0)
    (p * Tensor([[1.0, 2.0, 3.0, 4.0]])).sum().backward()
    assert x.grad.tolist()[0][1] == 0.0 and x.grad.tolist()[0][3] == 0.0


def test_a_row_of_only_minus_infinity_gives_nan_like_pytorch():
    x = Tensor([[-math.inf, -math.inf], [0.0, 1.0]], requires_grad=True)
    p = x.softmax()
    assert all(math.isnan(v) for v in p.tolist()[0])
    assert close(sum(p.tolist()[1]), 1.0)  # other rows are untouched
    assert all(math.isnan(v) for v in x.log_softmax().tolist()[0])


def test_cross_entropy_ignores_minus_infinity_in_other_classes_like_pytorch():
    # A class that is masked out (-inf) has probability 0; the loss of another target stays
    # finite: -log softmax[target] = -log(e^2 / (e^0 + e^2)).
    logits = Tensor([[0.0, -math.inf, 2.0]], requires_grad=True)
    loss = F.cross_entropy(logits, [2])
    assert loss.item() == pytest.approx(math.log(1.0 + math.exp(-2.0)))
    loss.backward()
    p0 = 1.0 / (1.0 + math.exp(2.0))
    assert close(logits.grad.tolist(), [[p0, 0.0, -p0]])


# ---------------------------------------------------------------------- IEEE-754 numbers


def nan_aware(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda x: (x * 1000).exp(), [math.inf, 1.0, 0.0]),
        (lambda x: (x + 1).log(), [math.log(2.0), 0.0, -math.inf]),
        (lambda x: x / 0, [math.inf, math.nan, -math.inf]),
        (lambda x: x / Tensor(-0.0), [-math.inf, math.nan, math.inf]),
        (lambda x: x.relu() ** -1, [1.0, math.inf, math.inf]),
        (lambda x: (x - 9) ** (1 / 3), [math.nan, math.nan, math.nan]),
        (lambda x: (x * 10) ** 400, [math.inf, 0.0, math.inf]),
        (lambda x: 1 / x, [1.0, math.inf, -1.0]),
        (lambda x: (x - 2).sqrt(), [math.nan, math.nan, math.nan]),
        (lambda x: (x * 1e308) * 10, [math.inf, 0.0, -math.inf]),
        (lambda x: (x * math.inf).tanh(), [1.0, math.nan, -1.0]),
        (lambda x: (x * 1e6).sigmoid(), [1.0, 0.5, 0.0]),
        (lambda x: 2 ** (x * 5000), [math.inf, 1.0, 0.0]),
        (lambda x: x ** Tensor(-1.0), [1.0, math.inf, -1.0]),
    ],
)
def test_ieee_results_instead_of_python_errors_forward_and_backward(make, expected):
    x = Tensor([1.0, 0.0, -1.0], requires_grad=True)
    out = make(x)
    assert all(nan_aware(a, b) for a, b in zip(out.tolist(), expected)), out.tolist()
    out.backward(Tensor.ones(3))  # must not raise OverflowError or ZeroDivisionError either


def test_the_named_ieee_cases_exactly():
    assert Tensor([1000.0]).exp().tolist() == [math.inf]
    assert Tensor([0.0]).log().tolist() == [-math.inf]
    assert (Tensor([0.0]) ** -1).tolist() == [math.inf]
    assert math.isnan((Tensor([-8.0]) ** (1 / 3)).item())
    assert math.isnan((Tensor([0.0]) / 0).item())


def test_gradients_at_poles_are_ieee_infinities():
    x = Tensor([0.0, 0.0, 0.0], requires_grad=True)
    (x.log() + x.sqrt() + x ** Tensor(2.0)).sum().backward()
    assert x.grad.tolist() == [math.inf] * 3  # 1/0 + 1/(2 sqrt 0) + 2*0
    e = Tensor([0.0], requires_grad=True)
    (Tensor([0.0], requires_grad=True) ** e).sum().backward()
    assert e.grad.tolist() == [0.0]  # d(0^b)/db at b = 0 is taken as 0, as in PyTorch


# ---------------------------------------------------------------------- gradcheck on tensors


def test_gradcheck_passes_right_tensor_gradients():
    x = Tensor.randn(2, 3, rng=0, requires_grad=True, label="x")
    w = Tensor.randn(3, 2, rng=1, requires_grad=True, label="w")
    result = gradcheck(lambda x, w: (x @ w).tanh().sum(), [x, w])
    assert result.ok and result.max_abs_err < 1e-7
    assert len(result.rows) == 12  # one row per input number: 6 of x, 6 of w


def test_gradcheck_fails_when_backward_misses_a_detached_path():
    # x.detach() is a constant to backward, so it sees d(x * c)/dx = c = x; the truth is 2x.
    x = Tensor([[0.5, -1.0], [2.0, 1.5]], requires_grad=True, label="x")
    result = gradcheck(lambda x: (x * x.detach()).sum(), [x])
    assert result.ok is False
    assert result.max_abs_err == pytest.approx(2.0, rel=1e-5)  # |x| at x = 2.0
    assert {row["input"] for row in result.failures()} == {
        "x[0, 0]",
        "x[0, 1]",
        "x[1, 0]",
        "x[1, 1]",
    }


def test_gradcheck_compares_the_full_jacobian_of_a_non_scalar_output():
    x = Tensor([0.3, -0.2, 0.9], requires_grad=True, label="x")
    result = gradcheck(lambda x: x.softmax(), [x])
    assert result.ok
    assert len(result.rows) == 9  # 3 outputs x 3 inputs
    assert {row["output"] for row in result.rows} == {"out[0]", "out[1]", "out[2]"}
    # a cross-term: d softmax_0 / d x_1 = -p0 p1
    p = x.softmax().tolist()
    row = next(r for r in result.rows if r["output"] == "out[0]" and r["input"] == "x[1]")
    assert row["analytic"] == pytest.approx(-p[0] * p[1])


def test_gradcheck_catches_a_wrong_jacobian_entry():
    # the fused op checked against a version whose backward drops the cross terms
    x = Tensor([0.3, -0.2, 0.9], requires_grad=True)
    result = gradcheck(lambda x: x.exp() / x.exp().sum().detach(), [x])
    assert not result.ok


def test_gradcheck_leaves_tensor_inputs_unchanged():
    x = Tensor([[0.5, -1.0]], requires_grad=True)
    w = Tensor([[2.0], [3.0]], requires_grad=True)
    x.grad = Tensor([[7.0, 8.0]])
    gradcheck(lambda x, w: x @ w, [x, w])
    assert x.tolist() == [[0.5, -1.0]] and w.tolist() == [[2.0], [3.0]]
    assert x.grad.tolist() == [[7.0, 8.0]] and w.grad is None
    assert x.shape == (1, 2) and w.shape == (2, 1)


def test_gradcheck_skips_tensors_that_do_not_require_grad():
    x = Tensor([1.0, 2.0], requires_grad=True, label="x")
    c = Tensor([3.0, 4.0], label="c")
    result = gradcheck(lambda x, c: (x * c).sum(), [x, c])
    assert [row["input"] for row in result.rows] == ["x[0]", "x[1]"]
