"""Specification of reading nested lists into tensors: any depth (no recursion), a list that
contains itself refused, every ragged row and every element that is not a number named by
its position, and nothing bigger than the element limit made at all."""

import math
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_attn
import tinygrad_attn.functional as F
from tinygrad_attn import Tensor, nn
from tinygrad_attn.shapes import parse_nested

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)
numbers = st.one_of(st.floats(allow_nan=False), st.integers(-(10**6), 10**6), st.booleans())


def nest(flat, shape, rows=list):
    """The nested lists (or tuples) of `shape` holding `flat`, row by row."""
    if not shape:
        return flat[0]
    out = list(flat)
    for size in reversed(shape[1:]):
        out = [rows(out[i : i + size]) for i in range(0, len(out), size)]
    return rows(out)


def positions(shape):
    """Every index path to a row (a list) of a nested list of `shape`, outermost first."""
    paths = [()]
    for size in shape[:-1]:
        paths += [p + (k,) for p in paths if len(p) == len(paths[-1]) for k in range(size)]
    return paths


def at(nested, path):
    for k in path:
        nested = nested[k]
    return nested


@given(shapes, st.data(), st.sampled_from([list, tuple]))
def test_nested_lists_of_any_shape_read_back_row_by_row(shape, data, rows):
    flat = data.draw(st.lists(numbers, min_size=math.prod(shape), max_size=math.prod(shape)))
    got, got_shape = parse_nested(nest(flat, shape, rows))
    assert got_shape == shape
    assert got == [float(x) for x in flat] and all(type(x) is float for x in got)
    assert Tensor(nest(flat, shape)).tolist() == nest([float(x) for x in flat], shape)


def test_empty_lists_give_a_size_0_axis():
    assert parse_nested([]) == ([], (0,))
    assert parse_nested([[], []]) == ([], (2, 0))
    assert Tensor([[], []]).tolist() == [[], []]


@given(st.lists(st.integers(1, 3), min_size=2, max_size=4).map(tuple), st.data())
def test_a_row_of_another_length_is_named_by_its_position(shape, data):
    nested = nest([0.0] * math.prod(shape), shape)
    # a row off the first path ([0][0]...): the first row at each depth sets the shape
    rows = [p for p in positions(shape) if any(p)]
    assume(rows)
    path = data.draw(st.sampled_from(rows), label="row")
    row = at(nested, path)
    if data.draw(st.booleans(), label="longer") or len(row) == 1:
        row.append(row[0])
    else:
        row.pop()
    with pytest.raises(ValueError) as error:
        Tensor(nested)
    message = str(error.value)
    assert message.startswith("ragged nested list: row [" + "][".join(map(str, path)) + "]")


@given(st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple), st.data())
def test_an_element_that_is_not_a_number_is_named_by_its_position(shape, data):
    nested = nest([0.0] * math.prod(shape), shape)
    path = data.draw(st.sampled_from(positions(shape)[-math.prod(shape[:-1]) :]), label="row")
    k = data.draw(st.integers(0, shape[-1] - 1), label="column")
    at(nested, path)[k] = data.draw(st.sampled_from(["1", None, {1: 2}, b"x"]), label="bad")
    where = "[" + "][".join(map(str, path + (k,))) + "]"
    with pytest.raises(TypeError, match=re.escape(f"element {where} is")):
        Tensor(nested)


@given(st.lists(st.integers(1, 3), min_size=1, max_size=4).map(tuple), st.data())
def test_a_list_that_contains_itself_is_refused_wherever_it_is(shape, data):
    nested = nest([0.0] * math.prod(shape), shape)
    path = data.draw(st.sampled_from(positions(shape)), label="row")
    k = data.draw(st.integers(0, len(at(nested, path)) - 1), label="slot")
    ancestor = data.draw(st.integers(0, len(path)), label="ancestor depth")
    at(nested, path)[k] = at(nested, path[:ancestor])  # one of the lists around that slot
    with pytest.raises(ValueError, match="the nested list contains itself: element"):
        Tensor(nested)


def test_a_list_that_holds_only_itself_is_refused_at_once():
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match=r"contains itself: element \[0\] is one of the lists"):
        Tensor(loop)


@pytest.mark.parametrize("depth", [1_000, 20_000])
def test_lists_thousands_of_levels_deep_work_everywhere(depth):
    nested = [2.0]
    for _ in range(depth - 1):
        nested = [nested]
    t = Tensor(nested, requires_grad=True)
    assert t.shape == (1,) * depth and t.item() == 2.0
    (t * t).sum().backward()
    assert t.grad.data == [4.0]
    assert repr(t).startswith("Tensor(" + "[" * depth + "2]")
    assert at(t.tolist(), (0,) * (depth - 1)) == [2.0]
    targets = [1]
    for _ in range(depth):
        targets = [targets]
    assert F.cross_entropy(Tensor([[1.0, 2.0]]), targets).item() > 0


def test_targets_that_contain_themselves_are_refused():
    targets = [0]
    targets.append(targets)
    with pytest.raises(ValueError, match="targets list contains itself"):
        F.cross_entropy(Tensor([[1.0, 2.0]]), targets)


# ---------------------------------------------------------------------- the element limit


@pytest.fixture
def limit():
    """Run a test with a small element limit, restored afterwards."""
    old = tinygrad_attn.set_max_elements(1000)
    yield 1000
    tinygrad_attn.set_max_elements(old)


BIG = [
    ("Tensor", lambda: Tensor([[0.0] * 40] * 40), "(40, 40)"),
    ("zeros", lambda: Tensor.zeros(10**6, 10**6), "(1000000, 1000000)"),
    ("ones", lambda: Tensor.ones(2000), "(2000,)"),
    ("randn", lambda: Tensor.randn(50, 50), "(50, 50)"),
    ("Linear", lambda: nn.Linear(10**6, 10**6), "(1000000, 1000000)"),
    ("Embedding", lambda: nn.Embedding(100, 100), "(100, 100)"),
    ("causal_mask", lambda: F.causal_mask(10**5), "(100000, 100000)"),
    ("sinusoidal_positions", lambda: F.sinusoidal_positions(1000, 16), "(1000, 16)"),
    ("+", lambda: Tensor.zeros(100, 1) + Tensor.zeros(1, 100), "(100, 100)"),
    ("matmul", lambda: Tensor.zeros(100, 1) @ Tensor.zeros(1, 100), "(100, 100)"),
    ("cat", lambda: Tensor.cat([Tensor.zeros(600), Tensor.zeros(600)]), "(1200,)"),
    ("index", lambda: Tensor.zeros(10, 10)[[0] * 200], "(200, 10)"),
    ("MultiHeadAttention", lambda: nn.MultiHeadAttention(64, 2), "(64, 64)"),
    ("TinyTransformer", lambda: nn.TinyTransformer(5, 8, 2, 1, max_len=500), "(500, 8)"),
]


@pytest.mark.parametrize("what, make, shape", BIG, ids=[b[0] for b in BIG])
def test_a_tensor_over_the_element_limit_is_refused_before_it_is_made(limit, what, make, shape):
    with pytest.raises(ValueError) as error:
        make()
    message = str(error.value)
    assert f"shape {shape} holds" in message and "more than the limit of 1,000" in message
    assert "tinygrad_attn.set_max_elements(n)" in message


def test_the_limit_is_the_element_count_itself(limit):
    assert Tensor.zeros(1000).shape == (1000,)
    assert (Tensor.zeros(10, 1) @ Tensor.zeros(1, 100)).shape == (10, 100)
    with pytest.raises(ValueError, match="holds 1,001 numbers"):
        Tensor.zeros(1001)


def test_the_default_limit_refuses_the_sizes_that_would_fill_memory():
    assert tinygrad_attn.get_max_elements() == 10_000_000
    with pytest.raises(ValueError, match=r"holds 1,000,000,000,000 numbers.*about 32 TB"):
        Tensor.randn(10**6, 10**6)
    with pytest.raises(ValueError, match="Linear: shape"):
        nn.Linear(10**6, 10**6)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "10"])
def test_the_limit_must_be_a_positive_int(bad):
    with pytest.raises(ValueError, match="the limit must be a positive int"):
        tinygrad_attn.set_max_elements(bad)
    assert tinygrad_attn.get_max_elements() == 10_000_000


def test_running_out_of_memory_below_the_limit_says_what_was_being_made(monkeypatch):
    old = tinygrad_attn.set_max_elements(10**15)
    try:
        with pytest.raises(MemoryError, match=r"zeros: not enough memory for a tensor of shape"):
            Tensor.zeros(10**7, 10**7)
    finally:
        tinygrad_attn.set_max_elements(old)
