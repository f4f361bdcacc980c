"""D. The fused Tensor.softmax against the same softmax composed from primitives.

`Tensor.softmax` is one op with its own backward; `Tensor._softmax_composed` builds it from
max, -, exp, sum and / (five ops, five backward functions) and is the checked reference.
The fused op is worth its extra code only if it is faster: this measures by how much.
"""

from tinygrad_attn import Tensor

from .timing import EnginesDisagree, compare, fmt_ms, fmt_x, markdown_table, speedup

SHAPES = [(4, 16, 16), (64, 64)]
QUICK_SHAPES = [(2, 3, 3), (4, 4)]
TARGET = 1.0  # fused faster than composed
TOLERANCE = 1e-12


def softmax_step(shape, softmax, Tensor=Tensor):
    """(step, x): step() runs softmax(x) forward and backward with a fixed random gradient."""
    x = Tensor.randn(*shape, requires_grad=True, rng=5)
    g = Tensor.randn(*shape, rng=6)  # a gradient of ones would give zero: rows sum to 1

    def step():
        x.zero_grad()
        softmax(x).backward(g)

    return step, x


def check_agreement(shape, steps):
    """Every form must give the same gradient for the same input and output gradient."""
    grads = []
    for step, x in steps.values():
        step()
        grads.append(x.grad.data)
    diff = max(abs(a - b) for other in grads[1:] for a, b in zip(grads[0], other))
    if not diff <= TOLERANCE:
        raise EnginesDisagree(
            f"softmax {shape}: fused and composed gradients differ by {diff:.3g} "
            f"(tolerance {TOLERANCE:g})"
        )
    return diff


def run(settings):
    """ms per softmax forward+backward, fused op against the composed reference."""
    rows, notes = [], []
    for shape in QUICK_SHAPES if settings.quick else SHAPES:
        steps = {
            "fused": softmax_step(shape, lambda x: x.softmax(-1)),
            "composed": softmax_step(shape, lambda x: x._softmax_composed(-1)),
        }
        if settings.before:
            Before = settings.before.Tensor
            steps["fused_before"] = softmax_step(shape, lambda x: x.softmax(-1), Before)
        diff = check_agreement(shape, steps)
        notes.append(f"{shape}: fused and composed gradients agree (max difference {diff:.1g}).")
        times = compare({name: step for name, (step, _) in steps.items()}, settings)
        ratio = speedup(times["composed"], times["fused"])
        row = [str(shape), fmt_ms(times["fused"]), fmt_ms(times["composed"])]
        if settings.before:
            row.insert(1, fmt_ms(times["fused_before"]))
        rows.append(
            row + [f"{fmt_x(ratio)} faster", f">= {TARGET:g}x", settings.verdict(ratio, TARGET)]
        )
    headers = ["shape", "fused ms", "composed ms", "fused vs composed", "target", "result"]
    if settings.before:
        headers.insert(1, f"fused ms before ({settings.before_name})")
    title = "D. softmax(axis=-1) forward + backward: fused op vs composed from primitives"
    return title, markdown_table(headers, rows), notes
