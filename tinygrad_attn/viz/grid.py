"""Where everything of a matrix figure goes, and how each piece is drawn.

`matrix_svg` (figures.py) decides what to draw: numbers, labels, colours and marks.
`grid_layout` settles every position from the content, widths first, so that titles and
captions can wrap at the figure's width; the `*_elements` functions turn the layout into
SVG elements.
"""

import math
import numbers
from types import SimpleNamespace

from .colours import DARK_TEXT, MASKED, MISSING, OUTLINE, ink, ramp_colour
from .fonts import fit_text
from .svg import (
    ASCENT,
    AXIS_LINE,
    DESCENT,
    FONT,
    GAP,
    MARGIN,
    MIDDLE,
    MUTED_TEXT,
    SIN45,
    SMALL_FONT,
    TEXT_ROOM,
    VALUE_FONT,
    _clean,
    _heading,
    _line,
    _rect,
    _text,
    _text_lines,
    format_number,
    text_width,
)

FADED = "0.35"  # the opacity of rows that are not scored
GROUP_LINE = "#222222"


def _group_starts(groups):
    """The index where each group after the first begins."""
    starts, at = [], 0
    for _, size in groups[:-1]:
        at += size
        starts.append(at)
    return starts


# ---------------------------------------------------------------------- layout


def grid_layout(texts, short, text, marks, cell, show_values, legend):
    """Where everything of a matrix figure goes. Bands from left to right: y label, row
    groups, row labels, grid, colour scale. From top to bottom: title, subtitle, x label,
    column groups, column labels, grid, key, caption. Widths are settled first, so that the
    title and caption can wrap at the figure's width."""
    g = SimpleNamespace(n_rows=len(texts), n_cols=len(texts[0]))
    bold = bool(marks.row_max)
    widest_value = max(text_width(t, VALUE_FONT, bold) for row in texts for t in row)
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
    tall = (ASCENT + DESCENT) * FONT  # the height of a line of text at FONT

    # left to right
    x = MARGIN
    if text.y_label:
        g.y_label_x = x + ASCENT * FONT
        x += tall + GAP
    if marks.row_groups:
        g.row_group_x = x + ASCENT * SMALL_FONT
        g.row_bracket_x = x + (ASCENT + DESCENT) * SMALL_FONT + 2
        x += (ASCENT + DESCENT) * SMALL_FONT + 4 + GAP
    g.grid_left = x + (row_w + GAP if short.rows else 0)
    g.grid_right = g.grid_left + g.n_cols * g.cell
    g.legend_left = g.grid_right + 2 * GAP
    legend_w = 12 + GAP + max(text_width(t, SMALL_FONT) for t in legend[0] + legend[1])
    right = max(g.grid_right, g.legend_left + legend_w, *_col_label_right_edges(g, col_w))
    room = max(TEXT_ROOM, right - MARGIN)  # titles, captions and the key wrap at this width

    # top to bottom
    g.heading, y, heading_right = _heading(text.title, text.subtitle, MARGIN, room)
    right = max(right, heading_right)
    g.x_label = fit_text(_clean(text.x_label), FONT, room)
    if g.x_label:
        y += GAP / 2
        g.x_label_y = y + ASCENT * FONT
        y += tall
        half = text_width(g.x_label, FONT) / 2  # centred on the grid, kept inside
        g.x_label_x = max((g.grid_left + g.grid_right) / 2, MARGIN + half)
        right = max(right, g.x_label_x + half)
    if marks.col_groups:
        y += GAP / 2
        g.col_group_y = y + ASCENT * SMALL_FONT
        y += (ASCENT + DESCENT) * SMALL_FONT
        g.col_bracket_y = y + 2
        y += 4
    if not col_w:
        header = GAP / 2
    elif g.rotate:  # a label of width w turned by 45 degrees rises w * sin(45) above its foot
        header = GAP + 0.15 * g.label_font + SIN45 * (max(col_w) + ASCENT * g.label_font) + 2
    else:
        header = GAP + (ASCENT + DESCENT) * g.label_font
    g.grid_top = y + header
    g.grid_bottom = g.grid_top + g.n_rows * g.cell

    g.legend_height = max(g.n_rows * g.cell, (len(legend[0]) + 0.5) * SMALL_FONT * 1.4)
    bottom = max(g.grid_bottom, g.grid_top + g.legend_height)
    if legend[1]:  # the grey "nan/inf" swatch under the scale
        bottom += GAP + SMALL_FONT * 1.2
    g.y_label = _clean(text.y_label)
    if g.y_label:  # turned upright, centred on the grid; the figure grows if it is taller
        span = text_width(g.y_label, FONT)
        g.y_label_y = max((g.grid_top + g.grid_bottom) / 2, g.grid_top + span / 2)
        bottom = max(bottom, g.y_label_y + span / 2)
    g.key, bottom, key_right = key_elements(marks.notes, bottom, room)
    right = max(right, key_right)
    g.caption = []
    if text.caption:
        g.caption, bottom, caption_right = _text_lines(
            MARGIN, bottom + GAP, text.caption, SMALL_FONT, room, class_="caption", fill=MUTED_TEXT
        )
        right = max(right, caption_right)
    g.width, g.height = right + MARGIN, bottom + MARGIN
    return g


def _col_label_x(g, j):
    """Where the baseline of column j's label starts (rotated) or centres (upright)."""
    cx = g.grid_left + (j + 0.5) * g.cell
    return cx + 0.25 * g.label_font if g.rotate else cx  # rotated: looks centred a little right


def _col_label_feet(g, j):
    """(x, y) of the baseline of column j's label."""
    lift = 0.15 if g.rotate else DESCENT
    return _col_label_x(g, j), g.grid_top - GAP - lift * g.label_font


def _col_label_right_edges(g, col_w):
    if not g.rotate:
        return [g.grid_right]
    # the far corner of a rotated label: its length along the 45-degree baseline plus its
    # descent, which the rotation turns to the right
    return [_col_label_x(g, j) + SIN45 * (w + DESCENT * g.label_font) for j, w in enumerate(col_w)]


# ---------------------------------------------------------------------- drawing


def cell_elements(g, marks, i, j, fill, hover, text):
    """Cell (i, j): a coloured square with hover text and its number in a contrasting ink;
    then (separately, drawn over every cell) its frames."""
    left, top = g.grid_left + j * g.cell, g.grid_top + i * g.cell
    faded = FADED if i in marks.faded else None
    body = [
        _rect(
            left, top, g.cell, g.cell, fill, hover, stroke="#ffffff", class_="cell", opacity=faded
        )
    ]
    if (i, j) in marks.masked:  # crossed out, no number
        body.append(
            _line(
                left + 3, top + g.cell - 3, left + g.cell - 3, top + 3, "#c4c4c4", class_="masked"
            )
        )
    elif g.show_values:
        cx, baseline = left + g.cell / 2, top + g.cell / 2 + MIDDLE * g.value_font
        weight = "bold" if (i, j) in marks.row_max else None
        body.append(
            _text(
                cx,
                baseline,
                text,
                g.value_font,
                "middle",
                fill=ink(fill),
                class_="value",
                font_weight=weight,
                opacity=faded,
            )
        )
    overlays = []
    if (i, j) in marks.row_max:
        inset = 2.5
        overlays.append(
            _rect(
                left + inset,
                top + inset,
                g.cell - 2 * inset,
                g.cell - 2 * inset,
                "none",
                stroke=DARK_TEXT,
                stroke_width=1,
                stroke_dasharray="3 2",
                class_="row-max",
            )
        )
    if (i, j) in marks.outline:
        inset = 1.5
        overlays.append(
            _rect(
                left + inset,
                top + inset,
                g.cell - 2 * inset,
                g.cell - 2 * inset,
                "none",
                stroke=OUTLINE,
                stroke_width=3,
                class_="outline",
            )
        )
    return body, overlays


def label_elements(g, short, marks):
    body = []
    for i, label in enumerate(short.rows):
        baseline = g.grid_top + (i + 0.5) * g.cell + MIDDLE * g.label_font
        colour = MUTED_TEXT if i in marks.faded else None
        body.append(
            _text(
                g.grid_left - GAP,
                baseline,
                label,
                g.label_font,
                "end",
                class_="row-label",
                fill=colour,
            )
        )
    for j, label in enumerate(short.cols):
        x, y = _col_label_feet(g, j)
        anchor, turn = ("start", -45) if g.rotate else ("middle", None)
        body.append(_text(x, y, label, g.label_font, anchor, turn, class_="col-label"))
    at = 0
    for name, size in marks.col_groups:  # the name centred over its columns, a bracket below
        left, right = g.grid_left + at * g.cell, g.grid_left + (at + size) * g.cell
        name = fit_text(_clean(name), SMALL_FONT, right - left - 4, bold=True)
        body.append(
            _text(
                (left + right) / 2,
                g.col_group_y,
                name,
                SMALL_FONT,
                "middle",
                class_="col-group",
                font_weight="bold",
            )
        )
        body.append(
            _line(
                left + 2,
                g.col_bracket_y,
                right - 2,
                g.col_bracket_y,
                GROUP_LINE,
                class_="group-bracket",
            )
        )
        at += size
    at = 0
    for name, size in marks.row_groups:  # the name turned upright, a bracket right of it
        top, bottom = g.grid_top + at * g.cell, g.grid_top + (at + size) * g.cell
        name = fit_text(_clean(name), SMALL_FONT, bottom - top - 4, bold=True)
        body.append(
            _text(
                g.row_group_x,
                (top + bottom) / 2,
                name,
                SMALL_FONT,
                "middle",
                -90,
                class_="row-group",
                font_weight="bold",
            )
        )
        body.append(
            _line(
                g.row_bracket_x,
                top + 2,
                g.row_bracket_x,
                bottom - 2,
                GROUP_LINE,
                class_="group-bracket",
            )
        )
        at += size
    return body


def group_lines(g, marks):
    """A dark line across the grid where one group of rows or columns ends."""
    body = []
    for j in _group_starts(marks.col_groups):
        x = g.grid_left + j * g.cell
        body.append(
            _line(x, g.grid_top, x, g.grid_bottom, GROUP_LINE, stroke_width=2, class_="group-line")
        )
    for i in _group_starts(marks.row_groups):
        y = g.grid_top + i * g.cell
        body.append(
            _line(g.grid_left, y, g.grid_right, y, GROUP_LINE, stroke_width=2, class_="group-line")
        )
    return body


def key_elements(notes, y, room):
    """One line per kind of mark: a small swatch drawn like the mark, then what it means.
    Returns (elements, new bottom, right edge)."""
    body, right, size = [], MARGIN, 10.0
    for kind, note in notes:
        y += GAP
        left = MARGIN
        swatch = {"class_": "key-swatch"}
        if kind == "outline":
            body.append(
                _rect(
                    left + 1,
                    y + 1,
                    size - 2,
                    size - 2,
                    "#ffffff",
                    stroke=OUTLINE,
                    stroke_width=2,
                    **swatch,
                )
            )
        elif kind == "row_max":
            body.append(
                _rect(
                    left,
                    y,
                    size,
                    size,
                    "#ffffff",
                    stroke=DARK_TEXT,
                    stroke_width=1,
                    stroke_dasharray="3 2",
                    **swatch,
                )
            )
        elif kind == "masked":
            body.append(_rect(left, y, size, size, MASKED, **swatch))
            body.append(
                _line(
                    left + 1, y + size - 1, left + size - 1, y + 1, "#c4c4c4", class_="key-swatch"
                )
            )
        else:  # faded rows
            body.append(
                _rect(left, y, size, size, ramp_colour("sequential", 0.8), opacity=FADED, **swatch)
            )
        lines, y, edge = _text_lines(
            left + size + GAP,
            y,
            note,
            SMALL_FONT,
            room - size - GAP,
            class_="key",
            fill=MUTED_TEXT,
        )
        body += lines
        right = max(right, edge)
    return body, y, right


def legend_texts(rows, cmap, lo, hi, fmt):
    """The colour scale's labels from top to bottom, and the names of the grey values."""
    ends = [format_number(hi, fmt), format_number(0.0, fmt), format_number(lo, fmt)]
    scale = ends if cmap == "diverging" else [ends[0], ends[2]]
    flat = [x for row in rows for x in row]
    seen = {"nan": any(map(math.isnan, flat)), "inf": math.inf in flat, "-inf": -math.inf in flat}
    grey = [name for name in ("nan", "inf", "-inf") if seen[name]]
    return scale, ["/".join(grey)] if grey else []


def legend_elements(g, cmap, legend):
    """A vertical colour bar (high at the top) made of thin bands, its end values on the
    right, and a grey swatch for nan/inf when there are any."""
    scale, grey = legend
    left, top, height, steps = g.legend_left, g.grid_top, g.legend_height, 32
    body = []
    for k in range(steps):  # band k from the top shows the value at 1 - (k + 0.5) / steps
        colour = ramp_colour(cmap, 1 - (k + 0.5) / steps)
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
