"""The everyday ops side by side with PyTorch (float64): the same numbers and the same
gradients, on random shapes, axes and indices, including PyTorch's rules at ties, kinks,
bounds and divisions by zero. Run by `make test-torch`."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_tensor_indexing import indices
from test_tensor_ops import axis_arguments, shapes

from tinygrad_attn import Tensor, where
from tinygrad_attn.nn.utils import clip_grad_norm_

torch = pytest.importorskip("torch")


def leaf(data, shape, numbers, label="x"):
    n = math.prod(shape)
    flat = data.draw(st.lists(numbers, min_size=n, max_size=n), label=label)
    return Tensor(Tensor(flat).reshape(shape), requires_grad=True, label=label)


def theirs(t):
    """A torch float64 leaf with our tensor's numbers (and requires_grad)."""
    return torch.tensor(t.tolist(), dtype=torch.float64, requires_grad=t.requires_grad)


def assert_same(a, b, tol=1e-12):
    """Our nested list equals torch's, number by number (nan with nan, inf with inf)."""
    b = b.detach().tolist() if hasattr(b, "detach") else b
    if isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            assert_same(x, y, tol)
    elif math.isnan(a) or math.isnan(b):
        assert math.isnan(a) and math.isnan(b), (a, b)
    else:
        assert a == pytest.approx(b, rel=tol, abs=tol), (a, b)


def compare(our_fn, torch_fn, *tensors, tol=1e-12):
    """Forward numbers and every input's gradient, for one random upstream gradient."""
    for t in tensors:
        t.zero_grad()
    mine = our_fn(*tensors)
    copies = [theirs(t) for t in tensors]
    reference = torch_fn(*copies)
    assert tuple(reference.shape) == mine.shape
    assert_same(mine.tolist(), reference, tol)
    g = Tensor.randn(*mine.shape, rng=99)
    mine.backward(g)
    reference.backward(torch.tensor(g.data, dtype=torch.float64).reshape(mine.shape))
    for t, c in zip(tensors, copies):
        if c.grad is None:  # not used: torch has no gradient, ours none or zeros
            assert t.grad is None or not any(t.grad.data)
        else:
            assert_same(t.grad.tolist(), c.grad, tol)


def torch_dims(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return axis if isinstance(axis, tuple) else (axis,)


floats = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
ties = st.sampled_from([-1.0, 0.0, 1.0, 2.0])

# ---------------------------------------------------------------------- reductions


@pytest.mark.parametrize("op", ["max", "min"])
@given(data=st.data())
def test_max_and_min_with_ties_match_torch_max_amax_and_max_dim(op, data):
    x = leaf(data, data.draw(shapes(min_dims=1), label="shape"), ties)
    axis = data.draw(axis_arguments(x.ndim), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")

    def reference(t):
        if axis is None:
            return getattr(torch, op)(t)  # torch.max(x): ties share the gradient
        if isinstance(axis, int):  # torch.max(x, dim): the first tie takes it
            return getattr(torch, op)(t, dim=axis, keepdim=keepdims).values
        return getattr(torch, f"a{op}")(t, dim=axis, keepdim=keepdims)  # amax: shared

    if axis is None and keepdims:
        return  # torch.max(x) has no keepdim
    compare(lambda t: getattr(t, op)(axis=axis, keepdims=keepdims), reference, x)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@given(data=st.data())
def test_argmax_and_argmin_match_torch(op, data):
    x = leaf(data, data.draw(shapes(min_dims=1), label="shape"), ties)
    axis = data.draw(st.none() | st.integers(-x.ndim, x.ndim - 1), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    reference = getattr(torch, op)(theirs(x), dim=axis, keepdim=keepdims)
    ours = getattr(x, op)(axis=axis, keepdims=keepdims)
    assert ours.shape == tuple(reference.shape)
    assert_same(ours.tolist(), reference.double())


@pytest.mark.parametrize("op", ["var", "std"])
@given(data=st.data())
def test_var_and_std_match_torch_with_any_correction(op, data):
    x = leaf(data, data.draw(shapes(min_dims=1), label="shape"), floats)
    axis = data.draw(axis_arguments(x.ndim), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    count = math.prod(x.shape[d] for d in torch_dims(axis, x.ndim))
    correction = data.draw(st.sampled_from([c for c in (0, 1, 0.5, 2) if c < count] or [0]))
    compare(
        lambda t: getattr(t, op)(axis=axis, correction=correction, keepdims=keepdims),
        lambda t: getattr(torch, op)(
            t, dim=torch_dims(axis, t.ndim), correction=correction, keepdim=keepdims
        ),
        x,
        tol=1e-10,
    )


@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")
def test_var_and_std_at_pytorchs_named_points():
    # one number (correction 1: 0 / 0), equal numbers (std 0, gradient 0), count = correction
    compare(lambda t: t.var(), lambda t: t.var(), Tensor([2.0], requires_grad=True))
    compare(lambda t: t.std(), lambda t: t.std(), Tensor([2.0, 2.0, 2.0], requires_grad=True))
    compare(
        lambda t: t.std(axis=1),
        lambda t: t.std(dim=1),
        Tensor([[1.0, 1.0], [1.0, 3.0]], requires_grad=True),
    )
    ours = Tensor([2.0, 3.0]).var(correction=2).item()
    assert ours == torch.tensor([2.0, 3.0], dtype=torch.float64).var(correction=2).item()


# ---------------------------------------------------------------------- elementwise


@given(data=st.data())
def test_abs_clamp_and_gelu_match_torch_at_kinks_and_bounds_too(data):
    shape = data.draw(shapes(), label="shape")
    kinks = st.sampled_from([0.0, -0.0, -1.0, 1.0, 0.5, -2.5, 2.0])
    x = leaf(data, shape, st.one_of(floats, kinks))
    compare(lambda t: t.abs(), torch.abs, x)
    compare(lambda t: t.gelu(), torch.nn.functional.gelu, x)
    low, high = data.draw(st.sampled_from([(-1.0, 1.0), (0.5, 0.5), (2.0, -1.0)]), label="bounds")
    compare(lambda t: t.clamp(low, high), lambda t: t.clamp(low, high), x)
    compare(lambda t: t.clamp(min=low), lambda t: t.clamp(min=low), x)
    compare(lambda t: t.clamp(max=high), lambda t: t.clamp(max=high), x)


def test_gelu_and_abs_at_infinities_and_nan_match_torch():
    specials = Tensor([math.inf, -math.inf, math.nan, 40.0, -40.0], requires_grad=True)
    compare(lambda t: t.gelu(), torch.nn.functional.gelu, specials)
    compare(lambda t: t.abs(), torch.abs, specials)
    compare(lambda t: t.clamp(-1.0, 1.0), lambda t: t.clamp(-1.0, 1.0), specials)


@given(data=st.data())
def test_where_and_comparisons_broadcast_like_torch(data):
    shape = data.draw(shapes(min_dims=1), label="shape")
    small = shape[data.draw(st.integers(0, len(shape)), label="drop") :]
    a, b = leaf(data, shape, ties, "a"), leaf(data, small, ties, "b")
    for ours, op in ((a > b, torch.gt), (a < b, torch.lt), (a >= b, torch.ge)):
        assert_same(ours.tolist(), op(theirs(a), theirs(b)).double())
    for ours, op in ((a <= b, torch.le), (a == b, torch.eq), (a != b, torch.ne)):
        assert_same(ours.tolist(), op(theirs(a), theirs(b)).double())
    compare(lambda a, b: where(a > b, a, b), lambda a, b: torch.where(a > b, a, b), a, b)
    compare(lambda a, b: b.where(b < 1, 0.5), lambda a, b: torch.where(b < 1, b, 0.5), a, b)


# ---------------------------------------------------------------------- moving numbers


@given(data=st.data())
def test_permute_unsqueeze_squeeze_and_flatten_match_torch(data):
    x = leaf(data, data.draw(shapes(min_dims=1, max_side=2), label="shape"), floats)
    dims = data.draw(st.permutations(range(x.ndim)), label="dims")
    compare(lambda t: t.permute(*dims), lambda t: t.permute(*dims), x)
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim), label="unsqueeze axis")
    compare(lambda t: t.unsqueeze(axis), lambda t: t.unsqueeze(axis), x)
    compare(lambda t: t.squeeze(), lambda t: t.squeeze(), x)
    named = data.draw(st.integers(-x.ndim, x.ndim - 1), label="squeeze axis")
    compare(lambda t: t.squeeze(named), lambda t: t.squeeze(named), x)  # size 2: unchanged
    start = data.draw(st.integers(0, x.ndim - 1), label="start")
    end = data.draw(st.integers(start, x.ndim - 1), label="end")
    compare(lambda t: t.flatten(start, end), lambda t: t.flatten(start, end), x)


@given(data=st.data())
def test_any_index_picks_and_routes_gradients_like_torch(data):
    x = leaf(data, data.draw(shapes(min_dims=1), label="shape"), floats)
    index = data.draw(indices(x.shape), label="index")
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, slice) and (i.step or 1) < 0 for i in items):
        return  # torch refuses negative steps (Python lists and NumPy allow them, as we do)
    compare(lambda t: t[index] * 1.0, lambda t: t[index] * 1.0, x)


# ---------------------------------------------------------------------- training tools


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    grads = [Tensor.randn(3, 2, rng=1), Tensor.randn(4, rng=2), Tensor.randn(1, rng=3)]
    ours, mine = [], []
    for g in grads:
        p = Tensor.zeros(*g.shape, requires_grad=True)
        p.grad = g
        ours.append(p)
        t = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(g.tolist(), dtype=torch.float64)
        mine.append(t)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    reference = torch.nn.utils.clip_grad_norm_(mine, max_norm, norm_type=norm_type)
    assert total.item() == pytest.approx(reference.item(), rel=1e-13)
    for p, t in zip(ours, mine):
        assert_same(p.grad.tolist(), t.grad, tol=1e-13)
