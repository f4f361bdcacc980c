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
  themselves;
* `stage_figures(stages, head)` and `gradient_figures(stages)`: which matrices each of the
  six stages (and the gradient view) shows, with titles and captions in plain words.

Every matrix is an `<svg class="term" data-m="Q" data-cols="6">` naming its matrix in
`Stages.matrices`, its cells `<rect class="cell">` row by row (the page's script numbers
them from that, to keep the file small): that is all the page needs to find the
numbers behind a cell. Colours: blue for negative, white for 0, red for positive (each
matrix scaled by its own largest size); attention weights white to dark blue over [0, 1].
"""

import math
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from .colours import DARK_TEXT, MASKED, MISSING, OUTLINE, RAMPS, ink, ramp_colour
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
    _rect,
    _text,
    _text_lines,
    format_number,
)

__all__ = [
    "Term",
    "Figure",
    "term_svg",
    "figure_svg",
    "stage_figures",
    "gradient_figures",
    "STAGE_TITLES",
    "RAMPS",
    "file_name",
]

NAME_FONT, LABEL_FONT, OP_FONT, CAPTION_FONT = 13, 11, 20, 11
GRADIENT_FORMAT = "{:.3f}"  # gradients are small: one more decimal
TINY_FORMAT = "{:.1e}"  # ... and when even that shows only zeros, powers of ten


def _gradient_format(values):
    """Three decimals, or powers of ten when the largest number would print as 0.00x.

    >>> _gradient_format([[0.5, -0.02]]), _gradient_format([[3e-5, 0.0]])
    ('{:.3f}', '{:.1e}')
    """
    largest = max((abs(x) for row in values for x in row if x is not None), default=0.0)
    return GRADIENT_FORMAT if largest >= 0.01 or largest == 0.0 else TINY_FORMAT


PAD = 4  # px around a term's own SVG

STAGE_TITLES = {
    1: "The sentence as a matrix",
    2: "Q, K and V: the words seen three ways",
    3: "Scores: Q K^T / sqrt(d_k)",
    4: "Softmax, row by row",
    5: "Weights times V: one head",
    6: "Concat(heads) W^O: back to the input's shape",
}


FILE_NAMES = {
    1: "stage1_sentence",
    2: "stage2_qkv",
    3: "stage3_scores",
    4: "stage4_softmax",
    5: "stage5_head",
    6: "stage6_output",
    "gradients": "stage_gradients",
}


def file_name(figure):
    """The name a stage's figure is saved under: "stage3_scores.svg", ..."""
    return FILE_NAMES[figure.stage] + ".svg"


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


def _term_body(term, g):
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
    for i, label in enumerate(term.row_labels):
        baseline = top + (i + 0.5) * cell + MIDDLE * LABEL_FONT
        body.append(_text(left - GAP, baseline, label, LABEL_FONT, "end", class_="row-label"))
    for j, label in enumerate(term.col_labels):
        x = left + (j + 0.5) * cell
        if g["rotate"]:
            x, y = x + 0.25 * LABEL_FONT, top - GAP - 0.15 * LABEL_FONT
            body.append(_text(x, y, label, LABEL_FONT, "start", -45, class_="col-label"))
        else:
            y = top - GAP - DESCENT * LABEL_FONT
            body.append(_text(x, y, label, LABEL_FONT, "middle", class_="col-label"))

    finite = [abs(x) for row in term.values for x in row if x is not None and math.isfinite(x)]
    scale = max(finite, default=0.0) or 1.0
    cells, values = [], []
    for i, row in enumerate(term.values):
        for j, x in enumerate(row):
            masked = (i, j) in term.masked
            fill = _fill(x, term.cmap, scale) if not masked else MASKED
            x0, y0 = int(left) + j * cell, int(top) + i * cell  # whole pixels (see _layout)
            kind = "cell masked" if masked else "cell"
            attrs = _attrs(x=x0, y=y0, width=cell, height=cell, fill=fill, class_=kind)
            cells.append(f"<rect{attrs}/>")
            if masked:  # crossed out, no number
                cross = dict(class_="cross", pointer_events="none")
                cells.append(
                    _line(x0 + 4, y0 + cell - 4, x0 + cell - 4, y0 + 4, "#c4c4c4", **cross)
                )
            else:
                baseline = y0 + cell / 2 + MIDDLE * VALUE_FONT
                colour = None if ink(fill) == DARK_TEXT else ink(fill)  # dark: the group's
                values.append(f"<text{_attrs(x=x0 + cell / 2, y=baseline, fill=colour)}>")
                values[-1] += f"{g['texts'][i][j]}</text>"
    body.append('<g class="cells" stroke="#ffffff">')
    body += cells
    body.append("</g>")
    # the numbers let the pointer through to their cells
    body.append(
        f'<g class="values" font-size="{VALUE_FONT}" text-anchor="middle" fill="{DARK_TEXT}" '
        'pointer-events="none">'
    )
    body += values
    body.append("</g>")
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


def _fill(x, cmap, scale):
    if x is None or not math.isfinite(x):
        return MISSING
    if cmap == "sequential":
        return ramp_colour("sequential", x)
    return ramp_colour("diverging", 0.5 + 0.5 * x / scale)


def term_svg(term, x=None, y=None):
    """One matrix as its own SVG: its name above, its shape under, its numbers in colour.
    With `x` and `y` it is an SVG nested at that place in a larger one.

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
    return "\n".join([head, *_term_body(term, g), "</svg>"])


# ---------------------------------------------------------------------- a whole stage


def figure_svg(figure):
    """A stage as one static SVG: the title, each product on its own line (terms side by
    side, operators between, their grids centred on one line), and the caption.

    >>> from tinygrad_attn.stages import Stages
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


# ---------------------------------------------------------------------- the six stages


def _term_maker(stages):
    def term(key, name, result=False, **options):
        m = stages.matrices[key]
        if options.get("fmt") == GRADIENT_FORMAT:
            options["fmt"] = _gradient_format(m)
        rows, cols = stages.row_labels[key], stages.col_labels[key]
        return Term(key, name, m, rows, cols, result, **options)

    return term


def stage_figures(stages, head=1):
    """The six stages of the explanation for one head (counted from 1), as Figures.

    >>> from tinygrad_attn.stages import Stages
    >>> [f.stage for f in stage_figures(Stages.random("I play with cats"), head=2)]
    [1, 2, 3, 4, 5, 6]
    """
    s, h = stages, head
    if not 1 <= h <= s.heads:
        raise ValueError(f"head must be 1..{s.heads}, got {head!r}")
    term = _term_maker(s)
    T, d, dh, H = len(s.words), s.dim, s.d_head, s.heads
    trained = s.source == "trained"
    learned = "learned in training" if trained else "random here"
    masked = tuple(tuple(p) for p in s.masked)
    title = {n: f"{n}. {text}" for n, text in STAGE_TITLES.items()}
    if H > 1:
        for n in (3, 4, 5):
            title[n] += f" (head {h} of {H})"

    x_note = (
        "These are the numbers the trained model's attention reads: each word's embedding "
        "plus its position's, normalised (LayerNorm)."
        if trained
        else "Here they are seeded random numbers; a trained model learns them (an embedding)."
    )
    figures = [
        Figure(
            1,
            title[1],
            f"Each word becomes a row of {d} numbers, so the {T} words make a {T} \u00d7 {d} "
            f"matrix X. {x_note}",
            [[term("X", "X", result=True)]],
        ),
        Figure(
            2,
            title[2],
            f"Three weight matrices ({learned}) turn the same rows into three new ones: a "
            "query (what am I looking for?), a key (what do I offer?) and a value (what do I "
            "pass on?). Each number of Q is one row of X times one column of W_q.",
            [
                [term("X", "X"), "\u00d7", term(f"W_{n}", f"W_{n}"), "=", term(N, N, True)]
                for n, N in (("q", "Q"), ("k", "K"), ("v", "V"))
            ],
        ),
    ]
    head_part = f"Head {h} takes its own {dh} columns of Q and K. " if H > 1 else ""
    figures.append(
        Figure(
            3,
            title[3],
            f"{head_part}Row i, column j of the scores is word i's query times word j's key: "
            f"how well they match. Dividing by sqrt(d_k) = sqrt({dh}) = {math.sqrt(dh):.3f} "
            "keeps the scores from growing with the number of columns.",
            [
                [
                    term(f"Q_{h}", f"Q_{h}"),
                    "\u00d7",
                    term(f"K_{h}^T", f"K_{h}^T"),
                    "=",
                    term(f"scores_{h}", "scores", True),
                    f"\u00f7 \u221a{dh} =",
                    term(f"scaled_{h}", "scaled scores", True),
                ]
            ],
        )
    )
    mask_note = (
        " A word may not look at the words after it: those cells are crossed out and get weight 0."
        if masked
        else ""
    )
    focus = tuple(tuple(p) for p in s.focus)
    weights = term(f"weights_{h}", "weights", True, cmap="sequential", masked=masked, outline=focus)
    figures.append(
        Figure(
            4,
            title[4],
            "Softmax makes each row probabilities: e to the power of each score, divided by "
            "the row's total. Every weight is positive and each row sums to 1: row i says how "
            f"much word i looks at each word.{mask_note}"
            + (f" Framed: {_focus_text(s, h)}" if focus else ""),
            [["softmax", term(f"scaled_{h}", "scaled scores", masked=masked), "=", weights]],
        )
    )
    figures.append(
        Figure(
            5,
            title[5],
            f"Each word's output is a weighted average of the values: row i of the weights "
            f"times V_{h}. A word that puts most of its weight on one word mostly takes that "
            "word's value.",
            [
                [
                    term(
                        f"weights_{h}", "weights", cmap="sequential", masked=masked, outline=focus
                    ),
                    "\u00d7",
                    term(f"V_{h}", f"V_{h}"),
                    "=",
                    term(f"head_{h}", f"head_{h}", True),
                ]
            ],
        )
    )
    groups = tuple((f"head {n}", dh) for n in range(1, H + 1)) if H > 1 else ()
    heads = f"The {H} heads' outputs side by side" if H > 1 else "The head's output"
    figures.append(
        Figure(
            6,
            title[6],
            f"{heads} ({T} \u00d7 {d}), times W^O ({learned}): back to {T} \u00d7 {d}, the "
            "input's shape. Every word now carries something from the words it attended to.",
            [
                [
                    term("concat", "Concat(heads)" if H > 1 else "head_1", col_groups=groups),
                    "\u00d7",
                    term("W_o", "W^O"),
                    "=",
                    term("output", "MultiHead(X)", True),
                ]
            ],
        )
    )
    return figures


def _focus_text(stages, head):
    """ "the row of "it" puts 0.93 of its weight on "cat"" for each framed cell."""
    words, weights = stages.words, stages.matrices[f"weights_{head}"]
    parts = [
        f'the row of "{words[i]}" puts {weights[i][j]:.2f} of its weight on "{words[j]}"'
        for i, j in stages.focus
    ]
    note = f" ({stages.focus_note})" if stages.focus_note else ""
    return "; ".join(parts) + note + "."


def gradient_figures(stages):
    """The gradient of the loss for each weight matrix, drawn as the product that computes
    it: dL/dW_q = X^T dL/dQ (and so on), in one Figure.

    >>> from tinygrad_attn.stages import Stages
    >>> f = gradient_figures(Stages.random("I play with cats"))
    >>> [p[-1].key for p in f.products]
    ['dL/dW_q', 'dL/dW_k', 'dL/dW_v', 'dL/dW_o']
    """
    s = stages
    term = _term_maker(s)
    if s.loss_kind == "reconstruction":
        what = (
            f"The loss here is {s.loss_name} = {s.loss:.4f}: how far each word's output is "
            "from its own input. These weights were never trained and there is no next word "
            "to predict, so this simple loss stands in for a real one."
        )
    else:
        what = (
            f"The loss is the model's {s.loss_name} on this sentence = {s.loss:.4f} nats per "
            "word: how surprised it is by each next word."
        )
    products = [
        [
            term("X^T", "X^T"),
            "\u00d7",
            term(f"dL/d{N}", f"dL/d{N}", fmt=GRADIENT_FORMAT),
            "=",
            term(f"dL/dW_{n}", f"dL/dW_{n}", True, fmt=GRADIENT_FORMAT),
        ]
        for n, N in (("q", "Q"), ("k", "K"), ("v", "V"))
    ]
    products.append(
        [
            term("concat^T", "Concat^T"),
            "\u00d7",
            term("dL/doutput", "dL/dMultiHead", fmt=GRADIENT_FORMAT),
            "=",
            term("dL/dW_o", "dL/dW^O", True, fmt=GRADIENT_FORMAT),
        ]
    )
    return Figure(
        "gradients",
        "Gradients: how the loss changes with every weight",
        f"{what} Backpropagation gives dL/dQ, dL/dK, dL/dV and dL/dMultiHead; each weight's "
        "gradient is then a matrix product like stage 2's: dL/dW_q = X^T dL/dQ. Red: a "
        "larger weight would raise the loss; training moves each weight a little the "
        "other way.",
        products,
    )
