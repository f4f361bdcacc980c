"""Specification of changes in place: a tensor's numbers changed after a graph used them make
that graph's `backward()` raise (a version counter, as in PyTorch), never give a gradient
computed from the wrong numbers. Every way of changing numbers counts: `t.data[i] = x`,
`t.data[:] = ...`, `t.data = ...`, an optimizer step, `load_state_dict`, a detached alias."""

import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_attn import Tensor, Value, gradcheck, nn, optim
from tinygrad_attn.autograd import Storage, write_in_place


def leaf(numbers, label):
    return Tensor(numbers, requires_grad=True, label=label)


def grads(*tensors):
    return [None if t.grad is None else t.grad.tolist() for t in tensors]


# ---------------------------------------------------------------------- the ways to change


EDITS = {
    "an element": lambda t: t.data.__setitem__(0, 5.0),
    "a slice": lambda t: t.data.__setitem__(slice(None), [5.0] * len(t.data)),
    "the data property": lambda t: setattr(t, "data", [5.0] * len(t.data)),
    "write_in_place": lambda t: write_in_place(t, [5.0] * len(t.data)),
    "a sort": lambda t: t.data.sort(),
    "a detached alias": lambda t: t.detach().data.__setitem__(0, 5.0),
}


@pytest.mark.parametrize("how", EDITS)
def test_changing_a_leaf_after_the_forward_pass_makes_backward_raise_and_changes_no_grad(how):
    w = leaf([2.0, 3.0], "w")
    x = leaf([1.0, -1.0], "x")
    x.grad = Tensor([7.0, 8.0])
    loss = (w * x).sum()  # d loss / dx = w: the backward pass reads w's numbers
    EDITS[how](w)
    with pytest.raises(RuntimeError) as error:
        loss.backward()
    message = str(error.value)
    assert "'w' (shape (2,)) was changed in place after '*' used it" in message
    assert "version 1" in message and "used version 0" in message
    assert "Recompute the forward pass" in message and "call backward() before" in message
    assert grads(w, x) == [None, [7.0, 8.0]]  # nothing was added anywhere


def test_recomputing_the_forward_pass_after_the_change_gives_the_new_gradient():
    w, x = leaf([2.0, 3.0], "w"), leaf([1.0, -1.0], "x")
    (w * x).sum()
    w.data[0] = 5.0
    (w * x).sum().backward()
    assert x.grad.tolist() == [5.0, 3.0]


def test_a_change_before_the_forward_pass_or_to_a_tensor_outside_the_graph_is_fine():
    w, x, other = leaf([2.0, 3.0], "w"), leaf([1.0, -1.0], "x"), leaf([0.0], "other")
    w.data[1] = 4.0
    loss = (w * x).sum()
    other.data[0] = 1.0
    loss.backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_numbers_no_backward_reads_may_change_as_in_pytorch():
    # d(a+b)/da = 1 and d(sum)/dx = 1 need no numbers: changing them is not an error
    a, b = leaf([1.0, 2.0], "a"), leaf([3.0, 4.0], "b")
    total = a + b
    loss = total.sum()
    a.data[0], total.data[1] = 10.0, 20.0
    loss.backward()
    assert a.grad.tolist() == [1.0, 1.0] and b.grad.tolist() == [1.0, 1.0]


def test_a_constant_an_op_reads_is_checked_too():
    x, c = leaf([1.0, 2.0], "x"), Tensor([3.0, 4.0], label="c")
    loss = (x * c).sum()  # dx = c
    c.data[0] = 0.0
    with pytest.raises(RuntimeError, match="'c' \\(shape \\(2,\\)\\) was changed in place"):
        loss.backward()


def test_changing_an_ops_output_in_place_is_caught():
    x = leaf([0.0, 1.0], "x")
    y = x.exp()  # d exp(x)/dx = exp(x): the backward pass reads y's own numbers
    loss = y.sum()
    y.data[0] = 100.0
    with pytest.raises(RuntimeError, match="the output of 'exp' \\(shape \\(2,\\)\\) was changed"):
        loss.backward()


def test_an_unlabelled_intermediate_is_named_by_its_op():
    x = leaf([1.0, 2.0], "x")
    h = x * 2.0
    loss = (h * h).sum()
    h.data[1] = 0.0
    with pytest.raises(RuntimeError, match="the output of '\\*' \\(shape \\(2,\\)\\) was changed"):
        loss.backward()


# ---------------------------------------------------------------------- optimizers and loading


OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.1),
    "SGD with momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "Adam": lambda p: optim.Adam(p, lr=0.1, weight_decay=0.1),
    "AdamW": lambda p: optim.AdamW(p, lr=0.1),
}


@pytest.mark.parametrize("make", OPTIMIZERS.values(), ids=OPTIMIZERS)
def test_an_optimizer_step_between_forward_and_backward_is_caught(make):
    layer = nn.Linear(2, 2, rng=0)
    opt = make(layer.parameters())
    x = Tensor([[1.0, 2.0]])
    (layer(x) ** 2).sum().backward()
    stale = (layer(x) ** 2).sum()  # a forward pass with the weights before the step
    opt.step()
    before = grads(*layer.parameters())
    with pytest.raises(RuntimeError, match="'weight' \\(shape \\(2, 2\\)\\) was changed in place"):
        stale.backward()
    assert grads(*layer.parameters()) == before
    opt.zero_grad()
    (layer(x) ** 2).sum().backward()  # the usual order works
    opt.step()


def test_load_state_dict_between_forward_and_backward_is_caught():
    layer = nn.Linear(2, 1, rng=0)
    loss = layer(Tensor([[1.0, 2.0]])).sum()
    layer.load_state_dict(nn.Linear(2, 1, rng=1).state_dict())
    with pytest.raises(RuntimeError, match="'weight' \\(shape \\(2, 1\\)\\) was changed in place"):
        loss.backward()


def test_gradcheck_puts_numbers_back_without_counting_a_change():
    x = leaf([0.5, -1.0], "x")
    loss = (x * x).sum()
    assert gradcheck(lambda t: (t * t).sum(), [x]).ok
    loss.backward()  # the graph from before the check still works: the numbers are the same
    assert x.grad.tolist() == [1.0, -2.0]


# ---------------------------------------------------------------------- the numbers themselves


def test_every_tensor_keeps_its_numbers_in_a_storage_that_starts_at_version_0():
    x = leaf([1.0, 2.0], "x")
    for t in (x, x * 2, x.detach(), Tensor.zeros(2), x.reshape(2, 1)):
        assert type(t.data) is Storage and t.data.version == 0
    assert x.detach().data is x.data  # detach shares the numbers, and so the version


def test_assigning_data_accepts_a_flat_list_or_the_tensors_shape_and_stores_floats():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]])
    t.data = [1, 2, 3, 4]
    assert t.data == [1.0, 2.0, 3.0, 4.0] and all(type(v) is float for v in t.data)
    t.data = [[0.0, 1.0], [2.0, 3.0]]
    t.data = Tensor([[4.0, 3.0], [2.0, 1.0]])
    assert t.tolist() == [[4.0, 3.0], [2.0, 1.0]] and t.data.version == 3
    t.data[1] = 7
    assert t.data[1] == 7.0 and type(t.data[1]) is float


@pytest.mark.parametrize(
    "change, error, message",
    [
        (lambda t: setattr(t, "data", [1.0, 2.0]), ValueError, "has shape (2, 3) (6 numbers)"),
        (lambda t: setattr(t, "data", [[1.0, 2.0]] * 3), ValueError, "new numbers have shape"),
        (lambda t: setattr(t, "data", ["a"] * 6), TypeError, "element [0] is str"),
        (lambda t: setattr(t, "data", None), TypeError, "got NoneType"),
        (lambda t: t.data.__setitem__(0, "5"), TypeError, "the new number is str"),
        (lambda t: t.data.__setitem__(0, None), TypeError, "the new number is NoneType"),
        (lambda t: t.data.__setitem__(9, 1.0), IndexError, "out of range"),
        (lambda t: t.data.__setitem__(slice(0, 2), [1.0]), ValueError, "1 numbers for 2 places"),
        (lambda t: t.data.__setitem__(slice(None), [0.0] * 7), ValueError, "7 numbers for 6"),
        (lambda t: t.data.__setitem__(slice(None), [0.0] * 5 + ["x"]), TypeError, "number 5"),
        (lambda t: t.data.__setitem__(slice(None), 3.0), TypeError, "got float"),
        (lambda t: t.data.append(1.0), TypeError, "cannot be added or removed"),
        (lambda t: t.data.extend([1.0]), TypeError, "cannot be added or removed"),
        (lambda t: t.data.pop(), TypeError, "cannot be added or removed"),
        (lambda t: t.data.insert(0, 1.0), TypeError, "cannot be added or removed"),
        (lambda t: t.data.remove(1.0), TypeError, "cannot be added or removed"),
        (lambda t: t.data.clear(), TypeError, "cannot be added or removed"),
        (lambda t: t.data.__delitem__(0), TypeError, "cannot be added or removed"),
        (lambda t: t.data.__iadd__([1.0]), TypeError, "cannot be added or removed"),
        (lambda t: t.data.__imul__(2), TypeError, "cannot be added or removed"),
        (lambda t: write_in_place(t, [1.0]), ValueError, "1 numbers for a tensor of shape"),
    ],
)
def test_a_refused_change_says_why_and_changes_nothing(change, error, message):
    t = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    loss = (t * t).sum()
    with pytest.raises(error) as caught:
        change(t)
    assert message in str(caught.value)
    assert t.data == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] and t.data.version == 0
    loss.backward()  # nothing was counted: the graph still works


def test_copies_of_the_numbers_are_fresh_lists():
    t = Tensor([1.0, 2.0])
    t.data[0] = 3.0
    for other in (copy.copy(t.data), copy.deepcopy(t.data), pickle.loads(pickle.dumps(t.data))):
        assert type(other) is Storage and other == [3.0, 2.0] and other.version == 0
    assert copy.deepcopy(nn.Linear(2, 2, rng=0)).weight.data == nn.Linear(2, 2, rng=0).weight.data


def test_values_need_no_version_counter_their_local_derivatives_are_numbers():
    # c = a * b stores the numbers d(c)/da = b and d(c)/db = a when it runs: changing a
    # afterwards cannot change what backward() computes (the gradient where c was computed)
    a, b = Value(2.0), Value(3.0)
    c = a * b
    a.data, b.data = 100.0, 100.0
    c.backward()
    assert (a.grad, b.grad) == (3.0, 2.0)


# ---------------------------------------------------------------------- the rule, for any graph

UNARY = {"exp": lambda t: t.exp(), "tanh": lambda t: t.tanh(), "relu": lambda t: t.relu()}
UNARY |= {"reshape": lambda t: t.reshape(-1), "sum": lambda t: t.sum(keepdims=True)}
UNARY |= {"softmax": lambda t: t.softmax(), "square": lambda t: t**2}
BINARY = {"+": lambda a, b: a + b, "*": lambda a, b: a * b, "-": lambda a, b: a - b}
BINARY |= {"/": lambda a, b: a / (b * b + 1.0), "max": lambda a, b: (a * b).max(keepdims=True)}
BINARY |= {"matmul": lambda a, b: a.reshape(1, -1) @ b.reshape(-1, 1)}
UNARY |= {"abs": lambda t: t.abs(), "gelu": lambda t: t.gelu(), "clamp": lambda t: t.clamp(-1, 1)}
UNARY |= {"var": lambda t: t.var(correction=0, keepdims=True), "std": lambda t: t.std(0, 0)}
UNARY |= {
    "min": lambda t: t.min(keepdims=True),
    "permute": lambda t: t.unsqueeze(0).permute(*range(t.ndim, -1, -1)),
}
UNARY |= {"squeeze": lambda t: t.unsqueeze(-1).flatten().squeeze(), "index": lambda t: t[..., ::-1]}
BINARY |= {"where": lambda a, b: a.where(a > b, b)}


# What each op's backward pass reads (as PyTorch saves them): its inputs' numbers, its own
# output's, both, or neither (d(a+b)/da = 1 needs no numbers at all).
READS = {"+": "", "-": "", "neg": "", "sum": "", "reshape": "", "index": "", "transpose": ""}
READS |= {"*": "in", "**2": "in", "relu": "in", "matmul": "in", "log": "in"}
READS |= {"exp": "out", "tanh": "out", "softmax": "out", "sigmoid": "out", "sqrt": "out"}
READS |= {"/": "in out", "max": "in out"}
READS |= {"abs": "in", "gelu": "in", "clamp": "in", "var": "in", "std": "in out", "min": "in out"}
READS |= {"permute": "", "unsqueeze": "", "squeeze": "", "flatten": "", "where": ""}


def read_by_backward(root):
    """The tensors whose numbers backward() from `root` reads: for every op it walks
    through, the inputs (constants included) and the output that op's backward needs."""
    out = set()
    for node in root.topological_order():
        if node.op:
            if "in" in READS[node.op].split():
                out.update(node.children)
            if "out" in READS[node.op].split():
                out.add(node)
    return out


@given(st.data())
def test_backward_raises_exactly_when_numbers_it_reads_were_changed(data):
    leaves = [
        Tensor([0.5, -1.0], requires_grad=data.draw(st.booleans(), label=f"grad {k}"))
        for k in range(3)
    ]
    leaves[0].requires_grad = True
    made = list(leaves)  # every tensor, in the order made
    for step in range(data.draw(st.integers(1, 6), label="ops")):
        if data.draw(st.booleans(), label=f"unary {step}"):
            op = data.draw(st.sampled_from(sorted(UNARY)), label=f"op {step}")
            t = UNARY[op](data.draw(st.sampled_from(made)))
        else:
            op = data.draw(st.sampled_from(sorted(BINARY)), label=f"op {step}")
            t = BINARY[op](data.draw(st.sampled_from(made)), data.draw(st.sampled_from(made)))
        made.append(t.reshape(-1)[:2] if len(t.data) >= 2 else t * Tensor([1.0, 1.0]))
    root = made[-1].sum()
    if not root.requires_grad:
        return
    depends = read_by_backward(root)
    changed = data.draw(st.sampled_from(made + [root]), label="changed")
    how = data.draw(st.sampled_from(sorted(EDITS)), label="how")
    EDITS[how](changed)
    if changed in depends:
        with pytest.raises(RuntimeError, match="was changed in place"):
            root.backward()
        assert all(t._grad is None for t in made)
    else:
        root.backward()
        reached = [t for t in root.topological_order() if not t.op]
        assert reached and all(t.grad.shape == t.shape for t in reached)
