"""Figures as SVG text: matrices and attention heatmaps (line charts are in charts.py).

The walkthrough draws every stage of attention (X, W_q, Q, K, V, scores, weights, output)
with `matrix_svg` and `heatmap_svg`; training draws attention before and after with
`heatmap_svg`. The SVG basics are in svg.py, text widths in fonts.py, colours in colours.py.

Layout rules (sizes in px, computed from the content):
* text is measured with the widths of the fonts the SVG names (fonts.py), so every label is
  placed where it cannot touch another label or the grid, and titles and captions wrap at
  the figure's width: no text leaves its figure;
* row labels sit right-aligned left of the grid; column labels sit above it, rotated by
  -45 degrees when one of them is wider than a cell; a label longer than `max_label_chars`
  ends in an ellipsis (the whole label is in the cell's hover text);
* the title and the shape are above, the colour scale right of the grid, a key to the marks
  and the caption below.

Marks that say more than a colour can (each explained in the key under the grid):
* `row_groups` / `col_groups`, [(name, size), ...]: blocks of rows or columns (the heads)
  divided by a dark line and named;
* `outline`, [(row, col), ...]: cells framed in orange (where attention should be);
* `masked`, True where a position was masked: crossed out, with no number, taking no part in
  the colour scale;
* `scored_rows`, the rows that count: the others are faded;
* `mark_row_max`: each row's largest number in bold, in a dashed frame, so that differences
  show even when every cell is pale.
Figures meant to be compared share one colour scale: `colours.shared_range`.
"""

import math
from types import SimpleNamespace

from .charts import line_chart_svg, nice_ticks
from .colours import MASKED, MISSING, RAMPS, cell_colour, colour_range, shared_range
from .grid import (
    cell_elements,
    grid_layout,
    group_lines,
    label_elements,
    legend_elements,
    legend_texts,
)
from .svg import (
    FONT,
    _as_matrix,
    _document,
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
    "shared_range",
    "write_svg",
    "format_number",
    "text_width",
    "nice_ticks",
    "MISSING",
    "MASKED",
]

OUTLINE_NOTE = "orange frame: where the attention should be"
ROW_MAX_NOTE = "bold, dashed frame: the largest number of its row"
MASKED_NOTE = "crossed out: masked, may not be looked at"
UNSCORED_NOTE = "faded rows: not scored"


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
    row_groups=None,
    col_groups=None,
    outline=None,
    outline_note=OUTLINE_NOTE,
    masked=None,
    scored_rows=None,
    unscored_note=UNSCORED_NOTE,
    mark_row_max=False,
):
    """A matrix as a grid of coloured cells with its numbers printed in them, as SVG text.

    `cmap="diverging"`: blue for negative, white for 0, red for positive, scaled by the
    largest |value| (or by `vmin`/`vmax`: give several figures the same, from
    `shared_range`, to compare them). `cmap="sequential"`: white -> dark blue over [0, 1]
    (or `vmin`..`vmax`). nan and +-inf cells are grey and say "nan", "inf", "-inf". The
    subtitle shows the shape; `cell` fixes the cell size in px. The marks (`row_groups`,
    `col_groups`, `outline`, `masked`, `scored_rows`, `mark_row_max`) are described in the
    module's docstring.

    >>> svg = matrix_svg([[1.0, -2.0], [0.5, 0.0]], ["the", "cat"], ["d0", "d1"], title="Q")
    >>> svg.startswith("<svg") and ">cat</text>" in svg and ">(2, 2)</text>" in svg
    True
    >>> svg = matrix_svg([[1, 2, 3, 4]], col_groups=[("head 1", 2), ("head 2", 2)])
    >>> ">head 2</text>" in svg
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
    marks = _marks(rows, shape, row_groups, col_groups, outline, masked, scored_rows, mark_row_max)
    marks.notes = _notes(marks, outline_note, unscored_note)
    try:
        texts = [[format_number(x, fmt) for x in row] for row in rows]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as err:
        hint = "use e.g. '{:.2f}'"
        raise ValueError(f"fmt {fmt!r} cannot format a number ({err}); {hint}") from None
    shown = [
        [x for j, x in enumerate(row) if (i, j) not in marks.masked] for i, row in enumerate(rows)
    ]
    lo, hi = colour_range(shown, cmap, vmin, vmax)
    subtitle = str(shape) if subtitle is None else subtitle

    short = SimpleNamespace(
        rows=[_shorten(s, max_label_chars) for s in row_labels or []],
        cols=[_shorten(s, max_label_chars) for s in col_labels or []],
    )
    legend = legend_texts(shown, cmap, lo, hi, fmt)
    text = SimpleNamespace(
        title=title, subtitle=subtitle, x_label=x_label, y_label=y_label, caption=caption
    )
    g = grid_layout(texts, short, text, marks, cell, show_values, legend)

    body = g.heading
    if g.x_label:
        body.append(_text(g.x_label_x, g.x_label_y, g.x_label, FONT, "middle", class_="x-label"))
    if g.y_label:
        body.append(
            _text(g.y_label_x, g.y_label_y, g.y_label, FONT, "middle", -90, class_="y-label")
        )
    body += label_elements(g, short, marks)
    overlays = []
    for i, row in enumerate(rows):
        for j, x in enumerate(row):
            where = [row_labels[i] if row_labels else f"row {i}"]
            where.append(col_labels[j] if col_labels else f"column {j}")
            hover = f"{', '.join(where)}: {format_number(x, '{:.6g}')}"  # more digits on hover
            if (i, j) in marks.masked:
                hover = f"{', '.join(where)}: masked"
            elif i in marks.faded:
                hover += " (not scored)"
            fill = MASKED if (i, j) in marks.masked else cell_colour(x, cmap, lo, hi)
            cell_body, cell_overlays = cell_elements(g, marks, i, j, fill, hover, texts[i][j])
            body += cell_body
            overlays += cell_overlays
    frame = (g.grid_left, g.grid_top, g.n_cols * g.cell, g.n_rows * g.cell)  # white cells show
    body.append(_rect(*frame, "none", stroke="#cccccc", class_="grid-frame"))
    body += group_lines(g, marks) + overlays
    body += legend_elements(g, cmap, legend)
    body += g.key + g.caption
    return _document(g.width, g.height, body, title)


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
    outline=None,
    outline_note=OUTLINE_NOTE,
    masked=None,
    scored_rows=None,
    unscored_note=UNSCORED_NOTE,
    mark_row_max=False,
):
    """Attention weights (numbers in [0, 1]) with the words on both axes, as SVG text.

    Row i is what query word i attends to: each row sums to 1 (say it with `caption=`).
    White is 0 and dark blue is 1 for every heatmap, so before/after pictures compare.
    `outline` frames the cells where attention should be, `masked` crosses out the
    positions a word may not look at, `scored_rows` fades the rows that do not count, and
    `mark_row_max` picks out each row's largest weight (see `matrix_svg`).

    >>> svg = heatmap_svg([[0.9, 0.1], [0.3, 0.7]], ["a", "cat"], ["a", "cat"], title="head 1")
    >>> svg.startswith("<svg") and ">0.90</text>" in svg and "key (attended to)" in svg
    True
    >>> svg = heatmap_svg([[1.0, 0.0], [0.3, 0.7]], ["a", "cat"], ["a", "cat"],
    ...                   masked=[[False, True], [False, False]], outline=[(1, 0)])
    >>> "masked, may not be looked at" in svg and "where the attention should be" in svg
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
        vmin=0.0,
        vmax=1.0,
        outline=outline,
        outline_note=outline_note,
        masked=masked,
        scored_rows=scored_rows,
        unscored_note=unscored_note,
        mark_row_max=mark_row_max,
    )


# ---------------------------------------------------------------------- marks


def _marks(rows, shape, row_groups, col_groups, outline, masked, scored_rows, mark_row_max):
    """The marks, checked against the matrix's shape, as sets of cells and rows."""
    n_rows, n_cols = len(rows), len(rows[0])
    marks = SimpleNamespace(
        row_groups=_groups(row_groups, n_rows, "row", shape),
        col_groups=_groups(col_groups, n_cols, "column", shape),
        outline=set(),
        masked=set(),
        faded=set(),
        row_max=set(),
    )
    if outline is not None:
        for pair in outline:
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
                raise TypeError(f"outline: give (row, column) pairs, got {pair!r}")
            i, j = (
                _index(k, n, "outline", kind)
                for k, n, kind in zip(pair, (n_rows, n_cols), ("row", "column"))
            )
            marks.outline.add((i, j))
    if masked is not None:
        flags, flags_shape = _as_matrix(masked)
        if len(flags) != n_rows or len(flags[0]) != n_cols:
            raise ValueError(
                f"masked has shape {flags_shape} but the matrix has shape {shape}; give one "
                f"True/False per cell"
            )
        marks.masked = {(i, j) for i, row in enumerate(flags) for j, f in enumerate(row) if f}
    if scored_rows is not None:
        scored = {_index(i, n_rows, "scored_rows") for i in scored_rows}
        marks.faded = set(range(n_rows)) - scored
    if mark_row_max:
        for i, row in enumerate(rows):
            seen = [x for j, x in enumerate(row) if (i, j) not in marks.masked and math.isfinite(x)]
            if seen and max(seen) > min(seen):  # a row of equal numbers has no largest
                top = max(seen)
                marks.row_max |= {(i, j) for j, x in enumerate(row) if x == top}
    return marks


def _index(k, n, where, kind="row"):
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
        raise ValueError(
            f"{where}: {kind} {k!r} does not exist; the matrix has {n} {kind}s, 0 to {n - 1}"
        )
    return k


def _groups(groups, count, kind, shape):
    """[(name, size), ...] covering all `count` rows or columns, checked."""
    if groups is None:
        return []
    groups = [(str(name), size) for name, size in groups]
    sizes = [size for _, size in groups]
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ValueError(f"{kind}_groups: sizes must be positive ints, got {sizes}")
    if sum(sizes) != count:
        raise ValueError(
            f"{kind}_groups: the sizes {sizes} add up to {sum(sizes)}, but the matrix (shape "
            f"{shape}) has {count} {kind}s"
        )
    return groups


def _notes(marks, outline_note, unscored_note):
    """The key under the grid: (kind of swatch, text) for each kind of mark present."""
    notes = []
    if marks.outline:
        notes.append(("outline", outline_note))
    if marks.row_max:
        notes.append(("row_max", ROW_MAX_NOTE))
    if marks.masked:
        notes.append(("masked", MASKED_NOTE))
    if marks.faded:
        notes.append(("faded", unscored_note))
    return notes
