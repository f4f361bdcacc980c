"""A GPT made of scalar autograd nodes, one node per number, in the style of microgpt.

microgpt trains a GPT on names with nothing but a scalar `Value`: every multiply and every
add of every matrix product is its own graph node, and the model reads a name one token at
a time, keeping each past token's key and value (a "KV cache"), so attention is causal by
construction. It is the speed of pure-Python autograd done the simplest way. This file
rebuilds that idea from its description, for the same model as `TinyTransformer` (pre-norm
block: layer norm, multi-head attention, residual, layer norm, feed-forward with relu,
residual; a final layer norm and the output layer), so the two engines compute the same
numbers and their speed can be compared.

    node = Node(data, children, local_grads)       # d(node)/d(child) for each child
    backward: for every node, latest first:  child.grad += local_grad * node.grad
"""

import math

__all__ = ["Node", "ScalarGPT"]


class Node:
    """One number, the nodes it was made from, and d(this)/d(each of them)."""

    __slots__ = ("data", "grad", "children", "local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0.0
        self.children = children
        self.local_grads = local_grads

    def __add__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        return Node(self.data + other.data, (self, other), (1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, Node) else Node(other)
        return Node(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, n):  # n a plain number
        return Node(self.data**n, (self,), (n * self.data ** (n - 1),))

    def exp(self):
        e = math.exp(self.data)
        return Node(e, (self,), (e,))

    def log(self):
        return Node(math.log(self.data), (self,), (1.0 / self.data,))

    def relu(self):
        return Node(max(0.0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other if isinstance(other, Node) else -other)

    def __truediv__(self, other):
        return self * (other**-1.0 if isinstance(other, Node) else 1.0 / other)

    __radd__ = __add__
    __rmul__ = __mul__

    def backward(self):
        """Fill .grad of every node that leads here: the chain rule, latest node first."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:  # depth-first, without recursion (the graph is ~100,000 nodes deep)
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((child, False) for child in node.children)
        self.grad = 1.0
        for node in reversed(order):
            for child, local in zip(node.children, node.local_grads):
                child.grad += local * node.grad


def _dot(a, b):
    total = a[0] * b[0]
    for x, y in zip(a[1:], b[1:]):
        total = total + x * y
    return total


def _linear(x, weight, bias=None):
    """x @ W (+ b): x a list of nodes, W a list of rows (in, out), as Linear stores it."""
    columns = list(zip(*weight))
    out = [_dot(x, col) for col in columns]
    return [o + b for o, b in zip(out, bias)] if bias is not None else out


def _layer_norm(x, weight, bias, eps=1e-5):
    n = len(x)
    mean = sum(x[1:], x[0]) * (1.0 / n)
    centered = [xi - mean for xi in x]
    var = sum((c * c for c in centered[1:]), centered[0] * centered[0]) * (1.0 / n)
    inv = (var + eps) ** -0.5
    return [c * inv * w + b for c, w, b in zip(centered, weight, bias)]


def _softmax(scores):
    top = max(s.data for s in scores)  # a constant: softmax does not change
    e = [(s - top).exp() for s in scores]
    total = sum(e[1:], e[0])
    return [x / total for x in e]


class ScalarGPT:
    """The TinyTransformer's numbers as nodes: `ScalarGPT(model.state_dict(), heads)`.

    `loss(names)` is the mean cross-entropy over every predicted token of the given token
    sequences (each starts with the boundary); `step(names)` adds backward and Adam.
    """

    def __init__(self, state, num_heads, lr=0.01, betas=(0.9, 0.999), eps=1e-8):
        self.num_heads = num_heads
        self.p = {name: _nodes(value) for name, value in state.items()}
        self.params = [n for value in self.p.values() for n in _flat(value)]
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def loss(self, sequences):
        """Mean nats per predicted token over `sequences`: lists of ids (input + last target)."""
        total, count = None, 0
        for ids in sequences:
            for term in self._token_losses(ids):
                total = term if total is None else total + term
                count += 1
        return total * (1.0 / count)

    def _token_losses(self, ids):
        p, h = self.p, self.num_heads
        keys, values = [], []  # the cache: every earlier position's k and v
        for t, (token, target) in enumerate(zip(ids, ids[1:])):
            x = [a + b for a, b in zip(p["tokens.weight"][token], p["pos.weight"][t])]
            # attention: q of this token against the k of every token so far
            a = _layer_norm(x, p["blocks.0.norm1.weight"], p["blocks.0.norm1.bias"])
            q = _linear(a, p["blocks.0.attn.w_q.weight"])
            keys.append(_linear(a, p["blocks.0.attn.w_k.weight"]))
            values.append(_linear(a, p["blocks.0.attn.w_v.weight"]))
            d_head = len(q) // h
            heads = []
            for i in range(h):
                cols = slice(i * d_head, (i + 1) * d_head)
                scale = 1.0 / math.sqrt(d_head)
                weights = _softmax([_dot(q[cols], k[cols]) * scale for k in keys])
                for c in range(i * d_head, (i + 1) * d_head):
                    heads.append(_dot(weights, [v[c] for v in values]))
            x = [xi + oi for xi, oi in zip(x, _linear(heads, p["blocks.0.attn.w_o.weight"]))]
            # feed-forward
            f = _layer_norm(x, p["blocks.0.norm2.weight"], p["blocks.0.norm2.bias"])
            up = [
                u.relu() for u in _linear(f, p["blocks.0.ff.up.weight"], p["blocks.0.ff.up.bias"])
            ]
            down = _linear(up, p["blocks.0.ff.down.weight"], p["blocks.0.ff.down.bias"])
            x = [xi + di for xi, di in zip(x, down)]
            # the next token's probabilities
            y = _layer_norm(x, p["norm.weight"], p["norm.bias"])
            probs = _softmax(_linear(y, p["out.weight"], p["out.bias"]))
            yield -probs[target].log()

    def step(self, sequences):
        """Zero the gradients, loss, backward, one Adam step (as optim.Adam); returns the loss."""
        for n in self.params:
            n.grad = 0.0
        loss = self.loss(sequences)
        loss.backward()
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1.0 - b1**self.t, 1.0 - b2**self.t
        for i, n in enumerate(self.params):
            g = n.grad
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g * g
            n.data -= self.lr * (self.m[i] / c1) / (math.sqrt(self.v[i] / c2) + self.eps)
        return loss.data


def _nodes(value):
    if isinstance(value, list):
        return [_nodes(v) for v in value]
    return Node(float(value))


def _flat(value):
    if isinstance(value, list):
        return [n for v in value for n in _flat(v)]
    return [value]
