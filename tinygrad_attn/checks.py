"""A catalogue of gradient checks: every op of the engine, each checked at random points.

`tinygrad-attn gradcheck`, `demos/02_gradient_checking.py` and the tests all run this list,
so a derivative added to the engine is proved in all three places at once.

>>> results = run_checks(only="value")
>>> all(result.ok for _, result in results)
True
"""

import random

from .gradcheck import gradcheck
from .value import Value

__all__ = ["value_checks", "all_checks", "run_checks"]


def value_checks(rng):
    """(name, fn, inputs) for every operation of the scalar engine."""

    def leaf(low=-2.0, high=2.0, label="x"):
        return Value(rng.uniform(low, high), label=label)

    def two():
        return [leaf(label="a"), leaf(label="b")]

    return [
        ("Value a + b", lambda a, b: a + b, two()),
        ("Value a - b", lambda a, b: a - b, two()),
        ("Value a * b", lambda a, b: a * b, two()),
        ("Value a / b", lambda a, b: a / b, [leaf(label="a"), leaf(0.5, 2.0, "b")]),
        ("Value -a", lambda a: -a, [leaf(label="a")]),
        ("Value a ** 3", lambda a: a**3, [leaf(label="a")]),
        ("Value a ** -0.5", lambda a: a**-0.5, [leaf(0.5, 2.0, "a")]),
        ("Value a ** b", lambda a, b: a**b, [leaf(0.5, 2.0, "a"), leaf(label="b")]),
        ("Value 2 ** a", lambda a: 2**a, [leaf(label="a")]),
        ("Value 1 - a / 3", lambda a: 1 - a / 3, [leaf(label="a")]),
        ("Value a.exp()", lambda a: a.exp(), [leaf(label="a")]),
        ("Value a.log()", lambda a: a.log(), [leaf(0.5, 3.0, "a")]),
        ("Value a.tanh()", lambda a: a.tanh(), [leaf(label="a")]),
        ("Value a.relu()", lambda a: a.relu(), [leaf(0.2, 2.0, "a")]),
        ("Value a.relu() (a < 0)", lambda a: a.relu(), [leaf(-2.0, -0.2, "a")]),
        ("Value a.sigmoid()", lambda a: a.sigmoid(), [leaf(label="a")]),
        ("Value a * a (reused)", lambda a: a * a, [leaf(label="a")]),
        (
            "Value neuron tanh(w.x + b)",
            _neuron,
            [leaf(label=n) for n in ("w1", "w2", "x1", "x2", "b")],
        ),
    ]


def _neuron(w1, w2, x1, x2, b):
    return (w1 * x1 + w2 * x2 + b).tanh()


def all_checks(seed=0):
    """Every check in the catalogue, with inputs drawn from a seeded generator."""
    rng = random.Random(seed)
    return value_checks(rng)


def run_checks(seed=0, only=None):
    """Run the catalogue; returns [(name, GradcheckResult)]. `only` keeps names starting
    with it, case-insensitively ("value", "tensor", "layer")."""
    results = []
    for name, fn, inputs in all_checks(seed):
        if only and not name.lower().startswith(only.lower()):
            continue
        results.append((name, gradcheck(fn, inputs)))
    return results
