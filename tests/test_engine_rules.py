"""Small rules where both engines and PyTorch agree: the truth of a tensor, bools as numbers,
sums of nothing, relu's gradient at nan."""

import math

import pytest

from tinygrad_attn import Tensor, Value

# ---------------------------------------------------------------------- truth


@pytest.mark.parametrize(
    "numbers, truth",
    [([0.0], False), ([-0.0], False), ([2.0], True), (0.0, False), (-1.5, True)],
    ids=str,
)
def test_a_one_element_tensor_is_as_true_as_its_number(numbers, truth):
    assert bool(Tensor(numbers)) is truth
    assert bool(Tensor([numbers])) is truth  # one more axis, still one number


def test_nan_is_true_as_in_python_and_pytorch():
    assert bool(Tensor([math.nan])) is True


@pytest.mark.parametrize("numbers", [[0.0, 0.0], [[1.0], [2.0]], [], [[]]], ids=str)
def test_the_truth_of_several_or_no_numbers_is_ambiguous(numbers):
    t = Tensor(numbers)
    with pytest.raises(ValueError, match=r"bool\(\) of a tensor of shape .* is ambiguous"):
        bool(t)
    with pytest.raises(ValueError, match="ambiguous"):
        if t:
            pass


# ---------------------------------------------------------------------- numbers


@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3)], ids=str)
def test_a_sum_of_no_numbers_is_the_float_zero(shape):
    total = Tensor.zeros(shape).sum()
    assert total.item() == 0.0 and type(total.item()) is float
    rows = Tensor.zeros(shape).sum(axis=-1)
    assert all(type(v) is float for v in rows.data)
    assert math.isnan(Tensor.zeros(shape).mean().item())  # 0 / 0, as in PyTorch


OPS = ["__add__", "__sub__", "__mul__", "__truediv__", "__pow__"]
OPS += ["__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rpow__"]


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("flag", [True, False])
def test_a_bool_operand_is_the_number_1_or_0_in_both_engines(op, flag):
    value = getattr(Value(3.0), op)(flag)
    tensor = getattr(Tensor([3.0]), op)(flag)
    number = getattr(Value(3.0), op)(float(flag)).data  # the same op with 1.0 or 0.0
    assert value.data == tensor.item() == number


def test_bools_as_data_and_fill_values_are_numbers_in_both_engines():
    assert Value(True).data == Tensor(True).item() == 1.0
    assert Tensor([True, False]).tolist() == [1.0, 0.0]
    assert Tensor([1.0, 2.0]).masked_fill([True, False], True).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("bad", ["1", None, b"1", [1.0]])
def test_other_operands_are_refused_by_both_engines(bad):
    with pytest.raises(TypeError):
        Value(1.0) + bad
    if not isinstance(bad, list):  # (a list is data to a Tensor: it broadcasts)
        with pytest.raises(TypeError):
            Tensor([1.0]) + bad


# ---------------------------------------------------------------------- relu at nan


def test_relu_passes_the_gradient_through_at_nan_in_both_engines():
    x = Tensor([math.nan, -1.0, 0.0, 2.0], requires_grad=True)
    y = x.relu()
    y.backward(Tensor([5.0, 5.0, 5.0, 5.0]))
    assert x.grad.tolist() == [5.0, 0.0, 0.0, 5.0]  # torch.relu: nan <= 0 is False
    assert math.isnan(y.tolist()[0])
    v = Value(math.nan)
    out = v.relu() * 5.0
    out.backward()
    assert v.grad == 5.0 and math.isnan(out.data)
