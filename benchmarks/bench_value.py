"""A. The scalar engine against micrograd: a training step of a small MLP, and bytes per node.

The MLP, its loss and its training step are written once, for any Value class, so both
engines run exactly the same Python code and build the same graph; only the Value differs.
"""

import random
import tracemalloc

from tinygrad_attn import Value

from .timing import EnginesDisagree, compare, fmt_ms, fmt_x, markdown_table

try:
    from micrograd.engine import Value as MicrogradValue
except ImportError:  # optional: its column then says so
    MicrogradValue = None

SPEED_TARGET = 8.0  # ours at least 8x faster per training step
MEMORY_TARGET = 0.2  # ours at most 0.2x micrograd's bytes per graph node


# ---------------------------------------------------------------------- the model, for any Value


def mlp_numbers(n_in, sizes, seed=0):
    """Initial weights as plain numbers: per layer, per neuron, (weights, bias)."""
    rng = random.Random(seed)
    layers, fan_in = [], n_in
    for n_out in sizes:
        layers.append([([rng.uniform(-1, 1) for _ in range(fan_in)], 0.0) for _ in range(n_out)])
        fan_in = n_out
    return layers


def make_mlp(value_cls, numbers):
    """The MLP's layers as Values of `value_cls`: [[(weights, bias) per neuron] per layer]."""
    return [[([value_cls(w) for w in ws], value_cls(b)) for ws, b in layer] for layer in numbers]


def parameters(layers):
    return [p for layer in layers for ws, b in layer for p in (*ws, b)]


def mlp_forward(layers, x):
    """micrograd's MLP: each neuron is sum(w_i * x_i) + b, relu on hidden layers only."""
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        out = []
        for ws, b in layer:
            act = sum((wi * xi for wi, xi in zip(ws, x)), b)
            out.append(act if last else act.relu())
        x = out
    return x[0]


def max_margin_loss(layers, points, labels, alpha=1e-4):
    """micrograd demo's loss: mean of relu(1 - y * score) plus an L2 penalty on the weights."""
    scores = [mlp_forward(layers, x) for x in points]
    losses = [(1 + -y * s).relu() for y, s in zip(labels, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = alpha * sum(p * p for p in parameters(layers))
    return data_loss + reg_loss


def train_step(layers, points, labels, lr=0.01):
    """Forward on every point, loss, zero grads, backward, SGD update. Returns the loss."""
    loss = max_margin_loss(layers, points, labels)
    params = parameters(layers)
    for p in params:
        p.grad = 0.0
    loss.backward()
    for p in params:
        p.data -= lr * p.grad
    return loss.data


def dataset(n_points, seed=1):
    """Points in the square [-1, 1]^2, labelled +1 or -1 by the quadrant they fall in."""
    rng = random.Random(seed)
    points = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in range(n_points)]
    labels = [1.0 if x * y > 0 else -1.0 for x, y in points]
    return points, labels


# ---------------------------------------------------------------------- counting graph nodes


def count_ours(loss):
    """Distinct nodes reachable from the loss, as our engine lists them."""
    return len(loss.topological_order())


def count_micrograd(loss):
    """Distinct nodes reachable from the loss, following micrograd's `_prev` sets."""
    seen, stack = {loss}, [loss]
    while stack:
        for child in stack.pop()._prev:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return len(seen)


def bytes_per_node(value_cls, count_nodes, numbers, points, labels):
    """Traced bytes to build the model and the forward+loss graph, divided by its nodes."""
    tracemalloc.start()
    try:
        layers = make_mlp(value_cls, numbers)
        loss = max_margin_loss(layers, points, labels)
        traced, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    nodes = count_nodes(loss)
    return traced / nodes, nodes


# ---------------------------------------------------------------------- the benchmark


def check_same_step(value_classes, numbers, points, labels):
    """One step from the same weights must give the same loss and gradients (to 1e-9) on
    every engine."""
    first, *others = value_classes
    ours = make_mlp(first, numbers)
    loss = train_step(ours, points, labels)
    worst = 0.0
    for cls in others:
        theirs = make_mlp(cls, numbers)
        other_loss = train_step(theirs, points, labels)
        pairs = zip(parameters(ours), parameters(theirs))
        diff = max(abs(loss - other_loss), *(abs(p.grad - q.grad) for p, q in pairs))
        if not diff <= 1e-9:
            raise EnginesDisagree(
                f"Value and {cls.__module__} disagree on the MLP step: max |difference| = "
                f"{diff:.3g}"
            )
        worst = max(worst, diff)
    return worst


def run(settings):
    """ms per MLP training step and bytes per graph node, ours against micrograd (and the
    package before, with --before)."""
    sizes = [4, 1] if settings.quick else [16, 16, 1]
    n_points = 4 if settings.quick else 32
    numbers = mlp_numbers(2, sizes)
    points, labels = dataset(n_points)
    classes = {"ours": Value}
    if settings.before:
        classes["before"] = settings.before.Value
    if MicrogradValue is not None:
        classes["micrograd"] = MicrogradValue
    notes = []
    diff = check_same_step(list(classes.values()), numbers, points, labels)
    if len(classes) > 1:
        notes.append(f"All {len(classes)} engines agree: loss and gradients within {diff:.1g}.")
    if MicrogradValue is None:
        notes.append("micrograd is not installed (`pip install micrograd`): its column is skipped.")

    engines = {name: _stepper(cls, numbers, points, labels) for name, cls in classes.items()}
    times = compare(engines, settings)
    counters = {"micrograd": count_micrograd}
    memory = {
        name: bytes_per_node(cls, counters.get(name, count_ours), numbers, points, labels)
        for name, cls in classes.items()
    }

    def ratios(measure, higher_is_better):
        """'x (before) -> y' of ours against micrograd, for each engine present."""
        if "micrograd" not in measure:
            return "n/a", None
        ratio = {
            name: (
                measure["micrograd"] / measure[name]
                if higher_is_better
                else measure[name] / measure["micrograd"]
            )
            for name in ("before", "ours")
            if name in measure
        }
        text = " -> ".join(fmt_x(ratio[name]) for name in ("before", "ours") if name in ratio)
        return text, ratio["ours"]

    speed_text, faster = ratios(times, True)
    bytes_only = {name: b for name, (b, _) in memory.items()}
    memory_text, smaller = ratios(bytes_only, False)
    missing = "not installed"

    def cells(values, fmt):
        out = [fmt(values["ours"])]
        if settings.before:
            out.insert(0, fmt(values["before"]))
        out.append(fmt(values["micrograd"]) if "micrograd" in values else missing)
        return out

    rows = [
        [
            "ms per training step",
            *cells(times, fmt_ms),
            f"{speed_text} faster",
            f">= {SPEED_TARGET:g}x faster",
            settings.verdict(faster, SPEED_TARGET),
        ],
        [
            "bytes per graph node (forward + loss graph, tracemalloc)",
            *cells(memory, lambda m: f"{m[0]:.0f} ({m[1]} nodes)"),
            f"{memory_text} the bytes",
            f"<= {MEMORY_TARGET:g}x",
            settings.verdict(smaller, MEMORY_TARGET, at_least=False),
        ],
    ]
    headers = ["measure"]
    if settings.before:
        headers.append(f"Value before ({settings.before_name})")
    headers += ["tinygrad_attn.Value", "micrograd", "ours vs micrograd (before -> now)"]
    headers += ["target", "result"]
    title = f"A. Scalar engine vs micrograd: MLP(2, {sizes}) training step on {n_points} points"
    return title, markdown_table(headers, rows), notes


def _stepper(value_cls, numbers, points, labels):
    layers = make_mlp(value_cls, numbers)
    return lambda: train_step(layers, points, labels)
