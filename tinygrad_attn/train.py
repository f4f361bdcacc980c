"""Watching attention being learned: train a tiny transformer on a toy task, and score it.

At the start, W^Q and W^K are random, so the scores q . k are noise and every row of the
attention weights is a blur. The task (tasks.py) needs each answering word to look at one
particular earlier word, and we know which. Training is the usual loop:

    logits = model(tokens)                          # (B, T, vocab)
    loss   = cross_entropy(logits at the positions that count, targets)
    loss.backward(); adam.step()                    # every weight moves a little downhill

The gradient reaches W^Q and W^K through the softmax: when the value of the right word would
lower the loss, its score is pushed up, and the others' down. Two numbers measure the result
on held-out sequences:

* task accuracy: how often the largest logit is the right answer;
* attention accuracy: the share of the attention weights that lands on the key position the
  task requires, averaged over every counted position, for the best head (over all layers and
  heads): 1.0 means that head looks exactly where it should.

`run_training(Config())` does it all and returns a `Run`; `training_figures(run)` draws it.
"""

import math
import os
import time
from dataclasses import dataclass, field

from . import functional as F
from .autograd import no_grad
from .nn import TinyTransformer
from .optim import Adam
from .tasks import DEFAULT_TASK, Data, get_task
from .viz.figures import heatmap_svg, line_chart_svg, write_svg

__all__ = [
    "Config",
    "Evaluation",
    "History",
    "Run",
    "make_model",
    "loss_and_logits",
    "task_accuracy",
    "attention_accuracy",
    "evaluate",
    "train",
    "run_training",
    "attention_of",
    "format_attention",
    "results",
    "training_figures",
    "write_figures",
]


@dataclass(frozen=True)
class Config:
    """Everything that decides a run; the defaults are what `tinygrad-attn train` uses.

    An attention-only model (`d_hidden=0` in every block), one layer, one head: the smallest
    model that can do the tasks, so pure Python trains it in seconds. (With two heads the
    tasks are learned as fast, but the heads may share the work, and then neither looks
    only at the key.)
    """

    task: str = DEFAULT_TASK
    steps: int = 200
    seed: int = 0
    batch_size: int = 32
    lr: float = 0.02
    d_model: int = 16
    num_heads: int = 1
    num_layers: int = 1
    heldout_size: int = 200

    def __post_init__(self):
        get_task(self.task)  # an unknown task: ValueError naming the known ones
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"Config: seed must be an int, got {self.seed!r}")
        for name in ("steps", "batch_size", "heldout_size", "d_model", "num_heads", "num_layers"):
            n, low = getattr(self, name), 0 if name == "steps" else 1
            if isinstance(n, bool) or not isinstance(n, int) or n < low:
                raise ValueError(f"Config: {name} must be an int >= {low}, got {n!r}")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)):
            raise TypeError(f"Config: lr must be a number, got {self.lr!r}")
        if not 0.0 < self.lr < math.inf:
            raise ValueError(f"Config: lr must be finite and > 0, got {self.lr}")


@dataclass
class Evaluation:
    """Scores on a set of examples (see the module docstring)."""

    loss: float
    task_accuracy: float
    attention_accuracy: float  # the best head's share of attention on the key positions
    best_head: tuple  # (layer, head) of that head, as list indices (shown to people from 1)
    per_head: dict = field(default_factory=dict)  # (layer, head) -> its share


@dataclass
class History:
    """One entry per training step, measured on that step's batch."""

    loss: list = field(default_factory=list)
    task_accuracy: list = field(default_factory=list)
    attention_accuracy: list = field(default_factory=list)


@dataclass
class Run:
    """A finished run: the model, its scores before and after, and the example we drew."""

    config: Config
    model: TinyTransformer
    data: Data
    before: Evaluation
    after: Evaluation
    history: History
    attention_before: list  # [layer][head] -> (T, T) weights on data.heldout[0], untrained
    attention_after: list  # the same after training
    seconds: float


# ---------------------------------------------------------------------- the model


def make_model(config):
    """The TinyTransformer for `config`: sized by its task, seeded by its seed.

    >>> make_model(Config()).blocks[0].attn.num_heads
    1
    """
    task = get_task(config.task)
    return TinyTransformer(
        vocab_size=len(task.vocab),
        d_model=config.d_model,
        num_heads=config.num_heads,
        num_layers=config.num_layers,
        max_len=task.seq_len,
        d_hidden=0,  # attention only: every answer has to come through attention
        causal=True,  # a word sees only itself and the words before it
        rng=config.seed,
    )


# ---------------------------------------------------------------------- measuring


def loss_and_logits(model, examples):
    """Run the model on a batch; return (loss, logits, targets) for the positions that count.

    `logits` has one row per counted position: shape (N, vocab), N = the number of counted
    positions in the batch.
    """
    if not examples:
        raise ValueError("no examples: give at least one (e.g. data.batch(8) or data.heldout)")
    tokens = [list(ex.tokens) for ex in examples]
    out = model(tokens)  # (B, T, vocab)
    B, T, vocab = out.shape
    rows = [b * T + p for b, ex in enumerate(examples) for p in ex.positions]
    logits = out.reshape(B * T, vocab)[rows]  # (N, vocab): only the positions that count
    targets = [t for ex in examples for t in ex.targets]
    return F.cross_entropy(logits, targets), logits, targets


def task_accuracy(logits, targets):
    """The fraction of rows whose largest logit is the target.

    >>> from tinygrad_attn import Tensor
    >>> task_accuracy(Tensor([[2.0, 1.0], [0.0, 3.0]]), [0, 0])
    0.5
    """
    if not targets or len(logits.data) != len(targets) * logits.shape[-1]:
        raise ValueError(
            f"task_accuracy: {len(targets)} targets for logits of shape {logits.shape}; give "
            f"one target per row (and at least one)"
        )
    vocab = logits.shape[-1]
    right = 0
    for i, target in enumerate(targets):
        row = logits.data[i * vocab : (i + 1) * vocab]
        right += row.index(max(row)) == target
    return right / len(targets)


def attention_accuracy(maps, examples):
    """The share of attention on the required key positions, for every (layer, head).

    `maps` is `model.attention_maps()` after running the model on `examples`: one tensor per
    layer, shape (B, heads, T, T). Returns {(layer, head): the weight on the key, averaged over
    every counted position of every example}.

    >>> from tinygrad_attn import Tensor
    >>> from tinygrad_attn.tasks import Example
    >>> ex = Example(tokens=(0, 1), positions=(1,), targets=(0,), keys=(0,))
    >>> weights = Tensor([[[[1.0, 0.0], [0.75, 0.25]]]])       # (B=1, heads=1, T=2, T=2)
    >>> attention_accuracy([weights], [ex])
    {(0, 0): 0.75}
    """
    shares = {}
    count = sum(len(ex.positions) for ex in examples)
    if not count:
        raise ValueError("attention_accuracy: the examples have no positions that count")
    for layer, weights in enumerate(maps):
        B, heads, T, _ = weights.shape
        w = weights.data
        for head in range(heads):
            total = 0.0
            for b, ex in enumerate(examples):
                for p, key in zip(ex.positions, ex.keys):
                    total += w[((b * heads + head) * T + p) * T + key]  # weights[b, head, p, key]
            shares[layer, head] = total / count
    return shares


def evaluate(model, examples):
    """Loss, task accuracy and attention accuracy on `examples` (no graph is recorded).

    >>> config = Config(task="lag")
    >>> data = Data(get_task("lag"), seed=0, heldout_size=4)
    >>> score = evaluate(make_model(config), data.heldout)
    >>> 0.0 <= score.task_accuracy <= 1.0 and 0.0 <= score.attention_accuracy <= 1.0
    True
    """
    with no_grad():
        loss, logits, targets = loss_and_logits(model, examples)
        shares = attention_accuracy(model.attention_maps(), examples)
    best = max(shares, key=shares.get)  # the first best head if two tie
    return Evaluation(
        loss=loss.item(),
        task_accuracy=task_accuracy(logits, targets),
        attention_accuracy=shares[best],
        best_head=best,
        per_head=shares,
    )


def attention_of(model, example):
    """The attention weights of every layer and head on one example: [layer][head] -> (T, T)
    nested lists, rows = query positions, columns = key positions."""
    with no_grad():
        model([list(example.tokens)])
    return [weights.tolist()[0] for weights in model.attention_maps()]  # drop the batch axis


# ---------------------------------------------------------------------- training


def train(model, data, steps, lr, batch_size, on_step=None):
    """Adam on fresh batches from `data` for `steps` steps; returns the History.

    `on_step(step, history)` is called after every step (step counts from 1), e.g. to draw a
    progress bar.
    """
    optimizer = Adam(model.parameters(), lr=lr)
    history = History()
    for step in range(1, steps + 1):
        batch = data.batch(batch_size)
        loss, logits, targets = loss_and_logits(model, batch)
        optimizer.zero_grad()
        loss.backward()  # the gradient reaches W^Q and W^K through the softmax
        optimizer.step()
        shares = attention_accuracy(model.attention_maps(), batch)
        history.loss.append(loss.item())
        history.task_accuracy.append(task_accuracy(logits, targets))
        history.attention_accuracy.append(max(shares.values()))
        if on_step is not None:
            on_step(step, history)
    return history


def run_training(config=None, model=None, on_step=None):
    """Make the data (and the model, unless one is given, e.g. loaded from a file), score it,
    train it for `config.steps` steps (0 = only evaluate), and score it again.

    >>> run = run_training(Config(task="lag", steps=2, heldout_size=4))
    >>> len(run.history.loss), run.after.best_head in run.after.per_head
    (2, True)
    """
    start = time.perf_counter()
    config = Config() if config is None else config
    if not isinstance(config, Config):
        raise TypeError(f"config must be a Config, got {type(config).__name__}: Config(task=...)")
    task = get_task(config.task)
    model = make_model(config) if model is None else model
    data = Data(task, seed=config.seed, heldout_size=config.heldout_size)
    shown = data.heldout[0]  # the example whose attention we draw before and after
    attention_before = attention_of(model, shown)
    before = evaluate(model, data.heldout)
    history = train(model, data, config.steps, config.lr, config.batch_size, on_step)
    after = evaluate(model, data.heldout) if config.steps else before
    attention_after = attention_of(model, shown)
    return Run(
        config=config,
        model=model,
        data=data,
        before=before,
        after=after,
        history=history,
        attention_before=attention_before,
        attention_after=attention_after,
        seconds=time.perf_counter() - start,
    )


def results(run):
    """The run's numbers as a dict, ready for JSON: the held-out loss and accuracies after
    training, the number of steps and the seconds it took."""
    return {
        "final_loss": run.after.loss,
        "task_accuracy": run.after.task_accuracy,
        "attention_accuracy": run.after.attention_accuracy,
        "steps": run.config.steps,
        "seconds": round(run.seconds, 3),
    }


# ---------------------------------------------------------------------- showing it


def format_attention(weights, words):
    """A (T, T) attention matrix as a text table: rows = query words, columns = key words.

    >>> print(format_attention([[1.0, 0.0], [0.25, 0.75]], ["a", "b"]))
           a     b
    a   1.00     .
    b   0.25  0.75
    """
    if not words or len(words) != len(weights):
        raise ValueError(f"format_attention: {len(words)} words for {len(weights)} rows of weights")
    width = max(5, *(len(w) for w in words)) + 1
    label = max(len(w) for w in words)
    lines = [" " * label + "".join(w.rjust(width) for w in words)]
    for word, row in zip(words, weights):
        cells = "".join(("." if w < 0.005 else f"{w:.2f}").rjust(width) for w in row)
        lines.append(word.ljust(label) + cells)
    return "\n".join(lines)


def training_figures(run):
    """The run's pictures as SVG text: {file name: svg}.

    * attention_before.svg / attention_after.svg: the best head's weights on the first
      held-out example, before and after training (the same head in both);
    * loss.svg, accuracy.svg: the curves over the training steps (only if it trained).
    """
    task = get_task(run.config.task)
    example = run.data.heldout[0]
    words = task.words(example.tokens)
    layer, head = run.after.best_head
    where = f"layer {layer + 1}, head {head + 1}"  # counted from 1, as head_1 in the formula
    T = len(words)
    causal = run.model.blocks[layer].attn.causal
    marks = {
        "outline": list(zip(example.positions, example.keys)),  # where attention should be
        "outline_note": "orange frame: the word the task requires",
        "masked": [[causal and j > i for j in range(T)] for i in range(T)],
        "scored_rows": list(example.positions),
        "unscored_note": "faded rows: predictions that do not count",
    }
    figures = {}
    trained = bool(run.history.loss)
    for name, maps in (("before", run.attention_before), ("after", run.attention_after)):
        when = f"{name} training" if trained else "of the loaded weights (no training)"
        figures[f"attention_{name}.svg"] = heatmap_svg(
            maps[layer][head],
            row_labels=words,
            col_labels=words,
            title=f"{task.name}: attention {when} ({where})",
            caption=task.hint,
            mark_row_max=name == "before",  # a pale picture: show where each row leans
            **marks,
        )
    history = run.history
    if history.loss:
        steps = list(range(1, len(history.loss) + 1))
        figures["loss.svg"] = line_chart_svg(
            {"training loss": history.loss},
            title=f"{task.name}: cross-entropy loss on each training batch",
            y_label="loss",
            xs=steps,
        )
        figures["accuracy.svg"] = line_chart_svg(
            {
                "task accuracy": history.task_accuracy,
                "attention accuracy": history.attention_accuracy,
            },
            title=f"{task.name}: accuracy on each training batch",
            y_label="fraction",
            xs=steps,
            y_range=(0.0, 1.0),
        )
    return figures


def write_figures(run, out_dir, weights_name="weights.json"):
    """Write the run's figures and its weights into `out_dir`; returns the paths written.

    Each file is written whole or not at all (a temporary file renamed into place).
    """
    os.makedirs(out_dir, exist_ok=True)
    figures = training_figures(run)
    paths = [write_svg(svg, os.path.join(out_dir, name)) for name, svg in figures.items()]
    paths.append(run.model.save(os.path.join(out_dir, weights_name)))  # save() is atomic too
    return paths
