"""`tinygrad-attn train`: watch attention being learned, on a toy task or a tiny language."""

import json
import math
import os
import sys
import time

from ..cli import UsageError, nearest_existing, path_flag
from ..language import labelled
from ..tasks import DEFAULT_TASK, all_tasks
from ..train import (
    Config,
    load_trained,
    make_model,
    read_training_info,
    results,
    run_training,
    save_trained,
    shown_example,
)
from ..train_figures import AttentionRecorder, format_attention, replay_record, write_figures

HELP = "train a tiny transformer and watch its attention being learned (toy tasks, story, names)"

DESCRIPTION = """Train a one-layer transformer with Adam on a task whose right attention is
known (recall, reverse, lag), on a tiny language by predicting the next word (story), or on
first names letter by letter (names); then print the held-out scores: task accuracy, the
attention accuracy (the share of attention the best head puts on the word that decides the
answer), the held-out loss and, for names, the character-bigram model's loss. Writes the
attention heatmaps before and after training, the loss and accuracy curves (SVG) and the
trained weights, with their task and sizes (JSON, for `generate` and `walkthrough --load`),
into --out. --load with --steps 0 evaluates saved weights without training."""


def add_arguments(parser):
    tasks = ", ".join(f"{name} ({task.summary})" for name, task in all_tasks().items())
    steps = ", ".join(f"{name} {Config(task=name).steps}" for name in all_tasks())
    parser.add_argument(
        "--task", default=DEFAULT_TASK, choices=list(all_tasks()), help=f"the task: {tasks}"
    )
    parser.add_argument(
        "--steps",
        type=int,
        help=f"training steps (default: {steps}; 0 only with --load: evaluate only)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for data and weights (default 0)")
    parser.add_argument(
        "--out",
        type=path_flag,
        default=os.path.join("out", "train"),
        help="folder for figures and weights (default out/train)",
    )
    parser.add_argument(
        "--save", metavar="PATH", type=path_flag, help="also write the trained weights here"
    )
    parser.add_argument(
        "--load",
        metavar="PATH",
        type=path_flag,
        help="start from weights written by --save or into --out (use the --task and --seed "
        "they were trained with: the seed decides which sequences are held out)",
    )
    parser.add_argument(
        "--replay",
        metavar="STEPS",
        help="also keep the attention of the drawn sentence at these steps (e.g. 0,10,50,250; "
        "0 is before training) in the weights file, for explore --load to replay",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the results as JSON on the last line"
    )


def run(args):
    # Check everything before writing anything: a bad flag leaves --out as it was.
    config = _config(args)
    replay_steps = _replay_steps(args.replay, config.steps)
    _check_folder(args.out, "--out")
    if args.save:
        _check_file_target(args.save, "--save", args.out)
    model = _load(args.load, config) if args.load else make_model(config)

    progress = ProgressBar(config.steps)
    on_step, recorder = progress.update, None
    if replay_steps:
        task = all_tasks()[config.task]
        data = task.data(seed=config.seed, heldout_size=config.heldout_size)
        recorder = AttentionRecorder(model, shown_example(task, data), replay_steps)

        def on_step(step, history):
            progress.update(step, history)
            recorder(step, history)

    trained = run_training(config, model=model, on_step=on_step)
    progress.close()

    report = results(trained)
    broken = [k for k, v in report.items() if isinstance(v, float) and not math.isfinite(v)]
    if broken:  # nan or inf: no honest figures or weights to write, and not valid JSON
        message = (
            f"train: {' and '.join(broken)} came out {report[broken[0]]} (training diverged, "
            f"or the loaded weights are broken); nothing was written"
        )
        if args.json:
            report = {k: None if k in broken else v for k, v in report.items()}
            print(json.dumps({**report, "error": message}, allow_nan=False))
        raise RuntimeError(message)
    replay = replay_record(trained, recorder) if recorder else None
    paths = write_figures(trained, args.out, replay=replay)
    if args.save:
        paths.append(save_trained(trained.model, config, args.save, replay))
    _report(trained, paths)
    if args.json:
        print(json.dumps(report, allow_nan=False))
    return 0


# ---------------------------------------------------------------------- checking the flags


def _config(args):
    if args.steps is not None and (args.steps < 0 or (args.steps == 0 and not args.load)):
        raise UsageError(
            f"train: --steps must be at least 1, got {args.steps} (--steps 0 is allowed only "
            f"with --load, to evaluate saved weights)"
        )
    return Config(task=args.task, steps=args.steps, seed=args.seed)


def _replay_steps(text, steps):
    """--replay "0,10,50" -> [0, 10, 50], each between 0 and --steps."""
    if text is None:
        return []
    try:
        chosen = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise UsageError(
            f"train: --replay takes step numbers separated by commas (e.g. 0,10,50), got {text!r}"
        ) from None
    if not chosen or chosen[0] < 0 or chosen[-1] > steps:
        raise UsageError(
            f"train: --replay steps must be between 0 and --steps ({steps}), got {text!r}"
        )
    return chosen


def _check_folder(path, flag):
    """The folder exists, or could be made: its nearest existing parent is a writable folder."""
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise UsageError(f"train: {flag} {path} exists and is not a folder")
        existing = path
    else:
        existing = nearest_existing(path)
        if not os.path.isdir(existing):
            raise UsageError(f"train: {flag} {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"train: {flag} {path}: no permission to write in {existing}")


def _check_file_target(path, flag, out):
    """A file can be written at `path`: it is not a folder, and its folder exists (or is
    --out, which will be made)."""
    if os.path.isdir(path):
        raise UsageError(f"train: {flag} {path} is a folder; give a file name")
    folder = os.path.dirname(os.path.abspath(path))
    if folder == os.path.abspath(out):
        return  # checked as --out
    if not os.path.isdir(folder):
        raise UsageError(f"train: {flag} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"train: {flag} {path}: no permission to write in {folder}")


def _load(path, config):
    """The model of --task with the weights of `path`. Weights saved with their task (by
    this command) must be of --task; older files without it load if their shapes fit."""
    try:
        try:
            task, saved = read_training_info(path)
        except ValueError as error:
            if "does not say which task" not in str(error):
                raise
            return make_model(config).load(path)  # an older file: its shapes are checked
        if task.name != config.task:
            raise ValueError(
                f"it holds a model trained on --task {task.name}, not {config.task}; give "
                f"--task {task.name}"
            )
        model, _, _ = load_trained(path)
        if saved.seed != config.seed:
            print(
                f"note: {path} was trained with --seed {saved.seed}; with --seed "
                f"{config.seed} other sequences are held out",
                file=sys.stderr,
            )
        return model
    except (OSError, ValueError, TypeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        if "does not fit" in reason:
            reason += " (were the weights trained for another --task?)"
        raise UsageError(f"train: --load {path}: {reason}") from None


# ---------------------------------------------------------------------- showing progress


class ProgressBar:
    """One line on stderr: redrawn in place on a terminal; otherwise (a pipe, a file) a line
    at every tenth of the run or every `every` seconds, whichever comes first, and at the
    end."""

    def __init__(self, total, stream=None, width=24, every=10.0):
        self.total, self.width, self.every = total, width, every
        self.stream = sys.stderr if stream is None else stream
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = self.last = time.perf_counter()
        self.drawn = False

    def update(self, step, history):
        now = time.perf_counter()
        tenth = step % max(1, self.total // 10) == 0
        if not (self.live or tenth or step == self.total or now - self.last >= self.every):
            return
        self.last = now
        done = round(self.width * step / self.total)
        bar = "#" * done + "-" * (self.width - done)
        attention = history.attention_accuracy[-1]
        line = (
            f"train [{bar}] {step:>{len(str(self.total))}}/{self.total}  "
            f"loss {history.loss[-1]:.4f}  acc {history.task_accuracy[-1]:.2f}  "
            + (f"attn {attention:.2f}  " if attention is not None else "")
            + f"{time.perf_counter() - self.start:.1f}s"
        )
        if self.live:
            self.stream.write("\r" + line)
            self.drawn = True
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self):
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


# ---------------------------------------------------------------------- the report


def _report(run, paths):
    config, task = run.config, all_tasks()[run.config.task]
    params = sum(len(p.data) for p in run.model.parameters())
    heads = f"{config.num_heads} head{'s' if config.num_heads > 1 else ''}"
    body = f"feed-forward {config.d_hidden}" if config.d_hidden else "attention only"
    decay = " falling to 0" if config.lr_decay else ""
    print(f"task {task.name}: {task.summary}")
    print(
        f"model: {config.num_layers} layer, {heads}, d_model {config.d_model}, {body}, "
        f"{params} parameters; Adam lr {config.lr}{decay}, batch {config.batch_size}, "
        f"{config.steps} steps, seed {config.seed}"
    )
    layer, head = run.after.best_head
    scores = [("before training", run.before), ("after training", run.after)]
    if not config.steps:
        scores = [("loaded weights", run.after)]
    per = " per token" if run.shown is not None and run.shown.next else ""
    for name, score in scores:
        attention = score.attention_accuracy
        print(
            f"{name + ':':<16} held-out task accuracy {score.task_accuracy:.3f}, "
            + (f"attention accuracy {attention:.3f}, " if attention is not None else "")
            + f"loss {score.loss:.4f}{per}"
        )
    if run.baseline_loss is not None:
        print(
            f"{'baseline:':<16} the character-bigram model's held-out loss "
            f"{run.baseline_loss:.4f} per token ({run.baseline_loss - run.after.loss:+.4f} "
            f"above the model's)"
        )
    example = run.shown or run.data.heldout[0]
    words = task.words(example.tokens)
    what = f'"{task.join(words[1:])}"' if example.next else "a held-out example"
    print(f"\nattention of layer {layer + 1}, head {head + 1} on {what} ({task.hint}):")
    print(format_attention(run.attention_after[layer][head], labelled(words)))
    print(f"\n{run.seconds:.1f} s; wrote {', '.join(paths)}")
