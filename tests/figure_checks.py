"""Reading SVG figures back, to check them: text extents by the fonts' own widths, overlaps.

Every text's extent is measured with `tinygrad_attn.viz.fonts.text_width`, the function the
figures are laid out with: a figure passes when, measured that way, no label touches another
label or a shape, every number sits inside its cell, and all text is inside the figure.
"""

import math
import re
import xml.etree.ElementTree as ET

from tinygrad_attn.viz.fonts import text_width
from tinygrad_attn.viz.svg import ASCENT, DESCENT

SVG = "{http://www.w3.org/2000/svg}"


# ---------------------------------------------------------------------- reading figures back


def parse(svg):
    return ET.fromstring(svg)


def elements(root, tag, cls=None):
    return [e for e in root.iter(SVG + tag) if cls is None or e.get("class") == cls]


def texts(root, cls=None):
    return [e.text or "" for e in elements(root, "text", cls)]


def cells(root):
    """The grid's cells as (fill, hover text), row by row."""
    return [(e.get("fill"), e.find(SVG + "title").text) for e in elements(root, "rect", "cell")]


def brightness(fill):
    red, green, blue = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue


def text_corners(e):
    """The estimated extent of a <text> as its four corners, turned by its rotate()."""
    x, y, size = float(e.get("x")), float(e.get("y")), float(e.get("font-size"))
    width = text_width(e.text or "", size, bold=e.get("font-weight") == "bold")
    start = {"start": 0.0, "middle": -width / 2, "end": -width}[e.get("text-anchor")]
    box = [(start, -ASCENT * size), (start + width, -ASCENT * size)]
    box += [(start + width, DESCENT * size), (start, DESCENT * size)]
    angle = 0.0
    if e.get("transform"):
        degrees, cx, cy = map(
            float, re.fullmatch(r"rotate\((\S+) (\S+) (\S+)\)", e.get("transform")).groups()
        )
        assert (cx, cy) == (x, y)
        angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    return [(x + dx * cos - dy * sin, y + dx * sin + dy * cos) for dx, dy in box]


def rect_corners(e):
    x, y = float(e.get("x")), float(e.get("y"))
    w, h = float(e.get("width")), float(e.get("height"))
    return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]


def overlap(p, q, tolerance=0.1):
    """Do two convex quadrilaterals overlap by more than `tolerance` px? (Separating axes:
    they are apart exactly when their shadows on some edge's normal do not meet.)"""
    for poly in (p, q):
        for k in range(4):
            (x1, y1), (x2, y2) = poly[k], poly[(k + 1) % 4]
            length = math.hypot(x2 - x1, y2 - y1)
            if length == 0:
                return False  # an empty text has no extent
            nx, ny = (y2 - y1) / length, (x1 - x2) / length
            a = [nx * x + ny * y for x, y in p]
            b = [nx * x + ny * y for x, y in q]
            if max(a) <= min(b) + tolerance or max(b) <= min(a) + tolerance:
                return False
    return True


def inside(corners, box, tolerance=0.1):
    (left, top), _, (right, bottom), _ = box
    return all(
        left - tolerance <= x <= right + tolerance and top - tolerance <= y <= bottom + tolerance
        for x, y in corners
    )


def assert_nothing_overlaps(svg):
    """No label touches another label or a shape; values sit inside a cell; all is in view."""
    root = parse(svg)
    width, height = float(root.get("width")), float(root.get("height"))
    view = [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height)]
    labels = [e for e in elements(root, "text") if e.get("class") != "value"]
    shapes = [
        rect_corners(e)
        for e in elements(root, "rect")
        if e.get("class") in ("cell", "legend-bar", "key-swatch")
    ]
    boxes = [(e.get("class"), e.text, text_corners(e)) for e in labels]
    for k, (cls, text, box) in enumerate(boxes):
        assert inside(box, view), f"{cls} {text!r} is outside the figure"
        for cls2, text2, box2 in boxes[k + 1 :]:
            assert not overlap(box, box2), f"{cls} {text!r} overlaps {cls2} {text2!r}"
        for shape in shapes:
            assert not overlap(box, shape), f"{cls} {text!r} overlaps a cell or the colour scale"
    cell_boxes = [rect_corners(e) for e in elements(root, "rect", "cell")]
    for e in elements(root, "text", "value"):
        assert any(inside(text_corners(e), c) for c in cell_boxes), (
            f"value {e.text!r} leaves its cell"
        )
