"""Specification of every Tensor op: the numbers it computes and the gradient it passes back.

Each op runs on random shapes drawn by hypothesis. Its numbers are compared with a plain
Python reference that visits one position at a time (the definition of the op), and its
gradient with finite differences through `gradcheck`, which compares the full Jacobian (one
backward pass per output number). Domains stay where the op is smooth: relu away from 0, log
and sqrt away from 0, max without ties; those points are tested by name in
test_tensor_properties.py. Tensors hold at most 24 numbers so the suite stays fast.
"""

import itertools
import math
import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_attn import Tensor, gradcheck, manual_seed
from tinygrad_attn.checks import all_checks

MAX_NUMEL = 24

# ---------------------------------------------------------------------- drawing tensors


def shapes(min_dims=0, max_dims=3, max_side=3):
    """Shapes such as (), (3,), (2, 1, 3), holding at most MAX_NUMEL numbers."""
    sides = st.lists(st.integers(1, max_side), min_size=min_dims, max_size=max_dims)
    return sides.map(tuple).filter(lambda shape: math.prod(shape) <= MAX_NUMEL)


def floats(low=-2.0, high=2.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def away_from_zero(low=0.2, high=2.0):
    """Numbers with low <= |x| <= high, of either sign."""
    return st.tuples(floats(low, high), st.sampled_from((-1.0, 1.0))).map(lambda p: p[0] * p[1])


def distinct(n):
    """n numbers at least 0.2 apart, in random order: max() has no ties to break."""
    return st.tuples(st.permutations(range(n)), st.lists(floats(0.0, 0.1), min_size=n, max_size=n))


def nest(flat, shape):
    """A flat row-major list as nested lists of `shape` (a number for shape ())."""
    if not shape:
        return flat[0]
    size = len(flat) // shape[0]
    return [nest(flat[i * size : (i + 1) * size], shape[1:]) for i in range(shape[0])]


def draw_tensor(data, shape, numbers=None, label="x"):
    """A leaf tensor of `shape` that requires grad, with numbers drawn from `numbers`."""
    n = math.prod(shape)
    if numbers == "distinct":
        order, jitter = data.draw(distinct(n), label=label)
        flat = [0.3 * (p - n / 2) + j for p, j in zip(order, jitter)]
    else:
        numbers = floats() if numbers is None else numbers
        flat = data.draw(st.lists(numbers, min_size=n, max_size=n), label=label)
    return Tensor(nest(flat, shape), requires_grad=True, label=label)


# ---------------------------------------------------------------------- plain references


def positions(shape):
    """Every index of `shape` in row-major order: the order of the numbers in memory."""
    return list(itertools.product(*(range(size) for size in shape)))


def pick(nested, index):
    """The number at a multi-index of nested lists."""
    for i in index:
        nested = nested[i]
    return nested


def get(t, index):
    """The number of tensor `t` at a multi-index, read from its nested lists."""
    return pick(t.tolist(), index)


def flat_numbers(t):
    return [get(t, index) for index in positions(t.shape)]


def broadcast_reference(a, b):
    """NumPy's broadcast of two shapes, written out: align from the right, 1 repeats."""
    width = max(len(a), len(b))
    a, b = (1,) * (width - len(a)) + a, (1,) * (width - len(b)) + b
    return tuple(max(x, y) for x, y in zip(a, b))


def read_broadcast(index, shape):
    """The index into an operand of `shape` that output position `index` reads."""
    own = index[len(index) - len(shape) :]
    return tuple(0 if size == 1 else i for i, size in zip(own, shape))


def assert_numbers(out, shape, expected):
    """`out` has `shape` and, position by position, the `expected` numbers."""
    assert out.shape == shape
    actual = flat_numbers(out)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a == pytest.approx(e, rel=1e-12, abs=1e-12)


def assert_gradients_match(fn, inputs):
    result = gradcheck(fn, inputs)
    assert result.ok, str(result)


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


# ---------------------------------------------------------------------- elementwise, one input

UNARY = {
    # name: (the op on a Tensor, the same op on one number, where to draw the numbers)
    "exp": (lambda t: t.exp(), math.exp, floats()),
    "log": (lambda t: t.log(), math.log, floats(0.2, 3.0)),
    "tanh": (lambda t: t.tanh(), math.tanh, floats()),
    "sigmoid": (lambda t: t.sigmoid(), lambda x: 1.0 / (1.0 + math.exp(-x)), floats()),
    "sqrt": (lambda t: t.sqrt(), math.sqrt, floats(0.2, 3.0)),
    "relu": (lambda t: t.relu(), lambda x: max(x, 0.0), away_from_zero(0.05, 2.0)),
    "neg": (lambda t: -t, operator.neg, floats()),
    "** 2": (lambda t: t**2, lambda x: x**2, floats()),
    "** 3": (lambda t: t**3, lambda x: x**3, floats()),
    "** -1": (lambda t: t**-1, lambda x: x**-1, away_from_zero(0.3, 2.0)),
    "** 0.5": (lambda t: t**0.5, math.sqrt, floats(0.2, 3.0)),
    "** -1.5": (lambda t: t**-1.5, lambda x: x**-1.5, floats(0.3, 3.0)),
}


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_unary_op_applies_its_formula_to_every_number(name, data):
    op, formula, numbers = UNARY[name]
    x = draw_tensor(data, data.draw(shapes(), label="shape"), numbers)
    assert_numbers(op(x), x.shape, [formula(v) for v in flat_numbers(x)])
    assert_gradients_match(op, [x])


# ---------------------------------------------------------------------- elementwise, two inputs

BINARY = {
    # name: (the op, numbers for the left operand, numbers for the right operand)
    "+": (operator.add, floats(), floats()),
    "-": (operator.sub, floats(), floats()),
    "*": (operator.mul, floats(), floats()),
    "/": (operator.truediv, floats(), away_from_zero(0.5, 2.0)),
    "**": (operator.pow, floats(0.5, 2.0), floats()),
}

# numbers that are safe on both sides of the op (a / c and c / a; a ** c and c ** a)
EITHER_SIDE = {
    "+": floats(),
    "-": floats(),
    "*": floats(),
    "/": away_from_zero(0.5, 2.0),
    "**": floats(0.5, 2.0),
}


@st.composite
def broadcast_shapes(draw):
    """Two shapes that broadcast: each takes the trailing axes of a common shape, and puts
    a 1 on some of them, like a bias row (3,) or a column (2, 1) against a (2, 3) matrix."""
    out = draw(shapes(max_dims=3))

    def operand():
        ndim = draw(st.integers(0, len(out)))
        return tuple(1 if draw(st.booleans()) else size for size in out[len(out) - ndim :])

    return operand(), operand()


@pytest.mark.parametrize("name", list(BINARY))
@given(data=st.data())
def test_binary_op_broadcasts_like_numpy(name, data):
    op, left, right = BINARY[name]
    shape_a, shape_b = data.draw(broadcast_shapes(), label="shapes")
    a = draw_tensor(data, shape_a, left, "a")
    b = draw_tensor(data, shape_b, right, "b")
    shape = broadcast_reference(shape_a, shape_b)
    expected = [
        op(get(a, read_broadcast(i, shape_a)), get(b, read_broadcast(i, shape_b)))
        for i in positions(shape)
    ]
    assert_numbers(op(a, b), shape, expected)
    assert_gradients_match(op, [a, b])


@pytest.mark.parametrize("name", list(BINARY))
@given(data=st.data())
def test_binary_op_takes_a_number_on_either_side(name, data):
    op = BINARY[name][0]
    x = draw_tensor(data, data.draw(shapes(), label="shape"), EITHER_SIDE[name])
    c = data.draw(EITHER_SIDE[name], label="number")
    assert_numbers(op(x, c), x.shape, [op(v, c) for v in flat_numbers(x)])
    assert_numbers(op(c, x), x.shape, [op(c, v) for v in flat_numbers(x)])
    assert_gradients_match(lambda x: op(x, c), [x])
    assert_gradients_match(lambda x: op(c, x), [x])


def test_nested_lists_on_either_side_are_constants():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    out = [10.0, 20.0] - x * [[1.0], [2.0]]
    assert out.tolist() == [[9.0, 18.0], [4.0, 12.0]]
    out.sum().backward()
    assert x.grad.tolist() == [[-1.0, -1.0], [-2.0, -2.0]]


# ---------------------------------------------------------------------- reductions

REDUCTIONS = {
    # name: (the method, the same reduction of a list of numbers)
    "sum": (Tensor.sum, math.fsum),
    "mean": (Tensor.mean, lambda xs: math.fsum(xs) / len(xs)),
    "max": (Tensor.max, max),
    "min": (Tensor.min, min),
}


@st.composite
def axis_arguments(draw, ndim):
    """What `axis=` accepts: None, an int (possibly negative) or a tuple of distinct axes."""
    kind = draw(st.sampled_from(["None", "int", "tuple"])) if ndim else "None"
    if kind == "None":
        return None
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1))
    axes = draw(st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim))
    return tuple(a - ndim if draw(st.booleans()) else a for a in axes)


def reduce_reference(x, axis, keepdims, combine):
    """Group the numbers by the index they keep, combine each group: (shape, numbers)."""
    ndim = x.ndim
    if axis is None:
        axes = set(range(ndim))
    else:
        axes = {a % ndim for a in (axis if isinstance(axis, tuple) else (axis,))}

    def kept(index):
        if keepdims:
            return tuple(0 if d in axes else i for d, i in enumerate(index))
        return tuple(i for d, i in enumerate(index) if d not in axes)

    groups = {}
    for index in positions(x.shape):
        groups.setdefault(kept(index), []).append(get(x, index))
    shape = kept(x.shape)
    if keepdims:
        shape = tuple(1 if d in axes else size for d, size in enumerate(x.shape))
    return shape, [combine(groups[index]) for index in positions(shape)]


@pytest.mark.parametrize("name", list(REDUCTIONS))
@given(data=st.data())
def test_reduction_over_any_axes_with_or_without_keepdims(name, data):
    method, combine = REDUCTIONS[name]
    shape = data.draw(shapes(), label="shape")
    x = draw_tensor(data, shape, "distinct" if name in ("max", "min") else None)
    axis = data.draw(axis_arguments(len(shape)), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    out = method(x, axis=axis, keepdims=keepdims)
    assert_numbers(out, *reduce_reference(x, axis, keepdims, combine))
    assert_gradients_match(lambda x: method(x, axis=axis, keepdims=keepdims), [x])


def test_reductions_default_to_every_number():
    x = Tensor([[1.0, 5.0], [-2.0, 4.0]])
    assert (x.sum().shape, x.sum().item()) == ((), 8.0)
    assert (x.mean().item(), x.max().item()) == (2.0, 5.0)


# ---------------------------------------------------------------------- matrix multiplication

MATMUL_KINDS = [
    "vector @ vector",
    "vector @ matrix",
    "matrix @ vector",
    "matrix @ matrix",
    "batch @ batch",
    "vector @ batch",
    "batch @ vector",
]


@st.composite
def matmul_shapes(draw):
    """Shapes for a @ b: 1-D, 2-D, or batched with broadcast batch axes (B, 1) @ (3, ...)."""
    kind = draw(st.sampled_from(MATMUL_KINDS))
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    batch = tuple(draw(st.lists(st.integers(1, 2), min_size=1, max_size=2)))

    def batch_of_operand():
        ndim = draw(st.integers(0, len(batch)))
        return tuple(1 if draw(st.booleans()) else size for size in batch[len(batch) - ndim :])

    left, right = kind.split(" @ ")
    a = {"vector": (k,), "matrix": (n, k), "batch": batch_of_operand() + (n, k)}[left]
    b = {"vector": (k,), "matrix": (k, m), "batch": batch_of_operand() + (k, m)}[right]
    if "batch" in kind and len(a) < 3 and len(b) < 3:  # make sure one operand is batched
        a = (2,) + a if left == "batch" else a
        b = (2,) + b if right == "batch" else b
    return a, b


def matmul_reference(a, b):
    """C[..., i, j] = sum over p of A[..., i, p] * B[..., p, j], position by position. A 1-D
    `a` is one row and a 1-D `b` one column; that axis is then left out of the result."""
    rows_a = [a.tolist()] if a.ndim == 1 else a.tolist()  # (..., n, k)
    rows_b = [[v] for v in b.tolist()] if b.ndim == 1 else b.tolist()  # (..., k, m)
    a_shape = (1,) + a.shape if a.ndim == 1 else a.shape
    b_shape = b.shape + (1,) if b.ndim == 1 else b.shape
    batch = broadcast_reference(a_shape[:-2], b_shape[:-2])
    (n, k), m = a_shape[-2:], b_shape[-1]
    out = []
    for *bi, i, j in positions(batch + (n, m)):
        ba, bb = read_broadcast(tuple(bi), a_shape[:-2]), read_broadcast(tuple(bi), b_shape[:-2])
        products = (pick(rows_a, ba + (i, p)) * pick(rows_b, bb + (p, j)) for p in range(k))
        out.append(math.fsum(products))
    shape = batch + ((n,) if a.ndim > 1 else ()) + ((m,) if b.ndim > 1 else ())
    return shape, out


@given(data=st.data())
def test_matmul_of_vectors_matrices_and_broadcast_batches(data):
    shape_a, shape_b = data.draw(matmul_shapes(), label="shapes")
    a = draw_tensor(data, shape_a, label="a")
    b = draw_tensor(data, shape_b, label="b")
    assert_numbers(a @ b, *matmul_reference(a, b))
    assert_gradients_match(operator.matmul, [a, b])


def test_matmul_of_two_vectors_is_their_dot_product():
    out = Tensor([1.0, 2.0, 3.0]) @ Tensor([4.0, 5.0, 6.0])
    assert (out.shape, out.item()) == ((), 32.0)


def test_a_nested_list_may_be_either_operand_of_matmul():
    x = Tensor([[1.0, 2.0]])
    assert (x @ [[3.0], [4.0]]).tolist() == [[11.0]]
    assert ([[3.0], [4.0]] @ x).tolist() == [[3.0, 6.0], [4.0, 8.0]]


# ---------------------------------------------------------------------- moving numbers


@st.composite
def reshape_targets(draw, count):
    """A shape holding `count` numbers, built from its divisors; maybe with one -1."""
    sizes, remaining = [], count
    for _ in range(draw(st.integers(0, 3))):
        size = draw(st.sampled_from([d for d in range(1, remaining + 1) if remaining % d == 0]))
        sizes.append(size)
        remaining //= size
    if remaining != 1:
        sizes.append(remaining)
    if sizes and draw(st.booleans()):
        sizes[draw(st.integers(0, len(sizes) - 1))] = -1
    return tuple(sizes)


@given(data=st.data())
def test_reshape_keeps_the_row_major_order_and_works_out_minus_one(data):
    x = draw_tensor(data, data.draw(shapes(), label="shape"))
    target = data.draw(reshape_targets(math.prod(x.shape)), label="target")
    known = math.prod(s for s in target if s != -1)
    shape = tuple(math.prod(x.shape) // known if s == -1 else s for s in target)
    assert_numbers(x.reshape(*target), shape, flat_numbers(x))
    assert x.reshape(target).shape == shape  # a tuple works too
    assert_gradients_match(lambda x: x.reshape(*target), [x])


@given(data=st.data())
def test_transpose_swaps_any_two_axes(data):
    shape = data.draw(shapes(min_dims=2), label="shape")
    x = draw_tensor(data, shape)
    ndim = len(shape)
    dim0, dim1 = (data.draw(st.integers(-ndim, ndim - 1), label=d) for d in ("dim0", "dim1"))
    d0, d1 = dim0 % ndim, dim1 % ndim

    def swap(index):
        index = list(index)
        index[d0], index[d1] = index[d1], index[d0]
        return tuple(index)

    out_shape = swap(shape)
    assert_numbers(
        x.transpose(dim0, dim1), out_shape, [get(x, swap(i)) for i in positions(out_shape)]
    )
    assert_gradients_match(lambda x: x.transpose(dim0, dim1), [x])


@given(data=st.data())
def test_T_swaps_the_last_two_axes(data):
    x = draw_tensor(data, data.draw(shapes(min_dims=1), label="shape"))
    if x.ndim == 1:
        assert x.T.tolist() == x.tolist()  # a vector is its own transpose, as in PyTorch's mT
    else:
        assert x.T.shape == x.shape[:-2] + (x.shape[-1], x.shape[-2])
        assert x.T.tolist() == x.transpose(-2, -1).tolist()
        assert x.T.transpose().tolist() == x.tolist()
    assert_gradients_match(lambda x: x.T * 1.0, [x])


@st.composite
def first_axis_indices(draw, rows):
    """What `t[...]` accepts: an int, a slice (any step) or a list of ints, negatives and
    repeats included."""
    kind = draw(st.sampled_from(["int", "slice", "list"]))
    if kind == "int":
        return draw(st.integers(-rows, rows - 1))
    if kind == "list":
        return draw(st.lists(st.integers(-rows, rows - 1), min_size=1, max_size=4))
    bound = st.none() | st.integers(-rows - 1, rows + 1)
    step = st.none() | st.sampled_from([-2, -1, 1, 2])
    return slice(draw(bound), draw(bound), draw(step))


@given(data=st.data())
def test_indexing_the_first_axis_picks_rows_like_python_lists(data):
    x = draw_tensor(data, data.draw(shapes(min_dims=1), label="shape"))
    index = data.draw(first_axis_indices(x.shape[0]), label="index")
    rows = x.tolist()
    expected = [rows[i] for i in index] if isinstance(index, list) else rows[index]
    assert x[index].tolist() == expected
    assert_gradients_match(lambda x: x[index], [x])


def test_an_int_tensor_indexes_like_a_list_of_ints():
    x = Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    picked = x[Tensor([2, 0, 2])]
    assert picked.tolist() == [[5.0, 6.0], [1.0, 2.0], [5.0, 6.0]]
    picked.sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]  # row 2 picked twice


@given(data=st.data())
def test_split_cuts_consecutive_pieces_along_any_axis(data):
    shape = data.draw(shapes(min_dims=1), label="shape")
    x = draw_tensor(data, shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    ax = axis % len(shape)
    size = data.draw(st.integers(1, shape[ax] + 1), label="size")
    pieces = x.split(size, axis)
    starts = list(range(0, shape[ax], size))
    assert len(pieces) == len(starts)
    for k, (piece, start) in enumerate(zip(pieces, starts)):
        stop = min(start + size, shape[ax])
        piece_shape = shape[:ax] + (stop - start,) + shape[ax + 1 :]
        expected = [
            get(x, index[:ax] + (index[ax] + start,) + index[ax + 1 :])
            for index in positions(piece_shape)
        ]
        assert_numbers(piece, piece_shape, expected)
        assert_gradients_match(lambda x, k=k: x.split(size, axis)[k] * 1.0, [x])


@given(data=st.data())
def test_cat_joins_along_an_existing_axis(data):
    base = data.draw(shapes(min_dims=1, max_dims=3, max_side=2), label="shape")
    axis = data.draw(st.integers(-len(base), len(base) - 1), label="axis")
    ax = axis % len(base)
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3), label="sizes")
    parts = [
        draw_tensor(data, base[:ax] + (s,) + base[ax + 1 :], label=f"t{k}")
        for k, s in enumerate(sizes)
    ]
    out_shape = base[:ax] + (sum(sizes),) + base[ax + 1 :]
    owner = [(k, j) for k, s in enumerate(sizes) for j in range(s)]  # joined position -> part

    def source(index):
        k, j = owner[index[ax]]
        return get(parts[k], index[:ax] + (j,) + index[ax + 1 :])

    assert_numbers(Tensor.cat(parts, axis), out_shape, [source(i) for i in positions(out_shape)])
    assert_gradients_match(lambda *ts: Tensor.cat(list(ts), axis), parts)


@given(data=st.data())
def test_stack_joins_same_shaped_tensors_along_a_new_axis(data):
    shape = data.draw(shapes(max_dims=2), label="shape")
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)), label="axis")
    ax = axis % (len(shape) + 1)
    count = data.draw(st.integers(1, 3), label="count")
    parts = [draw_tensor(data, shape, label=f"t{k}") for k in range(count)]
    out_shape = shape[:ax] + (count,) + shape[ax:]
    expected = [get(parts[i[ax]], i[:ax] + i[ax + 1 :]) for i in positions(out_shape)]
    assert_numbers(Tensor.stack(parts, axis), out_shape, expected)
    assert_gradients_match(lambda *ts: Tensor.stack(list(ts), axis), parts)


# ---------------------------------------------------------------------- masks and softmax


@given(data=st.data())
def test_masked_fill_replaces_where_the_broadcast_mask_is_true(data):
    shape = data.draw(shapes(), label="shape")
    x = draw_tensor(data, shape)
    mask_shape = tuple(
        1 if data.draw(st.booleans()) else size
        for size in shape[len(shape) - data.draw(st.integers(0, len(shape))) :]
    )
    n = math.prod(mask_shape)
    mask = nest(
        data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label="mask"), mask_shape
    )
    value = data.draw(floats(-5.0, 5.0), label="value")
    masked = Tensor(mask)
    expected = [
        value if get(masked, read_broadcast(i, mask_shape)) else get(x, i) for i in positions(shape)
    ]
    assert_numbers(x.masked_fill(mask, value), shape, expected)
    assert_numbers(x.masked_fill(masked, value), shape, expected)
    assert_gradients_match(lambda x: x.masked_fill(mask, value), [x])


def softmax_reference(x, axis, log):
    """exp(x_i) / sum_j exp(x_j) over each line along `axis`, from the definition."""
    ax = axis % x.ndim
    out = []
    for index in positions(x.shape):
        line = [get(x, index[:ax] + (j,) + index[ax + 1 :]) for j in range(x.shape[ax])]
        total = math.fsum(math.exp(v) for v in line)
        out.append(get(x, index) - math.log(total) if log else math.exp(get(x, index)) / total)
    return out


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(data=st.data())
def test_softmax_and_log_softmax_along_any_axis(name, data):
    x = draw_tensor(data, data.draw(shapes(min_dims=1), label="shape"), floats(-3.0, 3.0))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1), label="axis")
    op = getattr(Tensor, name)
    assert_numbers(op(x, axis), x.shape, softmax_reference(x, axis, log=name == "log_softmax"))
    assert_gradients_match(lambda x: op(x, axis), [x])


def test_softmax_and_log_softmax_use_the_last_axis_by_default():
    x = Tensor([[1.0, 2.0], [3.0, 5.0]])
    assert x.softmax().tolist() == x.softmax(-1).tolist() == x.softmax(axis=1).tolist()
    assert x.log_softmax().tolist() == x.log_softmax(axis=-1).tolist()


# ---------------------------------------------------------------------- making and reading tensors


def test_nested_lists_give_shape_and_row_major_numbers():
    x = Tensor([[1, 2, 3], [4, 5, 6]])
    assert x.shape == (2, 3) and x.ndim == 2 and len(x) == 2
    assert x.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert all(type(v) is float for row in x.tolist() for v in row)


def test_a_number_is_a_0d_tensor():
    x = Tensor(2.5)
    assert (x.shape, x.ndim, x.tolist(), x.item()) == ((), 0, 2.5, 2.5)
    assert Tensor(3).item() == 3.0


def test_tuples_and_bools_are_accepted_as_numbers():
    assert Tensor(((1, 2), (3, 4))).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert Tensor([True, False]).tolist() == [1.0, 0.0]
    assert Tensor(True).item() == 1.0


def test_empty_lists_give_empty_shapes():
    assert Tensor([]).shape == (0,)
    assert Tensor([[], []]).shape == (2, 0)
    assert Tensor([[], []]).tolist() == [[], []]


def test_a_tensor_copies_another_tensors_numbers():
    x = Tensor([1.0, 2.0])
    y = Tensor(x, requires_grad=True)
    y.data[0] = 9.0  # changing the copy leaves the original alone
    assert x.tolist() == [1.0, 2.0] and y.requires_grad


def test_zeros_and_ones_take_sizes_or_a_tuple():
    assert Tensor.zeros(2, 3).tolist() == [[0.0] * 3] * 2
    assert Tensor.ones((2, 1)).tolist() == [[1.0], [1.0]]
    assert Tensor.zeros().shape == () and Tensor.ones(3, requires_grad=True).requires_grad


def test_randn_is_reproducible_with_a_seed_or_a_generator():
    assert Tensor.randn(2, 3, rng=7).tolist() == Tensor.randn(2, 3, rng=7).tolist()
    assert Tensor.randn(2, 3, rng=7).tolist() != Tensor.randn(2, 3, rng=8).tolist()
    manual_seed(5)
    first = Tensor.randn(4).tolist()
    manual_seed(5)
    assert Tensor.randn(4).tolist() == first
    assert Tensor.randn(4).tolist() != first  # the generator moves on


def test_randn_numbers_look_standard_normal():
    numbers = Tensor.randn(2000, rng=0).tolist()
    mean = sum(numbers) / len(numbers)
    var = sum((v - mean) ** 2 for v in numbers) / len(numbers)
    assert abs(mean) < 0.1 and abs(var - 1.0) < 0.1


def test_cat_and_stack_from_the_class():
    a, b = Tensor([[1.0, 2.0]]), Tensor([[3.0, 4.0]])
    assert Tensor.cat([a, b]).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert Tensor.cat([a, b], axis=1).tolist() == [[1.0, 2.0, 3.0, 4.0]]
    assert Tensor.stack([a, b]).shape == (2, 1, 2)
    assert Tensor.stack([Tensor(1.0), Tensor(2.0)]).tolist() == [1.0, 2.0]


def test_len_and_iteration_walk_the_first_axis():
    x = Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(x) == 3
    assert [row.tolist() for row in x] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


def test_item_reads_any_one_number_tensor():
    assert Tensor([[4.0]]).item() == 4.0
    assert type(Tensor([7]).item()) is float


def test_repr_shows_numbers_label_and_how_it_was_made():
    x = Tensor([[1, 2], [3, 4]], requires_grad=True, label="x")
    assert repr(x) == "Tensor([[1, 2], [3, 4]], label='x', requires_grad=True)"
    assert repr(Tensor(0.5)) == "Tensor(0.5)"
    assert repr(x * 2) == "Tensor([[2, 4], [6, 8]], op='*')"
    assert "shape=(100,)" in repr(Tensor.zeros(100))


def test_label_names_a_tensor_and_results_start_unlabelled():
    x = Tensor([1.0], label="w_q")
    assert x.label == "w_q" and (x + 1).label == ""
    assert Tensor([1.0]).label == ""


# ---------------------------------------------------------------------- the check catalogue

# each op, as it is written in the name of its check in tinygrad_attn/checks.py
TENSOR_OPS = [
    " + ", " - ", " * ", " / ", " ** ", "-a", ".exp()", ".log()", ".tanh()", ".relu()",
    ".sigmoid()", ".sqrt()", ".sum(", ".mean(", ".max(", ".softmax(", ".log_softmax(", " @ ",
    ".reshape(", ".transpose(", ".T", "[", ".split(", "cat(", "stack(", ".masked_fill(",
    ".min(", ".abs()", ".var(", ".std(", ".clamp(", ".gelu()", "where(", ".unsqueeze(",
    ".squeeze(", ".permute(", ".flatten(", "[...",
]  # fmt: skip


@pytest.mark.parametrize("op", TENSOR_OPS)
def test_the_gradcheck_catalogue_has_a_check_for_every_tensor_op(op):
    names = [name for name, _, _ in all_checks(seed=0) if name.startswith("Tensor ")]
    assert any(op in name for name in names), f"no 'Tensor ...' check in checks.py uses {op!r}"


def test_power_zero_is_flat_even_at_zero_like_pytorch():
    x = Tensor([0.0, 2.0], requires_grad=True)
    (x**0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    a = Tensor([0.0, 3.0], requires_grad=True)
    b = Tensor([0.0, 0.0], requires_grad=True)
    (a**b).sum().backward()
    assert a.grad.tolist() == [0.0, 0.0]
    assert b.grad.tolist() == [0.0, pytest.approx(math.log(3.0))]  # 3^b ln 3; 0 at 0^0


def test_softmax_and_log_softmax_of_a_single_number():
    assert Tensor(3.0).softmax().item() == 1.0
    assert Tensor(3.0).log_softmax().item() == 0.0


def test_an_axis_of_a_zero_d_tensor_says_it_has_none():
    with pytest.raises(IndexError, match="0-d tensor"):
        Tensor(1.0).sum(axis=0)
