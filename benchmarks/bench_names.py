"""E. A training step on the microgpt configuration: our Tensor engine against a GPT of
scalar nodes (scalar_gpt.py), in tokens per second.

The model is the one `tinygrad-attn train --task names` trains: 26 letters and the boundary
(27 characters, plus the padding token our batches need), d_model 16, 4 heads, 1 layer,
context 16, a feed-forward part of 64. A step is forward, cross-entropy over every predicted
token, backward and an Adam update, on

* one name per step (as microgpt trains), the names taken in turn;
* a batch of 32 names (ours: one padded batch; the scalar GPT: the 32 names' mean loss,
  one backward, one update).

A token is one predicted position ("emma" is 5: e, m, m, a, and the end). Both engines
start from the same weights, and their loss and every gradient must agree before anything
is timed.
"""

from tinygrad_attn.optim import Adam
from tinygrad_attn.tasks import get_task
from tinygrad_attn.train import Config, loss_and_logits, make_model

from .scalar_gpt import ScalarGPT
from .timing import EnginesDisagree, compare, fmt_ms, fmt_x, markdown_table, speedup

TARGETS = {"one name": 40.0, "32 names": 60.0}  # ours at least this many times faster
TOLERANCE = 1e-9


def the_names(count):
    """`count` held-out names of the names task (seed 0): the same for both engines."""
    data = get_task("names").data(seed=0)
    return data.heldout[:count]


def ours(examples, per_step):
    """(step, model): each step trains on the next `per_step` examples, in turn."""
    model = make_model(Config(task="names"))
    optimizer = Adam(model.parameters(), lr=0.01)
    batches = [examples[i : i + per_step] for i in range(0, len(examples), per_step)]
    turn = [0]

    def step():
        batch = batches[turn[0] % len(batches)]
        turn[0] += 1
        loss, _, _ = loss_and_logits(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step, model


def scalar(examples, per_step, state):
    """The same for the scalar GPT, from the weights `state`."""
    gpt = ScalarGPT(state, num_heads=Config(task="names").num_heads, lr=0.01)
    sequences = [[*ex.tokens, ex.next[-1]] for ex in examples]  # input + the last target
    batches = [sequences[i : i + per_step] for i in range(0, len(sequences), per_step)]
    turn = [0]

    def step():
        batch = batches[turn[0] % len(batches)]
        turn[0] += 1
        return gpt.step(batch)

    return step, gpt


def check_same_step(examples):
    """One step from the same weights: the same loss and gradients, to TOLERANCE."""
    model = make_model(Config(task="names"))
    gpt = ScalarGPT(model.state_dict(), num_heads=model.blocks[0].attn.num_heads)
    loss, _, _ = loss_and_logits(model, examples)
    loss.backward()
    scalar_loss = gpt.loss([[*ex.tokens, ex.next[-1]] for ex in examples])
    scalar_loss.backward()
    ours_grads = [g for p in model.parameters() for g in p.grad.data]
    diff = max(
        abs(loss.item() - scalar_loss.data),
        *(abs(a - n.grad) for a, n in zip(ours_grads, gpt.params)),
    )
    if not diff <= TOLERANCE:
        raise EnginesDisagree(
            f"Tensor and scalar GPT disagree on the names step: max |difference| = {diff:.3g}"
        )
    return diff


def run(settings):
    """Tokens per second of a training step, ours against the scalar GPT, and the ratio."""
    count = 4 if settings.quick else 32
    examples = the_names(count)
    diff = check_same_step(examples[:count])
    notes = [f"Tensor and scalar GPT agree: loss and gradients within {diff:.1g}."]
    rows = []
    for label, per_step in (("one name", 1), (f"{count} names", count)):
        tokens = sum(len(ex.next) for ex in examples) / (len(examples) / per_step)
        model_step, model = ours(examples, per_step)
        gpt_step, _ = scalar(examples, per_step, model.state_dict())
        # the scalar GPT's batch step takes seconds: fewer, longer turns for it
        times = compare({"ours": model_step, "scalar": gpt_step}, settings)
        faster = speedup(times["scalar"], times["ours"])
        target = TARGETS.get(label if per_step == 1 else "32 names")
        rows.append(
            [
                f"{label} per step ({tokens:.1f} tokens)",
                f"{tokens / times['ours']:,.0f} tok/s ({fmt_ms(times['ours'])} ms)",
                f"{tokens / times['scalar']:,.0f} tok/s ({fmt_ms(times['scalar'])} ms)",
                f"{fmt_x(faster)} faster",
                f">= {target:g}x",
                settings.verdict(faster, target),
            ]
        )
    headers = ["training step", "Tensor engine", "scalar GPT (microgpt-style)", "ratio"]
    headers += ["target", "result"]
    title = (
        "E. Training step on the microgpt configuration (names: 27 characters, d_model 16, "
        "4 heads, 1 layer, context 16)"
    )
    return title, markdown_table(headers, rows), notes
