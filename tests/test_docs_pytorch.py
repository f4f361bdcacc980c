"""docs/09_pytorch.md runs as written: every code block on the page is marked with what it
needs (`<!-- run: ours -->` or `<!-- run: torch -->`), the blocks of each kind run in order
and print what their comments say, and the two columns of the side-by-side table match line
for line. The PyTorch blocks run in tests/test_torch_docs.py (`make test-torch`)."""

import contextlib
import io
import re
from pathlib import Path

PAGE = Path(__file__).parent.parent / "docs" / "09_pytorch.md"
BLOCK = re.compile(r"(?:<!-- run: (\w+) -->\n)?```python\n(.*?)```", re.S)


def blocks(kind=None):
    """(kind, code) of every python block on the page, in order; only `kind` if given."""
    found = BLOCK.findall(PAGE.read_text())
    return [(k, code) for k, code in found if kind is None or k == kind]


def run_in_order(codes, monkeypatch, tmp_path):
    """Run the blocks one after another in one namespace, as a reader would, and check
    that each `print(...)  # text` printed `text`."""
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for code in codes:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(code, str(PAGE), "exec"), namespace)
        promised = [m.strip() for m in re.findall(r"print\(.*\)\s+#\s*(.+)", code)]
        assert printed.getvalue().splitlines() == promised, code
    return namespace


def test_every_code_block_says_what_it_needs():
    kinds = [kind for kind, _ in blocks()]
    assert kinds and set(kinds) == {"ours", "torch"}, kinds  # "" would be a block left unrun


def test_our_side_of_the_page_runs_and_prints_what_it_says(monkeypatch, tmp_path):
    namespace = run_in_order([code for _, code in blocks("ours")], monkeypatch, tmp_path)
    assert namespace["model"].training is False and not namespace["model"].drop.training


def test_the_two_columns_match_line_for_line():
    table = PAGE.read_text().split("<table>", 1)[1].split("</table>", 1)[0]
    rows = table.split("</td></tr>")[:-1]
    assert len(rows) == 4
    for row in rows:
        ours, theirs = (code for _, code in BLOCK.findall(row))
        assert len(ours.splitlines()) == len(theirs.splitlines()), (ours, theirs)
        # the same text, once the names that differ are put side by side
        for a, b in zip(ours.splitlines(), theirs.splitlines()):
            a = a.replace("Tensor(", "torch.tensor(").replace("with no_grad", "with torch.no_grad")
            if "import" in a or "manual_seed" in a:
                continue  # the imports name the two libraries
            assert a == b
