"""Helpers for training, as in `torch.nn.utils`.

`clip_grad_norm_` guards against one huge gradient wrecking the weights: it measures the
length of all the gradients together, as one long vector, and when that is longer than
`max_norm` it shrinks every gradient by the same factor (their direction stays the same).
The trailing underscore says, as in PyTorch, that it changes the gradients in place.
"""

import math

from ..autograd import write_in_place
from ..tensor import Tensor

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients of `parameters` so that their total norm is at most `max_norm`,
    and return the total norm they had before (a 0-d Tensor), as PyTorch does.

    total = (sum of |g|^norm_type over every number of every gradient) ^ (1 / norm_type),
    the largest |g| for norm_type=inf. When total > max_norm, every gradient is multiplied
    by max_norm / (total + 1e-6). Parameters without a gradient are skipped.

    >>> from tinygrad_attn import Tensor
    >>> w = Tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = Tensor([3.0, 4.0])                 # a gradient of length 5
    >>> clip_grad_norm_([w], max_norm=1.0).item()   # the length before clipping
    5.0
    >>> [round(g, 6) for g in w.grad.tolist()]      # now of length 1, same direction
    [0.6, 0.8]
    """
    params = [parameters] if isinstance(parameters, Tensor) else _tensor_list(parameters)
    for name, x in (("max_norm", max_norm), ("norm_type", norm_type)):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError(f"clip_grad_norm_: {name} must be a number, got {x!r}")
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    if not norm_type > 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be > 0 (2 or inf), got {norm_type}")
    grads = [p.grad for p in params if p.grad is not None]
    numbers = [abs(v) for g in grads for v in g.data]
    if not numbers:
        total = 0.0
    elif any(v != v for v in numbers):  # a nan anywhere: the norm is nan (max() might skip it)
        total = math.nan
    elif norm_type == math.inf:
        total = max(numbers)
    else:
        total = math.fsum(v**norm_type for v in numbers) ** (1.0 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of the gradients is {total}, so they cannot be "
            f"clipped; find where the nan or inf came from with detect_anomaly(), or pass "
            f"error_if_nonfinite=False to go on"
        )
    # min(nan, 1.0) is nan: a nan norm makes every gradient nan, as in PyTorch
    factor = min(max_norm / (total + 1e-6), 1.0)
    if factor != 1.0:
        for g in grads:
            write_in_place(g, [v * factor for v in g.data])  # in place, as the _ says
    return Tensor(total)


def _tensor_list(parameters):
    if hasattr(parameters, "parameters") or not hasattr(parameters, "__iter__"):
        raise TypeError(
            f"clip_grad_norm_: parameters must be a list of Tensors, got "
            f"{type(parameters).__name__}; pass model.parameters()"
        )
    params = list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(
                f"clip_grad_norm_: parameters must be Tensors, got {type(p).__name__}; pass "
                f"model.parameters()"
            )
    return params
