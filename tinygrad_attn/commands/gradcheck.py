"""`tinygrad-attn gradcheck`: prove every derivative of the engine with finite differences."""

from ..checks import run_checks
from ..cli import UsageError

HELP = "prove every derivative with finite differences"

DESCRIPTION = """Check the gradient of every op and layer against central differences and
print one line per check (exit status 1 if any fails)."""


def add_arguments(parser):
    parser.add_argument("--seed", type=int, default=0, help="seed for the random test points")
    parser.add_argument(
        "--only", default=None, help="run the checks whose name starts with this (e.g. Tensor)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print every check's table")


def run(args):
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
