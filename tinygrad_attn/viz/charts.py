"""Line charts as SVG text: training loss and accuracy curves.

Axes get "nice" tick values (1, 2 or 5 times a power of ten), gridlines and a legend; every
series gets its own colour from a palette that stays distinct for colour-blind readers.
"""

import math
from types import SimpleNamespace
from xml.sax.saxutils import escape

from .fonts import fit_text
from .svg import (
    ASCENT,
    AXIS_LINE,
    DESCENT,
    FONT,
    GAP,
    GRID_LINE,
    MARGIN,
    MIDDLE,
    SMALL_FONT,
    TEXT_ROOM,
    _attrs,
    _clean,
    _document,
    _heading,
    _line,
    _number,
    _plain,
    _px,
    _shorten,
    _text,
    format_number,
    text_width,
)

__all__ = ["line_chart_svg", "nice_ticks"]

# Okabe and Ito's palette: told apart with every common colour-vision deficiency.
# Yellow comes last: it is the hardest to see on white.
LINE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
LINE_COLOURS += ("#F0E442",)


# ---------------------------------------------------------------------- line charts


def _ticks(lo, hi, max_ticks, integer):
    """nice_ticks, plus the decimals its step needs."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        raise ValueError(f"need finite lo <= hi, got lo={lo!r}, hi={hi!r}")
    if hi == lo:  # a constant: open a range around it
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    if not math.isfinite(hi - lo):
        raise ValueError(f"the range {lo!r} .. {hi!r} is too wide to draw")
    raw = (hi - lo) / max(1, max_ticks - 1)  # the smallest step that fits max_ticks
    exponent = int(f"{raw:e}".split("e")[1])  # the power of ten just under raw
    if integer:
        exponent = max(exponent, 0)
    for e in range(exponent, exponent + 4):
        for m in (1, 2, 5):
            # from text, not 10 ** e: parsing is exact on every platform, pow() may not be
            step, decimals = float(f"{m}e{e}"), max(0, -e)
            if step < raw:
                continue
            first, last = _cover(lo, hi, step, decimals)
            if last - first < max_ticks:
                return [round(k * step, decimals) for k in range(first, last + 1)], decimals
    return [lo, hi], 6  # not reached for max_ticks >= 3: a step >= hi - lo gives 3 ticks


def _cover(lo, hi, step, decimals):
    """The numbers k of the first and last ticks (k * step, rounded to `decimals`) that just
    cover lo..hi. lo / step is rounded itself (0.3 / 0.1 = 2.9999999999999996), so the
    guess from floor and ceil is checked against the ticks as they will be printed."""

    def tick(k):
        return round(k * step, decimals)

    first, last = math.floor(lo / step), math.ceil(hi / step)
    while tick(first) > lo:
        first -= 1
    while tick(first + 1) <= lo:
        first += 1
    while tick(last) < hi:
        last += 1
    while tick(last - 1) >= hi:
        last -= 1
    return first, last


def nice_ticks(lo, hi, max_ticks=6, integer=False):
    """Round values for an axis from lo to hi: steps of 1, 2 or 5 times a power of ten,
    at most `max_ticks` of them, the first <= lo and the last >= hi.

    >>> nice_ticks(0, 0.87)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    >>> nice_ticks(0, 199, integer=True)
    [0, 50, 100, 150, 200]
    >>> nice_ticks(3, 3)  # a constant gets a range around it
    [2.6, 2.8, 3.0, 3.2, 3.4]
    """
    if not isinstance(max_ticks, int) or max_ticks < 3:  # -1..1 needs three: -1, 0, 1
        raise ValueError(f"max_ticks must be an int >= 3, got {max_ticks!r}")
    ticks, _ = _ticks(float(lo), float(hi), max_ticks, integer)
    return [int(t) for t in ticks] if integer else ticks


def _as_series(series, xs):
    """series -> [(name, xs, ys)], order kept; xs: None, one shared list, or a dict by name."""
    pairs = list(series.items()) if isinstance(series, dict) else list(series)
    if not pairs:
        raise ValueError("no series to draw: give a dict name -> list of numbers")
    out = []
    for pair in pairs:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise TypeError(f"each series must be a (name, numbers) pair, got {pair!r}")
        name, ys = str(pair[0]), _plain(pair[1])
        if not isinstance(ys, (list, tuple)):
            raise TypeError(f"series {name!r} must be a list of numbers, got {type(ys).__name__}")
        ys = [_number(y, f"[{k}] of series {name!r}") for k, y in enumerate(ys)]
        these = xs.get(name) if isinstance(xs, dict) else xs
        these = list(range(len(ys))) if these is None else _plain(these)
        if len(these) != len(ys):
            raise ValueError(
                f"series {name!r} has {len(ys)} values but {len(these)} x values; give one x "
                f"per value"
            )
        out.append(
            (name, [_number(x, f"[{k}] of the xs of {name!r}") for k, x in enumerate(these)], ys)
        )
    return out


def _axis(values, length, max_ticks, integer, extent):
    """Ticks for an axis `length` px long: fewer of them until their labels (`extent(label)`
    px each, along the axis) fit between neighbours."""
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    for n in range(max_ticks, 2, -1):
        ticks, decimals = _ticks(lo, hi, n, integer)
        labels = [format_number(t, f"{{:.{decimals}f}}") for t in ticks]
        if max(map(extent, labels)) + GAP <= length / (len(ticks) - 1):
            break
    return ticks, labels


def _tick_width(label):  # x tick labels sit side by side
    return text_width(label, SMALL_FONT)


def _tick_height(label):  # y tick labels stack up
    return (ASCENT + DESCENT) * SMALL_FONT


def _y_axis(ys, y_range, plot_h):
    """(lo, hi, ticks, tick labels) of the y axis: nice ticks around the data, or y_range."""
    if y_range is None:
        ticks, texts = _axis(ys, plot_h, 6, False, _tick_height)
        return ticks[0], ticks[-1], ticks, texts
    lo, hi = (float(v) for v in y_range)
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"y_range must be (lo, hi) with finite lo < hi, got {y_range!r}")
    ticks, texts = _axis([lo, hi], plot_h, 6, False, _tick_height)
    kept = [k for k, t in enumerate(ticks) if lo <= t <= hi]
    return lo, hi, [ticks[k] for k in kept], [texts[k] for k in kept]


def line_chart_svg(
    series,
    title="",
    x_label="step",
    y_label="",
    xs=None,
    y_range=None,
    *,
    size=(480, 260),
    max_label_chars=24,
):
    """Curves such as loss and accuracy against the step, as SVG text.

    `series` is a dict name -> list of numbers (or a list of (name, numbers) pairs); the
    order given is the legend's order. `xs` is one list for all series or a dict by name
    (default 0, 1, 2, ...). `y_range=(lo, hi)` fixes the y axis (points outside are drawn
    on its edge). nan and inf values are skipped: the line breaks there. `size` is the
    plot area in px, at least (100, 60).

    >>> svg = line_chart_svg({"loss": [2.3, 1.1, 0.4]}, title="training", y_label="loss")
    >>> svg.startswith("<svg") and "<polyline" in svg and ">loss</text>" in svg
    True
    """
    lines = _as_series(series, xs)
    plot_w, plot_h = (float(s) for s in size)
    if not (plot_w >= 100 and plot_h >= 60):
        raise ValueError(f"size is the plot area (width, height), at least (100, 60); got {size}")
    points = [(x, y) for _, px, py in lines for x, y in zip(px, py)]
    points = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
    integer_x = all(x == int(x) for x, _ in points)
    x_ticks, x_texts = _axis([x for x, _ in points], plot_w, 8, integer_x, _tick_width)
    y_lo, y_hi, y_ticks, y_texts = _y_axis([y for _, y in points], y_range, plot_h)

    # Left to right: y label, y tick labels, plot, legend. Top to bottom: title, plot, x tick
    # labels (a little lower than the lowest y tick label reaches), x label.
    x_label = fit_text(_clean(x_label), FONT, plot_w)
    y_label = fit_text(_clean(y_label), FONT, plot_h) if y_label else ""
    left = MARGIN + ((ASCENT + DESCENT) * FONT + GAP if y_label else 0)
    left += max(map(_tick_width, y_texts)) + 4 + GAP
    room = max(TEXT_ROOM, left + plot_w - MARGIN)  # the title wraps at the plot's right edge
    heading, top, right = _heading(title, "", MARGIN, room)
    top += GAP
    bottom = top + plot_h
    ticks_top = bottom + (MIDDLE + DESCENT) * SMALL_FONT + 2

    def to_px(x, y):
        y = min(y_hi, max(y_lo, y))  # outside y_range: on the edge
        fx = (x - x_ticks[0]) / (x_ticks[-1] - x_ticks[0])
        return left + fx * plot_w, bottom - (y - y_lo) / (y_hi - y_lo) * plot_h

    plot = SimpleNamespace(left=left, top=top, width=plot_w, height=plot_h, ticks_top=ticks_top)
    body = heading + _axes_elements(plot, x_ticks, x_texts, y_ticks, y_texts, to_px)
    below = ticks_top + (ASCENT + DESCENT) * SMALL_FONT
    if x_label:
        baseline = below + GAP + ASCENT * FONT
        body.append(_text(left + plot_w / 2, baseline, x_label, FONT, "middle", class_="x-label"))
        below += GAP + (ASCENT + DESCENT) * FONT
    if y_label:
        x, y = MARGIN + ASCENT * FONT, top + plot_h / 2
        body.append(_text(x, y, y_label, FONT, "middle", -90, class_="y-label"))
    legend_x = left + plot_w + max(2 * GAP, _tick_width(x_texts[-1]) / 2 + GAP)
    for k, (name, px, py) in enumerate(lines):
        colour = LINE_COLOURS[k % len(LINE_COLOURS)]
        dash = None if k < len(LINE_COLOURS) else "6 3"  # past 8 colours: dashed as well
        body += _series_elements(name, px, py, to_px, colour, dash)
        y = top + (k + 0.4) * FONT * 1.5  # the centre line of legend row k
        swatch = _line(
            legend_x, y, legend_x + 20.0, y, colour, stroke_width=2, stroke_dasharray=dash
        )
        body.append(swatch)
        label = _shorten(name, max_label_chars)
        body.append(_text(legend_x + 26, y + MIDDLE * FONT, label, FONT, class_="legend"))
        right = max(right, legend_x + 26 + text_width(label, FONT))
    height = max(below, top + len(lines) * FONT * 1.5)
    return _document(right + MARGIN, height + MARGIN, body, title)


def _axes_elements(plot, x_ticks, x_texts, y_ticks, y_texts, to_px):
    """Gridlines at every tick, tick labels, and the two axis lines."""
    left, top, right, bottom = plot.left, plot.top, plot.left + plot.width, plot.top + plot.height
    body = []
    for t, label in zip(y_ticks, y_texts):
        y = to_px(x_ticks[0], t)[1]
        body.append(_line(left, y, right, y, GRID_LINE))
        baseline = y + MIDDLE * SMALL_FONT  # centred on the gridline
        body.append(_text(left - 4 - GAP / 2, baseline, label, SMALL_FONT, "end", class_="tick"))
    for t, label in zip(x_ticks, x_texts):
        x = to_px(t, 0.0)[0]
        body.append(_line(x, top, x, bottom, GRID_LINE))
        baseline = plot.ticks_top + ASCENT * SMALL_FONT
        body.append(_text(x, baseline, label, SMALL_FONT, "middle", class_="tick"))
    body.append(_line(left, bottom, right, bottom, AXIS_LINE))
    body.append(_line(left, top, left, bottom, AXIS_LINE))
    return body


def _series_elements(name, xs, ys, to_px, colour, dash):
    """One polyline per run of finite points (nan/inf break the line); a lone point is a dot."""
    runs, run = [], []
    for x, y in zip(xs, ys):
        if math.isfinite(x) and math.isfinite(y):
            run.append(to_px(x, y))
        elif run:
            runs, run = runs + [run], []
    runs += [run] if run else []
    hover = f"<title>{escape(_clean(name))}</title>"
    body = []
    for run in runs:
        if len(run) == 1:
            attrs = _attrs(cx=run[0][0], cy=run[0][1], r=3.0, fill=colour, class_="series")
            body.append(f"<circle{attrs}>{hover}</circle>")
        else:
            coords = " ".join(f"{_px(x)},{_px(y)}" for x, y in run)
            style = {"stroke_width": 2, "stroke_dasharray": dash, "stroke_linejoin": "round"}
            attrs = _attrs(points=coords, fill="none", stroke=colour, class_="series", **style)
            body.append(f"<polyline{attrs}>{hover}</polyline>")
    return body
