"""The explorer: one self-contained HTML page that draws attention stage by stage.

`explorer_page(views)` returns the page as a string: inline CSS (explorer.css), inline
JavaScript (explorer_cells.js, explorer.js), the composite figures of composite.py as
inline SVG, and every number behind them as JSON. It needs nothing else: no network, no
other file, so it works from file:// and can be mailed around.

The page has the six stages of the explanation, each a `<section data-stage="N">`, then the
gradient view and, when a trained model comes with its training record, a replay of its
attention being learned. `views` maps a name ("random", "trained") to a `Stages`; each
stage holds one drawing per view (and per head, for stages 3 to 5), and the page shows the
one the reader picks. Hovering, tapping or focusing a cell shows the arithmetic that made
it, from the JSON numbers (explorer.js), and highlights the row and column it used.
"""

import json
from html import escape
from importlib import resources

from .charts import line_chart_svg
from .colours import RAMPS
from .composite import Term, term_svg
from .stage_figures import STAGE_TITLES, gradient_figures, stage_figures

__all__ = ["explorer_page", "main_html", "page_data", "VIEW_NAMES"]

VIEW_NAMES = {"random": "random weights", "trained": "trained story model"}
HINT = (
    "Hover, tap or focus (Tab, then the arrow keys) any number of a result to see how it was "
    "computed."
)


def _asset(name):
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------- pieces of the page


def _product_html(product):
    """A product's terms side by side, each operator kept with the term after it, so that
    on a narrow screen the product wraps as "X" / "x W_q" / "= Q"."""
    parts, pending = [], []
    for part in product:
        if not isinstance(part, Term):
            pending.append(f'<span class="op">{escape(part)}</span>')
        elif pending:
            step = "".join(pending) + term_svg(part, packed=True)
            parts.append(f'<div class="step">{step}</div>')
            pending = []
        else:
            parts.append(term_svg(part, packed=True))
    parts += pending
    return '<div class="product">' + "\n".join(parts) + "</div>"


def _variant_html(figure, view, head=None):
    """One view's (and head's) drawing of a stage: its caption and its products."""
    attrs = f'data-view="{view}"' + (f' data-head="{head}"' if head is not None else "")
    products = "\n".join(_product_html(p) for p in figure.products)
    caption = f'<p class="caption">{escape(figure.caption)}</p>'
    return f'<div class="variant" {attrs}>\n{caption}\n{products}\n</div>'


def _section(attrs, title, variants):
    return f"<section {attrs}>\n<h2>{escape(title)}</h2>\n" + "\n".join(variants) + ("\n</section>")


def main_html(views, replay=None):
    """The stages, the gradient view and the replay: everything that changes with the
    sentence (the served page swaps this part for a new sentence)."""
    per_stage = {n: [] for n in range(1, 7)}
    gradients = []
    for view, stages in views.items():
        for head in range(1, stages.heads + 1):
            for figure in stage_figures(stages, head):
                if figure.stage in (3, 4, 5):
                    per_stage[figure.stage].append(_variant_html(figure, view, head))
                elif head == 1:
                    per_stage[figure.stage].append(_variant_html(figure, view))
        gradients.append(_variant_html(gradient_figures(stages), view))
    sections = [
        _section(f'data-stage="{n}"', f"{n}. {STAGE_TITLES[n]}", per_stage[n]) for n in per_stage
    ]
    title = "Gradients: how the loss changes with every weight"
    sections.append(_section('class="gradients"', title, gradients))
    if replay is not None:
        sections.append(_replay_html(replay))
    return "\n".join(sections)


MAX_SNAPSHOTS = 101  # the replay's slider has at most this many stops ...
MAX_LOSS_POINTS = 1000  # ... and its loss curve at most this many points, however long


def _thinned(replay):
    """The replay with at most MAX_SNAPSHOTS snapshots (evenly spread, the first and the
    last kept) and its loss curve every `loss_every`-th step, at most MAX_LOSS_POINTS: a
    long training makes a page no larger than a short one.

    >>> r = _thinned({"snapshots": [{"step": s} for s in range(500)], "loss": [1.0] * 2500})
    >>> len(r["snapshots"]), r["snapshots"][-1]["step"], len(r["loss"]), r["loss_every"]
    (101, 499, 834, 3)
    """
    snapshots, loss = replay["snapshots"], replay["loss"]
    if len(snapshots) > MAX_SNAPSHOTS:
        last = len(snapshots) - 1
        picked = sorted({round(k * last / (MAX_SNAPSHOTS - 1)) for k in range(MAX_SNAPSHOTS)})
        snapshots = [snapshots[k] for k in picked]
    every = -(-len(loss) // MAX_LOSS_POINTS)  # ceiling division
    return {**replay, "snapshots": snapshots, "loss": loss[::every], "loss_every": every}


def _replay_html(replay):
    """A slider over attention snapshots saved during training, the heatmap of the chosen
    one, and the loss curve with the chosen step marked."""
    replay = _thinned(replay)
    words = replay["words"]
    masked = tuple(
        (i, j)
        for i in range(len(words))
        for j in range(len(words))
        if j > i and replay.get("causal", True)
    )
    last = _replay_weights(replay)[-1]  # the numbers the slider shows, drawn the same way
    heatmap = Term(
        "replay",
        "attention weights",
        [row + [0.0] * (len(words) - len(row)) for row in last],
        words,
        words,
        result=False,
        cmap="sequential",
        masked=masked,
        outline=tuple(tuple(p) for p in replay.get("focus", ())),
    )
    steps = [s["step"] for s in replay["snapshots"]]
    every = replay["loss_every"]
    chart = line_chart_svg(
        {"training loss": replay["loss"]},
        title="loss on each training batch"
        + (f" (one point every {every} steps)" if every > 1 else ""),
        y_label="loss",
        xs=list(range(1, every * len(replay["loss"]) + 1, every)),
        size=(360, 160),
    )
    n = len(steps) - 1
    slider = (
        f'<label class="slider">training step <output id="replay-step">{steps[-1]}</output>'
        f'<input type="range" id="replay" min="0" max="{n}" value="{n}" step="1"></label>'
    )
    return (
        '<section class="replay">\n<h2>Replay: attention being learned</h2>\n'
        f'<p class="caption">{escape(replay["caption"])}</p>\n{slider}\n'
        f'<div class="product replay-figures">{term_svg(heatmap, packed=True)}\n'
        f'<div class="chart">{chart}</div></div>\n</section>'
    )


# Matrices that are other matrices' numbers rearranged: the page's script makes them again
# (explorer_cells.js, `rebuild`), so the page does not carry them twice.
REARRANGED = ("columns", "transpose", "concat")
WORDS = "words"  # in the data, an axis labelled by the sentence's words (`rebuild` expands it)
DIGITS = 8  # significant digits of the page's numbers: the explanations print 3 decimals
REPLAY_DECIMALS = 2  # the replay prints its weights with 2 decimals, and colours those


def _short(x):
    """A number with DIGITS significant digits, as short as JSON can write it.

    >>> _short(0.12345678912345), _short(-2.0), _short(None)
    (0.12345679, -2.0, None)
    """
    return None if x is None else float(f"{x:.{DIGITS}g}")


def _replay_weights(replay):
    """Each snapshot's weights as the page shows them: with REPLAY_DECIMALS decimals, and
    when the layer is causal without the crossed-out later words (row i keeps i + 1)."""
    causal = replay.get("causal", True)
    return [
        [[round(w, REPLAY_DECIMALS) for w in (row[: i + 1] if causal else row)] for i, row in
         enumerate(snapshot["weights"])]
        for snapshot in replay["snapshots"]
    ]  # fmt: skip


def page_data(views, replay=None):
    """Every number the page's script needs, JSON-ready: the matrices of each view (with
    how each one is computed, for the explanations), the colour ramps, the replay."""
    data = {"views": {}, "ramps": {k: [[t, list(c)] for t, c in v] for k, v in RAMPS.items()}}
    for view, stages in views.items():
        entry = stages.to_dict()
        entry["label"] = VIEW_NAMES.get(view, view)
        entry["recipes"] = recipes(stages)
        entry["matrices"] = {
            name: [[_short(x) for x in row] for row in rows]
            for name, rows in entry["matrices"].items()
            if entry["recipes"][name]["kind"] not in REARRANGED
        }
        for axes in ("row_labels", "col_labels"):  # an axis of words is written once, in "words"
            entry[axes] = {
                name: WORDS if axis == entry["words"] else axis
                for name, axis in entry[axes].items()
            }
        data["views"][view] = entry
    if replay is not None:
        replay = _thinned(replay)
        data["replay"] = {
            "steps": [s["step"] for s in replay["snapshots"]],
            "weights": _replay_weights(replay),
            "loss_every": replay["loss_every"],  # the loss curve has a point every this many
        }
    return data


def recipes(stages):
    """How each matrix is made, for the page's "where does this number come from?":
    {name: {"kind": ..., the matrices it reads, "label": how its cell is written}}."""
    s = stages
    r = {"X": {"kind": "input", "label": "X[{r}, {c}]", "note": s.input_note}}
    trained = s.source == "trained"
    for n in ("q", "k", "v", "o"):
        r[f"W_{n}"] = {
            "kind": "weight",
            "label": ("W^O" if n == "o" else f"W_{n}") + "[{r}, {c}]",
            "note": "a weight learned in training"
            if trained
            else "a weight, a seeded random number here; training would adjust it",
        }
    for n, N in (("q", "Q"), ("k", "K"), ("v", "V")):
        r[N] = {
            "kind": "dot",
            "left": "X",
            "right": f"W_{n}",
            "label": N + "[{r}, {c}] = X[{r}, :] \u00b7 W_" + n + "[:, {c}]",
        }
    for h in range(1, s.heads + 1):
        first = (h - 1) * s.d_head
        for N in ("Q", "K", "V"):
            r[f"{N}_{h}"] = {
                "kind": "columns",
                "source": N,
                "offset": first,
                "label": f"{N}_{h}" + "[{r}, {c}]",
                "note": f"head {h} works on columns {first}..{first + s.d_head - 1} of {N}",
            }
        r[f"K_{h}^T"] = {
            "kind": "transpose",
            "source": f"K_{h}",
            "label": f"K_{h}^T" + "[{r}, {c}]",
            "note": "K turned on its side, so that a row of Q meets a column of it",
        }
        r[f"scores_{h}"] = {
            "kind": "dot",
            "left": f"Q_{h}",
            "right": f"K_{h}^T",
            "label": "score[{r}, {c}] = q_{r} \u00b7 k_{c}",
        }
        r[f"scaled_{h}"] = {
            "kind": "scale",
            "source": f"scores_{h}",
            "divisor": s.d_head**0.5,
            "by": f"\u221a{s.d_head}",
            "label": "scaled[{r}, {c}] = score[{r}, {c}] / \u221ad_k",
        }
        r[f"weights_{h}"] = {
            "kind": "softmax",
            "source": f"scaled_{h}",
            "label": "weight[{r}, {c}] = exp(s[{r}, {c}]) / \u03a3_k exp(s[{r}, k])",
        }
        r[f"head_{h}"] = {
            "kind": "dot",
            "left": f"weights_{h}",
            "right": f"V_{h}",
            "label": f"head_{h}[{{r}}, {{c}}] = \u03a3_j weight[{{r}}, j] \u00b7 V_{h}[j, {{c}}]",
        }
    r["concat"] = {"kind": "concat", "d_head": s.d_head, "label": "Concat[{r}, {c}]"}
    r["output"] = {
        "kind": "dot",
        "left": "concat",
        "right": "W_o",
        "label": "MultiHead[{r}, {c}] = Concat[{r}, :] \u00b7 W^O[:, {c}]",
    }
    for name, source in (("X^T", "X"), ("concat^T", "concat")):
        r[name] = {
            "kind": "transpose",
            "source": source,
            "label": name.replace("concat", "Concat") + "[{r}, {c}]",
            "note": "turned on its side",
        }
    for N in ("Q", "K", "V"):
        r[f"dL/d{N}"] = {
            "kind": "gradient",
            "label": f"dL/d{N}" + "[{r}, {c}]",
            "note": f"how fast the loss grows when {N}[{{r}}, {{c}}] grows a little; "
            "backpropagation brings it back from the loss through the stages after this one",
        }
    r["dL/doutput"] = {"kind": "gradient", "label": "dL/dMultiHead[{r}, {c}]"}
    if s.loss_kind == "reconstruction":
        r["dL/doutput"].update(kind="reconstruction", output="output", input="X")
    else:
        r["dL/doutput"]["note"] = (
            "how fast the loss grows when this output grows a little; backpropagation brings "
            "it back from the next-token loss through the output layer"
        )
    for n, left, right in (
        ("q", "X^T", "dL/dQ"),
        ("k", "X^T", "dL/dK"),
        ("v", "X^T", "dL/dV"),
        ("o", "concat^T", "dL/doutput"),
    ):
        name = "W^O" if n == "o" else f"W_{n}"
        left_name = "Concat" if n == "o" else "X"
        right_name = "dL/dMultiHead" if n == "o" else right
        r[f"dL/dW_{n}"] = {
            "kind": "dot",
            "left": left,
            "right": right,
            "label": f"dL/d{name}" + "[{r}, {c}] = \u03a3_i " + f"{left_name}[i, {{r}}] \u00b7 "
            f"{right_name}[i, {{c}}]",
        }
    return r


# ---------------------------------------------------------------------- the page


def explorer_page(views, replay=None, serve=False, title_sentence=None):
    """The whole page as one HTML string (see the module docstring).

    `replay`, if given, is a training record: {"words": the sentence, "snapshots": [{"step",
    "weights": (T, T) attention of one head}], "loss": the loss at every training step,
    "caption": what to look at, "focus": cells to frame, "causal": True}. `serve=True` adds
    the box that sends a new sentence to the local server.

    >>> from tinygrad_attn.stages import Stages
    >>> page = explorer_page({"random": Stages.random("I play with cats")})
    >>> page.startswith("<!DOCTYPE html>") and page.count("<section data-stage=") == 6
    True
    """
    first = next(iter(views.values()))
    sentence = title_sentence or " ".join(first.words)
    data = json.dumps(
        page_data(views, replay), separators=(",", ":"), allow_nan=False, ensure_ascii=False
    )  # the page is UTF-8: a word in any script costs its own bytes, not six per letter
    # No "<" at all in the script element (JSON writes it only inside strings): neither "</"
    # nor "<!--" can end it early or change how the browser reads it.
    data = data.replace("<", "\\u003c")
    options = "".join(
        f'<label><input type="radio" name="view" value="{v}"{" checked" if k == 0 else ""}> '
        f"{escape(VIEW_NAMES.get(v, v))}</label>"
        for k, v in enumerate(views)
    )
    ask = (
        '<form id="ask" class="ask"><label for="sentence">Try a sentence</label>'
        f'<input id="sentence" name="sentence" maxlength="200" value="{escape(sentence)}" '
        'autocomplete="off"><button type="submit">Compute</button></form>'
        if serve
        else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Attention, stage by stage: {escape(sentence)}</title>
<style>
{_asset("explorer.css")}
</style>
</head>
<body>
<header>
<h1>Attention, stage by stage</h1>
<p class="lede">The sentence <q id="shown-sentence">{escape(sentence)}</q> through one
attention layer, every number computed by tinygrad_attn's Python engine. {escape(HINT)}</p>
{ask}
<div class="controls">
<fieldset class="views"><legend>Weights</legend>{options}</fieldset>
<label class="heads">Head <select id="head"></select></label>
<p class="legend"><span class="swatch neg"></span>negative <span class="swatch pos"></span>positive
<span class="swatch prob"></span>attention weight (0 to 1)</p>
</div>
<p id="status" role="status"></p>
<noscript><p class="error">This page draws its figures with JavaScript, which is off in
this browser: turn it on to see them.</p></noscript>
</header>
<main id="stages">
{main_html(views, replay)}
</main>
<div id="explain" class="explain" role="status" aria-live="polite" hidden></div>
<script type="application/json" id="explorer-data">{data}</script>
<script>
{_asset("explorer_cells.js")}
{_asset("explorer.js")}
</script>
</body>
</html>
"""
