"""The engine as it was: the package at an earlier git revision, timed beside this one.

A speed-up is only believable beside the figure it improves on, measured on the same
machine at the same moment. So the tables of `python -m benchmarks` carry, next to every
figure of this checkout, the same workload on the package as it was at `BASELINE` (the
revision before the engine was reworked for speed: generated dot-product kernels, the
attention core as one op, the leaner scalar engine). It is exported from git into a
temporary folder and imported under another name beside this checkout's package, as
`python -m benchmarks.ab` does, so both take turns in one process. `--before REV` picks
another revision, `--before none` leaves the column out.
"""

import atexit
import os
import shutil
import subprocess
import tempfile

from .ab import load_revision

__all__ = ["BASELINE", "load"]

BASELINE = "77fce5bffb5957e142792aca1b12ebc79ff35b71"  # 2026-12-01, before the speed work
_loaded = {}


def load(rev):
    """(the package at git revision `rev`, a short name for it), or (None, why not)."""
    if rev in _loaded:
        return _loaded[rev]
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        short = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--short", rev],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        folder = tempfile.mkdtemp(prefix="tinygrad_attn_before_")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _loaded[rev] = load_revision(rev, folder), short
    except (OSError, subprocess.CalledProcessError, SystemExit) as error:
        _loaded[rev] = None, f"revision {rev} is not available ({error})"
    return _loaded[rev]
