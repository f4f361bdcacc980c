"""The explorer page in Firefox: its scripts run there too, from file://, without an error.

Firefox has no driver here (Playwright drives only its own build of Firefox, which it would
download), but headless Firefox can take a screenshot of a page by itself. So the test adds
a probe to a copy of the page: after the page's own script has drawn it, the probe checks
the page from the inside (no script error, six stages, the figures drawn, a score cell
explained with the engine's numbers and its operands highlighted) and paints the whole
window one colour: green when every check passes, else the colour of the first that failed.
The screenshot's middle pixel says which.

Run with `make test-browser` (it installs Firefox ESR as root); `make test` skips this with
the reason when Firefox is absent.
"""

import os
import shutil
import struct
import subprocess
import tempfile
import zlib

import pytest

from tinygrad_attn.cli import main
from tinygrad_attn.stages import Stages

FIREFOX = os.environ.get("FIREFOX") or shutil.which("firefox-esr") or shutil.which("firefox")
if not FIREFOX:
    reason = "no Firefox; make test-browser installs it (apt-get install firefox-esr)"
    if os.environ.get("REQUIRE_BROWSER"):  # make test-browser: missing is a failure
        raise RuntimeError(f"Firefox tests: {reason}")
    pytest.skip(f"Firefox tests: {reason}", allow_module_level=True)

SENTENCE = "I play with a cat and it purrs"

CHECKS = [  # (what is checked, the colour the window is painted when it fails first)
    ("no script error while the page loads", (255, 0, 0)),
    ("six stages, in order 1..6", (255, 0, 255)),
    ("the figures' cells drawn by the page's script", (0, 0, 255)),
    ("hovering score[it, cat] explains it with the engine's numbers", (255, 128, 0)),
    ("the row of Q and the column of K^T used are highlighted", (128, 0, 128)),
]
PASSED = (0, 200, 0)

# Caught from the start of <head>: an error in the page's own scripts.
CATCH = """<script>window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });
</script>"""

# Runs after the page's script (its DOMContentLoaded handler was added first).
PROBE = """<script>document.addEventListener("DOMContentLoaded", function () {
  var colours = %(colours)s, passed = %(passed)s, failed = null;
  function check(k, ok) { if (!ok && failed === null) failed = colours[k]; }
  try {
    var stages = document.querySelectorAll("section[data-stage]");
    var order = Array.prototype.map.call(stages, function (s) { return s.dataset.stage; });
    check(1, order.join("") === "123456");
    check(2, document.querySelectorAll(".variant:not([hidden]) rect.cell").length > 100);
    var cell = document.querySelector(
      '.variant:not([hidden]) svg[data-m="scores_1"] rect[data-i="6"][data-j="4"]');
    cell.dispatchEvent(new MouseEvent("mouseover", {bubbles: true}));
    var box = document.getElementById("explain"), text = box.textContent;
    check(3, !box.hidden && text.indexOf(%(first)s) === 0 && text.indexOf(%(total)s) > 0);
    var marked = document.querySelectorAll("section[data-stage='3'] rect.cell.hl");
    check(4, marked.length === %(marked)d);
  } catch (e) {
    window.__errors.push(String(e));
  }
  check(0, window.__errors.length === 0);
  var c = failed || passed, cover = document.createElement("div");
  cover.style.cssText = "position:fixed;left:0;top:0;width:100vw;height:100vh;" +
    "z-index:2147483647;background:rgb(" + c.join(",") + ")";
  document.body.appendChild(cover);
});</script>"""


def probed_page(folder):
    """The explorer page for SENTENCE, with the probe added; its path."""
    assert main(["explore", "--sentence", SENTENCE, "--out", str(folder)]) == 0
    page = folder / "index.html"
    s = Stages.random(SENTENCE)
    q = s.matrices["Q_1"][6]
    probe = PROBE % {
        "colours": [list(colour) for _, colour in CHECKS],
        "passed": list(PASSED),
        "first": '"score[it, cat] = q_it \\u00b7 k_cat"',
        "total": f'"{s.matrices["scores_1"][6][4]:.3f}"',
        "marked": 2 * len(q),
    }
    html = page.read_text(encoding="utf-8")
    assert html.count("<head>") == 1 and html.count("</body>") == 1
    html = html.replace("<head>", "<head>" + CATCH).replace("</body>", probe + "</body>")
    page.write_text(html, encoding="utf-8")
    return page


def screenshot(url, png):
    """Headless Firefox's screenshot of `url`, with a fresh profile, into `png`."""
    profile = tempfile.mkdtemp(prefix="firefox-profile-")
    try:
        subprocess.run(
            [FIREFOX, "--headless", "--no-remote", "--profile", profile]
            + ["--window-size", "400,300", "--screenshot", str(png), url],
            capture_output=True,
            timeout=180,
            check=False,
            env=dict(os.environ, MOZ_DISABLE_AUTO_SAFE_MODE="1"),
        )
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert png.is_file(), "Firefox wrote no screenshot"


def middle_pixel(png):
    """(r, g, b) of the middle pixel of an 8-bit RGB or RGBA PNG file (no interlacing)."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunks.setdefault(kind, []).append(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert depth == 8 and colour in (2, 6) and interlace == 0, "an unexpected kind of PNG"
    step = 3 if colour == 2 else 4  # bytes per pixel
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride, previous = width * step, bytearray(width * step)
    for y in range(height // 2 + 1):  # undo each row's filter (PNG spec, section 9)
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            a = line[x - step] if x >= step else 0
            b, c = previous[x], previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + a) & 255
            elif kind == 2:
                line[x] = (line[x] + b) & 255
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        previous = line
    x = width // 2 * step
    return tuple(previous[x : x + 3])


def verdict(pixel):
    """What the probe's colour says: 'passed', or the check that failed."""
    if pixel == PASSED:
        return "passed"
    for what, colour in CHECKS:
        if pixel == colour:
            return f"failed: {what}"
    return f"the probe did not run (colour {pixel}): the page's script did not get that far"


def test_the_page_works_in_firefox_from_file(tmp_path):
    page = probed_page(tmp_path / "explore")
    png = tmp_path / "firefox.png"
    screenshot(page.as_uri(), png)
    assert verdict(middle_pixel(png)) == "passed"


def test_the_probe_fails_on_a_page_whose_script_breaks(tmp_path):
    page = probed_page(tmp_path / "explore")
    html = page.read_text(encoding="utf-8")
    # the page's own script: stop it at its first line, as a browser without a feature would
    broken = html.replace('"use strict";', 'throw new Error("broken on purpose");', 1)
    assert broken != html
    page.write_text(broken, encoding="utf-8")
    png = tmp_path / "firefox.png"
    screenshot(page.as_uri(), png)
    assert verdict(middle_pixel(png)) != "passed"
