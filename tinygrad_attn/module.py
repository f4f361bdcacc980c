"""`Module`: the base of every layer.

A module finds its parameters (leaf tensors with requires_grad) and sub-modules by looking at
its attributes (and into the lists, tuples and dicts they hold), names them with dotted
paths ("blocks.0.attn.w_q.weight"), and labels each call, so graph pictures draw every
module as a box. Its parameters can be saved to and loaded from JSON (never pickle: loading
a file runs no code), with every name and shape checked before anything changes.
"""

import json
import math

from .autograd import scope, write_in_place
from .files import read_limited, write_atomic
from .tensor import Tensor

__all__ = ["Module"]

_FORMAT = "tinygrad_attn weights"


class Module:
    """The base of every layer: finds parameters, names them, saves and loads them.

    >>> class Scale(Module):
    ...     def __init__(self):
    ...         self.w = Tensor([2.0], requires_grad=True)
    ...     def forward(self, x):
    ...         return x * self.w
    >>> m = Scale()
    >>> [name for name, _ in m.named_parameters()]
    ['w']
    >>> m(Tensor([3.0])).tolist()
    [6.0]
    """

    def __setattr__(self, name, value):
        if isinstance(value, (set, frozenset)) and any(isinstance(v, _HOLDERS) for v in value):
            raise TypeError(
                f"{type(self).__name__}.{name}: a set has no order, so the parameters in it "
                f"could not be named, trained in a fixed order or saved; use a list or a dict"
            )
        if not isinstance(value, _CONTAINERS) or isinstance(value, Tensor) and value.op:
            object.__setattr__(self, name, value)  # numbers, None, strings; results of ops
            return
        _changes[0] += 1  # a parameter may have come or gone: zero_grad lists them again
        # Name what is being attached, so pictures and messages can say "w_q.weight".
        path = self.__dict__.get("_path", "")
        _name(value, f"{path}.{name}" if path else name, set())
        object.__setattr__(self, name, value)

    def _set_path(self, path):
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_box", scope(path))  # the box its calls are drawn in
        for name, value in vars(self).items():
            if not name.startswith("_"):
                _name(value, f"{path}.{name}", set())

    def __call__(self, *args, **kwargs):
        # Every call is a labelled box in graph pictures, named by the module's path
        # ("blocks.0.attn.w_q"), or by its class for a module that is in no other.
        box = self.__dict__.get("_box")
        if box is None:
            box = scope(type(self).__name__)
            object.__setattr__(self, "_box", box)
        with box:
            return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # ------------------------------------------------------------------ parameters

    def named_parameters(self):
        """(dotted name, tensor) for every parameter, in the order they were attached."""
        return _collect_parameters(self, with_names=True)

    def parameters(self):
        """Every parameter (tensors with requires_grad=True), for an optimizer."""
        return [p for _, p in _collect_parameters(self, with_names=False)]

    def zero_grad(self):
        """Forget every parameter's gradient."""
        for t in self._leaf_tensors():
            if t.requires_grad:  # a parameter: a leaf tensor that requires grad
                t.zero_grad()

    def _leaf_tensors(self):
        """Every leaf tensor in this module (its parameters among them), found once and kept
        until an attribute of any module holding tensors is set again. Lists and dicts can
        change without setting an attribute, so a module with one inside is searched anew
        each time."""
        kept = self.__dict__.get("_leaves")
        if kept is not None and kept[0] == _changes[0]:
            return kept[1]
        leaves, plain = _collect_leaves(self)
        if plain:
            object.__setattr__(self, "_leaves", (_changes[0], leaves))
        return leaves

    # ------------------------------------------------------------------ training or evaluating

    training = True  # every module starts in training mode, as in PyTorch

    def train(self, mode=True):
        """Put this module and every module inside it in training mode (`mode=False`: eval
        mode). Only layers such as `Dropout` act differently; returns the module.

        >>> from tinygrad_attn import nn
        >>> model = nn.TransformerBlock(4, 2, rng=0)
        >>> model.eval().training, model.attn.training
        (False, False)
        >>> model.train().attn.training
        True
        """
        if mode not in (True, False):
            raise TypeError(f"train: mode must be True or False, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode: `Dropout` passes numbers through. The same as `train(False)`."""
        return self.train(False)

    def modules(self):
        """This module and every module inside it (in lists too), each once, outer first."""
        return [module for _, module in self.named_modules()]

    def named_modules(self):
        """(dotted name, module) for this module ("") and every module inside it (in lists,
        tuples and dicts too), each once, outer first, in the order they were attached: the
        names `named_parameters` uses."""
        found, stack, seen = [], [("", self)], set()
        while stack:
            name, value = stack.pop()
            if id(value) in seen:
                continue
            seen.add(id(value))
            if isinstance(value, Module):
                found.append((name, value))
            inner = [
                (f"{name}.{key}" if name else str(key), item)
                for key, item in _items(value)
                if isinstance(item, (Module, list, tuple, dict))
            ]
            stack += reversed(inner)  # visited in the order they were attached
        return found

    # ------------------------------------------------------------------ saving and loading

    def state_dict(self):
        """{dotted name: numbers as nested lists}: plain data, ready for JSON."""
        return {name: p.tolist() for name, p in self.named_parameters()}

    def load_state_dict(self, state):
        """Copy numbers into the parameters. Names and shapes must match exactly; otherwise a
        ValueError lists every difference and nothing is changed."""
        if not isinstance(state, dict):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state).__name__}")
        params = dict(self.named_parameters())
        problems, new_data = [], {}
        missing = [name for name in params if name not in state]
        extra = [name for name in state if name not in params]
        if missing:
            problems.append("missing: " + ", ".join(missing))
        if extra:
            problems.append("unexpected: " + ", ".join(map(str, extra)))
        for name, p in params.items():
            if name not in state:
                continue
            try:
                t = Tensor(state[name])
            except (TypeError, ValueError) as error:
                problems.append(f"{name}: not numbers ({error})")
                continue
            if t.shape != p.shape:
                problems.append(f"{name}: shape {t.shape} in the state, {p.shape} in the model")
            else:
                new_data[name] = t.data
        if problems:
            raise ValueError(
                f"load_state_dict: the state does not fit {type(self).__name__}; "
                + "; ".join(problems)
            )
        for name, p in params.items():  # everything checked: now change the parameters
            write_in_place(p, new_data[name])  # counted: older graphs refuse backward()

    def save(self, path, info=None):
        """Write the parameters to a JSON file (never pickle: loading runs no code) and
        return `path`. The file is written whole or not at all (a new temporary file in the
        same folder replaces it in one step), and it is always standard JSON: weights that
        are nan or inf are refused (ValueError), since JSON has no such numbers. `info`, a
        dict of JSON values, is stored beside the weights (what the model was trained on:
        see train.save_trained).

        >>> import os, tempfile
        >>> from tinygrad_attn import nn
        >>> path = os.path.join(tempfile.mkdtemp(), "w.json")
        >>> layer = nn.Linear(2, 1, rng=0)
        >>> layer.save(path) == path
        True
        >>> nn.Linear(2, 1, rng=1).load(path).weight.tolist() == layer.weight.tolist()
        True
        """
        broken = [
            name for name, p in self.named_parameters() if not all(map(math.isfinite, p.data))
        ]
        if broken:
            raise ValueError(
                f"save: {', '.join(broken)} hold nan or inf, which standard JSON has no numbers "
                f"for; nothing was written (detect_anomaly() finds where a nan came from)"
            )
        payload = {"format": _FORMAT, "model": type(self).__name__, "state": self.state_dict()}
        if info is not None:
            payload["info"] = info
        text = json.dumps(payload, allow_nan=False)
        write_atomic(path, text.encode("utf-8"), "save")
        return path

    def load(self, path, allow_nan=False):
        """Read parameters written by `save`; checks it is ours and that every name and shape
        fits (ValueError otherwise, and the module is unchanged). It reads only a regular
        file no larger than this model's weights could be; NaN and Infinity (not standard
        JSON) are refused unless `allow_nan=True`."""
        count = sum(len(p.data) for _, p in self.named_parameters())
        names = sum(len(name) for name, _ in self.named_parameters())
        most = 65_536 + 64 * count + 4 * names  # far more than save() writes for them
        expected = f"a {type(self).__name__}'s {count:,} numbers"
        raw = read_limited(path, most, "load", expected)
        try:
            payload = json.loads(raw.decode("utf-8"), parse_constant=_constant(path, allow_nan))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(
                f"{path} is not a tinygrad_attn weights file (not JSON: {error})"
            ) from None
        except RecursionError:
            raise ValueError(
                f"{path} is not a tinygrad_attn weights file (its JSON is nested too deeply)"
            ) from None
        ours = isinstance(payload, dict) and payload.get("format") == _FORMAT
        if not ours or not isinstance(payload.get("state"), dict):
            raise ValueError(
                f"{path} is not a tinygrad_attn weights file (no '{_FORMAT}' marker and state); "
                f"write one with module.save(path)"
            )
        saved, mine = payload.get("model"), type(self).__name__
        if saved != mine:
            raise ValueError(
                f"{path} holds a {saved}'s weights, not a {mine}'s; load it into a {saved}"
            )
        self.load_state_dict(payload["state"])
        return self


_HOLDERS = (Tensor, Module)
_changes = [0]  # how many times a module got an attribute that may hold parameters
_CONTAINERS = (Tensor, Module, list, tuple, dict)  # where parameters can be found


def _is_parameter(value):
    """A parameter is a leaf tensor that requires grad (a result such as `.attention` is not)."""
    return isinstance(value, Tensor) and value.requires_grad and not value.op


def _items(value):
    """(key, item) of a module's public attributes, a list's or tuple's items, a dict's."""
    if isinstance(value, Module):
        return [(k, v) for k, v in vars(value).items() if not k.startswith("_")]
    return value.items() if isinstance(value, dict) else enumerate(value)


def _name(value, path, seen):
    """Label the parameters in `value` and give its modules their paths."""
    if _is_parameter(value):
        value.label = path
    elif isinstance(value, Module):
        value._set_path(path)
    elif isinstance(value, (list, tuple, dict)) and id(value) not in seen:
        seen.add(id(value))  # (a list that holds itself is named once)
        for key, item in _items(value):
            _name(item, f"{path}.{key}", seen)


def _collect_parameters(root, with_names):
    """(dotted name, parameter) for every parameter in the module `root` (found in its
    attributes and in the lists, tuples and dicts they hold), in the order they were
    attached; a shared one is listed once. (Names are None when not asked for. A stack of
    our own, not recursion: containers of any depth work.)"""
    out, seen, stack = [], set(), [("", root)]
    while stack:
        name, value = stack.pop()
        if id(value) in seen:
            continue
        if isinstance(value, Tensor):
            if value.requires_grad and not value.op:  # a parameter (see _is_parameter)
                seen.add(id(value))
                out.append((name, value))
            continue
        seen.add(id(value))
        inner = [(key, item) for key, item in _items(value) if isinstance(item, _CONTAINERS)]
        for key, item in reversed(inner):  # popped in the order they were attached
            path = (f"{name}.{key}" if name else str(key)) if with_names else None
            stack.append((path, item))
    return out


def _collect_leaves(root):
    """(every leaf tensor in `root`, whether `root` holds no list or dict), each once."""
    leaves, seen, stack, plain = [], set(), [root], True
    while stack:
        value = stack.pop()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, Tensor):
            if not value.op:
                leaves.append(value)
            continue
        plain = plain and not isinstance(value, (list, dict))
        stack += [item for _, item in _items(value) if isinstance(item, _CONTAINERS)]
    return leaves, plain


def _constant(path, allow_nan):
    """json's hook for NaN, Infinity and -Infinity: refused unless allowed."""

    def number(name):
        if not allow_nan:
            raise ValueError(
                f"{path} holds {name}, which is not a number in standard JSON (a model that "
                f"diverged?); load(path, allow_nan=True) reads it anyway"
            )
        return float(name)

    return number
