"""`names`: a character-level language model that invents first names.

The sequences are real first names, letter by letter, framed by the boundary "." (see
language.py): the model learns which letters start a name, which follow which, and when a
name is finished. Sampling from it, letter by letter, writes new names that sound like
names.

The names are the 1990 U.S. Census first-name lists, shipped in `tinygrad_attn/data/`
(public domain; see the README there): 5,163 different names once lower-cased. Each run
holds out a seeded random part of them; the model never trains on those, and its loss on
them says how well it learned the *language of names* rather than the list.

How good is a loss? `bigram_loss` is the classic baseline: count, on the training names,
how often each letter follows each other letter, and predict every letter from the one
before it alone. A model that beats it has learned something a letter pair cannot say.
"""

import math
import os
from functools import lru_cache

from .language import LanguageTask, Split

__all__ = ["Names", "load_names", "bigram_loss", "DATA_FILES"]

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
DATA_FILES = ("dist.female.first", "dist.male.first")
LETTERS = "abcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=1)
def load_names():
    """Every first name of the shipped lists, lower-cased, each once, sorted.

    >>> names = load_names()
    >>> len(names), names[:3]
    (5163, ('aaron', 'abbey', 'abbie'))
    """
    names = set()
    for filename in DATA_FILES:
        with open(os.path.join(DATA, filename), encoding="ascii") as f:
            for line in f:
                if line.strip():
                    names.add(line.split()[0].lower())  # NAME  frequency  cumulative  rank
    return tuple(sorted(names))


class Names(LanguageTask):
    """First names, letter by letter.

    >>> names = Names()
    >>> ex = names.example_of(list("emma"))
    >>> names.words(ex.tokens), names.words(ex.next)
    (['.', 'e', 'm', 'm', 'a'], ['e', 'm', 'm', 'a', '.'])
    """

    name = "names"
    summary = "first names (1990 U.S. Census), letter by letter: invent new ones"
    hint = "no one right place to look: the letters so far"
    tokens_are = "letters"
    defaults = {  # the microgpt configuration: d_model 16, 4 heads, 1 layer, context 16
        "steps": 300,
        "batch_size": 32,
        "lr": 0.01,
        "lr_decay": True,
        "d_model": 16,
        "num_heads": 4,
        "num_layers": 1,
        "d_hidden": 64,
        "embedding_std": 0.1,
        "heldout_size": 500,
    }

    def __init__(self):
        super().__init__(list(LETTERS), seq_len=16)

    def split(self, rng, heldout_size):
        """`heldout_size` names drawn at random are held out; training draws from the rest."""
        names = load_names()
        if heldout_size >= len(names):
            raise ValueError(
                f"heldout_size {heldout_size} leaves no names to train on: there are "
                f"{len(names)}; ask for fewer"
            )
        shuffled = list(names)
        rng.shuffle(shuffled)
        heldout = [tuple(name) for name in shuffled[:heldout_size]]
        training = [tuple(name) for name in shuffled[heldout_size:]]
        return Split(heldout=heldout, draw=lambda r: r.choice(training), training=training)

    def baseline_loss(self, data):
        """The character-bigram model's loss on `data`'s held-out names (see bigram_loss)."""
        return bigram_loss(data.training, [ex.next for ex in data.heldout], self)


def bigram_loss(training, heldout_next, task, smoothing=1.0):
    """Mean nats per token of the character-bigram model on held-out sequences.

    The bigram model predicts each token from the one before it alone:
    p(b | a) = (count(a b) + smoothing) / (count(a) + smoothing * outcomes), counted on the
    `training` sequences (tuples of letters) with the same boundary tokens the transformer
    sees (". e m m a ."), and with add-one (Laplace) smoothing by default, so a pair never
    seen in training is unlikely, not impossible. `outcomes` is the letters plus the
    boundary: 27. `heldout_next` holds each held-out sequence's targets (Example.next): the
    same tokens the transformer's held-out loss is measured on.

    >>> names = Names()
    >>> loss = bigram_loss([tuple("ab")], [names.example_of(list("ab")).next], names)
    >>> round(loss, 4)          # each of ".a", "ab", "b." seen once: p = 2 / 28 each
    2.6391
    """
    outcomes = len(task.vocab) - 1  # every token but the padding
    counts = {}
    for words in training:
        ids = [task.boundary_id, *task.encode(words), task.boundary_id]
        for a, b in zip(ids, ids[1:]):
            row = counts.setdefault(a, {})
            row[b] = row.get(b, 0) + 1
    total, n = 0.0, 0
    for following in heldout_next:
        previous = [task.boundary_id, *following[:-1]]
        for a, b in zip(previous, following):
            row = counts.get(a, {})
            p = (row.get(b, 0) + smoothing) / (sum(row.values()) + smoothing * outcomes)
            total -= math.log(p)
            n += 1
    return total / n
