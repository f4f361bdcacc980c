"""The `tinygrad-attn` command (also `python -m tinygrad_attn`).

Each subcommand is a function `cmd_<name>(args)` that returns an exit status. Errors reach
the user as one line on stderr: usage errors exit with 2, runtime failures with 1, and a
traceback is shown only with `--debug`.
"""

import argparse
import sys

__all__ = ["main", "UsageError"]


class UsageError(Exception):
    """A bad flag or value on the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2)."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see --help)")


# ---------------------------------------------------------------------- subcommands


def cmd_gradcheck(args):
    """Check the gradient of every op against finite differences; exit 1 on any failure."""
    from .checks import run_checks

    results = run_checks(seed=args.seed, only=args.only)
    if not results:
        raise UsageError(f"gradcheck: no check name starts with {args.only!r}")
    width = max(len(name) for name, _ in results)
    failed = 0
    print(f"{'check'.ljust(width)}  {'max abs err':>11}  {'max rel err':>11}  result")
    for name, result in results:
        failed += not result.ok
        print(
            f"{name.ljust(width)}  {result.max_abs_err:11.2e}  {result.max_rel_err:11.2e}  "
            f"{'ok' if result.ok else 'FAIL'}"
        )
        if args.verbose or not result.ok:
            print("    " + result.table(max_rows=12).replace("\n", "\n    "))
    print(f"\n{len(results) - failed} of {len(results)} checks passed")
    return 1 if failed else 0


# ---------------------------------------------------------------------- the parser


def build_parser():
    parser = _Parser(
        prog="tinygrad-attn",
        description="How transformers learn, built from first principles in pure Python.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "gradcheck",
        help="prove every derivative with finite differences",
        description=cmd_gradcheck.__doc__,
    )
    p.add_argument("--seed", type=int, default=0, help="seed for the random test points")
    p.add_argument("--only", default=None, help="run checks whose name starts with this")
    p.add_argument("-v", "--verbose", action="store_true", help="print every check's table")
    p.set_defaults(func=cmd_gradcheck)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        return args.func(args)
    except UsageError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a runtime failure: one line unless --debug
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
