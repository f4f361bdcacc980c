"""Sampling from a trained model: it writes one token at a time.

A language model gives, at its last position, a score (a logit) for every token of the
vocabulary; softmax turns the scores into probabilities of what comes next. To write, take
one token from those probabilities, append it, and ask again, until the model says the
sequence is over (the boundary ".") or the context is full:

    probabilities = softmax(logits / temperature)      # temperature 1: as the model says
    keep only the top_k most likely, share the rest     # top_k: never a very unlikely token
    next = a random draw from them                      # seeded: the same seed, the same text

The temperature bends the probabilities: below 1 the likely tokens get likelier (0 takes
the most likely token every time), above 1 the unlikely ones get a better chance. The
padding token is never drawn: it only fills batches and means nothing.
"""

import math
import random
from dataclasses import dataclass, field

from .autograd import no_grad

__all__ = ["next_token_probabilities", "Step", "Sample", "sample", "check_options"]

SHOWN = 5  # how many of the likeliest tokens a Step keeps for tables and charts


@dataclass
class Step:
    """One token written: what it followed, the likeliest candidates, and the one drawn."""

    context: list  # the tokens so far (ids), starting with the boundary
    top: list  # [(token id, probability)] of the SHOWN likeliest, most likely first
    chosen: int  # the token drawn
    probability: float  # its probability


@dataclass
class Sample:
    """A written sequence: the prompt's tokens, the ones written after it, and each step."""

    prompt: list  # ids, without the boundary
    written: list  # ids written after the prompt (the final boundary not included)
    steps: list = field(default_factory=list)
    finished: bool = True  # False when the context filled up before the model said "."


def check_options(temperature=1.0, top_k=None):
    """ValueError for a temperature that is negative or not a number, or a top_k below 1."""
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(f"temperature must be a number, got {temperature!r}")
    if not 0.0 <= temperature < math.inf:
        raise ValueError(
            f"temperature must be a finite number >= 0 (0 = always the most likely token), got "
            f"{temperature}"
        )
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a whole number >= 1, got {top_k!r}")


def next_token_probabilities(model, task, tokens, temperature=1.0, top_k=None):
    """The probability of every token coming after `tokens` (ids, starting with the
    boundary), as a list indexed by token id; the padding token always gets 0.

    >>> from tinygrad_attn.train import Config, make_model
    >>> from tinygrad_attn.tasks import get_task
    >>> names = get_task("names")
    >>> p = next_token_probabilities(make_model(Config(task="names")), names, [1])
    >>> round(sum(p), 12), p[names.pad_id]
    (1.0, 0.0)
    """
    check_options(temperature, top_k)
    with no_grad():
        logits = model([list(tokens)]).tolist()[0][-1]  # the last position's scores
    candidates = [i for i in range(len(logits)) if i != task.pad_id]
    if top_k is not None:  # the top_k likeliest (ties: the smaller id first)
        candidates = sorted(candidates, key=lambda i: (-logits[i], i))[:top_k]
    probs = [0.0] * len(logits)
    if temperature == 0:  # always the most likely token
        probs[max(candidates, key=lambda i: (logits[i], -i))] = 1.0
        return probs
    top = max(logits[i] for i in candidates)  # subtracted: exp never overflows
    weights = {i: math.exp((logits[i] - top) / temperature) for i in candidates}
    total = sum(weights.values())
    for i, w in weights.items():
        probs[i] = w / total
    return probs


def sample(model, task, prompt=(), num=1, temperature=1.0, top_k=None, seed=0):
    """Write `num` sequences after `prompt` (a list of words or letters). Returns a list of
    `Sample`; the same seed gives the same samples.

    >>> from tinygrad_attn.train import Config, make_model
    >>> from tinygrad_attn.tasks import get_task
    >>> names = get_task("names")
    >>> model = make_model(Config(task="names"))
    >>> a = sample(model, names, ["e"], num=2, seed=1)
    >>> b = sample(model, names, ["e"], num=2, seed=1)
    >>> [s.written for s in a] == [s.written for s in b]
    True
    """
    check_options(temperature, top_k)
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise ValueError(f"num must be a whole number >= 1, got {num!r}")
    prompt_ids = task.encode(list(prompt))  # ValueError naming the nearest words
    context = model.max_len
    if 1 + len(prompt_ids) > context:
        raise ValueError(
            f"the prompt has {len(prompt_ids)} {task.tokens_are}; with the boundary that starts "
            f"every sequence the model reads at most {context - 1}"
        )
    rng = random.Random(seed)
    samples = []
    for _ in range(num):
        tokens = [task.boundary_id, *prompt_ids]
        written, steps, finished = [], [], False
        while True:
            probs = next_token_probabilities(model, task, tokens, temperature, top_k)
            chosen = _draw(probs, rng)
            shown = sorted(range(len(probs)), key=lambda i: (-probs[i], i))[:SHOWN]
            top = [(i, probs[i]) for i in shown if probs[i] > 0.0]
            steps.append(Step(list(tokens), top, chosen, probs[chosen]))
            if chosen == task.boundary_id:
                finished = True
                break
            written.append(chosen)
            tokens.append(chosen)
            if len(tokens) == context:  # the model reads no more: stop here
                break
        samples.append(Sample(prompt_ids, written, steps, finished))
    return samples


def _draw(probs, rng):
    """A token id drawn with the given probabilities (one uniform number from `rng`)."""
    r = rng.random()
    total = 0.0
    last = 0
    for i, p in enumerate(probs):
        if p > 0.0:
            total += p
            last = i
            if r < total:
                return i
    return last  # r landed in the last sliver left by rounding
