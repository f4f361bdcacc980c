"""Gradient checking: proving every derivative, and catching a wrong one.

What you will see: the finite-difference idea on one function by hand; then `gradcheck` run on
every op and layer of the engine (the same catalogue as `tinygrad-attn gradcheck`), one line
each; then a deliberately wrong derivative, and the table that exposes it. The script exits
with status 1 if any real check fails.

Run it:  .venv/bin/python demos/02_gradient_checking.py       (`make demo` makes .venv)
    or:  python demos/02_gradient_checking.py    after `. .venv/bin/activate`
"""

# %% The idea: nudge the input, watch the output
import math

from tinygrad_attn import Value, gradcheck
from tinygrad_attn.checks import run_checks


def f(x):  # on plain numbers
    return x * math.tanh(x)


x = Value(0.5, label="x")
(x * x.tanh()).backward()  # the same function on a Value
eps = 1e-6
numeric = (f(0.5 + eps) - f(0.5 - eps)) / (2 * eps)  # a central difference
print(f"d/dx [x tanh(x)] at 0.5:  backward() = {x.grad:.8f}   finite difference = {numeric:.8f}")

# %% Every op and layer of the engine, checked the same way
results = run_checks(seed=0)
width = max(len(name) for name, _ in results)
print(f"\n{'check'.ljust(width)}  max abs err  result")
for name, result in results:
    print(f"{name.ljust(width)}  {result.max_abs_err:11.2e}  {'ok' if result.ok else 'FAIL'}")
failed = [name for name, result in results if not result.ok]
print(f"{len(results) - len(failed)} of {len(results)} checks passed")

# %% A check that can fail: a derivative that misses a path
# Value(x.data) copies the number but not the history, so backward() sees d(x*c)/dx = c = x,
# while the true derivative of x*x is 2x. The check catches it:
wrong = gradcheck(lambda x: x * Value(x.data), [Value(1.5, label="x")])
print("\nA wrong derivative on purpose (expected to fail):")
print(wrong)
assert not wrong.ok, "gradcheck must catch a wrong derivative"

raise SystemExit(1 if failed else 0)
