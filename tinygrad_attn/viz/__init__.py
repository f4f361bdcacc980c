"""Pictures of what the engines compute.

* Computation graphs (graphviz): `draw_graph(root)` returns the graph as a
  `graphviz.Digraph` (shown inline in Jupyter); `render_graph(root, path)` writes it as SVG,
  PNG or DOT. Rendering needs only `pip install`: the `graphviz-pure` wheel brings the layout
  program (see render.py).
* Figures (plain SVG text, no dependency): `matrix_svg` for a grid of numbers, `heatmap_svg`
  for attention weights, `line_chart_svg` for training curves, `write_svg` to save one.
"""

from .charts import line_chart_svg
from .figures import heatmap_svg, matrix_svg
from .graph import GraphPicture, draw_graph, render_graph
from .render import RendererNotFoundError, find_renderer
from .svg import write_svg

__all__ = [
    "draw_graph",
    "render_graph",
    "GraphPicture",
    "find_renderer",
    "RendererNotFoundError",
    "matrix_svg",
    "heatmap_svg",
    "line_chart_svg",
    "write_svg",
]
