"""Ops that move numbers without changing them: reshape, transpose, indexing, split, cat.

Part of `Tensor` (tensor.py). None of these does arithmetic, so each backward pass is the
same move in reverse: the gradient of a number goes back to the place the number came from
(added up when one number was copied to several places).
"""

from .autograd import record
from .shapes import normalize_axis, numel, reduce_layout, reshape_target, transpose_index

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
        if not all(isinstance(size, int) for size in shape):  # (before the cached lookup)
            raise TypeError(f"reshape: sizes must be ints, got {tuple(shape)}")
        new_shape = reshape_target(self.shape, tuple(shape))
        # the flat row-major order is unchanged, so the gradient flows back as it is
        return record(list(self.data), new_shape, "reshape", (self,), _same_grad, saves="nothing")

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
        index = transpose_index(self.shape, d0, d1)  # the input position each output reads
        if index is None:  # a size-1 axis swapped: the numbers stay in the same order
            return record(list(self.data), shape, "transpose", (self,), _same_grad, saves="nothing")
        out = list(map(self.data.__getitem__, index))

        def backward(g):
            # transposing back moves every gradient to where its number came from
            return (list(map(g.__getitem__, transpose_index(shape, d0, d1))),)

        return record(out, shape, "transpose", (self,), backward, saves="nothing")

    @property
    def T(self):
        """The matrix transpose: swaps the last two axes (a 1-D tensor is returned as is)."""
        return self if len(self.shape) < 2 else self.transpose(-2, -1)

    def __getitem__(self, index):
        """Pick along the first axis: `t[i]`, `t[a:b]` (any slice) or `t[[i, j, i]]`.

        >>> from tinygrad_attn import Tensor
        >>> t = Tensor([[1, 2], [3, 4], [5, 6]])
        >>> t[1].tolist(), t[1:].tolist(), t[[2, 0]].tolist()
        ([3.0, 4.0], [[3.0, 4.0], [5.0, 6.0]], [[5.0, 6.0], [1.0, 2.0]])
        """
        if not self.shape:
            raise IndexError("a 0-d tensor holds one number and cannot be indexed: use .item()")
        rows = self.shape[0]
        if isinstance(index, type(self)) and len(index.shape) == 1:
            index = [_whole_number(v, "an index tensor") for v in index.data]
        if isinstance(index, bool):
            raise TypeError("a bool cannot index a tensor; use an int, a slice or a list of ints")
        if isinstance(index, int):
            picked, shape = [_row(index, rows)], self.shape[1:]
        elif isinstance(index, slice):
            picked = list(range(*index.indices(rows)))
            shape = (len(picked),) + self.shape[1:]
        elif isinstance(index, list):
            picked = [_row(_whole_number(i, "an index list"), rows) for i in index]
            shape = (len(picked),) + self.shape[1:]
        else:
            raise TypeError(
                f"cannot index a tensor with {type(index).__name__} ({index!r}): use an int, "
                f"a slice or a list of ints on the first axis (for more axes: t[i][j])"
            )
        size = numel(self.shape[1:])
        x = self.data
        out = []
        for r in picked:
            out += x[r * size : (r + 1) * size]

        def backward(g):
            # each picked row's gradient goes back to its row (added up if picked twice)
            grad = [0.0] * len(x)
            for k, r in enumerate(picked):
                start = r * size
                grad[start : start + size] = [
                    a + b for a, b in zip(grad[start : start + size], g[k * size : (k + 1) * size])
                ]
            return (grad,)

        return record(out, shape, "index", (self,), backward, saves="nothing")

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
    outer = numel(first.shape[:ax])
    inner = numel(first.shape[ax + 1 :])
    chunks = [t.shape[ax] * inner for t in tensors]  # numbers per outer row, per tensor
    out = []
    for o in range(outer):
        for t, c in zip(tensors, chunks):
            out += t.data[o * c : (o + 1) * c]
    shape = first.shape[:ax] + (sum(t.shape[ax] for t in tensors),) + first.shape[ax + 1 :]
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


def _whole_number(v, what):
    whole = isinstance(v, int) or (isinstance(v, float) and v.is_integer())
    if isinstance(v, bool) or not whole:
        raise TypeError(f"{what} must hold whole numbers, got {v!r}")
    return int(v)


def _row(i, rows):
    if not -rows <= i < rows:
        raise IndexError(
            f"index {i} is out of range for axis 0 with size {rows} (valid: {-rows}..{rows - 1})"
        )
    return i % rows
