"""The README's promises hold: its example runs and prints what its comments say."""

import contextlib
import io
import re
from pathlib import Path

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
