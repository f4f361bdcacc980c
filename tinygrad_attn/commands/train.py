"""`tinygrad-attn train`: watch attention being learned on a toy task."""

import json
import math
import os
import sys
import time

from ..cli import UsageError, nearest_existing, path_flag
from ..tasks import DEFAULT_TASK, TASKS
from ..train import Config, format_attention, make_model, results, run_training, write_figures

HELP = "train a tiny transformer on a toy task and watch its attention being learned"

DESCRIPTION = """Train a one-layer, attention-only transformer with Adam on a toy task whose
right attention pattern is known, then print the held-out task accuracy and the attention
accuracy (the share of attention the best head puts on the word the task requires). Writes
the attention heatmaps of one held-out example before and after training, the loss and
accuracy curves (SVG) and the trained weights (JSON) into --out. --load with --steps 0
evaluates saved weights without training."""

DEFAULTS = Config()


def add_arguments(parser):
    tasks = ", ".join(f"{name} ({task.summary})" for name, task in TASKS.items())
    parser.add_argument(
        "--task", default=DEFAULT_TASK, choices=list(TASKS), help=f"the toy task: {tasks}"
    )
    parser.add_argument(
        "--steps",
        type=int,
        default=DEFAULTS.steps,
        help=f"training steps (default {DEFAULTS.steps}; 0 only with --load: evaluate only)",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULTS.seed, help="seed for data and weights (default 0)"
    )
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
        "--json", action="store_true", help="print the results as JSON on the last line"
    )


def run(args):
    # Check everything before writing anything: a bad flag leaves --out as it was.
    config = _config(args)
    _check_folder(args.out, "--out")
    if args.save:
        _check_file_target(args.save, "--save", args.out)
    model = make_model(config)
    if args.load:
        _load(model, args.load)

    progress = ProgressBar(config.steps)
    trained = run_training(config, model=model, on_step=progress.update)
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
    paths = write_figures(trained, args.out)
    if args.save:
        paths.append(trained.model.save(args.save))
    _report(trained, paths)
    if args.json:
        print(json.dumps(report, allow_nan=False))
    return 0


# ---------------------------------------------------------------------- checking the flags


def _config(args):
    if args.steps < 0 or (args.steps == 0 and not args.load):
        raise UsageError(
            f"train: --steps must be at least 1, got {args.steps} (--steps 0 is allowed only "
            f"with --load, to evaluate saved weights)"
        )
    return Config(task=args.task, steps=args.steps, seed=args.seed)


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


def _load(model, path):
    try:
        model.load(path)
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
        line = (
            f"train [{bar}] {step:>{len(str(self.total))}}/{self.total}  "
            f"loss {history.loss[-1]:.4f}  acc {history.task_accuracy[-1]:.2f}  "
            f"attn {history.attention_accuracy[-1]:.2f}  "
            f"{time.perf_counter() - self.start:.1f}s"
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
    config, task = run.config, TASKS[run.config.task]
    params = sum(len(p.data) for p in run.model.parameters())
    print(f"task {task.name}: {task.summary}")
    print(
        f"model: {config.num_layers} layer, {config.num_heads} head, d_model {config.d_model}, "
        f"attention only, {params} parameters; Adam lr {config.lr}, batch {config.batch_size}, "
        f"{config.steps} steps, seed {config.seed}"
    )
    layer, head = run.after.best_head
    scores = [("before training", run.before), ("after training", run.after)]
    if not config.steps:
        scores = [("loaded weights", run.after)]
    for name, score in scores:
        print(
            f"{name + ':':<16} held-out task accuracy {score.task_accuracy:.3f}, "
            f"attention accuracy {score.attention_accuracy:.3f}, loss {score.loss:.4f}"
        )
    example = run.data.heldout[0]
    print(f"\nattention of layer {layer + 1}, head {head + 1} on a held-out example ({task.hint}):")
    print(format_attention(run.attention_after[layer][head], task.words(example.tokens)))
    print(f"\n{run.seconds:.1f} s; wrote {', '.join(paths)}")
