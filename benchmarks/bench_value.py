"""A. The scalar engine against micrograd: a training step of a small MLP, and bytes per node.

The MLP, its loss and its training step are written once, for any Value class, so both
engines run exactly the same Python code and build the same graph; only the Value differs.
"""

import random
import tracemalloc

from tinygrad_attn import Value

from .timing import EnginesDisagree, compare, fmt_ms, fmt_x, markdown_table, speedup

try:
    from micrograd.engine import Value as MicrogradValue
except ImportError:  # optional: its column then says so
    MicrogradValue = None

SPEED_TARGET = 1.5  # ours at least 1.5x faster per training step
MEMORY_TARGET = 0.25  # ours at most 0.25x micrograd's bytes per graph node


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


def check_same_step(numbers, points, labels):
    """One step from the same weights must give micrograd's loss and gradients (to 1e-9)."""
    ours, theirs = make_mlp(Value, numbers), make_mlp(MicrogradValue, numbers)
    a, b = train_step(ours, points, labels), train_step(theirs, points, labels)
    diff = max(
        abs(a - b), *(abs(p.grad - q.grad) for p, q in zip(parameters(ours), parameters(theirs)))
    )
    if not diff <= 1e-9:
        raise EnginesDisagree(
            f"Value and micrograd disagree on the MLP step: max |difference| = {diff:.3g}"
        )
    return diff


def run(settings):
    """ms per MLP training step and bytes per graph node, ours against micrograd."""
    sizes = [4, 1] if settings.quick else [16, 16, 1]
    n_points = 4 if settings.quick else 32
    numbers = mlp_numbers(2, sizes)
    points, labels = dataset(n_points)
    have_micrograd = MicrogradValue is not None
    notes = []
    if have_micrograd:
        diff = check_same_step(numbers, points, labels)
        notes.append(f"Value and micrograd agree: loss and gradients within {diff:.1g}.")
    else:
        notes.append("micrograd is not installed (`pip install micrograd`): its column is skipped.")

    engines = {"ours": _stepper(Value, numbers, points, labels)}
    if have_micrograd:
        engines["micrograd"] = _stepper(MicrogradValue, numbers, points, labels)
    times = compare(engines, settings)

    ours_bytes, ours_nodes = bytes_per_node(Value, count_ours, numbers, points, labels)
    mg_bytes = mg_nodes = None
    if have_micrograd:
        mg_bytes, mg_nodes = bytes_per_node(
            MicrogradValue, count_micrograd, numbers, points, labels
        )

    faster = speedup(times.get("micrograd"), times["ours"])
    memory = ours_bytes / mg_bytes if have_micrograd else None
    missing = "not installed"
    rows = [
        [
            "ms per training step",
            fmt_ms(times["ours"]),
            fmt_ms(times["micrograd"]) if have_micrograd else missing,
            f"{fmt_x(faster)} faster" if faster else "n/a",
            f">= {SPEED_TARGET}x faster",
            settings.verdict(faster, SPEED_TARGET),
        ],
        [
            "bytes per graph node (forward + loss graph, tracemalloc)",
            f"{ours_bytes:.0f} ({ours_nodes} nodes)",
            f"{mg_bytes:.0f} ({mg_nodes} nodes)" if have_micrograd else missing,
            f"{fmt_x(memory)} the bytes" if memory else "n/a",
            f"<= {MEMORY_TARGET}x",
            settings.verdict(memory, MEMORY_TARGET, at_least=False),
        ],
    ]
    headers = ["measure", "tinygrad_attn.Value", "micrograd", "ratio", "target", "result"]
    title = f"A. Scalar engine vs micrograd: MLP(2, {sizes}) training step on {n_points} points"
    return title, markdown_table(headers, rows), notes


def _stepper(value_cls, numbers, points, labels):
    layers = make_mlp(value_cls, numbers)
    return lambda: train_step(layers, points, labels)
