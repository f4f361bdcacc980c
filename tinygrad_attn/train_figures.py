"""Showing a training run: what its attention looked like before and after, its curves, a
text table of attention, and a replay of attention while it was learned.

`training_figures(run)` draws the figures `tinygrad-attn train` writes; `AttentionRecorder`
is an `on_step` hook that keeps the attention of one sentence at chosen steps, and
`replay_record` turns what it kept into the record that `train --replay` stores in the
weights file, for pages that show attention appearing step by step (`explore --load`).
"""

import os

from .language import labelled
from .tasks import get_task
from .train import attention_of, save_trained
from .viz.figures import heatmap_svg, line_chart_svg, write_svg

__all__ = [
    "format_attention",
    "training_figures",
    "write_figures",
    "AttentionRecorder",
    "replay_record",
]


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

    * attention_before.svg / attention_after.svg: the best head's weights on the shown
      example (train.shown_example), before and after training (the same head in both);
    * loss.svg, accuracy.svg: the curves over the training steps (only if it trained).
    """
    task = get_task(run.config.task)
    example = run.shown or run.data.heldout[0]
    words = task.words(example.tokens)
    layer, head = run.after.best_head
    where = f"layer {layer + 1}, head {head + 1}"  # counted from 1, as head_1 in the formula
    T = len(words)
    causal = run.model.blocks[layer].attn.causal
    marks = {
        "outline": list(zip(example.positions, example.keys)),  # where attention should be
        "outline_note": "orange frame: the word the task requires",
        "masked": [[causal and j > i for j in range(T)] for i in range(T)],
        "scored_rows": list(example.positions) if example.positions else None,
        "unscored_note": "faded rows: predictions that do not count",
    }
    if example.next:  # a language task: every prediction counts, only some have a key
        marks["outline_note"] = "orange frame: the word that decides the next one"
        marks["unscored_note"] = "faded rows: no one earlier word decides what comes next"
    figures = {}
    trained = bool(run.history.loss)
    for name, maps in (("before", run.attention_before), ("after", run.attention_after)):
        when = f"{name} training" if trained else "of the loaded weights (no training)"
        figures[f"attention_{name}.svg"] = heatmap_svg(
            maps[layer][head],
            row_labels=labelled(words),
            col_labels=labelled(words),
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
        curves = {"task accuracy": history.task_accuracy}
        if None not in history.attention_accuracy:
            curves["attention accuracy"] = history.attention_accuracy
        figures["accuracy.svg"] = line_chart_svg(
            curves,
            title=f"{task.name}: accuracy on each training batch",
            y_label="fraction",
            xs=steps,
            y_range=(0.0, 1.0),
        )
    return figures


def write_figures(run, out_dir, weights_name="weights.json", replay=None):
    """Write the run's figures and its weights (with what they were trained on and, if
    given, the record of the training to replay: `replay_record`) into `out_dir`; returns
    the paths written.

    Each file is written whole or not at all (a temporary file renamed into place).
    """
    os.makedirs(out_dir, exist_ok=True)
    figures = training_figures(run)
    paths = [write_svg(svg, os.path.join(out_dir, name)) for name, svg in figures.items()]
    weights = os.path.join(out_dir, weights_name)
    paths.append(save_trained(run.model, run.config, weights, replay))  # save() is atomic
    return paths


class AttentionRecorder:
    """An `on_step` hook that keeps the attention of one example at chosen steps: a training
    replay. `snapshots` holds {"step", "loss", "attention": [layer][head] -> (T, T)}; step 0,
    if asked for, is the model as it is when the recorder is made (untrained), loss None.

    >>> from tinygrad_attn.train import Config, make_model, run_training
    >>> config = Config(task="lag", steps=2, heldout_size=4)
    >>> model = make_model(config)
    >>> example = get_task("lag").data(seed=0, heldout_size=4).heldout[0]
    >>> recorder = AttentionRecorder(model, example, steps=[0, 2])
    >>> run = run_training(config, model=model, on_step=recorder)
    >>> [s["step"] for s in recorder.snapshots]
    [0, 2]
    """

    def __init__(self, model, example, steps):
        self.model, self.example = model, example
        self.steps = sorted(set(steps))
        self.snapshots = []
        if 0 in self.steps:
            self.record(0)

    def record(self, step, loss=None):
        self.snapshots.append(
            {"step": step, "loss": loss, "attention": attention_of(self.model, self.example)}
        )

    def __call__(self, step, history):
        if step in self.steps:
            self.record(step, history.loss[-1])


def replay_record(run, recorder, digits=4):
    """What the recorder kept during a finished run, as a JSON-ready dict: the training
    record the explorer page replays (story_model.py ships one with the package).

    {"words": the sentence's tokens, "layer", "head": the best head after training (from 0),
    "steps": the recorded steps, "weights": that head's (T, T) attention at each of them,
    "loss": the training loss at every step, "focus": [[query, key], ...] the cells attention
    should reach, "task_accuracy", "attention_accuracy": the held-out scores after training}

    Numbers are rounded to `digits` decimals: the file stays small (tens of KB for a story
    run of 250 steps with a snapshot every 10).
    """
    task = get_task(run.config.task)
    layer, head = run.after.best_head
    example = recorder.example
    return {
        "words": task.words(example.tokens),
        "layer": layer,
        "head": head,
        "steps": [s["step"] for s in recorder.snapshots],
        "weights": [
            [[round(w, digits) for w in row] for row in s["attention"][layer][head]]
            for s in recorder.snapshots
        ],
        "loss": [round(x, digits) for x in run.history.loss],
        "focus": [list(p) for p in zip(example.positions, example.keys)],
        "task_accuracy": run.after.task_accuracy,
        "attention_accuracy": run.after.attention_accuracy,
    }
