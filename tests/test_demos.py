"""Every demo runs from a fresh process and exits with status 0.

The demos train models, so together they take about a minute. They run one after another in
a background thread, started when pytest has collected the tests (conftest.py), on the
machine's second core while the other tests run on the first; their tests are moved to the
end of the run and read the results there.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

DEMOS = sorted((Path(__file__).parent.parent / "demos").glob("[0-9][0-9]_*.py"))
TIMEOUT = 300  # seconds for one demo


def run_demo(demo):
    """Run `demo` in a fresh process, in a new empty folder (demos write their files under
    the current folder); its CompletedProcess."""
    folder = tempfile.mkdtemp(prefix="demo-")
    try:
        return subprocess.run(
            [sys.executable, str(demo)],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=dict(os.environ, MPLBACKEND="Agg"),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class Background:
    """The demos run one by one in a thread; `result(demo)` waits for one's outcome."""

    def __init__(self, demos):
        self.done = {demo: threading.Event() for demo in demos}
        self.outcome = {}
        self.stopping = False
        thread = threading.Thread(target=self._run_all, args=(list(demos),), daemon=True)
        thread.start()
        atexit.register(self.stop)

    def _run_all(self, demos):
        for demo in demos:
            if self.stopping:
                break
            try:
                self.outcome[demo] = run_demo(demo)
            except Exception as error:  # a timeout, say: the demo's test reports it
                self.outcome[demo] = error
            self.done[demo].set()

    def result(self, demo):
        self.done[demo].wait(timeout=TIMEOUT * len(self.done))
        outcome = self.outcome.get(demo)
        if isinstance(outcome, Exception) or outcome is None:
            raise AssertionError(f"{demo.name} did not finish: {outcome!r}")
        return outcome

    def stop(self):
        self.stopping = True  # the demo running now finishes (within TIMEOUT); no other starts


background = None  # started by conftest.py's pytest_collection_modifyitems


def start_in_background(demos):
    global background
    if background is None and demos:
        background = Background(demos)


def test_there_are_demos_in_reading_order():
    names = [d.name for d in DEMOS]
    assert names[0].startswith("01_") and names == sorted(names)


@pytest.mark.parametrize("demo", DEMOS, ids=[d.name for d in DEMOS])
def test_demo_runs_and_opens_with_what_you_will_see(demo):
    source = demo.read_text()
    assert source.startswith('"""') and "What you will see" in source and "# %%" in source
    result = background.result(demo) if background else run_demo(demo)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()


@pytest.mark.parametrize("demo", DEMOS, ids=[d.name for d in DEMOS])
def test_demo_says_how_to_run_it_inside_and_outside_the_venv(demo):
    header = demo.read_text().split('"""')[1]
    assert f".venv/bin/python demos/{demo.name}" in header
    assert f"python demos/{demo.name}" in header and ". .venv/bin/activate" in header
