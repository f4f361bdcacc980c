"""Next-token prediction: what a language task is, whatever its words are.

A language model reads a sequence one token at a time and, at every position, says what
comes next. The sequences here are sentences (story.py: words) and names (names.py:
letters). Each is framed by one boundary token, ".", that marks both its start and its end:

    tokens (the input)    .    I     play  with  a     cat   and   it    purrs
    next   (the targets)  I    play  with  a     cat   and   it    purrs .

The model sees `tokens` (causally: each position only itself and what came before) and the
loss counts its prediction of `next` at every position. The boundary at the start gives the
first word something to be predicted from; the one at the end teaches the model when to stop.

Some positions are *decided* by one earlier word: after "it" comes "purrs" because, five
words back, the animal was a "cat". Those positions are recorded, with the position of the
deciding word, in the Example's `positions`, `targets` and `keys`, so attention is scored
exactly as for the toy tasks (tasks.py).

Sequences have different lengths; a batch is padded to its longest sequence with the
padding token "_", which the model must never attend to and is never asked to predict
(train.py masks it).
"""

import difflib
import random
from dataclasses import dataclass

from .tasks import Example, Task
from .tensor import Tensor

__all__ = [
    "PAD",
    "BOUNDARY",
    "START",
    "START_NOTE",
    "labelled",
    "LanguageTask",
    "LanguageData",
    "Split",
    "pad_batch",
]

MAX_HELDOUT = 50_000  # held-out sequences: evaluating more would take minutes
PAD = "_"  # fills a short sequence up to the longest of its batch; never a target
BOUNDARY = "."  # the start and the end of every sequence
# What tables and pictures call the BOUNDARY a model reads before the first word: a lone "."
# as the label of a row says nothing to a reader (one at the end reads as a full stop).
START = "(start)"
START_NOTE = (
    f'"{START}" is the "." that the model reads before the first word: the mark of where '
    "a sentence starts (and ends)."
)


def labelled(words):
    """Words as tables and pictures label them: the BOUNDARY that starts them is START.

    >>> labelled([".", "I", "play", "."])
    ['(start)', 'I', 'play', '.']
    """
    return [START if k == 0 and w == BOUNDARY else w for k, w in enumerate(words)]


@dataclass
class Split:
    """How a task divides its sequences: the held-out ones (tuples of words) and a way to
    draw a training one, `draw(rng)`. `training` is the whole training list when there is
    one; `is_heldout(words)` is the rule when it is not a list; `unseen` says what was held
    out, for people (story: for each animal, the subject and the place it never meets)."""

    heldout: list
    draw: object
    training: list = None
    is_heldout: object = None
    unseen: dict = None


class LanguageTask(Task):
    """A task of predicting the next token. Subclasses give the words and `split`.

    Token 0 is the padding token and token 1 the boundary; the task's words follow.
    """

    tokens_are = "words"  # what a prompt is made of: "words" (split on spaces) or "letters"
    defaults = {}  # the Config values this task trains best with (train.py)

    def __init__(self, words, seq_len):
        self.vocab = (PAD, BOUNDARY, *words)
        self.seq_len = seq_len  # the longest input: the boundary + the longest sequence
        self.pad_id, self.boundary_id = 0, 1
        self._ids = {word: i for i, word in enumerate(self.vocab)}

    # ------------------------------------------------------------------ words and ids

    def split_text(self, text):
        """A prompt as a list of words (story) or letters (names)."""
        if self.tokens_are == "letters":
            return [ch for ch in text.lower() if not ch.isspace()]
        return text.split()

    def join(self, words):
        """Words back into text: "I play with a cat" or "emma"."""
        return ("" if self.tokens_are == "letters" else " ").join(words)

    def encode(self, words):
        """Words -> token ids (the boundary "." may stand between sentences; the padding may
        not). An unknown word: ValueError naming the nearest words of the vocabulary."""
        ids = []
        for word in words:
            if word not in self._ids or word == PAD:
                raise ValueError(
                    f"{word!r} is not in the {self.name} vocabulary; {self.nearest(word)}"
                )
            ids.append(self._ids[word])
        return ids

    def nearest(self, word):
        """A hint for an unknown word: the nearest words of the vocabulary."""
        known = list(self.vocab[2:])
        close = difflib.get_close_matches(word, known, n=3, cutoff=0.5)
        if not close:
            close = difflib.get_close_matches(word.lower(), known, n=3, cutoff=0.3)
        if close:
            return "nearest: " + ", ".join(close)
        return f"the {self.tokens_are} are: " + " ".join(known)

    def example_of(self, words):
        """The Example of one sequence: the boundary + its tokens as the input, the tokens +
        the boundary as the targets, and the decided positions with their keys.

        >>> from tinygrad_attn.tasks import get_task
        >>> story = get_task("story")
        >>> ex = story.example_of("I play with a cat and it purrs".split())
        >>> story.words(ex.tokens)
        ['.', 'I', 'play', 'with', 'a', 'cat', 'and', 'it', 'purrs']
        >>> story.words(ex.next)
        ['I', 'play', 'with', 'a', 'cat', 'and', 'it', 'purrs', '.']
        >>> ex.positions, ex.keys, story.words(ex.targets)   # at "it" (7) look at "cat" (5)
        ((7,), (5,), ['purrs'])
        """
        ids = self.encode(words)
        tokens = (self.boundary_id, *ids)
        following = (*ids, self.boundary_id)
        decided = self.decided(words)  # (index of the decided word, index of its key word)
        # word i is at input position i + 1 and is predicted at position i (from the word
        # before it): the decided word's position is its own index, the key's is index + 1
        positions = tuple(word for word, _ in decided)
        return Example(
            tokens=tokens,
            positions=positions,
            targets=tuple(following[p] for p in positions),
            keys=tuple(key + 1 for _, key in decided),
            next=following,
        )

    # ------------------------------------------------------------------ for subclasses

    def decided(self, words):
        """[(index of a word decided by one earlier word, index of that word), ...]."""
        return []

    def split(self, rng, heldout_size):
        """A `Split` of the task's sequences, drawn with `rng`."""
        raise NotImplementedError

    def example(self, rng):
        """One random training sequence (for a quick look; training uses `data()`)."""
        return self.example_of(self.split(random.Random(0), 1).draw(rng))

    def data(self, seed=0, heldout_size=None):
        return LanguageData(self, seed=seed, heldout_size=heldout_size)


class LanguageData:
    """A language task's examples for one run: the held-out set, and training batches drawn
    from the rest. The same interface as `tasks.Data`; everything comes from one
    `random.Random(seed)`.

    >>> from tinygrad_attn.tasks import get_task
    >>> data = get_task("story").data(seed=0, heldout_size=5)
    >>> len(data.heldout), len(data.batch(3)), any(map(data.is_heldout, data.batch(50)))
    (5, 3, False)
    """

    def __init__(self, task, seed=0, heldout_size=None):
        if not isinstance(task, LanguageTask):
            raise TypeError(f"task must be a LanguageTask, got {type(task).__name__}")
        if heldout_size is None:
            heldout_size = task.defaults.get("heldout_size", 200)
        if isinstance(heldout_size, bool) or not isinstance(heldout_size, int) or heldout_size < 1:
            raise ValueError(f"heldout_size must be a positive int, got {heldout_size!r}")
        if heldout_size > MAX_HELDOUT:
            raise ValueError(
                f"heldout_size {heldout_size:,} is more than a run can evaluate in reasonable "
                f"time; ask for at most {MAX_HELDOUT:,}"
            )
        self.task = task
        self.rng = random.Random(seed)
        self.split = split = task.split(self.rng, heldout_size)
        self._draw = split.draw
        self.training = split.training  # the training sequences, when they are a list
        self.heldout = [task.example_of(words) for words in split.heldout]
        self._heldout_tokens = {ex.tokens for ex in self.heldout}

    def is_heldout(self, example):
        """True if this example's sequence is in the held-out set."""
        return example.tokens in self._heldout_tokens

    def batch(self, size):
        """`size` training examples (the split never draws a held-out one)."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"batch size must be an int >= 0, got {size!r}")
        return [self.task.example_of(self._draw(self.rng)) for _ in range(size)]


def pad_batch(examples, pad_id=0):
    """Token ids padded to the longest example, and the mask that hides the padding.

    Returns (tokens, mask): `tokens` a (B, T) list; `mask` a (B, 1, 1, T) Tensor, True (1.0)
    at real tokens, that broadcasts over the heads and the query rows, so NO query can attend
    to a padded key; None when every example has the same length. (Padded query rows see the
    real keys before them, so no row is all masked and nothing becomes nan.)

    >>> from tinygrad_attn.tasks import Example
    >>> short, long = Example((1, 5), (), (), ()), Example((1, 5, 6), (), (), ())
    >>> tokens, mask = pad_batch([short, long])
    >>> tokens, mask.shape, mask.tolist()[0][0][0]
    ([[1, 5, 0], [1, 5, 6]], (2, 1, 1, 3), [1.0, 1.0, 0.0])
    """
    T = max(len(ex.tokens) for ex in examples)
    tokens = [list(ex.tokens) + [pad_id] * (T - len(ex.tokens)) for ex in examples]
    if all(len(ex.tokens) == T for ex in examples):
        return tokens, None
    real = [[1.0] * len(ex.tokens) + [0.0] * (T - len(ex.tokens)) for ex in examples]
    return tokens, Tensor._wrap([x for row in real for x in row], (len(examples), 1, 1, T))
