"""`tinygrad-attn bench`: the speed and memory tables (the `benchmarks/` suite of the repo)."""

import importlib
import os
import sys

from ..cli import UsageError

HELP = "speed and memory, side by side with the references (the benchmarks/ suite)"

DESCRIPTION = """Run the benchmark suite of the source repository (the same as `make bench` or
`python -m benchmarks`): the scalar engine against micrograd, the attention layer on every
engine, matrix multiplication against plain Python loops, fused against composed softmax.
Engines take turns in one process and the tables report ratios. micrograd and PyTorch are
used when installed."""

WORKLOADS = ["value", "attention", "matmul", "softmax", "names"]


def add_arguments(parser):
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, one round: checks that it all runs"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"only these workloads (repeat or comma list): {', '.join(WORKLOADS)}",
    )
    parser.add_argument("--rounds", type=int, metavar="N", help="turns per engine (default 9)")


def run(args):
    names = [n.strip() for item in args.only or [] for n in item.split(",") if n.strip()]
    if args.only is not None and not names:  # `--only ,` or `--only ""`: not "everything"
        raise UsageError(f"bench: --only names no workload; choose from {', '.join(WORKLOADS)}")
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise UsageError(
            f"bench: unknown workload {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}"
        )
    if args.rounds is not None and args.rounds < 1:
        raise UsageError(f"bench: --rounds must be at least 1, got {args.rounds}")
    suite = _benchmarks_module()
    argv = ["--quick"] if args.quick else []
    argv += [f"--only={','.join(names)}"] if names else []
    argv += [f"--rounds={args.rounds}"] if args.rounds is not None else []
    return suite.main(argv)


def _benchmarks_module():
    """The suite lives next to the package in the source repository, not inside it."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.isfile(os.path.join(repo, "benchmarks", "__main__.py")) and repo not in sys.path:
        sys.path.insert(0, repo)
    try:
        return importlib.import_module("benchmarks.__main__")
    except ImportError:
        raise RuntimeError(
            "bench: the benchmark suite is part of the source repository, not of the installed "
            "package; run it from a clone of the repository (make bench)"
        ) from None
