"""`python -m benchmarks.ab REV [--rounds N]`: this checkout against git revision REV.

What did a change cost? The package as it is at REV is exported (`git archive`) into a
temporary folder under another name, `tinygrad_attn_at_rev`, and imported next to the
package of this checkout, so the two take turns in ONE process (see timing.py) on the same
three workloads:

* attention: causal multi-head self-attention, (T, d_model, heads) = (32, 32, 4), forward
  and backward (workload B of `python -m benchmarks`);
* training step: `tinygrad-attn train`'s model and Adam on one batch of 32 `recall`
  sequences: forward, loss, zero_grad, backward, step;
* Value step: the scalar engine's MLP training step (workload A).

Shared machines are noisy, so the two copies alternate in short batches (about 0.1 s each,
the order swapped every round), times are CPU seconds of this process (less sensitive to
other programs than the wall clock), and the figure that counts is the median over the
rounds of each round's ratio now / REV: a slow moment hits both halves of a round alike.
The table also gives the minimum ms per call of each. Above 1: slower now.
"""

import argparse
import gc
import importlib
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

from .bench_value import dataset, make_mlp, mlp_numbers, train_step
from .timing import fmt_ms, markdown_table

RENAMED = "tinygrad_attn_at_rev"


def load_revision(rev, folder):
    """Import the package as it is at git revision `rev` as the module `RENAMED`."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    archive = os.path.join(folder, "package.tar")
    with open(archive, "wb") as f:
        subprocess.run(["git", "-C", repo, "archive", rev, "tinygrad_attn"], stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    os.rename(os.path.join(folder, "tinygrad_attn"), os.path.join(folder, RENAMED))
    for root, _, files in os.walk(os.path.join(folder, RENAMED)):
        for name in files:
            text = (
                open(os.path.join(root, name), encoding="utf-8").read()
                if name[-3:] == ".py"
                else ""
            )
            if re.search(r"^\s*(from|import) tinygrad_attn\b", text, re.M):
                raise SystemExit(f"{rev}:{name} imports tinygrad_attn by name; cannot rename it")
    sys.path.insert(0, folder)
    return importlib.import_module(RENAMED)


def workloads(pkg):
    """{name: zero-argument step} for one copy of the package."""
    nn, train, tasks = (
        importlib.import_module(f"{pkg.__name__}.{m}") for m in ("nn", "train", "tasks")
    )
    Tensor = pkg.Tensor

    mha = nn.MultiHeadAttention(32, 4, causal=True, rng=0)
    x = Tensor.randn(32, 32, rng=1)

    def attention():
        mha.zero_grad()
        y = mha(x)
        (y * y).mean().backward()

    config = train.Config()
    model = train.make_model(config)
    batch = tasks.Data(tasks.get_task(config.task), seed=0, heldout_size=8).batch(32)
    optimizer = pkg.optim.Adam(model.parameters(), lr=config.lr)

    def training_step():
        loss, _, _ = train.loss_and_logits(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    layers = make_mlp(pkg.Value, mlp_numbers(2, [16, 16, 1]))
    points, labels = dataset(32)

    def value_step():
        train_step(layers, points, labels)

    return {"attention": attention, "training step": training_step, "Value step": value_step}


def time_pair(now, rev, rounds, batch_seconds=0.1):
    """Per-round ratios now / rev, and the fastest ms per call of each."""
    n = 1
    while _batch(now, n) < batch_seconds / 2:  # calls per batch: about batch_seconds
        n *= 2
    ratios, best_now, best_rev = [], float("inf"), float("inf")
    for r in range(rounds):
        if r % 2:
            t_rev, t_now = _batch(rev, n), _batch(now, n)
        else:
            t_now, t_rev = _batch(now, n), _batch(rev, n)
        ratios.append(t_now / t_rev)
        best_now, best_rev = min(best_now, t_now / n), min(best_rev, t_rev / n)
    return ratios, best_now, best_rev


def _batch(fn, n):
    gc.collect()
    start = time.process_time()
    for _ in range(n):
        fn()
    return time.process_time() - start


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ab", description=__doc__)
    parser.add_argument("rev", help="the git revision to compare with, e.g. main or HEAD~3")
    parser.add_argument("--rounds", type=int, default=30, help="turns per copy (default 30)")
    args = parser.parse_args(argv)
    import tinygrad_attn as now

    with tempfile.TemporaryDirectory() as folder:
        then = load_revision(args.rev, folder)
        ours, theirs = workloads(now), workloads(then)
        rows = []
        for name in ours:
            ratios, best_now, best_rev = time_pair(ours[name], theirs[name], args.rounds)
            rows.append(
                [
                    name,
                    fmt_ms(best_rev),
                    fmt_ms(best_now),
                    f"{statistics.median(ratios):.3f}",
                    f"{min(ratios):.3f} .. {max(ratios):.3f}",
                ]
            )
    print(f"This checkout against {args.rev}: {args.rounds} rounds in one process, CPU time\n")
    headers = ["workload", f"ms at {args.rev}", "ms now", "now / rev (median)", "range"]
    print(markdown_table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
