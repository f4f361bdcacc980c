"""Specification of `detect_anomaly()`: the first nan, forward or backward, stops the program
with a RuntimeError that names the op, its inputs, and the file and line of the user's code
that made it; a backward pass stopped this way leaves every gradient as it was."""

import inspect
import math
import re

import pytest

import tinygrad_attn.functional as F
from tinygrad_attn import Tensor, Value, detect_anomaly, nn, no_grad

HERE = __file__


def next_line():
    """The number of the line after the caller's line: where the op under test is made."""
    return inspect.currentframe().f_back.f_lineno + 1


def leaf(data, grad=None):
    t = Tensor(data, requires_grad=True)
    if grad is not None:
        t.grad = Tensor(grad)
    return t


def assert_names(error, op, phase, line, inputs):
    message = str(error.value)
    assert f"detect_anomaly: {op!r} produced nan in its {phase} pass" in message
    assert f"the op was created at {HERE}:{line}" in message
    assert inputs in message
    assert "Cause: " in message  # and what usually causes it


# ---------------------------------------------------------------------- forward, tensors


def test_log_of_a_negative_number_is_reported_at_the_line_that_made_it():
    x = leaf([-1.0, 4.0])
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        line = next_line()
        x.log()
    assert_names(error, "log", "forward", line, "input shapes (2,)")


def test_zero_times_inf_names_the_product_and_both_shapes():
    x, y = leaf([[0.0], [1.0]]), leaf([math.inf, 2.0])
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        line = next_line()
        x * y
    assert_names(error, "*", "forward", line, "input shapes (2, 1), (2,)")


def test_x_over_x_at_zero_is_a_forward_nan():
    x = leaf([0.0, 2.0])
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        line = next_line()
        x / x
    assert_names(error, "/", "forward", line, "input shapes (2,), (2,)")


def test_a_nan_already_in_the_inputs_is_said_to_come_from_before():
    x = leaf([math.nan, 1.0])
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        line = next_line()
        x + 1
    assert_names(error, "+", "forward", line, "input shapes (2,), ()")
    assert "its inputs already held nan" in str(error.value)


def test_a_softmax_of_a_row_of_minus_infinity_is_reported_at_the_users_call():
    # softmax of a row of -inf is 0/0
    x = leaf([[1.0, 0.0], [0.0, 1.0]])
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        line = next_line()
        x.masked_fill([[False, False], [True, True]], -math.inf).softmax()
    assert_names(error, "softmax", "forward", line, "input shapes (2, 2)")


def test_attention_with_a_query_that_sees_no_key_makes_no_nan_at_all():
    # attention gives such a row zeros (as PyTorch does), not a softmax of nothing
    q = k = v = leaf([[1.0, 0.0], [0.0, 1.0]])
    with detect_anomaly():
        out, _ = F.scaled_dot_product_attention(q, k, v, mask=[[False, False], [True, True]])
        out.sum().backward()
    assert out.tolist()[0] == [0.0, 0.0] and all(map(math.isfinite, q.grad.data))


def test_a_module_call_is_reported_at_the_users_line_not_inside_the_package():
    layer = nn.Linear(2, 2, rng=0)
    x = Tensor([[math.inf, 1.0]])
    layer.weight.data[:] = [1.0, 0.0, -1.0, 0.0]  # inf * 1 + 1 * -1 fine, inf * 0 is nan
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        line = next_line()
        layer(x)
    assert_names(error, "matmul", "forward", line, "input shapes (1, 2), (2, 2)")


def test_forward_checks_also_run_under_no_grad():
    x = Tensor([-1.0])
    with detect_anomaly(), no_grad(), pytest.raises(RuntimeError, match="'sqrt' produced nan"):
        x.sqrt()


# ---------------------------------------------------------------------- backward, tensors


def test_the_norm_at_zero_is_a_backward_nan_in_the_product():
    # |x| = sqrt(sum(x * x)) is 0 at x = 0, but d sqrt/du = inf there, and the product's
    # backward multiplies that inf by x = 0
    x = leaf([0.0, 0.0])
    with detect_anomaly():
        line = next_line()
        squares = x * x
        norm = squares.sum().sqrt()
        assert norm.item() == 0.0  # the forward pass is fine
        with pytest.raises(RuntimeError) as error:
            norm.backward()
    assert_names(error, "*", "backward", line, "input shapes (2,), (2,)")


def test_sqrt_at_zero_times_zero_is_a_backward_nan_in_sqrt():
    x = leaf([0.0, 1.0])
    with detect_anomaly():
        line = next_line()
        root = x.sqrt()
        y = (root * 0.0).sum()
        with pytest.raises(RuntimeError) as error:
            y.backward()
    assert_names(error, "sqrt", "backward", line, "input shapes (2,)")


def test_masking_after_a_log_at_zero_is_a_backward_nan_in_log():
    x = leaf([0.0, 1.0])
    with detect_anomaly():
        line = next_line()
        logs = x.log()  # -inf at 0, then replaced: the forward pass is finite
        y = logs.masked_fill([True, False], 0.0).sum()
        with pytest.raises(RuntimeError) as error:
            y.backward()
    assert_names(error, "log", "backward", line, "input shapes (2,)")


def test_a_stopped_backward_pass_leaves_every_gradient_as_it_was():
    x, w = leaf([0.0, 1.0], grad=[5.0, 6.0]), leaf([2.0, 3.0], grad=[7.0, 8.0])
    with detect_anomaly():
        y = ((x * w).sqrt() * 0.0).sum()
        with pytest.raises(RuntimeError, match="'sqrt' produced nan in its backward pass"):
            y.backward()
    assert x.grad.tolist() == [5.0, 6.0] and w.grad.tolist() == [7.0, 8.0]
    assert x.tolist() == [0.0, 1.0] and w.tolist() == [2.0, 3.0]


def test_a_nan_in_the_gradient_given_to_backward_is_named_as_such():
    x = leaf([1.0, 2.0])
    with detect_anomaly():
        y = x * 2
        with pytest.raises(RuntimeError, match=re.escape("gradient given to backward() holds nan")):
            y.backward(Tensor([1.0, math.nan]))
    assert x.grad is None


def test_an_op_made_outside_is_checked_by_a_backward_pass_inside_without_a_place():
    x = leaf([0.0])
    y = (x.sqrt() * 0.0).sum()  # made outside detect_anomaly()
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        y.backward()
    assert "'sqrt' produced nan in its backward pass" in str(error.value)
    assert "an unknown place (made outside detect_anomaly)" in str(error.value)


# ---------------------------------------------------------------------- what is not an anomaly


def test_infinities_are_not_anomalies():
    x = leaf([1000.0, -1000.0])
    with detect_anomaly():
        y = x.exp()  # inf and 0: IEEE-754, not a mistake by itself
        logs = Tensor([0.0, 1.0]).log()  # log(0) = -inf
        (y * 2.0).sum().backward()
    assert y.tolist() == [math.inf, 0.0] and logs.tolist() == [-math.inf, 0.0]
    assert x.grad.tolist() == [math.inf, 0.0]


def test_outside_detect_anomaly_nan_flows_silently():
    x = leaf([0.0])
    y = (x.sqrt() * 0.0).sum()
    y.backward()
    assert math.isnan(x.grad.item())
    assert math.isnan(Tensor([-1.0]).log().item())


def test_the_checks_end_with_the_block_even_after_an_error():
    with pytest.raises(RuntimeError), detect_anomaly():
        Tensor([-1.0]).log()
    assert math.isnan(Tensor([-1.0]).log().item())  # no error now
    assert math.isnan(Value(-1.0).log().data)


def test_nested_blocks_keep_checking_until_the_outer_one_ends():
    with detect_anomaly():
        with detect_anomaly():
            pass
        with pytest.raises(RuntimeError, match="'log' produced nan"):
            Tensor([-1.0]).log()
        with pytest.raises(RuntimeError, match="'log' produced nan"):
            Value(-1.0).log()


# ---------------------------------------------------------------------- the scalar engine


def test_values_report_a_forward_nan_with_their_input_values():
    x = Value(-1.0)
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        line = next_line()
        x.log()
    assert_names(error, "log", "forward", line, "input values -1")


def test_values_report_a_backward_nan_and_leave_every_grad_as_it_was():
    x = Value(0.0)
    x.grad = 3.0
    with detect_anomaly():
        line = next_line()
        root = x**0.5  # d/dx = 0.5 * x^-0.5 = inf at 0
        y = root * 0.0  # ... times a zero gradient
        with pytest.raises(RuntimeError) as error:
            y.backward()
    assert_names(error, "**0.5", "backward", line, "input values 0")
    assert x.grad == 3.0 and root.grad == 0.0 and y.grad == 0.0


def test_values_report_zero_times_inf_in_the_forward_pass():
    a, b = Value(0.0), Value(math.inf)
    with detect_anomaly(), pytest.raises(RuntimeError) as error:
        line = next_line()
        a * b
    assert_names(error, "*", "forward", line, "input values 0, inf")


def test_values_without_nan_backpropagate_as_usual_inside_detect_anomaly():
    x = Value(2.0)
    with detect_anomaly():
        y = (x * x).log()
        y.backward()
    assert x.grad == pytest.approx(1.0)  # d log(x^2)/dx = 2/x
