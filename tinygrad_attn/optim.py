"""Optimizers: how a gradient becomes a better weight.

Gradient descent moves every parameter a small step against its gradient, downhill on the
loss: w <- w - lr * dL/dw. `SGD` does exactly that (with optional momentum); `Adam` scales each
number's step by running averages of its gradient and squared gradient, PyTorch's update rule
with bias correction. Both change the parameters' numbers in place, through
`write_in_place`: that counts the change in each parameter's version, so a graph recorded
before the step refuses `backward()` instead of computing a gradient from the new numbers.
"""

import math

from .autograd import write_in_place
from .tensor import Tensor
from .value import _div

__all__ = ["SGD", "Adam"]


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
    """w <- w - lr * v, where v = momentum * v + grad (v = grad when momentum is 0).

    >>> w = Tensor([1.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)     # 1 - 0.1 * 2
    0.8
    """

    def __init__(self, params, lr, momentum=0.0):
        super().__init__(params, lr)
        _check(momentum, "momentum", low=0.0)
        self.momentum = float(momentum)
        self.velocity = [None] * len(self.params)

    def step(self):
        lr, mu = self.lr, self.momentum
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue  # not reached by backward(): nothing to learn this step
            g = p.grad.data
            if mu:
                v = self.velocity[i]
                v = list(g) if v is None else [mu * vi + gi for vi, gi in zip(v, g)]
                self.velocity[i] = g = v
            write_in_place(p, [w - lr * gi for w, gi in zip(p.data, g)])


class Adam(Optimizer):
    """Adam (PyTorch's rule): m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
    w <- w - lr * m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t) and
    v_hat = v / (1 - b2^t) correcting the averages' start at zero.

    >>> w = Tensor([1.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)   # first step moves by lr
    0.9
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)):
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for name, b in zip(("beta1", "beta2"), betas):
            _check(b, name, low=0.0, high=1.0)
        _check(eps, "eps", low=0.0)
        self.betas, self.eps = (float(betas[0]), float(betas[1])), float(eps)
        self.t = 0  # step() calls so far (for reading; the updates use each parameter's own)
        # steps each parameter has taken: one skipped for lack of a gradient does not count,
        # so its bias correction starts at t = 1 when it first learns (as in PyTorch)
        self.steps = [0] * len(self.params)
        self.m = [[0.0] * len(p.data) for p in self.params]
        self.v = [[0.0] * len(p.data) for p in self.params]

    def step(self):
        self.t += 1
        (b1, b2), eps, lr = self.betas, self.eps, self.lr
        sqrt = math.sqrt
        for i, (p, m, v) in enumerate(zip(self.params, self.m, self.v)):
            if p.grad is None:
                continue
            self.steps[i] += 1
            t = self.steps[i]
            correction1, correction2 = 1.0 - b1**t, 1.0 - b2**t
            g = p.grad.data
            m[:] = [b1 * mi + (1.0 - b1) * gi for mi, gi in zip(m, g)]
            v[:] = [b2 * vi + (1.0 - b2) * gi * gi for vi, gi in zip(v, g)]
            try:
                new = [
                    w - lr * (mi / correction1) / (sqrt(vi / correction2) + eps)
                    for w, mi, vi in zip(p.data, m, v)
                ]
            except ZeroDivisionError:  # eps = 0 and a zero gradient: 0/0 is nan (IEEE-754)
                new = [
                    w - lr * _div(mi / correction1, sqrt(vi / correction2) + eps)
                    for w, mi, vi in zip(p.data, m, v)
                ]
            write_in_place(p, new)


def _check(x, name, low, high=None):
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name} must be a number, got {x!r}")
    if not low <= x < (math.inf if high is None else high):  # also nan and inf
        allowed = f">= {low} and finite" if high is None else f"in [{low}, {high})"
        raise ValueError(f"{name} must be {allowed}, got {x}")
