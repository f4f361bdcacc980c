"""`tinygrad-attn walkthrough`: attention stage by stage, on a real sentence (`make demo`)."""

import os

from ..cli import UsageError, nearest_existing, path_flag
from ..story import EXPLANATION_SENTENCE
from ..train import load_trained
from ..viz.render import find_renderer
from ..walkthrough import DEFAULT_DIM, DEFAULT_HEADS, DEFAULT_SENTENCE
from ..walkthrough import _model_words as Walkthrough_words
from ..walkthrough import run as run_walkthrough

HELP = "attention stage by stage: X, Q K V, scores, softmax, heads, W^O, gradients"

DESCRIPTION = """Walk through attention on a sentence: the words become a matrix X; Q, K and V
are X seen through three weight matrices; scores = Q K^T / sqrt(d_k); softmax makes each row
probabilities; weights @ V is one head; heads are concatenated and projected by W^O. Then a
loss, the gradients of W_q, W_k, W_v, W_o and a gradient check. Every stage is printed and
drawn (SVG) into --out. Weights are seeded: the same flags give the same numbers. --load
walks through a trained model instead (weights saved by `tinygrad-attn train --task story`):
its own X and weights, on "I play with a cat and it purrs" unless --sentence says
otherwise, where the row of "it" looks at "cat"."""

MAX_WORDS = 12
MAX_DIM = 16  # wider tables do not fit a terminal


def add_arguments(parser):
    parser.add_argument(
        "--sentence",
        help=f'the words (default: "{DEFAULT_SENTENCE}"; with --load of a story model: '
        f'"{EXPLANATION_SENTENCE}")',
    )
    parser.add_argument(
        "--dim",
        type=int,
        default=None,
        help=f"numbers per word, d_model (default {DEFAULT_DIM}, or 3 per head when only --heads "
        "is given; --dim 3 --heads 1 is one head of 4 words x 3 numbers)",
    )
    parser.add_argument(
        "--heads",
        type=int,
        default=None,
        help=f"attention heads; must divide --dim (default {DEFAULT_HEADS})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights (default 0)")
    parser.add_argument(
        "--out",
        type=path_flag,
        default="out/walkthrough",
        help="folder for the figures (default out/walkthrough)",
    )
    parser.add_argument(
        "--load",
        metavar="PATH",
        type=path_flag,
        help="walk through a trained model: weights saved by train --task story (its sizes "
        "replace --dim and --heads)",
    )


def run(args):
    if args.load:
        return _run_trained(args)
    if args.sentence is None:
        args.sentence = DEFAULT_SENTENCE
    if args.heads is None:
        args.heads = DEFAULT_HEADS
    words = args.sentence.split()
    if not words:
        raise UsageError("walkthrough: --sentence is empty; give at least one word")
    if len(words) > MAX_WORDS:
        raise UsageError(
            f"walkthrough: --sentence has {len(words)} words; at most {MAX_WORDS} fit the tables"
        )
    if args.heads < 1:
        raise UsageError(f"walkthrough: --heads must be at least 1, got {args.heads}")
    if args.heads > MAX_DIM:
        raise UsageError(f"walkthrough: --heads must be at most {MAX_DIM}, got {args.heads}")
    if args.dim is None:  # only --heads (or nothing): a d_model that fits the heads
        args.dim = dim_for(args.heads)
    if args.dim < 1:
        raise UsageError(f"walkthrough: --dim must be at least 1, got {args.dim}")
    if args.dim > MAX_DIM:
        raise UsageError(
            f"walkthrough: --dim must be at most {MAX_DIM} (tables get wide), got {args.dim}"
        )
    if args.dim % args.heads:
        raise UsageError(
            f"walkthrough: --heads must divide --dim: {args.dim} is not divisible by "
            f"{args.heads}; {_suggest(args.dim, args.heads)}"
        )
    check_writable_folder(args.out, "walkthrough")
    find_renderer()  # none: a runtime failure (status 1), before any work
    run_walkthrough(" ".join(words), args.dim, args.heads, args.seed, args.out)
    return 0


def _run_trained(args):
    """--load: the trained model's numbers on its task's sentence."""
    if args.dim is not None or args.heads is not None:
        raise UsageError(
            "walkthrough: --dim and --heads come from the weights with --load; leave them out"
        )
    try:
        model, task, _ = load_trained(args.load)
    except (OSError, ValueError, TypeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise UsageError(f"walkthrough: --load {args.load}: {reason}") from None
    sentence = args.sentence if args.sentence is not None else default_sentence(task)
    if not sentence.split():
        raise UsageError("walkthrough: --sentence is empty; give at least one word")
    try:
        words = Walkthrough_words(sentence, model, task)
    except ValueError as error:
        raise UsageError(f"walkthrough: --sentence: {error}") from None
    if len(words) > MAX_WORDS + 1:
        raise UsageError(
            f"walkthrough: --sentence has {len(words) - 1} words; at most {MAX_WORDS} fit the "
            f"tables"
        )
    check_writable_folder(args.out, "walkthrough")
    find_renderer()
    run_walkthrough(sentence, seed=args.seed, out=args.out, model=model, task=task)
    return 0


def default_sentence(task):
    """The sentence to walk through with a trained model: the explanation's for story, a
    name for names, a held-out sequence of a toy task."""
    if task.name == "story":
        return EXPLANATION_SENTENCE
    if task.name == "names":
        return "anna"
    return " ".join(task.words(task.data(seed=0, heldout_size=1).heldout[0].tokens))


def dim_for(heads):
    """d_model for `heads` heads: the default when they divide it, else 3 numbers per head
    (the seed's size), else the widest that fits the tables."""
    if DEFAULT_DIM % heads == 0:
        return DEFAULT_DIM
    if 3 * heads <= MAX_DIM:
        return 3 * heads
    return MAX_DIM // heads * heads


def _suggest(dim, heads):
    """Working values near the ones given, for the error message."""
    dims = [d for d in range(heads, MAX_DIM + 1, heads)][:3]
    divisors = [h for h in range(1, dim + 1) if dim % h == 0]
    return (
        f"try --dim {' or --dim '.join(map(str, dims))}, or --heads {', '.join(map(str, divisors))}"
        f" (or leave out --dim: it is then chosen to fit --heads)"
    )


def check_writable_folder(path, command):
    """Fail early, before any work, when `path` cannot become a folder we can write in."""
    probe = nearest_existing(path)
    if not os.path.isdir(probe):
        raise UsageError(f"{command}: --out {path} cannot be created: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{command}: --out {path} is not writable ({probe} is read-only)")
