"""Ops that move numbers without changing them: reshape, transpose, permute, indexing, split,
cat, and the new views of the same numbers (unsqueeze, squeeze, flatten).

Part of `Tensor` (tensor.py). None of these does arithmetic, so each backward pass is the
same move in reverse: the gradient of a number goes back to the place the number came from
(added up when one number was copied to several places).
"""

from .autograd import Storage, record
from .shapes import (
    check_size,
    normalize_axes,
    normalize_axis,
    numel,
    permute_index,
    reduce_layout,
    reshape_target,
    transpose_picker,
)

__all__ = ["ShapeOps"]


class ShapeOps:
    __slots__ = ()

    def reshape(self, *shape):
        """The same numbers in a new shape; one size may be -1 (worked out from the rest).
        `t.reshape(2, 3)` or `t.reshape((2, 3))`.

        >>> from tinygrad_attn import Tensor
        >>> Tensor([1, 2, 3, 4, 5, 6]).reshape(2, -1).tolist()
        [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
        """
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        for size in shape:  # (before the cached lookup)
            if not isinstance(size, int):
                raise TypeError(f"reshape: sizes must be ints, got {tuple(shape)}")
        new_shape = reshape_target(self.shape, tuple(shape))
        # the flat row-major order is unchanged, so the gradient flows back as it is
        return self._same_numbers(new_shape, "reshape")

    def transpose(self, dim0=-2, dim1=-1):
        """Swap two axes (by default the last two: the matrix transpose).

        >>> from tinygrad_attn import Tensor
        >>> Tensor([[1, 2, 3], [4, 5, 6]]).transpose().tolist()
        [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
        """
        if len(self.shape) < 2:
            raise ValueError(
                f"transpose: needs at least 2 axes, got shape {self.shape}; a vector is its own "
                f"transpose (x.T returns it), x.reshape(1, -1) makes it a row"
            )
        d0 = normalize_axis(dim0, len(self.shape), "dim0")
        d1 = normalize_axis(dim1, len(self.shape), "dim1")
        shape = list(self.shape)
        shape[d0], shape[d1] = shape[d1], shape[d0]
        shape = tuple(shape)
        pick = transpose_picker(self.shape, d0, d1)  # each output's number, from the input
        if pick is None:  # a size-1 axis swapped: the numbers stay in the same order
            return self._same_numbers(shape, "transpose")
        out = list(pick(self.data[:]))  # (picked from a plain list: a Storage is slower)

        def backward(g):
            # transposing back moves every gradient to where its number came from
            return (list(transpose_picker(shape, d0, d1)(g)),)

        return record(out, shape, "transpose", (self,), backward, saves="nothing")

    @property
    def T(self):
        """The matrix transpose: swaps the last two axes (a 1-D tensor is returned as is)."""
        return self if len(self.shape) < 2 else self.transpose(-2, -1)

    def __getitem__(self, index):
        """Pick numbers along any axes, as in NumPy and PyTorch: an int picks one position
        (that axis goes away), a slice `a:b:step` keeps a range, a list of ints picks
        positions in any order (repeats allowed; one list per index), `...` stands for
        all the axes not named, and `None` adds a new axis of size 1. Negative numbers
        count from the end.

        >>> from tinygrad_attn import Tensor
        >>> t = Tensor([[1, 2, 3], [4, 5, 6]])
        >>> t[1].tolist(), t[:, 0].tolist(), t[..., -1].tolist()
        ([4.0, 5.0, 6.0], [1.0, 4.0], [3.0, 6.0])
        >>> t[:, [2, 0]].tolist(), t[1:, ::2].tolist(), t[None].shape
        ([[3.0, 1.0], [6.0, 4.0]], [[4.0, 6.0]], (1, 2, 3))
        """
        starts, block, shape = _index_plan(self.shape, _index_items(index, type(self)))
        x = self.data
        # the picked numbers: `block` numbers in a row from each start
        if block == 1:
            out = list(map(x.__getitem__, starts))
        else:
            out = []
            for s in starts:
                out += x[s : s + block]

        once = len(set(starts)) == len(starts)  # False when a list picks a place twice

        def backward(g):
            # each picked number's gradient goes back to where it was picked from (added
            # up where a list picked the same place twice); the other places get 0
            grad = [0.0] * len(x)
            for k, s in enumerate(starts):
                piece = g[k * block : (k + 1) * block]
                if not once:
                    piece = [a + b for a, b in zip(grad[s : s + block], piece)]
                grad[s : s + block] = piece
            return (grad,)

        return record(out, shape, "index", (self,), backward, saves="nothing")

    def unsqueeze(self, axis):
        """The same numbers with a new axis of size 1 at position `axis` (as in PyTorch,
        -1 puts it last).

        >>> from tinygrad_attn import Tensor
        >>> Tensor([1, 2, 3]).unsqueeze(0).shape, Tensor([1, 2, 3]).unsqueeze(-1).shape
        ((1, 3), (3, 1))
        """
        places = len(self.shape) + 1  # a new axis can go before any axis, or last
        if isinstance(axis, int) and not isinstance(axis, bool) and not -places <= axis < places:
            raise IndexError(
                f"unsqueeze: axis {axis} is out of range for shape {self.shape}: the new axis "
                f"can go at {-places}..{places - 1}"
            )
        ax = normalize_axis(axis, places)
        return self._same_numbers(self.shape[:ax] + (1,) + self.shape[ax:], "unsqueeze")

    def squeeze(self, axis=None):
        """Remove axes of size 1: all of them, or only `axis` (an int or a tuple). As in
        PyTorch, a named axis whose size is not 1 stays as it is.

        >>> from tinygrad_attn import Tensor
        >>> x = Tensor.zeros(1, 3, 1)
        >>> x.squeeze().shape, x.squeeze(0).shape, x.squeeze(1).shape
        ((3,), (3, 1), (1, 3, 1))
        """
        if axis is None:
            axes = range(len(self.shape))
        elif not self.shape:  # a single number: axis 0 (or -1) names it, as in PyTorch
            for a in _as_tuple(axis):
                normalize_axis(a, 1)
            axes = ()
        else:
            axes = normalize_axes(axis, len(self.shape))
        shape = tuple(n for d, n in enumerate(self.shape) if not (d in axes and n == 1))
        return self._same_numbers(shape, "squeeze")

    def flatten(self, start_dim=0, end_dim=-1):
        """Merge the axes from `start_dim` to `end_dim` (both included) into one.

        >>> from tinygrad_attn import Tensor
        >>> x = Tensor.zeros(2, 3, 4)
        >>> x.flatten().shape, x.flatten(1).shape, x.flatten(0, 1).shape
        ((24,), (2, 12), (6, 4))
        """
        if not self.shape:  # a single number becomes a list of one, as in PyTorch
            for d in (start_dim, end_dim):
                normalize_axis(d, 1, "dim")
            return self._same_numbers((1,), "flatten")
        first = normalize_axis(start_dim, len(self.shape), "start_dim")
        last = normalize_axis(end_dim, len(self.shape), "end_dim")
        if first > last:
            raise ValueError(
                f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape "
                f"{self.shape}; the axes to merge run from start_dim to end_dim"
            )
        merged = numel(self.shape[first : last + 1])
        return self._same_numbers(
            self.shape[:first] + (merged,) + self.shape[last + 1 :], "flatten"
        )

    def _same_numbers(self, shape, op):
        """The same numbers in the same order under a new shape (reshape, unsqueeze, squeeze,
        flatten, a transpose that moves a size-1 axis): the gradient flows back as it is."""
        return record(Storage(self.data), shape, op, (self,), _same_grad, saves="nothing")

    def permute(self, *dims):
        """Reorder the axes: axis k of the result is axis dims[k] of this tensor.
        `x.permute(2, 0, 1)` or `x.permute((2, 0, 1))`; transpose swaps just two.

        >>> from tinygrad_attn import Tensor
        >>> Tensor.zeros(2, 3, 4).permute(2, 0, 1).shape
        (4, 2, 3)
        >>> Tensor([[1, 2, 3], [4, 5, 6]]).permute(1, 0).tolist()
        [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
        """
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) != len(self.shape):
            example = tuple(reversed(range(len(self.shape))))
            raise ValueError(
                f"permute: got {dims} for a tensor of shape {self.shape}; name each of its "
                f"{len(self.shape)} axes once, e.g. permute{example}"
            )
        order = tuple(normalize_axis(d, len(self.shape), "dim") for d in dims)
        if len(set(order)) != len(order):
            raise ValueError(
                f"permute: {dims} names an axis twice; name every axis of {self.shape} once"
            )
        shape = tuple(self.shape[d] for d in order)
        index = permute_index(self.shape, order)  # the input position each output reads
        if index is None:  # only size-1 axes moved: the numbers stay in the same order
            return self._same_numbers(shape, "permute")
        out = list(map(self.data.__getitem__, index))
        inverse = tuple(order.index(d) for d in range(len(order)))

        def backward(g):
            # the inverse permutation moves every gradient to where its number came from
            return (list(map(g.__getitem__, permute_index(shape, inverse))),)

        return record(out, shape, "permute", (self,), backward, saves="nothing")

    def split(self, size, axis=-1):
        """Cut into consecutive pieces of `size` along `axis` (the last may be shorter).
        For example, `q.split(d_head)` gives each head its own columns of Q.

        >>> from tinygrad_attn import Tensor
        >>> [p.tolist() for p in Tensor([[1, 2, 3, 4]]).split(2)]
        [[[1.0, 2.0]], [[3.0, 4.0]]]
        """
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"split: size must be a positive int, got {type(size).__name__}")
        if size < 1:
            raise ValueError(f"split: size must be a positive int, got {size!r}")
        if not self.shape:
            raise ValueError("split: a 0-d tensor has no axis to split")
        ax = normalize_axis(axis, len(self.shape))
        length = self.shape[ax]
        if size >= length:  # one piece: the tensor itself
            return [self]
        return [self._narrow(ax, s, min(s + size, length)) for s in range(0, length, size)]

    def _narrow(self, ax, start, stop):
        """Positions start .. stop-1 along axis `ax` (one piece of `split`)."""
        outer, n, inner = reduce_layout(self.shape, ax)
        x = self.data
        out = []
        for o in range(outer):
            out += x[(o * n + start) * inner : (o * n + stop) * inner]
        shape = self.shape[:ax] + (stop - start,) + self.shape[ax + 1 :]
        width = (stop - start) * inner

        def backward(g):
            # the piece's gradient goes back to the piece's place; zero everywhere else
            grad = [0.0] * len(x)
            for o in range(outer):
                grad[(o * n + start) * inner : (o * n + stop) * inner] = g[
                    o * width : (o + 1) * width
                ]
            return (grad,)

        return record(out, shape, "split", (self,), backward, saves="nothing")


def cat(tensors, axis=0):
    """Join tensors along an existing axis; all other sizes must match (`Tensor.cat`)."""
    first = tensors[0]
    if not first.shape:
        raise ValueError("cat: 0-d tensors have no axis to join along; use Tensor.stack")
    ax = normalize_axis(axis, len(first.shape))
    for t in tensors[1:]:
        if len(t.shape) != len(first.shape) or any(
            s != f for d, (s, f) in enumerate(zip(t.shape, first.shape)) if d != ax
        ):
            raise ValueError(
                f"cat: shapes {first.shape} and {t.shape} differ outside axis {ax}; every size "
                f"except the joined axis must match"
            )
    shape = first.shape[:ax] + (sum(t.shape[ax] for t in tensors),) + first.shape[ax + 1 :]
    check_size(shape, "cat")
    outer = numel(first.shape[:ax])
    inner = numel(first.shape[ax + 1 :])
    chunks = [t.shape[ax] * inner for t in tensors]  # numbers per outer row, per tensor
    out = []
    for o in range(outer):
        for t, c in zip(tensors, chunks):
            out += t.data[o * c : (o + 1) * c]
    row = sum(chunks)

    def backward(g):
        # each input gets back its own slice of every output row
        grads, start = [], 0
        for t, c in zip(tensors, chunks):
            piece = None
            if t.requires_grad:
                piece = []
                for o in range(outer):
                    piece += g[o * row + start : o * row + start + c]
            grads.append(piece)
            start += c
        return tuple(grads)

    return record(out, shape, "cat", tuple(tensors), backward, saves="nothing")


def _same_grad(g):
    return (g,)


def _as_tuple(axis):
    return tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)


# ---------------------------------------------------------------------- indexing


def _index_items(index, tensor_type):
    """The index as a tuple of ints, slices, lists of ints, None and `...`; index tensors
    become ints (0-d) or lists (1-d)."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for item in items:
        if isinstance(item, tensor_type):
            if item.ndim > 1:
                raise TypeError(
                    f"an index tensor must be a number or a list of positions, got shape "
                    f"{item.shape}; index one axis at a time"
                )
            what = "an index tensor"
            item = _whole_number(item.data[0], what) if item.ndim == 0 else list(item.data)
        else:
            what = "an index list"
        if isinstance(item, list):
            item = [_whole_number(i, what) for i in item]
        elif isinstance(item, bool) or not (
            isinstance(item, (int, slice)) or item is None or item is Ellipsis
        ):
            kind = "a bool" if isinstance(item, bool) else f"{type(item).__name__} ({item!r})"
            raise TypeError(
                f"cannot index a tensor with {kind}: use ints, slices, lists of ints, None "
                f"and ... (e.g. x[0], x[:, 1:3], x[[2, 0]], x[..., 0], x[None])"
            )
        out.append(item)
    return out


def _index_plan(shape, items):
    """Where the picked numbers are: (starts, block, result shape). The result is the
    `block` numbers that follow each start in the flat list, one start after another."""
    axes_named = [i for i in items if i is not None and i is not Ellipsis]
    if sum(i is Ellipsis for i in items) > 1:
        raise IndexError("an index can hold only one ... (it stands for all the other axes)")
    if sum(isinstance(i, list) for i in items) > 1:
        raise TypeError(
            "only one list of positions per index: pick along one axis at a time, "
            "e.g. x[[0, 1]][:, [2, 0]]"
        )
    if not shape and axes_named:
        raise IndexError("a 0-d tensor holds one number and cannot be indexed: use .item()")
    if len(axes_named) > len(shape):
        raise IndexError(
            f"too many indices: {len(axes_named)} for a tensor of shape {shape} with "
            f"{len(shape)} axes"
        )
    # `...` (or the end of the index) stands for every axis not named
    rest = [slice(None)] * (len(shape) - len(axes_named))
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + rest + items[at + 1 :]
    else:
        items = items + rest
    out_shape, picks, axis = [], [], 0  # picks[d]: the positions taken along axis d
    for item in items:
        if item is None:  # a new axis of size 1: it picks nothing
            out_shape.append(1)
            continue
        size = shape[axis]
        if isinstance(item, int):
            picks.append([_position(item, size, axis)])  # the axis goes away
        elif isinstance(item, slice):
            picks.append(range(*item.indices(size)))
            out_shape.append(len(picks[-1]))
        else:
            picks.append([_position(i, size, axis) for i in item])
            out_shape.append(len(item))
        axis += 1
    check_size(out_shape, "index")
    # trailing axes taken whole are copied as blocks of `block` numbers in a row
    block, d = 1, len(shape)
    while d > 0 and isinstance(picks[d - 1], range) and picks[d - 1] == range(shape[d - 1]):
        d -= 1
        block *= shape[d]
    starts = [0]
    for axis in range(d):
        stride = numel(shape[axis + 1 :])
        starts = [s + p * stride for s in starts for p in picks[axis]]
    return starts, block, tuple(out_shape)


def _whole_number(v, what):
    whole = isinstance(v, int) or (isinstance(v, float) and v.is_integer())
    if isinstance(v, bool) or not whole:
        raise TypeError(f"{what} must hold whole numbers, got {v!r}")
    return int(v)


def _position(i, size, axis):
    if not -size <= i < size:
        raise IndexError(
            f"index {i} is out of range for axis {axis} with size {size} "
            f"(valid: {-size}..{size - 1})"
        )
    return i % size
