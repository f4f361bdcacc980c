"""Toy tasks whose right attention pattern is known in advance.

To watch attention being learned we need a task where we already know, for every word the
model must predict, which earlier word it has to look at. Then the attention weights can be
scored: how much of a row's attention lands on that one key position?

Each task makes examples from a seeded random generator. An `Example` holds

* `tokens`:    the input, a list of token ids (the model sees all of it, causally);
* `positions`: the positions whose predictions count (the others are free);
* `targets`:   the right answer at each of those positions;
* `keys`:      for each of those positions, the earlier position attention should be on.

The tasks (`--task` on the command line):

* `recall`: a sentence names one word of each kind (a color, an animal, a fruit, a number) in
  any order; then comes one word of each kind again, and at each of them the model must say
  the sentence's word of the same kind. A query must find the key of its own kind: a match
  on the words' contents, not on where they stand.
  `ten fox gold lime pear two red owl` -> at `pear`: `lime`, at `two`: `ten`, ...
* `reverse`: four letters, a `|`, then the letters backwards: at `|` say the last letter, at
  each letter after it the one before it in the first half. The keys are found by position:
  the pattern is an anti-diagonal.
* `lag`: at every position from the third on, say the letter from two places back.

`Data(task, seed)` draws a held-out set once and then training batches that never repeat a
held-out sequence.

The language tasks, `story` (story.py) and `names` (names.py), build on `Task` and `Example`
(language.py): they predict the next token at every position. `all_tasks()` and `get_task`
know them all.
"""

import random
from dataclasses import dataclass

__all__ = [
    "Example",
    "Task",
    "Recall",
    "Reverse",
    "Lag",
    "TASKS",
    "DEFAULT_TASK",
    "all_tasks",
    "get_task",
    "Data",
]


@dataclass(frozen=True)
class Example:
    """One sequence of a task, with what is asked of it (see the module docstring)."""

    tokens: tuple  # token ids, the model's input
    positions: tuple  # the positions whose predictions count
    targets: tuple  # the right token at each of those positions
    keys: tuple  # the position attention should be on, for each of those positions
    # Language tasks (language.py) predict the next token at EVERY position: `next` holds it,
    # and the loss counts all of them. Empty for the toy tasks: the loss counts `positions`.
    next: tuple = ()


class Task:
    """A toy task: a vocabulary of words, a sequence length, and a way to make examples."""

    name = ""
    summary = ""  # what is asked, in one line
    hint = ""  # where the attention should be, in one line
    vocab = ()  # the words; a token id is an index into this tuple
    seq_len = 0
    num_sequences = None  # how many different sequences it can make (None: not known)

    def example(self, rng):
        """One random Example, drawn with `rng` (a random.Random)."""
        raise NotImplementedError

    def words(self, tokens):
        """Token ids -> their words, for tables and heatmap labels."""
        return [self.vocab[i] for i in tokens]

    def data(self, seed=0, heldout_size=200):
        """The task's examples for one run: a held-out set and training batches (`Data`)."""
        return Data(self, seed=seed, heldout_size=heldout_size)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Recall(Task):
    """Recall the sentence's word of the same kind.

    >>> task = Recall()
    >>> ex = task.example(random.Random(0))
    >>> task.words(ex.tokens)
    ['ten', 'fox', 'gold', 'lime', 'pear', 'two', 'red', 'owl']
    >>> ex.positions, ex.keys                  # pear -> lime (3), two -> ten (0), ...
    ((4, 5, 6, 7), (3, 0, 2, 1))
    >>> task.words(ex.targets)
    ['lime', 'ten', 'gold', 'fox']
    """

    name = "recall"
    summary = "after a sentence of four kinds of words, recall the sentence's word of each kind"
    hint = "from the 5th word on, each word should look at the sentence's word of its kind"
    kinds = {
        "color": ("red", "blue", "gold", "green"),
        "animal": ("cat", "dog", "owl", "fox"),
        "fruit": ("fig", "plum", "pear", "lime"),
        "number": ("one", "two", "six", "ten"),
    }
    vocab = tuple(word for words in kinds.values() for word in words)
    seq_len = 2 * len(kinds)
    num_sequences = (24 * 4**4) ** 2  # twice: 4! orders of the kinds, 4 words of each kind

    def kind(self, token):
        """The kind of a token id: its row in the table of kinds (0 = color, ...)."""
        return token // len(self.kinds["color"])

    def example(self, rng):
        per_kind = len(self.kinds["color"])
        n = len(self.kinds)
        # the sentence: one word of each kind, kinds in a random order
        sentence_kinds = rng.sample(range(n), n)
        sentence = [kind * per_kind + rng.randrange(per_kind) for kind in sentence_kinds]
        # the queries: one word of each kind again, in another random order
        query_kinds = rng.sample(range(n), n)
        queries = [kind * per_kind + rng.randrange(per_kind) for kind in query_kinds]
        keys = [sentence_kinds.index(kind) for kind in query_kinds]  # where that kind stood
        return Example(
            tokens=tuple(sentence + queries),
            positions=tuple(range(n, 2 * n)),
            targets=tuple(sentence[k] for k in keys),
            keys=tuple(keys),
        )


class Reverse(Task):
    """Say four letters backwards after a `|`.

    The input is `a b c d | d c b` and the answers, from the `|` on, are `d c b a`: the word
    at position 4 + i must look at position 3 - i.

    >>> ex = Reverse().example(random.Random(0))
    >>> ex.positions, ex.keys
    ((4, 5, 6, 7), (3, 2, 1, 0))
    """

    name = "reverse"
    summary = "four letters, a '|', then the letters backwards"
    hint = "from the '|' on, each word should look at its mirror image in the first half"
    letters = ("a", "b", "c", "d", "e", "f", "g", "h")
    vocab = letters + ("|",)
    n = 4
    seq_len = 2 * n
    num_sequences = len(letters) ** n  # the first half decides the rest

    def example(self, rng):
        n = self.n
        first = [rng.randrange(len(self.letters)) for _ in range(n)]
        backwards = first[::-1]
        separator = self.vocab.index("|")
        # teacher forcing: the input after "|" is the answer so far, one step behind
        return Example(
            tokens=tuple(first + [separator] + backwards[:-1]),
            positions=tuple(range(n, 2 * n)),
            targets=tuple(backwards),
            keys=tuple(n - 1 - i for i in range(n)),
        )


class Lag(Task):
    """Say the letter from two places back.

    >>> ex = Lag().example(random.Random(0))
    >>> ex.positions[:3], ex.keys[:3]
    ((2, 3, 4), (0, 1, 2))
    >>> all(ex.tokens[k] == t for k, t in zip(ex.keys, ex.targets))
    True
    """

    name = "lag"
    summary = "at every position from the third on, say the letter from two places back"
    hint = "from the 3rd word on, each word should look two places back"
    vocab = ("a", "b", "c", "d", "e", "f", "g", "h")
    lag = 2
    seq_len = 8
    num_sequences = len(vocab) ** seq_len

    def example(self, rng):
        tokens = [rng.randrange(len(self.vocab)) for _ in range(self.seq_len)]
        positions = range(self.lag, self.seq_len)
        return Example(
            tokens=tuple(tokens),
            positions=tuple(positions),
            targets=tuple(tokens[p - self.lag] for p in positions),
            keys=tuple(p - self.lag for p in positions),
        )


TASKS = {task.name: task for task in (Recall(), Reverse(), Lag())}  # the toy tasks
DEFAULT_TASK = "recall"


def all_tasks():
    """Every task `train --task` knows: the toy tasks above, then the language tasks
    (story.py, names.py: next-token prediction), by name.

    >>> list(all_tasks())
    ['recall', 'reverse', 'lag', 'story', 'names']
    """
    # imported here, not at the top: the language tasks build on Task and Example above
    from .names import Names
    from .story import Story

    global _LANGUAGE_TASKS
    if _LANGUAGE_TASKS is None:
        _LANGUAGE_TASKS = {task.name: task for task in (Story(), Names())}
    return {**TASKS, **_LANGUAGE_TASKS}


_LANGUAGE_TASKS = None  # made once, on first use


def get_task(name):
    """The task called `name` (ValueError naming the known tasks otherwise).

    >>> get_task("reverse").seq_len
    8
    """
    tasks = all_tasks()
    if name not in tasks:
        raise ValueError(f"unknown task {name!r}; choose one of: {', '.join(tasks)}")
    return tasks[name]


class Data:
    """A task's examples: a fixed held-out set, and training batches that avoid it.

    Everything comes from one `random.Random(seed)`: the same seed gives the same held-out set
    and the same batches in the same order. The held-out sequences are all different, and a
    training batch redraws any sequence that is in the held-out set, so the model is scored on
    sequences it never trained on. The held-out set may take at most half of the sequences a
    task can make, so that training always has sequences left to draw.

    >>> data = Data(get_task("lag"), seed=0, heldout_size=5)
    >>> len(data.heldout), len(data.batch(3))
    (5, 3)
    """

    def __init__(self, task, seed=0, heldout_size=200):
        if not isinstance(task, Task):
            raise TypeError(f"task must be a Task, got {type(task).__name__}: use get_task(name)")
        if isinstance(heldout_size, bool) or not isinstance(heldout_size, int) or heldout_size < 1:
            raise ValueError(f"heldout_size must be a positive int, got {heldout_size!r}")
        most = task.num_sequences // 2 if task.num_sequences else None
        if most is not None and heldout_size > most:
            raise ValueError(
                f"heldout_size {heldout_size} is more than half of the {task.num_sequences} "
                f"different {task.name} sequences, which would leave training (almost) nothing "
                f"to draw; ask for at most {most}"
            )
        self.task = task
        self.rng = random.Random(seed)
        self.heldout = []
        self._heldout_tokens = set()
        repeats = 0  # draws in a row that brought nothing new
        while len(self.heldout) < heldout_size:
            ex = task.example(self.rng)
            if ex.tokens in self._heldout_tokens:
                repeats += 1
                if repeats == 1000:  # the task has (almost) no other sequences left
                    raise ValueError(
                        f"could not find {heldout_size} different {task.name} sequences for "
                        f"the held-out set; ask for fewer"
                    )
                continue
            repeats = 0
            self._heldout_tokens.add(ex.tokens)  # each held-out sequence once
            self.heldout.append(ex)

    def is_heldout(self, example):
        """True if this example's sequence is in the held-out set."""
        return example.tokens in self._heldout_tokens

    def batch(self, size):
        """`size` fresh training examples, none of them from the held-out set."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"batch size must be an int >= 0, got {size!r}")
        out, misses = [], 0  # misses: held-out sequences drawn in a row
        while len(out) < size:
            ex = self.task.example(self.rng)
            if not self.is_heldout(ex):
                out.append(ex)
                misses = 0
            else:
                misses += 1
                if misses == 10_000:  # the held-out set holds (almost) every sequence there is
                    raise RuntimeError(
                        f"could not draw a {self.task.name} sequence outside the held-out set in "
                        f"10,000 tries: it holds (almost) all of them; ask for a smaller "
                        f"heldout_size"
                    )
        return out
