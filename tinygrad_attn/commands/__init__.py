"""The subcommands of `tinygrad-attn`, one module each.

A module here defines `HELP` (one line for `tinygrad-attn --help`), `add_arguments(parser)`
and `run(args) -> exit status`. cli.py finds them; raise `UsageError` (from cli.py) for a bad
flag or value (exit status 2) and any other exception for a runtime failure (exit status 1).
"""
