"""B. One causal multi-head self-attention layer, forward + backward, on every engine.

    q, k, v = x W_q, x W_k, x W_v       split into heads of d_head = d_model / heads columns
    y       = concat_heads(softmax(mask(q k^T / sqrt(d_head))) v) W_o
    loss    = mean(y * y)

x is data (no gradient); the four W are parameters. Every engine starts from the same numbers
and must give the same loss and the same four gradients before any of them is timed.
"""

import importlib
import math
import warnings

import tinygrad_attn
from tinygrad_attn import Tensor, Value
from tinygrad_attn.nn import MultiHeadAttention

from .attention_by_hand import attention_loss_and_grads
from .timing import EnginesDisagree, compare, fmt_ms, fmt_x, markdown_table, speedup

try:
    with warnings.catch_warnings():  # torch without numpy warns on import; it needs none here
        warnings.simplefilter("ignore")
        import torch
except ImportError:  # optional: its rows then say so
    torch = None

SIZES = [(4, 3, 1), (16, 16, 4), (32, 32, 4)]  # (T, d_model, heads)
QUICK_SIZES = [(4, 3, 1), (5, 4, 2)]
# (size, our engine) -> [(engine it is compared with, the speed-up it must reach)]. At the
# explanation's size like is compared with like: our layer module with a PyTorch module of
# four nn.Linear, and our functional form with the same ops in PyTorch; at every size, with
# the layer written out by hand in plain Python (attention_by_hand.py).
TARGETS = {
    ((4, 3, 1), "mha"): [("torch_module", 1.5), ("by_hand", 0.8)],
    ((4, 3, 1), "functional"): [("torch", 1.5), ("by_hand", 0.8)],
    ((16, 16, 4), "mha"): [("by_hand", 1.4)],
    ((16, 16, 4), "functional"): [("by_hand", 1.4)],
    ((32, 32, 4), "mha"): [("by_hand", 1.4)],
    ((32, 32, 4), "functional"): [("by_hand", 1.4)],
}
NAMES = {
    "value": "Value (scalar engine)",
    "mha_before": "Tensor before: nn.MultiHeadAttention",
    "functional_before": "Tensor before: functional",
    "mha": "Tensor: nn.MultiHeadAttention",
    "mha_steps": "Tensor: nn.MultiHeadAttention inside step_by_step()",
    "functional": "Tensor: functional",
    "by_hand": "pure Python fused by hand",
    "torch_module": "PyTorch eager, nn.Module of 4 nn.Linear",
    "torch": "PyTorch eager, functional",
}
TOLERANCE = 1e-9


# ---------------------------------------------------------------------- the engines
# Each `*_engine` returns (step, grads): step() zeroes the gradients, runs forward and
# backward and returns the loss; grads() gives [dW_q, dW_k, dW_v, dW_o] as flat lists.


def value_engine(x, weights, heads):
    """The layer on the scalar engine, as its user would write it: one Value per number."""
    w = [[[Value(n) for n in row] for row in m] for m in weights]
    params = [p for m in w for row in m for p in row]

    def step():
        for p in params:
            p.grad = 0.0
        loss = value_attention_loss(x, *w, heads)
        loss.backward()
        return loss.data

    return step, lambda: [[p.grad for row in m for p in row] for m in w]


def value_attention_loss(x, w_q, w_k, w_v, w_o, heads):
    """mean(y*y) of the layer, built from Values: matmuls are sums of products."""
    T, d_model = len(x), len(x[0])
    d_head = d_model // heads
    q, k, v = value_matmul(x, w_q), value_matmul(x, w_k), value_matmul(x, w_v)
    concat = [[] for _ in range(T)]  # (T, d_model): the heads side by side
    for h in range(heads):
        cols = range(h * d_head, (h + 1) * d_head)
        for t in range(T):
            # the full row of scores; a later word s > t is masked with -inf (weight 0)
            scores = [
                sum(q[t][c] * k[s][c] for c in cols) / math.sqrt(d_head)
                if s <= t
                else Value(-math.inf)
                for s in range(T)
            ]
            weights = value_softmax(scores)
            concat[t] += [sum(weights[s] * v[s][c] for s in range(T)) for c in cols]
    y = value_matmul(concat, w_o)
    return sum(yi * yi for row in y for yi in row) / (T * d_model)


def value_matmul(a, b):
    cols = list(zip(*b))
    return [[sum(ai * bi for ai, bi in zip(row, col)) for col in cols] for row in a]


def value_softmax(row):
    top = max(s.data for s in row)  # a constant: subtracting it changes nothing but overflow
    e = [(s - top).exp() for s in row]
    total = sum(e)
    return [ei / total for ei in e]


def mha_engine(x, weights, heads, package=tinygrad_attn):
    """The library's layer: nn.MultiHeadAttention(causal=True) with these weights (of this
    checkout, or of `package`, the package at another revision)."""
    d_model = len(x[0])
    mha = _module(package, "nn").MultiHeadAttention(d_model, heads, causal=True)
    mha.load_state_dict(dict(zip(_WEIGHT_NAMES, weights)))
    x = package.Tensor(x)

    def step():
        mha.zero_grad()
        y = mha(x)  # (T, d_model)
        loss = (y * y).mean()
        loss.backward()
        return loss.item()

    layers = (mha.w_q, mha.w_k, mha.w_v, mha.w_o)
    return step, lambda: [layer.weight.grad.data for layer in layers]


_WEIGHT_NAMES = ("w_q.weight", "w_k.weight", "w_v.weight", "w_o.weight")


def functional_engine(x, weights, heads, package=tinygrad_attn):
    """The same layer from tensor ops and F.scaled_dot_product_attention, no module."""
    T, d_model = len(x), len(x[0])
    d_head = d_model // heads
    F = _module(package, "functional")
    w_q, w_k, w_v, w_o = ws = [package.Tensor(m, requires_grad=True) for m in weights]
    x = package.Tensor(x)

    def split_heads(t):  # (T, d_model) -> (T, heads, d_head) -> (heads, T, d_head)
        return t.reshape(T, heads, d_head).transpose(0, 1)

    def step():
        for w in ws:
            w.zero_grad()
        q, k, v = split_heads(x @ w_q), split_heads(x @ w_k), split_heads(x @ w_v)
        out, _ = F.scaled_dot_product_attention(q, k, v, causal=True)  # (heads, T, d_head)
        concat = out.transpose(0, 1).reshape(T, d_model)  # (T, d_model)
        y = concat @ w_o
        loss = (y * y).mean()
        loss.backward()
        return loss.item()

    return step, lambda: [w.grad.data for w in ws]


def by_hand_engine(x, weights, heads):
    """Forward and backward written out in plain Python (attention_by_hand.py)."""
    result = {}

    def step():
        result["loss"], result["grads"] = attention_loss_and_grads(x, *weights, heads)
        return result["loss"]

    return step, lambda: [[g for row in m for g in row] for m in result["grads"]]


def torch_engine(x, weights, heads):
    """The same layer in PyTorch ops, eager, on the CPU in float64 with one thread."""
    torch.set_num_threads(1)
    T, d_model = len(x), len(x[0])
    d_head = d_model // heads
    w_q, w_k, w_v, w_o = ws = [
        torch.tensor(m, dtype=torch.float64, requires_grad=True) for m in weights
    ]
    x = torch.tensor(x, dtype=torch.float64)
    blocked = torch.ones(T, T, dtype=torch.bool).triu(1)  # True above the diagonal: later words

    def split_heads(t):  # (T, d_model) -> (heads, T, d_head)
        return t.view(T, heads, d_head).transpose(0, 1)

    def step():
        for w in ws:
            w.grad = None
        q, k, v = split_heads(x @ w_q), split_heads(x @ w_k), split_heads(x @ w_v)
        scores = q @ k.transpose(-2, -1) / math.sqrt(d_head)  # (heads, T, T)
        weights = scores.masked_fill(blocked, -math.inf).softmax(-1)
        concat = (weights @ v).transpose(0, 1).reshape(T, d_model)
        y = concat @ w_o
        loss = (y * y).mean()
        loss.backward()
        return loss.item()

    return step, lambda: [w.grad.flatten().tolist() for w in ws]


def torch_module_engine(x, weights, heads):
    """PyTorch's module form of the layer: four nn.Linear(bias=False) in an nn.Module, the
    same attention ops inside, module.zero_grad() per step."""
    torch.set_num_threads(1)
    T, d_model = len(x), len(x[0])
    d_head = d_model // heads
    blocked = torch.ones(T, T, dtype=torch.bool).triu(1)

    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w_q, self.w_k, self.w_v, self.w_o = (
                torch.nn.Linear(d_model, d_model, bias=False, dtype=torch.float64) for _ in range(4)
            )

        def forward(self, x):
            def split_heads(t):  # (T, d_model) -> (heads, T, d_head)
                return t.view(T, heads, d_head).transpose(0, 1)

            q, k, v = split_heads(self.w_q(x)), split_heads(self.w_k(x)), split_heads(self.w_v(x))
            scores = q @ k.transpose(-2, -1) / math.sqrt(d_head)
            weights = scores.masked_fill(blocked, -math.inf).softmax(-1)
            return self.w_o((weights @ v).transpose(0, 1).reshape(T, d_model))

    layer = Layer()
    linears = (layer.w_q, layer.w_k, layer.w_v, layer.w_o)
    with torch.no_grad():  # nn.Linear keeps W transposed: (out, in)
        for linear, m in zip(linears, weights):
            linear.weight.copy_(torch.tensor(m, dtype=torch.float64).T)
    x = torch.tensor(x, dtype=torch.float64)

    def step():
        layer.zero_grad()
        y = layer(x)
        loss = (y * y).mean()
        loss.backward()
        return loss.item()

    return step, lambda: [linear.weight.grad.T.flatten().tolist() for linear in linears]


def mha_steps_engine(x, weights, heads):
    """The library's layer taking every step of attention as an op of its own (what graph
    pictures draw): the measure of what the attention core as one op buys."""
    step, grads = mha_engine(x, weights, heads)

    def step_by_step_step():
        with tinygrad_attn.step_by_step():
            return step()

    return step_by_step_step, grads


def _module(package, name):
    return importlib.import_module(f"{package.__name__}.{name}")


ENGINES = {
    "value": value_engine,
    "mha": mha_engine,
    "mha_steps": mha_steps_engine,
    "functional": functional_engine,
    "by_hand": by_hand_engine,
    "torch_module": torch_module_engine,
    "torch": torch_engine,
}


# ---------------------------------------------------------------------- the benchmark


def layer_numbers(T, d_model, heads, seed=0):
    """x and the four weight matrices as lists of rows: the library's own initialisation."""
    mha = MultiHeadAttention(d_model, heads, causal=True, rng=seed)
    x = Tensor.randn(T, d_model, rng=seed + 1).tolist()
    return x, [layer.weight.tolist() for layer in (mha.w_q, mha.w_k, mha.w_v, mha.w_o)]


def check_agreement(size, steps):
    """Run one step of every engine; all losses and gradients must match the first engine's.
    Returns the largest difference seen."""
    results = {}
    for name, (step, grads) in steps.items():
        loss = step()
        results[name] = [loss] + [g for m in grads() for g in m]
    ref_name, ref = next(iter(results.items()))
    worst = 0.0
    for name, numbers in results.items():
        diff = max(abs(a - b) / max(1.0, abs(b)) for a, b in zip(numbers, ref))
        if not diff <= TOLERANCE:
            raise EnginesDisagree(
                f"attention {size}: {NAMES[name]} and {NAMES[ref_name]} disagree on the loss "
                f"or the gradients: max difference {diff:.3g} (tolerance {TOLERANCE:g})"
            )
        worst = max(worst, diff)
    return worst


def run(settings):
    """ms per forward+backward step of the attention layer, every engine side by side."""
    rows, notes = [], []
    if torch is None:
        notes.append("PyTorch is not installed: its rows say so (`pip install torch`).")
    for size in QUICK_SIZES if settings.quick else SIZES:
        x, weights = layer_numbers(*size)
        heads = size[2]
        steps = {
            name: make(x, weights, heads)
            for name, make in ENGINES.items()
            if not name.startswith("torch") or torch is not None
        }
        if settings.before:
            steps["mha_before"] = mha_engine(x, weights, heads, settings.before)
            steps["functional_before"] = functional_engine(x, weights, heads, settings.before)
        worst = check_agreement(size, steps)
        notes.append(
            f"{size}: all {len(steps)} engines agree on the loss and the gradients of W_q, W_k, "
            f"W_v, W_o (max relative difference {worst:.1g})."
        )
        times = compare({name: step for name, (step, _) in steps.items()}, settings)
        rows += _rows(size, times, settings)
    headers = [
        "(T, d_model, heads)",
        "engine",
        "ms per step",
        "speed vs by hand",
        "speed vs PyTorch (same form)",
        "target",
        "result",
    ]
    title = "B. Causal multi-head self-attention layer, forward + backward"
    return title, markdown_table(headers, rows), notes


def _rows(size, times, settings):
    rows = []
    for name in NAMES:
        if name not in times and name.endswith("_before"):
            continue  # --before none
        t = times.get(name)
        same_form = "torch_module" if name.startswith("mha") else "torch"
        goals = TARGETS.get((size, name), [])
        targets = [f">= {goal:g}x vs {_SHORT[against]}" for against, goal in goals]
        results = [
            settings.verdict(speedup(times.get(against), t), goal) for against, goal in goals
        ]
        rows.append(
            [
                str(size),
                NAMES[name],
                fmt_ms(t) if t is not None else "not installed",
                fmt_x(speedup(times["by_hand"], t)),
                fmt_x(speedup(times.get(same_form), t)),
                "; ".join(targets),
                ", ".join(results),
            ]
        )
    return rows


_SHORT = {"by_hand": "by hand", "torch": "PyTorch", "torch_module": "PyTorch module"}
