"""How wide a line of text will be, measured before any program draws it.

An SVG file names its fonts (`FONT_FAMILY`) but cannot say which one a viewer will use: a
browser on a Mac picks Helvetica, on Windows Arial, on Linux Liberation Sans or DejaVu Sans,
and `rsvg-convert` on Debian falls back to DejaVu Sans. Their letters differ in width, so
every figure measures text with the widest of them, character by character: text placed by
these widths fits whichever font draws it.

The tables hold each character's advance width (how far the pen moves after drawing it) in
thousandths of the font size, the largest of DejaVu Sans, Liberation Sans (Arial's widths)
and Nimbus Sans (Helvetica's widths), read from the fonts' own width tables (`hmtx`). A
character that is in none of them counts as `FALLBACK` wide, wider than any letter in the
tables; an accent that sits on the letter before it counts as nothing.

Every figure sizes its text with `text_width`, shortens it with `fit_text` or breaks it into
lines with `wrap_text`; the tests measure the figures with the same function.
"""

import unicodedata

__all__ = ["FONT_FAMILY", "FALLBACK", "text_width", "fit_text", "wrap_text"]

FONT_FAMILY = "Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif"
FALLBACK = 1.12  # font sizes: wider than every character of the tables (the widest: 1.114)
ELLIPSIS = "\u2026"


def _table(*rows):
    """(characters, widths in thousandths) rows -> {character: width in font sizes}."""
    return {ch: w / 1000 for chars, widths in rows for ch, w in zip(chars, widths)}


# fmt: off
_REGULAR = _table(
    (' !"#$%&\'()*+', (318, 401, 460, 838, 637, 951, 780, 275, 391, 391, 500, 838)),
    (',-./01234567', (318, 361, 318, 337, 637, 637, 637, 637, 637, 637, 637, 637)),
    ('89:;<=>?@ABC', (637, 637, 337, 337, 838, 838, 838, 557, 1016, 685, 687, 723)),
    ('DEFGHIJKLMNO', (771, 667, 611, 778, 752, 295, 500, 667, 558, 863, 749, 788)),
    ('PQRSTUVWXYZ[', (667, 788, 723, 667, 611, 732, 685, 989, 686, 667, 686, 391)),
    ('\\]^_`abcdefg', (337, 391, 838, 557, 500, 613, 635, 550, 635, 616, 353, 635)),
    ('hijklmnopqrs', (634, 278, 278, 580, 278, 975, 634, 612, 635, 635, 412, 521)),
    ('tuvwxyz{|}~\xa0', (393, 634, 592, 818, 592, 592, 525, 637, 337, 637, 838, 318)),
    ('¡¢£¤¥¦§¨©ª«¬', (401, 637, 637, 637, 637, 337, 557, 500, 1000, 472, 612, 838)),
    ('\xad®¯°±²³´µ¶·¸', (361, 1000, 553, 500, 838, 401, 401, 500, 637, 637, 334, 500)),
    ('¹º»¼½¾¿ÀÁÂÃÄ', (401, 472, 612, 970, 970, 970, 611, 685, 685, 685, 685, 685)),
    ('ÅÆÇÈÉÊËÌÍÎÏÐ', (685, 1000, 723, 667, 667, 667, 667, 295, 295, 295, 295, 775)),
    ('ÑÒÓÔÕÖ×ØÙÚÛÜ', (749, 788, 788, 788, 788, 788, 838, 788, 732, 732, 732, 732)),
    ('ÝÞßàáâãäåæçè', (667, 667, 630, 613, 613, 613, 613, 613, 613, 982, 550, 616)),
    ('éêëìíîïðñòóô', (616, 616, 616, 278, 278, 278, 278, 612, 634, 612, 612, 612)),
    ('õö÷øùúûüýþÿ–', (612, 612, 838, 612, 634, 634, 634, 634, 592, 635, 592, 557)),
    ('—‘’“”•…←↑→↓−', (1000, 318, 318, 519, 519, 590, 1000, 1000, 838, 1000, 838, 838)),
    ('√∞≈≠≤≥ᵀαβγδε', (638, 834, 838, 838, 838, 838, 433, 660, 639, 592, 612, 541)),
    ('θλμπστφωΔΣ∂�', (612, 592, 637, 690, 634, 603, 660, 838, 685, 632, 518, 1026)),
)
_BOLD = _table(
    (' !"#$%&\'()*+', (349, 457, 521, 838, 696, 1002, 873, 307, 458, 458, 523, 838)),
    (',-./01234567', (380, 416, 380, 366, 696, 696, 696, 696, 696, 696, 696, 696)),
    ('89:;<=>?@ABC', (696, 696, 400, 400, 838, 838, 838, 611, 1000, 774, 763, 734)),
    ('DEFGHIJKLMNO', (831, 684, 684, 821, 837, 373, 557, 775, 638, 996, 837, 851)),
    ('PQRSTUVWXYZ[', (733, 851, 771, 721, 683, 813, 774, 1104, 771, 725, 726, 458)),
    ('\\]^_`abcdefg', (366, 458, 838, 557, 500, 675, 716, 593, 716, 679, 436, 716)),
    ('hijklmnopqrs', (712, 343, 343, 666, 343, 1042, 712, 688, 716, 716, 494, 596)),
    ('tuvwxyz{|}~\xa0', (479, 712, 652, 924, 646, 652, 583, 712, 366, 712, 838, 349)),
    ('¡¢£¤¥¦§¨©ª«¬', (457, 696, 696, 637, 696, 366, 557, 500, 1000, 564, 646, 838)),
    ('\xad®¯°±²³´µ¶·¸', (416, 1000, 553, 500, 838, 438, 438, 500, 736, 637, 380, 500)),
    ('¹º»¼½¾¿ÀÁÂÃÄ', (438, 564, 646, 1036, 1036, 1036, 611, 774, 774, 774, 774, 774)),
    ('ÅÆÇÈÉÊËÌÍÎÏÐ', (774, 1085, 734, 684, 684, 684, 684, 373, 373, 373, 373, 838)),
    ('ÑÒÓÔÕÖ×ØÙÚÛÜ', (837, 851, 851, 851, 851, 851, 838, 851, 813, 813, 813, 813)),
    ('ÝÞßàáâãäåæçè', (725, 738, 720, 675, 675, 675, 675, 675, 675, 1048, 593, 679)),
    ('éêëìíîïðñòóô', (679, 679, 679, 343, 343, 343, 343, 688, 712, 688, 688, 688)),
    ('õö÷øùúûüýþÿ–', (688, 688, 838, 688, 712, 712, 712, 712, 652, 716, 652, 557)),
    ('—‘’“”•…←↑→↓−', (1000, 380, 380, 658, 658, 640, 1000, 1000, 838, 1000, 838, 838)),
    ('√∞≈≠≤≥ᵀαβγδε', (667, 834, 838, 838, 838, 838, 434, 688, 716, 682, 688, 557)),
    ('θλμπστφωΔΣ∂�', (688, 633, 736, 792, 779, 639, 783, 870, 774, 684, 544, 1114)),
)
# fmt: on


def char_width(ch, bold=False):
    """The width of one character in font sizes (the widest of the fonts we name).

    >>> char_width("i"), char_width("W"), char_width("W", bold=True)
    (0.278, 0.989, 1.104)
    """
    width = (_BOLD if bold else _REGULAR).get(ch)
    if width is not None:
        return width
    if unicodedata.combining(ch):
        return 0.0  # an accent sits on the previous letter
    return FALLBACK


def text_width(text, font_size, bold=False):
    """The width in px of `text` drawn at `font_size` px, in the widest of the fonts named.

    >>> text_width("ab", 10)
    12.48
    """
    return round(font_size * sum(char_width(c, bold) for c in str(text)), 6)


def fit_text(text, font_size, room, bold=False):
    """`text`, cut short with an ellipsis until it is at most `room` px wide (empty when
    not even the ellipsis fits).

    >>> fit_text("attention weights", 10, 60)
    'attention\u2026'
    """
    text = str(text)
    if text_width(text, font_size, bold) <= room:
        return text
    while text and text_width(text + ELLIPSIS, font_size, bold) > room:
        text = text[:-1]
    if not text and text_width(ELLIPSIS, font_size, bold) > room:
        return ""  # not even the ellipsis fits
    return text.rstrip() + ELLIPSIS


def wrap_text(text, font_size, room, bold=False):
    """`text` broken into lines at most `room` px wide, at spaces; a single word wider than
    `room` is cut short with an ellipsis. Returns the list of lines (none for empty text).

    >>> wrap_text("scores = Q K^T: how well each query matches each key", 12, 200)
    ['scores = Q K^T: how well each', 'query matches each key']
    """
    lines = []
    for word in str(text).split():
        if lines and text_width(lines[-1] + " " + word, font_size, bold) <= room:
            lines[-1] += " " + word
        elif fit_text(word, font_size, room, bold):  # (empty when nothing fits at all)
            lines.append(fit_text(word, font_size, room, bold))
    return lines
