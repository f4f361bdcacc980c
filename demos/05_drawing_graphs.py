"""Drawing computation graphs: see how the gradient reaches every weight.

What you will see: the micrograd neuron drawn number by number (one box per Value, showing
label | data | grad, one small circle per op), the same picture with the path to one weight
highlighted, and multi-head attention drawn one box per tensor op, named as in the formulas
(Q, K, V, scores, weights, ...), each module call as a labelled box (w_q, w_k, w_v, the
heads, w_o). The files go to out/graphs/ as SVG and PNG;
the script prints their paths. In Jupyter, the object returned by `draw_graph` shows inline.

Run it:  .venv/bin/python demos/05_drawing_graphs.py       (`make demo` makes .venv)
    or:  python demos/05_drawing_graphs.py    after `. .venv/bin/activate`
"""

# %% A neuron on Values: every number is a node
from tinygrad_attn import Tensor, Value, nn
from tinygrad_attn.viz import draw_graph, render_graph

x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
n = x1 * w1 + x2 * w2 + b
n.label = "n"
y = n.tanh()
y.label = "y"
y.backward()  # so every box shows its gradient

print(render_graph(y, "out/graphs/neuron.svg"))
print(render_graph(y, "out/graphs/neuron.png"))

# %% How does the output reach w1? Highlight every path from y down to it
print(render_graph(y, "out/graphs/neuron_path_to_w1.png", highlight=w1))

# %% Multi-head attention on Tensors: one node per op, one box per module call
# The layers name what they compute (Q, K, V, scores, weights, ...); name your own with
# .named(). Steps that only move numbers (reshape, transpose) are dashed arrows;
# detail="full" draws them as boxes. Top to bottom (rankdir="TB") fits a page.
mha = nn.MultiHeadAttention(d_model=4, num_heads=2, causal=True, rng=0)
x = Tensor.randn(4, 4, rng=1, label="x")  # 4 words, 4 numbers each
loss = (mha(x) ** 2).mean().named("loss")
loss.backward()
print(render_graph(loss, "out/graphs/multi_head.svg", rankdir="TB"))
print(render_graph(loss, "out/graphs/multi_head_full.svg", rankdir="TB", detail="full"))
print(
    render_graph(
        loss, "out/graphs/multi_head_path_to_w_q.png", rankdir="TB", highlight=mha.w_q.weight
    )
)

# %% The graph object itself: DOT text you can read, or show in a notebook
picture = draw_graph(loss)
print(f"\nthe multi-head graph has {picture.source.count('->')} arrows; its first lines:")
print("\n".join(picture.source.splitlines()[:6]))
