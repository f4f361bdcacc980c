"""`tinygrad-attn generate`: let a trained model write (sentences of the story language, or
new first names), one sample per line."""

import math
import os

from ..cli import UsageError, nearest_existing, path_flag
from ..generate import sample
from ..language import LanguageTask, labelled
from ..tasks import Example
from ..train import attention_of, load_trained
from ..viz.generation import heads_svg, probability_bars_svg
from ..viz.svg import write_svg

HELP = "let a trained story or names model write: one sample per line"

DESCRIPTION = """Sample from weights saved by `tinygrad-attn train --task story` or `--task
names`: the model reads the prompt and writes one token at a time, each drawn from its
next-token probabilities, until it writes the end (".") or its context is full. The file
says which task, vocabulary and sizes it holds: --load is all it needs. --temperature 0
always takes the most likely token; --top-k K draws only among the K likeliest. --show-probs
also prints, for every step, the likeliest next tokens and their probabilities, and draws
them as bar charts (SVG); --attention draws where each head looked in the first sample."""

DEFAULT_OUT = os.path.join("out", "generate", "probabilities.svg")


def add_arguments(parser):
    parser.add_argument(
        "--load",
        metavar="PATH",
        type=path_flag,
        help="weights saved by train --task story or --task names (--save, or weights.json in "
        "its --out); required",
    )
    parser.add_argument(
        "--prompt",
        default="",
        help='how the samples start: words for story ("I play with a cat and it"), letters '
        'for names ("em"); default: nothing',
    )
    parser.add_argument("--num", type=int, default=1, help="how many samples (default 1)")
    parser.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="1 samples as the model says; lower is safer, higher wilder; 0 always takes the "
        "most likely token (default 1)",
    )
    parser.add_argument(
        "--top-k", type=int, help="draw only among the K most likely tokens (default: all)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the draws (default 0)")
    parser.add_argument(
        "--show-probs",
        action="store_true",
        help="print the likeliest next tokens at every step and draw them (--probs-out)",
    )
    parser.add_argument(
        "--probs-out",
        metavar="OUT.svg",
        type=path_flag,
        default=DEFAULT_OUT,
        help=f"where --show-probs draws its bar charts (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--attention",
        metavar="OUT.svg",
        type=path_flag,
        help="draw the attention of every head on the first sample",
    )


def run(args):
    # Every check first: a bad flag writes nothing.
    if not args.load:
        raise UsageError("generate: --load PATH is required: weights saved by train --save")
    if args.num < 1:
        raise UsageError(f"generate: --num must be at least 1, got {args.num}")
    if not 0.0 <= args.temperature < math.inf:  # also nan
        raise UsageError(
            f"generate: --temperature must be a number >= 0 (0 = always the most likely "
            f"token), got {args.temperature}"
        )
    if args.top_k is not None and args.top_k < 1:
        raise UsageError(f"generate: --top-k must be at least 1, got {args.top_k}")
    if args.show_probs:
        _check_svg_target(args.probs_out, "--probs-out")
    if args.attention:
        _check_svg_target(args.attention, "--attention")
    model, task = _load(args.load)
    prompt = task.split_text(args.prompt)
    try:
        task.encode(prompt)
    except ValueError as error:
        raise UsageError(f"generate: --prompt: {error}") from None
    if 1 + len(prompt) > model.max_len:
        raise UsageError(
            f"generate: --prompt has {len(prompt)} {task.tokens_are}, more than the model's "
            f"context of {model.max_len - 1} (after the start token)"
        )

    samples = sample(model, task, prompt, args.num, args.temperature, args.top_k, args.seed)
    for s in samples:
        print(task.join(task.words(s.prompt + s.written)))
        if args.show_probs:
            print(_table(task, s))
    if args.show_probs:
        path = write_svg(_bars(task, samples[0], args), args.probs_out)
        print(f"(probabilities of the first sample drawn in {path})")
    if args.attention:
        path = write_svg(_attention(model, task, samples[0]), args.attention)
        print(f"(attention of the first sample drawn in {path})")
    return 0


def _check_svg_target(path, flag):
    """An SVG can be written at `path`: a file name ending in .svg, not a folder, whose
    folder exists or can be made (its nearest existing parent is a folder we may write in)."""
    if not path.endswith(".svg"):
        raise UsageError(f"generate: {flag} {path}: give a file name ending in .svg")
    if os.path.isdir(path):
        raise UsageError(f"generate: {flag} {path} is a folder; give a file name")
    existing = nearest_existing(os.path.dirname(os.path.abspath(path)))
    if not os.path.isdir(existing):
        raise UsageError(f"generate: {flag} {path}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"generate: {flag} {path}: no permission to write in {existing}")


def _load(path):
    try:
        model, task, _ = load_trained(path)
    except (OSError, ValueError, TypeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"generate: --load {path}: {reason}") from None
    if not isinstance(task, LanguageTask):
        raise UsageError(
            f"generate: --load {path} holds a model of the {task.name} task, which predicts "
            f"answers, not text; train one with --task story or --task names"
        )
    return model, task


# ---------------------------------------------------------------------- showing the steps


def _table(task, s):
    """Each step: what came before it, and the likeliest next tokens (* = drawn)."""
    lines = []
    for k, step in enumerate(s.steps, 1):
        before = task.words(step.context)[-1]
        cells = "  ".join(
            f"{_word(task, i)} {p:.2f}{'*' if i == step.chosen else ''}" for i, p in step.top
        )
        if step.chosen not in [i for i, _ in step.top]:
            cells += f"  ... {_word(task, step.chosen)} {step.probability:.2f}*"
        lines.append(f"  {k:>2}. after {before!r:10} {cells}")
    if not s.finished:
        lines.append("  (stopped: the context is full)")
    return "\n".join(lines)


def _word(task, i):
    return "(end)" if i == task.boundary_id else task.vocab[i]


def _bars(task, s, args):
    steps = []
    for step in s.steps:
        context = task.words(step.context)
        heading = f"after {task.join(context[-3:])!r}"
        candidates = [(_word(task, i), p) for i, p in step.top]
        if step.chosen not in [i for i, _ in step.top]:
            candidates.append((_word(task, step.chosen), step.probability))
        steps.append((heading, candidates, _word(task, step.chosen)))
    written = task.join(task.words(s.prompt + s.written))
    return probability_bars_svg(
        steps,
        title=f"{task.name}: the likeliest next {task.tokens_are[:-1]}s while writing {written!r}",
        subtitle=f"temperature {args.temperature:g}"
        + (f", top-k {args.top_k}" if args.top_k else "")
        + f", seed {args.seed}; orange: the one drawn",
    )


def _attention(model, task, s):
    tokens = [task.boundary_id, *s.prompt, *s.written][: model.max_len]
    maps = attention_of(model, Example(tuple(tokens), (), (), ()))
    words = task.words(tokens)
    outline = [(p, k) for p, k in task.decided(words[1:])] if hasattr(task, "decided") else []
    heads = [
        (f"layer {layer + 1}, head {head + 1}", weights)
        for layer, layer_maps in enumerate(maps)
        for head, weights in enumerate(layer_maps)
    ]
    return heads_svg(
        heads,
        labelled(words),
        title=f"{task.name}: where each head looks while reading {task.join(words[1:])!r}",
        outline=[(p, k + 1) for p, k in outline] or None,
    )
