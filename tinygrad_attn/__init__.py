"""tinygrad_attn: how transformers learn, built from first principles in pure Python.

Read in this order: value.py (one number and the chain rule), gradcheck.py (proving the
derivatives), tensor.py and autograd.py (the same idea for arrays), functional.py and nn/
(attention), optim.py (learning), viz/ (pictures of it all).
"""

from .autograd import detect_anomaly, no_grad, scope, step_by_step
from .gradcheck import GradcheckResult, gradcheck
from .shapes import get_max_elements, set_max_elements
from .tensor import Tensor, manual_seed, where
from .value import Value

__version__ = "0.1.0"

__all__ = [
    "Value",
    "Tensor",
    "where",
    "no_grad",
    "scope",
    "step_by_step",
    "detect_anomaly",
    "manual_seed",
    "set_max_elements",
    "get_max_elements",
    "gradcheck",
    "GradcheckResult",
    "__version__",
]
