"""Pictures of a model writing: what it considered at each step, and where it looked.

`probability_bars_svg`: one small bar chart per step. Each panel's heading says what came
before, its bars are the likeliest next tokens with their probabilities (longest bar = most
likely), and the token that was drawn is orange. Panels are laid out left to right, in rows.

`heads_svg`: the attention of every head on the written sequence, side by side.
"""

from .colours import OUTLINE
from .figures import heatmap_svg
from .fonts import fit_text
from .svg import (
    ASCENT,
    FONT,
    GAP,
    MARGIN,
    MUTED_TEXT,
    SMALL_FONT,
    TEXT_ROOM,
    _document,
    _heading,
    _line,
    _rect,
    _text,
    format_number,
    text_width,
)

__all__ = ["probability_bars_svg", "heads_svg"]

BAR = "#0072B2"  # blue: a candidate
CHOSEN = OUTLINE  # orange: the one drawn
BAR_LENGTH, ROW, PER_ROW = 110.0, 16.0, 3


def probability_bars_svg(steps, title="", subtitle=None, caption=""):
    """`steps` is a list of (heading, [(token, probability), ...], chosen token): SVG text.

    >>> svg = probability_bars_svg([("after 'it'", [("purrs", 0.97), ("barks", 0.02)], "purrs")],
    ...                            title="next-word probabilities")
    >>> svg.startswith("<svg") and ">purrs</text>" in svg and ">0.97</text>" in svg
    True
    """
    if not steps:
        raise ValueError("probability_bars_svg: no steps to draw; give at least one")
    for heading, candidates, _ in steps:
        if not candidates:
            raise ValueError(f"probability_bars_svg: step {heading!r} has no candidates")
        for token, p in candidates:
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"probability_bars_svg: {token!r} has probability {p}, not 0..1")
    label_w = max(text_width(str(t), SMALL_FONT) for _, c, _ in steps for t, _ in c) + 4
    number_w = text_width("0.00", SMALL_FONT) + 4
    panel_w = label_w + BAR_LENGTH + number_w + 2 * GAP
    most = max(len(c) for _, c, _ in steps)
    panel_h = FONT * 1.4 + most * ROW + GAP
    columns = min(PER_ROW, len(steps))
    room = max(TEXT_ROOM, columns * panel_w)
    body, y, right = _heading(title, subtitle, MARGIN, room)
    top = y + GAP
    for k, (heading, candidates, chosen) in enumerate(steps):
        left = MARGIN + (k % columns) * (panel_w + 2 * GAP)
        panel_top = top + (k // columns) * (panel_h + GAP)
        body += _panel(left, panel_top, panel_w, label_w, heading, candidates, chosen)
    rows = (len(steps) + columns - 1) // columns
    bottom = top + rows * (panel_h + GAP)
    if caption:
        body.append(
            _text(
                MARGIN,
                bottom + ASCENT * SMALL_FONT,
                caption,
                SMALL_FONT,
                class_="caption",
                fill=MUTED_TEXT,
            )
        )
        bottom += SMALL_FONT * 1.4
    width = max(right, MARGIN + columns * (panel_w + 2 * GAP)) + MARGIN
    return _document(width, bottom + MARGIN, body, title)


def _panel(left, top, width, label_w, heading, candidates, chosen):
    body = [_text(left, top + ASCENT * FONT, fit_text(heading, FONT, width), FONT, class_="step")]
    bar_left = left + label_w
    body.append(
        _line(
            bar_left,
            top + FONT * 1.4,
            bar_left,
            top + FONT * 1.4 + len(candidates) * ROW,
            "#555555",
        )
    )
    for i, (token, p) in enumerate(candidates):
        row_top = top + FONT * 1.4 + i * ROW
        drawn = token == chosen
        baseline = row_top + ROW / 2 + 0.35 * SMALL_FONT
        body.append(
            _text(
                bar_left - 4,
                baseline,
                str(token),
                SMALL_FONT,
                "end",
                font_weight="bold" if drawn else None,
                class_="token",
            )
        )
        length = BAR_LENGTH * p
        hover = f"{token}: {format_number(p, '{:.4f}')}" + (" (drawn)" if drawn else "")
        body.append(
            _rect(
                bar_left,
                row_top + 3,
                length,
                ROW - 6,
                CHOSEN if drawn else BAR,
                hover,
                class_="bar",
            )
        )
        body.append(
            _text(
                bar_left + length + 3, baseline, format_number(p), SMALL_FONT, class_="probability"
            )
        )
    return body


def heads_svg(maps, words, title="", outline=None, causal=True):
    """The attention of each head, `maps` = [(heading, (T, T) weights), ...], side by side
    in one SVG: one heatmap per head, the words on both axes.

    >>> svg = heads_svg([("head 1", [[1.0, 0.0], [0.4, 0.6]])], [".", "a"], title="attention")
    >>> svg.count("<svg") == 2 and ">0.60</text>" in svg
    True
    """
    if not maps:
        raise ValueError("heads_svg: no heads to draw")
    T = len(words)
    masked = [[causal and j > i for j in range(T)] for i in range(T)]
    body, y, right = _heading(title, None, MARGIN, TEXT_ROOM)
    left, height = MARGIN, y
    for heading, weights in maps:
        svg = heatmap_svg(weights, words, words, title=heading, masked=masked, outline=outline)
        width, h = _size(svg)
        body.append(svg.replace("<svg ", f'<svg x="{left:.1f}" y="{y:.1f}" ', 1))
        left += width + GAP
        height = max(height, y + h)
    return _document(max(left, right + MARGIN), height + MARGIN, body, title)


def _size(svg):
    """(width, height) of an SVG made by _document: read from its first line."""
    head = svg.split(">", 1)[0]
    width = float(head.split(' width="', 1)[1].split('"', 1)[0])
    height = float(head.split(' height="', 1)[1].split('"', 1)[0])
    return width, height
