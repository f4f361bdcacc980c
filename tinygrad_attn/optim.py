"""Optimizers: how a gradient becomes a better weight.

Gradient descent moves every parameter a small step against its gradient, downhill on the
loss: w <- w - lr * dL/dw. `SGD` does exactly that (with optional momentum); `Adam` scales each
number's step by running averages of its gradient and squared gradient, PyTorch's update rule
with bias correction. `AdamW` is Adam with the weight decay taken apart from the gradient.

Weight decay pulls every weight a little towards 0 at each step, so that no weight grows
large without a good reason. `SGD` and `Adam` add `weight_decay * w` to the gradient (the
gradient of an extra loss weight_decay / 2 * w^2); `AdamW` instead shrinks the weight itself
by lr * weight_decay * w, outside Adam's scaling: the two differ for Adam, and AdamW is the
one used to train transformers. Each rule is PyTorch's, step for step.

All of them change the parameters' numbers in place, through `write_in_place`: that counts
the change in each parameter's version, so a graph recorded before the step refuses
`backward()` instead of computing a gradient from the new numbers.
"""

import math

from . import ieee
from .autograd import grad_numbers, write_in_place
from .tensor import Tensor

__all__ = ["SGD", "Adam", "AdamW"]


class Optimizer:
    """Holds the parameters; `zero_grad()` forgets their gradients before the next step."""

    def __init__(self, params, lr):
        if hasattr(params, "parameters") or not hasattr(params, "__iter__"):
            raise TypeError(
                f"optimizer parameters must be a list of Tensors, got {type(params).__name__}; "
                f"pass model.parameters()"
            )
        self.params = list(params) if not isinstance(params, Tensor) else [params]
        if not self.params:
            raise ValueError("optimizer got no parameters: pass model.parameters()")
        for p in self.params:
            if not isinstance(p, Tensor):
                hint = "pass model.parameters()"
                if type(p).__name__ == "Value":
                    hint = "for Values, update v.data yourself: v.data -= lr * v.grad"
                raise TypeError(
                    f"optimizer parameters must be Tensors, got {type(p).__name__}; {hint}"
                )
            if not p.requires_grad:
                raise ValueError(
                    f"optimizer parameter {p.label or p.shape} does not require grad, so it "
                    f"would never be updated; create it with requires_grad=True"
                )
        if len({id(p) for p in self.params}) < len(self.params):
            raise ValueError(
                "a parameter is listed twice, so each step would move it twice; list it once"
            )
        _check(lr, "lr", low=0.0)
        self.lr = float(lr)

    def zero_grad(self):
        for p in self.params:
            p.grad = None


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's rule:

        g = grad + weight_decay * w
        v = momentum * v + g                (v = g at the first step)
        w <- w - lr * v                     (nesterov: w <- w - lr * (g + momentum * v))

    With momentum 0 (the default) it is w <- w - lr * g. Nesterov momentum looks one step
    ahead along the velocity; it needs momentum > 0. The settings after `momentum` are
    keywords only (PyTorch's positional order differs: a mix-up would be silent).

    >>> w = Tensor([1.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)     # 1 - 0.1 * 2
    0.8
    """

    def __init__(self, params, lr, momentum=0.0, *, weight_decay=0.0, nesterov=False):
        super().__init__(params, lr)
        _check(momentum, "momentum", low=0.0)
        _check(weight_decay, "weight_decay", low=0.0)
        if nesterov not in (True, False):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if nesterov and momentum == 0:
            raise ValueError(
                "nesterov=True needs momentum > 0 (it looks ahead along the velocity); "
                "e.g. SGD(params, lr=0.1, momentum=0.9, nesterov=True)"
            )
        self.momentum, self.weight_decay = float(momentum), float(weight_decay)
        self.nesterov = bool(nesterov)
        self.velocity = [None] * len(self.params)

    def step(self):
        lr, mu, decay = self.lr, self.momentum, self.weight_decay
        for i, p in enumerate(self.params):
            g = grad_numbers(p)
            if g is None:
                continue  # not reached by backward(): nothing to learn this step
            if decay:
                g = [gi + decay * w for gi, w in zip(g, p.data)]
            if mu:
                v = self.velocity[i]
                v = list(g) if v is None else [mu * vi + gi for vi, gi in zip(v, g)]
                self.velocity[i] = v
                g = [gi + mu * vi for gi, vi in zip(g, v)] if self.nesterov else v
            write_in_place(p, [w - lr * gi for w, gi in zip(p.data, g)])


class Adam(Optimizer):
    """Adam (PyTorch's rule): m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    w <- w - lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t) and
    v_hat = v / (1 - b2^t) correcting the averages' start at zero. With weight_decay,
    g = grad + weight_decay * w (L2 regularisation; see AdamW for the decoupled kind).

    >>> w = Tensor([1.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)   # first step moves by lr
    0.9
    """

    decoupled = False  # AdamW: the weight decay shrinks w directly, outside the gradient

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)):
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for name, b in zip(("beta1", "beta2"), betas):
            _check(b, name, low=0.0, high=1.0)
        _check(eps, "eps", low=0.0)
        _check(weight_decay, "weight_decay", low=0.0)
        self.betas, self.eps = (float(betas[0]), float(betas[1])), float(eps)
        self.weight_decay = float(weight_decay)
        self.t = 0  # step() calls so far (for reading; the updates use each parameter's own)
        # steps each parameter has taken: one skipped for lack of a gradient does not count,
        # so its bias correction starts at t = 1 when it first learns (as in PyTorch)
        self.steps = [0] * len(self.params)
        self.m = [[0.0] * len(p.data) for p in self.params]
        self.v = [[0.0] * len(p.data) for p in self.params]

    def step(self):
        self.t += 1
        (b1, b2), eps, lr, decay = self.betas, self.eps, self.lr, self.weight_decay
        keep1, keep2, sqrt = 1.0 - b1, 1.0 - b2, math.sqrt
        for i, p in enumerate(self.params):
            g = grad_numbers(p)
            if g is None:
                continue
            self.steps[i] += 1
            t = self.steps[i]
            correction1, correction2 = 1.0 - b1**t, 1.0 - b2**t
            w = p.data
            if decay and self.decoupled:  # AdamW: w <- w - lr * weight_decay * w
                w = [wi * (1.0 - lr * decay) for wi in w]
            elif decay:  # Adam: the decay joins the gradient, and Adam's scaling
                g = [gi + decay * wi for gi, wi in zip(g, w)]
            m = self.m[i] = [b1 * mi + keep1 * gi for mi, gi in zip(self.m[i], g)]
            v = self.v[i] = [b2 * vi + keep2 * gi * gi for vi, gi in zip(self.v[i], g)]
            try:
                new = [
                    wi - lr * (mi / correction1) / (sqrt(vi / correction2) + eps)
                    for wi, mi, vi in zip(w, m, v)
                ]
            except ZeroDivisionError:  # eps = 0 and a zero gradient: 0/0 is nan (IEEE-754)
                new = [
                    wi - lr * ieee.div(mi / correction1, sqrt(vi / correction2) + eps)
                    for wi, mi, vi in zip(w, m, v)
                ]
            write_in_place(p, new)


class AdamW(Adam):
    """Adam with decoupled weight decay (PyTorch's AdamW): each step first shrinks every
    weight, w <- w - lr * weight_decay * w, then takes Adam's step from the gradient alone.
    The default weight_decay is 0.01, as in PyTorch.

    >>> w = Tensor([1.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)   # 1 * (1 - 0.05) - 0.1
    0.85
    """

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)


def _check(x, name, low, high=None):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name} must be a number, got {x!r}")
    if not low <= x < (math.inf if high is None else high):  # also nan and inf
        allowed = f">= {low} and finite" if high is None else f"in [{low}, {high})"
        raise ValueError(f"{name} must be {allowed}, got {x}")
