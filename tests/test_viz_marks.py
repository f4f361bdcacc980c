"""Specification of what figures say beyond colour: text that fits by the fonts' own widths,
shared colour scales, and the marks (head groups, frames, masked cells, faded rows, row
maxima), each explained in a key under the grid."""

import xml.etree.ElementTree as ET

import pytest
from figure_checks import (
    assert_nothing_overlaps,
    cells,
    elements,
    inside,
    parse,
    rect_corners,
    texts,
)

from tinygrad_attn.viz.figures import heatmap_svg, matrix_svg, shared_range
from tinygrad_attn.viz.fonts import FALLBACK, fit_text, text_width, wrap_text

WORDS = ["the", "cat", "sat"]


# ---------------------------------------------------------------------- text that fits


def test_text_is_measured_by_the_widest_of_the_named_fonts():
    # DejaVu Sans (what rsvg-convert falls back to) is the widest for most characters:
    # digits 0.636 of the font size, "W" 0.989; bold is wider still
    assert text_width("0", 10) == pytest.approx(6.37)
    assert text_width("W", 10) == pytest.approx(9.89)
    assert text_width("W", 10, bold=True) > text_width("W", 10)
    assert text_width("\u4e2d", 10) == pytest.approx(10 * FALLBACK)  # not in the tables
    assert text_width("e\u0301", 10) == text_width("e", 10)  # an accent adds no width


def test_fit_text_and_wrap_text_keep_within_the_room():
    assert fit_text("short", 12, 100) == "short"
    cut = fit_text("a label far too long for its room", 12, 80)
    assert cut.endswith("\u2026") and text_width(cut, 12) <= 80
    lines = wrap_text("attention weights = softmax(scaled scores), row by row", 14, 200, bold=True)
    assert len(lines) > 1 and all(text_width(line, 14, bold=True) <= 200 for line in lines)
    assert " ".join(lines) == "attention weights = softmax(scaled scores), row by row"


def test_a_long_bold_title_wraps_inside_the_figure():
    title = "W_q (6 x 6): a weight matrix, learned in training (random here)"
    root = parse(matrix_svg([[0.1, 0.2], [0.3, 0.4]], title=title))
    lines = texts(root, "title")
    assert len(lines) > 1 and " ".join(lines) == title
    assert_nothing_overlaps(ET.tostring(root, encoding="unicode"))


def test_long_captions_wrap_and_axis_names_are_cut_to_the_figure():
    caption = "from the 5th word on, each word should look at the sentence's word of its kind"
    root = parse(heatmap_svg([[1.0]], ["a"], ["a"], caption=caption, x_label="k" * 200))
    assert " ".join(texts(root, "caption")) == caption and len(texts(root, "caption")) > 1
    assert texts(root, "x-label")[0].endswith("\u2026")
    assert_nothing_overlaps(ET.tostring(root, encoding="unicode"))


# ---------------------------------------------------------------------- marks


def test_shared_range_gives_equal_numbers_equal_colours_in_two_figures():
    scores, scaled = [[2.0, -1.0], [0.5, 1.0]], [[1.0, -0.5], [0.25, 0.5]]
    vmin, vmax = shared_range([scores, scaled])
    a = parse(matrix_svg(scores, vmin=vmin, vmax=vmax))
    b = parse(matrix_svg(scaled, vmin=vmin, vmax=vmax))
    assert texts(a, "legend") == texts(b, "legend") == ["2.00", "0.00", "-2.00"]
    assert cells(a)[3][0] == cells(b)[0][0]  # 1.0 in both: one colour
    alone = parse(matrix_svg(scaled))
    assert cells(alone)[0][0] != cells(b)[0][0]  # on its own scale 1.0 would look darker


def test_column_and_row_groups_are_named_and_divided():
    root = parse(
        matrix_svg(
            [[1.0, 2.0, 3.0, 4.0]] * 4,
            col_groups=[("head 1", 2), ("head 2", 2)],
            row_groups=[("head 1", 2), ("head 2", 2)],
        )
    )
    assert texts(root, "col-group") == ["head 1", "head 2"]
    assert texts(root, "row-group") == ["head 1", "head 2"]
    lines = elements(root, "line", "group-line")
    assert len(lines) == 2  # one between the column groups, one between the row groups
    first_cell, third_cell = (rect_corners(e) for e in elements(root, "rect", "cell")[:3:2])
    assert float(lines[0].get("x1")) == pytest.approx(third_cell[0][0])
    assert_nothing_overlaps(ET.tostring(root, encoding="unicode"))
    with pytest.raises(ValueError, match=r"add up to 3, but the matrix \(shape \(4, 4\)\)"):
        matrix_svg([[1.0] * 4] * 4, col_groups=[("a", 1), ("b", 2)])


def test_outlined_cells_are_framed_and_explained_in_the_key():
    root = parse(heatmap_svg([[0.5, 0.5], [0.1, 0.9]], ["a", "b"], ["a", "b"], outline=[(1, 0)]))
    (frame,) = elements(root, "rect", "outline")
    cell = rect_corners(elements(root, "rect", "cell")[2])  # row 1, column 0
    assert inside(rect_corners(frame), cell)
    assert texts(root, "key") == ["orange frame: where the attention should be"]
    with pytest.raises(
        ValueError, match="outline: row 2 does not exist; the matrix has 1 rows, 0 to 0"
    ):
        heatmap_svg([[1.0, 0.0]], ["a"], ["a", "b"], outline=[(2, 0)])


def test_masked_cells_are_crossed_out_without_a_number_and_leave_the_scale_alone():
    weights = [[1.0, 0.0], [0.25, 0.75]]
    root = parse(heatmap_svg(weights, ["a", "b"], ["a", "b"], masked=[[False, True], [0, 0]]))
    assert texts(root, "value") == ["1.00", "0.25", "0.75"]  # no 0.00 for the masked cell
    assert len(elements(root, "line", "masked")) == 1
    assert cells(root)[1][1] == "a, b: masked"
    assert "crossed out: masked, may not be looked at" in texts(root, "key")
    scores = matrix_svg([[1.0, -50.0], [0.5, -1.0]], masked=[[0, 1], [0, 0]])
    assert texts(parse(scores), "legend") == ["1.00", "0.00", "-1.00"]
    with pytest.raises(ValueError, match=r"masked has shape \(1, 2\) but the matrix has shape"):
        heatmap_svg(weights, ["a", "b"], ["a", "b"], masked=[[0, 1]])


def test_rows_that_are_not_scored_are_faded():
    root = parse(heatmap_svg([[1.0, 0.0], [0.5, 0.5]], ["a", "b"], ["a", "b"], scored_rows=[1]))
    opacities = [e.get("opacity") for e in elements(root, "rect", "cell")]
    assert opacities == ["0.35", "0.35", None, None]
    assert [e.get("fill") for e in elements(root, "text", "row-label")][0] != "#222222"
    assert "(not scored)" in cells(root)[0][1] and "faded rows: not scored" in texts(root, "key")


def test_each_rows_largest_number_is_bold_and_framed():
    root = parse(
        heatmap_svg([[0.3, 0.4, 0.3], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0]], WORDS, WORDS,
                    mark_row_max=True)
    )  # fmt: skip
    bold = [e.text for e in elements(root, "text", "value") if e.get("font-weight") == "bold"]
    assert bold == ["0.40", "0.60", "0.50", "0.50"]  # a tie marks both
    assert len(elements(root, "rect", "row-max")) == 4
    uniform = parse(heatmap_svg([[0.5, 0.5]], ["a"], ["a", "b"], mark_row_max=True))
    assert elements(uniform, "rect", "row-max") == []  # equal numbers: no largest
