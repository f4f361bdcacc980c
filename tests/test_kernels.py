"""Specification of the generated dot-product kernels: the same numbers as the plain loop."""

import math
from operator import mul

from hypothesis import given
from hypothesis import strategies as st

from tinygrad_attn import Tensor, kernels
from tinygrad_attn.kernels import columns, dot, dot_products, rows

numbers = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


def plain(rows, cols):
    """Every row . every column, as sum(map(mul, ...)): the loop the kernels replace."""
    return [sum(map(mul, r, c)) for r in rows for c in cols]


@given(st.data(), st.integers(1, 40), st.integers(0, 4), st.integers(0, 4))
def test_written_out_dot_products_equal_the_plain_loop_number_for_number(data, n, r, c):
    def matrix(count, label):
        vectors = st.lists(numbers, min_size=n, max_size=n)
        return data.draw(st.lists(vectors, min_size=count, max_size=count), label=label)

    left, right = matrix(r, "rows"), matrix(c, "columns")
    assert dot_products(left, right) == plain(left, right)  # same order of additions


def test_every_length_up_to_past_the_longest_written_out_agrees():
    for n in [0, 1, 2, 3, 17, 64, kernels.LONGEST, kernels.LONGEST + 1, 300]:
        left = [[math.sin(i * 7 + j) for j in range(n)] for i in range(3)]
        right = [[math.cos(i * 5 - j) for j in range(n)] for i in range(2)]
        assert dot_products(left, right) == plain(left, right), n


def test_an_empty_dot_product_is_zero():
    assert dot_products([[], []], [[]]) == [0.0, 0.0]
    assert dot([], []) == 0.0


def test_ieee_numbers_pass_through_as_in_the_plain_loop():
    left = [[math.inf, 1.0], [math.nan, 2.0], [1e308, 1e308]]
    right = [[0.0, 1.0], [1.0, 1.0], [10.0, 10.0]]
    got, want = dot_products(left, right), plain(left, right)
    assert [repr(x) for x in got] == [repr(x) for x in want]  # nan, inf where the loop has them


def test_rows_and_columns_read_a_matrix_stored_row_by_row_from_any_start():
    flat = [9.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]  # a (2, 3) matrix starting at position 1
    assert rows(flat, 1, 2, 3) == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert columns(flat, 1, 2, 3) == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]


@given(st.data(), st.integers(1, 5), st.integers(1, 5), st.integers(1, 5))
def test_matmul_and_its_gradients_equal_the_formulas_done_with_the_plain_loop(data, n, k, m):
    def draw(count, label):
        return data.draw(st.lists(numbers, min_size=count, max_size=count), label=label)

    A, B, G = draw(n * k, "A"), draw(k * m, "B"), draw(n * m, "dC")
    a = Tensor(Tensor(A).reshape(n, k), requires_grad=True)
    b = Tensor(Tensor(B).reshape(k, m), requires_grad=True)
    (a @ b).backward(Tensor(G).reshape(n, m))
    a_rows, b_cols = rows(A, 0, n, k), columns(B, 0, k, m)
    g_rows, g_cols = rows(G, 0, n, m), columns(G, 0, n, m)
    assert (a @ b).data == plain(a_rows, b_cols)  # C = A B
    assert a.grad.data == plain(g_rows, rows(B, 0, k, m))  # dA = dC B^T
    assert b.grad.data == plain(columns(A, 0, n, k), g_cols)  # dB = A^T dC
