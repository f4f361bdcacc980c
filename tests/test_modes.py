"""Specification of the switches `no_grad()`, `scope()` and `detect_anomaly()`: each holds for
the thread that entered it (as in PyTorch), and the blocks may be nested, reused (one object
entered twice) and ended in any order without leaving a switch stuck."""

import gc
import math
import threading
import tracemalloc

import pytest

from tinygrad_attn import Tensor, Value, detect_anomaly, no_grad, scope


def records_a_graph():
    return (Tensor([1.0], requires_grad=True) * 2).requires_grad


def checks_tensors():
    try:
        Tensor([-1.0]).log()
    except RuntimeError:
        return True
    return False


def checks_values():
    try:
        Value(-1.0).log()
    except RuntimeError:
        return True
    return False


def scope_labels():
    return [label for _, label in (Tensor([1.0], requires_grad=True) * 2).scope]


def while_another_thread_is_inside(block, look):
    """Run `look()` here while another thread sits inside `block`; returns what it saw
    (and what the other thread saw from inside, to be sure it was inside)."""
    inside, done, seen = threading.Event(), threading.Event(), {}

    def other():
        with block:
            seen["other"] = look()
            inside.set()
            done.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    try:
        seen["here"] = look()
    finally:
        done.set()
        thread.join(10)
    return seen


# ---------------------------------------------------------------------- one thread per switch


def test_no_grad_in_one_thread_does_not_stop_another_threads_graph():
    seen = while_another_thread_is_inside(no_grad(), records_a_graph)
    assert seen == {"other": False, "here": True}


def test_detect_anomaly_in_one_thread_checks_only_that_thread():
    seen = while_another_thread_is_inside(detect_anomaly(), checks_tensors)
    assert seen == {"other": True, "here": False}
    seen = while_another_thread_is_inside(detect_anomaly(), checks_values)
    assert seen == {"other": True, "here": False}


def test_a_scope_in_one_thread_does_not_label_another_threads_ops():
    seen = while_another_thread_is_inside(scope("other thread"), scope_labels)
    assert seen == {"other": ["other thread"], "here": []}


def test_a_new_thread_starts_with_the_defaults_even_inside_a_block():
    seen = {}

    def look():
        seen["graph"], seen["checks"], seen["labels"] = (
            records_a_graph(),
            checks_tensors() or checks_values(),
            scope_labels(),
        )

    with no_grad(), detect_anomaly(), scope("main"):
        thread = threading.Thread(target=look)
        thread.start()
        thread.join(10)
    assert seen == {"graph": True, "checks": False, "labels": []}


def test_many_threads_training_at_once_each_get_their_own_mode():
    errors = []

    def train(evaluate):
        try:
            w = Tensor([1.0, 2.0], requires_grad=True)
            for _ in range(200):
                if evaluate:
                    with no_grad():
                        assert not (w * w).requires_grad
                else:
                    (w * w).sum().backward()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=train, args=(k % 2 == 0,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []


# ---------------------------------------------------------------------- nesting, reuse, order


def test_blocks_ended_out_of_order_leave_grad_mode_on():
    a, b = no_grad(), no_grad()
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)
    assert not records_a_graph()  # b is still open
    b.__exit__(None, None, None)
    assert records_a_graph()


def test_one_no_grad_object_entered_twice_is_undone_twice():
    block = no_grad()
    with block:
        with block:
            assert not records_a_graph()
        assert not records_a_graph()
    assert records_a_graph()
    with block:  # and it can be used again
        assert not records_a_graph()
    assert records_a_graph()


def test_one_detect_anomaly_object_reused_and_nested_keeps_checking_until_the_last_exit():
    block = detect_anomaly()
    with block:
        with block:
            assert checks_tensors() and checks_values()
        assert checks_tensors() and checks_values()
    assert not checks_tensors() and not checks_values()


def test_anomaly_blocks_ended_out_of_order_switch_the_checks_off_at_the_last_exit():
    a, b = detect_anomaly(), detect_anomaly()
    a.__enter__()
    b.__enter__()
    a.__exit__(None, None, None)
    assert checks_tensors() and checks_values()
    b.__exit__(None, None, None)
    assert not checks_tensors() and not checks_values()


def test_scopes_reused_and_ended_out_of_order_keep_the_others_labels():
    outer, inner = scope("outer"), scope("inner")
    with outer:
        with outer:
            assert scope_labels() == ["outer", "outer"]
        assert scope_labels() == ["outer"]
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)
    assert scope_labels() == ["inner"]
    inner.__exit__(None, None, None)
    assert scope_labels() == []


@pytest.mark.parametrize("block", [no_grad(), detect_anomaly(), scope("s")], ids=type)
def test_leaving_a_block_that_was_not_entered_is_an_error(block):
    with pytest.raises(RuntimeError, match="was not entered in this thread"):
        block.__exit__(None, None, None)
    assert records_a_graph() and not checks_tensors() and scope_labels() == []


def test_a_block_entered_in_one_thread_cannot_be_left_from_another():
    block = no_grad()
    block.__enter__()
    failures = []

    def leave():
        try:
            block.__exit__(None, None, None)
        except RuntimeError as error:
            failures.append(error)

    thread = threading.Thread(target=leave)
    thread.start()
    thread.join(10)
    assert len(failures) == 1 and not records_a_graph()
    block.__exit__(None, None, None)
    assert records_a_graph()


# ---------------------------------------------------------------------- memory


def test_values_made_inside_detect_anomaly_are_freed_when_dropped():
    def loop(steps):
        x = Value(0.5)
        for _ in range(steps):
            y = (x * x + 1.0).tanh()  # four Values made and dropped every step
            y.backward()

    with detect_anomaly():
        loop(100)  # warm up
        gc.collect()
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        loop(20_000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
        tracemalloc.stop()
    assert grown < 200_000, f"{grown} bytes kept after 80,000 Values were dropped"


def test_tensors_made_inside_detect_anomaly_are_freed_when_dropped():
    w = Tensor([0.5, 1.5], requires_grad=True)
    with detect_anomaly():
        (w * w).sum().backward()
        gc.collect()
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(2_000):
            (w * w + 1.0).tanh().sum().backward()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
        tracemalloc.stop()
    assert grown < 100_000 and math.isfinite(w.grad.data[0])
