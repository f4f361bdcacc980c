"""Specification of the scalar engine `Value`."""

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_attn import Value, gradcheck

# ---------------------------------------------------------------------- random expression trees

# Smooth ops only (relu and division near 0 have kinks or poles, tested by name below).
# Each op takes operands from a pool that holds the leaves and every earlier result, so the
# same node is often used twice: that is where accumulation bugs hide.
UNARY = {
    "tanh": lambda a: a.tanh(),
    "sigmoid": lambda a: a.sigmoid(),
    "exp_tanh": lambda a: a.tanh().exp(),
    "log1p_sq": lambda a: (a * a + 1).log(),
    "square": lambda a: a**2,
    "neg": lambda a: -a,
    "rsub": lambda a: 1.5 - a,
    "scale": lambda a: 0.5 * a,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1),
    "pow": lambda a, b: (a * a + 0.5) ** b.tanh(),
}

programs = st.lists(
    st.tuples(
        st.sampled_from(sorted(UNARY) + sorted(BINARY)),
        st.integers(0, 100),
        st.integers(0, 100),
    ),
    min_size=1,
    max_size=10,
)
leaf_values = st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=4)


def run_program(program, leaves):
    pool = list(leaves)
    for op, i, j in program:
        a, b = pool[i % len(pool)], pool[j % len(pool)]
        pool.append(UNARY[op](a) if op in UNARY else BINARY[op](a, b))
    return pool[-1]


@given(program=programs, numbers=leaf_values)
def test_random_expression_gradients_match_finite_differences(program, numbers):
    leaves = [Value(x, label=f"x{k}") for k, x in enumerate(numbers)]
    out = run_program(program, leaves)
    assume(all(math.isfinite(v.data) and abs(v.data) < 1e3 for v in out.topological_order()))
    result = gradcheck(lambda *xs: run_program(program, xs), leaves, rtol=1e-4)
    assert result.ok, str(result)


@given(program=programs, numbers=leaf_values)
def test_topological_order_lists_every_node_after_its_children(program, numbers):
    out = run_program(program, [Value(x) for x in numbers])
    order = out.topological_order()
    position = {id(v): k for k, v in enumerate(order)}
    assert len(position) == len(order)  # no node twice
    for v in order:
        for child in v.children:
            assert position[id(child)] < position[id(v)]


# ---------------------------------------------------------------------- named cases


def test_product_with_itself_counts_both_paths():
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0  # d(a^2)/da = 2a


def test_sum_with_itself_counts_both_paths():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0


def test_reused_intermediate_node_accumulates():
    a = Value(2.0)
    b = a * 3  # b is used twice below
    c = b * b + b  # dc/db = 2b + 1 = 13, db/da = 3
    c.backward()
    assert b.grad == 13.0
    assert a.grad == 39.0


def test_relu_gradient_at_zero_is_zero_like_pytorch():
    a = Value(0.0)
    out = a.relu()
    out.backward()
    assert out.data == 0.0 and a.grad == 0.0


def test_relu_passes_positive_and_blocks_negative():
    pos, neg = Value(2.5), Value(-2.5)
    (pos.relu() + neg.relu()).backward()
    assert (pos.grad, neg.grad) == (1.0, 0.0)


@pytest.mark.parametrize("x", [40.0, 1000.0, 1e308, math.inf])
def test_sigmoid_at_large_magnitude_saturates_without_overflow(x):
    up, down = Value(x), Value(-x)
    s_up, s_down = up.sigmoid(), down.sigmoid()
    (s_up + s_down).backward()
    assert s_up.data == pytest.approx(1.0) and s_down.data == pytest.approx(0.0, abs=1e-17)
    assert 0.0 <= up.grad < 1e-17 and 0.0 <= down.grad < 1e-17


def test_sigmoid_matches_its_formula():
    for x in (-3.0, -0.5, 0.0, 0.7, 4.0):
        assert Value(x).sigmoid().data == pytest.approx(1 / (1 + math.exp(-x)))


def test_backward_twice_adds_twice_for_every_node():
    x = Value(1.5)
    h = x.tanh()
    y = h * x
    y.backward()
    first = (x.grad, h.grad, y.grad)
    y.backward()
    assert (x.grad, h.grad, y.grad) == tuple(2 * g for g in first)


def test_backward_seeds_root_with_one():
    y = Value(4.0) * 2
    y.backward()
    assert y.grad == 1.0


def test_children_and_local_grads_describe_the_op():
    a, b = Value(2.0, label="a"), Value(5.0, label="b")
    c = a * b
    assert c.op == "*" and c.children == (a, b) and c.local_grads == (5.0, 2.0)
    assert a.op == "" and a.children == () and a.local_grads == ()
    n = -a
    assert n.op == "neg" and n.children == (a,) and n.local_grads == (-1.0,)


def test_numbers_on_either_side_become_constant_leaves():
    a = Value(2.0)
    for out, expected in [
        (a + 1, 3.0),
        (1 + a, 3.0),
        (a - 1, 1.0),
        (1 - a, -1.0),
        (a * 3, 6.0),
        (3 * a, 6.0),
        (a / 4, 0.5),
        (4 / a, 2.0),
        (a**3, 8.0),
        (3**a, 9.0),
    ]:
        assert out.data == expected
        assert a in out.children


def test_power_with_value_exponent_has_both_derivatives():
    a, b = Value(2.0), Value(3.0)
    out = a**b
    out.backward()
    assert out.data == 8.0
    assert a.grad == pytest.approx(12.0)  # b a^(b-1)
    assert b.grad == pytest.approx(8.0 * math.log(2.0))  # a^b ln a


def test_a_million_node_chain_backpropagates_without_recursion():
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y + x
    y.backward()
    assert x.grad == 1_000_001.0


def test_repr_shows_data_grad_and_label():
    v = Value(1.25, label="w")
    v.grad = 0.5
    assert repr(v) == "Value(data=1.25, grad=0.5, label='w')"
    assert repr(Value(-2.0)) == "Value(data=-2, grad=0)"


def test_value_has_no_instance_dict():
    with pytest.raises(AttributeError):
        Value(1.0).colour = "red"  # __slots__: a typo cannot add a silent new field


# ---------------------------------------------------------------------- IEEE-754 numbers


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: Value(1000).exp(), math.inf),
        (lambda: Value(-1000).exp(), 0.0),
        (lambda: Value(0).log(), -math.inf),
        (lambda: Value(-1).log(), math.nan),
        (lambda: Value(1) / 0, math.inf),
        (lambda: Value(-1) / 0, -math.inf),
        (lambda: Value(1) / Value(-0.0), -math.inf),
        (lambda: Value(0) / 0, math.nan),
        (lambda: Value(0) ** -1, math.inf),
        (lambda: Value(-0.0) ** -1, -math.inf),
        (lambda: Value(-8) ** (1 / 3), math.nan),
        (lambda: Value(10) ** 400, math.inf),
        (lambda: Value(-10) ** 401, -math.inf),
        (lambda: Value(1e308) * 10, math.inf),
        (lambda: Value(math.inf).tanh(), 1.0),
        (lambda: Value(math.nan).relu(), math.nan),
        (lambda: 2 ** Value(5000), math.inf),
    ],
)
def test_ieee_results_instead_of_python_errors(make, expected):
    out = make()
    if math.isnan(expected):
        assert math.isnan(out.data)
    else:
        assert out.data == expected
    out.backward()  # the backward pass must not raise either


def test_gradients_at_singular_points_are_ieee_too():
    x = Value(0.0)
    x.log().backward()
    assert x.grad == math.inf
    y = Value(0.0)
    (y**0.5).backward()
    assert y.grad == math.inf
    z = Value(0.0)
    (z ** Value(2.0)).backward()  # d/db of 0^b at b=2 is 0, not nan
    assert z.grad == 0.0


# ---------------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", ["a", None, [1.0], complex(1, 2)])
def test_non_numeric_data_is_a_type_error_naming_the_type(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


def test_wrapping_a_value_in_a_value_explains_what_to_do():
    with pytest.raises(TypeError, match=r"Value\(v.data\)"):
        Value(Value(1.0))


@pytest.mark.parametrize("bad", ["2", [2], None, complex(0, 1)])
def test_unsupported_exponent_says_what_is_supported(bad):
    with pytest.raises(TypeError, match="int, a float or a Value"):
        Value(2.0) ** bad


def test_unsupported_operand_names_the_type():
    with pytest.raises(TypeError, match="str"):
        Value(2.0) + "1"
    with pytest.raises(TypeError, match="list"):
        Value(2.0) * [1]


def test_power_zero_is_flat_even_at_zero_like_pytorch():
    x = Value(0.0)
    (x**0).backward()
    assert x.grad == 0.0
    a, b = Value(0.0), Value(0.0)
    (a**b).backward()
    assert (a.grad, b.grad) == (0.0, 0.0)
