"""Specification of the SVG figures: well-formed, deterministic, honest colours, no overlaps."""

import math
import os
import re
import xml.etree.ElementTree as ET

import pytest
from figure_checks import (
    SVG,
    assert_nothing_overlaps,
    brightness,
    cells,
    elements,
    parse,
    texts,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from tinygrad_attn import Tensor
from tinygrad_attn.viz.figures import (
    MISSING,
    format_number,
    heatmap_svg,
    line_chart_svg,
    matrix_svg,
    nice_ticks,
    write_svg,
)

WORDS = ["the", "cat", "sat"]


def test_the_overlap_check_catches_touching_labels():
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50">'
        '<text x="10" y="20" font-size="12" text-anchor="start">hello</text>'
        '<text x="30" y="25" font-size="12" text-anchor="start" transform="rotate(-45 30 25)">'
        "world</text></svg>"
    )
    with pytest.raises(AssertionError, match="overlaps"):
        assert_nothing_overlaps(svg)
    with pytest.raises(AssertionError, match="outside the figure"):
        assert_nothing_overlaps(
            svg.replace('x="30"', 'x="95"').replace("rotate(-45 30", "rotate(-45 95")
        )


# ---------------------------------------------------------------------- matrices


def test_matrix_svg_is_well_formed_with_viewbox_and_size():
    root = parse(matrix_svg([[1.0, 2.0], [3.0, 4.0]], title="W_q"))
    assert root.tag == SVG + "svg"
    width, height = root.get("width"), root.get("height")
    assert root.get("viewBox") == f"0 0 {width} {height}"
    assert "sans-serif" in root.get("font-family")


def test_matrix_svg_shows_title_shape_labels_and_values():
    svg = matrix_svg([[0.5, -1.25, 2.0], [0.0, 1.0, 3.5]], WORDS[:2], ["d0", "d1", "d2"], title="Q")
    root = parse(svg)
    assert texts(root, "title") == ["Q"] and texts(root, "subtitle") == ["(2, 3)"]
    assert texts(root, "row-label") == ["the", "cat"]
    assert texts(root, "col-label") == ["d0", "d1", "d2"]
    assert texts(root, "value") == ["0.50", "-1.25", "2.00", "0.00", "1.00", "3.50"]
    assert root.find(SVG + "title").text == "Q"  # the figure's own hover / accessible name


def test_special_characters_in_labels_and_title_are_escaped():
    tricky = ["<b>", "a & b", "say \"hi\" 'there'"]
    svg = matrix_svg(
        [[1.0, 2.0, 3.0]], ["x</text><script>"], tricky, title="A<&>\"'", caption="1 < 2"
    )
    root = parse(svg)  # would raise on a stray < or &
    assert texts(root, "col-label") == tricky
    assert texts(root, "row-label") == ["x</text><script>"]
    assert texts(root, "title") == ["A<&>\"'"]
    assert texts(root, "caption") == ["1 < 2"]
    assert "<script>" not in svg


def test_control_characters_in_labels_still_give_valid_xml():
    root = parse(matrix_svg([[1.0, 2.0]], ["tab\there"], ["bell\x07", "new\nline"]))
    assert texts(root, "row-label") == ["tab here"]
    assert texts(root, "col-label") == ["bell\ufffd", "new line"]


def test_same_input_gives_the_same_bytes():
    def figure():
        return matrix_svg([[0.123456789, -2.5], [math.pi, 1e-9]], ["a", "b"], ["c", "d"], title="t")

    assert figure() == figure()
    assert heatmap_svg([[0.25, 0.75]], ["q"], ["k1", "k2"]) == heatmap_svg(
        [[0.25, 0.75]], ["q"], ["k1", "k2"]
    )


def test_numbers_that_print_differently_give_the_same_figure():
    assert repr(0.1 + 0.2) != repr(0.3)
    assert matrix_svg([[0.1 + 0.2, 1.0]]) == matrix_svg([[0.3, 1.0]])
    assert line_chart_svg({"loss": [0.1 + 0.2, 1.0]}) == line_chart_svg({"loss": [0.3, 1.0]})


def test_figure_numbers_have_fixed_decimals():
    svg = matrix_svg([[1 / 3, 2 / 3]], cell=50) + line_chart_svg({"a": [1 / 3, 2 / 7, 1 / 9]})
    for number in re.findall(r' (?:x|y|width|height|x1|y1|x2|y2|cx|cy)="([^"]*)"', svg):
        assert re.fullmatch(r"-?\d+(\.\d)?", number), number


def test_sequential_cells_darken_as_the_value_grows():
    values = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    fills = [
        fill for fill, _ in cells(parse(heatmap_svg([values], ["q"], [str(v) for v in values])))
    ]
    assert fills[0] == "#ffffff"
    levels = [brightness(fill) for fill in fills]
    assert all(a > b for a, b in zip(levels, levels[1:])), fills


def test_diverging_colour_hue_follows_the_sign():
    fills = [fill for fill, _ in cells(parse(matrix_svg([[-2.0, -0.5, 0.0, 0.5, 2.0]])))]
    rgb = [tuple(int(f[i : i + 2], 16) for i in (1, 3, 5)) for f in fills]
    assert rgb[2] == (255, 255, 255)  # zero is white
    assert all(blue > red for red, _, blue in rgb[:2])  # negative: blue
    assert all(red > blue for red, _, blue in rgb[3:])  # positive: red
    assert brightness(fills[0]) < brightness(fills[1]) and brightness(fills[4]) < brightness(
        fills[3]
    )


def test_diverging_scale_is_symmetric_around_zero():
    fills = [fill for fill, _ in cells(parse(matrix_svg([[-1.0, 0.0, 1.0]])))]
    assert fills[0] != fills[2]
    assert brightness(fills[0]) == pytest.approx(brightness(fills[2]), abs=25)


def test_value_text_contrasts_with_its_cell():
    root = parse(heatmap_svg([[0.0, 1.0]], ["q"], ["k1", "k2"]))
    inks = [e.get("fill") for e in elements(root, "text", "value")]
    assert brightness(inks[0]) < 100 and brightness(inks[1]) > 200  # dark on white, white on dark


def test_negative_zero_is_never_shown():
    root = parse(matrix_svg([[-0.0, -0.001, -0.004]]))
    assert texts(root, "value") == ["0.00", "0.00", "0.00"]
    assert format_number(-0.0) == "0.00" and format_number(-1e-9, "{:.3e}") == "-1.000e-09"


def test_nan_and_infinities_are_grey_cells_with_their_names():
    root = parse(matrix_svg([[float("nan"), math.inf, -math.inf, 1.0]]))
    assert texts(root, "value") == ["nan", "inf", "-inf", "1.00"]
    fills = [fill for fill, _ in cells(root)]
    assert fills[:3] == [MISSING] * 3 and fills[3] != MISSING
    assert "nan/inf/-inf" in texts(root, "legend")


def test_masked_scores_do_not_change_the_colour_scale():
    masked = matrix_svg([[1.0, -math.inf], [0.5, -1.0]])
    plain = matrix_svg([[1.0, 0.0], [0.5, -1.0]])
    fills = lambda svg: [fill for fill, _ in cells(parse(svg))]  # noqa: E731
    assert fills(masked)[0] == fills(plain)[0] and fills(masked)[3] == fills(plain)[3]
    assert texts(parse(masked), "legend")[:3] == ["1.00", "0.00", "-1.00"]


def test_hover_text_has_more_digits_and_the_full_labels():
    long_label = "a-very-long-label-that-gets-cut"
    root = parse(matrix_svg([[2 / 3]], [long_label], ["k"]))
    assert cells(root)[0][1] == f"{long_label}, k: 0.666667"
    (shown,) = texts(root, "row-label")
    assert shown.endswith("\u2026") and len(shown) == 16 and long_label.startswith(shown[:-1])


def test_long_labels_are_cut_at_max_label_chars():
    root = parse(matrix_svg([[1.0]], ["abcdefghij"], ["k"], max_label_chars=5))
    assert texts(root, "row-label") == ["abcd\u2026"]


def test_column_labels_turn_only_when_wider_than_a_cell():
    narrow = parse(matrix_svg([[1.0, 2.0]], col_labels=["a", "b"]))
    wide = parse(matrix_svg([[1.0, 2.0]], col_labels=["attention", "b"]))
    assert all(e.get("transform") is None for e in elements(narrow, "text", "col-label"))
    assert all(
        e.get("transform").startswith("rotate(-45 ") for e in elements(wide, "text", "col-label")
    )


def test_cell_size_can_be_fixed():
    root = parse(matrix_svg([[1.0, 2.0]], cell=50))
    assert {e.get("width") for e in elements(root, "rect", "cell")} == {"50.0"}


def test_values_can_be_hidden():
    root = parse(matrix_svg([[1.0, 2.0]], show_values=False))
    assert texts(root, "value") == [] and len(cells(root)) == 2


def test_a_tensor_is_drawn_like_its_list():
    x = Tensor([[1.0, -2.0], [0.5, 4.0]])
    assert matrix_svg(x, title="x") == matrix_svg([[1.0, -2.0], [0.5, 4.0]], title="x")


def test_a_1d_input_becomes_one_row_with_its_own_shape():
    root = parse(matrix_svg([1.0, 2.0, 3.0]))
    assert len(cells(root)) == 3 and texts(root, "subtitle") == ["(3,)"]
    assert {e.get("y") for e in elements(root, "rect", "cell")} == {
        elements(root, "rect", "cell")[0].get("y")
    }


def test_heatmap_has_words_axis_names_caption_and_two_decimals():
    weights = [[0.7, 0.2, 0.1], [0.125, 0.5, 0.375], [1 / 3, 1 / 3, 1 / 3]]
    root = parse(heatmap_svg(weights, WORDS, WORDS, title="head 0", caption="rows sum to 1"))
    assert texts(root, "row-label") == WORDS and texts(root, "col-label") == WORDS
    assert texts(root, "x-label") == ["key (attended to)"]
    assert texts(root, "y-label") == ["query (attending)"]
    assert texts(root, "caption") == ["rows sum to 1"]
    assert texts(root, "value")[3:6] == ["0.12", "0.50", "0.38"]
    assert texts(root, "legend") == ["1.00", "0.00"]


@pytest.mark.parametrize(
    "values, rows, cols, match, error",
    [
        ([[1.0, 2.0], [3.0]], None, None, r"row lengths are \[2, 1\]", ValueError),
        (
            [[1.0, 2.0]],
            ["a", "b"],
            None,
            r"2 row labels for 1 rows \(matrix shape \(1, 2\)\)",
            ValueError,
        ),
        ([[1.0, 2.0]], None, ["a"], r"1 column labels for 2 columns", ValueError),
        ([], None, None, r"empty \(shape \(0,\)\)", ValueError),
        ([[]], None, None, r"empty \(shape \(1, 0\)\)", ValueError),
        ([[1.0, "x"]], None, None, r"entry at \[0, 1\] is 'x' \(str\)", TypeError),
        ([[1.0, None]], None, None, r"entry at \[0, 1\] is None", TypeError),
        ([[[1.0]]], None, None, r"1-D and 2-D", ValueError),
        (Tensor.zeros(2, 2, 2), None, None, r"shape \(2, 2, 2\)", ValueError),
        ("abc", None, None, r"got str", TypeError),
        ([[1.0]], "a", None, r"got the string 'a'", TypeError),
    ],
)
def test_bad_matrices_are_refused_with_their_shapes(values, rows, cols, match, error):
    with pytest.raises(error, match=match):
        matrix_svg(values, rows, cols)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"cmap": "viridis"}, "cmap must be"),
        ({"fmt": "{:d}"}, "fmt '{:d}' cannot format"),
        ({"cell": 0}, "cell must be"),
        ({"max_label_chars": 1}, "max_label_chars"),
        ({"cmap": "sequential", "vmin": 1.0, "vmax": 1.0}, "vmin"),
    ],
)
def test_bad_options_are_refused(options, match):
    with pytest.raises(ValueError, match=match):
        matrix_svg([[1.0, 2.0]], **options)


# ---------------------------------------------------------------------- nothing overlaps


@pytest.mark.parametrize(
    "shape, rows, cols, cell",
    [
        ((3, 3), WORDS, WORDS, None),
        ((2, 4), ["a", "WWWWWWWWWWWWWWWW"], ["MMMMMMMMMMMM", "i", "mmmmm", "x"], None),
        ((4, 5), ["q"] * 4, ["a long column label"] * 5, None),
        ((6, 6), ["word"] * 6, ["key number"] * 6, 8),
        ((1, 1), ["x"], ["y"], None),
        ((2, 2), ["日本語のラベル", "漢字"], ["日本", "語"], 20),
    ],
)
def test_labels_overlap_nothing_in_matrices(shape, rows, cols, cell):
    values = [[(i - j) / 3 for j in range(shape[1])] for i in range(shape[0])]
    assert_nothing_overlaps(matrix_svg(values, rows, cols, title="Title", cell=cell))
    assert_nothing_overlaps(heatmap_svg(values, rows, cols, title="T", caption="c", cell=cell))


labels = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)


@given(
    st.integers(1, 5),
    st.integers(1, 5),
    st.data(),
    st.one_of(st.none(), st.floats(4, 60)),
    st.booleans(),
)
def test_labels_never_overlap_whatever_the_labels_and_cell_size(n_rows, n_cols, data, cell, show):
    rows = data.draw(st.lists(labels, min_size=n_rows, max_size=n_rows))
    cols = data.draw(st.lists(labels, min_size=n_cols, max_size=n_cols))
    title = data.draw(labels)
    values = data.draw(
        st.lists(
            st.lists(st.floats(), min_size=n_cols, max_size=n_cols),
            min_size=n_rows,
            max_size=n_rows,
        )
    )
    marks = data.draw(st.booleans())
    extra = {}
    if marks:
        extra = {
            "masked": [[(i + j) % 3 == 0 for j in range(n_cols)] for i in range(n_rows)],
            "outline": [(n_rows - 1, 0)],
            "scored_rows": [0],
            "mark_row_max": True,
        }
    svg = heatmap_svg(
        values, rows, cols, title=title, show_values=show, cell=cell, caption=title, **extra
    )
    assert_nothing_overlaps(svg)
    groups = [(title, 1)] * n_cols
    svg = matrix_svg(values, rows, cols, title=title, cell=cell, col_groups=groups)
    assert_nothing_overlaps(svg)
    assert_nothing_overlaps(matrix_svg(values, rows, cols, title=title, cell=cell, fmt="{:.4g}"))


# ---------------------------------------------------------------------- line charts


def test_line_chart_draws_each_series_with_its_own_colour_in_order():
    series = [
        ("train loss", [2.0, 1.0, 0.5]),
        ("val loss", [2.1, 1.4, 0.9]),
        ("acc", [0.1, 0.5, 0.9]),
    ]
    root = parse(line_chart_svg(series, title="training", y_label="loss"))
    assert texts(root, "legend") == ["train loss", "val loss", "acc"]
    strokes = [e.get("stroke") for e in elements(root, "polyline", "series")]
    assert len(strokes) == 3 and len(set(strokes)) == 3
    assert texts(root, "title") == ["training"] and texts(root, "x-label") == ["step"]
    assert texts(root, "y-label") == ["loss"]


def test_line_chart_keeps_the_dict_order_in_the_legend():
    root = parse(line_chart_svg({"zeta": [1, 2], "alpha": [2, 1]}))
    assert texts(root, "legend") == ["zeta", "alpha"]


def test_line_chart_ticks_are_round_numbers():
    root = parse(line_chart_svg({"loss": [2.31, 1.7, 0.93, 0.42]}))
    assert [float(t) for t in texts(root, "tick")] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 0, 1, 2, 3]


def test_nan_and_inf_break_the_line():
    root = parse(line_chart_svg({"loss": [3.0, 2.0, float("nan"), 1.5, 1.0, math.inf, 0.5]}))
    lines = elements(root, "polyline", "series")
    dots = elements(root, "circle", "series")
    assert [len(e.get("points").split()) for e in lines] == [2, 2]
    assert len(dots) == 1  # the lone 0.5 at the end


def test_a_single_point_and_a_constant_series_are_drawn():
    one = parse(line_chart_svg({"acc": [0.5]}))
    assert len(elements(one, "circle", "series")) == 1
    flat = parse(line_chart_svg({"loss": [1.0, 1.0, 1.0]}))
    (line,) = elements(flat, "polyline", "series")
    assert len({y for _, y in (p.split(",") for p in line.get("points").split())}) == 1
    assert texts(flat, "tick")[:5] == ["0.90", "0.95", "1.00", "1.05", "1.10"]


def test_a_series_of_only_nan_still_gets_a_legend_entry():
    root = parse(line_chart_svg({"nothing": [float("nan")] * 3, "loss": [1.0, 0.5, 0.2]}))
    assert texts(root, "legend") == ["nothing", "loss"]


def test_y_range_fixes_the_axis_and_clamps_points_to_it():
    root = parse(line_chart_svg({"acc": [0.5, 1.5]}, y_range=(0, 1)))
    ticks = texts(root, "tick")
    assert ticks[:6] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    gridlines = [e for e in elements(root, "line") if e.get("y1") == e.get("y2")]
    top_tick_y = min(float(e.get("y1")) for e in gridlines)  # the gridline of 1.0
    (line,) = elements(root, "polyline", "series")
    assert float(line.get("points").split()[1].split(",")[1]) == top_tick_y


def test_xs_set_the_x_positions():
    root = parse(line_chart_svg({"val": [1.0, 0.5]}, xs=[0, 100]))
    assert texts(root, "tick")[-1] == "100"


def test_line_chart_labels_overlap_nothing():
    series = {
        f"series number {k}": [math.sin(k + t / 5) * 1000 for t in range(50)] for k in range(12)
    }
    assert_nothing_overlaps(
        line_chart_svg(series, title="many", y_label="value", xs=list(range(-1000, 0, 20)))
    )
    assert_nothing_overlaps(line_chart_svg({"a": [1e-6, 3e-6]}, y_label="tiny", x_label="x"))
    long_name = "a y axis label far longer than the plot is tall " * 3
    root = parse(line_chart_svg({"a": [1.0, 2.0]}, y_label=long_name, size=(200, 80)))
    assert texts(root, "y-label")[0].endswith("\u2026")
    assert_nothing_overlaps(ET.tostring(root, encoding="unicode"))


names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
numbers_or_gaps = st.floats(-1e9, 1e9) | st.sampled_from([math.nan, math.inf, -math.inf])


@given(
    st.lists(st.tuples(names, st.lists(numbers_or_gaps, max_size=20)), min_size=1, max_size=10),
    names,
    names,
)
def test_line_chart_labels_never_overlap_whatever_the_data(series, x_label, y_label):
    svg = line_chart_svg(series, title=x_label, x_label=x_label, y_label=y_label)
    assert_nothing_overlaps(svg)


@pytest.mark.parametrize(
    "series, options, match, error",
    [
        ({}, {}, "no series", ValueError),
        ({"loss": [1.0, "x"]}, {}, r"entry at \[1\] of series 'loss' is 'x'", TypeError),
        ({"loss": 3.0}, {}, "must be a list of numbers", TypeError),
        ({"loss": [1.0, 2.0]}, {"xs": [0]}, "2 values but 1 x values", ValueError),
        ({"loss": [1.0]}, {"y_range": (1, 0)}, "y_range", ValueError),
        ({"loss": [1.0]}, {"size": (10, 10)}, "size", ValueError),
        ([("a", [1.0], "extra")], {}, "pair", TypeError),
    ],
)
def test_bad_series_are_refused(series, options, match, error):
    with pytest.raises(error, match=match):
        line_chart_svg(series, **options)


@given(st.floats(-1e6, 1e6), st.floats(0, 1e6), st.integers(3, 10))
def test_nice_ticks_cover_the_range_in_steps_of_1_2_or_5(lo, span, max_ticks):
    assume(span == 0 or span > abs(lo) * 1e-9)  # a step the floats can still represent
    hi = lo + span
    ticks = nice_ticks(lo, hi, max_ticks)
    assert 2 <= len(ticks) <= max_ticks
    assert ticks[0] <= lo and ticks[-1] >= hi
    step = ticks[1] - ticks[0]
    mantissa = float(f"{step:.3e}".split("e")[0])
    assert mantissa in (1.0, 2.0, 5.0)
    assert all(b - a == pytest.approx(step) for a, b in zip(ticks, ticks[1:]))


def test_nice_ticks_for_whole_numbers_are_whole():
    assert nice_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert nice_ticks(0, 1000, max_ticks=3) == [0.0, 500.0, 1000.0]


# ---------------------------------------------------------------------- saving


def test_write_svg_writes_utf8_with_a_trailing_newline_and_creates_folders(tmp_path):
    svg = matrix_svg([[1.0]], ["naïve"], ["→"])
    path = tmp_path / "a" / "b" / "m.svg"
    assert write_svg(svg, path) == path
    data = path.read_bytes()
    assert data == (svg + "\n").encode("utf-8") and data.endswith(b"</svg>\n")
    write_svg(svg + "\n", path)  # no second newline
    assert path.read_bytes() == data
    assert os.listdir(path.parent) == ["m.svg"]  # no temporary file left behind


def test_write_svg_fails_with_oserror_naming_the_path(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    target = blocker / "fig.svg"
    with pytest.raises(OSError, match=re.escape(str(target))) as info:
        write_svg(matrix_svg([[1.0]]), target)
    assert info.value.filename == str(target)
    assert sorted(os.listdir(tmp_path)) == ["not_a_folder"]


def test_write_svg_refuses_bytes():
    with pytest.raises(TypeError, match="must be a str"):
        write_svg(b"<svg/>", "x.svg")
