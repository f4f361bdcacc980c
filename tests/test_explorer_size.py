"""The explorer page stays small at the largest flags it accepts: each figure's cells are
packed into two attributes (the page's script unpacks them), the data carries no number
twice, a long training makes a short replay, and what the page cannot draw is refused."""

import json
import pathlib
import xml.etree.ElementTree as ET

import pytest
from figure_checks import SVG, elements

from tinygrad_attn.cli import main
from tinygrad_attn.commands.explore import MAX_DIM
from tinygrad_attn.stages import MAX_WORD_LENGTH, MAX_WORDS, Stages
from tinygrad_attn.viz.composite import Term, term_svg
from tinygrad_attn.viz.explorer import explorer_page, page_data

SENTENCE = "I play with a cat and it purrs"


def test_a_packed_term_holds_the_static_terms_cells():
    values = [[1.0, -0.5, 0.0], [0.25, 2.0, -1.5]]
    t = Term("w", "weights", values, ["a", "b"], ["x", "y", "z"], masked=((0, 1),))
    static, packed = ET.fromstring(term_svg(t)), ET.fromstring(term_svg(t, packed=True))
    rects = elements(static, "rect", "cell") + elements(static, "rect", "cell masked")
    rects.sort(key=lambda r: (int(r.get("y")), int(r.get("x"))))
    (cells,) = elements(packed, "g", "cells")
    x0, y0, size, dy = cells.get("data-grid").split()
    assert (x0, y0, size) == (rects[0].get("x"), rects[0].get("y"), rects[0].get("width"))
    expected = ["!" * ("masked" in r.get("class")) + r.get("fill")[1:] for r in rects]
    assert cells.get("data-fills").split() == expected and expected[1].startswith("!")
    (numbers,) = elements(packed, "g", "values")
    static_numbers = [e.text for g in elements(static, "g", "values") for e in g]
    assert numbers.get("data-texts").split() == static_numbers == ["1.00", "0.00", "0.25", "2.00",
                                                                   "-1.50"]  # fmt: skip
    first = next(iter(elements(static, "g", "values")[0]))
    assert float(first.get("y")) == pytest.approx(int(y0) + int(size) / 2 + float(dy), abs=0.05)
    # everything else (names, labels, shape, crosses) is the same in both
    assert [e.tag for e in static if e.tag != SVG + "g"] == [
        e.tag for e in packed if e.tag != SVG + "g"
    ]


def test_the_default_page_is_small():
    page = explorer_page({"random": Stages.random(SENTENCE)})
    assert len(page.encode()) < 250_000


def largest_sentences():
    """The sentences that make the largest pages: as many words as a sentence may have, each
    as long as a word may be, in the letters that cost the page most (an "&" is written
    "&amp;" in HTML; a letter outside ASCII takes up to 4 bytes of UTF-8); and the longest
    words the story model knows, as many as it reads after its start mark (so that its
    layer is drawn on them, not on its own sentence)."""
    from tinygrad_attn.story_model import load_story

    def words(letter):  # all different, so that no two labels are the same
        return " ".join(letter * (MAX_WORD_LENGTH - 2) + f"{k:02d}" for k in range(MAX_WORDS))

    _, task, _ = load_story()
    known = sorted(task.vocab[2:], key=len)[-(MAX_WORDS - 1) :]
    return {
        "words of &": words("&"),
        "words of emoji": words("\U0001f600"),
        "the story model's words": " ".join(known),
    }


@pytest.mark.parametrize("which", list(largest_sentences()))
def test_the_largest_page_explore_accepts_stays_under_2_mb(tmp_path, capsys, which):
    sentence = largest_sentences()[which]
    heads = MAX_DIM  # the most heads: the most drawings of stages 3 to 5
    flags = ["--sentence", sentence, "--dim", str(MAX_DIM), "--heads", str(heads)]
    assert main(["explore", "--out", str(tmp_path), *flags]) == 0
    page = (tmp_path / "index.html").read_bytes()
    # the shipped story model is drawn too, with its replay
    assert b'data-view="trained"' in page and b'<section class="replay">' in page
    assert page.count(b'<div class="variant" data-view="random" data-head="16">') == 3
    if which == "the story model's words":
        assert b"so it reads" not in page  # it reads them: its largest drawing
    print(f"{which}: {len(page)} bytes")
    assert len(page) < 2_000_000


def test_a_long_training_record_makes_a_small_replay():
    words = SENTENCE.split()
    weights = [[1.0 / (i + 1) if j <= i else 0.0 for j in range(8)] for i in range(8)]
    replay = {
        "words": words,
        "snapshots": [{"step": k, "weights": weights} for k in range(0, 20_001, 10)],
        "loss": [1.0 / (k + 1) for k in range(20_000)],
        "caption": "a long training",
    }
    page = explorer_page({"random": Stages.random(SENTENCE)}, replay)
    data = page_data({"random": Stages.random(SENTENCE)}, replay)["replay"]
    assert len(data["steps"]) == 101 and data["steps"][0] == 0 and data["steps"][-1] == 20_000
    assert data["loss_every"] == 20 and data["weights"][0][7] == [0.12] * 8
    assert page.count("<polyline") == 1 and len(page.encode()) < 400_000


def test_explore_load_of_a_model_too_wide_to_draw_is_one_line_exit_2(tmp_path, capsys):
    from tinygrad_attn.train import Config, make_model, save_trained

    config = Config(task="story", d_model=32, num_heads=4)
    wide = save_trained(make_model(config), config, tmp_path / "wide.json")
    out = tmp_path / "site"
    assert main(["explore", "--load", str(wide), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "32 numbers per word" in err and f"at most {MAX_DIM}" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_explore_load_of_a_training_record_too_long_to_draw_is_one_line_exit_2(tmp_path, capsys):
    from tinygrad_attn.story_model import SHIPPED

    weights = json.loads(pathlib.Path(SHIPPED).read_text())
    weights["info"]["replay"]["words"] = ["cat"] * (MAX_WORDS + 1)
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(weights))
    out = tmp_path / "site"
    assert main(["explore", "--load", str(edited), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"shows {MAX_WORDS + 1} words; the page draws at most {MAX_WORDS}" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()
