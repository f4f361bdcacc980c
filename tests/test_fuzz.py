"""Random programs, both engines: chains of random ops on random shapes and numbers may only
fail with the documented errors (TypeError, ValueError, IndexError, RuntimeError, each with a
message), never with anything else; a failed op changes none of its inputs; a program that
runs can always run backward; and on smooth inputs its gradients pass gradcheck."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_attn import Tensor, Value, gradcheck

DOCUMENTED = (TypeError, ValueError, IndexError, RuntimeError)
SPECIAL = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 1e308, -1e308, 1e-308, 710.0]
numbers = st.one_of(
    st.floats(-3.0, 3.0),
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 5),
    st.sampled_from([10**400, -(10**400)]),
)
not_numbers = st.sampled_from(["1", None, [1.0, "x"], {1: 2}, True, b"1", object()])


def fails_as_documented(op):
    """Run `op()`; it may raise only a documented error with a message. Returns (ok, result)."""
    try:
        return True, op()
    except DOCUMENTED as error:
        assert type(error) in DOCUMENTED, f"{type(error).__name__}: {error}"
        assert str(error).strip(), f"{type(error).__name__} without a message"
        return False, None


# ---------------------------------------------------------------------- the scalar engine

VALUE_BINARY = ["__add__", "__sub__", "__mul__", "__truediv__", "__pow__"]
VALUE_BINARY += ["__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rpow__"]
VALUE_UNARY = ["exp", "log", "tanh", "relu", "sigmoid", "__neg__"]


@given(st.data())
def test_value_programs_on_any_numbers_raise_nothing_forward_or_backward(data):
    nodes = [Value(data.draw(numbers)) for _ in range(data.draw(st.integers(1, 3)))]
    for _ in range(data.draw(st.integers(1, 10))):
        a = data.draw(st.sampled_from(nodes))
        if data.draw(st.booleans()):
            out = getattr(a, data.draw(st.sampled_from(VALUE_UNARY)))()
        else:
            other = data.draw(st.one_of(st.sampled_from(nodes), numbers))
            out = getattr(a, data.draw(st.sampled_from(VALUE_BINARY)))(other)
        assert isinstance(out.data, float)
        nodes.append(out)
    nodes[-1].backward()
    assert all(isinstance(v.grad, float) for v in nodes)


@given(st.data())
def test_values_with_things_that_are_not_numbers_are_a_type_error_with_a_message(data):
    a = Value(data.draw(st.floats(-2.0, 2.0)))
    bad = data.draw(not_numbers.filter(lambda x: x is not True))  # a bool is an int to a Value
    op = data.draw(st.sampled_from(VALUE_BINARY))
    ok, _ = fails_as_documented(lambda: getattr(a, op)(bad))
    ok_made, _ = fails_as_documented(lambda: Value(bad))
    assert not ok and not ok_made
    assert a.grad == 0.0 and not a.op


# smooth ops on numbers in [0.5, 1.5]: no kinks, no poles, nothing grows past a few hundred
SMOOTH_VALUE_OPS = [
    lambda a, b: a + b,
    lambda a, b: a - b * 0.5,
    lambda a, b: a * b,
    lambda a, b: a / (b * b + 1.0),
    lambda a, b: (a * a + 1.0).log(),
    lambda a, b: a.tanh(),
    lambda a, b: a.sigmoid() + b,
    lambda a, b: (a * 0.5).exp(),
    lambda a, b: a**2,
    lambda a, b: (a * a + 0.5) ** 0.5,
    lambda a, b: 2.0**a,
    lambda a, b: 1.0 - a / 3.0,
]


@settings(max_examples=100)
@given(st.data())
def test_smooth_value_programs_pass_gradcheck(data):
    leaves = [Value(data.draw(st.floats(0.5, 1.5)), label=f"x{i}") for i in range(3)]
    steps = [
        (data.draw(st.integers(0, len(SMOOTH_VALUE_OPS) - 1)), data.draw(st.integers(0, 2 + k)),
         data.draw(st.integers(0, 2 + k)))
        for k in range(data.draw(st.integers(1, 6)))
    ]  # fmt: skip

    def program(*xs):
        nodes = list(xs)
        for op, i, j in steps:
            nodes.append(SMOOTH_VALUE_OPS[op](nodes[i], nodes[j]))
        return nodes[-1]

    result = gradcheck(program, leaves)
    assert result.ok, str(result)


# ---------------------------------------------------------------------- the tensor engine

small_shapes = st.lists(st.integers(1, 3), max_size=3).map(tuple)
any_shapes = st.lists(st.integers(0, 3), max_size=4).map(tuple)
axes = st.integers(-4, 4)


def tensor(data, shape, elements=numbers, requires_grad=True):
    n = math.prod(shape)
    flat = data.draw(st.lists(elements, min_size=n, max_size=n))
    return Tensor(Tensor(flat).reshape(shape), requires_grad=requires_grad)


def random_op(t, data):
    """One random op on t, with random (often wrong) arguments: (op, the other tensors)."""
    other = tensor(data, data.draw(any_shapes), requires_grad=data.draw(st.booleans()))
    name = data.draw(
        st.sampled_from(
            ["binary", "bad operand", "matmul", "reduce", "softmax", "reshape", "transpose",
             "index", "split", "cat", "stack", "masked_fill", "unary", "pow"]
        )
    )  # fmt: skip
    if name == "binary":
        op = data.draw(st.sampled_from(["__add__", "__sub__", "__mul__", "__truediv__"]))
        return (lambda: getattr(t, op)(other)), [other]
    if name == "bad operand":
        bad = data.draw(not_numbers)
        op = data.draw(st.sampled_from(["__add__", "__mul__", "__pow__", "__matmul__"]))
        return (lambda: getattr(t, op)(bad)), []
    if name == "matmul":
        return (lambda: t @ other), [other]
    if name == "reduce":
        op = data.draw(st.sampled_from(["sum", "mean", "max"]))
        axis = data.draw(st.one_of(st.none(), axes, st.tuples(axes, axes), st.just("0")))
        keepdims = data.draw(st.booleans())
        return (lambda: getattr(t, op)(axis=axis, keepdims=keepdims)), []
    if name == "softmax":
        op, axis = data.draw(st.sampled_from(["softmax", "log_softmax"])), data.draw(axes)
        return (lambda: getattr(t, op)(axis)), []
    if name == "reshape":
        shape = data.draw(st.lists(st.integers(-2, 6), max_size=4))
        return (lambda: t.reshape(*shape)), []
    if name == "transpose":
        d0, d1 = data.draw(axes), data.draw(axes)
        return (lambda: t.transpose(d0, d1)), []
    if name == "index":
        index = data.draw(
            st.one_of(
                st.integers(-4, 4),
                st.lists(st.integers(-4, 4), max_size=4),
                st.builds(slice, st.integers(-4, 4) | st.none(), st.integers(-4, 4) | st.none()),
                st.sampled_from([1.5, "0", (0, 1), True]),
            )
        )
        return (lambda: t[index]), []
    if name == "split":
        size, axis = data.draw(st.integers(-1, 4)), data.draw(axes)
        return (lambda: t.split(size, axis)[-1]), []
    if name in ("cat", "stack"):
        axis = data.draw(axes)
        return (lambda: getattr(Tensor, name)([t, other], axis=axis)), [other]
    if name == "masked_fill":
        mask = tensor(data, data.draw(any_shapes), st.booleans(), requires_grad=False)
        fill = data.draw(st.one_of(numbers, not_numbers))
        return (lambda: t.masked_fill(mask, fill)), [mask]
    if name == "pow":
        n = data.draw(numbers)
        return (lambda: t**n), []
    op = data.draw(st.sampled_from(["exp", "log", "tanh", "relu", "sigmoid", "sqrt", "__neg__"]))
    return (lambda: getattr(t, op)()), []


def snapshot(tensors):
    return repr(
        [(t.data, None if t.grad is None else t.grad.data, t.shape, t.requires_grad)
         for t in tensors]
    )  # fmt: skip


@settings(max_examples=400)
@given(st.data())
def test_random_tensor_programs_fail_only_as_documented_and_change_nothing(data):
    t = tensor(data, data.draw(any_shapes))
    made = [t]
    for _ in range(data.draw(st.integers(1, 6))):
        op, others = random_op(t, data)
        before = snapshot(made + others)
        ok, out = fails_as_documented(op)
        assert snapshot(made + others) == before  # a failed op (and a good one) changes nothing
        if ok:
            assert isinstance(out, Tensor) and len(out.data) == math.prod(out.shape)
            made += others
            t = out
    # whatever ran can run backward, and every gradient has its tensor's shape
    if t.requires_grad:
        t.backward(Tensor.ones(t.shape))
        for leaf in made:
            assert leaf.grad is None or leaf.grad.shape == leaf.shape


def smooth_op(t, data):
    """A valid op with a smooth derivative for t (no kinks, no poles), with any new input it
    needs: (function of (t, *extra), extra inputs)."""
    nd = t.ndim
    choices = ["tanh", "sigmoid", "mul", "add", "div", "square", "exp", "mask", "reshape"]
    if nd >= 1:
        choices += ["sum", "mean", "softmax", "log_softmax", "matmul", "index", "split", "cat"]
    if nd >= 2:
        choices += ["transpose"]
    name = data.draw(st.sampled_from(choices))
    axis = data.draw(st.integers(-nd, nd - 1)) if nd else None
    if name in ("mul", "add", "div"):
        # an operand of a shape that broadcasts with t: t's trailing axes, some of them 1
        tail = t.shape[data.draw(st.integers(0, nd)) :]
        shape = tuple(s if data.draw(st.booleans()) else 1 for s in tail)
        other = tensor(data, shape, st.floats(-1.0, 1.0))
        fn = {
            "mul": lambda a, b: a * b,
            "add": lambda a, b: a + b,
            "div": lambda a, b: a / (b * b + 1.0),
        }[name]
        return fn, [other]
    if name == "matmul":
        other = tensor(data, (t.shape[-1], data.draw(st.integers(1, 3))), st.floats(-1.0, 1.0))
        return (lambda a, b: a @ b), [other]
    if name == "cat":
        other = tensor(data, t.shape, st.floats(-1.0, 1.0))
        return (lambda a, b: Tensor.cat([a, b], axis=axis)), [other]
    if name == "mask":
        mask = data.draw(st.lists(st.booleans(), min_size=t.shape[-1:][0] if nd else 1,
                                  max_size=t.shape[-1:][0] if nd else 1))  # fmt: skip
        return (lambda a: a.masked_fill(mask if nd else mask[0], 0.25)), []
    if name == "index":
        rows = data.draw(st.lists(st.integers(-t.shape[0], t.shape[0] - 1), min_size=1))
        return (lambda a: a[rows]), []
    if name == "split":
        size = data.draw(st.integers(1, 3))
        return (lambda a: a.split(size, axis)[0]), []
    if name == "transpose":
        d0, d1 = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
        return (lambda a: a.transpose(d0, d1)), []
    if name == "reshape":
        return (lambda a: a.reshape(-1) if a.ndim != 1 else a.reshape(1, -1)), []
    return {
        "tanh": lambda a: a.tanh(),
        "sigmoid": lambda a: a.sigmoid(),
        "square": lambda a: a**2,
        "exp": lambda a: (a * 0.5).exp(),
        "sum": lambda a: a.sum(axis=axis, keepdims=True),
        "mean": lambda a: a.mean(axis=axis),
        "softmax": lambda a: a.softmax(axis),
        "log_softmax": lambda a: a.log_softmax(axis),
    }[name], []


@settings(max_examples=150)
@given(st.data())
def test_smooth_tensor_programs_pass_gradcheck(data):
    x = tensor(data, data.draw(small_shapes), st.floats(-1.0, 1.0))
    inputs, steps, t = [x], [], x
    for _ in range(data.draw(st.integers(1, 4))):
        fn, extra = smooth_op(t, data)
        steps.append((fn, len(inputs), len(extra)))
        inputs += extra
        t = fn(t, *extra)
    weights = Tensor([1.0 + k / 7 for k in range(len(t.data))]).reshape(t.shape)

    def program(*xs):
        out = xs[0]
        for fn, start, count in steps:
            out = fn(out, *xs[start : start + count])
        return (out * weights).sum()  # one number: each output weighted differently

    result = gradcheck(program, inputs)
    assert result.ok, str(result)
