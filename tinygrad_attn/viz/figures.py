"""Figures as SVG text: matrices and attention heatmaps (line charts are in charts.py).

The walkthrough draws every stage of attention (X, W_q, Q, K, V, scores, weights, output)
with `matrix_svg` and `heatmap_svg`; the training demo draws its loss and accuracy with
`line_chart_svg`; `write_svg` saves a figure. The SVG basics (number formatting, text widths,
elements, saving) are in svg.py.

Layout rules (sizes in px, computed from the content):
* text width is estimated from its characters (`text_width`), erring wide, so every label
  is placed where it cannot touch another label or the grid;
* row labels sit right-aligned left of the grid; column labels sit above it, rotated by
  -45 degrees when one of them is wider than a cell; a label longer than `max_label_chars`
  ends in an ellipsis (the whole label is in the cell's hover text);
* the title and the shape are above, the colour scale right of the grid, a caption below.
"""

import math
import numbers
from types import SimpleNamespace

from .charts import line_chart_svg, nice_ticks
from .svg import (
    ASCENT,
    AXIS_LINE,
    DARK_TEXT,
    DESCENT,
    FONT,
    GAP,
    LIGHT_TEXT,
    MARGIN,
    MIDDLE,
    MISSING,
    MUTED_TEXT,
    SIN45,
    SMALL_FONT,
    VALUE_FONT,
    _as_matrix,
    _clean,
    _document,
    _heading,
    _labels,
    _rect,
    _shorten,
    _text,
    format_number,
    text_width,
    write_svg,
)

__all__ = [
    "matrix_svg",
    "heatmap_svg",
    "line_chart_svg",
    "write_svg",
    "format_number",
    "text_width",
    "nice_ticks",
]

# Colour ramps as (position in [0, 1], (red, green, blue)) stops, after ColorBrewer's
# colour-blind-safe "Blues" and "RdBu": white -> dark blue, and blue -> white -> red.
RAMPS = {
    "sequential": ((0.0, (255, 255, 255)), (0.35, (198, 219, 239)), (0.7, (66, 146, 198)),
                   (1.0, (8, 48, 107))),
    "diverging": ((0.0, (33, 102, 172)), (0.25, (146, 197, 222)), (0.5, (255, 255, 255)),
                  (0.75, (244, 165, 130)), (1.0, (178, 24, 43))),
}  # fmt: skip


# ---------------------------------------------------------------------- colours


def _ramp_colour(cmap, t):
    """The colour at position t in [0, 1] of a ramp: a linear mix of the two nearest stops."""
    t = min(1.0, max(0.0, t))
    stops = RAMPS[cmap]
    for (t0, rgb0), (t1, rgb1) in zip(stops, stops[1:]):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(rgb0, rgb1))


def _colour_range(rows, cmap, vmin, vmax):
    """The values the ends of the colour scale stand for. Diverging: -m..m with m the
    largest |value|, so 0 is white and the sign is the hue. Sequential: [0, 1], stretched
    to any value outside it. nan and inf take no part: they are drawn grey."""
    finite = [x for row in rows for x in row if math.isfinite(x)]
    if cmap == "diverging":
        if vmin is None and vmax is None:
            m = max((abs(x) for x in finite), default=0.0)
        else:
            m = max(abs(float(v)) for v in (vmin, vmax) if v is not None)
        m = m or 1.0  # an all-zero matrix: any scale will do
        return -m, m
    lo = min([0.0, *finite]) if vmin is None else float(vmin)
    hi = max([1.0, *finite]) if vmax is None else float(vmax)
    if not lo < hi:
        raise ValueError(f"vmin ({lo}) must be below vmax ({hi})")
    return lo, hi


def _cell_colour(x, cmap, lo, hi):
    if not math.isfinite(x):
        return MISSING
    return _ramp_colour(cmap, (x - lo) / (hi - lo))


def _ink(fill):
    """Dark text on light cells, white text on dark ones. Brightness is the YIQ luma in
    integers, so the choice is the same on every platform."""
    red, green, blue = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return DARK_TEXT if 299 * red + 587 * green + 114 * blue >= 140_000 else LIGHT_TEXT


# ---------------------------------------------------------------------- matrices


def matrix_svg(
    values,
    row_labels=None,
    col_labels=None,
    title="",
    fmt="{:.2f}",
    cmap="diverging",
    show_values=True,
    cell=None,
    *,
    vmin=None,
    vmax=None,
    x_label="",
    y_label="",
    caption="",
    subtitle=None,
    max_label_chars=16,
):
    """A matrix as a grid of coloured cells with its numbers printed in them, as SVG text.

    `cmap="diverging"`: blue for negative, white for 0, red for positive, scaled by the
    largest |value| (or by `vmin`/`vmax`). `cmap="sequential"`: white -> dark blue over
    [0, 1] (or `vmin`..`vmax`). nan and +-inf cells are grey and say "nan", "inf", "-inf".
    The subtitle shows the shape; `cell` fixes the cell size in px.

    >>> svg = matrix_svg([[1.0, -2.0], [0.5, 0.0]], ["the", "cat"], ["d0", "d1"], title="Q")
    >>> svg.startswith("<svg") and ">cat</text>" in svg and ">(2, 2)</text>" in svg
    True
    """
    rows, shape = _as_matrix(values)
    n_rows, n_cols = len(rows), len(rows[0])
    row_labels = _labels(row_labels, n_rows, "row", shape)
    col_labels = _labels(col_labels, n_cols, "column", shape)
    if cmap not in RAMPS:
        raise ValueError(f"cmap must be 'diverging' or 'sequential', got {cmap!r}")
    if not isinstance(max_label_chars, int) or max_label_chars < 2:
        raise ValueError(f"max_label_chars must be an int >= 2, got {max_label_chars!r}")
    try:
        texts = [[format_number(x, fmt) for x in row] for row in rows]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as err:
        hint = "use e.g. '{:.2f}'"
        raise ValueError(f"fmt {fmt!r} cannot format a number ({err}); {hint}") from None
    lo, hi = _colour_range(rows, cmap, vmin, vmax)
    subtitle = str(shape) if subtitle is None else subtitle

    short = SimpleNamespace(
        rows=[_shorten(s, max_label_chars) for s in row_labels or []],
        cols=[_shorten(s, max_label_chars) for s in col_labels or []],
    )
    legend = _legend_texts(rows, cmap, lo, hi, fmt)
    g = _grid_layout(
        texts, short, title, subtitle, x_label, y_label, caption, cell, show_values, legend
    )

    body = g.heading
    if x_label:
        body.append(_text(g.x_label_x, g.x_label_y, x_label, FONT, "middle", class_="x-label"))
    if y_label:
        body.append(_text(g.y_label_x, g.y_label_y, y_label, FONT, "middle", -90, class_="y-label"))
    body += _label_elements(g, short)
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            where = [row_labels[i] if row_labels else f"row {i}"]
            where.append(col_labels[j] if col_labels else f"column {j}")
            hover = f"{', '.join(where)}: {format_number(x, '{:.6g}')}"  # more digits on hover
            fill = _cell_colour(x, cmap, lo, hi)
            body += _cell_elements(g, i, j, fill, hover, texts[i][j] if g.show_values else None)
    frame = (g.grid_left, g.grid_top, g.n_cols * g.cell, g.n_rows * g.cell)  # white cells show
    body.append(_rect(*frame, "none", stroke="#cccccc", class_="grid-frame"))
    body += _legend_elements(g, cmap, legend)
    if caption:
        body.append(
            _text(MARGIN, g.caption_y, caption, SMALL_FONT, class_="caption", fill=MUTED_TEXT)
        )
    return _document(g.width, g.height, body, title)


def _cell_elements(g, i, j, fill, hover, text):
    """Cell (i, j): a coloured square with hover text, and its number in a contrasting ink."""
    left, top = g.grid_left + j * g.cell, g.grid_top + i * g.cell
    body = [_rect(left, top, g.cell, g.cell, fill, hover, stroke="#ffffff", class_="cell")]
    if text is not None:
        cx, baseline = left + g.cell / 2, top + g.cell / 2 + MIDDLE * g.value_font
        ink = _ink(fill)
        body.append(_text(cx, baseline, text, g.value_font, "middle", fill=ink, class_="value"))
    return body


def heatmap_svg(
    weights,
    row_labels,
    col_labels,
    title="",
    show_values=True,
    x_label="key (attended to)",
    y_label="query (attending)",
    *,
    caption="",
    cell=None,
    max_label_chars=16,
    subtitle=None,
):
    """Attention weights (numbers in [0, 1]) with the words on both axes, as SVG text.

    Row i is what query word i attends to: each row sums to 1 (say it with `caption=`).
    White is 0 and dark blue is 1 for every heatmap, so before/after pictures compare.

    >>> svg = heatmap_svg([[0.9, 0.1], [0.3, 0.7]], ["a", "cat"], ["a", "cat"], title="head 0")
    >>> svg.startswith("<svg") and ">0.90</text>" in svg and "key (attended to)" in svg
    True
    """
    return matrix_svg(
        weights,
        row_labels,
        col_labels,
        title=title,
        fmt="{:.2f}",
        cmap="sequential",
        show_values=show_values,
        cell=cell,
        x_label=x_label,
        y_label=y_label,
        caption=caption,
        subtitle=subtitle,
        max_label_chars=max_label_chars,
    )


def _grid_layout(
    texts, short, title, subtitle, x_label, y_label, caption, cell, show_values, legend
):
    """Where everything of a matrix figure goes. Bands from top to bottom: title, subtitle,
    x label, column labels, grid (with the colour scale on its right), caption. From left
    to right: y label, row labels, grid, colour scale."""
    g = SimpleNamespace(n_rows=len(texts), n_cols=len(texts[0]))
    widest_value = max(text_width(t, VALUE_FONT) for row in texts for t in row)
    if cell is None:
        cell = max(24, math.ceil(widest_value + 10)) if show_values else 24
    if not isinstance(cell, numbers.Real) or not cell >= 4:
        raise ValueError(f"cell must be a size in px >= 4, got {cell!r}")
    g.cell = float(cell)
    # Labels shrink with small cells so that neighbours cannot touch: rows are one cell
    # apart, rotated column labels cell * sin(45) apart, and a label is 1.05 font sizes tall.
    g.label_font = round(min(FONT, 0.65 * g.cell), 1)
    # Values fit their cell: 2 px spare on each side, and 1.05 font sizes tall, centred a
    # little low (0.45 above the middle, 0.6 below).
    fit = min(VALUE_FONT, VALUE_FONT * (g.cell - 4) / widest_value, (g.cell - 2) / 1.2)
    g.value_font = math.floor(fit * 10) / 10
    g.show_values = show_values and g.value_font >= 5  # smaller is unreadable: hover instead
    row_w = max([text_width(s, g.label_font) for s in short.rows], default=0.0)
    col_w = [text_width(s, g.label_font) for s in short.cols]
    g.rotate = any(w > g.cell - 4 for w in col_w)

    g.heading, y, right = _heading(title, subtitle, MARGIN)
    if x_label:
        y += GAP / 2
        g.x_label_y = y + ASCENT * FONT
        y += (ASCENT + DESCENT) * FONT
    x = MARGIN + ((ASCENT + DESCENT) * FONT + GAP if y_label else 0)
    g.grid_left = x + (row_w + GAP if short.rows else 0)
    g.grid_right = g.grid_left + g.n_cols * g.cell
    if not col_w:
        header = GAP / 2
    elif g.rotate:  # a label of width w turned by 45 degrees rises w * sin(45) above its foot
        header = GAP + 0.15 * g.label_font + SIN45 * (max(col_w) + ASCENT * g.label_font) + 2
    else:
        header = GAP + (ASCENT + DESCENT) * g.label_font
    g.grid_top = y + header
    g.grid_bottom = g.grid_top + g.n_rows * g.cell
    right = max(right, g.grid_right, *_col_label_right_edges(g, col_w))

    g.legend_left = g.grid_right + 2 * GAP
    g.legend_height = max(g.n_rows * g.cell, (len(legend[0]) + 0.5) * SMALL_FONT * 1.4)
    legend_w = 12 + GAP + max(text_width(t, SMALL_FONT) for t in legend[0] + legend[1])
    right = max(right, g.legend_left + legend_w)
    bottom = max(g.grid_bottom, g.grid_top + g.legend_height)
    if legend[1]:  # the grey "nan/inf" swatch under the scale
        bottom += GAP + SMALL_FONT * 1.2
    if x_label:
        half = text_width(_clean(x_label), FONT) / 2  # centred on the grid, kept inside
        g.x_label_x = max((g.grid_left + g.grid_right) / 2, MARGIN + half)
        right = max(right, g.x_label_x + half)
    if y_label:  # turned upright, centred on the grid; the figure grows if it is taller
        span = text_width(_clean(y_label), FONT)
        g.y_label_x = MARGIN + ASCENT * FONT
        g.y_label_y = max((g.grid_top + g.grid_bottom) / 2, g.grid_top + span / 2)
        bottom = max(bottom, g.y_label_y + span / 2)
    if caption:
        g.caption_y = bottom + GAP + ASCENT * SMALL_FONT
        bottom += GAP + (ASCENT + DESCENT) * SMALL_FONT
        right = max(right, MARGIN + text_width(_clean(caption), SMALL_FONT))
    g.width, g.height = right + MARGIN, bottom + MARGIN
    return g


def _col_label_feet(g, j):
    """Where the baseline of column j's label starts (rotated) or centres (upright)."""
    cx = g.grid_left + (j + 0.5) * g.cell
    if g.rotate:  # the foot sits a little right of the centre so the text looks centred
        return cx + 0.25 * g.label_font, g.grid_top - GAP - 0.15 * g.label_font
    return cx, g.grid_top - GAP - DESCENT * g.label_font


def _col_label_right_edges(g, col_w):
    if not g.rotate:
        return [g.grid_right]
    # the far corner of a rotated label: its length along the 45-degree baseline plus its
    # descent, which the rotation turns to the right
    return [
        _col_label_feet(g, j)[0] + SIN45 * (w + DESCENT * g.label_font) for j, w in enumerate(col_w)
    ]


def _label_elements(g, short):
    body = []
    for i, label in enumerate(short.rows):
        baseline = g.grid_top + (i + 0.5) * g.cell + MIDDLE * g.label_font
        body.append(
            _text(g.grid_left - GAP, baseline, label, g.label_font, "end", class_="row-label")
        )
    for j, label in enumerate(short.cols):
        x, y = _col_label_feet(g, j)
        anchor, turn = ("start", -45) if g.rotate else ("middle", None)
        body.append(_text(x, y, label, g.label_font, anchor, turn, class_="col-label"))
    return body


def _legend_texts(rows, cmap, lo, hi, fmt):
    """The colour scale's labels from top to bottom, and the names of the grey values."""
    ends = [format_number(hi, fmt), format_number(0.0, fmt), format_number(lo, fmt)]
    scale = ends if cmap == "diverging" else [ends[0], ends[2]]
    flat = [x for row in rows for x in row]
    seen = {"nan": any(map(math.isnan, flat)), "inf": math.inf in flat, "-inf": -math.inf in flat}
    grey = [name for name in ("nan", "inf", "-inf") if seen[name]]
    return scale, ["/".join(grey)] if grey else []


def _legend_elements(g, cmap, legend):
    """A vertical colour bar (high at the top) made of thin bands, its end values on the
    right, and a grey swatch for nan/inf when there are any."""
    scale, grey = legend
    left, top, height, steps = g.legend_left, g.grid_top, g.legend_height, 32
    body = []
    for k in range(steps):  # band k from the top shows the value at 1 - (k + 0.5) / steps
        colour = _ramp_colour(cmap, 1 - (k + 0.5) / steps)
        band_top, band_height = top + k * height / steps, height / steps + 0.5  # 0.5: no seams
        body.append(_rect(left, band_top, 12.0, band_height, colour, class_="legend-bar"))
    body.append(_rect(left, top, 12.0, height, "none", stroke=AXIS_LINE, class_="legend-bar"))
    for k, label in enumerate(scale):  # first at the top, last at the bottom, any in between
        first = top + (ASCENT - MIDDLE) * SMALL_FONT  # the text's top on the bar's top
        last = top + height - (MIDDLE + DESCENT) * SMALL_FONT  # its bottom on the bar's bottom
        baseline = first + k * (last - first) / (len(scale) - 1) + MIDDLE * SMALL_FONT
        body.append(_text(left + 12 + GAP, baseline, label, SMALL_FONT, class_="legend"))
    if grey:
        y = top + height + GAP
        body.append(_rect(left, y, 12.0, SMALL_FONT, MISSING, class_="legend-bar"))
        body.append(
            _text(left + 12 + GAP, y + ASCENT * SMALL_FONT, grey[0], SMALL_FONT, class_="legend")
        )
    return body
