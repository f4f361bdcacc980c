"""Speed and memory of tinygrad_attn, side by side with the references.

Run `python -m benchmarks` (or `make bench`, which also installs micrograd). Workloads:

* value:     the scalar Value engine vs micrograd (MLP training step, bytes per graph node)
* attention: one causal multi-head attention layer, forward + backward, on the Value engine,
             the Tensor engine (module and functional), by hand in plain Python, and PyTorch
* matmul:    64x64 matmul forward + backward vs the fastest plain-Python multiply-add loops
* softmax:   the fused Tensor.softmax vs the softmax composed from primitives

Every comparison times its engines in one process, taking turns (see timing.py), and reports
ratios: on a shared machine the absolute times move, the ratios much less. Options:
`--quick` (tiny sizes, one round), `--only attention,matmul`, `--rounds N`.
"""
