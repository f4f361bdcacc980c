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

The language tasks (`story`, `names`: language.py) are trained the same way, by predicting
the next token with the loss counted at EVERY position. Their sentences differ in length, so
a batch is padded to its longest sentence: the padding is masked out of the attention (no
word can look at it) and out of the loss (it is never a target), so it cannot reach a
gradient. Their held-out loss is in nats per token, and `names` is compared with a
character-bigram model (names.py).

`run_training(Config())` does it all and returns a `Run`; train_figures.py draws it.
"""

import json
import math
import time
from dataclasses import asdict, dataclass, field

from . import functional as F
from .autograd import no_grad
from .files import read_limited
from .language import pad_batch
from .nn import TinyTransformer
from .optim import Adam
from .story import EXPLANATION_SENTENCE
from .tasks import DEFAULT_TASK, get_task

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
    "shown_example",
    "results",
    "save_trained",
    "read_training_info",
    "load_trained",
]


# What `tinygrad-attn train` uses when neither the flags nor the task (its `defaults`, e.g.
# story.py) say otherwise: an attention-only model (`d_hidden=0` in every block), one layer,
# one head: the smallest model that can do the toy tasks, so pure Python trains it in
# seconds. (With two heads the tasks are learned as fast, but the heads may share the work,
# and then neither looks only at the key.)
DEFAULTS = {
    "steps": 200,
    "batch_size": 32,
    "lr": 0.02,
    "d_model": 16,
    "num_heads": 1,
    "num_layers": 1,
    "d_hidden": 0,
    "heldout_size": 200,
    "lr_decay": False,
    "embedding_std": 1.0,
}


@dataclass(frozen=True)
class Config:
    """Everything that decides a run. A size left as None takes the task's default (its
    `defaults`, else `DEFAULTS`): what `tinygrad-attn train --task NAME` uses.

    >>> Config().steps, Config(task="names").num_heads, Config(task="names", steps=5).steps
    (200, 4, 5)
    """

    task: str = DEFAULT_TASK
    steps: int = None
    seed: int = 0
    batch_size: int = None
    lr: float = None
    d_model: int = None
    num_heads: int = None
    num_layers: int = None
    heldout_size: int = None
    d_hidden: int = None  # the feed-forward part's width; 0 leaves it out
    lr_decay: bool = None  # lower the learning rate linearly to 0 over the steps
    embedding_std: float = None  # spread of the token and position vectors at the start

    def __post_init__(self):
        task = get_task(self.task)  # an unknown task: ValueError naming the known ones
        for name, value in {**DEFAULTS, **getattr(task, "defaults", {})}.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)  # frozen: set once, here
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise TypeError(f"Config: seed must be an int, got {self.seed!r}")
        for name in (
            "steps",
            "batch_size",
            "heldout_size",
            "d_model",
            "num_heads",
            "num_layers",
            "d_hidden",
        ):
            n, low = getattr(self, name), 0 if name in ("steps", "d_hidden") else 1
            if isinstance(n, bool) or not isinstance(n, int) or n < low:
                raise ValueError(f"Config: {name} must be an int >= {low}, got {n!r}")
        if not isinstance(self.lr_decay, bool):
            raise TypeError(f"Config: lr_decay must be True or False, got {self.lr_decay!r}")
        std = self.embedding_std
        if isinstance(std, bool) or not isinstance(std, (int, float)) or not 0 < std < math.inf:
            raise ValueError(f"Config: embedding_std must be finite and > 0, got {std!r}")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)):
            raise TypeError(f"Config: lr must be a number, got {self.lr!r}")
        if not 0.0 < self.lr < math.inf:
            raise ValueError(f"Config: lr must be finite and > 0, got {self.lr}")


@dataclass
class Evaluation:
    """Scores on a set of examples (see the module docstring)."""

    loss: float  # mean nats per counted token (language tasks: every token)
    task_accuracy: float
    attention_accuracy: float  # the best head's share on the key positions (None: no keys)
    best_head: tuple  # (layer, head) of that head, as list indices (shown to people from 1);
    # (0, 0) when no key is known
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
    data: object  # tasks.Data, or language.LanguageData for the language tasks
    before: Evaluation
    after: Evaluation
    history: History
    attention_before: list  # [layer][head] -> (T, T) weights on `shown`, untrained
    attention_after: list  # the same after training
    seconds: float
    shown: object = None  # the example drawn before and after (see shown_example)
    baseline_loss: float = None  # names: the character-bigram model's held-out loss


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
        d_hidden=config.d_hidden,  # 0, attention only: every answer comes through attention
        causal=True,  # a word sees only itself and the words before it
        rng=config.seed,
        embedding_std=config.embedding_std,
    )


# ---------------------------------------------------------------------- measuring


def counted(example):
    """(positions, targets) the loss counts: every position of a language example (its next
    tokens), only the asked positions of a toy task's."""
    if example.next:
        return range(len(example.tokens)), example.next
    return example.positions, example.targets


def loss_and_logits(model, examples):
    """Run the model on a batch; return (loss, logits, targets) for the positions that count.

    `logits` has one row per counted position: shape (N, vocab), N = the number of counted
    positions in the batch; the loss is their mean cross-entropy (nats per counted token).
    """
    if not examples:
        raise ValueError("no examples: give at least one (e.g. data.batch(8) or data.heldout)")
    tokens, mask = pad_batch(examples)  # (B, T) ids; mask hides the padding (None: none)
    out = model(tokens, mask)  # (B, T, vocab)
    B, T, vocab = out.shape
    asked = [counted(ex) for ex in examples]  # (positions, targets) of each example
    rows = [b * T + p for b, (positions, _) in enumerate(asked) for p in positions]
    logits = out.reshape(B * T, vocab)[rows]  # (N, vocab): only the positions that count
    targets = [t for _, wanted in asked for t in wanted]
    return F.cross_entropy(logits, targets), logits, targets


def scored_rows(examples):
    """The rows of `loss_and_logits`' logits that task accuracy scores: the decided
    positions of a language task (all rows if it decides none, as `names`), all rows of a
    toy task (they are its asked positions)."""
    if not any(ex.next and ex.positions for ex in examples):
        return None  # every row
    rows, start = [], 0
    for ex in examples:
        rows += [start + p for p in ex.positions]
        start += len(counted(ex)[0])
    return rows


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
    count = sum(len(ex.keys) for ex in examples)
    if not count:
        raise ValueError(
            "attention_accuracy: the examples have no positions that count (none has a key)"
        )
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
    Attention accuracy is None when no example knows where to look (`names`).

    >>> data = get_task("lag").data(seed=0, heldout_size=4)
    >>> score = evaluate(make_model(Config(task="lag")), data.heldout)
    >>> 0.0 <= score.task_accuracy <= 1.0 and 0.0 <= score.attention_accuracy <= 1.0
    True
    """
    with no_grad():
        loss, logits, targets = loss_and_logits(model, examples)
        shares = {}
        if any(ex.keys for ex in examples):
            shares = attention_accuracy(model.attention_maps(), examples)
    best = max(shares, key=shares.get) if shares else (0, 0)  # the first best if two tie
    return Evaluation(
        loss=loss.item(),
        task_accuracy=_scored_accuracy(logits, targets, examples),
        attention_accuracy=shares[best] if shares else None,
        best_head=best,
        per_head=shares,
    )


def _scored_accuracy(logits, targets, examples):
    rows = scored_rows(examples)
    if rows is None:
        return task_accuracy(logits, targets)
    return task_accuracy(logits[rows], [targets[r] for r in rows])


def attention_of(model, example):
    """The attention weights of every layer and head on one example: [layer][head] -> (T, T)
    nested lists, rows = query positions, columns = key positions."""
    with no_grad():
        model([list(example.tokens)])
    return [weights.tolist()[0] for weights in model.attention_maps()]  # drop the batch axis


def shown_example(task, data):
    """The example whose attention is drawn before and after training: the explanation's
    sentence for `story` ("I play with a cat and it purrs"), else the first held-out one."""
    if task.name == "story":
        return task.example_of(EXPLANATION_SENTENCE.split())
    return data.heldout[0]


# ---------------------------------------------------------------------- training


def train(model, data, steps, lr, batch_size, on_step=None, lr_decay=False):
    """Adam on fresh batches from `data` for `steps` steps; returns the History.

    `on_step(step, history)` is called after every step (step counts from 1), e.g. to draw a
    progress bar. `lr_decay` lowers the learning rate in a straight line from `lr` at the
    first step towards 0 after the last: big steps to find the pattern, small ones to settle.
    """
    optimizer = Adam(model.parameters(), lr=lr)
    history = History()
    for step in range(1, steps + 1):
        if lr_decay:
            optimizer.lr = lr * (1 - (step - 1) / steps)
        batch = data.batch(batch_size)
        loss, logits, targets = loss_and_logits(model, batch)
        optimizer.zero_grad()
        loss.backward()  # the gradient reaches W^Q and W^K through the softmax
        optimizer.step()
        with no_grad():
            accuracy = _scored_accuracy(logits, targets, batch)
        shares = attention_accuracy(model.attention_maps(), batch) if _keyed(batch) else {}
        history.loss.append(loss.item())
        history.task_accuracy.append(accuracy)
        history.attention_accuracy.append(max(shares.values()) if shares else None)
        if on_step is not None:
            on_step(step, history)
    return history


def _keyed(examples):
    return any(ex.keys for ex in examples)


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
    data = task.data(seed=config.seed, heldout_size=config.heldout_size)
    shown = shown_example(task, data)  # the example whose attention we draw before and after
    attention_before = attention_of(model, shown)
    before = evaluate(model, data.heldout)
    history = train(
        model, data, config.steps, config.lr, config.batch_size, on_step, config.lr_decay
    )
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
        shown=shown,
        baseline_loss=task.baseline_loss(data) if hasattr(task, "baseline_loss") else None,
        seconds=time.perf_counter() - start,
    )


def results(run):
    """The run's numbers as a dict, ready for JSON: the held-out loss and accuracies after
    training, the number of steps and the seconds it took. `heldout_loss` is the held-out
    loss in nats per predicted token (the same number as `final_loss`: for the language tasks
    every token is predicted, for the toy tasks the asked ones); `baseline_loss` is the
    character-bigram model's on the same held-out names (None for the other tasks);
    `attention_accuracy` is None where no right place to look is known (`names`)."""
    return {
        "final_loss": run.after.loss,
        "task_accuracy": run.after.task_accuracy,
        "attention_accuracy": run.after.attention_accuracy,
        "heldout_loss": run.after.loss,
        "baseline_loss": run.baseline_loss,
        "steps": run.config.steps,
        "seconds": round(run.seconds, 3),
    }


# ---------------------------------------------------------------------- saving and loading


MAX_WEIGHTS_BYTES = 64 * 1024 * 1024  # far more than any model of these sizes writes


def save_trained(model, config, path, replay=None):
    """Write the weights with what it takes to use them again: the task, its vocabulary and
    the model's sizes (`read_training_info`), so `generate --load PATH` needs nothing else;
    and, if given, the record of the training to replay (train_figures.replay_record), which
    `explore --load PATH` shows."""
    task = get_task(config.task)
    info = {"task": task.name, "vocab": list(task.vocab), "config": asdict(config)}
    if replay is not None:
        info["replay"] = replay
    return model.save(path, info=info)


def read_training_info(path):
    """The task, vocabulary and Config a weights file was saved with (`save_trained`).

    ValueError with what to do when the file is not one of ours or was written without them
    (by `Module.save`, or before weights carried them), or names a task or vocabulary that
    this version does not have.
    """
    raw = read_limited(path, MAX_WEIGHTS_BYTES, "load", "a tiny model's weights")
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ValueError(f"{path} is not a tinygrad_attn weights file ({error})") from None
    info = payload.get("info") if isinstance(payload, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get("config"), dict):
        raise ValueError(
            f"{path} does not say which task and sizes its model has (it was written without "
            f"them); make one with: tinygrad-attn train --task story --save PATH"
        )
    try:
        config = Config(**info["config"])
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: its training settings are not valid here ({error})") from None
    task = get_task(config.task)
    if list(task.vocab) != info.get("vocab"):
        raise ValueError(
            f"{path} was trained on another {task.name} vocabulary than this version's; "
            f"train it again with: tinygrad-attn train --task {task.name} --save PATH"
        )
    return task, config


def load_trained(path):
    """(model, task, config) from a file written by `save_trained` (or `train --save`).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "lag.json")
    >>> _ = save_trained(make_model(Config(task="lag")), Config(task="lag"), path)
    >>> model, task, config = load_trained(path)
    >>> task.name, config.d_model
    ('lag', 16)
    """
    task, config = read_training_info(path)
    model = make_model(config)
    model.load(path)  # checks every name and shape
    return model, task, config
