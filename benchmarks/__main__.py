"""`python -m benchmarks [--quick] [--only NAME,...] [--rounds N] [--before REV]`: the tables.

Each workload prints one markdown table (ready for README.md) with its figures, the ratio its
target is about, the target and PASS or MISS; beside this checkout's figures, the same
workload on the package as it was at an earlier revision (before.py; `--before none` leaves
it out). Exit status 1 when two engines compute
different numbers (nothing is timed then), 2 for a usage error, 0 otherwise: a MISS is a
result, not a failure.
"""

import argparse
import datetime
import os
import platform
import sys
import time
from importlib import metadata

from . import before, bench_attention, bench_matmul, bench_names, bench_softmax, bench_value
from .timing import EnginesDisagree, Settings

WORKLOADS = {
    "value": bench_value.run,
    "attention": bench_attention.run,
    "matmul": bench_matmul.run,
    "softmax": bench_softmax.run,
    "names": bench_names.run,
}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Speed and memory of tinygrad_attn, side by side with the references.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and one round: checks that it all runs"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these workloads (repeat it or give a comma list): {', '.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--rounds", type=int, metavar="N", help="turns per engine (default 9; 1 with --quick)"
    )
    parser.add_argument(
        "--before",
        metavar="REV",
        help=f"the git revision timed beside this checkout (default: the one before the speed "
        f"work, {before.BASELINE:.10s}; with --quick: none); 'none' leaves it out",
    )
    args = parser.parse_args(argv)
    names = [n.strip() for item in args.only or [] for n in item.split(",") if n.strip()]
    if args.only is not None and not names:  # `--only ,`: not "everything"
        parser.error(f"--only names no workload; choose from {', '.join(WORKLOADS)}")
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    if args.rounds is not None and args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    args.only = [n for n in WORKLOADS if n in names] if names else list(WORKLOADS)
    return args


def header(settings):
    """Where and when the figures were taken, and how."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    python = f"{platform.python_implementation()} {platform.python_version()}"
    lines = [
        f"{python} on {platform.platform()}, {os.cpu_count()} CPUs, {now}",
        f"References: micrograd {_version('micrograd')}, torch {_version('torch')}.",
        (
            f"'before': the package at revision {settings.before_name}, in the same process."
            if settings.before
            else f"No 'before' figures: {settings.before_name or 'left out (--before none)'}."
        ),
        f"Each time is the minimum over {settings.rounds} round(s) of the mean of a batch of "
        "calls; the engines of a table take turns in one process.",
    ]
    return "\n".join(lines)


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv=None):
    args = parse_args(argv)
    if args.quick:
        settings = Settings(rounds=args.rounds or 1, batch_seconds=0.0, quick=True)
    else:
        settings = Settings(rounds=args.rounds or 9, batch_seconds=0.3)
    if args.before is None:
        args.before = "none" if args.quick else before.BASELINE
    if args.before.lower() != "none":
        settings.before, settings.before_name = before.load(args.before)
    print(header(settings), flush=True)
    start = time.perf_counter()
    for name in args.only:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            title, table, notes = WORKLOADS[name](settings)
        except EnginesDisagree as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print(f"\n### {title}\n\n{table}\n")
        for note in notes:
            print(note)
        sys.stdout.flush()
    print(f"\nFinished in {time.perf_counter() - start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
