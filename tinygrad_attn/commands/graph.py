"""`tinygrad-attn graph`: draw the computation graph of a small example as SVG, PNG or DOT.

Each example is built the way a reader meets it: the micrograd neuron and a tiny MLP on
Values (one node per number), one word's attention over the sentence on both engines, a
single attention head and multi-head attention on Tensors (one node per op, each module call
a box). Every example runs backward first, so the pictures show gradients. Where it stays
readable, an example is built on both engines with the same numbers, so `--level` can switch
between the two pictures of one computation.
"""

import math
import os
import random
import sys

from .. import nn
from ..autograd import step_by_step
from ..cli import UsageError, nearest_existing, path_flag
from ..tensor import Tensor
from ..value import Value
from ..viz.graph import DETAILS, MAX_NODES, draw_graph, render_graph
from ..viz.render import FORMATS, picture_path, run_renderer

HELP = "draw the computation graph of an example (SVG, PNG or DOT)"

DESCRIPTION = """Draw the computation graph of a small example, after backward. Level scalar
draws one node per number (Value), each showing its data and gradient; level tensor draws one
node per tensor op with its shape and the name the explanation gives it (Q, scores,
weights, ...), every module call as a box; steps that only move numbers (reshape, transpose)
are dashed arrows unless --detail full. --values also prints the numbers and gradients of
small tensors. Prints the path of the file written (by default out/graph/EXAMPLE.svg);
-o - writes the picture to standard output instead."""

SENTENCE = ["I", "play", "with", "cats"]


def add_arguments(parser):
    parser.add_argument(
        "--example", choices=list(EXAMPLES), default="neuron", help="what to draw (neuron)"
    )
    parser.add_argument(
        "--level",
        choices=["auto", "scalar", "tensor"],
        default="auto",
        help="one node per number (scalar) or per tensor op (tensor); auto: the example's own",
    )
    parser.add_argument(
        "--format", choices=list(FORMATS), default=None, help="file format (from -o, else svg)"
    )
    parser.add_argument(
        "-o", "--output", type=path_flag, default=None, help="file to write; - for standard output"
    )
    parser.add_argument(
        "--highlight",
        metavar="NAME",
        default=None,
        help="draw the paths to this node in red: a label (w_q.weight) or a module (w_q)",
    )
    parser.add_argument(
        "--values", action="store_true", help="tensor level: show the numbers of small tensors"
    )
    parser.add_argument(
        "--detail",
        choices=list(DETAILS),
        default="folded",
        help="tensor level: folded (reshape, transpose as dashed arrows) or full (every op)",
    )
    parser.add_argument(
        "--rankdir",
        choices=["LR", "TB"],
        default=None,
        help="flow direction: left to right or top to bottom (default: LR for the neuron, TB "
        "for the rest)",
    )
    parser.add_argument(
        "--max-nodes",
        type=int,
        default=None,
        help=f"refuse graphs with more nodes (default {MAX_NODES})",
    )


def run(args):
    builders = EXAMPLES[args.example]
    level = next(iter(builders)) if args.level == "auto" else args.level
    if level not in builders:
        raise UsageError(
            f"graph: the {args.example} example is drawn at level {' or '.join(builders)} "
            f"only (at level {level} it would have too many nodes to read; --example "
            f"attention-word draws one word's attention number by number)"
        )
    root = builders[level]()
    output = args.output or _default_output(args.example, level, args.format, builders)
    if output != "-":
        try:
            path, _ = picture_path(output, args.format)
        except (ValueError, IsADirectoryError) as error:
            raise UsageError(f"graph: {error}") from None
        _check_writable(path)
    options = {
        "rankdir": args.rankdir or ("LR" if args.example == "neuron" else "TB"),
        "highlight": _find_nodes(root, args.highlight) if args.highlight else None,
        "values": args.values,
        "detail": args.detail,
        "max_nodes": MAX_NODES if args.max_nodes is None else args.max_nodes,
    }
    try:
        if output == "-":  # the picture itself on standard output, for a pipe
            picture = draw_graph(root, **options)
            format = args.format or "svg"
            data = (
                picture.source.encode() if format == "dot" else run_renderer(picture.source, format)
            )
            sys.stdout.buffer.write(data)
            return 0
        written = render_graph(root, output, format=args.format, **options)
    except ValueError as error:  # a bad flag; an OSError now is a runtime failure (status 1)
        raise UsageError(f"graph: {error}") from None
    print(written)
    return 0


def _check_writable(path):
    """Before drawing: the file's folder exists or can be made, and we may write in it."""
    if path.is_dir():
        raise UsageError(f"graph: cannot write {path}: it is a folder; give a file name")
    existing = nearest_existing(path.absolute().parent)
    if not os.path.isdir(existing):
        raise UsageError(f"graph: cannot write {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"graph: cannot write {path}: no permission to write in {existing}")


def _default_output(example, level, format, builders):
    own_level = level == next(iter(builders))
    name = example if own_level else f"{example}-{level}"
    return f"out/graph/{name}.{format or 'svg'}"


def _find_nodes(root, name):
    """The nodes `--highlight NAME` means: the one labelled NAME, or else the parameters of
    the module NAME (w_q: w_q.weight; attn.w_q: blocks.0.attn.w_q.weight and its bias)."""
    labelled = {}
    for node in root.topological_order():  # and its children: the input x, which needs no
        for each in (node, *node.children):  # gradient, is only a child
            if each.label:
                labelled.setdefault(each.label, each)
    if name in labelled:
        return labelled[name]
    inside = [node for label, node in labelled.items() if f".{name}." in f".{label}"]
    if inside:
        return inside
    labels = ", ".join(sorted(labelled))
    raise UsageError(
        f"graph: no node is labelled {name!r} and no module is called {name!r} in this example; "
        f"labels: {labels}"
    )


# ---------------------------------------------------------------------- the examples


def neuron_values():
    """micrograd's neuron: o = tanh(x1*w1 + x2*w2 + b), on Values."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")  # chosen so that o comes out as 1/sqrt(2)
    x1w1, x2w2 = x1 * w1, x2 * w2
    s = x1w1 + x2w2
    n = s + b
    o = n.tanh()
    x1w1.label, x2w2.label, s.label, n.label, o.label = "x1*w1", "x2*w2", "x1*w1 + x2*w2", "n", "o"
    o.backward()
    return o


def neuron_tensors():
    """The same neuron on Tensors: o = tanh(sum(x * w) + b)."""
    x = Tensor([2.0, 0.0], label="x")
    w = Tensor([-3.0, 1.0], requires_grad=True, label="w")
    b = Tensor(6.8813735870195432, requires_grad=True, label="b")
    o = ((x * w).sum() + b).tanh().named("o")
    o.backward()
    return o


def _mlp_numbers():
    """Seeded, rounded numbers for a 2 -> 3 -> 1 network: readable in the picture."""
    rng = random.Random(0)

    def numbers(n):
        return [round(rng.uniform(-1, 1), 2) for _ in range(n)]

    hidden_w, hidden_b, out_w, out_b = numbers(6), numbers(3), numbers(3), numbers(1)
    return {
        "x": [0.5, -1.0],
        "hidden.weight": [hidden_w[0:3], hidden_w[3:6]],  # (2, 3): input i -> hidden j
        "hidden.bias": hidden_b,
        "out.weight": [[w] for w in out_w],  # (3, 1)
        "out.bias": out_b,
        "target": 1.0,
    }


def mlp_values():
    """A 2 -> 3 -> 1 MLP with tanh, loss = (y - target)^2, on Values."""
    p = _mlp_numbers()
    x = [Value(v, label=f"x{i}") for i, v in enumerate(p["x"])]
    hidden = []
    for j in range(3):
        s = Value(p["hidden.bias"][j], label=f"hidden.b{j}")
        for i in range(2):
            s = s + x[i] * Value(p["hidden.weight"][i][j], label=f"hidden.w{i}{j}")
        h = s.tanh()
        h.label = f"h{j}"
        hidden.append(h)
    s = Value(p["out.bias"][0], label="out.b")
    for j in range(3):
        s = s + hidden[j] * Value(p["out.weight"][j][0], label=f"out.w{j}")
    y = s.tanh()
    y.label = "y"
    loss = (y - p["target"]) ** 2
    loss.label = "loss"
    loss.backward()
    return loss


class TinyMLP(nn.Module):
    """hidden: Linear(2, 3) + tanh, out: Linear(3, 1) + tanh."""

    def __init__(self):
        self.hidden = nn.Linear(2, 3, rng=0)  # its numbers are replaced: see mlp_tensors
        self.out = nn.Linear(3, 1, rng=0)

    def forward(self, x):
        return self.out(self.hidden(x).tanh()).tanh()


def mlp_tensors():
    """The same MLP with the same numbers, as nn.Linear layers on Tensors."""
    p = _mlp_numbers()
    model = TinyMLP()
    model.load_state_dict({name: p[name] for name, _ in model.named_parameters()})
    y = model(Tensor([p["x"]], label="x"))  # (1, 1)
    loss = ((y - p["target"]) ** 2).sum()
    loss.label = "loss"
    loss.backward()
    return loss


def _head_numbers():
    """The sentence as a (4, 3) matrix and a head's three (3, 3) weights, seeded."""
    rng = random.Random(0)
    x = [[round(rng.uniform(-1, 1), 2) for _ in range(3)] for _ in SENTENCE]
    head = nn.AttentionHead(d_model=3, d_head=3, rng=rng)
    return x, head


def attention_head_tensors():
    """One attention head (nn.AttentionHead) on 4 words x 3 numbers; loss = mean(out^2)."""
    x, head = _head_numbers()
    with step_by_step():  # every step of attention its own op, to be drawn
        out = head(Tensor(x, label="x"))  # (4, 3)
    loss = (out * out).mean().named("loss")
    loss.backward()
    return loss


# One word's attention: "play" (the second word) looks at "I" and at itself (a causal model
# looks no further). Its query, and the two keys and values, 2 numbers each.
WORD_QKV = {"q": [0.8, -0.4], "k": [[0.5, 0.1], [-0.3, 0.9]], "v": [[1.0, 0.2], [-0.5, 0.4]]}


def attention_word_tensors():
    """The attention of one word, softmax(q K^T / sqrt(2)) V, on Tensors; loss = sum(out^2)."""
    q = Tensor([WORD_QKV["q"]], requires_grad=True, label="q (play)")  # (1, 2)
    k = Tensor(WORD_QKV["k"], requires_grad=True, label="K (I, play)")  # (2, 2)
    v = Tensor(WORD_QKV["v"], requires_grad=True, label="V (I, play)")  # (2, 2)
    scores = (q @ k.T).named("scores")  # (1, 2)
    weights = (scores / math.sqrt(2)).named("scaled scores").softmax(-1).named("weights")
    out = (weights @ v).named("output")  # (1, 2)
    loss = (out * out).sum().named("loss")
    loss.backward()
    return loss


def attention_word_values():
    """The same word's attention with the same numbers, one Value per number."""
    words = SENTENCE[:2]
    q = [Value(x, label=f"q[{j}]") for j, x in enumerate(WORD_QKV["q"])]
    k = [
        [Value(x, label=f"k_{w}[{j}]") for j, x in enumerate(row)]
        for w, row in zip(words, WORD_QKV["k"])
    ]
    v = [
        [Value(x, label=f"v_{w}[{j}]") for j, x in enumerate(row)]
        for w, row in zip(words, WORD_QKV["v"])
    ]
    scores = [_sum([a * b for a, b in zip(q, key)]) / math.sqrt(2) for key in k]
    weights = _softmax(scores)
    for w, word in zip(weights, words):
        w.label = f"weight {word}"
    out = [_sum([w * row[j] for w, row in zip(weights, v)]) for j in range(2)]
    for j, o in enumerate(out):
        o.label = f"out[{j}]"
    loss = _sum([o * o for o in out])
    loss.label = "loss"
    loss.backward()
    return loss


def _sum(values):
    total = values[0]  # not sum(): it would start from a constant 0 node
    for value in values[1:]:
        total = total + value
    return total


def _softmax(row):
    exps = [s.exp() for s in row]
    total = _sum(exps)
    return [e / total for e in exps]


def multi_head_tensors():
    """nn.MultiHeadAttention(d_model=4, 2 heads, causal) on 4 words; loss = mean(y^2)."""
    rng = random.Random(0)
    mha = nn.MultiHeadAttention(d_model=4, num_heads=2, causal=True, rng=rng)
    x = Tensor([[round(rng.uniform(-1, 1), 2) for _ in range(4)] for _ in SENTENCE], label="x")
    with step_by_step():  # every step of attention its own op, to be drawn
        y = mha(x)  # (4, 4)
    loss = (y * y).mean().named("loss")
    loss.backward()
    return loss


# name -> {level: builder}; the first level is the example's own (what --level auto draws).
EXAMPLES = {
    "neuron": {"scalar": neuron_values, "tensor": neuron_tensors},
    "mlp": {"scalar": mlp_values, "tensor": mlp_tensors},
    "attention-word": {"scalar": attention_word_values, "tensor": attention_word_tensors},
    "attention-head": {"tensor": attention_head_tensors},
    "multi-head": {"tensor": multi_head_tensors},
}
