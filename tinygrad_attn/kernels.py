"""The inner loop of every matrix product: many dot products, written out term by term.

A matrix product is a grid of dot products: C[i, j] = (row i of A) . (column j of B). In
pure Python, how a dot product is written decides how fast it runs. For rows of a known
length, say 3, the fastest is to write the sum out:

    a0*b0 + a1*b1 + a2*b2

with every number in a local variable: plain bytecode, no function call per number. So the
code of that loop is generated once per length (the first time a product of that length
is needed), compiled with `exec` and kept. For length 3 it reads:

    def dot_products(rows, columns):
        return [a0*b0 + a1*b1 + a2*b2 for a0, a1, a2 in rows for b0, b1, b2 in columns]

The terms are added left to right, in the same order as `sum(map(mul, row, column))`, so
the results are the same numbers (except that terms that are all -0.0 add up to -0.0, as
IEEE-754 says, where `sum` starts from 0 and gives 0.0). Lengths above `LONGEST` use
`sum(map(mul, ...))` itself: written out, such long sums are no faster. How much faster the
written-out form is, and the figures, are in docs/06_engine_tour.md and benchmarks/.

>>> dot_products([[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]])
[17.0, 23.0, 39.0, 53.0]
>>> m = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]      # [[1, 2, 3], [4, 5, 6]], stored row by row
>>> rows(m, 0, 2, 3), columns(m, 0, 2, 3)
([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]])
"""

from operator import mul

__all__ = ["dot_products", "dot", "rows", "columns", "LONGEST"]

LONGEST = 128  # the longest dot product written out term by term


def dot_products(rows, columns):
    """Every row . every column, row by row: [r . c for r in rows for c in columns]. All
    rows and columns have the same length; both are lists (of lists or tuples)."""
    if not rows or not columns:
        return []
    n = len(rows[0])
    return (_kernels.get(n) or _kernel(n))(rows, columns)


def dot(a, b):
    """One dot product, a . b, by the same kernel (a and b of the same length)."""
    return _kernel(len(a))((a,), (b,))[0]


def rows(flat, start, n_rows, n_cols):
    """The rows of the (n_rows, n_cols) matrix stored row by row in `flat` from `start`."""
    return [flat[i : i + n_cols] for i in range(start, start + n_rows * n_cols, n_cols)]


def columns(flat, start, n_rows, n_cols):
    """The columns of the same matrix: every n_cols-th number, a strided slice each."""
    end = start + n_rows * n_cols
    return [flat[j:end:n_cols] for j in range(start, start + n_cols)]


# ---------------------------------------------------------------------- generating the code

_kernels = {}  # length -> its generated dot_products


def _kernel(n):
    kernel = _kernels.get(n)
    if kernel is None:
        kernel = _kernels[n] = _generate(n)
    return kernel


def _generate(n):
    if n == 0:  # empty sums: 0.0 each
        return lambda rows, columns: [0.0] * (len(rows) * len(columns))
    if n > LONGEST:
        return lambda rows, columns: [sum(map(mul, r, c)) for r in rows for c in columns]
    a = "".join(f"a{i}, " for i in range(n))  # "a0, a1, a2, " (the comma makes n = 1 work)
    b = "".join(f"b{i}, " for i in range(n))
    terms = " + ".join(f"a{i}*b{i}" for i in range(n))
    source = (
        f"def dot_products(rows, columns):\n    return [{terms} for {a}in rows for {b}in columns]\n"
    )
    namespace = {}
    exec(compile(source, f"<dot products of length {n}>", "exec"), namespace)
    return namespace["dot_products"]
