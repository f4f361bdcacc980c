"""The docs say what the code does: figures come from the code, excerpts match the source."""

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)]+)\)")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)#]+)(#[^)]*)?\)")
EXCERPT = re.compile(r"<!-- source: (\S+) -->\n```python\n(.*?)```", re.S)


def load_make_figures():
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_pages_exist_in_reading_order():
    names = [p.name for p in PAGES]
    assert "README.md" in names
    numbered = [n for n in names if n[:2].isdigit()]
    assert numbered == sorted(numbered) and len(numbered) >= 7


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_image_and_link_in_the_docs_exists(page):
    text = page.read_text()
    for target in IMAGE.findall(text):
        assert (page.parent / target).is_file(), f"{page.name}: missing image {target}"
    for target, _ in LINK.findall(text):
        if target.startswith(("http://", "https://")):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_code_excerpts_in_the_docs_match_the_source(page):
    for path, block in EXCERPT.findall(page.read_text()):
        source_lines = [line.strip() for line in (ROOT / path).read_text().splitlines()]
        excerpt = [line.strip() for line in block.splitlines() if line.strip()]
        joined = "\n".join(source_lines)
        assert "\n".join(excerpt) in joined, f"{page.name}: excerpt from {path} drifted:\n{block}"


def test_every_figure_in_docs_assets_is_made_by_make_figures():
    make_figures = load_make_figures()
    produced = set(make_figures.figure_names())
    committed = {p.name for p in (DOCS / "assets").iterdir()}
    assert committed <= produced, f"not made by docs/make_figures.py: {committed - produced}"
    referenced = {Path(t).name for p in PAGES for t in IMAGE.findall(p.read_text())}
    assert referenced <= committed


def test_regenerated_figures_are_identical_to_the_committed_ones(tmp_path):
    make_figures = load_make_figures()
    written = make_figures.quick_figures(str(tmp_path))
    assert written
    for path in written:
        name = os.path.basename(path)
        committed = DOCS / "assets" / name
        assert committed.is_file(), f"{name} is not committed: run make docs"
        assert Path(path).read_bytes() == committed.read_bytes(), (
            f"docs/assets/{name} differs from what the code draws now: run make docs"
        )


def test_the_training_page_quotes_the_numbers_its_training_run_measured():
    # make docs trains the model of page 5 and writes what it measured next to the figures
    numbers = json.loads((DOCS / "assets" / "train_numbers.json").read_text())
    page = (DOCS / "05_training.md").read_text()
    page = " ".join(page.split())  # line breaks are spaces
    assert f"That is {numbers['parameters']:,} numbers to learn" in page
    assert f"only {numbers['attention_before']:.0%} of the attention lands on the right key" in page
    assert f"and {numbers['task_before']:.0%} of the answers are right" in page
    assert f"{numbers['attention_after']:.1%} of the attention of the answering words" in page
    assert f"and {numbers['task_after']:.0%} of the answers are right" in page
    loss = f"falls from {numbers['loss_before']:.2f} to {numbers['loss_after']:.3f}"
    assert loss in page


def test_the_next_token_page_quotes_the_numbers_its_training_runs_measured():
    # make docs trains the story and names models of page 10 (docs/next_token_figures.py)
    n = json.loads((DOCS / "assets" / "next_numbers.json").read_text())
    page = " ".join((DOCS / "10_next_token.md").read_text().split())
    worked, untrained = n["worked"], n["worked_untrained"]
    for word, logit, e in worked["top"]:
        assert f"| {word} | {logit:.2f} | {e:.2f} |" in page
    assert (
        f"| the other {worked['others']} tokens, together | | {worked['others_sum']:.2f} |" in page
    )
    assert f"| **all {n['story_vocab']} tokens** | | **{worked['total']:.2f}** |" in page
    purrs = worked["top"][0]
    assert f"{purrs[2]:.2f} / {worked['total']:.2f} = {worked['probability']:.3f}" in page
    assert f"-ln({worked['probability']:.3f}) = {worked['loss']:.3f}" in page
    logit, e = next((x[1], x[2]) for x in untrained["top"] if x[0] == "purrs")
    total, p = untrained["total"], untrained["probability"]
    assert f'"purrs" a logit of {logit:.2f}, e^{logit:.2f} = {e:.2f}, out of a total of' in page
    assert f"{e:.2f} / {total:.2f} = {p:.3f}, and a loss of `-ln({p:.3f})` = " in page
    assert f"= {untrained['loss']:.3f}, very surprised" in page
    before, after = n["story_before"], n["story"]
    assert f"| loss (nats per token) | {before['loss']:.2f} | {after['heldout_loss']:.3f} |" in page
    right = f"{before['task_accuracy']:.0%} | {after['task_accuracy']:.0%} |"
    assert f'| right word after "it" | {right}' in page
    assert f"| {before['attention_accuracy']:.0%} | {after['attention_accuracy']:.1%} |" in page
    assert f"{n['story_parameters']:,} numbers to learn, {after['steps']} steps" in page
    assert f'puts {n["it_on_cat"]:.2f} of head {n["best_head"]}\'s attention on "cat"' in page
    names = n["names"]
    assert f"| the bigram counts | {names['baseline_loss']:.3f} |" in page
    assert f"after {names['steps']} steps | {names['heldout_loss']:.3f} |" in page
    assert f"{n['names_training']:,} to train on, {n['names_heldout']} held out" in page
    assert ", ".join(n["names_samples"]) in page
    assert f"{n['names_new']} of the 50 are not in the list" in page
    low, high = n["names_lengths"]
    assert f"They are from {low} to {high} letters long" in page
    cooler = n["names_cooler"]
    low, high = cooler["lengths"]
    assert f"are all from {low} to {high} letters long" in page and 2 <= low and high <= 15
    new = ", ".join(map(str, cooler["new"][:-1])) + f" and {cooler['new'][-1]} of each 50"
    assert new in page and min(cooler["new"]) >= 25
    t = n["first_letter"]
    cold, warm, hot = (f"{t[k][1]:.0%}" for k in ("0.5", "1.0", "2.0"))
    assert (
        f'"{t["0.5"][0]}" goes from {cold} at temperature 0.5 to {warm} at 1 and {hot} at 2' in page
    )


def test_the_docs_state_no_timings_or_line_counts_that_nothing_measures():
    # how long a run takes depends on the machine and how busy it is; files grow
    for path in [*PAGES, ROOT / "README.md", *sorted((ROOT / "demos").glob("*.py"))]:
        text = " ".join(path.read_text().split())
        for stale in re.findall(r"about \d+ (?:seconds|minutes|lines)|\d+ lines\b", text):
            raise AssertionError(f"{path.name}: {stale!r}: measure it when the docs are built")


def test_text_fits_every_matrix_heatmap_and_chart_in_the_docs():
    # measured with the widths of the fonts the SVGs name, the widest of them
    from figure_checks import assert_nothing_overlaps

    names = list(load_make_figures().walkthrough_figures())
    names += [f"train_{name}" for name in load_make_figures().TRAINING]
    for name in names:
        svg = (DOCS / "assets" / name).read_text()
        try:
            assert_nothing_overlaps(svg)
        except AssertionError as error:
            raise AssertionError(f"docs/assets/{name}: {error}") from None


def test_the_engine_tour_states_the_length_of_every_core_file_truly():
    # docs/06 promises a core that reads in one sitting and says how long each file is
    page = (DOCS / "06_engine_tour.md").read_text()
    stated = re.findall(r"^\| `(tinygrad_attn/[\w/]+\.py)` \| (\d+) \|", page, re.M)
    assert len(stated) >= 8, "the table of the core's files is missing"
    for path, lines in stated:
        actual = len((ROOT / path).read_text().splitlines())
        assert int(lines) == actual, f"docs/06 says {path} has {lines} lines; it has {actual}"
