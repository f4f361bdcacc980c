"""Pictures of computation graphs, drawn from the graph the engines record.

Two levels of detail:

* scalar: one box per `Value` (its label, data and grad) and one small circle per operation
  (+, *, tanh, ...), as in micrograd. A Value used twice, as in `a * a`, sends two arrows.
* tensor: one box per tensor op, named by the op and its output shape (`matmul (4, 6)`),
  under the name the layers give what they compute (Q, K, V, scores, weights, ...);
  inputs, parameters (by their dotted name, e.g. `w_q.weight`) and the loss in their own
  colours; every module call drawn as a labelled box around the ops it made, boxes nested
  as the calls were (`w_q` inside the attention module, `heads` inside it). Steps that only
  move numbers (reshape, transpose, indexing, split) are folded into the arrow that passes
  through them, drawn dashed; `detail="full"` draws them as boxes too.

Arrows point the way data flows: from inputs to the loss. Gradients flow back along them.
The DOT text depends only on the graph: nodes are numbered in topological order, never by
`id()`, so the same computation gives the same bytes every time it is built.
"""

import html

import graphviz

from ..tensor import Tensor
from ..value import Value
from .render import (
    TIMEOUT,
    RendererNotFoundError,
    check_timeout,
    picture_path,
    render_dot,
    run_renderer,
)
from .svg import _clean

__all__ = ["GraphPicture", "draw_graph", "render_graph", "LEVELS", "DETAILS", "MAX_NODES"]

LEVELS = ("auto", "scalar", "tensor")
DETAILS = ("folded", "full")
VIEW_OPS = ("reshape", "transpose", "index", "split")  # they move numbers, computing nothing
RANKDIRS = ("LR", "TB", "RL", "BT")
MAX_NODES = 500  # more than this is unreadable as a picture, and slow to lay out

# Colours (fill, border): one meaning each, the same at both levels.
INPUT = ("#dbeafe", "#2563eb")  # leaves: inputs and named numbers (blue)
PARAMETER = ("#fde68a", "#b45309")  # parameters: leaf tensors that require grad (amber)
CONSTANT = ("#f3f4f6", "#9ca3af")  # plain numbers written in the code (grey)
OP = ("#ffffff", "#4b5563")  # results of operations (white)
ROOT = ("#bbf7d0", "#15803d")  # the root: usually the loss (green)
HIGHLIGHT = "#dc2626"  # the paths from the root to `highlight` (red)
CLUSTER_FILLS = ("#f8fafc", "#eef2f7", "#e2e8f0", "#d6dee8")  # deeper calls, darker boxes
FONT = "Helvetica"  # SVG pictures are laid out for the widest common sans font (render.py)


class GraphPicture(graphviz.Digraph):
    """A `graphviz.Digraph` that lays itself out with this package's renderer lookup
    (graphviz-pure, then a system `dot`; see `tinygrad_attn.viz.render`).

    Jupyter shows it inline: `_repr_mimebundle_` (and `_repr_svg_`) run our renderer instead
    of a `dot` program that may not exist. Without any renderer the notebook shows a line
    saying how to get one. Write it to a file with `render_graph`; `.source` is the DOT text.
    """

    def _repr_image_svg_xml(self):
        return run_renderer(self.source, "svg").decode("utf-8")

    def _repr_image_png(self):
        return run_renderer(self.source, "png")

    def _repr_image_jpeg(self):
        return run_renderer(self.source, "jpeg")

    _repr_svg_ = _repr_image_svg_xml

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except RendererNotFoundError as error:
            return {"text/plain": str(error)}


def draw_graph(
    root,
    level="auto",
    rankdir="LR",
    max_nodes=MAX_NODES,
    highlight=None,
    values=False,
    detail="folded",
):
    """The computation graph that produced `root` (a Value or a Tensor), as a `GraphPicture`
    (a `graphviz.Digraph`; in Jupyter it shows inline, see `GraphPicture`).

    level: "scalar" draws every Value, "tensor" every tensor op, "auto" picks by the root.
    rankdir: "LR" (left to right, the default) or "TB" (top to bottom), "RL", "BT".
    max_nodes: refuse larger graphs with a ValueError (counted before drawing anything).
    highlight: a node of the graph (or a list of them), usually a leaf such as a weight:
        every path from the root down to it is drawn in red, the way its gradient comes.
    values: at tensor level, also show the numbers (and gradients) of small tensors: up to
        4 matrices (one per head) of up to 6 x 6.
    detail: at tensor level, "folded" (the default) draws the steps that only move numbers
        (reshape, transpose, indexing, split), unless named, as a dashed arrow; "full" draws
        every op as a box.

    >>> a = Value(2.0, label="a")
    >>> y = (a * a).tanh()
    >>> y.label = "y"
    >>> dot = draw_graph(y).source
    >>> print(dot[dot.index("v0 "):].split("\\n")[0].strip())    # the leaf a: label|data|grad
    v0 [label="a | data 2 | grad 0" color="#2563eb" fillcolor="#dbeafe"]
    >>> dot.count("v0 -> v1_op")      # a * a: two arrows from a into the *
    2
    """
    level = _check_arguments(root, level, rankdir, max_nodes)
    if not isinstance(detail, str) or detail not in DETAILS:
        raise ValueError(f"unknown detail {detail!r}; choose one of {', '.join(DETAILS)}")
    nodes = _graph_nodes(root, level)
    if len(nodes) > max_nodes:
        what = "Values" if level == "scalar" else "tensors"
        hint = (
            "build it on Tensors and draw it at level='tensor' (one node per op), use a "
            "smaller input"
            if level == "scalar"
            else "use a smaller input or fewer layers"
        )
        raise ValueError(
            f"the graph has {len(nodes)} nodes ({what}), more than max_nodes={max_nodes}, "
            f"too many to draw readably; {hint}, or raise max_nodes"
        )
    on_path = _leads_to(nodes, highlight)
    picture = GraphPicture(
        "computation",
        graph_attr={
            "rankdir": rankdir,
            "fontname": FONT,
            "bgcolor": "white",
            "nodesep": "0.2",
            "ranksep": "0.3",
        },
        node_attr={
            "fontname": FONT,
            "fontsize": "11",
            "penwidth": "1.2",
            "shape": "record" if level == "scalar" else "box",
            "style": "rounded,filled",
            "margin": "0.1,0.04",
        },
        edge_attr={"color": "#6b7280", "arrowsize": "0.7"},
    )
    if level == "scalar":
        _draw_values(picture, nodes, root, on_path, rankdir)
    else:
        folded = _folded(nodes, root, highlight) if detail == "folded" else set()
        _draw_tensors(picture, nodes, root, on_path, values, folded)
    return picture


def render_graph(root, path, format=None, timeout=TIMEOUT, **options):
    """Draw the graph of `root` and write it to `path`; returns the path written (a str).

    format: "svg", "png" or "dot" (the DOT text); by default the file name's extension, or
    "svg" (added to the name) when it has none of those. `options` go to `draw_graph`.
    Parent directories are created. Without a layout program the DOT text is written next
    to `path` and a `RendererNotFoundError` (a RuntimeError) says where and how to get one.

    >>> import os, tempfile
    >>> y = Value(3.0, label="x") * 2
    >>> out = render_graph(y, os.path.join(tempfile.mkdtemp(), "y"), format="svg")
    >>> out.endswith("y.svg"), "data 6" in open(out).read()
    (True, True)
    """
    picture_path(path, format)  # a bad path or format fails before any drawing
    check_timeout(timeout)
    picture = draw_graph(root, **options)
    return render_dot(picture.source, path, format, timeout)


# ---------------------------------------------------------------------- checking and counting


def _check_arguments(root, level, rankdir, max_nodes):
    """The level to draw at, after checking every argument."""
    if not isinstance(root, (Value, Tensor)):
        raise TypeError(
            f"draw_graph needs a Value or a Tensor (the output of a computation), got "
            f"{type(root).__name__}"
        )
    for name, x, choices in (("level", level, LEVELS), ("rankdir", rankdir, RANKDIRS)):
        if not isinstance(x, str):
            raise TypeError(f"{name} must be a str, one of {', '.join(choices)}; got {x!r}")
        if x not in choices:
            raise ValueError(f"unknown {name} {x!r}; choose one of {', '.join(choices)}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int):
        raise TypeError(f"max_nodes must be a positive int, got {max_nodes!r}")
    if max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")
    is_value = isinstance(root, Value)
    if level == "auto":
        return "scalar" if is_value else "tensor"
    if level == "scalar" and not is_value:
        raise ValueError(
            "level='scalar' draws one node per number and needs a Value graph, but root is a "
            "Tensor; use level='tensor' (or 'auto'), or build the computation on Values"
        )
    if level == "tensor" and is_value:
        raise ValueError(
            "level='tensor' draws Tensor graphs, but root is a Value; use level='scalar' "
            "(or 'auto')"
        )
    return level


def _graph_nodes(root, level):
    """Every node to draw, each after its children: the topological order, plus (for
    tensors) the inputs and constants that do not require grad, which it leaves out."""
    nodes = root.topological_order()
    if level == "scalar":
        return nodes
    seen, extra = set(nodes), []
    for t in nodes:
        for child in t.children:
            if child not in seen:
                seen.add(child)
                extra.append(child)
    # A tensor is made after its children, so creation order is a topological order.
    return sorted(nodes + extra, key=lambda t: t._order) if extra else nodes


def _leads_to(nodes, highlight):
    """The nodes on some path from the root down to a highlighted node: those that depend
    on it (and it itself). `nodes` lists children first, so one pass finds them all."""
    if highlight is None:
        return set()
    targets = list(highlight) if isinstance(highlight, (list, tuple)) else [highlight]
    present = set(nodes)
    for target in targets:
        if not isinstance(target, (Value, Tensor)):
            raise TypeError(
                f"highlight: pass the Value or Tensor itself (e.g. layer.weight), got "
                f"{type(target).__name__} {target!r}"
            )
        if target not in present:
            raise ValueError(
                f"highlight: {target!r} is not in the graph of this root; pass a Value or "
                f"Tensor that the root was computed from"
            )
    on_path = set(targets)
    for node in nodes:
        if any(child in on_path for child in node.children):
            on_path.add(node)
    return on_path


# ---------------------------------------------------------------------- scalar level


def _draw_values(picture, nodes, root, on_path, rankdir):
    ids = {v: f"v{i}" for i, v in enumerate(nodes)}
    for v in nodes:
        name = ids[v]
        fill, border = _value_colours(v, root)
        fields = ([_record_text(v.label)] if v.label else []) + [
            f"data {_number(v.data)}",
            f"grad {_number(v.grad)}",
        ]
        record = " | ".join(fields)
        # A named value stacks its fields (label over data over grad), an unnamed one keeps
        # "data | grad" side by side: boxes stay narrow and pictures fit a screen. (Braces
        # turn a record's fields across the flow: side by side in LR, stacked in TB.)
        if (rankdir in ("LR", "RL")) != bool(v.label):
            record = "{ " + record + " }"
        attrs = {"color": border, "fillcolor": fill}
        if v in on_path:
            attrs.update(color=HIGHLIGHT, penwidth="2.2")
        if v is root:
            attrs["penwidth"] = "2.2"
        picture.node(name, record, **attrs)
        if not v.op:
            continue
        # The op as its own small circle: children -> op -> result, as in micrograd.
        op_name = name + "_op"
        lit = v in on_path
        picture.node(op_name, v.op, **_op_circle(lit))
        picture.edge(op_name, name, **_edge(lit))
        for child in v.children:  # a child used twice gets two arrows
            picture.edge(ids[child], op_name, **_edge(child in on_path))


def _value_colours(v, root):
    if v is root:
        return ROOT
    if v.op:
        return OP
    return INPUT if v.label else CONSTANT  # an unnamed leaf is a number from the code


def _op_circle(lit):
    attrs = {
        "shape": "circle",
        "style": "filled",
        "fillcolor": "#ede9fe",
        "color": "#7c3aed",
        "fontsize": "12",
        "width": "0.3",
        "margin": "0.02",
    }
    if lit:
        attrs.update(color=HIGHLIGHT, penwidth="2.2")
    return attrs


def _edge(lit):
    return {"color": HIGHLIGHT, "penwidth": "2.2"} if lit else {}


def _html(text):
    """Text for an HTML-like label: control characters cleaned (as in figures), escaped."""
    return html.escape(_clean(text))


def _record_text(text):
    """Text for a record label: control characters cleaned (as in figures: a NUL or an
    escape code breaks the layout program), then the characters that a record label uses
    for its own structure escaped."""
    text = _clean(text)
    for ch in "\\{}|<>":
        text = text.replace(ch, "\\" + ch)
    return text


def _number(x):
    return f"{x:.4g}"  # 4 significant digits: 0.7071, -3, 6.881


# ---------------------------------------------------------------------- tensor level


def _folded(nodes, root, highlight):
    """The view-only steps to leave out: an op in VIEW_OPS with one input, no name of its
    own, and neither the root nor highlighted. Their arrows pass through, dashed. Picking
    rows of a leaf (an embedding table's lookup) stays: it is a step worth seeing."""
    keep = {root, *(highlight if isinstance(highlight, (list, tuple)) else [highlight])}
    return {
        t
        for t in nodes
        if t.op in VIEW_OPS
        and len(t.children) == 1
        and not t.label
        and t not in keep
        and not (t.op == "index" and not t.children[0].op)
    }


def _draw_tensors(picture, nodes, root, on_path, values, folded):
    ids = {t: f"t{i}" for i, t in enumerate(nodes)}
    shown = [t for t in nodes if t not in folded]
    place = _cluster_places(shown)
    boxes = _cluster_tree(shown, place)

    def draw_box(graph, frames):
        for t in boxes[frames]["nodes"]:
            graph.node(ids[t], _tensor_label(t, values), **_tensor_style(t, root, t in on_path))
        for inner in boxes[frames]["inner"]:
            box = boxes[inner]
            with graph.subgraph(name=f"cluster_{box['number']}") as sub:
                sub.attr(
                    label=f"<<b>{_html(box['label'])}</b>>",
                    labeljust="l",
                    style="rounded,filled",
                    fillcolor=CLUSTER_FILLS[(len(inner) - 1) % len(CLUSTER_FILLS)],
                    color="#94a3b8",
                    fontsize="12",
                )
                draw_box(sub, inner)

    draw_box(picture, ())
    for t in shown:
        for child in t.children:  # data flows from each child into the op that used it
            source, moves = child, []
            while source in folded:  # through the folded steps, back to a drawn node
                moves.append(source.op)
                source = source.children[0]
            attrs = _edge(child in on_path)
            if moves:
                attrs.update(style="dashed", tooltip=", ".join(reversed(moves)))
            picture.edge(ids[source], ids[t], **attrs)


def _cluster_places(nodes):
    """The module calls (scope frames) each node is drawn inside. An op sits where it was
    made. A parameter is made outside any call (in a constructor), so it is drawn in the
    innermost call that holds all its uses: w_q.weight inside the w_q box."""
    users = {}
    for t in nodes:
        for child in t.children:
            users.setdefault(child, []).append(t.scope)
    place = {}
    for t in nodes:
        if _is_parameter(t) and t in users:
            place[t] = _common_prefix(users[t])
        else:
            place[t] = t.scope
    return place


def _common_prefix(scopes):
    prefix = scopes[0]
    for frames in scopes[1:]:
        n = 0
        while n < min(len(prefix), len(frames)) and prefix[n] == frames[n]:
            n += 1
        prefix = prefix[:n]
    return prefix


def _cluster_tree(nodes, place):
    """{frames: {"nodes", "inner", "label", "number"}} for the top level () and every module
    call. Boxes are numbered by first appearance, not by the global call counter, so the
    DOT text is the same every time the computation is built."""
    boxes = {(): {"nodes": [], "inner": [], "label": "", "number": 0}}
    for t in nodes:
        frames = place[t]
        for depth in range(1, len(frames) + 1):
            key = frames[:depth]
            if key not in boxes:
                parent_label = frames[depth - 2][1] if depth > 1 else ""
                label = frames[depth - 1][1]
                if parent_label and label.startswith(parent_label + "."):
                    label = label[len(parent_label) + 1 :]  # "attn.w_q" inside "attn": "w_q"
                boxes[key] = {"nodes": [], "inner": [], "label": label, "number": len(boxes)}
                boxes[key[:-1]]["inner"].append(key)
        boxes[frames]["nodes"].append(t)
    return boxes


def _is_parameter(t):
    return t.requires_grad and not t.op


def _is_constant(t):
    return not t.op and not t.requires_grad and not t.label and not t.shape


def _tensor_style(t, root, lit):
    if t is root:
        fill, border = ROOT
    elif t.op:
        fill, border = OP
    elif _is_parameter(t):
        fill, border = PARAMETER
    elif _is_constant(t):
        fill, border = CONSTANT
    else:
        fill, border = INPUT
    attrs = {"fillcolor": fill, "color": border}
    if _is_constant(t):
        attrs["fontsize"] = "9"
    if t is root:
        attrs["penwidth"] = "2.2"
    if lit:
        attrs.update(color=HIGHLIGHT, penwidth="2.2")
    return attrs


def _tensor_label(t, values):
    """HTML-like label: a name line (bold) for named tensors, then `op (shape)`."""
    shape = str(t.shape)
    if _is_constant(t):
        lines = [_number(t.data[0])]
    elif t.op:
        lines = [f"{_html(t.op)} {shape}"]
        if t.label:
            lines.insert(0, f"<b>{_html(t.label)}</b>")
    else:
        lines = [f"<b>{_html(t.label or 'input')}</b>", shape]  # an unnamed leaf
    text = "<br/>".join(lines)
    if values and _small(t.shape):
        grad = t.grad if t.requires_grad else None
        tables = "".join(f"<td>{m}</td>" for m in _matrices(t.data, t.shape, "data"))
        if grad is not None:
            tables += "".join(f"<td>{m}</td>" for m in _matrices(grad.data, t.shape, "grad"))
        text = f'<table border="0" cellspacing="3"><tr><td colspan="8">{text}</td></tr>'
        text += f"<tr>{tables}</tr></table>"
    return f"<{text}>"


def _small(shape):
    """Small enough to print inside a box: a number, or up to 4 matrices (a batch, or the
    heads) of up to 6 x 6."""
    if not shape:
        return True  # one number: the loss
    if len(shape) > 3 or 0 in shape:
        return False
    *batch, rows, cols = (1, *shape) if len(shape) == 1 else shape
    return rows <= 6 and cols <= 6 and (not batch or batch[0] <= 4)


def _matrices(data, shape, caption):
    """A small tensor's numbers as HTML tables: one per matrix, captioned with its index."""
    if len(shape) < 3:
        return [_matrix(data, shape[-1] if shape else 1, caption)]
    size = shape[-2] * shape[-1]
    return [
        _matrix(data[k * size : (k + 1) * size], shape[-1], f"{caption} [{k}]")
        for k in range(shape[0])
    ]


def _matrix(data, width, caption):
    """Numbers as an HTML table, `width` to a row."""
    rows = [data[i : i + width] for i in range(0, len(data), width)]
    body = "".join("<tr>" + "".join(f"<td>{x:.3g}</td>" for x in row) + "</tr>" for row in rows)
    head = f'<tr><td colspan="{width}" border="0"><font point-size="8">{caption}</font></td></tr>'
    table = f'<table border="0" cellborder="1" cellspacing="0" cellpadding="2">{head}{body}</table>'
    return f'<font point-size="9">{table}</font>'
