"""The Value engine and backpropagation by hand.

What you will see: a tiny neuron, y = tanh(w1*x1 + w2*x2 + b), computed on `Value`s; its
forward pass printed node by node; the chain rule applied by hand, one local derivative at a
time; `backward()` giving the same numbers; and a gradient check that confirms them against
finite differences.

Run it:  .venv/bin/python demos/01_value_and_backprop.py       (`make demo` makes .venv)
    or:  python demos/01_value_and_backprop.py    after `. .venv/bin/activate`
"""

# %% The forward pass: every Value remembers its children and local derivatives
from tinygrad_attn import Value, gradcheck

x1 = Value(2.0, label="x1")
x2 = Value(0.0, label="x2")
w1 = Value(-3.0, label="w1")
w2 = Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")

x1w1 = x1 * w1
x2w2 = x2 * w2
s = x1w1 + x2w2
n = s + b
y = n.tanh()
x1w1.label, x2w2.label, s.label, n.label, y.label = "x1*w1", "x2*w2", "s", "n", "y"

print("forward pass, in the order it was computed:")
for v in y.topological_order():
    made_of = ", ".join(c.label for c in v.children)
    how = f"= {v.op}({made_of})" if v.op else "(a leaf: an input or a weight)"
    print(f"  {v.label or '?':>6} = {v.data: .4f}   {how}")

# %% Backpropagation by hand: the chain rule, one local derivative at a time
# dy/dn: d(tanh n)/dn = 1 - tanh(n)^2
dy_dn = 1 - y.data**2
# n = x1*w1 + x2*w2 + b: a sum passes the gradient through unchanged (local derivative 1)
dy_dx1w1 = dy_dn * 1.0
dy_db = dy_dn * 1.0
# x1w1 = x1 * w1: d/dx1 = w1, d/dw1 = x1
dy_dx1 = dy_dx1w1 * w1.data
dy_dw1 = dy_dx1w1 * x1.data


def show(how, dn, dx1, dw1, db):
    print(f"{how:<12} dy/dn = {dn:.4f}  dy/dx1 = {dx1:.4f}  dy/dw1 = {dw1:.4f}  dy/db = {db:.4f}")


print()
show("by hand:", dy_dn, dy_dx1, dy_dw1, dy_db)

# %% backward() does the same walk for every node
y.backward()
show("backward():", n.grad, x1.grad, w1.grad, b.grad)
assert abs(x1.grad - dy_dx1) < 1e-12 and abs(w1.grad - dy_dw1) < 1e-12


# %% A gradient check: the same derivatives from finite differences
def neuron(x1, x2, w1, w2, b):
    return (x1 * w1 + x2 * w2 + b).tanh()


result = gradcheck(neuron, [x1, x2, w1, w2, b])
print("\n" + str(result))
raise SystemExit(0 if result.ok else 1)
