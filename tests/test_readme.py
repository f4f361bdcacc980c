"""The README's promises hold: its example runs and prints what its comments say."""

import contextlib
import io
import re
import subprocess
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    assert first_block.splitlines()[0].startswith("make demo")
    assert first_block.splitlines()[1].startswith("make test")


def test_readme_example_runs_and_prints_what_it_says(tmp_path, monkeypatch):
    code = README.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(code.strip().splitlines()) <= 10
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "README.md", "exec"), {})
    promised = [m.strip() for m in re.findall(r"print\(.*\)\s+#\s*(.+)", code)]
    assert printed.getvalue().splitlines() == promised
    drawn = (tmp_path / "mha.svg").read_bytes()
    assert drawn.lstrip().startswith(b"<?xml")
    # "the picture above" is the README's picture: the very file these lines write
    assert f"](docs/assets/{'mha.svg'})" in README
    assert drawn == (Path(__file__).parent.parent / "docs" / "assets" / "mha.svg").read_bytes()


def test_readme_links_point_to_files_that_exist():
    root = Path(__file__).parent.parent
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith("http"):
            assert (root / target).exists(), target


ROOT = Path(__file__).parent.parent


def next_commands_of_make_demo():
    """The commands `make demo` suggests when it ends (its indented echo lines)."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    echoed = re.findall(r"""@echo (['"])  (.+)\1""", recipe)
    return [command for _, command in echoed]


def test_make_demo_ends_with_the_next_commands_the_readme_lists():
    suggested = next_commands_of_make_demo()
    assert 3 <= len(suggested) <= 6  # a short list
    blocks = [b.splitlines() for b in re.findall(r"```sh\n(.*?)```", README, re.S)]
    listed = next(b for b in blocks if len(b) > 1 and all(c.startswith(".venv") for c in b))
    assert listed == suggested
    assert ". .venv/bin/activate" in README  # and how to run them without the path


def readme_commands():
    """Every command of the README's shell blocks but `make` (which CI runs in a fresh clone),
    without its comment."""
    blocks = re.findall(r"```sh\n(.*?)```", README, re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("make ")]


def test_the_readme_commands_run_verbatim_from_a_fresh_folder(tmp_path):
    # what a fresh clone has after `make demo`: the project's files and its .venv
    if not (ROOT / ".venv" / "bin" / "tinygrad-attn").exists():
        pytest.skip("no .venv here: make demo creates it")
    for name in (".venv", "demos"):
        (tmp_path / name).symlink_to(ROOT / name)
    commands = readme_commands()
    assert set(next_commands_of_make_demo()) <= set(commands)
    for command in commands:
        done = subprocess.run(
            ["sh", "-c", command], cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"{command}: {done.stderr[-2000:]}"
        assert done.stdout.strip(), command
