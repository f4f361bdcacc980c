"""The SVG basics shared by every figure: numbers, text widths, elements, saving.

An SVG file is text, so a figure is a list of lines like

    <rect x="10.0" y="20.0" width="36.0" height="36.0" fill="#f4a582"/>

joined together. The figures in docs/ are regenerated and compared byte for byte, so the
output depends on the input only: every number is printed with a fixed number of decimals,
there are no ids and no dates, and items come in the order they were given.
"""

import math
import numbers
from xml.sax.saxutils import escape, quoteattr

from ..files import write_atomic
from .fonts import FONT_FAMILY, text_width, wrap_text

__all__ = ["format_number", "text_width", "write_svg"]

FONT, TITLE_FONT, SMALL_FONT, VALUE_FONT = 12, 14, 10, 11
ASCENT, DESCENT = 0.8, 0.25  # how far glyphs reach above / below the baseline, in font sizes
MIDDLE = 0.35  # a baseline this far (in font sizes) below a line centres digits on that line
MARGIN, GAP = 10, 6
LINE = ASCENT + DESCENT + 0.2  # font sizes from one line of text to the next
TEXT_ROOM = 300  # px: titles and captions wrap at the width of the figure, or at this
MUTED_TEXT = "#666666"
GRID_LINE, AXIS_LINE = "#e3e3e3", "#555555"
SIN45 = math.sqrt(0.5)  # sin(45 degrees) = cos(45 degrees), for rotated column labels


# ---------------------------------------------------------------------- numbers and text


def format_number(x, fmt="{:.2f}"):
    """`x` printed with `fmt`, the way every figure prints numbers: nan as "nan", the
    infinities as "inf" and "-inf", and never "-0.00" (a tiny negative number shows as 0).

    >>> format_number(-0.001), format_number(float("-inf")), format_number(2 / 3, "{:.3f}")
    ('0.00', '-inf', '0.667')
    """
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    text = fmt.format(x)
    if text.startswith("-") and not any(c in "123456789" for c in text):
        text = text[1:]  # -0.001 rounds to "-0.00": the sign says nothing, drop it
    return text


def _clean(text):
    """Text that XML 1.0 can hold: tabs and newlines become spaces (SVG would show them as
    spaces anyway), other control characters and lone surrogates become U+FFFD."""
    out = []
    for c in str(text):
        if c in "\t\n\r":
            c = " "
        elif c < " " or "\ud800" <= c <= "\udfff" or c in "\ufffe\uffff":
            c = "\ufffd"
        out.append(c)
    return "".join(out)


def _shorten(label, limit):
    """The label, cut to `limit` characters with an ellipsis when longer."""
    label = _clean(label)
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


# ---------------------------------------------------------------------- SVG elements


def _px(x):
    """A coordinate, always with one decimal: the same bytes on every run and platform."""
    return format_number(x, "{:.1f}")


def _attrs(**attrs):
    """' name="value"' pairs in the order given; None is left out, floats get one decimal,
    and Python names become SVG names (class_ -> class, font_size -> font-size)."""
    parts = []
    for name, value in attrs.items():
        if value is not None:
            value = _px(value) if isinstance(value, float) else str(value)
            parts.append(f" {name.rstrip('_').replace('_', '-')}={quoteattr(value)}")
    return "".join(parts)


def _text(x, y, text, size, anchor="start", rotate=None, **style):
    """A <text> whose baseline starts (anchor="start"), centres or ends at (x, y)."""
    turn = None if rotate is None else f"rotate({rotate} {_px(x)} {_px(y)})"
    attrs = _attrs(x=x, y=y, font_size=size, text_anchor=anchor, transform=turn, **style)
    return f"<text{attrs}>{escape(_clean(text))}</text>"


def _rect(x, y, width, height, fill, hover=None, **style):
    attrs = _attrs(x=x, y=y, width=width, height=height, fill=fill, **style)
    if hover is None:
        return f"<rect{attrs}/>"
    return f"<rect{attrs}><title>{escape(_clean(hover))}</title></rect>"


def _line(x1, y1, x2, y2, stroke, **style):
    return f"<line{_attrs(x1=x1, y1=y1, x2=x2, y2=y2, stroke=stroke, **style)}/>"


def _document(width, height, body, title):
    """The <svg> element around the body lines, sized to fit: a viewBox and explicit
    width and height, a white background (figures stay readable in dark viewers)."""
    width, height = math.ceil(width), math.ceil(height)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family={quoteattr(FONT_FAMILY)} '
        f'font-size="{FONT}" role="img">'
    )
    lines = [head]
    if title:
        lines.append(f"<title>{escape(_clean(title))}</title>")
    lines.append(_rect(0.0, 0.0, width, height, "#ffffff"))
    return "\n".join([*lines, *body, "</svg>"])


def _text_lines(x, y, text, size, room, bold=False, **style):
    """`text` wrapped at `room` px, first line's top at height y: (elements, new y, right)."""
    lines = wrap_text(_clean(text), size, room, bold)
    body = []
    for k, line in enumerate(lines):
        baseline = y + (k * LINE + ASCENT) * size
        weight = "bold" if bold else None
        body.append(_text(x, baseline, line, size, font_weight=weight, **style))
    height = (len(lines) * LINE - 0.2) * size if lines else 0.0
    right = max([x + text_width(line, size, bold) for line in lines], default=x)
    return body, y + height, right


def _heading(title, subtitle, y, room):
    """The title (bold) and subtitle, wrapped at `room` px, from height y down:
    (elements, new y, right edge)."""
    body, right = [], MARGIN
    if title:
        lines, y, edge = _text_lines(MARGIN, y, title, TITLE_FONT, room, True, class_="title")
        body += lines
        y, right = y + 4, max(right, edge)
    if subtitle:
        lines, y, edge = _text_lines(
            MARGIN, y, subtitle, SMALL_FONT, room, class_="subtitle", fill=MUTED_TEXT
        )
        body += lines
        y, right = y + 4, max(right, edge)
    return body, y, right


# ---------------------------------------------------------------------- checking input


def _plain(values):
    """A Tensor (or anything with .tolist()) as nested Python lists; lists pass through."""
    if not isinstance(values, (list, tuple, str)) and callable(getattr(values, "tolist", None)):
        return values.tolist()
    return values


def _number(x, where):
    if isinstance(x, numbers.Real):
        return float(x)
    if isinstance(x, (list, tuple)):
        raise ValueError(
            f"the entry at {where} is itself a list: only 1-D and 2-D input can be drawn; "
            f"pick one matrix, e.g. weights[0]"
        )
    raise TypeError(
        f"the entry at {where} is {x!r} ({type(x).__name__}), not a number; pass plain "
        f"numbers (a Value's number is its .data)"
    )


def _as_matrix(values):
    """values -> (rows of floats, shape as given); 1-D input becomes one row."""
    ndim = getattr(values, "ndim", None)
    if isinstance(ndim, int) and ndim not in (1, 2):
        raise ValueError(
            f"need a 1-D or 2-D array, got shape {tuple(values.shape)}; pick one "
            f"matrix, e.g. weights[0]"
        )
    values = _plain(values)
    if not isinstance(values, (list, tuple)):
        raise TypeError(
            f"need a matrix (nested lists of numbers or a Tensor), got {type(values).__name__}"
        )
    if not values:
        raise ValueError("the matrix is empty (shape (0,)): there is nothing to draw")
    if not any(isinstance(row, (list, tuple)) for row in values):
        return [[_number(x, f"[{j}]") for j, x in enumerate(values)]], (len(values),)
    lengths = [len(row) if isinstance(row, (list, tuple)) else None for row in values]
    if None in lengths:
        raise ValueError(
            f"rows mix numbers and lists (row lengths {lengths}); give a list of "
            f"rows of equal length"
        )
    if len(set(lengths)) > 1:
        raise ValueError(
            f"ragged rows: row lengths are {lengths}; every row needs the same number of columns"
        )
    shape = (len(values), lengths[0])
    if shape[1] == 0:
        raise ValueError(f"the matrix is empty (shape {shape}): there is nothing to draw")
    rows = [[_number(x, f"[{i}, {j}]") for j, x in enumerate(row)] for i, row in enumerate(values)]
    return rows, shape


def _labels(labels, count, kind, shape):
    if labels is None:
        return None
    labels = _plain(labels)
    if isinstance(labels, str):
        raise TypeError(f"{kind} labels must be a list of strings, got the string {labels!r}")
    labels = [str(label) for label in labels]
    if len(labels) != count:
        raise ValueError(
            f"{len(labels)} {kind} labels for {count} {kind}s (matrix shape {shape}); give one "
            f"label per {kind}"
        )
    return labels


# ---------------------------------------------------------------------- saving


def write_svg(svg_text, path):
    """Write a figure to `path` (UTF-8, ending in a newline) and return `path`.

    Parent folders are created. The text goes to a new, uniquely named temporary file
    first, then replaces `path` in one step, so a reader never sees half a figure (see
    files.py). Failures raise OSError naming the path.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "figs", "q.svg")
    >>> svg = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>'
    >>> write_svg(svg, path) == path and open(path).read().endswith("</svg>\\n")
    True
    """
    if not isinstance(svg_text, str):
        raise TypeError(f"svg_text must be a str, got {type(svg_text).__name__}")
    data = (svg_text if svg_text.endswith("\n") else svg_text + "\n").encode("utf-8")
    write_atomic(path, data, "write_svg", make_folders=True)
    return path
