"""The tensor engine: value.py's idea for whole arrays of numbers, in pure Python.

value.py makes one graph node per number: perfect for seeing the chain rule, far too slow
for attention (16 words x 16 dimensions is ~50,000 nodes). A Tensor holds a whole array as
one node: its numbers in one flat Python list, row by row, plus its shape. Every op still
knows its local derivative, written for the whole array at once. For C = A @ B:

    dA = dC @ B^T        dB = A^T @ dC

Where to read what:
* this file: what a Tensor is (numbers, shape, gradient), making and printing tensors;
* autograd.py: how ops are recorded and how `backward()` walks the graph;
* ops_elementwise.py: + - * / ** exp log tanh relu sigmoid sqrt abs gelu masked_fill
  (broadcasting);
* ops_select.py: comparisons > < >= <= == != (masks), where, clamp;
* ops_reduce.py: sum mean max min argmax var std (many numbers into one);
* ops_matrix.py: softmax log_softmax and @ (matrix multiplication);
* ops_shape.py: reshape transpose permute unsqueeze squeeze flatten, indexing, split cat.

Numbers follow IEEE-754 like PyTorch: exp overflow is inf, log(0) is -inf, x/0 is inf or
nan; no Python OverflowError or ZeroDivisionError escapes an op.
"""

import random
from operator import attrgetter

from . import autograd
from .autograd import Storage, write_in_place
from .ieee import as_float
from .ops_elementwise import ElementwiseOps
from .ops_matrix import MatrixOps
from .ops_reduce import ReduceOps
from .ops_select import SelectOps
from .ops_shape import ShapeOps, cat
from .shapes import check_size, normalize_axis, parse_nested

__all__ = ["Tensor", "manual_seed", "where"]

_default_rng = [random.Random(0)]  # the generator for randn and layer initialisation


def manual_seed(seed):
    """Seed the default random generator (used by `Tensor.randn` and the `nn` layers).

    >>> manual_seed(0); a = Tensor.randn(3).tolist()
    >>> manual_seed(0); a == Tensor.randn(3).tolist()
    True
    """
    _default_rng[0] = random.Random(seed)


class Tensor(ElementwiseOps, SelectOps, ReduceOps, MatrixOps, ShapeOps):
    """An array of numbers (a flat row-major list + a shape) that records how it was made.

    >>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True, label="x")
    >>> y = (x @ x).sum()          # the sum of all entries of the matrix x times x
    >>> y.item()
    54.0
    >>> y.backward()
    >>> x.grad.tolist()
    [[7.0, 11.0], [9.0, 13.0]]
    """

    __slots__ = (
        "_data",  # the numbers: one flat list, row by row (see the `data` property)
        "shape",  # a tuple of sizes; () for a single number
        "_grad",  # the gradient (see the `grad` property)
        "requires_grad",  # True for parameters and for everything computed from them
        "label",  # a name for pictures and messages ("w_q.weight", "scores")
        "op",  # the op that made this tensor ("" for a leaf)
        "children",  # the tensors it was made from
        "_backward",  # output gradient -> one gradient (or None) per child
        "scope",  # the module calls it was made in (for graph pictures)
        "_order",  # when it was made: a tensor is always made after its children
        "_site",  # (file, line) that made it, recorded inside detect_anomaly()
        "_versions",  # versions of the numbers its backward reads, when it was recorded
    )

    def __init__(self, data, requires_grad=False, label=""):
        if isinstance(data, Tensor):
            flat, shape = Storage(data.data), data.shape  # a copy: its own numbers
        else:
            flat, shape = parse_nested(data)
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        _check_requires_grad(requires_grad)
        autograd.init_tensor(self, flat, shape, label)
        self.requires_grad = bool(requires_grad)

    @classmethod
    def _wrap(cls, data, shape, label=""):
        """A new leaf around an existing flat list (no copy, no checks: for the engine)."""
        return autograd.init_tensor(cls.__new__(cls), data, shape, label)

    def _lift(self, x, op, numbers=True):
        """The other operand of an op as a Tensor: numbers and nested lists become
        constants (they do not require grad)."""
        if isinstance(x, Tensor):
            return x
        if (type(x) is float or type(x) is int) and numbers:  # the common case, made cheap
            return autograd.init_tensor(Tensor.__new__(Tensor), [as_float(x)], ())
        if isinstance(x, (list, tuple)) or (numbers and isinstance(x, (int, float))):
            return Tensor(x)  # (a bool is a number, 1.0 or 0.0, as in Python, Value and PyTorch)
        allowed = "a Tensor, a number or a nested list"
        if not numbers:
            allowed = "a Tensor or a nested list (to multiply by a number, use *)"
        if type(x).__name__ == "Value":  # the scalar engine's numbers do not mix with Tensors
            allowed += "; a Value's number is v.data"
        raise TypeError(
            f"unsupported operand for {op}: Tensor and {type(x).__name__}; use {allowed}"
        )

    # ------------------------------------------------------------------ making tensors

    @staticmethod
    def zeros(*shape, requires_grad=False, label=""):
        """A tensor of zeros: `Tensor.zeros(2, 3)` or `Tensor.zeros((2, 3))`.

        >>> Tensor.zeros(2, 3).tolist()
        [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
        """
        shape = _shape_arg(shape, "zeros")
        return _leaf(_numbers("zeros", shape, lambda n: [0.0] * n), shape, requires_grad, label)

    @staticmethod
    def ones(*shape, requires_grad=False, label=""):
        """A tensor of ones.

        >>> Tensor.ones(3).tolist()
        [1.0, 1.0, 1.0]
        """
        shape = _shape_arg(shape, "ones")
        return _leaf(_numbers("ones", shape, lambda n: [1.0] * n), shape, requires_grad, label)

    @staticmethod
    def randn(*shape, requires_grad=False, label="", rng=None):
        """Numbers drawn from the standard normal distribution. `rng` is a seed or a
        `random.Random`; without it, the default generator (see `manual_seed`).

        >>> Tensor.randn(2, 3, rng=0).shape
        (2, 3)
        """
        shape = _shape_arg(shape, "randn")
        gen = random_generator(rng)
        numbers = _numbers("randn", shape, lambda n: [gen.gauss(0.0, 1.0) for _ in range(n)])
        return _leaf(numbers, shape, requires_grad, label)

    @staticmethod
    def cat(tensors, axis=0):
        """Join tensors along an existing axis; their other sizes must match.

        >>> Tensor.cat([Tensor([[1, 2]]), Tensor([[3, 4]])], axis=0).tolist()
        [[1.0, 2.0], [3.0, 4.0]]
        """
        return cat(_tensor_list(tensors, "cat"), axis)

    @staticmethod
    def stack(tensors, axis=0):
        """Join same-shaped tensors along a new axis.

        >>> Tensor.stack([Tensor([1, 2]), Tensor([3, 4])], axis=1).tolist()
        [[1.0, 3.0], [2.0, 4.0]]
        """
        tensors = _tensor_list(tensors, "stack")
        shape = tensors[0].shape
        for t in tensors[1:]:
            if t.shape != shape:
                raise ValueError(f"stack: shapes {shape} and {t.shape} differ; all must match")
        ax = normalize_axis(axis, len(shape) + 1)
        new_shape = shape[:ax] + (1,) + shape[ax:]  # (.., 1, ..) then join along that axis
        return cat([t.reshape(new_shape) for t in tensors], ax)

    # ------------------------------------------------------------------ its numbers

    def _set_data(self, numbers):
        if isinstance(numbers, Tensor):
            flat, shape = list(numbers.data), numbers.shape
        else:
            flat, shape = parse_nested(numbers)
        count = len(self._data)
        if shape != self.shape and not (len(shape) == 1 and len(flat) == count):
            raise ValueError(
                f"data: the tensor has shape {self.shape} ({count} numbers) but the new numbers "
                f"have shape {shape}; give nested lists of shape {self.shape} or a flat list of "
                f"{count} numbers (another shape needs a new tensor: Tensor(numbers))"
            )
        write_in_place(self, flat)

    data = property(
        attrgetter("_data"),
        _set_data,
        doc="""The numbers: one flat list, row by row (a `Storage`, a list that counts its
        changes). Change them in place with `t.data[i] = x`, `t.data[:] = numbers` or
        `t.data = numbers` (a flat list or nested lists of the tensor's shape): each change
        is checked and counted, and a graph that used the old numbers refuses `backward()`.

        >>> t = Tensor([[1.0, 2.0], [3.0, 4.0]])
        >>> t.data
        [1.0, 2.0, 3.0, 4.0]
        >>> t.data = [[0.0, 0.0], [0.0, 1.0]]; t.data
        [0.0, 0.0, 0.0, 1.0]
        """,
    )

    # ------------------------------------------------------------------ looking at it

    @property
    def ndim(self):
        """The number of axes: 0 for a single number, 2 for a matrix."""
        return len(self.shape)

    def tolist(self):
        """The numbers as nested Python lists (a float for a 0-d tensor)."""
        if not self.shape:
            return self.data[0]
        if 0 in self.shape:
            return _empty_nested(self.shape)
        out = list(self.data)
        for size in reversed(self.shape[1:]):  # group the innermost axis first
            out = [out[i : i + size] for i in range(0, len(out), size)]
        return out

    def item(self):
        """The single number of a one-element tensor, as a float."""
        if len(self.data) != 1:
            raise ValueError(
                f"item(): the tensor has shape {self.shape} ({len(self.data)} numbers) but "
                f"item() needs exactly one; use .tolist(), or index or reduce first"
            )
        return self.data[0]

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d tensor: it holds one number, use .item()")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        """The truth of a one-element tensor is its number's (0.0 is False), as in PyTorch;
        for any other tensor it is ambiguous (which number decides?): a ValueError.

        >>> bool(Tensor([0.0])), bool(Tensor(2.0))
        (False, True)
        """
        if len(self.data) != 1:
            raise ValueError(
                f"bool() of a tensor of shape {self.shape} ({len(self.data)} numbers) is "
                f"ambiguous: say which number decides, e.g. t.max().item() > 0 or "
                f"t[0].item() != 0"
            )
        return bool(self.data[0])

    def __repr__(self):
        if len(self.data) <= 64:
            body = _format(self.data, self.shape)
        else:
            shown = ", ".join(f"{x:.4g}" for x in self.data[:6])
            body = f"shape={self.shape}, data=[{shown}, ...]"
        extras = f", label={self.label!r}" if self.label else ""
        if self.op:
            extras += f", op={self.op!r}"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"Tensor({body}{extras})"

    # ------------------------------------------------------------------ gradients

    @property
    def grad(self):
        """d(output)/d(this tensor) after `backward()`: a Tensor of this shape, or None."""
        g = self._grad
        if type(g) is list:  # backward() stores the plain list; wrap it on first look,
            # with a copy: two tensors may share one gradient list (x + y hands the same
            # gradient to both), and editing one .grad must not change the other
            g = self._grad = Tensor._wrap(Storage(g), self.shape)
        return g

    @grad.setter
    def grad(self, value):
        if value is not None:
            value = value if isinstance(value, Tensor) else Tensor(value)
            if value.shape != self.shape:
                raise ValueError(
                    f"grad must have the tensor's shape {self.shape}, got {value.shape}"
                )
        self._grad = value

    def backward(self, grad=None):
        """Fill `.grad` of every tensor this one depends on (that requires grad).

        A single-number output seeds its own gradient with 1; any other output needs `grad`,
        a tensor of its shape. Gradients accumulate: a second call adds the same amount
        again, as in PyTorch. Intermediate tensors keep their `.grad` too, for pictures.

        >>> w = Tensor([2.0, -1.0], requires_grad=True)
        >>> (w * w).backward(Tensor([1.0, 1.0])); w.grad.tolist()
        [4.0, -2.0]
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad, so no graph was recorded. "
                "Create the tensors you want gradients for with requires_grad=True (layer "
                "parameters already are) and compute outside no_grad()"
            )
        if grad is None:
            if len(self.data) != 1:
                raise RuntimeError(
                    f"backward(): the output has shape {self.shape}, so its gradient must be "
                    f"given: out.backward(Tensor.ones{self.shape}); or reduce it first, e.g. "
                    f"out.sum().backward()"
                )
            seed = [1.0]
        else:
            grad = grad if isinstance(grad, Tensor) else Tensor(grad)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(): grad has shape {grad.shape} but the output has shape "
                    f"{self.shape}; they must match"
                )
            seed = list(grad.data)
        autograd.backward(self, seed)

    def topological_order(self):
        """This tensor and all it depends on (that require grad), each after its children."""
        return autograd.topological_order(self)

    def zero_grad(self):
        """Forget the gradient: `.grad` becomes None."""
        self._grad = None

    def named(self, label):
        """Give this tensor a name for graph pictures and messages, and return it:
        `scores = (q @ k.T).named("scores")`.

        >>> (Tensor([1.0, 2.0]) * 2).named("doubled").label
        'doubled'
        """
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self.label = label
        return self

    def detach(self):
        """The same numbers as a new leaf with no history (it shares the number list)."""
        return Tensor._wrap(self.data, self.shape, self.label)


def where(condition, a, b):
    """`a`'s number where `condition` holds (is not 0), `b`'s elsewhere, as `torch.where`.
    Each of the three may be a Tensor, a number or nested lists; they broadcast together.
    The gradient goes to whichever of `a` and `b` each number was taken from.

    >>> x = Tensor([-1.0, 2.0, -3.0])
    >>> where(x > 0, x, 0.0).tolist()     # relu, written as a choice
    [0.0, 2.0, 0.0]
    """
    a = a if isinstance(a, Tensor) else Tensor(a)  # a number or nested lists: a constant
    return a.where(condition, b)


# ---------------------------------------------------------------------- helpers


def _leaf(data, shape, requires_grad, label):
    _check_requires_grad(requires_grad)
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, got {type(label).__name__}")
    t = Tensor._wrap(data, shape, label)
    t.requires_grad = bool(requires_grad)
    return t


def random_generator(rng=None):
    """`rng` as a `random.Random`: None -> the default generator, an int -> a new seeded one."""
    if rng is None:
        return _default_rng[0]
    if isinstance(rng, random.Random):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    raise TypeError(f"rng must be an int seed or a random.Random, got {type(rng).__name__}")


def _shape_arg(shape, name):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for size in shape:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"{name}: sizes must be non-negative ints, got {shape}")
    return tuple(shape)


def _check_requires_grad(requires_grad):
    if requires_grad not in (True, False):  # "no" or None would silently mean True or False
        raise TypeError(f"requires_grad must be True or False, got {requires_grad!r}")


def _tensor_list(tensors, name):
    if not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{name}: needs a list of tensors, got {type(tensors).__name__}; write "
            f"Tensor.{name}([a, b])"
        )
    if not tensors:
        raise ValueError(f"{name}: needs a non-empty list of tensors, got an empty one")
    for k, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{name}: every item must be a Tensor, got {type(t).__name__} at position {k}; "
                f"wrap numbers first: Tensor(x)"
            )
    return list(tensors)


def _numbers(name, shape, make):
    """make(n) -> the n numbers of a new tensor of `shape`, after checking n against the
    element limit; running out of memory anyway is a MemoryError that says what it was."""
    n = check_size(shape, name)
    try:
        return make(n)
    except MemoryError:
        raise MemoryError(
            f"{name}: not enough memory for a tensor of shape {shape} ({n:,} numbers); use "
            f"smaller sizes"
        ) from None


def _empty_nested(shape):
    """Nested empty lists for a shape with a 0 in it: (2, 0, 3) -> [[], []]. (Built level
    by level, without recursion, like every nesting here.)"""
    top = []
    level = [top]  # the lists at one depth
    for size in shape[: shape.index(0)]:
        below = []
        for parent in level:
            parent.extend([] for _ in range(size))
            below.extend(parent)
        level = below
    return top


def _format(numbers, shape):
    """The numbers as nested brackets, 4 significant digits each (no recursion)."""
    if not shape:
        return f"{numbers[0]:.4g}"
    if 0 in shape:
        return repr(_empty_nested(shape))
    items = [f"{x:.4g}" for x in numbers]
    for size in reversed(shape):  # group the innermost axis first
        items = ["[" + ", ".join(items[i : i + size]) + "]" for i in range(0, len(items), size)]
    return items[0]
