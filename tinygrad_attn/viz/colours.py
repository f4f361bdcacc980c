"""Colour scales for matrix figures: the colour each number gets, and the ink that reads on it.

Two ramps, both after ColorBrewer's colour-blind-safe schemes:

* "sequential" (white -> dark blue) for numbers in [0, 1] such as attention weights;
* "diverging" (blue -> white -> red) for numbers of either sign: white is 0, the hue is the
  sign, and the scale runs from -m to m, m the largest size.

Figures meant to be compared must use one scale, or equal colours would mean different
numbers: `shared_range` gives the (vmin, vmax) that fits all of them, to pass to each.
"""

import math

__all__ = ["RAMPS", "shared_range", "ramp_colour", "colour_range", "cell_colour", "ink"]

# (position in [0, 1], (red, green, blue)) stops: "Blues" and "RdBu".
RAMPS = {
    "sequential": ((0.0, (255, 255, 255)), (0.35, (198, 219, 239)), (0.7, (66, 146, 198)),
                   (1.0, (8, 48, 107))),
    "diverging": ((0.0, (33, 102, 172)), (0.25, (146, 197, 222)), (0.5, (255, 255, 255)),
                  (0.75, (244, 165, 130)), (1.0, (178, 24, 43))),
}  # fmt: skip

MISSING = "#bdbdbd"  # the cell colour of nan and +-inf
MASKED = "#f0f0f0"  # the cell colour of a masked position (crossed out as well)
OUTLINE = "#e66101"  # orange outlines: they stand out on white, blue and the text
DARK_TEXT, LIGHT_TEXT = "#222222", "#ffffff"


def ramp_colour(cmap, t):
    """The colour at position t in [0, 1] of a ramp: a linear mix of the two nearest stops.

    >>> ramp_colour("sequential", 0.0), ramp_colour("diverging", 0.5)
    ('#ffffff', '#ffffff')
    """
    t = min(1.0, max(0.0, t))
    stops = RAMPS[cmap]
    for (t0, rgb0), (t1, rgb1) in zip(stops, stops[1:]):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(rgb0, rgb1))


def colour_range(rows, cmap, vmin=None, vmax=None):
    """The values the two ends of the colour scale stand for. Diverging: -m..m with m the
    largest |value| (or the largest of |vmin|, |vmax|), so 0 is white. Sequential: [0, 1],
    stretched to any value outside it (or vmin..vmax). nan and inf take no part: they are
    drawn grey.

    >>> colour_range([[0.5, -2.0]], "diverging"), colour_range([[0.5]], "sequential")
    ((-2.0, 2.0), (0.0, 1.0))
    """
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


def shared_range(matrices, cmap="diverging"):
    """One (vmin, vmax) for several matrices, so that their figures share a colour scale:
    pass it to each `matrix_svg(..., vmin=, vmax=)`.

    >>> shared_range([[[1.0, -0.5]], [[3.0, 0.0]]])
    (-3.0, 3.0)
    """
    rows = [[float(x) for x in row] for m in matrices for row in _rows(m)]
    return colour_range(rows, cmap)


def _rows(matrix):
    values = matrix.tolist() if callable(getattr(matrix, "tolist", None)) else matrix
    if values and not isinstance(values[0], (list, tuple)):
        return [values]  # a 1-D list is one row
    return values


def cell_colour(x, cmap, lo, hi):
    """The fill of a cell holding x on the scale lo..hi (grey for nan and inf)."""
    if not math.isfinite(x):
        return MISSING
    return ramp_colour(cmap, (x - lo) / (hi - lo))


def ink(fill):
    """Dark text on light cells, white text on dark ones. Brightness is the YIQ luma in
    integers, so the choice is the same on every platform.

    >>> ink("#ffffff"), ink("#08306b")
    ('#222222', '#ffffff')
    """
    red, green, blue = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return DARK_TEXT if 299 * red + 587 * green + 114 * blue >= 140_000 else LIGHT_TEXT
