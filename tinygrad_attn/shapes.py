"""Shapes and flat indices: the bookkeeping under the tensor engine.

A Tensor stores its numbers in one flat Python list, row by row ("row-major"): the matrix
[[1, 2, 3], [4, 5, 6]] is the list [1, 2, 3, 4, 5, 6] with shape (2, 3). Element (i, j) lives
at flat index i * 3 + j; the 3 is the row's *stride*. Every function here turns a question
about shapes (how do these broadcast? where does element k of the transpose come from?) into
plain lists of flat indices, computed once per shape and cached, so the ops themselves are
simple loops over lists.

>>> strides((2, 3, 4))
(12, 4, 1)
>>> broadcast_shape((2, 1, 4), (3, 1), "+")
(2, 3, 4)
"""

from functools import lru_cache
from operator import itemgetter

from .ieee import as_float

__all__ = [
    "parse_nested",
    "numel",
    "set_max_elements",
    "get_max_elements",
    "check_size",
    "strides",
    "broadcast_shape",
    "broadcast_index",
    "normalize_axis",
    "normalize_axes",
    "transpose_index",
    "transpose_picker",
    "permute_index",
    "reduce_layout",
    "reshape_target",
    "tiled_size",
]


def parse_nested(data):
    """Nested lists of numbers -> (flat list of floats, shape). Checks every row.

    The lists are read with a stack of our own, not by recursion, so a list 10,000 levels
    deep works; a list that contains itself is refused (it never ends in numbers), and so
    is a shape over the element limit (see `set_max_elements`), before any copying.

    >>> parse_nested([[1, 2], [3, 4]])
    ([1.0, 2.0, 3.0, 4.0], (2, 2))
    >>> parse_nested(5)
    ([5.0], ())
    """
    if isinstance(data, bool) or isinstance(data, (int, float)):
        return [as_float(data)], ()
    if not isinstance(data, (list, tuple)):
        hint = "; a Value's number is v.data" if type(data).__name__ == "Value" else ""
        if hasattr(data, "tolist"):  # a NumPy array, a torch tensor
            hint = "; convert it first: Tensor(x.tolist())"
        elif isinstance(data, range) or hasattr(data, "__next__"):  # a range, a generator
            hint = "; convert it first: Tensor(list(x))"
        raise TypeError(
            f"Tensor data must be a number or nested lists of numbers, got "
            f"{type(data).__name__}{hint}"
        )
    shape = _first_shape(data)
    check_size(shape, "Tensor")
    flat = []
    last = len(shape) - 1
    path, on_path = [], set()  # the lists around the one being read, and their ids
    stack = [(data, 0, ())]  # (a list, its depth, where it is: its index at each depth)
    while stack:
        row, depth, where = stack.pop()
        if len(row) != shape[depth]:
            at = _where(where) if where else "the outer list"
            raise ValueError(
                f"ragged nested list: row {at} has {len(row)} elements, expected "
                f"{shape[depth]} like the first one at that depth (all rows must have equal "
                f"length)"
            )
        if depth == last:  # innermost lists hold numbers
            _extend_numbers(flat, row, where, on_path)
            continue
        for gone in path[depth:]:  # rows of a finished branch are no longer around this one
            on_path.discard(id(gone))
        del path[depth:]
        path.append(row)
        on_path.add(id(row))
        for k in range(len(row) - 1, -1, -1):  # pushed backwards: read in order
            child = row[k]
            if not isinstance(child, (list, tuple)):
                raise ValueError(
                    f"ragged nested list: element {_where(where + (k,))} is a number, but the "
                    f"first element at that depth is a list"
                )
            if id(child) in on_path:
                raise ValueError(_contains_itself(where + (k,)))
            stack.append((child, depth + 1, where + (k,)))
    return flat, shape


def _first_shape(data):
    """The shape the first element at each depth says: [[1, 2], [3, 4]] -> (2, 2)."""
    shape, probe, seen, where = [], data, set(), ()
    while isinstance(probe, (list, tuple)):
        if id(probe) in seen:
            raise ValueError(_contains_itself(where))
        seen.add(id(probe))
        shape.append(len(probe))
        if not probe:
            break
        probe, where = probe[0], where + (0,)
    return tuple(shape)


def _contains_itself(where):
    return (
        f"the nested list contains itself: element {_where(where)} is one of the lists around "
        f"it, so it never ends in numbers; give nested lists that end in numbers"
    )


def _extend_numbers(flat, row, where, around):
    for k, x in enumerate(row):
        if isinstance(x, (list, tuple)):
            if x is row or id(x) in around:
                raise ValueError(_contains_itself(where + (k,)))
            raise ValueError(
                f"ragged nested list: element {_where(where + (k,))} is a list, but the "
                f"first row at that depth holds numbers"
            )
        if not isinstance(x, (int, float)):
            raise TypeError(
                f"Tensor data must be numbers: element {_where(where + (k,))} is "
                f"{type(x).__name__} ({x!r})"
            )
    start = len(flat)
    try:
        flat.extend(map(float, row))
    except OverflowError:  # an int too big for a float: +-inf, as IEEE-754 rounds it
        del flat[start:]
        flat.extend(map(as_float, row))


def _where(index):
    return "[" + "][".join(str(i) for i in index) + "]"


# ---------------------------------------------------------------------- the element limit
#
# A tensor of 10**6 x 10**6 numbers would fill any memory long before it was made. Every
# place that makes a tensor from sizes a user gave (Tensor(...), zeros, ones, randn, layer
# sizes, masks, position tables, broadcasting, matmul, cat, indexing) checks its element
# count first, against one limit the user may change.

_max_elements = [10_000_000]  # ten million numbers: about 320 MB as a list of Python floats


def set_max_elements(n):
    """Set the largest number of elements a tensor may have (default 10,000,000: a list of
    that many Python floats takes about 320 MB) and return the previous limit. Making a
    bigger tensor raises ValueError before anything is allocated.

    >>> old = set_max_elements(100)
    >>> from tinygrad_attn import Tensor
    >>> Tensor.zeros(20, 20)
    Traceback (most recent call last):
    ...
    ValueError: zeros: shape (20, 20) holds 400 numbers, more than the limit of 100 ...
    >>> set_max_elements(old)
    100
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_max_elements: the limit must be a positive int, got {n!r}")
    old, _max_elements[0] = _max_elements[0], n
    return old


def get_max_elements():
    """The largest number of elements a tensor may have (see `set_max_elements`).

    >>> get_max_elements()
    10000000
    """
    return _max_elements[0]


def check_size(shape, what):
    """Refuse, before anything is allocated, a tensor of `shape` over the element limit."""
    n = numel(shape)
    if n > _max_elements[0]:
        raise ValueError(
            f"{what}: shape {tuple(shape)} holds {n:,} numbers, more than the limit of "
            f"{_max_elements[0]:,} (as Python floats they would take about {_size_text(n)}); "
            f"use smaller sizes, or raise the limit with tinygrad_attn.set_max_elements(n)"
        )
    return n


def _size_text(n):
    size = 32 * n  # 8 bytes per list entry + 24 per float object
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if size < 1000 or unit == "PB":
            return f"{size:,.0f} {unit}"
        size /= 1000


def numel(shape):
    """How many numbers a tensor of this shape holds (1 for a 0-d tensor)."""
    n = 1
    for size in shape:
        n *= size
    return n


@lru_cache(maxsize=512)
def strides(shape):
    """How far apart in the flat list consecutive indices along each axis are."""
    out, step = [], 1
    for size in reversed(shape):
        out.append(step)
        step *= size
    return tuple(reversed(out))


@lru_cache(maxsize=512)
def broadcast_shape(a, b, op="op"):
    """The NumPy/PyTorch broadcast of two shapes: align from the right; sizes must match or
    one of them must be 1.

    >>> broadcast_shape((4, 3), (3,))
    (4, 3)
    """
    out = []
    for k in range(1, max(len(a), len(b)) + 1):
        x = a[-k] if k <= len(a) else 1
        y = b[-k] if k <= len(b) else 1
        if x != y and x != 1 and y != 1:
            raise ValueError(
                f"{op}: shapes {a} and {b} cannot broadcast: sizes {x} and {y} differ at "
                f"axis {-k} (sizes must match, or one of them must be 1)"
            )
        out.append(max(x, y) if x != 0 and y != 0 else 0)
    return tuple(reversed(out))


@lru_cache(maxsize=512)
def broadcast_index(src, out):
    """For each flat position of shape `out`, the flat position in `src` it reads when `src`
    is broadcast to `out`. None when no expansion is needed (same shape).

    >>> broadcast_index((3,), (2, 3))
    (0, 1, 2, 0, 1, 2)
    >>> broadcast_index((2, 1), (2, 3))
    (0, 0, 0, 1, 1, 1)
    """
    if src == out:
        return None
    src = (1,) * (len(out) - len(src)) + src
    src_strides = strides(src)
    index = [0]
    for size, src_size, stride in zip(out, src, src_strides):
        step = stride if src_size != 1 else 0  # a size-1 axis repeats the same numbers
        index = [i + j * step for i in index for j in range(size)]
    return tuple(index)


def normalize_axis(axis, ndim, what="axis"):
    """A possibly negative axis -> 0 <= axis < ndim, or a clear IndexError."""
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"{what} must be an int, got {type(axis).__name__} ({axis!r})")
    if not -ndim <= axis < ndim:
        if ndim == 0:
            raise IndexError(f"{what} {axis}: a 0-d tensor (a single number) has no axes")
        raise IndexError(
            f"{what} {axis} is out of range for a tensor with {ndim} dimensions "
            f"(expected {-ndim}..{ndim - 1})"
        )
    return axis % ndim


def normalize_axes(axis, ndim):
    """None -> every axis; int or tuple of ints -> sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = sorted({normalize_axis(a, ndim) for a in axes})
    if len(out) != len(axes):
        raise ValueError(f"axis {axis} names the same axis twice; list each axis once")
    return tuple(out)


@lru_cache(maxsize=512)
def transpose_index(shape, dim0, dim1):
    """Flat index into `shape` for each flat position of the tensor with dims dim0 and dim1
    swapped.

    >>> transpose_index((2, 3), 0, 1)    # [[0, 1, 2], [3, 4, 5]] -> [[0, 3], [1, 4], [2, 5]]
    (0, 3, 1, 4, 2, 5)
    >>> transpose_index((4, 1, 3), 0, 1) is None     # the order does not change
    True
    """
    src_strides = list(strides(shape))
    out_shape = list(shape)
    out_shape[dim0], out_shape[dim1] = out_shape[dim1], out_shape[dim0]
    src_strides[dim0], src_strides[dim1] = src_strides[dim1], src_strides[dim0]
    index = [0]
    for size, stride in zip(out_shape, src_strides):
        index = [i + j * stride for i in index for j in range(size)]
    if index == list(range(len(index))):
        return None
    return tuple(index)


@lru_cache(maxsize=512)
def transpose_picker(shape, dim0, dim1):
    """The numbers of a tensor of `shape` -> a tuple of them in the order of its transpose
    (the numbers at `transpose_index`, picked by `operator.itemgetter`, which runs the loop
    in C); None when the order does not change.

    >>> transpose_picker((2, 3), 0, 1)([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    (1.0, 4.0, 2.0, 5.0, 3.0, 6.0)
    """
    index = transpose_index(shape, dim0, dim1)
    return None if index is None else itemgetter(*index)  # (2 numbers or more: a tuple)


@lru_cache(maxsize=512)
def permute_index(shape, dims):
    """Flat index into `shape` for each flat position of the tensor whose axis k is axis
    dims[k] of the original (None when the numbers stay in the same order).

    >>> permute_index((2, 3), (1, 0))    # the transpose of [[0, 1, 2], [3, 4, 5]]
    (0, 3, 1, 4, 2, 5)
    """
    src_strides = strides(shape)
    index = [0]
    for d in dims:  # walk the output's axes; each steps through the input by its stride
        index = [i + j * src_strides[d] for i in index for j in range(shape[d])]
    if index == list(range(len(index))):
        return None
    return tuple(index)


def reduce_layout(shape, axis):
    """View `shape` as (outer, n, inner) around `axis`: the numbers being reduced together
    are n apart by `inner` steps."""
    return numel(shape[:axis]), shape[axis], numel(shape[axis + 1 :])


@lru_cache(maxsize=512)
def reshape_target(old_shape, new_shape):
    """Resolve one -1 in `new_shape` and check that the element counts agree."""
    for size in new_shape:
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"reshape: sizes must be ints, got {new_shape}")
        if size < -1:
            raise ValueError(f"reshape: invalid size {size} in {new_shape}")
    total = numel(old_shape)
    if new_shape.count(-1) > 1:
        raise ValueError(f"reshape: only one size may be -1, got {new_shape}")
    if -1 in new_shape:
        known = numel(tuple(s for s in new_shape if s != -1))
        if known == 0 or total % known:
            raise ValueError(
                f"reshape: cannot reshape {old_shape} ({total} elements) to {new_shape}"
            )
        new_shape = tuple(total // known if s == -1 else s for s in new_shape)
    if numel(new_shape) != total:
        raise ValueError(
            f"reshape: cannot reshape {old_shape} ({total} elements) to {new_shape} "
            f"({numel(new_shape)} elements); the count must stay the same (one size may be -1)"
        )
    return new_shape


@lru_cache(maxsize=512)
def tiled_size(src, out):
    """If broadcasting `src` to `out` only repeats it whole (src matches the trailing axes of
    out, like a bias row added to every row of a matrix), the number of elements in src;
    otherwise 0.

    >>> tiled_size((3,), (4, 3)), tiled_size((1, 3), (2, 4, 3)), tiled_size((4, 1), (4, 3))
    (3, 3, 0)
    """
    while src and src[0] == 1:
        src = src[1:]
    if len(src) <= len(out) and out[len(out) - len(src) :] == src:
        return numel(src)
    return 0
