"""The walkthrough's pictures: one figure per stage, two computation graphs, and the stages
again as matrix products with their operands side by side (viz/composite.py).

Each stage's matrix is drawn with the options the walkthrough chose for it (column groups for
the heads, the words on both axes of scores, ...). Stages meant to be compared share one
colour scale, and say so in their caption: the four weight matrices; Q, K and V; the scores
and the scaled scores, so that the division by sqrt(d_k) shows as paler colours; the heads'
outputs and their concatenation.
"""

import os
import shutil
import tempfile

from .language import START, START_NOTE
from .stages import Stages
from .viz import find_renderer, render_graph
from .viz.colours import shared_range
from .viz.composite import figure_svg
from .viz.figures import heatmap_svg, matrix_svg, write_svg
from .viz.stage_figures import file_name, gradient_figures, stage_figures

__all__ = ["stage_svg", "write_figures"]

MANIFEST = ".walkthrough-files"  # in the output folder: the figures the last run wrote

# How the captions name the stages that share a colour scale.
SHORT_NAMES = {
    "w_q": "W_q", "w_k": "W_k", "w_v": "W_v", "w_o": "W^O", "q": "Q", "k": "K", "v": "V",
    "head1_q": "Q_1", "head1_k": "K_1", "head1_v": "V_1", "head1_scores": "scores",
    "head1_scaled": "scaled scores", "concat": "Concat",
}  # fmt: skip


def _short(name):
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    return name.replace("head", "head ")  # head2 -> head 2


def stage_svg(w, name, title=None, caption=None):
    """The figure of one stage of Walkthrough `w`, as SVG text. `title` replaces the stage's
    own title; `caption` comes before the note on a shared colour scale."""
    stage = next((s for s in w.stages if s[0] == name), None)
    if stage is None:
        raise KeyError(f"no stage {name!r}; stages: {', '.join(s[0] for s in w.stages)}")
    _, stage_title, _, matrix, rows, cols, kind = stage
    options = dict(w.drawing.get(name, {}))
    notes = [caption] if caption else []
    group = options.pop("scale", None)
    sharing = [s for s in w.stages if w.drawing.get(s[0], {}).get("scale") == group]
    if group is not None and len(sharing) > 1:
        options["vmin"], options["vmax"] = shared_range([s[3] for s in sharing])
        names = [_short(s[0]) for s in sharing]
        together = ", ".join(names[:-1]) + " and " + names[-1]
        notes.append(f"One colour scale for {together}: equal colours, equal numbers.")
    title = title or stage_title
    if kind == "attention":
        notes.insert(0, "Each row sums to 1.")
        return heatmap_svg(
            matrix, rows, cols, title=title, caption=" ".join(notes), mark_row_max=True, **options
        )
    return matrix_svg(matrix, rows, cols, title=title, caption=" ".join(notes), **options)


def write_figures(w, out):
    """One SVG per stage, plus the two computation graphs. Everything is drawn in a temporary
    folder first and moved into `out` at the end, so a failure leaves nothing half-written."""
    find_renderer()  # no layout program for the graphs: say so before writing anything
    os.makedirs(out, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".walkthrough-", dir=out)
    names = []
    try:
        for number, stage in enumerate(w.stages, 1):
            filename = f"{number:02d}_{stage[0]}.svg"
            write_svg(stage_svg(w, stage[0]), os.path.join(staging, filename))
            names.append(filename)
        n = len(w.stages)
        # one attention score, number by number (the whole head would be hundreds of nodes)
        name = f"{n + 1:02d}_graph_score_scalar.svg"
        render_graph(w.value_score, os.path.join(staging, name))
        names.append(name)
        # the loss of the gradient stage, whose backward() filled every .grad
        name = f"{n + 2:02d}_graph_multi_head_tensor.svg"
        render_graph(w.loss, os.path.join(staging, name), rankdir="TB")
        names.append(name)
        # the stages again as matrix products, the operands side by side (head 1)
        for k, figure in enumerate(_composite_figures(w), n + 3):
            name = f"{k:02d}_{file_name(figure)}"
            write_svg(figure_svg(figure), os.path.join(staging, name))
            names.append(name)
        for name in names:
            os.replace(os.path.join(staging, name), os.path.join(out, name))
        _forget_the_last_run(out, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [os.path.join(out, name) for name in names]


def _forget_the_last_run(out, names):
    """Remove the figures an earlier run wrote into `out` and this one did not (another
    sentence or number of heads numbers its stages differently), so that the folder holds
    one walkthrough. Only files listed in the folder's manifest, ours, are removed."""
    manifest = os.path.join(out, MANIFEST)
    try:
        with open(manifest) as f:
            before = set(f.read().split())
    except OSError:
        before = set()
    for name in sorted(before - set(names)):
        if os.path.basename(name) == name and name.endswith(".svg"):  # never outside `out`
            try:
                os.remove(os.path.join(out, name))
            except OSError:
                pass
    with open(manifest, "w") as f:
        f.write("\n".join(names) + "\n")


def _composite_figures(w):
    """The six stages and the gradients as composite figures: Stages.random computes the
    walkthrough's own numbers for the same flags (tests/test_explorer.py checks it)."""
    if w.model is not None:  # the trained model's numbers, as the walkthrough printed them
        stages = Stages.from_model(w.model, w.tokens, list(w.task.vocab))
        if w.words[0] == START:  # the boundary the model reads first, named as in the tables
            stages.rename(0, START, START_NOTE)
        stages.focus = list(w.focus)
        stages.focus_note = "the word that decides what comes next" if w.focus else ""
    else:
        stages = Stages.random(" ".join(w.words), w.dim, w.heads, w.seed)
    return stage_figures(stages) + [gradient_figures(stages)]
