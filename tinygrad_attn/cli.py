"""The `tinygrad-attn` command (also `python -m tinygrad_attn`).

Each subcommand is a module in `commands/` with `HELP`, `add_arguments(parser)` and
`run(args)`. Errors reach the user as one line on stderr: usage errors exit with status 2,
runtime failures with 1, and a traceback is shown only with `--debug`.
"""

import argparse
import importlib
import os
import pkgutil
import sys

__all__ = ["main", "UsageError", "build_parser", "path_flag", "nearest_existing"]

# The order in `--help`: the main job first. Modules not listed here come after, by name.
ORDER = ["walkthrough", "graph", "gradcheck", "train", "generate", "explore", "bench"]


class UsageError(Exception):
    """A bad flag or value on the command line: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2)."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see --help)")


def path_flag(text):
    """The argparse `type` of every flag that names a file or folder: an empty one is a
    usage error (it would pass the early checks and fail after the work, or silently mean
    the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the path is empty; give a file or folder name")
    return text


def nearest_existing(path):
    """`path` itself if it exists, else its nearest existing parent: where making it would
    start. Subcommands check that one before any work, to fail early on a bad --out."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _command_modules():
    from . import commands

    names = [m.name for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")]
    names.sort(key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))
    return [(name, importlib.import_module(f"{commands.__name__}.{name}")) for name in names]


def build_parser():
    parser = _Parser(
        prog="tinygrad-attn",
        description="How transformers learn, built from first principles in pure Python.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module in _command_modules():
        p = sub.add_parser(
            name, help=module.HELP, description=getattr(module, "DESCRIPTION", module.HELP)
        )
        p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
        module.add_arguments(p)
        p.set_defaults(func=module.run)
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as done:  # --help printed the help: that is all
            return done.code or 0
        if args.command is None:
            commands = ", ".join(name for name, _ in _command_modules())
            raise UsageError(f"tinygrad-attn: choose a command: {commands} (see --help)")
        status = args.func(args)
        sys.stdout.flush()  # here, where a reader who left early (`| head`) is handled below
        return status
    except UsageError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError as error:  # Python's own has no message: say what it means
        if debug:
            raise
        print(
            f"error: out of memory{': ' + str(error) if str(error) else ''}; the sizes asked "
            f"for need more memory than this machine has: use smaller ones",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:  # whoever read our output stopped (`| head`): they had enough.
        _silence_stdout()  # Stop quietly, and successfully: the work was done
        return 0
    except Exception as error:  # a runtime failure: one line unless --debug
        if debug:
            raise
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if not isinstance(error, (OSError, RuntimeError, ValueError, TypeError, IndexError)):
            message = f"{type(error).__name__}: {message} (--debug shows where)"  # a bug
        print(f"error: {message}", file=sys.stderr)
        return 1


def _silence_stdout():
    """Point stdout at devnull, so that Python's final flush of it cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests)
        pass
