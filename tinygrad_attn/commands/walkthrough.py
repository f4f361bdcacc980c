"""`tinygrad-attn walkthrough`: attention stage by stage, on a real sentence (`make demo`)."""

import os

from ..cli import UsageError, nearest_existing
from ..viz.render import find_renderer
from ..walkthrough import DEFAULT_DIM, DEFAULT_HEADS, DEFAULT_SENTENCE
from ..walkthrough import run as run_walkthrough

HELP = "attention stage by stage: X, Q K V, scores, softmax, heads, W^O, gradients"

DESCRIPTION = """Walk through attention on a sentence: the words become a matrix X; Q, K and V
are X seen through three weight matrices; scores = Q K^T / sqrt(d_k); softmax makes each row
probabilities; weights @ V is one head; heads are concatenated and projected by W^O. Then a
loss, the gradients of W_q, W_k, W_v, W_o and a gradient check. Every stage is printed and
drawn (SVG) into --out. Weights are seeded: the same flags give the same numbers."""

MAX_WORDS = 12


def add_arguments(parser):
    parser.add_argument(
        "--sentence", default=DEFAULT_SENTENCE, help=f'the words (default: "{DEFAULT_SENTENCE}")'
    )
    parser.add_argument(
        "--dim",
        type=int,
        default=DEFAULT_DIM,
        help=f"numbers per word, d_model (default {DEFAULT_DIM}; --dim 3 --heads 1 is one head "
        "of 4 words x 3 numbers)",
    )
    parser.add_argument(
        "--heads",
        type=int,
        default=DEFAULT_HEADS,
        help=f"attention heads; must divide --dim (default {DEFAULT_HEADS})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights (default 0)")
    parser.add_argument(
        "--out", default="out/walkthrough", help="folder for the figures (default out/walkthrough)"
    )


def run(args):
    words = args.sentence.split()
    if not words:
        raise UsageError("walkthrough: --sentence is empty; give at least one word")
    if len(words) > MAX_WORDS:
        raise UsageError(
            f"walkthrough: --sentence has {len(words)} words; at most {MAX_WORDS} fit the tables"
        )
    if args.dim < 1:
        raise UsageError(f"walkthrough: --dim must be at least 1, got {args.dim}")
    if args.dim > 16:
        raise UsageError(f"walkthrough: --dim must be at most 16 (tables get wide), got {args.dim}")
    if args.heads < 1 or args.dim % args.heads:
        raise UsageError(
            f"walkthrough: --heads must divide --dim: {args.dim} is not divisible by {args.heads}"
        )
    check_writable_folder(args.out, "walkthrough")
    find_renderer()  # none: a runtime failure (status 1), before any work
    run_walkthrough(" ".join(words), args.dim, args.heads, args.seed, args.out)
    return 0


def check_writable_folder(path, command):
    """Fail early, before any work, when `path` cannot become a folder we can write in."""
    probe = nearest_existing(path)
    if not os.path.isdir(probe):
        raise UsageError(f"{command}: --out {path} cannot be created: {probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UsageError(f"{command}: --out {path} is not writable ({probe} is read-only)")
