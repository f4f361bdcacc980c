"""How gradients flow through tensors: recording ops, then walking the graph backwards.

Every tensor op ends with `record(...)`: the output's numbers and shape, the op's name, the
tensors that went in (its children) and a `backward` function that turns the output's
gradient into one gradient per child. `backward(root)` then visits the graph from the root
to the leaves and applies each of those functions: the chain rule, one op at a time, exactly
as `Value.backward()` does it one number at a time.

Many backward functions read numbers again: d(a*b)/da = b needs b's numbers, the gradient
of exp needs its output's. If those numbers were changed in place between the forward pass
and `backward()` (an optimizer step, `x.data[0] = 5.0`), the gradient would be computed from
the wrong numbers, with no sign of it. So a tensor's numbers live in a `Storage`, a list
that counts its in-place changes (its *version*); `record` notes the versions of the
numbers an op's backward function will read, and `backward` refuses an op whose numbers
have changed since, naming the tensor, as PyTorch does.

The switches below change what `record` does. Each thread has its own (as in PyTorch): a
`no_grad()` in one thread does not stop another thread's graph.

* `no_grad()`: record nothing (evaluation, optimizer updates);
* `scope(label)`: remember which module call made each op, for graph pictures;
* `step_by_step()`: record attention one step at a time (scores, weights, ...), for graph
  pictures, instead of as one op (ops_attention.py);
* `detect_anomaly()`: stop at the first op that produces nan, naming it and where it was made.
"""

import itertools
import threading
from operator import add, attrgetter

from . import anomaly
from .ieee import as_float
from .order import topological_order as _depth_first

__all__ = [
    "no_grad",
    "scope",
    "step_by_step",
    "detect_anomaly",
    "Storage",
    "write_in_place",
    "grad_numbers",
    "record",
    "backward",
    "topological_order",
]


class _Modes(threading.local):
    """The switches of the running thread, changed only by the context managers below.

    Each block that is entered is added to a list, and leaving removes that same block
    again, wherever it is in the list: blocks may be nested, one block object may be entered
    twice, and blocks may end in any order without leaving a switch stuck."""

    def __init__(self):
        self.no_grad = []  # the no_grad() blocks this thread is inside
        self.scopes = []  # (scope block, (number, label)) for each scope() it is inside
        self.anomaly = []  # the detect_anomaly() blocks it is inside
        self.stepwise = []  # the step_by_step() blocks it is inside
        self.grad_enabled = True  # no no_grad() block: ops record a graph
        self.fused = True  # no step_by_step() block: attention may run as one op
        self.scope = ()  # ((number, label), ...) of the scopes, outermost first
        self.detecting = False  # inside detect_anomaly()


_modes = _Modes()
_creation_counter = itertools.count()  # every tensor gets the next number when it is made


def _leave(blocks, block, usage):
    """Remove the last entry of `block` from this thread's list of `blocks`."""
    for i in range(len(blocks) - 1, -1, -1):
        entry = blocks[i]
        if entry is block or (type(entry) is tuple and entry[0] is block):
            del blocks[i]
            return
    name = usage.split("(")[0]
    raise RuntimeError(
        f"{name}: this block was not entered in this thread (or has already ended); use it "
        f"as `with {usage}:`"
    )


class no_grad:
    """Inside `with no_grad():` ops record no graph: faster, for evaluation and updates.
    It holds for the thread that entered it (other threads keep recording), as in PyTorch.

    >>> from tinygrad_attn import Tensor
    >>> w = Tensor([1.0, 2.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self):
        _modes.no_grad.append(self)
        _modes.grad_enabled = False
        return self

    def __exit__(self, *exc):
        _leave(_modes.no_grad, self, "no_grad()")
        _modes.grad_enabled = not _modes.no_grad


class scope:
    """Group the ops made inside into a labelled box in graph pictures. `Module` calls open
    one automatically; multi-head attention opens one per head.

    >>> from tinygrad_attn import Tensor
    >>> with scope("my block"):
    ...     y = Tensor([1.0], requires_grad=True) * 2
    >>> [label for _, label in y.scope]
    ['my block']
    """

    _counter = itertools.count()

    def __init__(self, label):
        if not isinstance(label, str):
            raise TypeError(f"scope: label must be a str, got {type(label).__name__}")
        self.label = label

    def __enter__(self):
        frame = (next(scope._counter), self.label)  # the number tells two calls apart
        _modes.scopes.append((self, frame))
        _modes.scope += (frame,)
        return self

    def __exit__(self, *exc):
        modes = _modes
        if modes.scopes and modes.scopes[-1][0] is self:  # the innermost block ends
            modes.scopes.pop()
            modes.scope = modes.scope[:-1]
        else:
            _leave(modes.scopes, self, "scope(label)")
            modes.scope = tuple(frame for _, frame in modes.scopes)


class step_by_step:
    """Inside `with step_by_step():` attention records each of its steps as an op of its
    own: the scores, the scaled and masked scores, the weights and the weighted sum, as
    `F.scaled_dot_product_attention` writes them, so graph pictures show every step; so do
    `F.layer_norm` and `F.cross_entropy`. Outside it each runs as one op with its backward
    pass written out (faster, the same numbers; see ops_attention.py and ops_fused.py). It
    holds for the thread that entered it.

    >>> from tinygrad_attn import Tensor, functional as F
    >>> q = Tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    >>> F.scaled_dot_product_attention(q, q, q)[0].op
    'attention'
    >>> with step_by_step():
    ...     out, weights = F.scaled_dot_product_attention(q, q, q)
    >>> out.op, out.children[0].label, weights.op
    ('matmul', 'weights', 'softmax')
    """

    def __enter__(self):
        _modes.stepwise.append(self)
        _modes.fused = False
        return self

    def __exit__(self, *exc):
        _leave(_modes.stepwise, self, "step_by_step()")
        _modes.fused = not _modes.stepwise


def fused():
    """May attention, layer norm and cross-entropy run as one op each in this thread (no
    step_by_step() block around)?"""
    return _modes.fused


class detect_anomaly:
    """Inside `with detect_anomaly():` an op whose forward or backward pass produces nan
    raises a RuntimeError naming the op, its input shapes, and the file and line that
    created it. Run both the forward pass and `backward()` inside it. It works for Tensors
    and for Values (for a Value the message gives its input values instead of shapes), in
    the thread that entered it. A backward pass that stops this way leaves every `.grad` as
    it was.

    >>> from tinygrad_attn import Tensor
    >>> with detect_anomaly():
    ...     x = Tensor([-1.0, 4.0], requires_grad=True)
    ...     y = x.log()
    Traceback (most recent call last):
    ...
    RuntimeError: detect_anomaly: 'log' produced nan in its forward pass; input shapes (2,); ...
    """

    def __enter__(self):
        _modes.anomaly.append(self)
        _modes.detecting = True
        anomaly.switch(True)
        return self

    def __exit__(self, *exc):
        _leave(_modes.anomaly, self, "detect_anomaly()")
        _modes.detecting = bool(_modes.anomaly)
        anomaly.switch(_modes.detecting)


# ---------------------------------------------------------------------- a tensor's numbers


class Storage(list):
    """A tensor's numbers: a plain list of floats that counts its changes in place.

    `version` starts at 0 and goes up by one with every change made through the list:
    `t.data[0] = 5.0`, `t.data[:] = numbers`, `t.data = numbers`, `t.data.sort()`, an
    optimizer step, `load_state_dict`. Every new number is checked (a number, stored as a
    float). Changes that would add or remove numbers are refused: the tensor's shape says
    how many there are.

    >>> from tinygrad_attn import Tensor
    >>> t = Tensor([1.0, 2.0])
    >>> t.data.version
    0
    >>> t.data[0] = 5
    >>> t.data, t.data.version
    ([5.0, 2.0], 1)
    """

    version = 0  # a class attribute until the first change: nothing stored per list

    def __setitem__(self, index, numbers):
        if isinstance(index, slice):
            numbers = _checked_numbers(numbers, len(range(*index.indices(len(self)))))
        else:
            numbers = _checked_number(numbers, "the new number")
        list.__setitem__(self, index, numbers)  # (an IndexError here changes nothing)
        self.version += 1

    def sort(self, *, key=None, reverse=False):
        list.sort(self, key=key, reverse=reverse)
        self.version += 1

    def reverse(self):
        list.reverse(self)
        self.version += 1

    def _refuse(self, *args, **kwargs):
        raise TypeError(
            "a tensor's numbers cannot be added or removed: its shape says how many there are. "
            "Change them in place (t.data[i] = x, t.data[:] = numbers), or make a new tensor "
            "(Tensor(numbers), Tensor.cat)"
        )

    append = extend = insert = pop = remove = clear = __delitem__ = _refuse
    __iadd__ = __imul__ = _refuse

    def __reduce_ex__(self, protocol):  # copy, deepcopy and pickle: a fresh list, version 0
        return (Storage, (list(self),))


def _checked_number(x, what):
    if type(x) is float:
        return x
    if isinstance(x, (int, float)):  # ints and bools become floats, as in Tensor(...)
        return as_float(x)
    raise TypeError(f"a tensor holds numbers: {what} is {type(x).__name__} ({x!r})")


def _checked_numbers(numbers, count):
    if isinstance(numbers, (str, bytes, dict)) or not hasattr(numbers, "__iter__"):
        raise TypeError(
            f"a tensor's numbers can be replaced by a list of numbers, got {type(numbers).__name__}"
        )
    numbers = list(numbers)
    if len(numbers) != count:
        raise ValueError(
            f"{len(numbers)} numbers for {count} places: a tensor's numbers cannot be added or "
            f"removed (its shape says how many there are); give exactly {count}"
        )
    if all(type(x) is float for x in numbers):
        return numbers
    return [_checked_number(x, f"number {k}") for k, x in enumerate(numbers)]


def grad_numbers(t):
    """The numbers of `t.grad` as a flat list to read (not to change), or None: what
    optimizers read, without wrapping them in a Tensor first."""
    g = t._grad
    return g if g is None or type(g) is list else g.data


def write_in_place(t, numbers):
    """Overwrite the numbers of tensor `t` with `numbers` (a list of as many floats) and
    count it as a change of version: a graph recorded from `t` before now refuses
    `backward()`. Optimizers and `load_state_dict` change parameters through this helper;
    any code that changes a tensor's numbers in place should too (or write
    `t.data[:] = numbers`, which also checks every number).

    >>> from tinygrad_attn import Tensor
    >>> w = Tensor([1.0, 2.0], requires_grad=True, label="w")
    >>> loss = (w * w).sum()
    >>> write_in_place(w, [0.5, 1.5])     # e.g. an optimizer step, before backward()
    >>> loss.backward()
    Traceback (most recent call last):
    ...
    RuntimeError: backward(): 'w' (shape (2,)) was changed in place after '*' used it ...
    """
    storage = t.data
    if len(numbers) != len(storage):
        raise ValueError(
            f"write_in_place: {len(numbers)} numbers for a tensor of shape {t.shape} "
            f"({len(storage)} numbers); give exactly {len(storage)}"
        )
    list.__setitem__(storage, slice(None), numbers)
    storage.version += 1


_version = attrgetter("_data.version")


# ---------------------------------------------------------------------- recording an op


def init_tensor(t, data, shape, label=""):
    """Set every field of a new tensor object: a leaf, until `record` says otherwise."""
    t._data = data if type(data) is Storage else Storage(data)
    t.shape = shape
    t._grad = None
    t.requires_grad = False
    t.label = label
    t.op = ""
    t.children = ()
    t._backward = None
    t.scope = _modes.scope
    t._order = next(_creation_counter)
    return t  # (t._site is set only inside detect_anomaly())


def record(data, shape, op, children, backward, saves="inputs and output"):
    """The output of an op. It keeps its children and its backward function only when some
    child requires grad (and not inside no_grad()): otherwise there is nothing to learn.

    `saves` says which numbers `backward` will read: "inputs" (d(a*b)/da = b), "output"
    (d(e^x)/dx = e^x), "inputs and output", or "nothing" (d(a+b)/da = 1). Their versions
    are noted here, and `backward()` checks that none has changed since. When unsure, leave
    the default: it checks everything."""
    cls = type(children[0])
    out = cls.__new__(cls)  # the fields of init_tensor, set here directly: this runs per op
    out._data = data if type(data) is Storage else Storage(data)
    out.shape = shape
    out._grad = None
    out.label = ""
    out.op = op
    modes = _modes
    out.scope = modes.scope
    out._order = next(_creation_counter)
    out.requires_grad = False
    out.children = ()
    out._backward = None
    if modes.grad_enabled:
        for child in children:
            if child.requires_grad:
                out.requires_grad = True
                out.children = children
                out._backward = backward
                inputs, output = _SAVES[saves]
                out._versions = (
                    tuple(map(_version, children)) if inputs else None,
                    out._data.version if output else None,
                )
                break
    if modes.detecting:
        out._site = anomaly.user_site()
        out.children = children
        if anomaly.has_nan(data):
            raise anomaly.tensor_error(out, "forward")
    return out


_SAVES = {  # saves= -> (inputs read?, output read?)
    "inputs and output": (True, True),
    "inputs": (True, False),
    "output": (False, True),
    "nothing": (False, False),
}


# ---------------------------------------------------------------------- walking it backwards


def topological_order(root):
    """`root` and every tensor it depends on that requires grad, each after its children:
    order.py's `topological_order`, the one both engines use."""
    return [t for t in _depth_first(root, _children) if t.requires_grad]


_children = attrgetter("children")


def backward(root, seed):
    """Apply the chain rule from `root` (whose gradient is the flat list `seed`) back to the
    leaves, adding each tensor's gradient into its `.grad`. An op whose inputs or output
    were changed in place since it ran stops it with a RuntimeError; so does a nan inside
    detect_anomaly(). Either way no `.grad` has changed."""
    check_nan = _modes.detecting
    if check_nan and anomaly.has_nan(seed):
        raise RuntimeError(
            f"detect_anomaly: the gradient given to backward() holds nan (output shape "
            f"{root.shape}); pass a gradient of finite numbers"
        )
    grads = {root: seed}  # this call's gradient of each tensor, built up as we go
    gradient_of = grads.get
    for node in reversed(_depth_first(root, _children)):  # each after all nodes that use it
        node_backward = node._backward
        if node_backward is None or (g := gradient_of(node)) is None:
            continue  # a leaf, or no gradient reached it: nothing further back
        inputs, output = node._versions
        if (inputs is not None and tuple(map(_version, node.children)) != inputs) or (
            output is not None and node._data.version != output
        ):
            _changed_in_place_error(node)  # nothing has been stored in .grad yet
        for child, child_grad in zip(node.children, node_backward(g)):
            if child_grad is None or not child.requires_grad:
                continue
            if check_nan and anomaly.has_nan(child_grad):
                raise anomaly.tensor_error(node, "backward")  # no .grad has changed yet
            before = gradient_of(child)
            grads[child] = child_grad if before is None else _add(before, child_grad)
    # Gradients accumulate across calls, as in PyTorch. The plain list is stored; the `.grad`
    # property wraps it in a Tensor when someone looks. Gradient lists are never changed in
    # place, so several tensors may share one.
    for node, g in grads.items():
        before = node._grad
        if before is None:
            node._grad = g
        else:
            node._grad = _add(before if type(before) is list else before.data, g)


def _add(a, b):
    return list(map(add, a, b))  # a + b, number by number (map runs the loop in C)


def _changed_in_place_error(node):
    inputs, output = node._versions
    saved = [(t, v) for t, v in zip(node.children, inputs or ())] + [(node, output)]
    t, saw = next((t, v) for t, v in saved if v is not None and t.data.version != v)
    if t is node:
        what = f"the output of {node.op!r} (shape {t.shape})"
    elif t.label:
        what = f"{t.label!r} (shape {t.shape})"
    elif t.op:
        what = f"the output of {t.op!r} (shape {t.shape})"
    else:
        what = f"a tensor of shape {t.shape}"
    raise RuntimeError(
        f"backward(): {what} was changed in place after {node.op!r} used it in the forward "
        f"pass (its numbers are at version {t.data.version}, {node.op!r} used version {saw}), "
        f"so the gradient would come from the wrong numbers. Recompute the forward pass after "
        f"changing numbers (e.g. after optimizer.step()), or call backward() before changing "
        f"them"
    )
