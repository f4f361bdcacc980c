"""Timing engines side by side, and printing the results as markdown tables.

Machines are shared and noisy, so every comparison runs in ONE process with the engines
taking turns: in each round every engine runs one batch of calls (the order rotates from
round to round), and an engine's figure is the minimum over the rounds of the mean time per
call in a batch. A slow moment on the machine then hits every engine alike, and the minimum
keeps the least disturbed batch. `gc.collect()` runs before each batch so no engine pays for
another's garbage; the garbage collector stays on while timing, as it is for users.
"""

import gc
import math
import time

__all__ = [
    "EnginesDisagree",
    "Settings",
    "compare",
    "speedup",
    "verdict",
    "fmt_ms",
    "fmt_x",
    "markdown_table",
]


class EnginesDisagree(RuntimeError):
    """Two engines computed different numbers for the same workload: timing them is moot."""


class Settings:
    """How hard to time: `rounds` turns per engine, each a batch of about `batch_seconds`.
    `quick` also asks each workload for its tiny sizes (a check that the code runs).
    `before` is the package at an earlier revision to time beside this one (before.py),
    `before_name` that revision's short name; None and "" leave it out."""

    def __init__(self, rounds=5, batch_seconds=0.25, quick=False, before=None, before_name=""):
        self.rounds = rounds
        self.batch_seconds = batch_seconds
        self.quick = quick
        self.before = before
        self.before_name = before_name

    def verdict(self, value, target, at_least=True):
        """PASS or MISS, except with --quick: tiny sizes say nothing about the targets."""
        return "n/a (--quick)" if self.quick else verdict(value, target, at_least)


def compare(engines, settings):
    """{name: seconds per call} for {name: zero-argument function}, timed side by side.

    >>> times = compare({"sum": lambda: sum(range(100))}, Settings(rounds=2, batch_seconds=0))
    >>> times["sum"] > 0
    True
    """
    reps = {name: _calls_per_batch(fn, settings.batch_seconds) for name, fn in engines.items()}
    best = dict.fromkeys(engines, math.inf)
    names = list(engines)
    for r in range(settings.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:  # rotate the order
            fn, n = engines[name], reps[name]
            gc.collect()
            start = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / n)
    return best


def _calls_per_batch(fn, batch_seconds):
    """How many calls of `fn` fill about `batch_seconds` (at least 1). The first call is
    also the warm-up."""
    n, elapsed = 1, 0.0
    while True:
        gc.collect()
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= batch_seconds / 4 or n >= 100_000:
            break
        n *= 4
    return max(1, round(n * batch_seconds / elapsed)) if elapsed > 0 else n


# ---------------------------------------------------------------------- reading the figures


def speedup(slow_seconds, fast_seconds):
    """How many times faster the second time is than the first (None if either is missing)."""
    if slow_seconds is None or fast_seconds is None:
        return None
    return slow_seconds / fast_seconds


def verdict(value, target, at_least=True):
    """PASS or MISS for a ratio against its target; "skipped" when there is no figure.

    >>> verdict(2.0, 1.5), verdict(0.3, 0.25, at_least=False), verdict(None, 1.0)
    ('PASS', 'MISS', 'skipped')
    """
    if value is None:
        return "skipped"
    ok = value >= target if at_least else value <= target
    return "PASS" if ok else "MISS"


def fmt_ms(seconds):
    """Milliseconds with three significant digits.

    >>> fmt_ms(0.0123), fmt_ms(1.5), fmt_ms(0.0000456)
    ('12.3', '1500', '0.0456')
    """
    if seconds is None:
        return "n/a"
    ms = seconds * 1000
    return f"{ms:.0f}" if ms >= 100 else f"{ms:.3g}"


def fmt_x(ratio):
    """A ratio as '12.3x' ('n/a' when missing).

    >>> fmt_x(12.34), fmt_x(0.5), fmt_x(0.00345), fmt_x(None)
    ('12.3x', '0.50x', '0.0034x', 'n/a')
    """
    if ratio is None:
        return "n/a"
    if ratio >= 10:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


def markdown_table(headers, rows):
    """A markdown table with padded columns, readable in a terminal and in README.md.

    >>> print(markdown_table(["engine", "ms"], [["Tensor", "1.5"]]))
    | engine | ms  |
    | ------ | --- |
    | Tensor | 1.5 |
    """
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"

    separator = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(cells[0]), separator, *(line(row) for row in cells[1:])])
