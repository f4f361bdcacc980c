"""From DOT text to a picture: find a layout program, run it, write the file.

A graph picture is first written in DOT, Graphviz's text language ("a -> b"). A layout
program turns that text into an SVG or PNG. `pip install tinygrad-attn` brings one along:
the `graphviz-pure` wheel, whose command is `graphviz-pure` (not `dot`). We run it ourselves,
DOT text on stdin and the picture on stdout, so no system Graphviz is needed.

Where the layout program is looked for, in this order:

1. the TINYGRAD_ATTN_DOT environment variable, when set: a path to (or the name of) any
   program that reads DOT like `dot` does;
2. `graphviz-pure` on PATH, then next to the running Python (its scripts directory and the
   directory of `sys.executable`: a notebook whose virtual env is not activated still finds
   the one installed into it);
3. a system `dot` on PATH.

With none of these, `render_dot` writes the .dot file anyway and raises
`RendererNotFoundError` (a RuntimeError) naming that file and how to get a renderer.
"""

import math
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

__all__ = [
    "RENDERER_ENV",
    "FORMATS",
    "RendererNotFoundError",
    "find_renderer",
    "run_renderer",
    "render_dot",
    "picture_path",
    "check_timeout",
]

RENDERER_ENV = "TINYGRAD_ATTN_DOT"
FORMATS = ("svg", "png", "dot")
TIMEOUT = 60  # seconds; a graph small enough to read lays out in well under one
PNG_DPI = 144  # twice the default 72 dpi: sharp text on today's screens
# An SVG is drawn by the viewer, with whichever font it has: the graph is laid out with the
# widths of DejaVu Sans, the widest of the common sans-serif fonts, and the SVG names the
# others too, so the text fits its boxes in any of them. A PNG is drawn by the layout
# program itself, in the Helvetica the DOT text names (graphviz-pure brings its own).
SVG_LAYOUT_FONT = ("fontname=Helvetica", 'fontname="DejaVu Sans"')
SVG_FONTS = (
    b'font-family="DejaVu Sans"',
    b'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"',
)

INSTALL_HINT = (
    "pip install graphviz-pure (or a system Graphviz: apt install graphviz, brew install "
    f"graphviz, winget install graphviz), or set {RENDERER_ENV} to a dot-compatible program"
)

_SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}


class RendererNotFoundError(RuntimeError):
    """No layout program was found. `.dot_path` is the .dot file written instead (or None)."""

    def __init__(self, message, dot_path=None):
        super().__init__(message)
        self.dot_path = dot_path


def find_renderer():
    """The path of the program that lays out DOT text (see the module docstring for the
    order in which places are searched). Raises `RendererNotFoundError` when there is none.

    >>> import os
    >>> os.path.basename(find_renderer()).split(".")[0] in ("graphviz-pure", "dot")
    True
    """
    wanted = os.environ.get(RENDERER_ENV, "").strip()
    if wanted:
        found = shutil.which(wanted)
        if found is None:
            raise RendererNotFoundError(
                f"{RENDERER_ENV} is set to {wanted!r}, but no such program exists (or it is "
                f"not executable); point it to a dot-compatible program, or unset it to use "
                f"graphviz-pure or a system dot"
            )
        return found
    found = shutil.which("graphviz-pure")
    for directory in _python_script_dirs():
        found = found or shutil.which("graphviz-pure", path=directory)
    found = found or shutil.which("dot")
    if found is None:
        raise RendererNotFoundError(f"no program to draw graphs was found; {INSTALL_HINT}")
    return found


def _python_script_dirs():
    """Where pip puts the commands of the running Python's packages."""
    dirs = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    return [d for d in dirs if d]


def run_renderer(source, format="svg", timeout=TIMEOUT):
    """Lay out DOT text and return the picture's bytes (format "svg", "png" or "jpeg").

    >>> svg = run_renderer('digraph { a -> b }', "svg")
    >>> svg.startswith(b"<?xml") and b"</svg>" in svg
    True
    """
    check_timeout(timeout)
    program = find_renderer()
    command = [program, f"-T{format}"]
    if format == "svg":
        source = source.replace(*SVG_LAYOUT_FONT)
    if format == "png":
        command.append(f"-Gdpi={PNG_DPI}")
    try:
        done = subprocess.run(
            command, input=source.encode("utf-8"), capture_output=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(
            f"{program} took more than {timeout} s to lay out the graph; draw a smaller one "
            f"(a smaller input, or level='tensor')"
        ) from None
    except OSError as error:  # e.g. not a program at all
        raise RuntimeError(f"could not run {program}: {error.strerror or error}") from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[0] if lines else "no message"
        raise RuntimeError(f"{program} failed (exit status {done.returncode}): {reason}")
    if not done.stdout:  # "success" with no picture is still no picture
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        said = f": {lines[0]}" if lines else ""
        raise RuntimeError(
            f"{program} wrote no picture (exit status 0){said}; is it a dot-compatible "
            f"renderer? ({INSTALL_HINT})"
        )
    if format == "svg":
        return done.stdout.replace(*SVG_FONTS)
    return done.stdout


def check_timeout(timeout):
    """A number of seconds > 0 and finite (a renderer cannot be waited for for ever)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, got {type(timeout).__name__}")
    if not 0 < timeout < math.inf:
        raise ValueError(f"timeout must be a finite number of seconds > 0, got {timeout!r}")


def render_dot(source, path, format=None, timeout=TIMEOUT):
    """Write DOT text as a picture file and return its path (a str).

    `format` is "svg", "png" or "dot" (the DOT text itself). Without it, the file name's
    extension decides (.svg, .png, .dot or .gv), and a name without one of those gets
    ".svg". Missing parent directories are created. With no layout program, the DOT text is
    written next to `path` (same name, extension .dot) and `RendererNotFoundError` says where.

    >>> import tempfile, os
    >>> out = render_dot('digraph { a -> b }', os.path.join(tempfile.mkdtemp(), "ab"))
    >>> out.endswith("ab.svg"), open(out).read().count("<g id=\\"node")
    (True, 2)
    """
    path, format = picture_path(path, format)
    if format == "dot":
        _write(path, source.encode("utf-8"))
        return str(path)
    try:
        picture = run_renderer(source, format, timeout)
    except RendererNotFoundError as error:
        dot_path = path.with_suffix(".dot")
        _write(dot_path, source.encode("utf-8"))
        raise RendererNotFoundError(
            f"{error}. The graph was written as DOT text to {dot_path}", dot_path
        ) from None
    _write(path, picture)
    return str(path)


def picture_path(path, format=None):
    """The file to write and its format, checked (see `render_dot`).

    >>> path, format = picture_path("out/graph")
    >>> path.name, format
    ('graph.svg', 'svg')
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a path, got {type(path).__name__}")
    if os.path.isdir(path) or os.fspath(path).endswith(("/", os.sep)):
        # (a folder "out" would otherwise become the file "out.svg" beside it)
        raise IsADirectoryError(
            f"{os.fspath(path)} is a folder; give a file name in it, e.g. "
            f"{os.path.join(os.fspath(path), 'graph.svg')}"
        )
    path = Path(path)
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    suffix_format = _SUFFIX_FORMATS.get(path.suffix.lower())
    if format is None:
        format = suffix_format or "svg"
    elif suffix_format is not None and suffix_format != format:
        raise ValueError(
            f"the file name {path.name!r} says {suffix_format} but format is {format!r}; "
            f"make them agree"
        )
    if suffix_format is None:
        path = path.with_name(path.name + "." + format)
    return path, format


def _write(path, data):
    """Write bytes, creating parent directories; errors name the path and the reason."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as error:
        reason = error.strerror or str(error)
        blocker = _file_in_the_way(path)
        if blocker is not None:
            reason = f"{blocker} is a file, not a directory"
        raise type(error)(f"cannot write {path}: {reason}") from None


def _file_in_the_way(path):
    """The first parent of `path` that exists but is not a directory, if any."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None
