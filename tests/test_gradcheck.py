"""Specification of `gradcheck`: it passes right gradients, fails wrong ones, changes nothing."""

import pytest

from tinygrad_attn import Value, gradcheck
from tinygrad_attn.checks import run_checks


def test_gradcheck_passes_a_correct_gradient():
    a, b = Value(0.3, label="a"), Value(-1.2, label="b")
    result = gradcheck(lambda a, b: (a * b).tanh() + a.exp(), [a, b])
    assert result.ok and bool(result)
    assert result.max_abs_err < 1e-8 and result.max_rel_err < 1e-8


def test_gradcheck_fails_when_backward_misses_a_path():
    # Value(x.data) is a constant copy: backward sees d(x*c)/dx = c = x, the truth is 2x.
    x = Value(1.5, label="x")
    result = gradcheck(lambda x: x * Value(x.data), [x])
    assert not result.ok and not bool(result)
    assert result.max_abs_err == pytest.approx(1.5, rel=1e-6)
    assert result.failures()[0]["input"] == "x"
    assert "FAIL" in str(result)


class _WrongExp(Value):
    """A Value whose exp() claims the wrong local derivative: d(e^x)/dx = 1."""

    __slots__ = ()

    def exp(self):
        out = super().exp()
        out._da = 1.0
        return out


def test_gradcheck_fails_on_a_wrong_local_derivative():
    x = _WrongExp(0.7, label="x")
    result = gradcheck(lambda x: x.exp() * 2, [x])
    assert not result.ok
    assert result.rows[0]["analytic"] == pytest.approx(2.0)


def test_gradcheck_changes_nothing():
    a, b = Value(0.25, label="a"), Value(4.0, label="b")
    a.grad, b.grad = 7.0, -1.0
    gradcheck(lambda a, b: a * b + a, [a, b])
    assert (a.data, b.data, a.grad, b.grad) == (0.25, 4.0, 7.0, -1.0)


def test_gradcheck_restores_inputs_even_when_fn_raises():
    a = Value(0.25)
    calls = []

    def fn(a):
        calls.append(a.data)
        if len(calls) > 1:
            raise RuntimeError("boom")
        return a * 2

    with pytest.raises(RuntimeError, match="boom"):
        gradcheck(fn, [a])
    assert a.data == 0.25


def test_gradcheck_table_has_one_row_per_input_with_both_numbers():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    result = gradcheck(lambda a, b: a * b, [a, b])
    table = result.table()
    assert table.splitlines()[0].split() == [
        "input",
        "analytic",
        "numeric",
        "abs",
        "err",
        "rel",
        "err",
        "check",
    ]
    assert [row["input"] for row in result.rows] == ["a", "b"]
    assert [round(row["analytic"], 9) for row in result.rows] == [2.0, 1.0]


def test_gradcheck_checks_the_full_jacobian_of_several_outputs():
    a, b = Value(0.5, label="a"), Value(-0.25, label="b")
    result = gradcheck(lambda a, b: [a * b, a + b, b.exp()], [a, b])
    assert result.ok
    assert len(result.rows) == 6  # 3 outputs x 2 inputs
    assert {row["output"] for row in result.rows} == {"out[0]", "out[1]", "out[2]"}


def test_unlabelled_inputs_are_named_by_position():
    result = gradcheck(lambda a, b: a - b, [Value(1.0), Value(2.0)])
    assert [row["input"] for row in result.rows] == ["input0", "input1"]


def test_a_single_value_may_be_passed_without_a_list():
    assert gradcheck(lambda x: x**3, Value(2.0)).ok


def test_non_value_outputs_are_a_type_error():
    with pytest.raises(TypeError, match="must return a Value"):
        gradcheck(lambda x: 3.0, [Value(1.0)])


def test_nothing_to_check_is_a_value_error():
    with pytest.raises(ValueError, match="nothing to check"):
        gradcheck(lambda x: Value(1.0), [2.0])


def test_a_nan_gradient_fails_the_check():
    x = Value(-1.0)
    assert not gradcheck(lambda x: x.log(), [x]).ok


def test_every_check_in_the_catalogue_passes():
    results = run_checks(seed=0)
    failed = [name for name, result in results if not result.ok]
    assert results and not failed


def test_gradcheck_leaves_unchecked_weights_gradients_as_they_were():
    from tinygrad_attn import Tensor, nn

    layer = nn.Linear(3, 2, rng=0)
    x = Tensor.randn(2, 3, rng=1, requires_grad=True)
    assert gradcheck(lambda x: layer(x), [x]).ok
    assert layer.weight.grad is None and layer.bias.grad is None and x.grad is None
    w = Value(2.0, label="w")
    w.grad = 5.0
    assert gradcheck(lambda x: x * w, [Value(1.0)]).ok
    assert w.grad == 5.0
