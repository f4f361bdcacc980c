"""A real browser for the tests: the system's Chromium, driven by Playwright for Python.

Nothing downloads a browser: Playwright is pointed at the distribution's Chromium
(`/usr/bin/chromium` from Debian's `chromium` package, or $CHROMIUM), and `make test-browser`
installs both (apt as root, otherwise it says what to install). `missing()` says what is
absent, so the tests can skip with that one reason.

`open_browser()` starts a headless Chromium with a fresh profile in a temporary folder and
no network of its own (no updates, no sync, no QUIC); `screenshot()` is what `make docs`
uses to picture the explorer page for the README.
"""

import contextlib
import os
import shutil
import tempfile

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",  # running as root in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL = "make test-browser installs them (apt-get install chromium; pip install playwright)"


def missing():
    """Why the browser tests cannot run here, or None when they can."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM}; {INSTALL}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return f"Playwright for Python is not installed; {INSTALL}"
    return None


@contextlib.contextmanager
def open_browser(width=1280, height=800):
    """A headless Chromium browser context of the given window size; yields it."""
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                profile,
                executable_path=CHROMIUM,
                args=ARGS,
                headless=True,
                viewport={"width": width, "height": height},
            )
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def first_paint_ms(page):
    """The page's first paint, in ms after navigation started (the Performance API)."""
    page.wait_for_function("performance.getEntriesByType('paint').length > 0", timeout=10_000)
    return page.evaluate(
        """() => {
            const paint = performance.getEntriesByType("paint");
            const first = paint.find(e => e.name === "first-paint") ||
                          paint.find(e => e.name === "first-contentful-paint");
            return first ? first.startTime : null;
        }"""
    )


def screenshot(html_path, png_path, width=1280, height=800, before=None):
    """A PNG of the page at `html_path` as a reader first sees it in a window of this size.
    `before(page)` may act on the page first (hover a cell, scroll)."""
    with open_browser(width, height) as context:
        page = context.new_page()
        page.goto("file://" + os.path.abspath(html_path))
        if before is not None:
            before(page)
        page.screenshot(path=png_path)
    return png_path
