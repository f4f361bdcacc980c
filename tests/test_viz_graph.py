"""Specification of graph pictures: what draw_graph draws, what render_graph writes, and
what happens when no layout program can be found."""

import os
import re
import stat
import struct
import xml.etree.ElementTree as ET

import graphviz
import pytest

from tinygrad_attn import Tensor, Value, gradcheck, nn, step_by_step
from tinygrad_attn.viz import GraphPicture, RendererNotFoundError, draw_graph, render, render_graph
from tinygrad_attn.viz.graph import HIGHLIGHT, INPUT, PARAMETER

# ---------------------------------------------------------------------- small graphs to draw


def neuron():
    """micrograd's neuron: o = tanh(x1*w1 + x2*w2 + b), after backward."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    return o, {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "n": n}


def multi_head(seed=0):
    """Multi-head attention on 4 words, loss = mean(y*y), after backward."""
    mha = nn.MultiHeadAttention(d_model=4, num_heads=2, causal=True, rng=seed)
    x = Tensor.randn(4, 4, rng=seed + 1, label="x")
    with step_by_step():  # every step its own op: the picture of the explanation
        y = mha(x)
    loss = (y * y).mean()
    loss.label = "loss"
    loss.backward()
    return loss, mha, x


# ---------------------------------------------------------------------- reading the results


def svg_text(path):
    """All the text an SVG file shows (it must parse as XML)."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return [t.text for t in root.iter() if t.tag.endswith("text") and t.text]


def png_size(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def node_lines(dot):
    """{node id: its DOT line} for every node statement."""
    found = {}
    for line in dot.splitlines():
        m = re.match(r"\s*(\w+) \[", line)
        if m and m.group(1) not in ("graph", "node", "edge"):  # skip the default attributes
            found[m.group(1)] = line
    return found


def edges(dot):
    """[(from, to, highlighted)] for every edge statement, in order."""
    found = []
    for line in dot.splitlines():
        m = re.match(r"\s*(\w+) -> (\w+)", line)
        if m:
            found.append((m.group(1), m.group(2), HIGHLIGHT in line))
    return found


def node_id(dot, text):
    """The id of the one node whose label contains `text`."""
    ids = [name for name, line in node_lines(dot).items() if text in line.split("label=")[1]]
    assert len(ids) == 1, (text, ids)
    return ids[0]


def clusters_of(dot):
    """{node id: [labels of the clusters around it, outermost first]}."""
    stack, where = [], {}
    for line in dot.splitlines():
        if "subgraph cluster_" in line:
            stack.append(None)
        elif line.strip() == "}" and stack:
            stack.pop()
        elif stack and stack[-1] is None and (m := re.search(r"label=<<b>(.*?)</b>>", line)):
            stack[-1] = m.group(1)
        elif (m := re.match(r"\s*(\w+) \[", line)) and m.group(1) not in ("graph", "node"):
            where[m.group(1)] = list(stack)
    return where


@pytest.fixture
def no_renderer(monkeypatch, tmp_path):
    """A world with no layout program: nothing on PATH, nothing next to Python."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.delenv(render.RENDERER_ENV, raising=False)
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(render, "_python_script_dirs", lambda: [])


def fake_program(tmp_path, script):
    path = tmp_path / "fake-dot"
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


# ---------------------------------------------------------------------- scalar level


def test_scalar_svg_shows_every_value_with_its_label_data_and_grad(tmp_path):
    o, _ = neuron()
    path = render_graph(o, tmp_path / "neuron.svg")
    assert path == str(tmp_path / "neuron.svg")
    text = svg_text(path)
    for expected in ("x1", "data 2", "grad -1.5", "w1", "grad 1", "o", "data 0.7071", "tanh"):
        assert expected in text


def test_scalar_png_is_a_real_png_of_sane_size(tmp_path):
    o, _ = neuron()
    width, height = png_size(render_graph(o, tmp_path / "neuron.png"))
    assert 200 < width < 20000 and 50 < height < 20000


def test_numbers_show_four_significant_digits():
    v = Value(1.0 / 3.0, label="third") * 1
    dot = draw_graph(v).source
    assert "data 0.3333" in dot and "data 0.33333" not in dot


def test_a_value_used_twice_sends_two_arrows_into_its_op():
    a = Value(3.0, label="a")
    dot = draw_graph(a * a).source
    a_id, square_id = node_id(dot, '"a |'), node_id(dot, '"*"')
    assert edges(dot).count((a_id, square_id, False)) == 2


def test_arrows_follow_the_data_from_children_through_the_op_to_the_result():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a + b
    c.label = "c"
    dot = draw_graph(c).source
    plus = node_id(dot, '"+"')
    assert set(edges(dot)) == {
        (node_id(dot, '"a |'), plus, False),
        (node_id(dot, '"b |'), plus, False),
        (plus, node_id(dot, '"c |'), False),
    }


def test_record_characters_in_labels_are_escaped():
    v = Value(1.0, label="a|b{c}") * 2
    assert r"a\|b\{c\}" in draw_graph(v).source


# ---------------------------------------------------------------------- tensor level


def test_tensor_svg_names_each_op_with_its_output_shape(tmp_path):
    loss, _, _ = multi_head()
    text = svg_text(render_graph(loss, tmp_path / "mha.svg"))
    for expected in ("matmul (4, 4)", "softmax (2, 4, 4)", "w_q.weight", "w_o.weight", "loss"):
        assert expected in text


def test_tensor_png_is_a_real_png_of_sane_size(tmp_path):
    loss, _, _ = multi_head()
    width, height = png_size(render_graph(loss, tmp_path / "mha.png"))
    assert 200 < width < 20000 and 50 < height < 20000


def test_module_calls_are_nested_clusters():
    loss, _, _ = multi_head()
    dot = draw_graph(loss).source
    where = clusters_of(dot)
    assert where[node_id(dot, "w_q.weight")] == ["MultiHeadAttention", "w_q"]
    assert where[node_id(dot, "softmax")] == ["MultiHeadAttention", "heads"]
    assert where[node_id(dot, "w_o.weight")] == ["MultiHeadAttention", "w_o"]
    assert where[node_id(dot, "<b>loss</b>")] == []  # the loss is computed outside the module


def test_nested_module_paths_are_shortened_inside_their_parent_box():
    block = nn.TransformerBlock(4, 2, d_hidden=0, rng=0)
    with step_by_step():  # every step its own op, each in the box of the module that made it
        y = block(Tensor.randn(3, 4, rng=1, label="x")).sum()
    dot = draw_graph(y).source
    assert clusters_of(dot)[node_id(dot, "attn.w_q.weight")] == ["TransformerBlock", "attn", "w_q"]


def test_parameters_inputs_and_the_root_have_their_own_colours():
    loss, _, _ = multi_head()
    lines = node_lines(draw_graph(loss).source)
    dot = draw_graph(loss).source
    param, x, root = (lines[node_id(dot, t)] for t in ("w_q.weight", "<b>x</b>", "<b>loss</b>"))
    assert f'fillcolor="{PARAMETER[0]}"' in param
    assert f'fillcolor="{INPUT[0]}"' in x
    assert PARAMETER[0] != INPUT[0]
    assert 'fillcolor="#bbf7d0"' in root


def test_values_option_shows_numbers_and_grads_of_small_tensors():
    w = Tensor([[1.5, -2.0], [0.25, 3.0]], requires_grad=True, label="w")
    y = (w * w).sum()
    y.backward()
    dot = draw_graph(y, values=True).source
    assert "<td>1.5</td>" in dot and "<td>-2</td>" in dot  # data
    assert "<td>3</td>" in dot and "<td>-4</td>" in dot and "<td>6</td>" in dot  # grad = 2w
    assert "<td>1.5</td>" not in draw_graph(y).source


def test_attention_tensors_carry_the_names_the_explanation_uses():
    loss, _, _ = multi_head()
    dot = draw_graph(loss).source
    for name in ("x", "Q", "K", "V", "scores", "scaled scores", "masked scores", "weights"):
        node_id(dot, f"<b>{name}</b>")  # exactly one node each
    for name in ("head_1..head_2", "concat", "output", "loss"):
        node_id(dot, f"<b>{name}</b>")
    assert "<b>tensor</b>" not in dot and "* ()" not in dot
    assert "mean ()" in lines_of(dot, "<b>loss</b>")  # the loss is one mean, not sum * 1/16
    head = nn.AttentionHead(d_model=3, d_head=2, rng=0)
    out = head(Tensor.randn(4, 3, rng=1, label="x"))
    assert [out.label, head.attention.label] == ["head", "weights"]


def lines_of(dot, text):
    return node_lines(dot)[node_id(dot, text)]


def test_mean_is_one_op_whose_backward_gives_each_number_one_over_n():
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    m = x.mean()
    assert m.op == "mean" and m.children == (x,)
    m.backward()
    assert x.grad.tolist() == [[1 / 6] * 3] * 2
    x.zero_grad()
    rows = x.mean(axis=1)
    rows.backward(Tensor([1.0, 3.0]))
    assert x.grad.tolist() == [[1 / 3] * 3, [1.0] * 3]
    assert gradcheck(lambda t: t.mean(axis=0, keepdims=True) * t.mean(), [x]).ok


def test_steps_that_only_move_numbers_are_dashed_arrows_unless_detail_is_full():
    loss, mha, _ = multi_head()
    folded, full = (draw_graph(loss, detail=d).source for d in ("folded", "full"))
    moves = ("reshape (", "transpose (")
    assert sum(full.count(m) for m in moves) == 9  # split Q, K, V: 6; K^T: 1; concat: 2
    assert [m for m in moves if m in folded] == ["reshape ("]  # only the named concat stays
    assert "concat</b><br/>reshape (4, 4)" in folded
    assert folded.count("style=dashed") == 4  # Q, K, V into the heads, the heads into concat
    # every drawn box of the folded picture is in the full one, and the path to w_q is whole
    lit = draw_graph(loss, highlight=mha.w_q.weight).source
    scores, q = node_id(lit, "<b>scores</b>"), node_id(lit, "<b>Q</b>")
    assert (q, scores, True) in edges(lit)
    with pytest.raises(ValueError, match="unknown detail 'some'; choose one of folded, full"):
        draw_graph(loss, detail="some")


def test_values_show_the_scores_and_weights_of_every_head():
    loss, _, _ = multi_head()
    dot = draw_graph(loss, values=True).source
    weights = lines_of(dot, "<b>weights</b>")
    assert "data [0]" in weights and "data [1]" in weights  # one table per head
    assert "grad [1]" in weights
    assert "data [0]" in lines_of(dot, "<b>scores</b>")
    assert "<td>" in lines_of(dot, "<b>loss</b>")  # the loss's own number


def test_svg_pictures_fit_the_widest_font_and_name_the_common_ones(tmp_path):
    loss, _, _ = multi_head()
    svg = (tmp_path / "g.svg").read_text() if render_graph(loss, tmp_path / "g.svg") else ""
    assert 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"' in svg
    assert "fontname=Helvetica" in draw_graph(loss).source  # the DOT text names Helvetica


def test_level_auto_draws_values_as_scalars_and_tensors_as_ops():
    assert "shape=record" in draw_graph(Value(1.0) * 2, level="auto").source
    assert "shape=box" in draw_graph(Tensor([1.0], requires_grad=True) * 2, level="auto").source


# ---------------------------------------------------------------------- highlight


def test_highlight_colours_every_path_from_the_root_to_the_leaf():
    o, v = neuron()
    dot = draw_graph(o, highlight=v["w1"]).source
    lit = {(a, b) for a, b, on in edges(dot) if on}
    dark = {(a, b) for a, b, on in edges(dot) if not on}
    w1, x1, b = (node_id(dot, '"' + name + " |") for name in ("w1", "x1", "b"))
    assert any(src == w1 for src, _ in lit)  # the leaf's own arrow is red
    assert all(src != x1 for src, _ in lit) and any(src == x1 for src, _ in dark)
    assert all(src != b for src, _ in lit)
    # The red arrows form one chain from w1 to the root: *, +, +, tanh, two arrows each.
    assert len(lit) == 8
    assert HIGHLIGHT in node_lines(dot)[node_id(dot, '"o |')]


def test_highlight_of_a_parameter_reaches_the_loss_through_the_heads():
    loss, mha, _ = multi_head()
    dot = draw_graph(loss, highlight=mha.w_q.weight).source
    lit = {(a, b) for a, b, on in edges(dot) if on}
    softmax, w_k = node_id(dot, "softmax"), node_id(dot, "w_k.weight")
    assert any(dst == softmax for _, dst in lit)
    assert all(src != w_k for src, _ in lit)
    assert HIGHLIGHT in node_lines(dot)[node_id(dot, "<b>loss</b>")]


def test_highlight_of_a_node_outside_the_graph_is_refused():
    o, _ = neuron()
    with pytest.raises(ValueError, match="not in the graph"):
        draw_graph(o, highlight=Value(1.0))


# ---------------------------------------------------------------------- determinism and size


def test_dot_text_is_identical_across_two_builds_of_the_same_computation():
    assert draw_graph(neuron()[0]).source == draw_graph(neuron()[0]).source
    assert draw_graph(multi_head()[0]).source == draw_graph(multi_head()[0]).source


def test_a_100000_node_graph_is_refused_with_its_count_before_any_rendering(monkeypatch, tmp_path):
    def must_not_render(*args, **kwargs):
        raise AssertionError("the renderer was called for a graph that is too large")

    monkeypatch.setattr(render, "run_renderer", must_not_render)
    v = Value(0.5, label="x")
    for _ in range(100_000):
        v = v.tanh()
    with pytest.raises(ValueError, match=r"100001 nodes.*max_nodes=500.*level='tensor'"):
        draw_graph(v)
    with pytest.raises(ValueError, match="100001 nodes"):
        render_graph(v, tmp_path / "chain.svg")
    assert not (tmp_path / "chain.svg").exists()


def test_max_nodes_can_be_raised_or_lowered():
    o, _ = neuron()
    with pytest.raises(ValueError, match="10 nodes"):
        draw_graph(o, max_nodes=5)
    assert draw_graph(o, max_nodes=10).source


# ---------------------------------------------------------------------- bad input


def test_unknown_level_lists_the_choices():
    with pytest.raises(ValueError, match="auto, scalar, tensor"):
        draw_graph(Value(1.0), level="big")


def test_unknown_format_lists_the_choices(tmp_path):
    with pytest.raises(ValueError, match="svg, png, dot"):
        render_graph(Value(1.0), tmp_path / "g", format="pdf")


def test_a_format_that_contradicts_the_file_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="says svg but format is 'png'"):
        render_graph(Value(1.0), tmp_path / "g.svg", format="png")


def test_a_root_that_is_not_a_value_or_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="Value or a Tensor.*list"):
        draw_graph([1.0, 2.0])


def test_a_level_that_does_not_fit_the_root_says_which_one_does():
    with pytest.raises(ValueError, match="level='tensor'"):
        draw_graph(Tensor([1.0], requires_grad=True) * 2, level="scalar")
    with pytest.raises(ValueError, match="level='scalar'"):
        draw_graph(Value(1.0) * 2, level="tensor")


def test_an_unwritable_path_names_the_path_and_the_reason(tmp_path):
    blocker = tmp_path / "a-file.txt"
    blocker.write_text("not a directory")
    target = blocker / "graph.svg"
    with pytest.raises(OSError, match="a-file.txt is a file, not a directory") as error:
        render_graph(Value(1.0) * 2, target)
    assert str(target) in str(error.value)


# ---------------------------------------------------------------------- finding a renderer


def test_render_graph_creates_missing_directories_and_adds_the_extension(tmp_path):
    path = render_graph(Value(2.0, label="a") * 3, tmp_path / "deep" / "er" / "graph")
    assert path.endswith("graph.svg") and "data 6" in svg_text(path)


def test_dot_format_needs_no_renderer(no_renderer, tmp_path):
    path = render_graph(neuron()[0], tmp_path / "neuron.dot")
    assert open(path).read() == draw_graph(neuron()[0]).source


def test_without_a_renderer_the_dot_file_is_written_and_the_error_says_how_to_get_one(
    no_renderer, tmp_path
):
    with pytest.raises(RendererNotFoundError) as error:
        render_graph(neuron()[0], tmp_path / "neuron.png")
    message = str(error.value)
    dot_path = tmp_path / "neuron.dot"
    assert isinstance(error.value, RuntimeError)
    assert str(dot_path) in message and error.value.dot_path == dot_path
    for hint in ("pip install graphviz-pure", "apt install graphviz", "brew install graphviz"):
        assert hint in message
    assert "\n" not in message
    assert open(dot_path).read().startswith("digraph")
    assert not (tmp_path / "neuron.png").exists()


def test_a_renderer_variable_pointing_to_a_missing_file_is_a_clear_error(monkeypatch, tmp_path):
    missing = tmp_path / "no-such-dot"
    monkeypatch.setenv(render.RENDERER_ENV, str(missing))
    with pytest.raises(
        RendererNotFoundError, match=f"TINYGRAD_ATTN_DOT is set to .*{missing.name}"
    ):
        render_graph(Value(1.0) * 2, tmp_path / "g.svg")
    assert (tmp_path / "g.dot").exists()


def test_the_renderer_variable_is_used_first(monkeypatch, tmp_path):
    real = render.find_renderer()
    fake = fake_program(tmp_path, f'exec "{real}" "$@"')
    monkeypatch.setenv(render.RENDERER_ENV, fake)
    assert render.find_renderer() == fake
    assert "data 2" in svg_text(render_graph(Value(1.0) * 2, tmp_path / "g.svg"))


def test_graphviz_pure_is_found_next_to_python_when_path_is_empty(monkeypatch, tmp_path):
    monkeypatch.delenv(render.RENDERER_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    found = render.find_renderer()
    assert os.path.basename(found).startswith("graphviz-pure")
    assert os.path.dirname(found) in render._python_script_dirs()


def test_a_failing_renderer_reports_the_first_line_of_its_errors(monkeypatch, tmp_path):
    script = "echo 'Error: <stdin>: syntax error in line 1' >&2; echo second >&2; exit 3"
    monkeypatch.setenv(render.RENDERER_ENV, fake_program(tmp_path, script))
    with pytest.raises(RuntimeError, match="exit status 3.*syntax error in line 1") as error:
        render_graph(Value(1.0) * 2, tmp_path / "g.svg")
    assert "second" not in str(error.value)


def test_a_renderer_that_hangs_is_stopped_by_the_timeout(monkeypatch, tmp_path):
    monkeypatch.setenv(render.RENDERER_ENV, fake_program(tmp_path, "exec sleep 30"))
    with pytest.raises(RuntimeError, match="took more than 0.2 s"):
        render_graph(Value(1.0) * 2, tmp_path / "g.svg", timeout=0.2)


# ---------------------------------------------------------------------- inline display


def test_the_picture_is_a_digraph_that_displays_through_our_renderer():
    picture = draw_graph(neuron()[0])
    assert isinstance(picture, graphviz.Digraph) and isinstance(picture, GraphPicture)
    bundle = picture._repr_mimebundle_()
    assert bundle["image/svg+xml"].startswith("<?xml") and "tanh" in bundle["image/svg+xml"]
    png = picture._repr_mimebundle_(include=["image/png"])["image/png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_inline_display_without_a_renderer_shows_how_to_get_one(no_renderer):
    bundle = draw_graph(neuron()[0])._repr_mimebundle_()
    assert list(bundle) == ["text/plain"] and "pip install graphviz-pure" in bundle["text/plain"]
