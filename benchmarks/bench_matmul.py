"""C. Matrix multiplication forward + backward on the Tensor engine, in multiply-adds per second.

C = A @ B with A, B (n, n), both requiring grad, then backward with a gradient of ones:

    forward   C  = A @ B        n^3 multiply-adds
    backward  dA = dC @ B^T     n^3
              dB = A^T @ dC     n^3

so one step is 3 n^3 multiply-adds. The bar is the fastest multiply-add loop plain Python
has, run over the same number of multiply-adds: `sum(map(operator.mul, a, b))` (the loop runs
in C) and, from Python 3.12, `math.sumprod`. Each is timed two ways:

* as the 3 n^2 dot products of length n that the three matmuls compute, on rows and columns
  sliced in advance (the engine has to slice them too): the fair comparison;
* as one dot product of two vectors of 3 n^3 numbers: no per-call cost at all. The vectors
  hold the matrices' own n^2 numbers repeated, so they read the same few numbers the matmul
  reads (they stay in the CPU cache); 3 n^3 distinct floats would be ~50 MB at n = 64 and
  the loop would measure memory speed instead, about 1.5x slower.
"""

import math
import random
from operator import mul

from tinygrad_attn import Tensor

from .timing import compare, fmt_ms, fmt_x, markdown_table

TARGET = 1.2  # the Tensor engine beats sum(map(mul)) on the same dot products by 1.2x
HAVE_SUMPROD = hasattr(math, "sumprod")


def tensor_step(n, Tensor=Tensor):
    """One matmul forward + backward: zero the gradients, C = A @ B, C.backward(ones)
    (with this checkout's Tensor, or another revision's)."""
    a = Tensor.randn(n, n, requires_grad=True, rng=1)
    b = Tensor.randn(n, n, requires_grad=True, rng=2)
    ones = Tensor.ones(n, n)

    def step():
        a.zero_grad()
        b.zero_grad()
        (a @ b).backward(ones)

    return step


def dot_products(n, dot):
    """3 n^2 dot products of length n (the three matmuls' worth), rows and columns ready."""
    rng = random.Random(3)
    rows = [[rng.random() for _ in range(n)] for _ in range(n)]
    cols = [[rng.random() for _ in range(n)] for _ in range(n)]

    def step():
        for _ in range(3):
            [dot(r, c) for r in rows for c in cols]

    return step


def long_vector(n, dot):
    """One dot product over two vectors of 3 n^3 numbers: two n x n matrices' numbers,
    each repeated 3n times."""
    rng = random.Random(4)
    a = [rng.random() for _ in range(n * n)] * (3 * n)
    b = [rng.random() for _ in range(n * n)] * (3 * n)
    return lambda: dot(a, b)


def sum_map(a, b):
    return sum(map(mul, a, b))


def written_out_vs_sum_map(settings):
    """How much faster the generated kernels (kernels.py) are than sum(map(mul)) on dot
    products of a few lengths: 16 rows times 16 columns of each."""
    from tinygrad_attn.kernels import dot_products as written_out

    rng = random.Random(5)
    ratios = []
    for n in (3, 8, 16, 32, 64):
        rows = [[rng.random() for _ in range(n)] for _ in range(16)]
        cols = [[rng.random() for _ in range(n)] for _ in range(16)]
        times = compare(
            {
                "written": lambda rows=rows, cols=cols: written_out(rows, cols),
                "map": lambda rows=rows, cols=cols: [sum_map(r, c) for r in rows for c in cols],
            },
            settings,
        )
        ratios.append(f"length {n}: {fmt_x(times['map'] / times['written'])}")
    return "Dot products written out (kernels.py) vs sum(map(mul)): " + ", ".join(ratios) + "."


def run(settings):
    """Multiply-adds per second: Tensor matmul forward+backward against plain-Python loops."""
    n = 8 if settings.quick else 64
    macs = 3 * n**3
    engines = {"tensor": tensor_step(n)}
    if settings.before:
        engines["tensor_before"] = tensor_step(n, settings.before.Tensor)
    engines["map_dots"] = dot_products(n, sum_map)
    engines["map_long"] = long_vector(n, sum_map)
    if HAVE_SUMPROD:
        engines["sumprod_dots"] = dot_products(n, math.sumprod)
        engines["sumprod_long"] = long_vector(n, math.sumprod)
    times = compare(engines, settings)
    rates = {name: macs / t for name, t in times.items()}

    labels = {
        "tensor_before": f"Tensor before ({settings.before_name}): A @ B, backward with ones",
        "tensor": f"Tensor: A @ B, backward with ones ({n}x{n})",
        "map_dots": f"sum(map(mul, a, b)): {3 * n * n:,} dot products of length {n}",
        "map_long": f"sum(map(mul, a, b)): one pair of vectors of {macs:,}",
        "sumprod_dots": f"math.sumprod: {3 * n * n:,} dot products of length {n}",
        "sumprod_long": f"math.sumprod: one pair of vectors of {macs:,}",
    }
    rows = []
    for name, label in labels.items():
        if name not in times:
            if name.startswith("sumprod"):
                rows.append([label, "n/a (Python < 3.12)", "", "", "", ""])
            continue
        share = rates[name] / rates["map_dots"]
        target = f">= {TARGET:g}x" if name == "tensor" else ""
        result = settings.verdict(share, TARGET) if name == "tensor" else ""
        rows.append(
            [label, fmt_ms(times[name]), f"{rates[name] / 1e6:.1f}", fmt_x(share), target, result]
        )
    headers = [
        "engine",
        "ms",
        "million multiply-adds/s",
        "rate vs sum(map(mul)) on the same dot products",
        "target",
        "result",
    ]
    title = f"C. {n}x{n} matmul forward + backward ({macs:,} multiply-adds) vs plain-Python loops"
    notes = [
        f"The Tensor engine reaches {fmt_x(rates['tensor'] / rates['map_long'])} the rate of "
        f"sum(map(mul, ...)) over one pair of {macs:,}-long vectors (no cost per call at all).",
        written_out_vs_sum_map(settings),
    ]
    return title, markdown_table(headers, rows), notes
