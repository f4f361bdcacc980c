"""The error catalogue (docs/08_errors.md) is a specification that runs: every example in its
tables raises the exception it names, with the message it shows, and leaves every tensor,
value, module and optimizer of the examples exactly as it was. Every public name appears in
it. Then the numerics: no op of either engine, forward or backward, lets a Python
OverflowError or ZeroDivisionError escape, and softmax stays finite."""

import builtins
import itertools
import math
import re
import shlex
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_attn
import tinygrad_attn.functional as F
from tinygrad_attn import Tensor, Value, nn, optim, scope, viz
from tinygrad_attn.cli import main
from tinygrad_attn.tasks import Data, get_task
from tinygrad_attn.train import (
    Config,
    attention_accuracy,
    loss_and_logits,
    make_model,
    task_accuracy,
)
from tinygrad_attn.train_figures import format_attention
from tinygrad_attn.walkthrough import Walkthrough

DOC = Path(__file__).parent.parent / "docs" / "08_errors.md"
TEXT = DOC.read_text()
SETUP = re.search(r"<!-- setup -->\n```python\n(.*?)```", TEXT, re.S).group(1)
GROUPS = [
    "Building tensors",
    "Ops and shapes",
    "Gradients",
    "Layers",
    "Optimizers",
    "Checks and pictures",
    "The command line",
    "Numerics",
]


def sections():
    """{heading: [row cells]} for every "## " section, examples in backticks only."""
    out = {}
    for block in TEXT.split("\n## ")[1:]:
        heading, _, body = block.partition("\n")
        rows = []
        for line in body.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if line.startswith("| ") and not line.startswith("|---") and cells[0] != "When":
                rows.append(cells)
        out[heading.strip()] = rows
    return out


SECTIONS = sections()
ERROR_ROWS = [
    (group, cells)
    for group in GROUPS[:6]
    for cells in SECTIONS[group]
    if cells[1].startswith("`") and cells[1].endswith("`")
]
CLI_ROWS = [cells for cells in SECTIONS["The command line"] if cells[1].startswith("`")]
NUMBER_ROWS = [cells for cells in SECTIONS["Numerics"] if cells[0] != "Example"]


def matches(documented, actual):
    """The documented message, where `...` stands for any text, is the whole actual one."""
    pattern = ".*".join(re.escape(part) for part in documented.split("..."))
    return re.fullmatch(pattern, actual, re.S) is not None


def setup(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(SETUP, namespace)
    return namespace


def snapshot(namespace):
    """Everything the examples built, as text: numbers, gradients, shapes, flags, state."""
    seen = []
    for name, item in sorted(namespace.items()):
        if isinstance(item, Tensor):
            grad = None if item.grad is None else item.grad.data
            seen.append((name, item.data, grad, item.shape, item.requires_grad, item.label))
        elif isinstance(item, Value):
            seen.append((name, item.data, item.grad, item.label))
        elif isinstance(item, nn.Module):
            grads = [None if p.grad is None else p.grad.data for p in item.parameters()]
            seen.append((name, item.state_dict(), grads))
        elif isinstance(item, optim.Optimizer):
            seen.append((name, sorted(vars(item).items(), key=lambda kv: kv[0])))
    return repr(seen)


# ---------------------------------------------------------------------- the catalogue


def test_the_catalogue_has_a_section_for_every_group_in_order():
    headings = [h for h in SECTIONS if h in GROUPS]
    assert headings == GROUPS
    assert len(ERROR_ROWS) >= 100 and len(CLI_ROWS) >= 10 and len(NUMBER_ROWS) >= 12


@pytest.mark.parametrize("group, cells", ERROR_ROWS, ids=[c[1] for _, c in ERROR_ROWS])
def test_every_documented_error_is_raised_with_its_message_and_changes_nothing(
    tmp_path, monkeypatch, group, cells
):
    _, example, raises, message = cells
    expected = getattr(builtins, raises.split()[0])
    namespace = setup(tmp_path, monkeypatch)
    before = snapshot(namespace)
    with pytest.raises(expected) as error:
        exec(example.strip("`"), namespace)
    assert matches(message, str(error.value)), f"{example}:\n{error.value}\n!=\n{message}"
    assert snapshot(namespace) == before, f"{example} changed what the examples built"


@pytest.mark.parametrize("cells", CLI_ROWS, ids=[c[1] for c in CLI_ROWS])
def test_every_documented_command_line_error_is_one_line_and_writes_nothing(
    tmp_path, monkeypatch, capsys, cells
):
    _, example, status, message = cells
    setup(tmp_path, monkeypatch)
    files = sorted(p.name for p in tmp_path.iterdir())
    capsys.readouterr()
    assert main(shlex.split(example.strip("`"))[1:]) == int(status)
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert matches(message, err.strip()), f"{example}:\n{err}\n!=\n{message}"
    assert sorted(p.name for p in tmp_path.iterdir()) == files


@pytest.mark.parametrize("cells", NUMBER_ROWS, ids=[c[0] for c in NUMBER_ROWS])
def test_every_documented_number_is_what_the_engine_gives(tmp_path, monkeypatch, cells):
    example, gives = cells
    result = eval(example.strip("`"), setup(tmp_path, monkeypatch))
    shown = result.tolist() if isinstance(result, Tensor) else result.data
    assert repr(shown) == gives


def public_names():
    """Every public name a learner can call: the package, Tensor and Value methods, the
    functions, layers and optimizers, and the pictures."""
    names = set(tinygrad_attn.__all__) - {"__version__", "GradcheckResult"}
    names |= {n for n in dir(Tensor) if not n.startswith("_")} - {"data", "children", "op"}
    names |= {n for n in dir(Value) if not n.startswith("_")} - {"local_grads", "children"}
    names -= {"label", "scope", "shape", "ndim", "requires_grad", "topological_order", "T"}
    names |= set(F.__all__) | set(nn.__all__) | set(optim.__all__)
    names |= set(viz.__all__) - {"GraphPicture", "find_renderer", "heatmap_svg"}
    return sorted(names - {"line_chart_svg", "manual_seed", "scope"})


@pytest.mark.parametrize("name", public_names())
def test_every_public_name_is_in_the_catalogue(name):
    assert re.search(rf"\b{re.escape(name)}\b", TEXT), f"docs/08_errors.md never says {name}"


# ---------------------------------------------------------------------- numerics

SPECIAL = [0.0, -0.0, 1.0, -2.5, 0.5, math.inf, -math.inf, math.nan]
SPECIAL += [1e308, -1e308, 1e-308, -1e-308, 5e-324, 710.0, -746.0]
EXPONENTS = [0, 1, 2, -1, -2, 0.5, -0.5, 3, 2.0**60, 1e300, -1e300, math.inf, -math.inf]
EXPONENTS += [math.nan, 1e-308, 10**400]
UNARY = ["exp", "log", "tanh", "relu", "sigmoid", "__neg__"]
BINARY = ["__add__", "__sub__", "__mul__", "__truediv__", "__pow__"]
BINARY += ["__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rpow__"]
SEEDS = [1.0, 0.0, math.inf, -math.inf, math.nan]


def same(a, b):
    return a == b or (a != a and b != b)


@pytest.mark.parametrize("op", [*UNARY, "sqrt", "abs", "gelu"])
def test_unary_ops_raise_nothing_for_special_numbers_forward_or_backward(op):
    for x, seed in itertools.product(SPECIAL, SEEDS):
        t = Tensor([x], requires_grad=True)
        y = getattr(t, op)()
        y.backward(Tensor([seed]))
        assert isinstance(y.item(), float) and isinstance(t.grad.item(), float)
        if op in UNARY:  # the scalar engine has the same op, with the same numbers
            value = Value(x)
            out = getattr(value, op)()
            out.backward()
            assert same(out.data, y.item()), (op, x)


@pytest.mark.parametrize("op", BINARY)
def test_binary_ops_raise_nothing_for_special_numbers_and_both_engines_agree(op):
    for x, y in itertools.product(SPECIAL, SPECIAL):
        a, b = Tensor([x], requires_grad=True), Tensor([y], requires_grad=True)
        out = getattr(a, op)(b)
        for seed in SEEDS:
            out.backward(Tensor([seed]))
        va, vb = Value(x), Value(y)
        scalar = getattr(va, op)(vb)
        scalar.backward()
        assert same(scalar.data, out.item()), (op, x, y)
        assert isinstance(getattr(Value(x), op)(y).data, float)  # a plain number operand
        assert isinstance(getattr(Tensor([x]), op)(y).item(), float)


def test_powers_with_extreme_exponents_raise_nothing_in_either_engine():
    for x, n in itertools.product(SPECIAL, EXPONENTS):
        (Value(x) ** n).backward()
        (n ** Value(x)).backward()
        t = Tensor([x], requires_grad=True)
        (t**n).backward(Tensor([1.0]))
        (n**t).backward(Tensor([1.0]))
        assert same((Value(x) ** n).data, (Tensor([x]) ** n).item()), (x, n)


@pytest.mark.parametrize(
    "op", ["sum", "mean", "max", "min", "var", "std", "softmax", "log_softmax"]
)
def test_reductions_and_softmax_raise_nothing_for_special_numbers(op):
    for x, y in itertools.product(SPECIAL, SPECIAL):
        t = Tensor([[x, y]], requires_grad=True)
        out = getattr(t, op)()
        for seed in SEEDS:
            out.backward(Tensor.ones(out.shape) * seed)
        row = Tensor([[x, y]], requires_grad=True)
        F.cross_entropy(row, [1]).backward()
        F.layer_norm(row).sum().backward()
        (row @ Tensor([[x], [y]])).sum().backward()


def test_ints_too_big_for_a_float_become_inf():
    big = 10**400
    assert Value(big).data == math.inf and Value(-big).data == -math.inf
    assert Tensor([[1, big, -big]]).tolist() == [[1.0, math.inf, -math.inf]]
    assert (Tensor([1.0]) * big).tolist() == [math.inf]
    assert (Value(1.0) - big).data == -math.inf
    assert Tensor([1.0]).masked_fill([True], -big).tolist() == [-math.inf]
    assert (Tensor([2.0]) ** big).tolist() == [math.inf] and (Value(0.5) ** big).data == 0.0


def test_max_is_nan_when_a_group_holds_nan_wherever_it_stands():
    for row in ([math.nan, 1.0, 2.0], [1.0, math.nan, 2.0], [1.0, 2.0, math.nan]):
        t = Tensor([row, [3.0, 4.0, 5.0]], requires_grad=True)
        top = t.max(axis=1)
        assert math.isnan(top.tolist()[0]) and top.tolist()[1] == 5.0
        top.backward(Tensor([1.0, 1.0]))
        assert t.grad.tolist()[0] == [1.0 if v != v else 0.0 for v in row]  # to the nan


finite_logits = st.lists(st.floats(-1e300, 1e300), min_size=1, max_size=6)


@given(finite_logits, st.data())
def test_softmax_log_softmax_and_cross_entropy_stay_finite_for_finite_logits(logits, data):
    target = data.draw(st.integers(0, len(logits) - 1))
    row = Tensor([logits], requires_grad=True)
    probs = row.softmax()
    assert all(0.0 <= p <= 1.0 for p in probs.tolist()[0])
    assert math.isclose(sum(probs.tolist()[0]), 1.0, rel_tol=1e-9)
    assert all(math.isfinite(v) for v in row.log_softmax().tolist()[0])
    loss = F.cross_entropy(row, [target])
    loss.backward()
    assert math.isfinite(loss.item()) and all(map(math.isfinite, row.grad.data))


@given(st.lists(st.floats(-1e4, 1e4), min_size=2, max_size=6), st.data())
def test_masked_entries_get_exactly_zero_probability_and_zero_gradient(logits, data):
    blocked = data.draw(st.lists(st.booleans(), min_size=len(logits), max_size=len(logits)))
    blocked[data.draw(st.integers(0, len(logits) - 1))] = False  # one entry stays visible
    row = Tensor([logits], requires_grad=True)
    probs = row.masked_fill([blocked], -math.inf).softmax()
    (probs * Tensor([[float(k) for k in range(len(logits))]])).sum().backward()
    for p, g, b in zip(probs.tolist()[0], row.grad.tolist()[0], blocked):
        assert (p == 0.0 and g == 0.0) if b else math.isfinite(p)


def test_adam_with_eps_zero_and_a_zero_gradient_gives_nan_not_an_exception():
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1, eps=0.0)
    w.grad = Tensor([0.0, 1.0])
    opt.step()
    assert math.isnan(w.tolist()[0]) and w.tolist()[1] == pytest.approx(1.9)


def test_products_with_an_axis_of_size_zero_are_zeros_with_zero_gradients():
    a, b = Tensor.zeros(2, 0, requires_grad=True), Tensor.zeros(0, 3, requires_grad=True)
    out = a @ b
    assert out.tolist() == [[0.0] * 3] * 2
    out.backward(Tensor.ones(2, 3))
    assert a.grad.shape == (2, 0) and b.grad.shape == (0, 3)
    batch, one = Tensor.zeros(0, 2, 2, requires_grad=True), Tensor.ones(1, 2, 2, requires_grad=True)
    (batch @ one).backward(Tensor.zeros(0, 2, 2))
    assert one.grad.tolist() == [[[0.0, 0.0], [0.0, 0.0]]]  # every number gets a gradient


# ---------------------------------------------------------------------- beyond the tables


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: Config(task="copy"), ValueError, "unknown task 'copy'"),
        (lambda: Config(steps=-1), ValueError, "steps must be an int >= 0, got -1"),
        (lambda: Config(batch_size=0), ValueError, "batch_size must be an int >= 1, got 0"),
        (lambda: Config(d_model=2.5), ValueError, "d_model must be an int >= 1, got 2.5"),
        (lambda: Config(lr=0.0), ValueError, "lr must be finite and > 0, got 0.0"),
        (lambda: Config(lr="fast"), TypeError, "lr must be a number"),
        (lambda: Config(seed="0"), TypeError, "seed must be an int"),
        (lambda: Data("lag"), TypeError, r"task must be a Task, got str: use get_task\(name\)"),
        (lambda: Data(get_task("lag")).batch(-1), ValueError, "batch size must be an int >= 0"),
        (lambda: Walkthrough(sentence=""), ValueError, "sentence is empty"),
        (lambda: Walkthrough(sentence=["a"]), TypeError, "sentence must be a str"),
        (lambda: Walkthrough(dim=4, heads=3), ValueError, "4 is not divisible by 3"),
        (lambda: Walkthrough(dim=0), ValueError, "dim must be a positive int"),
        (lambda: task_accuracy(Tensor([[1.0, 2.0]]), []), ValueError, "0 targets"),
        (lambda: task_accuracy(Tensor([[1.0, 2.0]]), [0, 1]), ValueError, "2 targets"),
        (lambda: attention_accuracy([], []), ValueError, "no positions that count"),
        (lambda: loss_and_logits(make_model(Config(task="lag")), []), ValueError, "no examples"),
        (lambda: format_attention([[1.0]], []), ValueError, "0 words for 1 rows"),
        (lambda: scope(3), TypeError, "label must be a str, got int"),
    ],
)
def test_training_and_walkthrough_helpers_check_their_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_saving_to_no_path_is_a_type_error_and_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TypeError):
        nn.Linear(2, 2, rng=0).save(None)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_load_keeps_a_model_an_optimizer_holds(tmp_path):
    layer = nn.Linear(3, 2, rng=0)
    opt = optim.Adam(layer.parameters(), lr=0.1)
    (layer(Tensor.ones(1, 3)) ** 2).sum().backward()
    opt.step()
    before = (layer.state_dict(), repr(vars(opt)))
    nn.TinyTransformer(5, 4, 2, 1, 4, rng=0).save(tmp_path / "other.json")
    with pytest.raises(ValueError, match="holds a TinyTransformer's weights, not a Linear's"):
        layer.load(tmp_path / "other.json")
    assert (layer.state_dict(), repr(vars(opt))) == before
    opt.step()  # and it still trains
    assert layer.state_dict() != before[0]
