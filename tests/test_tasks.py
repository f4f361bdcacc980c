"""The toy tasks: seeded data, a held-out set the training never sees, and the right keys."""

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_attn.tasks import DEFAULT_TASK, TASKS, Data, Example, Task, get_task

ALL_TASKS = sorted(TASKS)


def words(task, tokens):
    return " ".join(task.words(tokens))


# ---------------------------------------------------------------------- hand-checked examples


def test_recall_asks_for_the_sentence_word_of_each_kind():
    task = get_task("recall")
    ex = task.example(random.Random(0))
    assert words(task, ex.tokens) == "ten fox gold lime pear two red owl"
    # pear is a fruit: the fruit of the sentence is lime at 3; two -> ten at 0; red -> gold at
    # 2; owl -> fox at 1
    assert ex.positions == (4, 5, 6, 7)
    assert ex.keys == (3, 0, 2, 1)
    assert words(task, ex.targets) == "lime ten gold fox"


def test_reverse_looks_at_the_mirror_position():
    task = get_task("reverse")
    ex = task.example(random.Random(0))
    assert words(task, ex.tokens) == "g g a e | e a g"
    assert ex.positions == (4, 5, 6, 7)  # from the "|" on
    assert ex.keys == (3, 2, 1, 0)
    assert words(task, ex.targets) == "e a g g"  # "g g a e" backwards


def test_lag_looks_two_places_back():
    task = get_task("lag")
    ex = task.example(random.Random(0))
    assert words(task, ex.tokens) == "g g a e h g e h"
    assert ex.positions == (2, 3, 4, 5, 6, 7)
    assert ex.keys == (0, 1, 2, 3, 4, 5)
    assert words(task, ex.targets) == "g g a e h g"


# ---------------------------------------------------------------------- every example


@pytest.mark.parametrize("name", ALL_TASKS)
@given(seed=st.integers(0, 2**32))
def test_the_target_is_the_token_at_the_key(name, seed):
    # so attention on the key is all a model needs to answer
    task = get_task(name)
    ex = task.example(random.Random(seed))
    assert len(ex.tokens) == task.seq_len
    assert len(ex.positions) == len(ex.targets) == len(ex.keys) > 0
    for key, target in zip(ex.keys, ex.targets):
        assert ex.tokens[key] == target


@pytest.mark.parametrize("name", ALL_TASKS)
@given(seed=st.integers(0, 2**32))
def test_every_key_is_earlier_than_its_query(name, seed):
    # a causal model can see it: a word sees only itself and the words before it
    ex = get_task(name).example(random.Random(seed))
    for position, key in zip(ex.positions, ex.keys):
        assert 0 <= key < position < len(ex.tokens)


@given(seed=st.integers(0, 2**32))
def test_recall_key_is_the_only_sentence_word_of_the_query_kind(seed):
    task = get_task("recall")
    ex = task.example(random.Random(seed))
    sentence = ex.tokens[: len(task.kinds)]
    for position, key in zip(ex.positions, ex.keys):
        same_kind = [
            i for i, t in enumerate(sentence) if task.kind(t) == task.kind(ex.tokens[position])
        ]
        assert same_kind == [key]


def test_every_token_is_in_the_vocabulary():
    for name in ALL_TASKS:
        task = get_task(name)
        for ex in Data(task, seed=1, heldout_size=20).heldout:
            assert all(0 <= t < len(task.vocab) for t in ex.tokens)


# ---------------------------------------------------------------------- data


@pytest.mark.parametrize("name", ALL_TASKS)
def test_the_same_seed_gives_the_same_data(name):
    a, b = (
        Data(get_task(name), seed=7, heldout_size=10),
        Data(get_task(name), seed=7, heldout_size=10),
    )
    assert a.heldout == b.heldout
    assert a.batch(5) == b.batch(5)
    assert a.batch(5) == b.batch(5)  # and the batches that follow


@pytest.mark.parametrize("name", ALL_TASKS)
def test_another_seed_gives_other_data(name):
    a, b = (
        Data(get_task(name), seed=7, heldout_size=10),
        Data(get_task(name), seed=8, heldout_size=10),
    )
    assert a.heldout != b.heldout


def test_heldout_sequences_are_all_different():
    data = Data(get_task("reverse"), seed=0, heldout_size=1000)
    assert len({ex.tokens for ex in data.heldout}) == 1000


def test_training_batches_never_contain_a_heldout_sequence():
    # reverse has 8**4 = 4096 sequences: holding out half, a plain draw would hit the held-out
    # set about every other time, so this fails unless batches skip it
    data = Data(get_task("reverse"), seed=0, heldout_size=2048)
    heldout = {ex.tokens for ex in data.heldout}
    for ex in data.batch(2000):
        assert ex.tokens not in heldout


def test_batches_have_the_size_asked_for():
    data = Data(get_task(DEFAULT_TASK), seed=0, heldout_size=5)
    assert len(data.batch(7)) == 7
    assert all(isinstance(ex, Example) for ex in data.batch(3))


# ---------------------------------------------------------------------- errors


def test_an_unknown_task_is_a_value_error_naming_the_known_ones():
    with pytest.raises(ValueError, match="unknown task 'copy'.*recall"):
        get_task("copy")


@pytest.mark.parametrize("size", [0, -1, 2.5, True])
def test_heldout_size_must_be_a_positive_int(size):
    with pytest.raises(ValueError, match="heldout_size"):
        Data(get_task("lag"), heldout_size=size)


def test_asking_for_more_heldout_sequences_than_exist_is_a_value_error():
    with pytest.raises(ValueError, match="more than half of the 4096 different reverse"):
        Data(get_task("reverse"), heldout_size=5000)  # only 4096 exist


def test_the_heldout_set_may_take_at_most_half_of_a_tasks_sequences():
    with pytest.raises(ValueError, match="heldout_size 2049 is .* ask for at most 2048"):
        Data(get_task("reverse"), heldout_size=2049)
    data = Data(get_task("reverse"), heldout_size=2048)
    assert len(data.batch(64)) == 64  # training still has half of them to draw from


def test_reverse_makes_exactly_the_number_of_sequences_it_says():
    task, rng = get_task("reverse"), random.Random(0)
    seen = {task.example(rng).tokens for _ in range(60_000)}
    assert len(seen) == task.num_sequences == 4096


@pytest.mark.parametrize("name", ["recall", "lag"])
def test_the_number_of_sequences_of_the_big_tasks_follows_from_their_parts(name):
    task = get_task(name)
    if name == "lag":
        assert task.num_sequences == len(task.vocab) ** task.seq_len
    else:  # kinds in any order, one of 4 words each: for the sentence, then the queries
        kinds, per_kind = len(task.kinds), len(task.kinds["color"])
        assert task.num_sequences == (math.factorial(kinds) * per_kind**kinds) ** 2


class Tiny(Task):
    """A task with only three sequences, and no count given."""

    name, vocab, seq_len = "tiny", ("a", "b", "c"), 1

    def example(self, rng):
        i = rng.randrange(3)
        return Example(tokens=(i,), positions=(0,), targets=(i,), keys=(0,))


def test_a_batch_from_a_task_whose_every_sequence_is_held_out_raises_instead_of_looping():
    data = Data(Tiny(), seed=0, heldout_size=3)  # (the count is unknown: not refused)
    with pytest.raises(RuntimeError, match="could not draw a tiny sequence outside the held-out"):
        data.batch(1)
