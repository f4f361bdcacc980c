"""Speed and memory of tinygrad_attn, side by side with the references.

Run `python -m benchmarks` (or `make bench`, which also installs micrograd). Workloads:

* value:     the scalar Value engine vs micrograd (MLP training step, bytes per graph node)
* attention: one causal multi-head attention layer, forward + backward, on the Value engine,
             the Tensor engine (module and functional), by hand in plain Python, and PyTorch
* matmul:    64x64 matmul forward + backward vs the same dot products done with
             sum(map(mul, ...)), the fastest plain-Python multiply-add loop
* softmax:   the fused Tensor.softmax vs the softmax composed from primitives
* names:     a training step of the names model vs a GPT of scalar nodes (scalar_gpt.py)

Every comparison times its engines in one process, taking turns (see timing.py), and reports
ratios: on a shared machine the absolute times move, the ratios much less. Beside this
checkout's engine each table times the package as it was before the speed work (before.py).
Options: `--quick` (tiny sizes, one round), `--only attention,matmul`, `--rounds N`,
`--before REV` (or `none`). `python -m benchmarks.ab REV` times three workloads of this
checkout against any git revision.
"""
