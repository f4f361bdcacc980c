"""Where did the first nan come from? The checks of `detect_anomaly()`, for both engines.

`with tinygrad_attn.detect_anomaly():` (the block is in autograd.py, with the other
switches) turns them on for the thread that runs it:

* every op remembers the file and line that made it (its `_site`, which goes when the node
  goes), and an op whose result holds nan stops the program there;
* `backward()` stops at the first op, from the output back, whose backward pass turns a
  gradient into nan (0 * inf), and leaves every `.grad` as it was.

Outside the block the only cost is one test per op of `watching`, the number of threads
inside a detect_anomaly() block: 0 nearly always.
"""

import math
import sys
import threading

__all__ = ["watching", "here", "switch", "user_site", "check_value", "check_value_backward"]


class _ThisThread(threading.local):
    checking = False  # this thread is inside detect_anomaly()


_thread = _ThisThread()
watching = 0  # how many threads are inside detect_anomaly() now
_lock = threading.Lock()
_PACKAGE_DIR = __file__.replace("\\", "/").rsplit("/", 1)[0] + "/"


def here():
    """Are the checks on in this thread?"""
    return _thread.checking


def switch(on):
    """Turn the checks on or off for the ops made in this thread."""
    global watching
    on = bool(on)
    with _lock:
        if _thread.checking != on:
            _thread.checking = on
            watching += 1 if on else -1


def user_site():
    """(file, line) of the first caller outside this package: where the user made the op."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.replace("\\", "/").startswith(
        _PACKAGE_DIR
    ):
        frame = frame.f_back
    return None if frame is None else (frame.f_code.co_filename, frame.f_lineno)


def has_nan(numbers):
    return any(x != x for x in numbers)


# ---------------------------------------------------------------------- Values


def check_value(node):
    """A Value op just made inside detect_anomaly(): note where, stop at a nan."""
    node._site = user_site()
    if node.data != node.data:
        raise value_error(node, "forward")


def check_value_backward(topo, held):
    """After Value.backward()'s walk: find the op nearest the output whose local derivative
    turned a gradient into nan, put every .grad back as it was before the call (0.0, or the
    value kept in `held`) and name that op."""
    for v in reversed(topo):
        if v._a is None or math.isnan(v.grad):
            continue
        if math.isnan(v._da * v.grad) or (v._b is not None and math.isnan(v._db * v.grad)):
            for node in topo:
                node.grad = 0.0
            for node, grad in held:
                node.grad = grad
            raise value_error(v, "backward")


def value_error(node, phase):
    inputs = ", ".join(f"{child.data:.6g}" for child in node.children)
    nan_inputs = phase == "forward" and any(child.data != child.data for child in node.children)
    return RuntimeError(
        f"detect_anomaly: {node.op!r} produced nan in its {phase} pass; input values {inputs}; "
        + advice(getattr(node, "_site", None), phase, nan_inputs)
    )


# ---------------------------------------------------------------------- Tensors


def tensor_error(node, phase):
    inputs = ", ".join(str(c.shape) for c in node.children) or "none"
    nan_inputs = phase == "forward" and any(has_nan(c.data) for c in node.children)
    return RuntimeError(
        f"detect_anomaly: {node.op!r} produced nan in its {phase} pass; input shapes {inputs}; "
        + advice(getattr(node, "_site", None), phase, nan_inputs)
    )


def advice(site, phase, nan_inputs):
    """The end of every detect_anomaly() message: where the op was made, and what usually
    causes the nan."""
    where = f"{site[0]}:{site[1]}" if site else "an unknown place (made outside detect_anomaly)"
    if nan_inputs:
        cause = "its inputs already held nan: look where they were made"
    elif phase == "forward":
        cause = "log, sqrt or ** of a negative number, 0/0, 0 * inf and inf - inf give nan"
    else:
        cause = (
            "a gradient met an infinite local derivative (0 * inf = nan), e.g. from sqrt, log, "
            "/ or ** at 0 at or after this op: keep their inputs away from 0, e.g. "
            "sqrt(x + 1e-12) instead of sqrt(x)"
        )
    return f"the op was created at {where}. Cause: {cause}"
