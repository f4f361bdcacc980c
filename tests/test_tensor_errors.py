"""Specification of the tensor engine's errors: the right exception, a message that names
what was wrong (the shapes, the row, the type), and inputs left exactly as they were."""

import math
import re

import pytest

from tinygrad_attn import Tensor


def snapshot(*tensors):
    """Everything a failed op must leave alone: numbers, gradient, shape, requires_grad."""
    return [
        (t.tolist(), None if t.grad is None else t.grad.tolist(), t.shape, t.requires_grad)
        for t in tensors
    ]


def with_grad(data):
    """A leaf that requires grad and already holds a gradient (ones)."""
    t = Tensor(data, requires_grad=True)
    t.grad = Tensor.ones(t.shape)
    return t


def expect_unchanged(error, message, op, *tensors):
    """`op()` raises `error` matching `message`, and `tensors` are unchanged afterwards."""
    before = snapshot(*tensors)
    with pytest.raises(error, match=message):
        op()
    assert snapshot(*tensors) == before


# ---------------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "data, row",
    [
        ([[1, 2], [3]], "row [1] has 1 elements, expected 2"),
        ([[1, 2, 3], [4, 5, 6], [7, 8]], "row [2] has 2 elements, expected 3"),
        ([[[1, 2], [3, 4]], [[5, 6], [7]]], "row [1][1] has 1 elements, expected 2"),
        ([[1, 2], 3], "element [1] is a number"),
        ([1, [2, 3]], "element [1] is a list"),
    ],
)
def test_ragged_lists_are_a_value_error_naming_the_row(data, row):
    with pytest.raises(ValueError, match=re.escape(row)):
        Tensor(data)


@pytest.mark.parametrize(
    "data, type_name",
    [("abc", "str"), (None, "NoneType"), ([1.0, "2"], "str"), ([[1, None]], "NoneType"),
     ({1: 2}, "dict"), ([complex(1, 2)], "complex")],
)  # fmt: skip
def test_non_numbers_are_a_type_error_naming_the_type(data, type_name):
    with pytest.raises(TypeError, match=type_name):
        Tensor(data)


def test_a_label_must_be_a_string():
    with pytest.raises(TypeError, match="label must be a str"):
        Tensor([1.0], label=3)


@pytest.mark.parametrize("make", [Tensor.zeros, Tensor.ones, Tensor.randn])
def test_sizes_must_be_non_negative_ints(make):
    with pytest.raises(ValueError, match="non-negative ints"):
        make(2, -1)
    with pytest.raises(ValueError, match="non-negative ints"):
        make(2.5)


def test_rng_must_be_a_seed_or_a_generator():
    with pytest.raises(TypeError, match="rng must be"):
        Tensor.randn(2, rng="0")


@pytest.mark.parametrize("make", [Tensor.cat, Tensor.stack])
def test_cat_and_stack_need_a_non_empty_list_of_tensors(make):
    with pytest.raises(ValueError, match="non-empty list"):
        make([])
    with pytest.raises(TypeError, match="list"):
        make([Tensor([1.0]), [2.0]])


# ---------------------------------------------------------------------- reading numbers


def test_item_of_many_numbers_is_a_value_error():
    with pytest.raises(ValueError, match=re.escape("shape (2, 2) (4 numbers)")):
        Tensor([[1, 2], [3, 4]]).item()


def test_len_and_indexing_of_a_0d_tensor_explain_item():
    with pytest.raises(TypeError, match=r"\.item\(\)"):
        len(Tensor(1.0))
    with pytest.raises(IndexError, match=r"\.item\(\)"):
        Tensor(1.0)[0]


# ---------------------------------------------------------------------- shapes


def test_matmul_mismatch_names_both_shapes_and_the_inner_sizes():
    a, b = with_grad([[1, 2, 3], [4, 5, 6]]), with_grad([[1, 2, 3], [4, 5, 6]])
    message = re.escape("matmul: (2, 3) @ (2, 3): inner sizes 3 and 2 differ")
    expect_unchanged(ValueError, message, lambda: a @ b, a, b)


def test_matmul_of_vectors_of_different_lengths_names_both_shapes():
    a, b = with_grad([1, 2, 3]), with_grad([1, 2])
    expect_unchanged(ValueError, re.escape("(3,) @ (2,)"), lambda: a @ b, a, b)


def test_matmul_batch_mismatch_names_both_shapes():
    a, b = with_grad(Tensor.zeros(2, 1, 2).tolist()), with_grad(Tensor.zeros(3, 2, 1).tolist())
    expect_unchanged(ValueError, re.escape("(2, 1, 2) @ (3, 2, 1)"), lambda: a @ b, a, b)


def test_matmul_of_a_0d_tensor_suggests_multiplying():
    a, b = with_grad(2.0), with_grad([1.0, 2.0])
    expect_unchanged(ValueError, "use \\*", lambda: a @ b, a, b)


@pytest.mark.parametrize("op", ["+", "-", "*", "/"])
def test_broadcasting_mismatch_names_both_shapes(op):
    a, b = with_grad([[1, 2, 3], [4, 5, 6]]), with_grad([1, 2])
    fn = {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__}[op]
    message = re.escape(f"{op}: shapes (2, 3) and (2,) cannot broadcast")
    expect_unchanged(ValueError, message, lambda: fn(b), a, b)


def test_power_broadcasting_mismatch_names_both_shapes():
    a, b = with_grad([[1, 2, 3]]), with_grad([[1], [2]] * 2 + [[3]])
    a2 = with_grad([1.0, 2.0])
    expect_unchanged(ValueError, re.escape("(2,) and (1, 3)"), lambda: a2**a, a2, a)
    assert (a**b).shape == (5, 3)  # (1, 3) and (5, 1) do broadcast


def test_reshape_mismatch_names_both_shapes():
    x = with_grad([[1, 2, 3], [4, 5, 6]])
    expect_unchanged(
        ValueError, re.escape("(2, 3) (6 elements) to (4, 2)"), lambda: x.reshape(4, 2), x
    )
    expect_unchanged(
        ValueError, re.escape("(2, 3) (6 elements) to (4, -1)"), lambda: x.reshape(4, -1), x
    )
    expect_unchanged(ValueError, "only one size may be -1", lambda: x.reshape(-1, -1), x)


def test_cat_mismatch_names_both_shapes():
    a, b = with_grad([[1, 2, 3]]), with_grad([[1, 2]])
    expect_unchanged(
        ValueError, re.escape("shapes (1, 3) and (1, 2)"), lambda: Tensor.cat([a, b]), a, b
    )
    assert Tensor.cat([a, b], axis=1).shape == (1, 5)  # along axis 1 they do fit
    c = with_grad([1, 2])
    expect_unchanged(ValueError, re.escape("(1, 3) and (2,)"), lambda: Tensor.cat([a, c]), a, c)


def test_stack_mismatch_names_both_shapes():
    a, b = with_grad([1, 2, 3]), with_grad([1, 2])
    expect_unchanged(
        ValueError, re.escape("shapes (3,) and (2,)"), lambda: Tensor.stack([a, b]), a, b
    )


def test_masked_fill_with_a_mask_that_does_not_fit_names_both_shapes():
    x = with_grad([[1, 2, 3], [4, 5, 6]])
    message = re.escape("masked_fill: shapes (2,) and (2, 3) cannot broadcast")
    expect_unchanged(ValueError, message, lambda: x.masked_fill([True, False], 0.0), x)
    message = re.escape("mask of shape (2, 1, 1) does not broadcast to the tensor's shape (2, 3)")
    expect_unchanged(ValueError, message, lambda: x.masked_fill([[[True]]] * 2, 0.0), x)
    expect_unchanged(TypeError, "value must be a number", lambda: x.masked_fill([True] * 3, "0"), x)


# ---------------------------------------------------------------------- axes and indices


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.sum(axis=2),
        lambda x: x.mean(axis=-3),
        lambda x: x.max(axis=(0, 5)),
        lambda x: x.softmax(axis=2),
        lambda x: x.log_softmax(axis=-3),
        lambda x: x.transpose(0, 2),
        lambda x: x.transpose(-3, 1),
        lambda x: x.split(1, axis=2),
        lambda x: Tensor.cat([x, x], axis=2),
        lambda x: Tensor.stack([x, x], axis=3),
        lambda x: x[2],
        lambda x: x[-3],
        lambda x: x[[0, 2]],
    ],
)
def test_a_bad_axis_or_index_is_an_index_error_and_changes_nothing(op):
    x = with_grad([[1, 2, 3], [4, 5, 6]])
    expect_unchanged(IndexError, "out of range", lambda: op(x), x)


def test_an_axis_named_twice_is_a_value_error():
    x = with_grad([[1, 2], [3, 4]])
    expect_unchanged(ValueError, "same axis twice", lambda: x.sum(axis=(0, -2)), x)


@pytest.mark.parametrize("index", [([0], [1]), 1.5, "0", True, [0.5], (0, "1")])
def test_unsupported_indices_are_a_type_error(index):
    x = with_grad([[1, 2], [3, 4]])
    expect_unchanged(TypeError, "index", lambda: x[index], x)


def test_transpose_of_a_vector_needs_two_axes():
    x = with_grad([1, 2, 3])
    expect_unchanged(ValueError, re.escape("shape (3,)"), lambda: x.transpose(), x)


def test_split_needs_a_positive_size():
    x = with_grad([1, 2, 3])
    expect_unchanged(ValueError, "positive int", lambda: x.split(0), x)


def test_max_over_an_empty_axis_is_a_value_error():
    with pytest.raises(ValueError, match="size 0"):
        Tensor([[], []]).max(axis=1)


# ---------------------------------------------------------------------- operands


@pytest.mark.parametrize("other", ["1", None, {1: 2}, b"1"])
def test_unsupported_operands_are_a_type_error_naming_the_type(other):
    x = with_grad([1.0, 2.0])
    expect_unchanged(TypeError, type(other).__name__, lambda: x + other, x)
    expect_unchanged(TypeError, type(other).__name__, lambda: x**other, x)


def test_matmul_with_a_number_suggests_multiplying():
    x = with_grad([1.0, 2.0])
    expect_unchanged(TypeError, "use \\*", lambda: x @ 2.0, x)
    expect_unchanged(TypeError, "str", lambda: x @ "2", x)


# ---------------------------------------------------------------------- backward


def test_backward_on_a_non_scalar_without_a_gradient_explains_what_to_do():
    x = with_grad([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match=re.escape("shape (2,)")) as info:
        y.backward()
    assert "out.sum().backward()" in str(info.value) and "Tensor.ones(2,)" in str(info.value)
    assert x.grad.tolist() == [1.0, 1.0]  # nothing was added


def test_backward_on_a_tensor_that_does_not_require_grad_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        (Tensor([1.0, 2.0]) * 3).sum().backward()


def test_backward_with_a_gradient_of_the_wrong_shape_names_both_shapes():
    x = with_grad([1.0, 2.0])
    with pytest.raises(
        ValueError, match=re.escape("grad has shape (3,) but the output has shape (2,)")
    ):
        (x * 2).backward(Tensor([1.0, 1.0, 1.0]))
    assert x.grad.tolist() == [1.0, 1.0]


def test_setting_a_gradient_of_the_wrong_shape_is_a_value_error():
    x = with_grad([1.0, 2.0])
    expect_unchanged(ValueError, re.escape("(2,)"), lambda: setattr(x, "grad", Tensor([1.0])), x)


def test_numbers_that_overflow_are_not_errors():
    # the contract is IEEE-754, not Python's exceptions (the full table is in
    # test_tensor_properties.py); this is the one case where Python's float ** raises
    assert (Tensor([10.0]) ** 400).tolist() == [math.inf]
