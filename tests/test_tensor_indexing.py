"""Specification of indexing: `x[...]` picks numbers along any axes as NumPy and PyTorch do.

An index is a tuple of ints (the axis goes away), slices (a range is kept), one list of ints
(positions in any order, repeats allowed), `None` (a new axis of size 1) and one `...` (every
axis not named). Random indices of every kind are compared with the same picking done on
nested Python lists, and the gradient sends each picked number's gradient back to where it
came from, added up where a position was picked twice.
"""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_tensor_ops import assert_gradients_match, draw_tensor, shapes

from tinygrad_attn import Tensor

# ---------------------------------------------------------------------- the reference


def expand(index, ndim):
    """The index as a list with `...` (or the missing tail) written out as full slices."""
    items = list(index) if isinstance(index, tuple) else [index]
    named = sum(1 for i in items if i is not None and i is not Ellipsis)
    rest = [slice(None)] * (ndim - named)
    if Ellipsis in items:
        at = items.index(Ellipsis)
        return items[:at] + rest + items[at + 1 :]
    return items + rest


def pick(nested, items):
    """Python's own picking on nested lists, one axis at a time."""
    if not items:
        return nested
    item, rest = items[0], items[1:]
    if item is None:
        return [pick(nested, rest)]
    if isinstance(item, int):
        return pick(nested[item], rest)
    if isinstance(item, slice):
        return [pick(sub, rest) for sub in nested[item]]
    return [pick(nested[i], rest) for i in item]  # a list of positions


@st.composite
def indices(draw, shape):
    """Any index `x[...]` accepts for a tensor of `shape`."""
    items, has_list = [], False
    for size in shape:
        kinds = ["int", "slice", "full", "list"] if not has_list else ["int", "slice", "full"]
        kind = draw(st.sampled_from(kinds))
        if kind == "int":
            items.append(draw(st.integers(-size, size - 1)))
        elif kind == "list":
            items.append(draw(st.lists(st.integers(-size, size - 1), min_size=1, max_size=4)))
            has_list = True
        elif kind == "full":
            items.append(slice(None))
        else:
            bound = st.none() | st.integers(-size - 1, size + 1)
            step = st.none() | st.sampled_from([-2, -1, 1, 2, 3])
            items.append(slice(draw(bound), draw(bound), draw(step)))
    # name the first axes and leave out the rest (taken whole), or name the first and the
    # last axes with `...` standing for those between; then add new axes anywhere
    first = draw(st.integers(0, len(items)))
    if draw(st.booleans()):
        last = draw(st.integers(0, len(items) - first))
        items = items[:first] + [Ellipsis] + items[len(items) - last :]
    else:
        items = items[:first]
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    return items[0] if len(items) == 1 and draw(st.booleans()) else tuple(items)


# ---------------------------------------------------------------------- any index


@given(data=st.data())
def test_any_index_picks_what_python_lists_pick(data):
    x = draw_tensor(data, data.draw(shapes(min_dims=1), label="shape"))
    index = data.draw(indices(x.shape), label="index")
    expected = pick(x.tolist(), expand(index, x.ndim))
    picked = x[index]
    assert picked.tolist() == expected
    if picked.data:
        assert_gradients_match(lambda x: x[index] * 1.0, [x])


@given(data=st.data())
def test_each_position_gets_the_gradient_once_for_every_time_it_was_picked(data):
    shape = data.draw(shapes(min_dims=1), label="shape")
    x = Tensor.zeros(*shape, requires_grad=True)
    index = data.draw(indices(shape), label="index")
    picked = x[index]
    picked.backward(Tensor.ones(*picked.shape))
    where_from = Tensor([float(k) for k in range(math.prod(shape))]).reshape(shape)[index]
    counts = [0.0] * math.prod(shape)
    for k in where_from.data:
        counts[int(k)] += 1.0
    assert x.grad.reshape(-1).tolist() == counts


# ---------------------------------------------------------------------- the named cases

X = [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]  # (2, 3)


@pytest.mark.parametrize(
    "index, expected",
    [
        ((slice(None), 1), [1.0, 4.0]),  # x[:, j]: a column
        ((Ellipsis, 0), [0.0, 3.0]),  # x[..., 0]: the first number of every row
        ((slice(1, None), slice(None, None, 2)), [[3.0, 5.0]]),  # x[1:, ::2]
        ((-1, -1), 5.0),  # negative indices count from the end
        ((None,), [X]),  # x[None]: a new axis in front
        ((slice(None), None), [[row] for row in X]),  # x[:, None]
        ((Ellipsis, None), [[[v] for v in row] for row in X]),  # x[..., None]
        ((slice(None), [2, 0, 2]), [[2.0, 0.0, 2.0], [5.0, 3.0, 5.0]]),  # a list on axis 1
        ((1, slice(None, None, -1)), [5.0, 4.0, 3.0]),  # a step of -1
        ((), X),  # x[()]: everything
        ((slice(5, None),), []),  # a slice past the end: nothing
    ],
)
def test_the_indices_a_pytorch_user_writes(index, expected):
    x = Tensor(X, requires_grad=True)
    assert x[index].tolist() == expected


def test_x_colon_j_sends_the_gradient_to_that_column_only():
    x = Tensor(X, requires_grad=True)
    x[:, 1].backward(Tensor([10.0, 20.0]))
    assert x.grad.tolist() == [[0.0, 10.0, 0.0], [0.0, 20.0, 0.0]]


def test_a_position_picked_twice_gets_both_gradients():
    x = Tensor(X, requires_grad=True)
    x[:, [2, 0, 2]].backward(Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    assert x.grad.tolist() == [[2.0, 0.0, 4.0], [5.0, 0.0, 10.0]]


def test_index_tensors_act_as_ints_and_lists():
    x = Tensor(X)
    assert x[Tensor(1)].tolist() == X[1]
    assert x[:, Tensor([2, 0])].tolist() == [[2.0, 0.0], [5.0, 3.0]]


def test_a_single_number_takes_only_none_and_ellipsis():
    x = Tensor(3.0)
    assert x[None].shape == (1,) and x[...].shape == () and x[()].item() == 3.0
    with pytest.raises(IndexError, match="0-d tensor"):
        x[0]


@pytest.mark.parametrize(
    "index, error, message",
    [
        ((slice(None), 3), IndexError, "index 3 is out of range for axis 1 with size 3"),
        ((-3,), IndexError, r"axis 0 with size 2 \(valid: -2..1\)"),
        ((0, 1, 2), IndexError, r"too many indices: 3 for a tensor of shape \(2, 3\)"),
        ((Ellipsis, 0, Ellipsis), IndexError, "only one ..."),
        (([0, 1], [0, 1]), TypeError, "only one list of positions"),
        ((1.0,), TypeError, "cannot index a tensor with float"),
        ((True,), TypeError, "cannot index a tensor with a bool"),
        (([0.5],), TypeError, "whole numbers, got 0.5"),
        ((slice(None, None, 0),), ValueError, "slice step cannot be zero"),
        ((Tensor([[0]]),), TypeError, "index one axis at a time"),
    ],
)
def test_bad_indices_name_the_problem_and_change_nothing(index, error, message):
    x = Tensor(X, requires_grad=True)
    with pytest.raises(error, match=message):
        x[index]
    assert x.tolist() == X and x.grad is None
