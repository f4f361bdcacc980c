"""Matrix products drawn as a person draws them on paper: X  x  W_q  =  Q.

A composite figure puts the matrices of one step of attention side by side, the operator
between them, the name of each above it and its shape under it, every cell coloured and its
number printed. The numbers are the engine's (stages.py); nothing here computes anything.

    X          x      W_q          =      Q
    [4 x 6 grid]      [6 x 6 grid]        [4 x 6 grid]
    4 x 6             6 x 6               4 x 6

One module draws them for three readers:

* `figure_svg(figure)`: one static SVG per stage, for the docs and the walkthrough;
* `term_svg(term)`: one matrix as its own small SVG; the explorer page (explorer.py) lays
  these out with HTML so that they wrap on a narrow screen, and makes their cells explain
  themselves.

Which matrices each of the six stages shows, with titles and captions in plain words, is
decided in stage_figures.py.

Every matrix is an `<svg class="term" data-m="Q" data-cols="6">` naming its matrix in
`Stages.matrices`, its cells `<rect class="cell">` row by row (on the explorer page they
come packed into two attributes, `packed=True`, and its script makes them, each with its
row and column): that is all the page needs to find the numbers behind a cell. Colours:
blue for negative, white for 0, red for positive (each matrix scaled by its own largest
size); attention weights white to dark blue over [0, 1].
"""

import math
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from .colours import DARK_TEXT, MASKED, MISSING, OUTLINE, ink, ramp_colour
from .fonts import text_width
from .svg import (
    ASCENT,
    DESCENT,
    GAP,
    MARGIN,
    MIDDLE,
    MUTED_TEXT,
    SIN45,
    SMALL_FONT,
    TITLE_FONT,
    VALUE_FONT,
    _attrs,
    _clean,
    _document,
    _line,
    _px,
    _rect,
    _text,
    _text_lines,
    format_number,
)

__all__ = ["Term", "Figure", "term_svg", "term_size", "figure_svg"]

NAME_FONT, LABEL_FONT, OP_FONT, CAPTION_FONT = 13, 11, 20, 11
PAD = 4  # px around a term's own SVG


@dataclass(frozen=True)
class Term:
    """One matrix of a composite: `key` is its name in `Stages.matrices`, `name` what is
    written above it. A `result` is what its product computes (its cells explain
    themselves on the page); `masked` cells are crossed out; `cmap` is "diverging" or
    "sequential"."""

    key: str
    name: str
    values: list
    row_labels: list
    col_labels: list
    result: bool = False
    cmap: str = "diverging"
    masked: tuple = ()
    col_groups: tuple = ()  # (name, number of columns) pairs, divided by a line
    outline: tuple = ()  # (i, j) cells framed in orange: where to look
    fmt: str = "{:.2f}"  # how each number is printed in its cell


@dataclass
class Figure:
    """One stage: a title, a caption, and its products, each a list of Terms and operator
    strings in reading order (["softmax", Term, "=", Term])."""

    stage: object  # 1..6, or a name such as "gradients"
    title: str
    caption: str
    products: list = field(default_factory=list)


# ---------------------------------------------------------------------- one matrix


def _layout(term):
    """Sizes and positions of one term, in px from its own top-left corner."""
    rows = term.values
    n_rows, n_cols = len(rows), len(rows[0])
    texts = [[format_number(x, term.fmt) if x is not None else "" for x in row] for row in rows]
    widest = max(text_width(t, VALUE_FONT) for row in texts for t in row)
    cell = max(24, math.ceil(widest + 10))
    row_w = max((text_width(s, LABEL_FONT) for s in term.row_labels), default=0.0)
    col_w = [text_width(s, LABEL_FONT) for s in term.col_labels]
    rotate = any(w > cell - 4 for w in col_w)
    name_w = text_width(term.name, NAME_FONT, bold=True)
    shape = f"{n_rows} \u00d7 {n_cols}"

    left = PAD + (row_w + GAP if term.row_labels else 0)
    top = PAD + (ASCENT + DESCENT) * NAME_FONT + GAP / 2
    if term.col_groups:
        top += (ASCENT + DESCENT) * SMALL_FONT + GAP
    if rotate:  # a label w wide turned by 45 degrees rises w * sin(45) above its foot
        top += GAP + SIN45 * (max(col_w) + ASCENT * LABEL_FONT) + 2
    elif col_w:
        top += GAP + (ASCENT + DESCENT) * LABEL_FONT
    grid_w, grid_h = n_cols * cell, n_rows * cell
    right = left + grid_w
    if rotate:  # the far corner of each rotated label: its foot, then along 45 degrees
        for j, w in enumerate(col_w):
            foot = left + (j + 0.5) * cell + 0.25 * LABEL_FONT
            right = max(right, foot + SIN45 * (w + DESCENT * LABEL_FONT))
    centre = left + grid_w / 2
    half = max(name_w, text_width(shape, SMALL_FONT)) / 2
    shift = max(0.0, PAD + half - centre)  # a name wider than the grid: move everything right
    left, right, centre = left + shift, right + shift, centre + shift
    # the grid on whole pixels: every cell's corner is a short whole number in the file
    nudge_x, nudge_y = math.ceil(left) - left, math.ceil(top) - top
    left, top, right, centre = left + nudge_x, top + nudge_y, right + nudge_x, centre + nudge_x
    width = max(right, centre + half) + PAD
    height = top + grid_h + GAP / 2 + (ASCENT + DESCENT) * SMALL_FONT + PAD
    return dict(
        texts=texts,
        cell=cell,
        rotate=rotate,
        left=left,
        top=top,
        centre=centre,
        width=width,
        height=height,
        shape=shape,
        row_w=row_w,
    )


def term_size(term):
    """(width, height, grid centre height) of a term's SVG, in px."""
    g = _layout(term)
    return g["width"], g["height"], g["top"] + len(term.values) * g["cell"] / 2


def _term_body(term, g, packed=False):
    """The elements of one term, positioned from its own top-left corner."""
    cell, left, top = g["cell"], g["left"], g["top"]
    n_rows = len(term.values)
    body = [
        _text(
            g["centre"],
            PAD + ASCENT * NAME_FONT,
            term.name,
            NAME_FONT,
            "middle",
            class_="term-name",
            font_weight="bold",
        )
    ]
    y = PAD + (ASCENT + DESCENT) * NAME_FONT + GAP / 2
    at = 0
    for name, size in term.col_groups:  # head names over their columns
        x = left + (at + size / 2) * cell
        body.append(
            _text(x, y + ASCENT * SMALL_FONT, name, SMALL_FONT, "middle", class_="col-group")
        )
        at += size
    rows = [  # the words (or dims) along each axis; a group carries their font and anchor
        _label(left - GAP, top + (i + 0.5) * cell + MIDDLE * LABEL_FONT, label)
        for i, label in enumerate(term.row_labels)
    ]
    body += _group("row-labels", rows, font_size=LABEL_FONT, text_anchor="end")
    cols = []
    for j, label in enumerate(term.col_labels):
        x = left + (j + 0.5) * cell
        if g["rotate"]:  # turned by 45 degrees about its foot
            x, y = x + 0.25 * LABEL_FONT, top - GAP - 0.15 * LABEL_FONT
            cols.append(_label(x, y, label, transform=f"rotate(-45 {_px(x)} {_px(y)})"))
        else:
            cols.append(_label(x, top - GAP - DESCENT * LABEL_FONT, label))
    anchor = "start" if g["rotate"] else "middle"
    body += _group("col-labels", cols, font_size=LABEL_FONT, text_anchor=anchor)

    finite = [abs(x) for row in term.values for x in row if x is not None and math.isfinite(x)]
    scale = max(finite, default=0.0) or 1.0
    fills = [  # the colour of every cell, row by row; None for a masked one
        [None if (i, j) in term.masked else _fill(x, term.cmap, scale) for j, x in enumerate(row)]
        for i, row in enumerate(term.values)
    ]
    body += _packed_cells(term, g, fills) if packed else _cells(term, g, fills)
    crosses = "".join(  # masked cells are crossed out, corner to corner
        f"M{int(left) + j * cell + 4} {int(top) + (i + 1) * cell - 4}l{cell - 8} {8 - cell}"
        for i, j in sorted(term.masked)
    )
    if crosses:
        body.append(
            f'<path class="cross" d="{crosses}" stroke="#c4c4c4" fill="none" '
            'pointer-events="none"/>'
        )
    at = 0
    for _, size in term.col_groups[:-1]:  # a dark line where one head's columns end
        at += size
        x = left + at * cell
        body.append(_line(x, top, x, top + n_rows * cell, "#222222", stroke_width=2))
    for i, j in term.outline:  # an orange frame just inside the cell
        x0, y0 = int(left) + j * cell + 1.5, int(top) + i * cell + 1.5
        frame = dict(stroke=OUTLINE, stroke_width=3, class_="outline", pointer_events="none")
        body.append(_rect(x0, y0, cell - 3.0, cell - 3.0, "none", **frame))
    body.append(
        _text(
            g["centre"],
            top + n_rows * cell + GAP / 2 + ASCENT * SMALL_FONT,
            g["shape"],
            SMALL_FONT,
            "middle",
            class_="shape",
            fill=MUTED_TEXT,
        )
    )
    return body


def _label(x, y, text, **attrs):
    return f"<text{_attrs(x=x, y=y, **attrs)}>{escape(_clean(text))}</text>"


def _group(kind, items, **attrs):
    """Elements in a <g class=kind> that carries their shared attributes (none if empty)."""
    return [f"<g{_attrs(class_=kind, **attrs)}>", *items, "</g>"] if items else []


# The cells on whole pixels (see _layout): cell (i, j) has its corner at (x0 + j * cell,
# y0 + i * cell), its number centred on it, this far below its middle.
def _grid(g):
    return int(g["left"]), int(g["top"]), g["cell"], MIDDLE * VALUE_FONT


def _cells(term, g, fills):
    """Every cell as a <rect>, every number as a <text> (a masked cell gets no number)."""
    x0, y0, cell, dy = _grid(g)
    cells, values = [], []
    for i, row in enumerate(fills):
        for j, fill in enumerate(row):
            x, y = x0 + j * cell, y0 + i * cell
            kind = "cell masked" if fill is None else "cell"
            attrs = _attrs(x=x, y=y, width=cell, height=cell, fill=fill or MASKED, class_=kind)
            cells.append(f"<rect{attrs}/>")
            if fill is not None:
                colour = None if ink(fill) == DARK_TEXT else ink(fill)  # dark: the group's
                values.append(f"<text{_attrs(x=x + cell / 2, y=y + cell / 2 + dy, fill=colour)}>")
                values[-1] += f"{g['texts'][i][j]}</text>"
    return [
        '<g class="cells" stroke="#ffffff">',
        *cells,
        "</g>",
        # the numbers let the pointer through to their cells
        f'<g class="values" font-size="{VALUE_FONT}" text-anchor="middle" fill="{DARK_TEXT}" '
        'pointer-events="none">',
        *values,
        "</g>",
    ]


def _packed_cells(term, g, fills):
    """The same cells and numbers packed into two attributes, for the explorer page, whose
    script unpacks them into exactly the elements `_cells` writes (explorer_cells.js,
    `unpack`): the page draws tens of thousands of cells, and a <rect> and a <text> per cell
    would make it megabytes. data-grid is "x0 y0 cell dy"; data-fills the cells' colours row by row,
    "!" before a masked cell's; data-texts the unmasked cells' numbers, "~" for none."""
    x0, y0, cell, dy = _grid(g)
    colours = " ".join((f[1:] if f is not None else "!" + MASKED[1:]) for row in fills for f in row)
    texts = " ".join(
        g["texts"][i][j] or "~"
        for i, row in enumerate(fills)
        for j, f in enumerate(row)
        if f is not None
    )
    return [
        f'<g class="cells" stroke="#ffffff" data-grid="{x0} {y0} {cell} {dy:g}" '
        f'data-fills="{colours}"></g>',
        f'<g class="values" font-size="{VALUE_FONT}" text-anchor="middle" fill="{DARK_TEXT}" '
        f'pointer-events="none" data-texts={quoteattr(texts)}></g>',
    ]


def _fill(x, cmap, scale):
    if x is None or not math.isfinite(x):
        return MISSING
    if cmap == "sequential":
        return ramp_colour("sequential", x)
    return ramp_colour("diverging", 0.5 + 0.5 * x / scale)


def term_svg(term, x=None, y=None, packed=False):
    """One matrix as its own SVG: its name above, its shape under, its numbers in colour.
    With `x` and `y` it is an SVG nested at that place in a larger one; `packed=True` writes
    its cells packed for the explorer page (see `_packed_cells`).

    >>> t = Term("Q", "Q", [[1.0, -0.5]], ["cat"], ["d0", "d1"], result=True)
    >>> svg = term_svg(t)
    >>> 'data-m="Q"' in svg and ">-0.50</text>" in svg and "1 \u00d7 2" in svg
    True
    """
    g = _layout(term)
    width, height = math.ceil(g["width"]), math.ceil(g["height"])
    kind = "term result" if term.result else "term"
    where = ' xmlns="http://www.w3.org/2000/svg"' if x is None else _attrs(x=x, y=y)
    head = (
        f'<svg{where} class="{kind}" data-m={quoteattr(_clean(term.key))} '
        f'data-cols="{len(term.values[0])}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
    )
    return "\n".join([head, *_term_body(term, g, packed), "</svg>"])


# ---------------------------------------------------------------------- a whole stage


def figure_svg(figure):
    """A stage as one static SVG: the title, each product on its own line (terms side by
    side, operators between, their grids centred on one line), and the caption.

    >>> from tinygrad_attn.stages import Stages
    >>> from tinygrad_attn.viz.stage_figures import stage_figures
    >>> svg = figure_svg(stage_figures(Stages.random("I play with cats"))[1])
    >>> svg.count('class="term result"'), ">W_q</text>" in svg
    (3, True)
    """
    rows, widest = [], 0.0
    for product in figure.products:  # place the parts left to right
        placed, x, above, below = [], MARGIN, 0.0, 0.0
        for part in product:
            if isinstance(part, Term):
                width, height, middle = term_size(part)
                above, below = max(above, middle), max(below, height - middle)
                placed.append((part, x, middle))
            else:
                width = text_width(part, OP_FONT) + 2 * GAP
                placed.append((part, x + width / 2, None))
            x += width
        rows.append((placed, above, below))
        widest = max(widest, x)
    room = max(widest - MARGIN, 360.0)  # the title and caption wrap at this width

    body, y, _ = _text_lines(MARGIN, MARGIN, figure.title, TITLE_FONT, room, True, class_="title")
    y += GAP
    for placed, above, below in rows:
        middle = y + above  # every grid's centre, and the operators, on this line
        for part, x, term_middle in placed:
            if isinstance(part, Term):
                body.append(term_svg(part, x, middle - term_middle))
            else:
                baseline = middle + MIDDLE * OP_FONT
                body.append(_text(x, baseline, part, OP_FONT, "middle", class_="op"))
        y = middle + below + GAP
    caption, y, _ = _text_lines(
        MARGIN, y, figure.caption, CAPTION_FONT, room, class_="caption", fill=MUTED_TEXT
    )
    body += caption
    return _document(MARGIN + room + MARGIN, y + MARGIN, body, figure.title)
