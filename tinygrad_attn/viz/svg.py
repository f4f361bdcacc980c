"""The SVG basics shared by every figure: numbers, text widths, elements, saving.

An SVG file is text, so a figure is a list of lines like

    <rect x="10.0" y="20.0" width="36.0" height="36.0" fill="#f4a582"/>

joined together. The figures in docs/ are regenerated and compared byte for byte, so the
output depends on the input only: every number is printed with a fixed number of decimals,
there are no ids and no dates, and items come in the order they were given.
"""

import math
import numbers
import os
import unicodedata
from xml.sax.saxutils import escape, quoteattr

__all__ = ["format_number", "text_width", "write_svg"]

FONT_FAMILY = "Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif"
FONT, TITLE_FONT, SMALL_FONT, VALUE_FONT = 12, 14, 10, 11
ASCENT, DESCENT = 0.8, 0.25  # how far glyphs reach above / below the baseline, in font sizes
MIDDLE = 0.35  # a baseline this far (in font sizes) below a line centres digits on that line
MARGIN, GAP = 10, 6
DARK_TEXT, LIGHT_TEXT, MUTED_TEXT = "#222222", "#ffffff", "#666666"
MISSING = "#bdbdbd"  # the cell colour of nan and +-inf
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


def _char_width(ch):
    """Width of one character in font sizes, erring wide: DejaVu Sans, the widest common
    sans-serif fallback, is the reference (its digits are 0.64 wide, "i" 0.28, "W" 0.99)."""
    if unicodedata.combining(ch):
        return 0.0  # accents sit on the previous letter
    if unicodedata.east_asian_width(ch) in "WF" or ch in "mwMW@%\u2026\u2014":
        return 1.0
    if ch in "ijlI.,:;'|! ":
        return 0.34
    if ch in 'frt()[]{}-/\\*"`':
        return 0.48
    if ch.isupper() or ch in "&#~+=<>^":
        return 0.84
    return 0.64


def text_width(text, font_size):
    """Estimated width in px of `text` drawn at `font_size` (generous rather than tight).

    >>> text_width("ab", 10)
    12.8
    """
    return round(font_size * sum(_char_width(c) for c in text), 6)


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


def _heading(title, subtitle, y):
    """The title and subtitle lines from height y down: (elements, new y, right edge)."""
    body, right = [], MARGIN
    if title:
        baseline = y + ASCENT * TITLE_FONT
        body.append(_text(MARGIN, baseline, title, TITLE_FONT, class_="title", font_weight="bold"))
        y += (ASCENT + DESCENT) * TITLE_FONT + 4
        right = max(right, MARGIN + text_width(_clean(title), TITLE_FONT))
    if subtitle:
        baseline = y + ASCENT * SMALL_FONT
        body.append(
            _text(MARGIN, baseline, subtitle, SMALL_FONT, class_="subtitle", fill=MUTED_TEXT)
        )
        y += (ASCENT + DESCENT) * SMALL_FONT + 4
        right = max(right, MARGIN + text_width(_clean(subtitle), SMALL_FONT))
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

    Parent folders are created. The text goes to a temporary file first, then replaces
    `path` in one step, so a reader never sees half a figure. Failures raise OSError
    naming the path.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "figs", "q.svg")
    >>> svg = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>'
    >>> write_svg(svg, path) == path and open(path).read().endswith("</svg>\\n")
    True
    """
    if not isinstance(svg_text, str):
        raise TypeError(f"svg_text must be a str, got {type(svg_text).__name__}")
    data = (svg_text if svg_text.endswith("\n") else svg_text + "\n").encode("utf-8")
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    temp = os.path.join(folder, f".{os.path.basename(target)}.{os.getpid()}.tmp")
    try:
        os.makedirs(folder, exist_ok=True)
        with open(temp, "wb") as f:  # bytes: no newline translation on Windows
            f.write(data)
        os.replace(temp, target)
    except OSError as err:
        if os.path.exists(temp):
            os.remove(temp)
        where = f" ({err.filename})" if err.filename and err.filename != target else ""
        reason = f"{err.strerror or err}{where}"
        blocker = next((p for p in _parents(folder) if os.path.isfile(p)), None)
        if blocker is not None:  # makedirs says "File exists": say which file is in the way
            reason = f"{blocker} is a file, not a folder"
        failure = OSError(err.errno, f"cannot write {target}: {reason}")
        failure.filename = target
        raise failure from err
    return path


def _parents(folder):
    """`folder` and the folders above it, from the top down."""
    chain = [folder]
    while os.path.dirname(chain[-1]) != chain[-1]:
        chain.append(os.path.dirname(chain[-1]))
    return reversed(chain)
