"""Every demo runs from a fresh process and exits with status 0."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

DEMOS = sorted((Path(__file__).parent.parent / "demos").glob("[0-9][0-9]_*.py"))


def test_there_are_demos_in_reading_order():
    names = [d.name for d in DEMOS]
    assert names[0].startswith("01_") and names == sorted(names)


@pytest.mark.parametrize("demo", DEMOS, ids=[d.name for d in DEMOS])
def test_demo_runs_and_opens_with_what_you_will_see(demo, tmp_path):
    source = demo.read_text()
    assert source.startswith('"""') and "What you will see" in source and "# %%" in source
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, str(demo)],
        cwd=tmp_path,  # demos write their files under the current folder
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip()


@pytest.mark.parametrize("demo", DEMOS, ids=[d.name for d in DEMOS])
def test_demo_says_how_to_run_it_inside_and_outside_the_venv(demo):
    header = demo.read_text().split('"""')[1]
    assert f".venv/bin/python demos/{demo.name}" in header
    assert f"python demos/{demo.name}" in header and ". .venv/bin/activate" in header
